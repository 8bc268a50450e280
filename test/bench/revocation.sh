#!/usr/bin/env bash
# Revocation benchmark (docs/revocation.md): loading a CRL of N entries into
# an inventory of N certificates that it all lists (every one becomes
# revoked, with its event and outbox entry), against a baseline from the
# same run: a plain INSERT of the same N entries into an unindexed table;
# then the cost of one revocation look-up as ssl_validate_chain makes it
# (netbox_ssl_internal.ssl_revocation_status: C++ source, guarded SPI call
# in a subtransaction) against the bare SQL look-up it wraps.
#   bash test/bench/revocation.sh            (N=100000)
# Settings: REVOCATION_BENCH_N=100000, LOOKUPS=5000, SANDBOX_PORT=54372.
# Needs `make install` first; runs its own throwaway cluster.
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${REVOCATION_BENCH_N:-100000}
LOOKUPS=${LOOKUPS:-5000}
export SANDBOX_PORT=${SANDBOX_PORT:-54372}
work=$(mktemp -d)
chmod 755 "$work"

# A CA and a CRL listing serials 0x100001 .. 0x100000+N (openssl ca -gencrl
# over a generated index, so no certificate has to be signed).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/ca.key" -out "$work/ca.pem" \
    -subj "/CN=Bench Revocation CA" -days 3650 -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
python3 - "$work" "$N" <<'PY'
import sys
work, n = sys.argv[1], int(sys.argv[2])
with open(f"{work}/index.txt", "w") as f:
    for i in range(1, n + 1):
        f.write(f"R\t21260101000000Z\t250101000000Z,keyCompromise\t{0x100000 + i:X}\tunknown\t/CN=bench{i}\n")
PY
echo 01 >"$work/crlnumber"
cat >"$work/ca.cnf" <<CNF
[ ca ]
default_ca = b
[ b ]
database = $work/index.txt
crlnumber = $work/crlnumber
certificate = $work/ca.pem
private_key = $work/ca.key
default_md = sha256
default_crl_days = 30
CNF
openssl ca -batch -config "$work/ca.cnf" -gencrl -out "$work/crl.pem" 2>/dev/null
echo "CRL: $N entries, $(wc -c <"$work/crl.pem") bytes of PEM"

# shellcheck source=scripts/pg-sandbox.sh
source scripts/pg-sandbox.sh
sandbox_start
trap 'sandbox_stop; rm -rf "$work"' EXIT
psql -qX -v ON_ERROR_STOP=1 -v n="$N" -v lookups="$LOOKUPS" -v work="$work" <<'SQL'
\set ca `cat :work/ca.pem`
\set crl `cat :work/crl.pem`
SET client_min_messages = warning;
CREATE EXTENSION netbox_ssl;
SET netbox_ssl.max_input_bytes = 268435455;
SELECT ssl_trust_anchor_load(:'ca') AS anchors \gset
-- The inventory: N rows issued by the CA, one per listed serial (synthetic
-- rows copied from the CA's own parsed columns: only issuer, serial and
-- fingerprint matter to revocation).
CREATE TEMP TABLE t AS SELECT * FROM ssl_parse(:'ca');
INSERT INTO ssl_certificate (common_name, subject, issuer, serial_number, fingerprint_sha256, valid_from, valid_to,
                             sans, algorithm, key_size, signature_algorithm, is_ca, spki_sha256, pem_content, issuer_chain)
SELECT 'bench' || i, 'CN=bench' || i, t.subject,
       regexp_replace(upper(lpad(to_hex(1048576 + i), 6, '0')), '(..)(?!$)', '\1:', 'g'),
       upper(regexp_replace(encode(sha256(int8send(i)), 'hex'), '(..)(?!$)', '\1:', 'g')),
       t.valid_from, t.valid_to, '{}', t.algorithm, t.key_size, t.signature_algorithm, false, t.spki_sha256,
       t.pem_content, ''
  FROM t, generate_series(1, :n) i;
ANALYZE ssl_certificate;
SELECT count(*) AS inventory FROM ssl_certificate \gset
\echo inventory: :inventory certificates

-- Baseline: the same entries, parsed, inserted into a plain table.
CREATE TABLE baseline (crl_id bigint, serial text, revoked_at timestamptz, reason text);
SELECT clock_timestamp() AS t0 \gset
INSERT INTO baseline SELECT 1, u.s, u.r, u.e
  FROM netbox_ssl_internal.ssl_crl_parse(:'crl'::text) p, unnest(p.serials, p.revoked_at, p.reasons) u(s, r, e);
SELECT round(extract(epoch FROM clock_timestamp() - :'t0'::timestamptz)::numeric, 2) AS baseline_s \gset

SELECT clock_timestamp() AS t0 \gset
SELECT ssl_crl_load(:'crl'::text) AS crl_id \gset
SELECT round(extract(epoch FROM clock_timestamp() - :'t0'::timestamptz)::numeric, 2) AS load_s \gset
SELECT count(*) FILTER (WHERE status = 'revoked') AS revoked FROM ssl_certificate \gset
SELECT count(*) AS events FROM ssl_lifecycle_event WHERE event_type = 'revoked' \gset
\echo ssl_crl_load: :load_s s (:revoked certificates revoked, :events events); baseline plain INSERT of the entries: :baseline_s s

-- Look-ups: the validator's path vs the bare SQL function.
SELECT fingerprint_sha256 AS fp FROM ssl_trust_anchor LIMIT 1 \gset
SELECT clock_timestamp() AS t0 \gset
SELECT count(*) FILTER (WHERE (netbox_ssl_internal.ssl_revocation_status(:'fp', regexp_replace(upper(lpad(to_hex(1048576 + i), 6, '0')), '(..)(?!$)', '\1:', 'g'), now())).status = 'revoked') AS hits
  FROM generate_series(1, :lookups) i \gset
SELECT round(extract(epoch FROM clock_timestamp() - :'t0'::timestamptz)::numeric * 1e6 / :lookups) AS lookup_us \gset
SELECT clock_timestamp() AS t0 \gset
SELECT count(*) FILTER (WHERE (netbox_ssl_internal.ssl_revocation_lookup(:'fp', regexp_replace(upper(lpad(to_hex(1048576 + i), 6, '0')), '(..)(?!$)', '\1:', 'g'), now())).status = 'revoked') AS hits2
  FROM generate_series(1, :lookups) i \gset
SELECT round(extract(epoch FROM clock_timestamp() - :'t0'::timestamptz)::numeric * 1e6 / :lookups) AS sql_us \gset
\echo look-up per certificate: :lookup_us us through ssl_revocation_status (:hits of :lookups revoked); bare SQL look-up: :sql_us us
SQL
