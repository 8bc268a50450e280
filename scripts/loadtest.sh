#!/usr/bin/env bash
# Concurrency under load: pgbench runs mixed imports, renewals, assignment
# inserts and reads from LOAD_CLIENTS clients (default 8) for LOAD_SECONDS
# (default 60) against a throwaway cluster, then checks the inventory's
# invariants in SQL (test/load/invariants.sql). Exits non-zero if any fails.
#   sudo bash scripts/loadtest.sh
# LOAD_MODE=janus runs the Janus load of security item 13 instead: renewals
# and reverts of certificates that carry thousands of assignments, against
# multi-row DELETEs of those assignments (put back in the next transaction)
# and single inserts. Every error is counted per SQLSTATE; a deadlock (40P01)
# or an error not expected by design fails the run, and the deadlock's
# details (both processes' statements) from the kept server log
# (build/load/server.log, log_lock_waits on) are printed.
#   LOAD_MODE=janus LOAD_SECONDS=40 sudo -E bash scripts/loadtest.sh
# LOAD_SKIP_BUILD=1 uses the extension already installed (scripts/test.sh,
# or a 1.4 install for comparison). Figures of runs are in docs/concurrency.md.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then exec sudo -E bash "$0" "$@"; fi

MODE=${LOAD_MODE:-mixed}
CLIENTS=${LOAD_CLIENTS:-8}
DURATION=${LOAD_SECONDS:-60}
POOL=${LOAD_POOL:-20000}
PRELOAD=${LOAD_PRELOAD:-2000}
FAMILIES=${LOAD_FAMILIES:-4}        # janus: certificate families (Common Names)
ASSIGNMENTS=${LOAD_ASSIGNMENTS:-5000} # janus: assignments per family
BLOCK=${LOAD_BLOCK:-1000}           # janus: rows per DELETE
FRESH=${LOAD_FRESH:-150}            # janus: pairs of fresh certificates per family (2 certificates each)
OUT=build/load
mkdir -p "$OUT"
case "$MODE" in mixed|janus) ;; *) echo "LOAD_MODE must be mixed or janus" >&2; exit 2;; esac
[ $((ASSIGNMENTS % BLOCK)) -eq 0 ] || { echo "LOAD_ASSIGNMENTS must be a multiple of LOAD_BLOCK" >&2; exit 2; }

if [ -z "${LOAD_SKIP_BUILD:-}" ]; then
    scripts/install-deps.sh
    make -s >/dev/null && make -s install >/dev/null
fi
cmake -S . -B build/bench -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/bench -j"$(nproc)" --target bench_gen_certs >/dev/null
if [ "$MODE" = mixed ]; then
    [ -s "$OUT/pool.tsv" ] || build/bench/bench_gen_certs --count "$POOL" --seed 11 --out "$OUT/pool.tsv" >/dev/null
else
    fresh_file="$OUT/fresh-$FAMILIES-$FRESH.tsv"
    if [ ! -s "$fresh_file" ]; then
        pair_args=()
        for f in $(seq 1 "$FAMILIES"); do
            for _ in $(seq 1 "$FRESH"); do pair_args+=(--pair "family$f.load.example"); done
        done
        build/bench/bench_gen_certs --count 0 --seed 13 --pairs-out "$fresh_file.tmp" "${pair_args[@]}" 2>/dev/null
        mv "$fresh_file.tmp" "$fresh_file"
    fi
fi

