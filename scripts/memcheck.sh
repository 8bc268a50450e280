#!/usr/bin/env bash
# Memory check: does one backend's memory stay flat while it parses and
# imports (and refuses) certificates over and over?
#
#   sudo bash scripts/memcheck.sh          # ITERATIONS=100000 by default
#
# Starts a throwaway cluster (scripts/pg-sandbox.sh), creates the extension,
# and runs every phase below in ONE psql session, so in one backend. Before
# and after each phase it reads that backend's VmRSS and VmHWM from
# /proc/<pid>/status (pid = pg_backend_pid()). Each phase repeats its call
# ITERATIONS times in batches (set-based for successful calls, a PL/pgSQL loop
# with an exception block for calls that fail). A warm-up pass of every phase
# runs first so that caches (catalog, plans, OpenSSL's tables) are filled
# before anything is measured. Also read: RssAnon, the backend's private
# memory. VmRSS also counts the shared buffers the backend has touched, which
# grow with every page written (the rolled-back imports leave dead rows), so
# the pass/fail test is on RssAnon: exit 1 if it grew by more than LIMIT_MB
# (default 16) in any phase. Method and figures: docs/memory.md.
set -uo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then exec sudo -E bash "$0" "$@"; fi

ITERATIONS="${ITERATIONS:-100000}"
BATCH="${BATCH:-1000}"
LIMIT_MB="${LIMIT_MB:-16}"
WARMUP="${WARMUP:-1000}"

if ! pg_config --pkglibdir >/dev/null 2>&1; then scripts/install-deps.sh || exit 1; fi
export PATH="$(pg_config --bindir):$PATH"
if [ ! -f "$(pg_config --pkglibdir)/netbox_ssl.so" ]; then
    make -s && make -s install || exit 1
fi

# shellcheck source=scripts/pg-sandbox.sh
source scripts/pg-sandbox.sh
SANDBOX_PORT="${SANDBOX_PORT:-54371}"
trap sandbox_stop EXIT
sandbox_start || exit 1

OUT="$(mktemp)"
trap 'rm -f "$OUT"; sandbox_stop' EXIT

# Every phase: name, then SQL run once per batch with :n = batch size.
# The batch SQL uses the psql variables set in the preamble.
psql -X -q -v ON_ERROR_STOP=1 -v iterations="$ITERATIONS" -v batch="$BATCH" -v warmup="$WARMUP" \
     -At -F '|' >"$OUT" <<'SQL'
\set pem `cat test/fixtures/janus-old.pem`
\set bundle `cat test/fixtures/bundle-shuffled.pem`
\set new `cat test/fixtures/janus-new.pem`
\set key `cat test/fixtures/leaf-with-key.pem`
\set derb64 `base64 -w0 test/fixtures/cert.der`
\set p12b64 `base64 -w0 test/fixtures/leaf-with-key.p12`
\set p7 `cat test/fixtures/bundle/chain.p7.pem`
\set csr `cat test/fixtures/csr/rsa-san.csr.pem`
\set croot `cat test/fixtures/chain/root.pem`
\set cchain `cat test/fixtures/chain/leaf.pem test/fixtures/chain/intermediate.pem`
CREATE EXTENSION netbox_ssl;
SET client_min_messages = warning;
CREATE TEMP TABLE input AS SELECT
    :'pem'::text AS pem, :'bundle'::text AS bundle, :'new'::text AS new_pem, :'key'::text AS key_pem,
    decode(:'derb64', 'base64') AS der, decode(:'p12b64', 'base64') AS p12,
    :'p7'::text AS p7, :'csr'::text AS csr;
SELECT ssl_import(pem) AS old_id FROM input \gset
-- 1.4: a trust anchor and a stored leaf with its chain, for ssl_validate_chain.
SELECT ssl_trust_anchor_load(:'croot') AS anchors \gset
SELECT ssl_import(:'cchain') AS chain_id \gset
INSERT INTO ssl_assignment (certificate_id, object_type, object_id)
SELECT :old_id, 'ipam.service', g FROM generate_series(1, 20) g;

-- Memory of this backend, in kB.
CREATE FUNCTION pg_temp.mem(field text) RETURNS bigint LANGUAGE sql AS $$
    SELECT (regexp_match(pg_read_file('/proc/' || pg_backend_pid() || '/status'), field || ':\s+(\d+) kB'))[1]::bigint
$$;
CREATE TEMP TABLE report (phase text, calls bigint, rss_before bigint, rss_after bigint, hwm_after bigint,
                          anon_before bigint, anon_after bigint, started timestamptz, seconds numeric);
CREATE FUNCTION pg_temp.before(name text, calls bigint) RETURNS void LANGUAGE sql AS $$
    INSERT INTO report (phase, calls, rss_before, anon_before, started)
    VALUES (name, calls, pg_temp.mem('VmRSS'), pg_temp.mem('RssAnon'), clock_timestamp())
