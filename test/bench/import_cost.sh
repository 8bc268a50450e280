#!/usr/bin/env bash
# The 1.6 import targets (issue "Speed") with their baselines from the same
# run, rounds interleaved (a shared, noisy machine):
#   parse    SELECT count(p.common_name) FROM staging t, LATERAL ssl_parse(t.pem) p
#   insert   one set-based INSERT of the same rows, precomputed by ssl_parse
#            beforehand, with their imported event (triggers as a user's)
#   import   SELECT count(ssl_import(pem)) FROM staging, one transaction
#   many     ssl_import_many(ARRAY(SELECT pem FROM staging)), one call
#   bundle   ssl_import_bundle(<all of them as one PEM stream>), one call
# and, with IMPORT_COST_AUTOCOMMIT > 0 certificates, autocommit ssl_import
# vs a plain INSERT (+ event) per row, one statement per certificate.
# Targets: import <= parse + 1.5 x insert; many and bundle <= 1.5 x (parse +
# insert); autocommit import no slower than 1.5's (docs/performance.md).
# Every round starts from an empty inventory (TRUNCATE ... CASCADE).
#   sudo bash test/bench/import_cost.sh      (builds and installs the extension)
# Settings: IMPORT_COST_CERTS=10000, IMPORT_COST_ROUNDS=3,
# IMPORT_COST_AUTOCOMMIT=2000, SANDBOX_PORT=54371.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "$(id -u)" -ne 0 ]; then exec sudo -E bash "$0" "$@"; fi
N=${IMPORT_COST_CERTS:-10000}
ROUNDS=${IMPORT_COST_ROUNDS:-3}
AUTO=${IMPORT_COST_AUTOCOMMIT:-2000}
OUT=build/bench-import-cost
mkdir -p "$OUT"
export PATH="$(pg_config --bindir):$PATH"
export SANDBOX_PORT=${SANDBOX_PORT:-54371}
export SANDBOX_PG_OPTS="${SANDBOX_PG_OPTS:--c shared_buffers=256MB -c max_wal_size=4GB -c synchronous_commit=off}"

gen=build/bench_gen_certs
if [ ! -x "$gen" ]; then
    if ! { cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DNETBOX_SSL_BENCH=ON >"$OUT/cmake.log" 2>&1 &&
           cmake --build build --target bench_gen_certs -j2 >>"$OUT/cmake.log" 2>&1; }; then
        g++ -std=c++17 -O2 -pthread -Isrc -o "$gen" test/bench/gen_certs.cpp -lcrypto
    fi
fi
[ -s "$OUT/certs-$N.tsv" ] || "$gen" --count "$N" --seed 11 --out "$OUT/certs-$N.tsv" >/dev/null
chmod 644 "$OUT/certs-$N.tsv"
make -s >"$OUT/make.log" 2>&1 && make -s install >>"$OUT/make.log" 2>&1 || { tail -20 "$OUT/make.log"; exit 1; }

# shellcheck source=scripts/pg-sandbox.sh
source scripts/pg-sandbox.sh
sandbox_start
trap sandbox_stop EXIT
P=(psql -X -q -At -v ON_ERROR_STOP=1)
"${P[@]}" <<SQL
SET client_min_messages = warning;
CREATE EXTENSION netbox_ssl;
CREATE TABLE staging (n int PRIMARY KEY, cn text, kind text, pem text);
\copy staging FROM '$OUT/certs-$N.tsv'
UPDATE staging SET pem = replace(pem, '\n', E'\n');
CREATE TABLE parsed AS SELECT s.n AS sid, p.* FROM staging s CROSS JOIN LATERAL ssl_parse(s.pem) p;
CREATE TABLE result (name text, round int, ms double precision);
VACUUM ANALYZE staging;
VACUUM ANALYZE parsed;
SQL

reset="SET client_min_messages = warning; TRUNCATE ssl_lifecycle_event, ssl_assignment, ssl_certificate, ssl_outbox, ssl_outbox_delivery RESTART IDENTITY CASCADE; CHECKPOINT;"
cols="common_name, subject, issuer, serial_number, fingerprint_sha256, valid_from, valid_to, sans, algorithm, key_size,
      signature_algorithm, is_ca, subject_key_id, authority_key_id, spki_sha256, pem_content, issuer_chain, issuer_cn,
      issuer_org, tbs_sha256"
