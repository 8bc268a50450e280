#!/usr/bin/env bash
# Bulk import paths side by side: speed and backend memory.
#
#   sudo bash test/bench/bulk.sh            # BULK_CERTS=100000 by default
#
# Generates BULK_CERTS certificates once (test/bench/gen_certs.cpp, built
# by CMake as bench_gen_certs), as COPY text (one PEM per line), as one PEM
# stream and as one DER PKCS#7 bundle (openssl crl2pkcs7). Installs the
# extension, starts a throwaway cluster (scripts/pg-sandbox.sh), and runs
# each path in a fresh database and a fresh backend:
#
#   copy     COPY staging FROM '<file>' (server side), then
#            SELECT count(ssl_import(pem)) FROM staging
#   \copy    the same with psql's \copy (the client sends the file)
#   bundle   SELECT count(*) FROM ssl_import_bundle(pg_read_file('<pem stream>'))
#   p7b      SELECT count(*) FROM ssl_import_bundle(pg_read_binary_file('<p7b>'))
#   many     COPY as above, then (1.6)
#            SELECT count(*) FROM ssl_import_many(ARRAY(SELECT pem FROM staging))
#   insert   the baseline of the 1.6 target: COPY, then ssl_parse into a
#            table and one set-based INSERT of the same rows with their
#            imported event; bundle and many should take at most 1.5 x its
#            import time (parse + INSERT)
#
# Every path runs in one transaction. While it runs, a sampler reads the
# backend's RssAnon (private memory: VmRSS would also count the shared
# buffers it touches) from /proc/<pid>/status every 50 ms; the table shows
# the peak minus the value before the import (the library already loaded,
# one certificate parsed), next to the size of the input the backend holds.
#
# Other helpers install into the same PostgreSQL: run it under the install
# lock (flock /tmp/netbox_ssl_install.lock bash test/bench/bulk.sh).
#
#   BULK_CERTS=100000      certificates
#   BULK_SEED=7            generator seed
#   BULK_PATHS="insert copy \copy bundle p7b many"    the paths to run
#   SANDBOX_PORT=54349     port of the throwaway cluster
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "$(id -u)" -ne 0 ]; then exec sudo -E bash "$0" "$@"; fi

N=${BULK_CERTS:-100000}
SEED=${BULK_SEED:-7}
export SANDBOX_PG_OPTS="${SANDBOX_PG_OPTS:--c shared_buffers=256MB -c max_wal_size=4GB -c synchronous_commit=off -c jit=off}"
export SANDBOX_PORT=${SANDBOX_PORT:-54349}
OUT=build/bench-bulk
mkdir -p "$OUT"
started=$(date +%s)
step() { printf '[%4ss] %s\n' "$(($(date +%s) - started))" "$*"; }
export PATH="$(pg_config --bindir):$PATH"

if [ ! -x "$OUT/bench_gen_certs" ]; then
    step "building bench_gen_certs"
    if ! { cmake -S . -B "$OUT" -DCMAKE_BUILD_TYPE=Release -DNETBOX_SSL_BENCH=ON >"$OUT/cmake.log" 2>&1 &&
           cmake --build "$OUT" --target bench_gen_certs -j"$(nproc)" >>"$OUT/cmake.log" 2>&1; }; then
        g++ -std=c++17 -O2 -pthread -Isrc -o "$OUT/bench_gen_certs" test/bench/gen_certs.cpp -lcrypto
    fi
fi
if [ ! -s "$OUT/certs-$N.tsv" ]; then
    step "generating $N certificates (seed $SEED)"
    "$OUT/bench_gen_certs" --count "$N" --seed "$SEED" --out "$OUT/certs-$N.tsv" >/dev/null
fi
if [ ! -s "$OUT/certs-$N.p7b" ]; then
    cut -f4 "$OUT/certs-$N.tsv" | sed 's/\\n/\n/g' >"$OUT/certs-$N.pem"
    openssl crl2pkcs7 -nocrl -certfile "$OUT/certs-$N.pem" -outform DER -out "$OUT/certs-$N.p7b"
