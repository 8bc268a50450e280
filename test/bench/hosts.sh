#!/usr/bin/env bash
# Benchmark of ssl_certificates_for_host (1.4) at HOSTS_N synthetic
# certificates (default 1,000,000), on its own throwaway cluster
# (scripts/pg-sandbox.sh). Prints, for four kinds of lookup (exact name,
# name under a wildcard, miss, IP address): the mean latency through the GIN
# index, the mean latency of the same query with index and bitmap scans
# disabled (the sequential-scan baseline), and their ratio; then the plans
# (EXPLAIN ANALYZE), the index's size and build time, and the cost of the
# index on inserts. Results are also written to build/bench/hosts.md.
#
# The extension must be installed (make install) before, unless
# HOSTS_INSTALL_LOCK names the install lock file: then the script runs
# `make install` and CREATE EXTENSION while holding that lock, and releases
# it for the long part (which needs no C code).
#
# Settings (environment):
#   HOSTS_N=1000000        synthetic certificates
#   HOSTS_RUNS=300         lookups per kind through the index
#   HOSTS_SEQ_RUNS=2       lookups per kind for the sequential-scan baseline
#   SANDBOX_PORT=54349     port of the throwaway cluster
#   SANDBOX_PG_OPTS        server settings (default below)
set -euo pipefail
cd "$(dirname "$0")/../.."
HOSTS_N=${HOSTS_N:-1000000}
HOSTS_RUNS=${HOSTS_RUNS:-300}
HOSTS_SEQ_RUNS=${HOSTS_SEQ_RUNS:-2}
export SANDBOX_PORT=${SANDBOX_PORT:-54349}
export SANDBOX_PG_OPTS="${SANDBOX_PG_OPTS:--c shared_buffers=512MB -c max_wal_size=4GB -c synchronous_commit=off -c jit=off -c maintenance_work_mem=512MB}"
OUT=build/bench
mkdir -p "$OUT"
started=$(date +%s)
step() { printf '[%4ss] %s\n' "$(($(date +%s) - started))" "$*" >&2; }

# shellcheck source=scripts/pg-sandbox.sh
source scripts/pg-sandbox.sh
trap sandbox_stop EXIT
PSQL=(psql -X -q -At -v ON_ERROR_STOP=1)

setup() {
    [ -z "${HOSTS_INSTALL_LOCK:-}" ] || make -s install >/dev/null
    sandbox_start
    "${PSQL[@]}" -v pem="$(cat test/fixtures/janus-old.pem)" <<'SQL'
CREATE EXTENSION netbox_ssl;
-- One parsed certificate gives the columns the lookup does not read.
CREATE TABLE proto AS SELECT * FROM ssl_parse(:'pem');
SQL
}
if [ -n "${HOSTS_INSTALL_LOCK:-}" ]; then
    exec 9>"$HOSTS_INSTALL_LOCK"
    flock 9
    setup
    flock -u 9
else
    setup
fi

