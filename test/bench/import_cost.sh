#!/usr/bin/env bash
# What 1.4's import-time work costs: ssl_import of the same certificates into
# a database created at extension version 1.3 and one at 1.4, side by side
# (same library, same server, rounds interleaved, each round rolled back so
# both start from the same empty inventory). 1.4 adds the issuer columns and
# tbs_sha256, the ACME, authority and CSR triggers, the host-name GIN index
# and the outbox trigger; the ratio is their combined price.
#   sudo bash test/bench/import_cost.sh      (extension installed; make install)
# Settings: IMPORT_COST_CERTS=5000, IMPORT_COST_ROUNDS=3, SANDBOX_PORT=54371.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "$(id -u)" -ne 0 ]; then exec sudo -E bash "$0" "$@"; fi
N=${IMPORT_COST_CERTS:-5000}
ROUNDS=${IMPORT_COST_ROUNDS:-3}
OUT=build/bench-import-cost
mkdir -p "$OUT"
export PATH="$(pg_config --bindir):$PATH"
export SANDBOX_PORT=${SANDBOX_PORT:-54371}
export SANDBOX_PG_OPTS="${SANDBOX_PG_OPTS:--c shared_buffers=256MB -c synchronous_commit=off -c jit=off}"

gen=build/bench_gen_certs
if [ ! -x "$gen" ]; then
    cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DNETBOX_SSL_BENCH=ON >"$OUT/cmake.log" 2>&1
    cmake --build build --target bench_gen_certs -j"$(nproc)" >>"$OUT/cmake.log" 2>&1
fi
[ -s "$OUT/certs-$N.tsv" ] || "$gen" --count "$N" --seed 11 --out "$OUT/certs-$N.tsv" >/dev/null
chmod 644 "$OUT/certs-$N.tsv"

# shellcheck source=scripts/pg-sandbox.sh
source scripts/pg-sandbox.sh
sandbox_start
trap sandbox_stop EXIT
for v in 1.3 1.4; do
    db="v${v/./_}"
    createdb "$db"
    psql -X -q -d "$db" -v ON_ERROR_STOP=1 <<SQL
CREATE EXTENSION netbox_ssl VERSION '$v';
CREATE TABLE staging (n int, cn text, kind text, pem text);
\copy staging FROM '$OUT/certs-$N.tsv'
UPDATE staging SET pem = replace(pem, '\n', E'\n');
SQL
done

run() {  # $1 database; prints milliseconds for importing every staged row
    psql -X -q -At -d "$1" <<'SQL' | tail -1
BEGIN;
SELECT clock_timestamp() AS t0 \gset
SELECT count(ssl_import(pem)) FROM staging \g /dev/null
SELECT round(extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) * 1000);
ROLLBACK;
SQL
}

printf 'round\tv1.3_ms\tv1.4_ms\tratio\n' | tee "$OUT/results.tsv"
for r in $(seq 1 "$ROUNDS"); do
    a=$(run v1_3); b=$(run v1_4)
    printf '%s\t%s\t%s\t%s\n' "$r" "$a" "$b" "$(awk -v a="$a" -v b="$b" 'BEGIN{printf "%.2f", b/a}')" | tee -a "$OUT/results.tsv"
done
echo "$N certificates per round, one transaction each; $OUT/results.tsv"