insert() {  # $1: WHERE clause on parsed
    echo "WITH c AS (INSERT INTO ssl_certificate ($cols, status)
           SELECT $cols, CASE WHEN valid_to < now() THEN 'expired' WHEN valid_from > now() THEN 'pending' ELSE 'active' END
             FROM parsed $1 ORDER BY sid ON CONFLICT (fingerprint_sha256) DO NOTHING RETURNING id, status)
          INSERT INTO ssl_lifecycle_event (certificate_id, event_type, new_status, description)
          SELECT id, 'imported', status, 'Imported with status ' || status FROM c;" | tr -s ' \n' ' '
    echo
}
timed() {  # $1 name, $2 round, then the SQL (one transaction) on stdin
    echo "$reset"
    echo "SELECT clock_timestamp() AS t0 \\gset"
    cat
    echo "INSERT INTO result VALUES ('$1', $2, 1000 * extract(epoch FROM clock_timestamp() - :'t0'::timestamptz));"
}
check() {  # $1 name: every certificate stored
    echo "DO \$\$ BEGIN IF (SELECT count(*) FROM ssl_certificate) <> $N THEN RAISE 'run $1 stored % certificates', (SELECT count(*) FROM ssl_certificate); END IF; END \$\$;"
}

{
    echo "BEGIN; SELECT count(ssl_import(pem)) FROM (SELECT pem FROM staging LIMIT 1) s; ROLLBACK;"  # loads the module
    for r in $(seq 1 "$ROUNDS"); do
        timed parse "$r" <<<"SELECT count(p.common_name) FROM staging t, LATERAL ssl_parse(t.pem) p \\g /dev/null"
        timed insert "$r" <<<"BEGIN; $(insert "") COMMIT;"; check insert
        timed import "$r" <<<"BEGIN; SELECT count(ssl_import(pem)) FROM staging \\g /dev/null
COMMIT;"; check import
        timed many "$r" <<<"BEGIN; SELECT count(*) FROM ssl_import_many(ARRAY(SELECT pem FROM staging ORDER BY n)) \\g /dev/null
COMMIT;"; check many
        timed bundle "$r" <<<"BEGIN; SELECT count(*) FROM ssl_import_bundle((SELECT string_agg(pem, E'\\n' ORDER BY n) FROM staging)) \\g /dev/null
COMMIT;"; check bundle
    done
} | "${P[@]}" >/dev/null

if [ "$AUTO" -gt 0 ]; then  # autocommit: one statement per certificate, psql
    {
        timed insert_auto 1 < <(for i in $(seq 1 "$AUTO"); do insert "WHERE sid = $i"; done)
        timed import_auto 1 < <(for i in $(seq 1 "$AUTO"); do echo "SELECT ssl_import(pem) FROM staging WHERE n = $i \\g /dev/null"; done)
    } | "${P[@]}" >/dev/null
fi

"${P[@]}" -F' ' -c "SELECT name, round(min(ms)), round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)), count(*)
                    FROM result GROUP BY name" >"$OUT/results.txt"
awk -v n="$N" -v auto="$AUTO" -v rounds="$ROUNDS" '
    { best[$1] = $2; med[$1] = $3 }
    END {
        budget = best["parse"] + 1.5 * best["insert"]; bulk = 1.5 * (best["parse"] + best["insert"])
        printf "%d certificates, best of %d interleaved rounds (median in brackets), ms\n", n, rounds
        printf "  %-40s %7d (%d)\n", "ssl_parse over the staging table", best["parse"], med["parse"]
        printf "  %-40s %7d (%d)\n", "set-based INSERT + imported events", best["insert"], med["insert"]
        printf "  %-40s %7d (%d)  budget parse + 1.5 x INSERT = %d: %s (%.2fx)\n", "ssl_import x N, one transaction", best["import"], med["import"], budget, best["import"] <= budget ? "within" : "OVER", best["import"] / budget
        printf "  %-40s %7d (%d)  budget 1.5 x (parse + INSERT) = %d: %s (%.2fx)\n", "ssl_import_many, one call", best["many"], med["many"], bulk, best["many"] <= bulk ? "within" : "OVER", best["many"] / bulk
        printf "  %-40s %7d (%d)  budget 1.5 x (parse + INSERT) = %d: %s (%.2fx)\n", "ssl_import_bundle, one call", best["bundle"], med["bundle"], bulk, best["bundle"] <= bulk ? "within" : "OVER", best["bundle"] / bulk
        if (auto > 0) {
            printf "autocommit, %d statements each: ssl_import %.0f us/cert, plain INSERT + event %.0f us/row (%.2fx)\n", auto, 1000 * best["import_auto"] / auto, 1000 * best["insert_auto"] / auto, best["import_auto"] / best["insert_auto"]
        }
    }' "$OUT/results.txt" | tee "$OUT/summary.txt"