# shellcheck source=scripts/pg-sandbox.sh
source scripts/pg-sandbox.sh
# The server log is kept as $OUT/server.log (copied before the sandbox is
# removed): log_lock_waits reports every lock wait longer than
# deadlock_timeout (LOAD_DEADLOCK_TIMEOUT, default 200ms: short enough to see
# the waits that lead to a cycle, long enough not to flood the log), and a
# deadlock is logged with both processes' statements (DETAIL) and the
# victim's call stack (CONTEXT), which print_deadlocks shows on failure.
SERVER_LOG="$OUT/server.log"
save_log() {
    if [ -n "${SANDBOX_LOG:-}" ] && [ -f "$SANDBOX_LOG" ]; then cp "$SANDBOX_LOG" "$SERVER_LOG"; fi
    sandbox_stop
}
trap save_log EXIT
print_deadlocks() {
    [ -n "${SANDBOX_LOG:-}" ] && [ -f "$SANDBOX_LOG" ] || return 0
    local n
    n=$(grep -c -E 'detected deadlock while waiting|ERROR:  deadlock detected' "$SANDBOX_LOG" || true)
    [ "$n" -gt 0 ] || return 0
    echo "Server log: $n deadlock report(s) (full log: $SERVER_LOG). For each: the victim's wait"
    echo "(LOG/ERROR with DETAIL, CONTEXT = its statement and call stack, STATEMENT), then the"
    echo "last wait logged by the process holding the lock (its statement at that time):"
    # A LOG/ERROR line starts an entry; the DETAIL/CONTEXT/STATEMENT lines of
    # the same pid and tab-indented continuation lines belong to it. For the
    # holder, the entries just before and after the deadlock (the wait it was
    # in, usually logged as acquired once the victim is gone).
    awk '
      /^[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] / {
        p = $0; sub(/^[^[]*\[/, "", p); sub(/\].*/, "", p)
        if ($0 ~ /(LOG|ERROR|WARNING|FATAL):  /) { k++; pid[k] = p; txt[k] = $0; last[p] = k }
        else if (p in last) txt[last[p]] = txt[last[p]] "\n" $0
        cur = p; next
      }
      (cur in last) { txt[last[cur]] = txt[last[cur]] "\n" $0 }
      END {
        for (i = 1; i <= k; i++) {
          if (txt[i] !~ /detected deadlock while waiting|ERROR:  deadlock detected/) continue
          print "==== victim [" pid[i] "]"; print txt[i]
          h = ""
          if (match(txt[i], /Process holding the lock: [0-9]+/)) h = substr(txt[i], RSTART + 26, RLENGTH - 26)
          else if (match(txt[i], /blocked by process [0-9]+/)) h = substr(txt[i], RSTART + 19, RLENGTH - 19)
          if (h == "") continue
          for (j = i - 1; j > 0 && pid[j] != h; j--) ;
          if (j > 0) { print "---- holder [" h "], its entry before the deadlock"; print txt[j] }
          for (j = i + 1; j <= k && pid[j] != h; j++) ;
          if (j <= k) { print "---- holder [" h "], its entry after the deadlock"; print txt[j] }
        }
      }' "$SANDBOX_LOG" | cut -c1-400
}
SANDBOX_PG_OPTS="${SANDBOX_PG_OPTS:-} -c log_lock_waits=on -c deadlock_timeout=${LOAD_DEADLOCK_TIMEOUT:-200ms} -c log_line_prefix='%m [%p] %a: ' -c log_error_verbosity=default" \
    SANDBOX_PORT=${SANDBOX_PORT:-54338} sandbox_start
PSQL=(psql -X -q -v ON_ERROR_STOP=1)

check_invariants() {
    echo "Invariants:"
    "${PSQL[@]}" -f test/load/invariants.sql
    bad=$(psql -X -At -F'|' -f test/load/invariants.sql | awk -F'|' '$2 !~ /^ok/')
    if [ -n "$bad" ]; then echo "INVARIANT VIOLATED: $bad"; exit 1; fi
    echo "all invariants hold"
}

if [ "$MODE" = janus ]; then
    "${PSQL[@]}" <<SQL
CREATE EXTENSION netbox_ssl;
\\i test/load/setup.sql
INSERT INTO load.setting VALUES ('block', $BLOCK), ('assignments', $ASSIGNMENTS);
CREATE TEMP TABLE pairs (cn text, old_pem text, new_pem text);
\\copy pairs FROM '$fresh_file'
INSERT INTO load.family SELECT f, 'family' || f || '.load.example' FROM generate_series(1, $FAMILIES) f;
INSERT INTO load.fresh (f, seq, pem)
SELECT f.f, row_number() OVER (PARTITION BY f.f ORDER BY p.ord, p.which) - 1, p.pem
  FROM load.family f
  JOIN (SELECT cn, ord, 1 AS which, old_pem AS pem FROM (SELECT *, row_number() OVER () AS ord FROM pairs) x
        UNION ALL
        SELECT cn, ord, 2, new_pem FROM (SELECT *, row_number() OVER () AS ord FROM pairs) x) p ON p.cn = f.cn;
-- The first certificate of each family is imported; the others renew it.
UPDATE load.fresh SET used = true WHERE seq = 0;
SELECT count(ssl_import(pem)) FROM load.fresh WHERE seq = 0;
INSERT INTO ssl_assignment (certificate_id, object_type, object_id)
SELECT load.active(f.f), 'load.big', load.big_object(f.f, g) FROM load.family f, generate_series(1, $ASSIGNMENTS) g;
VACUUM ANALYZE;
SQL
    cat >"$OUT/renew.pgbench" <<EOF2
\set f random(1, $FAMILIES)
SELECT load.renew_family(:f);
EOF2
    cat >"$OUT/revert.pgbench" <<EOF2
\set f random(1, $FAMILIES)
SELECT load.revert_family(:f);
EOF2
    cat >"$OUT/delete.pgbench" <<EOF2
\set f random(1, $FAMILIES)
\set b random(0, $((ASSIGNMENTS / BLOCK - 1)))
SELECT load.delete_block(:f, :b);
SELECT load.reinsert_block(:f, :b);
EOF2
    cat >"$OUT/insert.pgbench" <<EOF2
\set f random(1, $FAMILIES)
\set k random(1, 100000000)
SELECT load.insert_one(:f, :k);
EOF2
    echo "pgbench: $CLIENTS clients, $DURATION s; $FAMILIES families of $ASSIGNMENTS assignments, DELETEs of $BLOCK rows;"
    echo "  scripts renew@3 revert@1 delete+reinsert@4 insert@2"
    # No --max-tries: pgbench would retry a deadlock; the wrappers count every error instead.
    "$(pg_config --bindir)/pgbench" -n -c "$CLIENTS" -j 2 -T "$DURATION" \
        -f "$OUT/renew.pgbench@3" -f "$OUT/revert.pgbench@1" -f "$OUT/delete.pgbench@4" -f "$OUT/insert.pgbench@2" \
        >"$OUT/pgbench.log" 2>&1 || { cat "$OUT/pgbench.log"; print_deadlocks; exit 1; }
    grep -E '^(number of (transactions|failed)|latency average|tps|SQL script|  - (weight|[0-9]+ transactions))' "$OUT/pgbench.log" \
        | sed 's/^/  /'
    echo
    echo "Outcomes per SQLSTATE (n = transactions, rows = assignment rows renewed/deleted/inserted):"
    "${PSQL[@]}" -c "SELECT kind, outcome, n, rows, CASE WHEN outcome NOT IN ('renewed', 'reverted', 'deleted', 'inserted', 'added') THEN left(sample, 110) END AS sample_message FROM load.outcome ORDER BY kind, outcome"
    deadlocks=$(psql -X -At -c "SELECT coalesce(sum(n), 0) FROM load.outcome WHERE outcome LIKE 'DEADLOCK%'")
    unexpected=$(psql -X -At -c "SELECT coalesce(sum(n), 0) FROM load.outcome WHERE outcome LIKE 'UNEXPECTED%'")
    echo "deadlocks = $deadlocks, unexpected errors = $unexpected"
    psql -X -At -c "SELECT kind || ': ' || sample FROM load.outcome_log WHERE outcome NOT LIKE 'refused%' AND sample IS NOT NULL" >"$OUT/errors.txt"
    [ "$deadlocks$unexpected" = 00 ] || echo "(messages and lock details of those errors: $OUT/errors.txt)"
    [ "$deadlocks" = 0 ] || print_deadlocks
    echo "Inventory after the run:"
    "${PSQL[@]}" -c "SELECT status, count(*) FROM ssl_certificate GROUP BY status ORDER BY status"
    check_invariants
    exit 0
fi

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
check_invariants
