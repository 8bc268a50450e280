#!/usr/bin/env bash
# Concurrency under load: pgbench runs mixed imports, renewals, assignment
# inserts and reads from LOAD_CLIENTS clients (default 8) for LOAD_SECONDS
# (default 60) against a throwaway cluster, then checks the inventory's
# invariants in SQL (test/load/invariants.sql). Exits non-zero if any fails.
#   sudo bash scripts/loadtest.sh
# Figures of a run are in docs/concurrency.md.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then exec sudo -E bash "$0" "$@"; fi

CLIENTS=${LOAD_CLIENTS:-8}
DURATION=${LOAD_SECONDS:-60}
POOL=${LOAD_POOL:-20000}
PRELOAD=${LOAD_PRELOAD:-2000}
OUT=build/load
mkdir -p "$OUT"

scripts/install-deps.sh
make -s >/dev/null && make -s install >/dev/null
cmake -S . -B build/bench -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/bench -j"$(nproc)" --target bench_gen_certs >/dev/null
[ -s "$OUT/pool.tsv" ] || build/bench/bench_gen_certs --count "$POOL" --seed 11 --out "$OUT/pool.tsv" >/dev/null

# shellcheck source=scripts/pg-sandbox.sh
source scripts/pg-sandbox.sh
trap sandbox_stop EXIT
SANDBOX_PORT=${SANDBOX_PORT:-54338} sandbox_start
PSQL=(psql -X -q -v ON_ERROR_STOP=1)

"${PSQL[@]}" <<SQL
CREATE EXTENSION netbox_ssl;
\i test/load/setup.sql
CREATE TABLE load.pool (id integer PRIMARY KEY, cn text, kind text, pem text, fp text);
\copy load.pool (id, cn, kind, pem) FROM '$OUT/pool.tsv'
UPDATE load.pool SET fp = (ssl_parse(pem)).fingerprint_sha256;
SELECT count(load.import(k)) FROM generate_series(1, $PRELOAD) k;
INSERT INTO ssl_assignment (certificate_id, object_type, object_id)
SELECT c.id, 'preload.object', g FROM ssl_certificate c, generate_series(1, 3) g;
VACUUM ANALYZE;
SQL

cat >"$OUT/import.pgbench" <<EOF2
\set k random($((PRELOAD + 1)), $POOL)
SELECT load.import(:k);
EOF2
cat >"$OUT/renew.pgbench" <<EOF2
\set k random($((PRELOAD + 1)), $POOL)
SELECT load.renew(:k);
EOF2
cat >"$OUT/assign.pgbench" <<EOF2
\set k random(1, 100000000)
SELECT load.assign(:k);
EOF2
cat >"$OUT/read.pgbench" <<EOF2
\set k random(1, $POOL)
SELECT load.read(:k);
EOF2

echo "pgbench: $CLIENTS clients, $DURATION s, scripts import@2 renew@2 assign@3 read@3"
"$(pg_config --bindir)/pgbench" -n -c "$CLIENTS" -j 2 -T "$DURATION" --max-tries=10 \
    -f "$OUT/import.pgbench@2" -f "$OUT/renew.pgbench@2" -f "$OUT/assign.pgbench@3" -f "$OUT/read.pgbench@3" \
    >"$OUT/pgbench.log" 2>&1 || { cat "$OUT/pgbench.log"; exit 1; }
grep -E '^(number of (transactions|failed|transactions retried)|latency average|tps|SQL script|  - (weight|[0-9]+ transactions))' "$OUT/pgbench.log" \
    | sed 's/^/  /'

echo
echo "Outcomes (expected conflicts are counted, not failures):"
"${PSQL[@]}" -c "SELECT kind, outcome, n FROM load.outcome ORDER BY kind, outcome"
echo "Inventory after the run:"
"${PSQL[@]}" -c "SELECT status, count(*) FROM ssl_certificate GROUP BY status ORDER BY status"
echo "Invariants:"
"${PSQL[@]}" -f test/load/invariants.sql
bad=$(psql -X -At -F'|' -f test/load/invariants.sql | awk -F'|' '$2 !~ /^ok/')
if [ -n "$bad" ]; then echo "INVARIANT VIOLATED: $bad"; exit 1; fi
echo "all invariants hold"
