#!/usr/bin/env bash
# Benchmark of ssl_check_compliance over a synthetic inventory (see
# docs/authorities-and-compliance.md): fills COMPLIANCE_CERTS active
# certificates (varied key types and sizes, signature hashes, SAN counts,
# wildcards, issuers, tenants, chains), enables one policy of every type
# (13 in all, one of them tenant-scoped), and times
#   - the baselines: SELECT count(*) over the same active rows, and the 1.5
#     function (test/bench/compliance_1.5.sql, installed beside the current
#     one as bench_check_compliance_15), interleaved with the current one;
#   - a full check (first run inserts the results, the others update them);
#   - that the current and the 1.5 function return the same results;
#   - the check of one certificate by id;
#   - ssl_match_authorities() over every row (rows = row updates made).
# Needs the extension installed (make install) and runs its own throwaway
# cluster (scripts/pg-sandbox.sh), as root or as a user that can run initdb.
#
#   COMPLIANCE_CERTS=100000   certificates
#   COMPLIANCE_RUNS=3         full-check runs (the first inserts, the rest update)
#   SANDBOX_PORT=54363        port of the throwaway cluster
#   SANDBOX_PG_OPTS=...       server options (default: jit at the server default, on)
set -euo pipefail
cd "$(dirname "$0")/../.."
COMPLIANCE_CERTS=${COMPLIANCE_CERTS:-100000}
COMPLIANCE_RUNS=${COMPLIANCE_RUNS:-3}
export SANDBOX_PORT=${SANDBOX_PORT:-54363}
# jit stays at the server default (on), as users run it: a high-cost plan
# is JIT-compiled unless the function turns it off (add -c jit=off to
# SANDBOX_PG_OPTS to measure without).
export SANDBOX_PG_OPTS="${SANDBOX_PG_OPTS:--c shared_buffers=256MB -c max_wal_size=4GB -c synchronous_commit=off}"
# shellcheck source=scripts/pg-sandbox.sh
source scripts/pg-sandbox.sh
sandbox_start
trap sandbox_stop EXIT
PSQL=(psql -X -q -At -v ON_ERROR_STOP=1)

pem=$(cat test/fixtures/janus-old.pem)
# Stored issuer chains are PEM that decodes (the 1.5 trigger checks them):
# a third of the rows have none, the others one of two real chains.
chain1=$(cat test/fixtures/intermediate.pem)
chain2=$(cat test/fixtures/chain/intermediate.pem)
"${PSQL[@]}" -v pem="$pem" -v chain1="$chain1" -v chain2="$chain2" -v n="$COMPLIANCE_CERTS" <<'SQL'
CREATE EXTENSION netbox_ssl;
\i test/bench/compliance_1.5.sql
RESET search_path;
CREATE TABLE proto AS SELECT * FROM ssl_parse(:'pem');
\set t0 `date +%s.%N`
INSERT INTO ssl_certificate (common_name, subject, issuer, serial_number, fingerprint_sha256, valid_from,
    valid_to, sans, algorithm, key_size, signature_algorithm, is_ca, subject_key_id, authority_key_id,
    spki_sha256, pem_content, issuer_chain, status, tenant)
SELECT 'host' || g || '.example.net', 'CN=host' || g || '.example.net',
       (ARRAY['CN=R11,O=Let''s Encrypt,C=US', 'CN=DigiCert Global G2 TLS RSA SHA256 2020 CA1,O=DigiCert Inc,C=US',
              'CN=Corp Issuing CA 1,O=Example Corp,C=DE', 'CN=WR2,O=Google Trust Services,C=US'])[1 + g % 4],
       p.serial_number,
       upper(rtrim(regexp_replace(encode(sha256(g::text::bytea), 'hex'), '(..)', '\1:', 'g'), ':')),
       now() - (g % 400) * interval '1 day',
       now() + (g::bigint * 7919 % 500 + 1) * interval '1 day',
       CASE g % 10 WHEN 0 THEN ARRAY[]::text[]
                   WHEN 1 THEN ARRAY['DNS:*.host' || g || '.example.net']
                   ELSE ARRAY['DNS:host' || g || '.example.net', 'DNS:www.host' || g || '.example.net'] END,
       (ARRAY['rsa', 'rsa', 'ecdsa', 'ecdsa', 'ed25519', 'dsa'])[1 + g % 6],
       (ARRAY[2048, 1024, 256, 384, NULL, 2048])[1 + g % 6],
       (ARRAY['sha256WithRSAEncryption', 'sha1WithRSAEncryption', 'ecdsa-with-SHA256', 'ecdsa-with-SHA384',
              'ED25519', 'dsa_with_SHA256'])[1 + g % 6],
       false, NULL, 'AA:' || (g % 4),
       upper(rtrim(regexp_replace(encode(sha256(('k' || g)::text::bytea), 'hex'), '(..)', '\1:', 'g'), ':')),
       p.pem_content, (ARRAY['', :'chain1', :'chain2'])[1 + g % 3], 'active', 'tenant-' || (g % 10)
  FROM proto p, generate_series(1, :n) g;
