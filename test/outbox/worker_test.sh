#!/usr/bin/env bash
# At-least-once delivery of examples/outbox_worker.py across a worker crash.
#   1. seven lifecycle events are published; a local HTTP receiver records
#      every POST;
#   2. the worker (batches of 2) delivers and acknowledges events 1-2, then
#      the receiver SIGKILLs it while it receives event 3: delivered, never
#      acknowledged;
#   3. a restarted worker delivers 3-7: every event arrives at least once,
#      3 twice, 1-2 (acknowledged) exactly once;
#   4. with --poll 60, two new events arrive within seconds: the NOTIFY
#      wake-up works;
#   5. every body equals the event's outbox payload, the queue is empty.
# Runs against the server in PGHOST/PGPORT (scripts/test.sh starts one, or
# source scripts/pg-sandbox.sh; sandbox_start). Exits non-zero on failure.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-/usr/bin/python3}
db=outbox_worker_test
work=$(mktemp -d /tmp/netbox_ssl_outbox.XXXXXX)
receiver_pid=; worker_pid=
cleanup() {
    if [ -n "$worker_pid" ]; then kill "$worker_pid" 2>/dev/null || true; fi
    if [ -n "$receiver_pid" ]; then kill "$receiver_pid" 2>/dev/null || true; fi
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; echo "--- receiver log"; cat "$work/received.tsv" 2>/dev/null; echo "--- worker logs"; cat "$work"/worker*.log 2>/dev/null; exit 1; }
sql() { psql -X -At -v ON_ERROR_STOP=1 -d "$db" "$@"; }

dropdb --if-exists "$db" >/dev/null 2>&1
createdb "$db"
sql -q -v old="$(cat test/fixtures/janus-old.pem)" -v new="$(cat test/fixtures/janus-new.pem)" <<'SQL'
CREATE EXTENSION netbox_ssl;
SELECT ssl_import(:'old') AS old_id \gset
INSERT INTO ssl_assignment (certificate_id, object_type, object_id) VALUES (:old_id, 'ipam.service', 443);
SELECT ssl_renew(:old_id, :'new') AS new_id \gset
INSERT INTO ssl_lifecycle_event (certificate_id, event_type) SELECT :old_id, 'note' FROM generate_series(1, 3);
SQL
[ "$(sql -c 'SELECT count(*) FROM ssl_outbox')" = 7 ] || fail "expected 7 outbox rows"

# The receiver: records "id <TAB> body" per POST; on the KILL_AT-th POST it
# first records it, then SIGKILLs the worker whose pid is in worker.pid.
cat >"$work/receiver.py" <<'PY'
import http.server, os, signal, sys
work, kill_at = sys.argv[1], int(sys.argv[2])
count = 0
class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        global count
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        with open(os.path.join(work, "received.tsv"), "a") as f:
            f.write(f"{self.headers['X-Netbox-SSL-Event-Id']}\t{body}\n")
        count += 1
        if count == kill_at:
            os.kill(int(open(os.path.join(work, "worker.pid")).read()), signal.SIGKILL)
        try:
            self.send_response(204)
            self.end_headers()
        except OSError:  # the killed worker's connection
            pass
    def log_message(self, *args):
        pass
server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
with open(os.path.join(work, "port.tmp"), "w") as f:
    f.write(str(server.server_address[1]))
os.rename(os.path.join(work, "port.tmp"), os.path.join(work, "port"))
server.serve_forever()
PY
: >"$work/received.tsv"
"$PY" "$work/receiver.py" "$work" 3 &
receiver_pid=$!
for _ in $(seq 1 50); do [ -f "$work/port" ] && break; sleep 0.1; done
[ -f "$work/port" ] || fail "receiver did not start"
url="http://127.0.0.1:$(cat "$work/port")/hook"
received() { cut -f1 "$work/received.tsv" | tr '\n' ' ' | sed 's/ $//'; }

