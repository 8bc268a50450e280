#!/usr/bin/env bash
# A NetBox read replica: a streaming hot standby made with pg_basebackup -R
# from a throwaway primary (its own cluster, SANDBOX_PORT and SANDBOX_PORT+1).
# On the standby every read function must answer like on the primary, and
# every writer must fail at once with SQLSTATE 25006 (read-only transaction),
# leaving the primary unchanged. Ends with "ok: ..." or exits non-zero.
# Usage: sudo bash test/standby/run.sh   (after make install; SANDBOX_BINDIR
# selects another PostgreSQL version's binaries)
set -uo pipefail
cd "$(dirname "$0")/../.."
export SANDBOX_PORT="${SANDBOX_PORT:-54339}"
# shellcheck source=scripts/pg-sandbox.sh
source scripts/pg-sandbox.sh
STANDBY_PORT=$((SANDBOX_PORT + 1))
standby_stop() {
    [ -n "${STANDBY_DIR:-}" ] || return 0
    _as_owner "$PG_BINDIR/pg_ctl" -D "$STANDBY_DIR" -m fast stop >/dev/null 2>&1 || true
    STANDBY_DIR=
}
trap 'standby_stop; sandbox_stop' EXIT
sandbox_start || exit 1
F=test/fixtures
failures=0
bad() { echo "FAILED: $*"; failures=$((failures + 1)); }
P() { "$PG_BINDIR/psql" -X -qAt -v ON_ERROR_STOP=1 "$@"; }

# --- data on the primary -----------------------------------------------
P >/dev/null <<SQL || { echo "loading the primary failed"; exit 1; }
CREATE EXTENSION netbox_ssl;
SELECT ssl_import(pg_read_file('$PWD/$F/janus-old.pem'));
INSERT INTO ssl_assignment (certificate_id, object_type, object_id) VALUES (1, 'ipam.service', 17);
SELECT ssl_import(pg_read_file('$PWD/$F/chain/leaf.pem'));
SELECT ssl_import(pg_read_file('$PWD/$F/chain/intermediate.pem'));
SELECT ssl_trust_anchor_load(pg_read_file('$PWD/$F/chain/root.pem'), 'test');
SELECT ssl_import_csr(pg_read_file('$PWD/$F/csr/rsa-san.csr.pem'));
SELECT ssl_outbox_subscribe('standby-test');
SELECT ssl_expiry_scan();
CREATE ROLE standby_reader IN ROLE netbox_ssl_reader;
SQL

# --- the standby --------------------------------------------------------
STANDBY_DIR="$SANDBOX_DIR/standby"
_as_owner "$PG_BINDIR/pg_basebackup" -h "$PGHOST" -p "$PGPORT" -U postgres -D "$STANDBY_DIR" -R -X stream -c fast \
    || { echo "pg_basebackup failed"; exit 1; }
_as_owner "$PG_BINDIR/pg_ctl" -D "$STANDBY_DIR" -l "$SANDBOX_DIR/standby.log" -w \
    -o "-c listen_addresses='' -c unix_socket_directories='$SANDBOX_DIR' -p $STANDBY_PORT -c hot_standby=on -c fsync=off -c max_prepared_transactions=10" start >/dev/null \
    || { cat "$SANDBOX_DIR/standby.log"; exit 1; }
S() { PGPORT=$STANDBY_PORT P "$@"; }
[ "$(S -c 'SELECT pg_is_in_recovery()')" = t ] || { echo "the standby is not in recovery"; exit 1; }
# Wait until the standby has replayed everything the primary wrote.
lsn=$(P -c 'SELECT pg_current_wal_lsn()')
for _ in $(seq 1 100); do
    [ "$(S -c "SELECT pg_last_wal_replay_lsn() >= '$lsn'")" = t ] && break
    sleep 0.1
done
before=$(P -c "SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM (SELECT c::text AS t FROM ssl_certificate c UNION ALL SELECT a::text FROM ssl_assignment a UNION ALL SELECT e::text FROM ssl_lifecycle_event e UNION ALL SELECT o::text FROM ssl_outbox o) s")