$$;
CREATE FUNCTION pg_temp.after(name text) RETURNS void LANGUAGE sql AS $$
    UPDATE report SET rss_after = pg_temp.mem('VmRSS'), hwm_after = pg_temp.mem('VmHWM'), anon_after = pg_temp.mem('RssAnon'),
                      seconds = round(extract(epoch FROM clock_timestamp() - started), 1)
     WHERE phase = name
$$;
-- Runs stmt (with $1 = input text, $2 = input bytea) n times as separate
-- statements, each in its own subtransaction; failures are expected for some.
CREATE FUNCTION pg_temp.each(stmt text, n int, t text, b bytea) RETURNS int LANGUAGE plpgsql AS $$
DECLARE failures int := 0;
BEGIN
    FOR i IN 1..n LOOP
        BEGIN
            EXECUTE stmt USING t, b;
        EXCEPTION WHEN OTHERS THEN
            failures := failures + 1;
        END;
    END LOOP;
    RETURN failures;
END $$;
-- A successful import that is then undone (its subtransaction rolls back).
CREATE FUNCTION pg_temp.import_undo(pem text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM ssl_import(pem);
    RAISE EXCEPTION 'undo';
END $$;
-- The same for a bundle (1.4): every row stored, then undone.
CREATE FUNCTION pg_temp.bundle_undo(pem text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM count(*) FROM ssl_import_bundle(pem);
    RAISE EXCEPTION 'undo';
END $$;

CREATE TEMP TABLE phases (n serial, name text, stmt text, scale numeric DEFAULT 1);
INSERT INTO phases (name, stmt, scale) VALUES
 ('ssl_parse(text), valid', 'SELECT count(p.fingerprint_sha256) FROM input, generate_series(1, $n) g, LATERAL ssl_parse(CASE WHEN g > 0 THEN pem END) p', 1),
 ('ssl_parse(text), 3-cert bundle', 'SELECT count(p.issuer_chain) FROM input, generate_series(1, $n) g, LATERAL ssl_parse(CASE WHEN g > 0 THEN bundle END) p', 0.3),
 ('ssl_parse(bytea), valid', 'SELECT count(p.serial_number) FROM input, generate_series(1, $n) g, LATERAL ssl_parse(CASE WHEN g > 0 THEN der END) p', 1),
 ('ssl_parse(text), bad base64 (22P02)', 'SELECT pg_temp.each(''SELECT ssl_parse($1)'', $n, E''-----BEGIN CERTIFICATE-----\nMIID*jCC\n-----END CERTIFICATE-----\n'', NULL)', 1),
 ('ssl_parse(text), bad DER (22P02)', 'SELECT pg_temp.each(''SELECT ssl_parse($1)'', $n, E''-----BEGIN CERTIFICATE-----\nMIIDejCC\n-----END CERTIFICATE-----\n'', NULL)', 0.1),
 ('ssl_parse(bytea), junk (22P03)', 'SELECT pg_temp.each(''SELECT ssl_parse($2)'', $n, NULL, ''\x3082ffff0102''::bytea)', 0.1),
 ('ssl_parse(text), private key (22023)', 'SELECT pg_temp.each(''SELECT ssl_parse($1)'', $n, key_pem, NULL) FROM input', 1),
 ('ssl_parse(bytea), PKCS#12 (22023)', 'SELECT pg_temp.each(''SELECT ssl_parse($2)'', $n, NULL, p12) FROM input', 0.1),
 ('ssl_import(text), duplicate (23505)', 'SELECT pg_temp.each(''SELECT ssl_import($1)'', $n, pem, NULL) FROM input', 0.5),
 ('ssl_import(bytea), duplicate (23505)', 'SELECT pg_temp.each(''SELECT ssl_import($2)'', $n, NULL, der) FROM input', 0.5),
 ('ssl_import, private key (22023)', 'SELECT pg_temp.each(''SELECT ssl_import($1)'', $n, key_pem, NULL) FROM input', 1),
 ('ssl_import, no certificate (22P02)', 'SELECT pg_temp.each(''SELECT ssl_import($1)'', $n, ''garbage'', NULL)', 1),
 ('ssl_import, too large (54000)', 'SELECT pg_temp.each(''SELECT ssl_import($1)'', $n, repeat(''A'', 1048577), NULL)', 1),
 ('ssl_import, success then rollback', 'SELECT pg_temp.each(''SELECT pg_temp.import_undo($1)'', $n, new_pem, NULL) FROM input', 0.5),
 ('ssl_expiring(''100 years'') LIMIT 1', 'SELECT pg_temp.each(''SELECT * FROM ssl_expiring(''''100 years'''') LIMIT 1'', $n, NULL, NULL)', 0.2),
 ('ssl_renewal_preview(...) LIMIT 1', 'SELECT pg_temp.each(''SELECT * FROM ssl_renewal_preview(' || :old_id || ', $1) LIMIT 1'', $n, new_pem, NULL) FROM input', 0.5),
 ('ssl_parse(text), PKCS#7 bundle (1.4)', 'SELECT count(p.issuer_chain) FROM input, generate_series(1, $n) g, LATERAL ssl_parse(CASE WHEN g > 0 THEN p7 END) p', 0.3),
 ('ssl_parse_csr(text) (1.4)', 'SELECT count(p.spki_sha256) FROM input, generate_series(1, $n) g, LATERAL ssl_parse_csr(CASE WHEN g > 0 THEN csr END) p', 0.5),
 ('ssl_parse_csr, private key (22023) (1.4)', 'SELECT pg_temp.each(''SELECT ssl_parse_csr($1)'', $n, key_pem, NULL) FROM input', 0.5),
 ('ssl_import_bundle, success then rollback (1.4)', 'SELECT pg_temp.each(''SELECT pg_temp.bundle_undo($1)'', $n, bundle, NULL) FROM input', 0.1),
 ('ssl_import_bundle, private key (22023) (1.4)', 'SELECT pg_temp.each(''SELECT count(*) FROM ssl_import_bundle($1)'', $n, key_pem, NULL) FROM input', 0.5),
 ('ssl_validate_chain(id) (1.4)', 'SELECT pg_temp.each(''SELECT * FROM ssl_validate_chain(' || :chain_id || ', now(), ''''www.example.test'''')'', $n, NULL, NULL)', 0.1),
 ('ssl_find_known(text) (1.4)', 'SELECT pg_temp.each(''SELECT * FROM ssl_find_known($1)'', $n, pem, NULL) FROM input', 0.2);

-- Warm-up (not recorded), then the measured run.
-- Every batch is its own statement and transaction (psql's \gexec runs the
-- generated statements one by one): first a warm-up of each phase, then the
-- measured phases, each between two readings of /proc/<pid>/status.
\o /dev/null
SELECT replace(stmt, '$n', least(:batch, :warmup)::text) FROM phases ORDER BY n \gexec
TRUNCATE report;
WITH p AS (SELECT n, name, stmt, ceil(:iterations * scale)::int AS calls FROM phases)
SELECT sql FROM (
    SELECT n, 0 AS k, format('SELECT pg_temp.before(%L, %s)', name, calls) AS sql FROM p
    UNION ALL
    SELECT n, b, replace(stmt, '$n', least(:batch, calls - (b - 1) * :batch)::text)
      FROM p, generate_series(1, ceil(calls::numeric / :batch)::int) AS b
    UNION ALL
    SELECT n, 1000000, format('SELECT pg_temp.after(%L)', name) FROM p
) AS s ORDER BY n, k \gexec
\o
SELECT 'C', count(*) FROM ssl_certificate;
SELECT 'R', phase, calls, rss_before, rss_after, hwm_after, anon_before, anon_after, seconds FROM report ORDER BY started;
SQL
rc=$?
if [ $rc -ne 0 ]; then cat "$OUT"; echo "memcheck: psql failed"; exit 1; fi

certs=$(grep '^C|' "$OUT" | cut -d'|' -f2)
printf '%-48s %7s %10s %10s %9s %10s %10s %10s %9s %7s\n' phase calls "VmRSS bef" "VmRSS aft" growth "VmHWM" \
       "RssAnon bef" "RssAnon aft" growth seconds
worst=0
failed=0
while IFS='|' read -r _ phase calls before after hwm abefore aafter secs; do
    growth=$((after - before))
    agrowth=$((aafter - abefore))
    [ "$agrowth" -gt "$worst" ] && worst=$agrowth
    flag=""
    if [ "$agrowth" -gt $((LIMIT_MB * 1024)) ]; then flag="  <-- over ${LIMIT_MB} MB"; failed=1; fi
    printf '%-48s %7s %10s %10s %9s %10s %10s %10s %9s %7s%s\n' "$phase" "$calls" "$before" "$after" "$growth" "$hwm" \
           "$abefore" "$aafter" "$agrowth" "$secs" "$flag"
done < <(grep '^R|' "$OUT")
echo "(all memory figures in kB)"
echo
echo "certificates stored at the end: $certs (2 expected, the two set up before the phases: every other import failed or was rolled back)"
echo "largest private-memory (RssAnon) growth in one phase: ${worst} kB (limit ${LIMIT_MB} MB)"
if [ "$certs" != "2" ]; then echo "memcheck: FAILED (unexpected rows)"; exit 1; fi
if [ "$failed" -ne 0 ]; then echo "memcheck: FAILED"; exit 1; fi
echo "memcheck: ok"