\set t1 `date +%s.%N`
VACUUM ANALYZE ssl_certificate;
INSERT INTO ssl_compliance_policy (name, policy_type, severity, parameters, tenant) VALUES
    ('keys', 'min_key_size', 'critical', '{"rsa": 2048, "ecdsa": 256, "dsa": 2048}', NULL),
    ('validity', 'max_validity_days', 'warning', '{"max_days": 398}', NULL),
    ('allowed algorithms', 'algorithm_allowed', 'warning', '{"algorithms": ["rsa", "ecdsa", "ed25519"]}', NULL),
    ('no dsa', 'algorithm_forbidden', 'critical', '{"algorithms": ["dsa"]}', NULL),
    ('no weak hashes', 'signature_algorithm_forbidden', 'critical', '{"algorithms": ["sha1", "md5"]}', NULL),
    ('expiry', 'expiry_warning', 'warning', '{"warning_days": 30}', NULL),
    ('sans', 'san_required', 'info', '{"min_count": 1}', NULL),
    ('approved issuers', 'issuer_allowed', 'warning', '{"issuers": ["Let''s Encrypt", "DigiCert", "Example Corp"]}', NULL),
    ('no google', 'issuer_forbidden', 'info', '{"issuers": ["Google Trust Services"]}', NULL),
    ('no wildcards', 'wildcard_forbidden', 'warning', '{}', NULL),
    ('chain', 'chain_required', 'info', '{}', NULL),
    ('new keys', 'key_reuse_forbidden', 'critical', '{}', NULL),
    ('tenant-1 short validity', 'max_validity_days', 'critical', '{"max_days": 200}', 'tenant-1');
CREATE TABLE bench (what text, ms numeric, rows bigint);
INSERT INTO bench VALUES ('fill', round((:t1 - :t0) * 1000, 1), :n);
SQL

timed() {  # name, statement returning a row count
    "${PSQL[@]}" -c "CREATE TEMP TABLE t AS SELECT clock_timestamp() AS t0;
                     CREATE TEMP TABLE r AS $2;
                     INSERT INTO bench SELECT '$1', round(extract(epoch FROM clock_timestamp() - t0) * 1000, 1), (SELECT n FROM r) FROM t;"
}
for run in 1 2 3; do :
    timed "baseline count(*) run $run" "SELECT count(*) AS n FROM ssl_certificate WHERE status = 'active'"
done
for run in $(seq 1 "$COMPLIANCE_RUNS"); do
    timed "ssl_check_compliance() run $run" "SELECT count(*) AS n FROM ssl_check_compliance()"
    timed "1.5 function run $run" "SELECT count(*) AS n FROM bench_check_compliance_15()"
done
# Same results as 1.5 (both directions), or the figures mean nothing.
diff=$("${PSQL[@]}" -c "SELECT count(*) FROM ((SELECT * FROM ssl_check_compliance() EXCEPT ALL SELECT * FROM bench_check_compliance_15())
                                  UNION ALL (SELECT * FROM bench_check_compliance_15() EXCEPT ALL SELECT * FROM ssl_check_compliance())) d")
echo "results differing from 1.5: $diff"
[ "$diff" = 0 ] || { echo "compliance.sh: ssl_check_compliance() differs from the 1.5 function" >&2; exit 1; }
timed "ssl_check_compliance(id)" "SELECT count(*) AS n FROM ssl_check_compliance(4242)"
timed "ssl_match_authorities()" "SELECT ssl_match_authorities() + $COMPLIANCE_CERTS - $COMPLIANCE_CERTS AS n"
"${PSQL[@]}" -c "SELECT tenant, certificates, checks, failed, critical_failures, score FROM ssl_compliance_score ORDER BY tenant" \
    | sed 's/^/score: /' | head -3

"${PSQL[@]}" -F $'\t' -c "SELECT what, ms, rows FROM bench" | awk -F'\t' -v n="$COMPLIANCE_CERTS" '
    { what[NR] = $1; ms[NR] = $2; rows[NR] = $3 }
    $1 ~ /^baseline/ { if (base == "" || $2 < base) base = $2 }
    $1 ~ /^ssl_check_compliance\(\) run/ && $1 !~ /run 1$/ { if (best == "" || $2 < best) best = $2 }
    $1 ~ /^1.5 function run/ && $1 !~ /run 1$/ { if (old == "" || $2 < old) old = $2 }
    END {
        printf "%-36s %12s %12s %14s %10s\n", "step", "ms", "rows", "rows/s", "x baseline"
        for (i = 1; i <= NR; i++) {
            rate = ms[i] > 0 ? rows[i] / (ms[i] / 1000) : 0
            printf "%-36s %12.1f %12d %14.0f %10s\n", what[i], ms[i], rows[i], rate,
                   (what[i] ~ /^(ssl_check|1.5)/ && base > 0) ? sprintf("%.0fx", ms[i] / base) : ""
        }
        if (best != "") printf "\n%d certificates: full check (update run, best) %.0f ms = %.0f certificates/s; 1.5 function %.0f ms; baseline count(*) %.1f ms\n", n, best, n / (best / 1000), old, base
    }'
