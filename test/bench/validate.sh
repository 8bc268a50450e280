#!/usr/bin/env bash
# ssl_validate_all over an inventory of VALIDATE_LEAVES leaves under
# VALIDATE_INTERMEDIATES stored intermediates under VALIDATE_ROOTS trust
# anchors (test/bench/validate_gen.py; half the leaves carry their
# intermediate as issuer_chain, the others rely on the stored CA
# certificates; every 97th leaf is expired), in a throwaway cluster.
#
# Baseline from the same run: the 1.5 function, kept verbatim in
# test/bench/validate_all_1.5.sql and installed beside the current one as
# bench_validate_all_15(). The two run interleaved, VALIDATE_ROUNDS times
# each, each in a fresh backend; the best of each is reported per
# certificate. The stored verdicts of both must be identical (checked).
#
#   bash test/bench/validate.sh     (needs python3-cryptography and the
#                                    extension installed: make install)
#   VALIDATE_LEAVES=20000 VALIDATE_INTERMEDIATES=36 VALIDATE_ROOTS=3
#   VALIDATE_ROUNDS=2 SANDBOX_PORT=54364
set -euo pipefail
cd "$(dirname "$0")/../.."
LEAVES=${VALIDATE_LEAVES:-20000}
INTERMEDIATES=${VALIDATE_INTERMEDIATES:-36}
ROOTS=${VALIDATE_ROOTS:-3}
ROUNDS=${VALIDATE_ROUNDS:-2}
export SANDBOX_PORT=${SANDBOX_PORT:-54364}
export SANDBOX_PG_OPTS="${SANDBOX_PG_OPTS:--c shared_buffers=256MB -c max_wal_size=4GB -c synchronous_commit=off -c jit=off}"
tmp=$(mktemp -d); chmod 755 "$tmp"; trap 'rm -rf "$tmp"' EXIT
python3 test/bench/validate_gen.py "$tmp" "$LEAVES" "$INTERMEDIATES" "$ROOTS"
chmod 644 "$tmp"/*
# shellcheck source=scripts/pg-sandbox.sh
source scripts/pg-sandbox.sh
sandbox_start
trap 'sandbox_stop; rm -rf "$tmp"' EXIT
PSQL=(psql -X -q -At -v ON_ERROR_STOP=1)

"${PSQL[@]}" <<SQL
CREATE EXTENSION netbox_ssl;
\i test/bench/validate_all_1.5.sql
\set roots \`cat $tmp/roots.pem\`
\set inters \`cat $tmp/intermediates.pem\`
SELECT ssl_trust_anchor_load(:'roots', 'bench') > 0 AS anchors_loaded;
SELECT count(ssl_import(d)) > 0 AS intermediates_imported
  FROM unnest(netbox_ssl_internal.ssl_chain_split_pem(:'inters')) AS d;
CREATE TABLE staging (n int, pem text, chain text);
\copy staging FROM '$tmp/leaves.tsv'
SELECT count(ssl_import(pem || chain)) > 0 AS leaves_imported FROM staging;
VACUUM ANALYZE ssl_certificate;
CREATE TABLE bench (what text, ms numeric, n bigint);
SQL
"${PSQL[@]}" -c "SELECT 'inventory: ' || count(*) FILTER (WHERE is_ca) || ' stored CA certificates, '
                        || count(*) FILTER (WHERE NOT is_ca) || ' leaves (' || count(*) FILTER (WHERE issuer_chain <> '')
                        || ' with an issuer_chain), ' || (SELECT count(*) FROM ssl_trust_anchor) || ' anchors'
                   FROM ssl_certificate"

timed() {  # name, function: a fresh backend each time
    "${PSQL[@]}" -c "CREATE TEMP TABLE t AS SELECT clock_timestamp() AS t0;
                     CREATE TEMP TABLE r AS SELECT $2() AS n;
                     INSERT INTO bench SELECT '$1', round(extract(epoch FROM clock_timestamp() - t0) * 1000, 1), (SELECT n FROM r) FROM t;" \
        2>&1 | grep -v 'NOTICE:  .*certificates validated' || true
}
verdicts() {  # name: keep the stored verdicts for the comparison
    "${PSQL[@]}" -c "CREATE TABLE $1 AS SELECT id, chain_status, chain_depth, chain_message FROM ssl_certificate WHERE status = 'active'"
}
for round in $(seq 1 "$ROUNDS"); do
    timed "1.5 ssl_validate_all round $round" bench_validate_all_15
    [ "$round" = 1 ] && verdicts verdicts_15
    timed "ssl_validate_all round $round" ssl_validate_all
    [ "$round" = 1 ] && verdicts verdicts_16
done
diff=$("${PSQL[@]}" -c "SELECT count(*) FROM ((TABLE verdicts_15 EXCEPT TABLE verdicts_16) UNION ALL (TABLE verdicts_16 EXCEPT TABLE verdicts_15)) d")
"${PSQL[@]}" -c "SELECT 'verdicts: ' || string_agg(chain_status || ' ' || n, ', ' ORDER BY chain_status)
                   FROM (SELECT chain_status, count(*) AS n FROM verdicts_16 GROUP BY 1) s"
echo "verdicts differing from the 1.5 function: $diff"
[ "$diff" = 0 ] || { echo "validate.sh: ssl_validate_all stores other verdicts than 1.5" >&2; exit 1; }

"${PSQL[@]}" -F $'\t' -c "SELECT what, ms, n FROM bench" | awk -F'\t' '
    { printf "%-34s %10.1f ms %8d certificates %8.3f ms/certificate\n", $1, $2, $3, $2 / $3 }
    $1 ~ /^1.5/ { if (old == "" || $2 / $3 < old) old = $2 / $3 }
    $1 ~ /^ssl_validate_all/ { if (new == "" || $2 / $3 < new) new = $2 / $3 }
    END { printf "\nssl_validate_all: %.3f ms per certificate (best); 1.5 function: %.3f ms (best); %.1fx faster\n", new, old, old / new }'