fi

step "building and installing the extension"
make -s >"$OUT/make.log" 2>&1 || { tail -20 "$OUT/make.log"; exit 1; }
make -s install >>"$OUT/make.log" 2>&1 || { tail -20 "$OUT/make.log"; exit 1; }

# shellcheck source=scripts/pg-sandbox.sh
source scripts/pg-sandbox.sh
trap sandbox_stop EXIT
sandbox_start
# The server reads the inputs itself in the copy, bundle and p7b paths.
cp "$OUT/certs-$N.tsv" "$OUT/certs-$N.pem" "$OUT/certs-$N.p7b" "$SANDBOX_DIR/"
chmod 644 "$SANDBOX_DIR"/certs-*
TSV="$SANDBOX_DIR/certs-$N.tsv"
FIRST_PEM=$(head -1 "$TSV" | cut -f4 | sed 's/\\n/\n/g')
PEM="$SANDBOX_DIR/certs-$N.pem"
P7B="$SANDBOX_DIR/certs-$N.p7b"
step "cluster in $SANDBOX_DIR ($SANDBOX_PG_OPTS)"

RESULTS="$OUT/results.tsv"
: >"$RESULTS"

# run_path NAME LOAD_SQL IMPORT_SQL INPUT_BYTES
run_path() {
    local name=$1 load=$2 import=$3 input_bytes=$4 db="bulk_${1//[^a-z0-9]/}"
    local out="$OUT/${db}.out"
    psql -X -q -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null 2>&1
    rm -f "$SANDBOX_DIR/pid" "$SANDBOX_DIR/peak"
    psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" >"$out" <<SQL &
SET client_min_messages = warning;
CREATE EXTENSION netbox_ssl;
CREATE TABLE staging (id integer, cn text, key_type text, pem text);
CREATE FUNCTION pg_temp.rss() RETURNS bigint LANGUAGE sql AS
  \$\$ SELECT substring(pg_read_file('/proc/' || pg_backend_pid() || '/status') FROM 'RssAnon:\\s+(\\d+)')::bigint \$\$;
SELECT count(*) FROM ssl_parse('$FIRST_PEM');
SELECT pg_backend_pid() \g $SANDBOX_DIR/pid
SELECT pg_temp.rss() AS rss0 \gset
BEGIN;
SELECT clock_timestamp() AS t0 \gset
$load
SELECT clock_timestamp() AS t1 \gset
$import
SELECT clock_timestamp() AS t2 \gset
COMMIT;
SELECT pg_temp.rss() AS rss1 \gset
SELECT 'result', :rss0, :rss1, extract(epoch FROM :'t1'::timestamptz - :'t0'::timestamptz),
       extract(epoch FROM :'t2'::timestamptz - :'t1'::timestamptz), (SELECT count(*) FROM ssl_certificate);
SQL
    local psql_pid=$! pid="" peak=0 kb
    while kill -0 "$psql_pid" 2>/dev/null; do
        [ -z "$pid" ] && [ -s "$SANDBOX_DIR/pid" ] && pid=$(cat "$SANDBOX_DIR/pid")
        if [ -n "$pid" ]; then
            kb=$(awk '/^RssAnon:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
            [ -n "$kb" ] && [ "$kb" -gt "$peak" ] && peak=$kb
        fi
        sleep 0.05
    done
    wait "$psql_pid" || { echo "path $name failed:"; cat "$out"; exit 1; }
    local rss0 rss1 load_s import_s rows
    IFS='|' read -r _ rss0 rss1 load_s import_s rows < <(grep '^result|' "$out")
    [ "$rows" -eq "$N" ] || { echo "path $name stored $rows certificates, expected $N" >&2; exit 1; }
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$load_s" "$import_s" "$rss0" "$peak" "$rss1" "$input_bytes" >>"$RESULTS"
    step "$name: load ${load_s}s, import ${import_s}s, RssAnon ${rss0} -> peak ${peak} kB"
}

PATHS=${BULK_PATHS:-"insert copy \\copy bundle p7b many"}
want() { [[ " $PATHS " == *" $1 "* ]]; }
want copy && run_path copy "COPY staging FROM '$TSV';" "SELECT count(ssl_import(pem)) FROM staging;" 0
want "\\copy" && run_path "\\copy" "\\copy staging FROM '$TSV'" "SELECT count(ssl_import(pem)) FROM staging;" 0
want bundle && run_path bundle "" "SELECT count(*) FROM ssl_import_bundle(pg_read_file('$PEM'));" "$(stat -c %s "$PEM")"
cols="common_name, subject, issuer, serial_number, fingerprint_sha256, valid_from, valid_to, sans, algorithm, key_size,
      signature_algorithm, is_ca, subject_key_id, authority_key_id, spki_sha256, pem_content, issuer_chain, issuer_cn,
      issuer_org, tbs_sha256"
want insert && run_path insert "COPY staging FROM '$TSV';" "CREATE TABLE parsed AS SELECT s.id AS sid, p.* FROM staging s CROSS JOIN LATERAL ssl_parse(s.pem) p;
WITH c AS (INSERT INTO ssl_certificate ($cols, status)
           SELECT $cols, CASE WHEN valid_to < now() THEN 'expired' WHEN valid_from > now() THEN 'pending' ELSE 'active' END
             FROM parsed ORDER BY sid ON CONFLICT (fingerprint_sha256) DO NOTHING RETURNING id, status)
INSERT INTO ssl_lifecycle_event (certificate_id, event_type, new_status, description)
SELECT id, 'imported', status, 'Imported with status ' || status FROM c;" 0
want p7b && run_path p7b "" "SELECT count(*) FROM ssl_import_bundle(pg_read_binary_file('$P7B'));" "$(stat -c %s "$P7B")"

want many && run_path many "COPY staging FROM '$TSV';" "SELECT count(*) FROM ssl_import_many(ARRAY(SELECT pem FROM staging ORDER BY id));" "$(stat -c %s "$PEM")"

echo
echo "Bulk import of $N certificates, one transaction per path (ratios: time relative to the bundle path)"
awk -F'\t' -v n="$N" '
    { name[NR] = $1; total[NR] = $2 + $3; load[NR] = $2; imp[NR] = $3; grow[NR] = ($5 - $4) / 1024; inmb[NR] = $7 / 1048576
      if ($1 == "bundle" || ref == 0) ref = $2 + $3 }
    END {
        printf "%-8s %9s %9s %9s %10s %8s %14s %10s %16s\n", "path", "load s", "import s", "total s", "certs/s", "ratio", "RssAnon +MB", "input MB", "+MB beyond input"
        for (i = 1; i <= NR; i++)
            printf "%-8s %9.2f %9.2f %9.2f %10.0f %8.2f %14.1f %10.1f %16.1f\n", name[i], load[i], imp[i], total[i], n / total[i],
                   total[i] / ref, grow[i], inmb[i], grow[i] - inmb[i]
        # The 1.6 target: a bulk path within 1.5 x (parse + set-based INSERT).
        for (i = 1; i <= NR; i++) if (name[i] == "insert") base = imp[i]
        if (base > 0) {
            printf "\n1.6 target: bulk import within 1.5 x (ssl_parse + set-based INSERT with events) = 1.5 x %.2f s = %.2f s\n", base, 1.5 * base
            for (i = 1; i <= NR; i++) if (name[i] == "bundle" || name[i] == "p7b" || name[i] == "many")
                printf "  %-8s import %7.2f s  %s (%.2fx the budget)\n", name[i], imp[i], imp[i] <= 1.5 * base ? "within" : "OVER", imp[i] / (1.5 * base)
        }
    }' "$RESULTS" | tee "$OUT/summary.txt"
