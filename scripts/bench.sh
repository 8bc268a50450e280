#!/usr/bin/env bash
# Benchmarks of netbox_ssl on a throwaway cluster (see docs/performance.md):
#   (a) ssl_parse vs a bare d2i_X509 + SHA-256 loop over the same certificates,
#       and the acceptance protocol of 1.6: ssl_parse(der) from SQL vs a bare
#       d2i_X509 + X509_free loop, interleaved rounds, best of each;
#   (b) ssl_import vs a plain INSERT of the same precomputed rows, in one
#       transaction and in autocommit; ssl_import_many and ssl_import_bundle
#       of the same certificates; each against its 1.6 budget;
#   (c) ssl_renew vs a plain UPDATE, with 1, 1,000 and 100,000 assignments,
#       and the number of statements ssl_renew runs (pg_stat_statements).
#   (d)-(f) plan cache, lookups at 1M, import memory; (g)-(i) the 1.4
#   features: host lookup, bulk import paths, compliance (test/bench/*.sh).
# Installs missing Debian packages, builds the bench programs (CMake, Release)
# and the extension (PGXS), generates the certificates, starts a temporary
# PostgreSQL as the postgres user, and prints a results table, also written
# as markdown to build/bench/results.md. Needs root (re-runs itself with sudo).
#
# Settings (environment):
#   BENCH_CERTS=10000          certificates for (a) and (b)
#   BENCH_SEED=42              gen_certs seed
#   BENCH_ROUNDS=3             rounds of the baseline, ssl_parse runs, and
#                              one-transaction import / INSERT runs
#   BENCH_AUTOCOMMIT_RUNS=1    autocommit import / INSERT runs
#   BENCH_RENEW_RUNS=5         runs with 1 and with 1,000 assignments
#   BENCH_RENEW_BIG=100000     assignments of the large renewal
#   BENCH_RENEW_BIG_RUNS=2     runs of the 10,000 and large renewals
#   BENCH_LOOKUP_SIZES="10000 100000 1000000"  inventory sizes for the lookups (e)
#   BENCH_RSS_CERTS=100000     certificates imported in one transaction for (f)
#   SANDBOX_PG_OPTS            server settings (default below)
#   SANDBOX_PORT=54339         port of the throwaway cluster
#   SANDBOX_KEEP=1             keep the cluster's directory afterwards
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then exec sudo -E bash "$0" "$@"; fi

BENCH_CERTS=${BENCH_CERTS:-10000}
BENCH_SEED=${BENCH_SEED:-42}
BENCH_ROUNDS=${BENCH_ROUNDS:-3}
BENCH_AUTOCOMMIT_RUNS=${BENCH_AUTOCOMMIT_RUNS:-1}
BENCH_RENEW_RUNS=${BENCH_RENEW_RUNS:-5}
BENCH_RENEW_BIG=${BENCH_RENEW_BIG:-100000}
BENCH_RENEW_BIG_RUNS=${BENCH_RENEW_BIG_RUNS:-2}
BENCH_LOOKUP_SIZES=${BENCH_LOOKUP_SIZES:-"10000 100000 1000000"}
BENCH_RSS_CERTS=${BENCH_RSS_CERTS:-100000}
# pg_stat_statements counts the statements of ssl_renew in (c) (its tracking
# of nested statements is switched on for those transactions only).
export SANDBOX_PG_OPTS="${SANDBOX_PG_OPTS:--c shared_buffers=256MB -c max_wal_size=4GB -c synchronous_commit=off -c jit=off -c shared_preload_libraries=pg_stat_statements}"
export SANDBOX_PORT=${SANDBOX_PORT:-54339}

OUT=build/bench
mkdir -p "$OUT"
started=$(date +%s)
step() { printf '[%4ss] %s\n' "$(($(date +%s) - started))" "$*"; }

scripts/install-deps.sh
export PATH="$(pg_config --bindir):$PATH"