# 2. First worker: killed by the receiver during its second batch.
PGDATABASE=$db PGAPPNAME=outbox_worker_1 "$PY" examples/outbox_worker.py --consumer hook --batch 2 --poll 60 "$url" \
    2>"$work/worker1.log" &
worker_pid=$!
echo "$worker_pid" >"$work/worker.pid"
set +e; wait "$worker_pid"; rc=$?; set -e
worker_pid=
[ "$rc" -eq 137 ] || fail "first worker should have been killed (exit 137), got $rc"
[ "$(received)" = "1 2 3" ] || fail "before the crash expected POSTs 1 2 3, got: $(received)"
# The server releases the dead worker's claim once it notices the closed
# connection; wait for that before counting what is still queued.
for _ in $(seq 1 100); do
    [ "$(sql -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'outbox_worker_1'")" = 0 ] && break
    sleep 0.1
done
pending=$(sql -c "SELECT string_agg(outbox_id::text, ' ' ORDER BY outbox_id) FROM ssl_outbox_delivery WHERE consumer = 'hook'")
[ "$pending" = "3 4 5 6 7" ] || fail "after the crash expected 3-7 still queued (1-2 acknowledged), got: $pending"
echo "ok: worker killed after POST 3 and before its ack; 1-2 acknowledged, 3-7 still queued"

# 3. Restarted worker, long-running: delivers the rest.
PGDATABASE=$db PGAPPNAME=outbox_worker_2 "$PY" examples/outbox_worker.py --consumer hook --batch 2 --poll 60 "$url" \
    2>"$work/worker2.log" &
worker_pid=$!
for _ in $(seq 1 150); do [ "$(received)" = "1 2 3 3 4 5 6 7" ] && break; sleep 0.1; done
[ "$(received)" = "1 2 3 3 4 5 6 7" ] || fail "after the restart expected POSTs 1 2 3 3 4 5 6 7, got: $(received)"
echo "ok: restarted worker redelivered 3 and delivered 4-7"

# 4. New events while the worker sleeps (poll 60 s): NOTIFY wakes it.
sleep 1
start=$(date +%s.%N)
sql -q -c "INSERT INTO ssl_lifecycle_event (certificate_id, event_type) VALUES (1, 'late_a'), (1, 'late_b')"
for _ in $(seq 1 100); do [ "$(received)" = "1 2 3 3 4 5 6 7 8 9" ] && break; sleep 0.1; done
[ "$(received)" = "1 2 3 3 4 5 6 7 8 9" ] || fail "new events 8 9 not delivered within 10 s: $(received)"
latency=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
echo "ok: events published later were delivered after ${latency} s (woken by NOTIFY, poll interval 60 s)"
kill -TERM "$worker_pid"
set +e; wait "$worker_pid"; rc=$?; set -e
worker_pid=
[ "$rc" -eq 0 ] || fail "worker did not stop cleanly on SIGTERM (exit $rc)"

# 5. Bodies and the queue.
[ "$(sql -c "SELECT count(*) FROM ssl_outbox_delivery WHERE consumer = 'hook'")" = 0 ] || fail "queue not empty"
sql -c "SELECT id || E'\t' || payload::text FROM ssl_outbox ORDER BY id" >"$work/outbox.tsv"
"$PY" - "$work/received.tsv" "$work/outbox.tsv" <<'PY' || fail "bodies differ from the outbox payloads"
import json, sys
outbox = {int(i): json.loads(p) for i, p in (line.rstrip("\n").split("\t", 1) for line in open(sys.argv[2]))}
for line in open(sys.argv[1]):
    header_id, body = line.rstrip("\n").split("\t", 1)
    payload = json.loads(body)
    assert payload["id"] == int(header_id), (header_id, payload)
    assert payload == outbox[int(header_id)], (payload, outbox[int(header_id)])
assert set(outbox) == {int(l.split("\t", 1)[0]) for l in open(sys.argv[1])}
PY
echo "ok: every event delivered at least once, acknowledged ones never again; bodies equal the outbox payloads"
dropdb "$db"
