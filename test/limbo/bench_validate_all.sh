#!/usr/bin/env bash
# ssl_validate_all at scale: N generated leaves (test/bench/gen_certs) under
# two stored intermediates and one anchor, timed in a throwaway cluster;
# optionally with M unrelated stored CA certificates (self-signed, issuing
# nothing here: test/limbo/gen_unrelated_cas.py), the pool whose size made
# 1.4's validation slow (docs/security.md, item 8).
#   bash test/limbo/bench_validate_all.sh [N [M]]   (needs build/dev/bench_gen_certs,
#   python3-cryptography for M > 0, the extension installed; run while
#   holding the install lock; SANDBOX_PORT picks the cluster's port)
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-20000}
M=${2:-0}
tmp=$(mktemp -d); chmod 755 "$tmp"; trap 'rm -rf "$tmp"' EXIT
build/dev/bench_gen_certs --count "$N" --format tsv --out "$tmp/certs.tsv" --chain-out "$tmp/chain.pem" --threads 2 >/dev/null 2>&1
: >"$tmp/unrelated.pem"
if [ "$M" -gt 0 ]; then python3 test/limbo/gen_unrelated_cas.py "$M" >"$tmp/unrelated.pem"; fi
source scripts/pg-sandbox.sh
sandbox_start
trap 'sandbox_stop; rm -rf "$tmp"' EXIT
psql -X -q -v ON_ERROR_STOP=1 <<SQL
CREATE EXTENSION netbox_ssl;
\set chain \`cat $tmp/chain.pem\`
SELECT ssl_trust_anchor_load(:'chain', 'bench') AS anchors_loaded_incl_intermediates;
-- Only the root is an anchor; the two issuing CAs become stored CA certificates.
DELETE FROM ssl_trust_anchor WHERE common_name <> 'netbox_ssl Benchmark Root';
SELECT ssl_import(d) FROM unnest(ssl_chain_split_pem(:'chain')) AS d
 WHERE (ssl_parse(d)).common_name <> 'netbox_ssl Benchmark Root';
CREATE TEMP TABLE staging (id int, cn text, key_type text, pem text);
\copy staging FROM '$tmp/certs.tsv'
SELECT count(ssl_import(pem)) AS imported FROM staging;
\if $([ "$M" -gt 0 ] && echo true || echo false)
\set unrelated \`cat $tmp/unrelated.pem\`
SELECT count(*) AS unrelated_cas_imported FROM ssl_import_bundle(:'unrelated');
\endif
SELECT count(*) FILTER (WHERE is_ca) AS stored_ca_certificates, count(*) FILTER (WHERE NOT is_ca) AS leaves FROM ssl_certificate;
VACUUM ANALYZE ssl_certificate;
-- A fresh backend. RssAnon is the backend's private memory (VmRSS also
-- counts the shared buffers it touched).
\c
SELECT (regexp_match(pg_read_file('/proc/' || pg_backend_pid() || '/status'), 'RssAnon:\s+(\d+)'))[1]::int / 1024 AS private_mb_before;
\timing on
SELECT ssl_validate_all() AS validated;
\timing off
SELECT (regexp_match(pg_read_file('/proc/' || pg_backend_pid() || '/status'), 'RssAnon:\s+(\d+)'))[1]::int / 1024 AS private_mb_after;
SELECT chain_status, count(*) FROM ssl_certificate GROUP BY 1 ORDER BY 1;
-- The leaves alone, one ssl_validate_chain each (with a host name, so
-- nothing is stored): the per-certificate cost, which must not grow with
-- the number of unrelated CA certificates.
\timing on
SELECT count(*) AS leaves_validated FROM ssl_certificate AS c, LATERAL ssl_validate_chain(c.id, now(), 'bench.invalid') AS v
 WHERE NOT c.is_ca;
\timing off
SELECT chain_message, count(*) FROM ssl_certificate WHERE chain_status <> 'valid' GROUP BY 1 ORDER BY 2 DESC LIMIT 5;
SQL