# --- reads: the same answer on the standby as on the primary --------------
reads=(
    "SELECT (ssl_parse(pg_read_file('$PWD/$F/janus-new.pem'))).common_name"
    "SELECT (ssl_parse(pg_read_binary_file('$PWD/$F/cert.der'))).fingerprint_sha256"
    "SELECT (ssl_parse_csr(pg_read_file('$PWD/$F/csr/rsa-san.csr.pem'))).common_name"
    "SELECT id, common_name, status FROM ssl_certificate ORDER BY id"
    "SELECT count(*) FROM ssl_certificate_expiry"
    "SELECT count(*) FROM ssl_ari_renewal"
    "SELECT count(*) FROM ssl_certificate_compliance"
    "SELECT count(*) FROM ssl_compliance_score"
    "SELECT count(*) FROM ssl_deployment_drift"
    "SELECT count(*) FROM ssl_outbox_backlog"
    "SELECT * FROM ssl_certificates_for_host('www.example.com')"
    "SELECT * FROM ssl_find_known(pg_read_file('$PWD/$F/janus-old.pem'))"
    "SELECT ssl_ari_cert_id(1::bigint)"
    "SELECT ssl_ari_cert_id(pg_read_file('$PWD/$F/chain/leaf.pem'))"
    "SELECT * FROM ssl_renewal_preview(1, pg_read_file('$PWD/$F/janus-new.pem'))"
    "SELECT * FROM ssl_renewal_candidate(pg_read_file('$PWD/$F/janus-new.pem'))"
    "SELECT * FROM ssl_renewal_instructions(1)"
    "SELECT * FROM ssl_expiring('10 years')"
    "SELECT status, depth FROM ssl_validate_chain(2, at => clock_timestamp())"
    "SELECT status FROM ssl_validate_chain(2, hostname => 'leaf.example.com')"
    "SET ROLE standby_reader; SELECT status, depth FROM ssl_validate_chain(2)"
)
n_reads=0
for q in "${reads[@]}"; do
    want=$(P -c "$q" 2>&1); got=$(S -c "$q" 2>&1)
    if [ "$want" != "$got" ]; then bad "read differs on the standby: $q"$'\n'"  primary: $want"$'\n'"  standby: $got"
    elif grep -q ERROR <<<"$got"; then bad "read fails: $q: $got"
    else n_reads=$((n_reads + 1)); fi
done