# Row g presents names that a lookup can compute back from g:
#   g % 10 = 0  DNS:*.wN.example.net and DNS:wN.example.net   (wildcard)
#   g % 10 = 1  DNS:hostN.example.net and IP:10.a.b.c, IP:2001:db8::<g hex>
#   g % 50 = 2  no SAN, CN cnN.example.net                       (CN fallback)
#   otherwise   DNS:hostN.example.net and DNS:www.hostN.example.net
# 5% of rows are expired, so the active filter has something to drop.
"${PSQL[@]}" <<'SQL'
CREATE FUNCTION fill(upto integer) RETURNS void LANGUAGE sql AS $f$
    INSERT INTO ssl_certificate (common_name, subject, issuer, serial_number, fingerprint_sha256, valid_from,
        valid_to, sans, algorithm, key_size, signature_algorithm, is_ca, spki_sha256, pem_content, status)
    SELECT CASE WHEN g % 50 = 2 THEN 'cn' || g || '.example.net'
                WHEN g % 10 = 0 THEN '*.w' || g || '.example.net'
                ELSE 'host' || g || '.example.net' END,
           p.subject, p.issuer, p.serial_number,
           upper(rtrim(regexp_replace(encode(sha256(g::text::bytea), 'hex'), '(..)', '\1:', 'g'), ':')),
           now() - interval '1 day', now() + (g::bigint * 7919 % 3650) * interval '1 day' + interval '1 hour',
           CASE WHEN g % 50 = 2 THEN '{}'::text[]
                WHEN g % 10 = 0 THEN ARRAY['DNS:*.w' || g || '.example.net', 'DNS:w' || g || '.example.net']
                WHEN g % 10 = 1 THEN ARRAY['DNS:host' || g || '.example.net',
                                           'IP:' || host(('10.0.0.0'::inet + g)),
                                           'IP:2001:db8::' || to_hex(g >> 16) || ':' || to_hex(g & 65535)]
                ELSE ARRAY['DNS:host' || g || '.example.net', 'DNS:www.host' || g || '.example.net'] END,
           p.algorithm, p.key_size, p.signature_algorithm, p.is_ca, p.spki_sha256, p.pem_content,
           CASE WHEN g % 20 = 7 THEN 'expired' ELSE 'active' END
      FROM proto p, generate_series((SELECT count(*) FROM ssl_certificate)::integer + 1, upto) g
$f$;
CREATE FUNCTION insert_cost(upto integer) RETURNS integer LANGUAGE plpgsql AS $f$
DECLARE t0 timestamptz := clock_timestamp();
BEGIN
    PERFORM fill(upto);
    RETURN round(extract(epoch FROM clock_timestamp() - t0) * 1000);
END
$f$;
-- A host of each kind for a random g; every one exists except the miss.
CREATE FUNCTION probe(kind text, n integer) RETURNS text LANGUAGE plpgsql AS $f$
DECLARE g integer;
BEGIN
    CASE kind
    WHEN 'exact' THEN
        g := 3 + 10 * floor(random() * ((n - 3) / 10))::integer;  -- g % 10 = 3: a plain row
        RETURN 'www.host' || g || '.example.net';
    WHEN 'wildcard' THEN
        g := 10 + 10 * floor(random() * ((n - 10) / 10))::integer;
        RETURN 'api' || g || '.w' || g || '.example.net';
    WHEN 'miss' THEN
        RETURN 'www.nothing' || floor(random() * n)::integer || '.example.org';
    WHEN 'ip' THEN
        g := 1 + 10 * floor(random() * ((n - 1) / 10))::integer;
        RETURN host('10.0.0.0'::inet + g);
    END CASE;
