#!/usr/bin/env bash
# Tests the pg_cron recipe of docs/outbox.md for real: starts its own
# throwaway cluster with shared_preload_libraries = pg_cron, runs the SQL
# block between the "cron-recipe" markers of the docs verbatim, checks the
# jobs it created, then (since Debian's pg_cron 1.4 schedules by the minute
# at best, and the documented schedules are hourly) moves them to every
# minute with cron.alter_job, waits for their runs in cron.job_run_details
# and checks what they did: an expired certificate became expired with one
# expired event, and the scan logged an expiring event that reached the
# outbox. Takes about a minute. Needs root (the sandbox runs as postgres).
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "$(id -u)" -ne 0 ]; then exec sudo -E bash "$0" "$@"; fi
[ -f "$(pg_config --sharedir)/extension/pg_cron.control" ] || { echo "FAIL: pg_cron is not installed (Debian package postgresql-15-cron)"; exit 1; }

# The recipe, as documented.
recipe=$(sed -n '/<!-- cron-recipe:begin -->/,/<!-- cron-recipe:end -->/p' docs/outbox.md | sed '/^<!--/d; /^```/d')
conf=$(sed -n '/<!-- cron-conf:begin -->/,/<!-- cron-conf:end -->/p' docs/outbox.md | sed '/^<!--/d; /^```/d; /^#/d; /^$/d')
if [ -z "$recipe" ] || [ -z "$conf" ]; then echo "FAIL: recipe markers not found in docs/outbox.md"; exit 1; fi

# The documented server settings, as -c options; the database is this
# sandbox's own instead of the documented 'netbox'.
opts=""
while IFS= read -r line; do
    key=$(echo "${line%%=*}" | tr -d ' '); value=$(echo "${line#*=}" | sed "s/^ *//; s/ *$//; s/^'//; s/'$//")
    [ "$key" = cron.database_name ] && value=cron_recipe
    opts="$opts -c $key=$value"
done <<<"$conf"
export SANDBOX_PG_OPTS="$opts"
export SANDBOX_PORT=${CRON_SANDBOX_PORT:-54331}
# shellcheck source=scripts/pg-sandbox.sh
source scripts/pg-sandbox.sh
trap sandbox_stop EXIT
sandbox_start
echo "server options:$SANDBOX_PG_OPTS"
createdb cron_recipe
export PGDATABASE=cron_recipe
sql() { psql -X -At -v ON_ERROR_STOP=1 "$@"; }

sql -q -v soon="$(test/fixtures/mkcert.sh soon.cron.example '-300 days' '+20 days')" \
       -v gone="$(test/fixtures/mkcert.sh gone.cron.example '-300 days' '-1 hour')" <<'SQL' >/dev/null
CREATE EXTENSION netbox_ssl;
SELECT ssl_import(:'soon');
-- Already past valid_to but still active: refresh or scan must expire it.
INSERT INTO ssl_certificate (common_name, subject, issuer, serial_number, fingerprint_sha256, valid_from, valid_to,
    sans, algorithm, key_size, signature_algorithm, is_ca, subject_key_id, authority_key_id, spki_sha256,
    pem_content, issuer_chain, status)
SELECT p.common_name, p.subject, p.issuer, p.serial_number, p.fingerprint_sha256, p.valid_from, p.valid_to, p.sans,
    p.algorithm, p.key_size, p.signature_algorithm, p.is_ca, p.subject_key_id, p.authority_key_id, p.spki_sha256,
    p.pem_content, p.issuer_chain, 'active' FROM ssl_parse(:'gone') p;
SQL

echo "--- running the documented recipe"
echo "$recipe"
sql -q <<<"$recipe" >/dev/null
echo "pg_cron $(sql -c "SELECT extversion FROM pg_extension WHERE extname = 'pg_cron'")"
jobs=$(sql -c "SELECT string_agg(jobname || ' ' || schedule, ', ' ORDER BY jobname) FROM cron.job")
echo "jobs: $jobs"
[ "$(sql -c "SELECT count(*) FROM cron.job WHERE jobname LIKE 'netbox_ssl_%' AND active")" = 3 ] \
    || { echo "FAIL: expected 3 active netbox_ssl jobs, got: $jobs"; exit 1; }
# Running the recipe again changes nothing (cron.schedule updates by name).
sql -q <<<"$recipe" >/dev/null
[ "$(sql -c "SELECT count(*) FROM cron.job")" = 3 ] || { echo "FAIL: the recipe is not idempotent"; exit 1; }

sql -q -c "SELECT cron.alter_job(jobid, schedule => '* * * * *') FROM cron.job WHERE jobname LIKE 'netbox_ssl_%'" >/dev/null
echo "--- waiting for the jobs' first runs (every minute now)"
ok=
for _ in $(seq 1 150); do
    done_jobs=$(sql -c "SELECT count(DISTINCT jobid) FROM cron.job_run_details WHERE status = 'succeeded'")
    failed=$(sql -c "SELECT count(*) FROM cron.job_run_details WHERE status = 'failed'")
    if [ "$failed" != 0 ]; then
        sql -c "SELECT j.jobname, d.return_message FROM cron.job_run_details d JOIN cron.job j USING (jobid) WHERE d.status = 'failed'"
        echo "FAIL: a job failed"; exit 1
    fi
    if [ "$done_jobs" = 3 ]; then ok=1; break; fi
    sleep 1
done
sql -c "SELECT j.jobname, d.status, d.return_message FROM cron.job_run_details d JOIN cron.job j USING (jobid) ORDER BY d.runid"
[ -n "$ok" ] || { echo "FAIL: the three jobs did not all succeed within 150 s"; tail -20 "$SANDBOX_LOG"; exit 1; }

result=$(sql -F ' ' <<'SQL'
SELECT (SELECT status FROM ssl_certificate WHERE common_name = 'gone.cron.example'),
       (SELECT count(*) FROM ssl_lifecycle_event e JOIN ssl_certificate c ON c.id = e.certificate_id
         WHERE c.common_name = 'gone.cron.example' AND e.event_type = 'expired'),
       (SELECT string_agg((o.payload->>'threshold'), ',') FROM ssl_outbox o WHERE o.event_type = 'expiring'),
       (SELECT count(*) FROM ssl_expiry_alert);
SQL
)
echo "gone status, expired events, expiring thresholds in the outbox, alert rows: $result"
[ "$result" = "expired 1 30 4" ] || { echo "FAIL: expected 'expired 1 30 4'"; exit 1; }
echo "ok: the documented pg_cron recipe runs ssl_refresh_status, ssl_expiry_scan and ssl_outbox_prune"