# --- writers: SQLSTATE 25006 at once --------------------------------------
writers=(
    "ssl_import(text)|SELECT ssl_import(pg_read_file('$PWD/$F/janus-new.pem'))"
    "ssl_import(bytea)|SELECT ssl_import(pg_read_binary_file('$PWD/$F/cert.der'))"
    "ssl_renew(text)|SELECT ssl_renew(1, pg_read_file('$PWD/$F/janus-new.pem'))"
    "ssl_renew(bytea)|SELECT ssl_renew(1, pg_read_binary_file('$PWD/$F/cert.der'), allow_cn_change => true)"
    "ssl_import_bundle(text)|SELECT * FROM ssl_import_bundle(pg_read_file('$PWD/$F/bundle-shuffled.pem'))"
    "ssl_import_bundle(bytea)|SELECT * FROM ssl_import_bundle(pg_read_binary_file('$PWD/$F/cert.der'))"
    "ssl_import_csr|SELECT ssl_import_csr(pg_read_file('$PWD/$F/csr/ed25519.csr.pem'))"
    "ssl_revert_renewal|SELECT ssl_revert_renewal(1)"
    "ssl_purge_certificate|SELECT ssl_purge_certificate(3)"
    "ssl_auto_archive|SELECT ssl_auto_archive('0 days')"
    "ssl_refresh_status|SELECT ssl_refresh_status()"
    "ssl_expiry_scan|SELECT * FROM ssl_expiry_scan()"
    "ssl_outbox_subscribe|SELECT ssl_outbox_subscribe('new-consumer')"
    "ssl_outbox_unsubscribe|SELECT ssl_outbox_unsubscribe('standby-test')"
    "ssl_outbox_claim|SELECT * FROM ssl_outbox_claim('standby-test')"
    "ssl_outbox_ack|SELECT ssl_outbox_ack('standby-test', ARRAY[1::bigint])"
    "ssl_outbox_prune|SELECT ssl_outbox_prune('0 days')"
    "ssl_record_observation(text)|SELECT ssl_record_observation('ipam.service', 17, pg_read_file('$PWD/$F/janus-old.pem'))"
    "ssl_record_observation(bytea)|SELECT ssl_record_observation('ipam.service', 18, pg_read_binary_file('$PWD/$F/cert.der'))"
    "ssl_trust_anchor_load|SELECT ssl_trust_anchor_load(pg_read_file('$PWD/$F/root.pem'))"
    "ssl_validate_chain (storing)|SELECT * FROM ssl_validate_chain(2)"
    "ssl_validate_all|SELECT * FROM ssl_validate_all()"
    "ssl_match_authorities|SELECT ssl_match_authorities()"
    "ssl_check_compliance|SELECT * FROM ssl_check_compliance()"
    "INSERT INTO ssl_assignment|INSERT INTO ssl_assignment (certificate_id, object_type, object_id) VALUES (1, 'ipam.service', 99)"
)
n_writers=0
covered=" "
for w in "${writers[@]}"; do
    name="${w%%|*}"; q="${w#*|}"
    covered+="${name%%(*} "
    out=$(S -v VERBOSITY=verbose -c "$q" 2>&1)
    first=$(grep -m1 '^ERROR:' <<<"$out")
    # The C writers name themselves and the primary in one sentence.
    if [[ "$name" == ssl_import\(* || "$name" == ssl_renew\(* || "$name" == ssl_import_bundle\(* ]] \
       && [[ "$first" != *"${name%%(*} must run on the primary server"* ]]; then
        bad "writer $name on the standby: expected its own 25006 sentence, got: ${first:-success}"
    elif [[ "$first" == "ERROR:  25006:"* ]]; then
        n_writers=$((n_writers + 1)); echo "  $name: ${first#ERROR:  }"
    else
        bad "writer $name on the standby: expected 25006, got: ${out:-success}"
    fi
done

# Writers of this version that the list above does not call (new functions
# must be added to it).
uncovered=$(S -c "SELECT string_agg(DISTINCT p.proname, ' ') FROM pg_proc p
    JOIN pg_depend d ON d.objid = p.oid AND d.classid = 'pg_proc'::regclass AND d.deptype = 'e'
    JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'netbox_ssl'
    WHERE p.provolatile = 'v' AND p.prorettype <> 'trigger'::regtype
      AND p.pronamespace = e.extnamespace
      AND p.proname NOT IN ('ssl_caller', 'ssl_internal_set', 'ssl_internal_get', 'ssl_outbox_publish',
                            'ssl_record_observation_parsed', 'ssl_detect_acme')")
for f in $uncovered; do
    [[ "$covered" == *" $f "* ]] || echo "note: writer $f is not called by this test"
done

after=$(P -c "SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM (SELECT c::text AS t FROM ssl_certificate c UNION ALL SELECT a::text FROM ssl_assignment a UNION ALL SELECT e::text FROM ssl_lifecycle_event e UNION ALL SELECT o::text FROM ssl_outbox o) s")
[ "$before" = "$after" ] || bad "the primary's data changed while the standby was tested"
# The standby still replicates after all those errors.
P -c "SELECT ssl_import(pg_read_file('$PWD/$F/janus-new.pem'))" >/dev/null
lsn=$(P -c 'SELECT pg_current_wal_lsn()')
for _ in $(seq 1 100); do
    [ "$(S -c "SELECT pg_last_wal_replay_lsn() >= '$lsn'")" = t ] && break
    sleep 0.1
done
[ "$(S -c "SELECT count(*) FROM ssl_certificate WHERE common_name = 'www.example.com'")" = 2 ] \
    || bad "the standby did not replay a later import"
if grep -E 'terminated by signal|PANIC' "$SANDBOX_DIR/standby.log" "$SANDBOX_LOG"; then bad "a server crashed"; fi

if [ "$failures" -gt 0 ]; then echo "$failures failure(s)"; exit 1; fi
echo "ok: hot standby ($("$PG_BINDIR/postgres" --version | awk '{print $3}')): $n_reads read queries answer as on the primary; $n_writers writers fail at once with 25006; primary unchanged"