END
$f$;
-- Mean milliseconds per lookup, each sent as its own statement (planned
-- with the host as a constant, as a client's query would be).
CREATE FUNCTION time_lookups(kind text, n integer, runs integer, use_index boolean) RETURNS numeric
LANGUAGE plpgsql AS $f$
DECLARE t0 timestamptz; total interval := '0'; k bigint; h text; found bigint := 0;
BEGIN
    IF NOT use_index THEN
        SET LOCAL enable_indexscan = off;
        SET LOCAL enable_bitmapscan = off;
    END IF;
    FOR i IN 1..runs LOOP
        h := probe(kind, n);
        t0 := clock_timestamp();
        EXECUTE format('SELECT count(*) FROM ssl_certificates_for_host(%L)', h) INTO k;
        total := total + (clock_timestamp() - t0);
        found := found + k;
    END LOOP;
    IF (kind = 'miss') <> (found = 0) THEN
        RAISE EXCEPTION 'lookup % found % rows in % runs', kind, found, runs;
    END IF;
    RETURN round((extract(epoch FROM total) * 1000 / runs)::numeric, 3);
END
$f$;
SQL

step "filling $HOSTS_N certificates (index dropped while filling)"
t0=$(date +%s.%N)
"${PSQL[@]}" -c "DROP INDEX ssl_certificate_host_keys_idx" -c "SELECT fill($HOSTS_N)" >/dev/null
fill_s=$(echo "$(date +%s.%N) - $t0" | bc)
step "building the GIN index"
t0=$(date +%s.%N)
"${PSQL[@]}" <<'SQL'
CREATE INDEX ssl_certificate_host_keys_idx ON ssl_certificate
    USING gin (ssl_host_match_keys(sans, common_name));
VACUUM ANALYZE ssl_certificate;
SQL
build_s=$(echo "$(date +%s.%N) - $t0" | bc)
index_size=$("${PSQL[@]}" -c "SELECT pg_size_pretty(pg_relation_size('ssl_certificate_host_keys_idx'))")
table_size=$("${PSQL[@]}" -c "SELECT pg_size_pretty(pg_table_size('ssl_certificate'))")
sans_idx_size=$("${PSQL[@]}" -c "SELECT pg_size_pretty(pg_relation_size('ssl_certificate_sans_idx'))")

results=()
for kind in exact wildcard miss ip; do
    step "lookups: $kind"
    "${PSQL[@]}" -c "SELECT time_lookups('$kind', $HOSTS_N, 20, true)" >/dev/null  # warm the cache
    idx=$("${PSQL[@]}" -c "SELECT time_lookups('$kind', $HOSTS_N, $HOSTS_RUNS, true)")
    seq=$("${PSQL[@]}" -c "SELECT time_lookups('$kind', $HOSTS_N, $HOSTS_SEQ_RUNS, false)")
    results+=("$kind $idx $seq")
done

# Plans of the query inside ssl_certificates_for_host, through auto_explain,
# in a session that has already run one lookup (the first lookup of a
# session also loads PL/pgSQL and compiles the functions).
for h in www.host13.example.net api20.w20.example.net www.nothing.example.org 10.0.0.11; do
    "${PSQL[@]}" -c '\o /dev/null' -c "SELECT count(*) FROM ssl_certificates_for_host('$h')" \
        -c "LOAD 'auto_explain'" -c "SET auto_explain.log_min_duration = 0" \
        -c "SET auto_explain.log_nested_statements = on" -c "SET auto_explain.log_analyze = on" \
        -c "SET auto_explain.log_buffers = on" -c "SET client_min_messages = log" \
        -c "SELECT count(*) FROM ssl_certificates_for_host('$h')" 2>&1 \
        | sed -n '/Query Text: SELECT c\.\*/,/^LOG/p' | grep -v '^LOG' | sed 's/^\t*//'
    echo
done >"$OUT/hosts-plans.txt"

# Insert cost of the index: 10,000 rows with and without it, each rolled
# back (the 1.0 indexes are there in both runs). Measured after the lookups:
# a rolled-back insert leaves its keys in the GIN pending list until the
# next vacuum.
insert_ms() {
    "${PSQL[@]}" -c "BEGIN" -c "$1" -c "SELECT insert_cost($HOSTS_N + 10000)" -c "ROLLBACK"
}
step "insert cost: 10,000 rows with and without the index"
ins_with=$(insert_ms "SET LOCAL work_mem = '4MB'")
ins_without=$(insert_ms "DROP INDEX ssl_certificate_host_keys_idx")

{
    echo "## Host lookup at $HOSTS_N certificates"
    echo
    echo "| lookup | index (ms) | sequential scan (ms) | ratio |"
    echo "| --- | ---: | ---: | ---: |"
    for r in "${results[@]}"; do
        read -r kind idx seq <<<"$r"
        echo "| $kind | $idx | $seq | $(echo "scale=0; $seq / $idx" | bc)x |"
    done
    echo
    echo "Index runs: $HOSTS_RUNS per kind; baseline runs: $HOSTS_SEQ_RUNS per kind (same query, enable_indexscan and enable_bitmapscan off)."
    echo
    echo "- ssl_certificate_host_keys_idx: $index_size (table $table_size; the 1.0 sans GIN index: $sans_idx_size)"
    printf -- '- index build: %.1f s (fill of the rows without it: %.1f s)\n' "$build_s" "$fill_s"
    echo "- 10,000 inserts: ${ins_with} ms with the index, ${ins_without} ms without"
    echo
    echo '```'
    cat "$OUT/hosts-plans.txt"
    echo '```'
} | tee "$OUT/hosts.md"
step "done"