step "building the bench programs (CMake, Release) in $OUT"
if ! { cmake -S . -B "$OUT" -DCMAKE_BUILD_TYPE=Release -DNETBOX_SSL_BENCH=ON >"$OUT/cmake.log" 2>&1 \
       && cmake --build "$OUT" --target bench_gen_certs bench_d2i_baseline -j"$(nproc)" >>"$OUT/cmake.log" 2>&1; }; then
    tail -5 "$OUT/cmake.log"
    echo "WARNING: the CMake build failed (see $OUT/cmake.log); building the two bench programs directly with g++ -O3" >&2
    flags=(-std=c++17 -O3 -DNDEBUG -Wall -Wextra -Werror -pthread)
    g++ "${flags[@]}" -Isrc -o "$OUT/bench_gen_certs" test/bench/gen_certs.cpp -lcrypto
    g++ "${flags[@]}" -Isrc -o "$OUT/bench_d2i_baseline" test/bench/d2i_baseline.cpp src/core/*.cpp -lcrypto
fi

step "building and installing the extension (PGXS)"
make -s >"$OUT/make.log" 2>&1 || { tail -30 "$OUT/make.log"; exit 1; }
make -s install >>"$OUT/make.log" 2>&1 || { tail -30 "$OUT/make.log"; exit 1; }

# Renewal test pairs: one per (kind, size, run), each its own Common Name.
sizes=(1 100 1000 10000 "$BENCH_RENEW_BIG")
runs_for() { if [ "$1" -ge 10000 ]; then echo "$BENCH_RENEW_BIG_RUNS"; else echo "$BENCH_RENEW_RUNS"; fi; }
kinds=(renew update update_notrig)
pair_args=()
for size in "${sizes[@]}"; do
    for run in $(seq 1 "$(runs_for "$size")"); do
        for kind in "${kinds[@]}"; do pair_args+=(--pair "$kind-$size-$run.bench.example"); done
    done
done

step "generating $BENCH_CERTS certificates and $((${#pair_args[@]} / 2)) renewal pairs (seed $BENCH_SEED)"
"$OUT/bench_gen_certs" --count "$BENCH_CERTS" --seed "$BENCH_SEED" --out "$OUT/certs.tsv" \
    --pairs-out "$OUT/pairs.tsv" "${pair_args[@]}" --chain-out "$OUT/chain.pem"

# shellcheck source=scripts/pg-sandbox.sh
source scripts/pg-sandbox.sh
trap sandbox_stop EXIT
sandbox_start
step "throwaway PostgreSQL running in $SANDBOX_DIR with: $SANDBOX_PG_OPTS (and the sandbox's own -c fsync=off)"

PSQL=(psql -X -q -At -v ON_ERROR_STOP=1)
"${PSQL[@]}" <<SQL
CREATE EXTENSION netbox_ssl;
CREATE EXTENSION pg_stat_statements;
CREATE TABLE renew_statements (size integer NOT NULL, run integer NOT NULL, statements bigint, fk_checks bigint);
CREATE TABLE staging (id integer PRIMARY KEY, cn text NOT NULL, key_type text NOT NULL, pem text NOT NULL);
\copy staging FROM '$OUT/certs.tsv'
CREATE TABLE pairs (cn text PRIMARY KEY, old_pem text NOT NULL, new_pem text NOT NULL);
\copy pairs FROM '$OUT/pairs.tsv'
-- One row per timed run.
CREATE TABLE bench_result (name text NOT NULL, run integer NOT NULL, ms double precision NOT NULL,
                           n bigint, expected bigint NOT NULL);
VACUUM ANALYZE staging;
VACUUM ANALYZE pairs;
SQL
n_staged=$("${PSQL[@]}" -c "SELECT count(*) FROM staging")
[ "$n_staged" -eq "$BENCH_CERTS" ] || { echo "staging holds $n_staged rows, expected $BENCH_CERTS" >&2; exit 1; }
load_start=$(cut -d' ' -f1-3 /proc/loadavg)

# psql lines that time the statements between them with the server's clock,
# inside one session, and record the run as (name, run, ms, n, expected n).
tic() { echo "SELECT clock_timestamp() AS t0 \\gset"; }
toc() {
    echo "SELECT 1000 * extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) AS ms \\gset"
    echo "INSERT INTO bench_result VALUES ('$1', $2, :ms, $3, $4);"
}

# ---------------------------------------------------------------- (a) parse
step "(a) the d2i_X509 + SHA-256 baseline, $BENCH_ROUNDS rounds over the same certificates"
"$OUT/bench_d2i_baseline" "$OUT/certs.tsv" --rounds "$BENCH_ROUNDS" --by-type --kv "$OUT/baseline.kv" \
    | tee "$OUT/baseline.txt"

step "(a) ssl_parse, $BENCH_ROUNDS runs over the staging table"
{
    echo "SELECT count((ssl_parse(pem)).fingerprint_sha256) FROM (SELECT pem FROM staging LIMIT 100) s;"  # warm-up
    for run in $(seq 1 "$BENCH_ROUNDS"); do
        tic
        echo "SELECT count((ssl_parse(pem)).fingerprint_sha256) AS n FROM staging \\gset"
        toc parse "$run" ":n" "$BENCH_CERTS"
    done
} | "${PSQL[@]}" >/dev/null

# The acceptance protocol of issue "Speed" (1.6): the same DER values in a
# bytea column, SELECT count(p.common_name) FROM t, LATERAL ssl_parse(der) p,
# against a bare d2i_X509 + X509_free loop in C (no hashing); rounds
# interleaved (one C round, then one SQL round), the best of each kept, so
# that load from other work on the machine hits both sides alike.
step "(a) protocol: d2i_X509 + X509_free vs ssl_parse(der) from SQL, $BENCH_ROUNDS interleaved rounds, best of each"
"${PSQL[@]}" -c "CREATE TABLE t AS SELECT id, decode(regexp_replace(pem, '-----[A-Z ]+-----|\s', '', 'g'), 'base64') AS der FROM staging" \
             -c "VACUUM ANALYZE t" >/dev/null
echo "SELECT count(p.common_name) FROM t, LATERAL ssl_parse(der) p;" | "${PSQL[@]}" >/dev/null  # warm-up
: >"$OUT/protocol_d2i.txt"
for run in $(seq 1 "$BENCH_ROUNDS"); do
    "$OUT/bench_d2i_baseline" "$OUT/certs.tsv" --d2i-rounds 1 | sed -n 's/^d2i_round=//p' >>"$OUT/protocol_d2i.txt"
    {
        tic
        echo "SELECT count(p.common_name) AS n FROM t, LATERAL ssl_parse(der) p \\gset"
        toc parse_protocol "$run" ":n" "$BENCH_CERTS"
    } | "${PSQL[@]}" >/dev/null
done
{
    echo "protocol_d2i=$(sort -g "$OUT/protocol_d2i.txt" | tail -1)"
    echo "protocol_parse=$("${PSQL[@]}" -c "SELECT $BENCH_CERTS / (min(ms) / 1000) FROM bench_result WHERE name = 'parse_protocol'")"
    echo "protocol_d2i_rounds=$(paste -sd' ' "$OUT/protocol_d2i.txt")"
    echo "protocol_parse_rounds=$("${PSQL[@]}" -c "SELECT string_agg(round($BENCH_CERTS / (ms / 1000))::text, ' ' ORDER BY run) FROM bench_result WHERE name = 'parse_protocol'")"
} >>"$OUT/baseline.kv"
grep '^protocol_' "$OUT/baseline.kv"

# ---------------------------------------------------------------- (b) import
# The plain-INSERT comparison stores exactly what ssl_import stores (the same
# columns, status rule and 'imported' event, in one statement) from rows
# that ssl_parse produced beforehand.
cols="common_name, subject, issuer, serial_number, fingerprint_sha256, valid_from, valid_to, sans, algorithm,
      key_size, signature_algorithm, is_ca, subject_key_id, authority_key_id, spki_sha256, pem_content, issuer_chain,
      issuer_cn, issuer_org, tbs_sha256"
plain_insert() {  # $1: WHERE clause on parsed
    echo "WITH c AS (INSERT INTO ssl_certificate ($cols, status)
           SELECT $cols, CASE WHEN valid_to < now() THEN 'expired' WHEN valid_from > now() THEN 'pending' ELSE 'active' END
             FROM parsed $1 ORDER BY sid
           ON CONFLICT (fingerprint_sha256) DO NOTHING RETURNING id, status)
     INSERT INTO ssl_lifecycle_event (certificate_id, event_type, new_status, description)
     SELECT id, 'imported', status, 'Imported with status ' || status FROM c;" | tr -s ' \n' ' '
    echo
}
# Everything an import writes (1.4's outbox and its deliveries included), and
# what references it (CASCADE), so that every run starts from the same state.
reset_tables="SET client_min_messages = warning; TRUNCATE ssl_lifecycle_event, ssl_assignment, ssl_certificate, ssl_outbox, ssl_outbox_delivery RESTART IDENTITY CASCADE; RESET client_min_messages;"
"${PSQL[@]}" -c "CREATE TABLE parsed AS SELECT s.id AS sid, p.* FROM staging s CROSS JOIN LATERAL ssl_parse(s.pem) p" \
             -c "ALTER TABLE parsed ADD PRIMARY KEY (sid)" -c "VACUUM ANALYZE parsed"

step "(b) ssl_import and plain INSERT of $BENCH_CERTS certificates in one transaction, $BENCH_ROUNDS runs each"
{
    echo "BEGIN; SELECT ssl_import(pem) FROM staging LIMIT 1; ROLLBACK;"  # warm-up: loads the module and its plans
    for run in $(seq 1 "$BENCH_ROUNDS"); do
        echo "$reset_tables CHECKPOINT;"
        tic
        echo "BEGIN;"
        echo "SELECT count(ssl_import(pem)) AS n FROM staging \\gset"
        echo "COMMIT;"
        toc import_txn "$run" ":n" "$BENCH_CERTS"
        echo "$reset_tables CHECKPOINT;"
        tic
        echo "BEGIN;"
        plain_insert ""
        echo "COMMIT;"
        toc insert_txn "$run" "(SELECT count(*) FROM ssl_certificate)" "$BENCH_CERTS"
        # 1.6 bulk paths over the same certificates: one array, one bundle.
        echo "$reset_tables CHECKPOINT;"
        tic
        echo "BEGIN;"
        echo "SELECT count(*) FILTER (WHERE outcome = 'imported') AS n FROM ssl_import_many(ARRAY(SELECT pem FROM staging ORDER BY id)) \\gset"
        echo "COMMIT;"
        toc many_txn "$run" ":n" "$BENCH_CERTS"
        echo "$reset_tables CHECKPOINT;"
        tic
        echo "BEGIN;"
        echo "SELECT count(*) FILTER (WHERE outcome = 'imported') AS n FROM ssl_import_bundle((SELECT string_agg(pem, E'\\n' ORDER BY id) FROM staging)) \\gset"
        echo "COMMIT;"
        toc bundle_txn "$run" ":n" "$BENCH_CERTS"
    done
} | "${PSQL[@]}" >/dev/null

step "(b) ssl_import and plain INSERT in autocommit, one statement per certificate, $BENCH_AUTOCOMMIT_RUNS run(s) each"
for run in $(seq 1 "$BENCH_AUTOCOMMIT_RUNS"); do
    {
        echo "$reset_tables CHECKPOINT;"
        tic
        echo "\\o /dev/null"
        for i in $(seq 1 "$BENCH_CERTS"); do plain_insert "WHERE sid = $i"; done
        echo "\\o"
        toc insert_auto "$run" "(SELECT count(*) FROM ssl_certificate)" "$BENCH_CERTS"
        echo "$reset_tables CHECKPOINT;"
        echo "BEGIN; SELECT ssl_import(pem) FROM staging LIMIT 1; ROLLBACK;"
        tic
        echo "\\o /dev/null"
        for i in $(seq 1 "$BENCH_CERTS"); do echo "SELECT ssl_import(pem) FROM staging WHERE id = $i;"; done
        echo "\\o"
        toc import_auto "$run" "(SELECT count(*) FROM ssl_certificate)" "$BENCH_CERTS"
    } >"$OUT/autocommit.sql"
    "${PSQL[@]}" -f "$OUT/autocommit.sql" >/dev/null
done
n_imported=$("${PSQL[@]}" -c "SELECT count(*) FROM ssl_certificate")
[ "$n_imported" -eq "$BENCH_CERTS" ] || { echo "ssl_certificate holds $n_imported rows, expected $BENCH_CERTS" >&2; exit 1; }

# ---------------------------------------------------------------- (c) renew
# Background: the imported certificates keep one assignment each. Every run
# imports a fresh old certificate (and, for UPDATE, a fresh target), gives
# the old one N assignments, vacuums, times one transaction, checks that all
# N moved, and deletes them again.
step "(c) ssl_renew vs plain UPDATE with ${sizes[*]} assignments"
"${PSQL[@]}" -c "INSERT INTO ssl_assignment (certificate_id, object_type, object_id)
                 SELECT id, 'dcim.device', id FROM ssl_certificate" -c "VACUUM ANALYZE ssl_assignment"
for size in "${sizes[@]}"; do
    {
        for run in $(seq 1 "$(runs_for "$size")"); do
            for kind in "${kinds[@]}"; do
                cn="$kind-$size-$run.bench.example"
                echo "SELECT ssl_import(old_pem) AS old_id FROM pairs WHERE cn = '$cn' \\gset"
                if [ "$kind" != renew ]; then
                    echo "SELECT ssl_import(new_pem) AS new_id FROM pairs WHERE cn = '$cn' \\gset"
                fi
                echo "INSERT INTO ssl_assignment (certificate_id, object_type, object_id)
                      SELECT :old_id, 'ipam.service', g FROM generate_series(1, $size) g;"
                echo "VACUUM ANALYZE ssl_assignment;"
                echo "CHECKPOINT;"
                if [ "$kind" = renew ]; then
                    echo "SET pg_stat_statements.track = 'all'; SELECT pg_stat_statements_reset() \\g /dev/null"
                fi
                tic
                echo "BEGIN;"
                case "$kind" in
                    renew) echo "SELECT ssl_renew(:old_id, new_pem) AS new_id FROM pairs WHERE cn = '$cn' \\gset" ;;
                    update) echo "UPDATE ssl_assignment SET certificate_id = :new_id WHERE certificate_id = :old_id;" ;;
                    update_notrig)
                        echo "SET LOCAL session_replication_role = replica;"
                        echo "UPDATE ssl_assignment SET certificate_id = :new_id WHERE certificate_id = :old_id;" ;;
                esac
                echo "COMMIT;"
                toc "$kind" "$run" "(SELECT count(*) FROM ssl_assignment WHERE certificate_id = :new_id)" "$size"
                if [ "$kind" = renew ]; then
                    # Statements ssl_renew ran (nested, triggers included), apart
                    # from PostgreSQL's own foreign-key check per moved row.
                    echo "INSERT INTO renew_statements SELECT $size, $run,
                            sum(calls) FILTER (WHERE query NOT LIKE '%FOR KEY SHARE OF%'),
                            sum(calls) FILTER (WHERE query LIKE '%FOR KEY SHARE OF%')
                            FROM pg_stat_statements WHERE NOT toplevel;"
                    echo "SET pg_stat_statements.track = 'top';"
                fi
                echo "DELETE FROM ssl_assignment WHERE certificate_id = :new_id;"
            done
        done
    } | "${PSQL[@]}" >/dev/null
    step "    $size assignment(s) done"
done
bad=$("${PSQL[@]}" -c "SELECT string_agg(format('%s run %s: %s rows, expected %s', name, run, n, expected), '; ')
                       FROM bench_result WHERE n IS DISTINCT FROM expected")
[ -z "$bad" ] || { echo "a timed statement did not process every row: $bad" >&2; exit 1; }

# ---------------------------------------------------------------- (d) plan cache
# PostgreSQL keeps the plans of foreign-key checks and of the trigger's
# lookup per session; a plan made while ssl_certificate was tiny stays a
# sequential scan as the table grows. (d1) imports S1 and then S2 = 3 x S1
# certificates in one transaction into an empty inventory that was VACUUM
# ANALYZEd, each in a fresh session; with index lookups the time per
# certificate would stay the same. (d2) inserts D2 assignments in a session
# whose plans were made while ssl_certificate held 2 rows (then filled with
# the other certificates), and the same in a fresh session. The assignments
# go to the newest certificates, at the end of the table, where a sequential
# scan finds them last (as it finds a just-imported certificate).
S1=$((BENCH_CERTS / 5)); S2=$((3 * S1)); D2=2000
step "(d) plan-cache check: one-transaction import of $S1 and $S2 certificates into an analyzed empty inventory"
for s in "$S1" "$S2"; do
    "${PSQL[@]}" -c "$reset_tables" -c "VACUUM ANALYZE ssl_certificate" -c "VACUUM ANALYZE ssl_lifecycle_event" -c "CHECKPOINT"
    {
        tic
        echo "BEGIN;"
        echo "SELECT count(ssl_import(pem)) AS n FROM staging WHERE id <= $s \\gset"
        echo "COMMIT;"
        toc import_analyzed_empty 1 ":n" "$s"
        tic
        echo "SELECT count((ssl_parse(pem)).fingerprint_sha256) AS n FROM staging WHERE id <= $s \\gset"
        toc parse_subset 1 ":n" "$s"
    } | "${PSQL[@]}" >/dev/null
done
step "(d) plan-cache check: $D2 assignment inserts, session planned on a 2-row table vs a fresh session"
"${PSQL[@]}" >/dev/null <<SQL
$reset_tables
ALTER TABLE ssl_certificate SET (autovacuum_enabled = off);
INSERT INTO ssl_certificate ($cols) SELECT $cols FROM parsed WHERE sid <= 2 ORDER BY sid;
VACUUM ANALYZE ssl_certificate;
VACUUM ANALYZE ssl_assignment;
$(for i in 1 2 3 4 5 6 7; do echo "INSERT INTO ssl_assignment (certificate_id, object_type, object_id) VALUES (1, 'warm', $i);"; done)
INSERT INTO ssl_certificate ($cols) SELECT $cols FROM parsed WHERE sid > 2 ORDER BY sid;
CHECKPOINT;
$(tic)
INSERT INTO ssl_assignment (certificate_id, object_type, object_id) SELECT $BENCH_CERTS, 'x', g FROM generate_series(1, $D2) g;
$(toc assign_stale_plans 1 "(SELECT count(*) FROM ssl_assignment WHERE certificate_id = $BENCH_CERTS)" "$D2")
SQL
"${PSQL[@]}" >/dev/null <<SQL
$(tic)
INSERT INTO ssl_assignment (certificate_id, object_type, object_id) SELECT $((BENCH_CERTS - 1)), 'x', g FROM generate_series(1, $D2) g;
$(toc assign_fresh_session 1 "(SELECT count(*) FROM ssl_assignment WHERE certificate_id = $((BENCH_CERTS - 1)))" "$D2")
ALTER TABLE ssl_certificate RESET (autovacuum_enabled);
SQL
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------- (e) lookups
# A separate database filled with synthetic rows (distinct fingerprints, CNs
# and SANs; expiry spread over ten years), grown to each size in turn. Each
# lookup runs 500 times with random keys inside one PL/pgSQL loop; the figure
# is the mean time per lookup. The plans are printed to lookup-plans.txt.
step "(e) lookups at $BENCH_LOOKUP_SIZES stored certificates"
"${PSQL[@]}" -c "DROP DATABASE IF EXISTS lookups" -c "CREATE DATABASE lookups" >/dev/null 2>&1
LPSQL=(psql -X -q -At -v ON_ERROR_STOP=1 -d lookups)
"${LPSQL[@]}" -v pem="$("${PSQL[@]}" -c "SELECT pem FROM staging WHERE id = 1")" <<'SQL'
CREATE EXTENSION netbox_ssl;
CREATE TABLE proto AS SELECT * FROM ssl_parse(:'pem');
CREATE FUNCTION fill(upto integer) RETURNS void LANGUAGE sql AS $f$
    INSERT INTO ssl_certificate (common_name, subject, issuer, serial_number, fingerprint_sha256, valid_from,
        valid_to, sans, algorithm, key_size, signature_algorithm, is_ca, spki_sha256, pem_content, status)
    SELECT 'host' || g || '.example.net', p.subject, p.issuer, p.serial_number,
           upper(rtrim(regexp_replace(encode(sha256(g::text::bytea), 'hex'), '(..)', '\1:', 'g'), ':')),
           now() - interval '1 day', now() + (g::bigint * 7919 % 3650) * interval '1 day' + interval '1 hour',
           ARRAY['DNS:host' || g || '.example.net', 'DNS:www.host' || g || '.example.net'],
           p.algorithm, p.key_size, p.signature_algorithm, p.is_ca, p.spki_sha256, p.pem_content, 'active'
      FROM proto p, generate_series((SELECT count(*) FROM ssl_certificate)::integer + 1, upto) g
$f$;
CREATE FUNCTION time_lookups(n integer, OUT what text, OUT ms numeric) RETURNS SETOF record LANGUAGE plpgsql AS $f$
DECLARE
    t0 timestamptz; k integer; x bigint; fp text; i integer;
BEGIN
    what := 'fingerprint'; t0 := clock_timestamp();
    FOR i IN 1..500 LOOP
        k := 1 + floor(random() * n)::integer;
        fp := upper(rtrim(regexp_replace(encode(sha256(k::text::bytea), 'hex'), '(..)', '\1:', 'g'), ':'));
        SELECT id INTO x FROM ssl_certificate WHERE fingerprint_sha256 = fp;
    END LOOP;
    ms := extract(epoch FROM clock_timestamp() - t0) * 1000 / 500; RETURN NEXT;
    what := 'common_name'; t0 := clock_timestamp();
    FOR i IN 1..500 LOOP
        k := 1 + floor(random() * n)::integer;
        SELECT id INTO x FROM ssl_certificate WHERE lower(common_name) = lower('HOST' || k || '.example.net')
         ORDER BY valid_to DESC LIMIT 1;
    END LOOP;
    ms := extract(epoch FROM clock_timestamp() - t0) * 1000 / 500; RETURN NEXT;
    what := 'san'; t0 := clock_timestamp();
    FOR i IN 1..500 LOOP
        k := 1 + floor(random() * n)::integer;
        SELECT id INTO x FROM ssl_certificate WHERE sans @> ARRAY['DNS:www.host' || k || '.example.net'] LIMIT 1;
    END LOOP;
    ms := extract(epoch FROM clock_timestamp() - t0) * 1000 / 500; RETURN NEXT;
    what := 'expiring_page'; t0 := clock_timestamp();
    FOR i IN 1..500 LOOP
        SELECT count(*) INTO x FROM (SELECT id FROM ssl_certificate WHERE status = 'active'
                                       AND valid_to < now() + interval '30 days' ORDER BY valid_to LIMIT 100) s;
    END LOOP;
    ms := extract(epoch FROM clock_timestamp() - t0) * 1000 / 500; RETURN NEXT;
    what := 'ssl_expiring_all'; t0 := clock_timestamp();
    FOR i IN 1..5 LOOP
        SELECT count(*) INTO x FROM ssl_expiring('30 days');
    END LOOP;
    ms := extract(epoch FROM clock_timestamp() - t0) * 1000 / 5; RETURN NEXT;
    what := 'refresh_nothing_to_do'; t0 := clock_timestamp();
    FOR i IN 1..50 LOOP
        PERFORM ssl_refresh_status();
    END LOOP;
    ms := extract(epoch FROM clock_timestamp() - t0) * 1000 / 50; RETURN NEXT;
END
$f$;
SQL
: >"$OUT/lookup-plans.txt"
for n in $BENCH_LOOKUP_SIZES; do
    "${LPSQL[@]}" -c "SELECT fill($n)" -c "VACUUM ANALYZE ssl_certificate" >/dev/null
    "${LPSQL[@]}" -F' ' -c "SELECT what, round(ms, 4) FROM time_lookups($n)" \
        | while read -r what ms; do
              echo "INSERT INTO bench_result (name, run, expected, n, ms) VALUES ('lookup_$what', 1, $n, $n, $ms);"
          done | "${PSQL[@]}" >/dev/null
    {
        echo "== $n certificates"
        "${LPSQL[@]}" -c "EXPLAIN (COSTS OFF) SELECT id FROM ssl_certificate WHERE fingerprint_sha256 = 'AA'" \
            -c "EXPLAIN (COSTS OFF) SELECT id FROM ssl_certificate WHERE lower(common_name) = lower('x') ORDER BY valid_to DESC LIMIT 1" \
            -c "EXPLAIN (COSTS OFF) SELECT id FROM ssl_certificate WHERE sans @> ARRAY['DNS:x']" \
            -c "EXPLAIN (COSTS OFF) SELECT id FROM ssl_certificate WHERE status = 'active' AND valid_to < now() + interval '30 days' ORDER BY valid_to LIMIT 100"
    } >>"$OUT/lookup-plans.txt"
    step "    $n certificates done"
done

# ---------------------------------------------------------------- (f) memory
# One fresh backend imports BENCH_RSS_CERTS distinct certificates in one
# transaction, in 10 statements; after loading the extension and after every
# statement it reads its own RssAnon (private memory: VmRSS would also count
# the shared buffers the backend touches). The peak over those samples is
# compared with the start.
step "(f) backend memory during a $BENCH_RSS_CERTS-certificate import in one transaction"
if [ ! -s "$OUT/rss-certs.tsv" ]; then
    "$OUT/bench_gen_certs" --count "$BENCH_RSS_CERTS" --seed 99 --out "$OUT/rss-certs.tsv" >/dev/null
fi
"${PSQL[@]}" -c "DROP DATABASE IF EXISTS rss" -c "CREATE DATABASE rss" >/dev/null 2>&1
psql -X -q -v ON_ERROR_STOP=1 -d rss -c "CREATE EXTENSION netbox_ssl" \
     -c "CREATE TABLE staging (id integer, cn text, kind text, pem text)" \
     -c "\\copy staging FROM '$OUT/rss-certs.tsv'" >/dev/null
batch=$(( (BENCH_RSS_CERTS + 9) / 10 ))
{
    echo "SELECT count(*) AS loaded FROM (SELECT ssl_parse(pem) FROM staging LIMIT 1) s \\gset"
    echo "CREATE TEMP TABLE rss (step integer, kb bigint);"
    echo "CREATE FUNCTION pg_temp.sample(step integer) RETURNS void LANGUAGE sql AS \$f\$
          INSERT INTO rss SELECT step, substring(pg_read_file('/proc/' || pg_backend_pid() || '/status') FROM 'RssAnon:\\s+(\\d+)')::bigint \$f\$;"
    echo "SELECT pg_temp.sample(0);"
    echo "BEGIN;"
    for b in $(seq 0 9); do
        echo "SELECT count(ssl_import(pem)) FROM staging WHERE id > $((b * batch)) AND id <= $(((b + 1) * batch));"
        echo "SELECT pg_temp.sample($((b + 1)));"
    done
    echo "COMMIT;"
    echo "SELECT (SELECT kb FROM rss WHERE step = 0), max(kb), (SELECT kb FROM rss WHERE step = 10), (SELECT count(*) FROM ssl_certificate) FROM rss;"
} | psql -X -q -At -F' ' -v ON_ERROR_STOP=1 -d rss | tail -1 >"$OUT/rss.txt"
read -r rss0 hwm rss1 nrss <"$OUT/rss.txt"
"${PSQL[@]}" -c "INSERT INTO bench_result (name, run, expected, n, ms) VALUES
                 ('rss_before_kb', 1, $BENCH_RSS_CERTS, $nrss, $rss0), ('rss_peak_kb', 1, $BENCH_RSS_CERTS, $nrss, $hwm),
                 ('rss_after_kb', 1, $BENCH_RSS_CERTS, $nrss, $rss1)" >/dev/null

# ---------------------------------------------------------------- results
"${PSQL[@]}" -F= -c "SELECT name || '.' || expected, percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)
                     FROM bench_result GROUP BY name, expected
                     UNION ALL
                     SELECT name || '.' || expected || '.min', min(ms) FROM bench_result GROUP BY name, expected
                     UNION ALL
                     SELECT 'renew_statements.' || size, max(statements) FROM renew_statements GROUP BY size
                     UNION ALL
                     SELECT 'renew_statements_min.' || size, min(statements) FROM renew_statements GROUP BY size
                     UNION ALL
                     SELECT 'renew_fk_checks.' || size, max(fk_checks) FROM renew_statements GROUP BY size" >"$OUT/db.kv"
"${PSQL[@]}" -c "COPY (SELECT name, expected AS n, run, round(ms::numeric, 3) AS ms FROM bench_result
                       ORDER BY name, expected, run)
                 TO STDOUT WITH (FORMAT csv, HEADER)" >"$OUT/runs.csv"
pg_version=$("${PSQL[@]}" -c "SHOW server_version")
cpu_model=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
mem_gb=$(free -g | awk '/^Mem:/ {print $2}')

awk -F= -v N="$BENCH_CERTS" -v R="$BENCH_ROUNDS" -v A="$BENCH_AUTOCOMMIT_RUNS" \
    -v RR="$BENCH_RENEW_RUNS" -v BIG="$BENCH_RENEW_BIG" -v BR="$BENCH_RENEW_BIG_RUNS" \
    -v S1="$S1" -v S2="$S2" -v D2="$D2" -v LS="$BENCH_LOOKUP_SIZES" -v RC="$BENCH_RSS_CERTS" \
    -v when="$(date -u '+%Y-%m-%d %H:%M UTC')" -v cpus="$(nproc)" -v cpu="$cpu_model" -v mem="$mem_gb" \
    -v pg="$pg_version" -v ossl="$(openssl version)" -v opts="$SANDBOX_PG_OPTS" \
    -v load0="$load_start" -v load1="$load_end" '
    FNR == NR { base[$1] = $2; next }
    { db[$1] = $2 }
    function rate(ms) { return ms > 0 ? N / (ms / 1000) : 0 }
    function fmt_rate(r) { return sprintf("%.0f certs/s (%.0f us/cert)", r, 1e6 / r) }
    function row(a, b, c) { rows[++nrows] = a "\t" b "\t" c }
    function sect(t) { row("##" t, "", "") }
    END {
        parse = rate(db["parse." N]); bl = base["baseline"]
        sect("(a) Parsing " N " certificates")
        row("ssl_parse(text) in the server, median of " R " runs", fmt_rate(parse), "SELECT count((ssl_parse(pem)).fingerprint_sha256) FROM staging")
        row("baseline: d2i_X509 + SHA-256 + X509_free on DER", fmt_rate(bl), "same certificates, in-process, median of " R " rounds")
        row("ratio baseline / ssl_parse", sprintf("%.2fx", bl / parse), sprintf("ssl_parse runs at %.0f%% of the baseline", 100 * parse / bl))
        row("netbox_ssl::parse_pem in-process (PEM text)", fmt_rate(base["core_pem"]), "the core of ssl_parse, without PostgreSQL")
        row("netbox_ssl::parse_der in-process (DER)", fmt_rate(base["core_der"]), "")
        row("netbox_ssl::split_pem alone (PEM scan + base64)", fmt_rate(base["core_split_pem"]), "part of parse_pem")
        row("d2i_X509 + X509_free alone", fmt_rate(base["d2i_x509"]), "")
        row("d2i_PUBKEY of the SubjectPublicKeyInfo alone", fmt_rate(base["d2i_pubkey"]), "the key decode inside d2i_X509")
        row("SHA-256 of the DER alone", fmt_rate(base["sha256"]), "")
        pp = base["protocol_parse"]; pd = base["protocol_d2i"]
        row("protocol: ssl_parse(der) from SQL, best of " R " interleaved rounds", fmt_rate(pp), "SELECT count(p.common_name) FROM t, LATERAL ssl_parse(der) p (rounds: " base["protocol_parse_rounds"] " certs/s)")
        row("protocol: d2i_X509 + X509_free loop in C, no hashing, best of " R, fmt_rate(pd), "same DER, interleaved with the SQL rounds (rounds: " base["protocol_d2i_rounds"] " certs/s)")
        row("protocol ratio ssl_parse / d2i_X509", sprintf("%.2fx", pp / pd), "target >= 4x (issue Speed, 1.6)")

        it = rate(db["import_txn." N]); pt = rate(db["insert_txn." N])
        ia = rate(db["import_auto." N]); pa = rate(db["insert_auto." N])
        sect("(b) Importing " N " certificates")
        row("ssl_import, one transaction, median of " R, sprintf("%.0f certs/s", it), "SELECT count(ssl_import(pem)) FROM staging")
        row("plain INSERT of precomputed rows + events, one transaction", sprintf("%.0f certs/s", pt), "INSERT ... SELECT from ssl_parse output stored beforehand")
        row("ratio ssl_import time / plain INSERT time", sprintf("%.2fx", pt / it), "")
        row("ssl_import time minus ssl_parse time, per certificate", sprintf("%.0f us", 1e6 / it - 1e6 / parse), sprintf("plain INSERT: %.0f us per row", 1e6 / pt))
        row("ssl_import, autocommit, one statement per certificate, " A " run(s)", sprintf("%.0f certs/s", ia), "psql, one SELECT ssl_import(...) per line")
        row("plain INSERT, autocommit, one statement per row", sprintf("%.0f certs/s", pa), "")
        row("ratio ssl_import time / plain INSERT time (autocommit)", sprintf("%.2fx", pa / ia), "")
        # 1.6 targets (issue "Speed"), best of R interleaved rounds each:
        # ssl_import within parse + 1.5 x INSERT; the bulk paths within
        # 1.5 x (parse + INSERT), the INSERT storing the same rows with their
        # imported event.
        pm = db["parse." N ".min"]; im = db["insert_txn." N ".min"]
        budget = pm + 1.5 * im; bulk_budget = 1.5 * (pm + im)
        row("ssl_import, one transaction, best of " R, sprintf("%.0f ms", db["import_txn." N ".min"]), sprintf("budget parse + 1.5 x INSERT = %.0f + 1.5 x %.0f = %.0f ms: %s (%.2fx)", pm, im, budget, db["import_txn." N ".min"] <= budget ? "within" : "OVER", db["import_txn." N ".min"] / budget))
        row("ssl_import_many(text[]), one call, best of " R, sprintf("%.0f ms", db["many_txn." N ".min"]), sprintf("budget 1.5 x (parse + INSERT) = %.0f ms: %s (%.2fx)", bulk_budget, db["many_txn." N ".min"] <= bulk_budget ? "within" : "OVER", db["many_txn." N ".min"] / bulk_budget))
        row("ssl_import_bundle(PEM stream), one call, best of " R, sprintf("%.0f ms", db["bundle_txn." N ".min"]), sprintf("budget 1.5 x (parse + INSERT) = %.0f ms: %s (%.2fx)", bulk_budget, db["bundle_txn." N ".min"] <= bulk_budget ? "within" : "OVER", db["bundle_txn." N ".min"] / bulk_budget))

        split("1 100 1000 10000 " BIG, sz, " ")
        sect("(c) Renewal: ms per transaction, median of " RR " runs (" BR " for 10000 and " BIG ")")
        for (i = 1; i <= 5; i++) {
            s = sz[i]
            row("ssl_renew with " s " assignment(s)", sprintf("%.2f ms", db["renew." s]), sprintf("%.2f us per assignment", 1000 * db["renew." s] / s))
        }
        row("ssl_renew with " BIG " assignments vs the 1.6 target", sprintf("%.0f ms", db["renew." BIG]), db["renew." BIG] < 1500 ? "within < 1500 ms" : "OVER 1500 ms")
        for (i = 1; i <= 5; i++) {
            s = sz[i]
            row("statements ssl_renew ran, " s " assignment(s)", sprintf("%d to %d", db["renew_statements_min." s], db["renew_statements." s]), sprintf("nested, triggers included (pg_stat_statements); plus %d foreign-key checks (one per moved row, PostgreSQL)", db["renew_fk_checks." s]))
        }
        for (i = 2; i <= 5; i++)
            row("growth factor " sz[i-1] " -> " sz[i] " assignments", sprintf("%.1fx", db["renew." sz[i]] / db["renew." sz[i-1]]), sprintf("size grows %gx", sz[i] / sz[i-1]))
        for (i = 1; i <= 5; i++) {
            s = sz[i]
            row("plain UPDATE of " s " assignment(s)", sprintf("%.2f ms", db["update." s]), sprintf("ssl_renew / UPDATE = %.2fx", db["renew." s] / db["update." s]))
        }
        for (i = 1; i <= 5; i++) {
            s = sz[i]
            row("plain UPDATE of " s ", triggers off", sprintf("%.2f ms", db["update_notrig." s]), "session_replication_role = replica: no FK check or assignment-target trigger")
        }

        sect("(d) Plan-cache check (sessions whose plans were made while ssl_certificate was tiny)")
        i1 = db["import_analyzed_empty." S1]; i2 = db["import_analyzed_empty." S2]
        p1 = db["parse_subset." S1]; p2 = db["parse_subset." S2]
        row("ssl_import of " S1 ", one transaction, analyzed empty inventory", sprintf("%.0f ms", i1), sprintf("minus ssl_parse of the same: %.0f us per certificate", 1000 * (i1 - p1) / S1))
        row("ssl_import of " S2 ", one transaction, analyzed empty inventory", sprintf("%.0f ms", i2), sprintf("minus ssl_parse of the same: %.0f us per certificate", 1000 * (i2 - p2) / S2))
        row("growth factor of ssl_import, " S1 " -> " S2, sprintf("%.1fx", i2 / i1), sprintf("size grows %gx; ssl_parse alone grew %.1fx", S2 / S1, p2 / p1))
        a1 = db["assign_stale_plans." D2]; a2 = db["assign_fresh_session." D2]
        row("INSERT of " D2 " assignments, plans made on a 2-row table", sprintf("%.0f ms", a1), "the FK check reuses the plan of that session")
        row("INSERT of " D2 " assignments, fresh session", sprintf("%.0f ms", a2), sprintf("ratio planned-on-2-rows / fresh = %.1fx", a1 / a2))

        sect("(e) Lookups: mean ms per lookup (500 random keys; ssl_expiring 5 runs; refresh 50 runs)")
        nl = split(LS, lsz, " ")
        split("fingerprint common_name san expiring_page ssl_expiring_all refresh_nothing_to_do", lw, " ")
        ln["fingerprint"] = "by fingerprint (unique index)"
        ln["common_name"] = "by Common Name, newest (lower(common_name) index)"
        ln["san"] = "by SAN (GIN on sans)"
        ln["expiring_page"] = "first 100 active expiring within 30 days ((status, valid_to) index)"
        ln["ssl_expiring_all"] = "ssl_expiring(30 days), whole result with assignments"
        ln["refresh_nothing_to_do"] = "ssl_refresh_status() with nothing to change"
        for (j = 1; j <= 6; j++)
            for (i = 1; i <= nl; i++)
                row(ln[lw[j]] " at " lsz[i], sprintf("%.3f ms", db["lookup_" lw[j] "." lsz[i]]), "")

        sect("(f) Backend memory during one " RC "-certificate import (one transaction)")
        row("RssAnon before", sprintf("%.1f MB", db["rss_before_kb." RC] / 1024), "fresh backend, extension loaded")
        row("RssAnon, highest of the 10 samples", sprintf("%.1f MB", db["rss_peak_kb." RC] / 1024), sprintf("growth over the start: %.1f MB", (db["rss_peak_kb." RC] - db["rss_before_kb." RC]) / 1024))
        row("RssAnon after the commit", sprintf("%.1f MB", db["rss_after_kb." RC] / 1024), "")

        # Markdown with padded columns: aligned on the console as well.
        w1 = length("Measurement"); w2 = length("Result"); w3 = length("Notes")
        for (i = 1; i <= nrows; i++) {
            split(rows[i], f, "\t")
            if (substr(f[1], 1, 2) == "##") continue
            if (length(f[1]) > w1) w1 = length(f[1]); if (length(f[2]) > w2) w2 = length(f[2]); if (length(f[3]) > w3) w3 = length(f[3])
        }
        print "# netbox_ssl benchmark results"
        print ""
        print "- date: " when
        print "- machine: " cpus " CPUs (" cpu "), " mem " GB RAM; load average (1/5/15 min) " load0 " at start, " load1 " at end"
        print "- PostgreSQL " pg ", " ossl
        print "- server settings: " opts " -c fsync=off"
        for (i = 1; i <= nrows; i++) {
            split(rows[i], f, "\t")
            if (substr(f[1], 1, 2) == "##") {
                print ""; print "### " substr(f[1], 3); print ""
                printf "| %-" w1 "s | %-" w2 "s | %-" w3 "s |\n", "Measurement", "Result", "Notes"
                printf "|%s|%s|%s|\n", dashes(w1 + 2), dashes(w2 + 2), dashes(w3 + 2)
                continue
            }
            printf "| %-" w1 "s | %" w2 "s | %-" w3 "s |\n", f[1], f[2], f[3]
        }
    }
    function dashes(n,   s) { s = ""; while (n-- > 0) s = s "-"; return s }
' "$OUT/baseline.kv" "$OUT/db.kv" >"$OUT/results.md"

{
    echo
    echo "### Baseline program output"
    echo
    echo '```'
    cat "$OUT/baseline.txt"
    echo '```'
    echo
    echo "Every timed run: $OUT/runs.csv"
} >>"$OUT/results.md"

echo
cat "$OUT/results.md"
echo
step "done; results in $OUT/results.md"

# 1.4 features, each on its own throwaway cluster with the extension built
# and installed above: (g) host lookup at 1,000,000 certificates, (h) the bulk
# import paths at 100,000 certificates, (i) compliance checks at 100,000
# certificates, (j) ssl_validate_all over 20,000 leaves. BENCH_14=0 skips
# them (they take about half an hour); BENCH_HOSTS=0 skips only (g).
if [ "${BENCH_14:-1}" != 0 ]; then
    if [ "${BENCH_HOSTS:-1}" != 0 ]; then
        step "(g) host lookup (test/bench/hosts.sh)"
        SANDBOX_PORT=54349 bash test/bench/hosts.sh
    fi
    step "(h) bulk import paths (test/bench/bulk.sh)"
    SANDBOX_PORT=54359 bash test/bench/bulk.sh 2>&1 | tee "$OUT/bulk.txt"
    step "(i) compliance checks (test/bench/compliance.sh)"
    SANDBOX_PORT=54363 bash test/bench/compliance.sh 2>&1 | tee "$OUT/compliance.txt"
    step "(j) chain validation of the whole inventory (test/bench/validate.sh)"
    SANDBOX_PORT=54366 bash test/bench/validate.sh 2>&1 | tee "$OUT/validate.txt"
    step "done with the feature benchmarks"
fi

# The issue "Speed" (1.6) table: every target with the figure and the
# baseline measured in this run.
{
    echo
    echo "### 1.6 targets (issue \"Speed\"), this run"
    echo
    echo "| target | this run |"
    echo "|---|---|"
    grep -E '^\| (protocol ratio ssl_parse|ssl_import, one transaction|ssl_import_many\(text\[\]\)|ssl_import_bundle\(PEM stream\)|ssl_renew with [0-9]+ assignments vs)' "$OUT/results.md" \
        | sed -E 's/^\| *([^|]*[^ |]) *\| *([^|]*[^ |]) *\| *([^|]*[^ |]) *\|$/| \1 | \2; \3 |/'
    if [ -f "$OUT/bulk.txt" ]; then
        grep -E '^  (bundle|many) +import' "$OUT/bulk.txt" | sed -E 's/^ +/| 100,000 certificates: /; s/$/ |/'
    fi
    if [ -f "$OUT/compliance.txt" ]; then
        grep -E 'full check' "$OUT/compliance.txt" | tail -1 | sed -E 's/^/| ssl_check_compliance(), 13 policies (target <= 2 s): /; s/$/ |/'
    fi
    if [ -f "$OUT/validate.txt" ]; then
        grep -E '^ssl_validate_all: ' "$OUT/validate.txt" | tail -1 | sed -E 's/^/| (target <= 0.3 ms per certificate) /; s/$/ |/'
    fi
} | tee -a "$OUT/results.md"
