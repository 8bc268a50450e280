#!/usr/bin/env python3
"""NOTIFY ssl_lifecycle seen from a listening session (psycopg 3).

    python3 test/outbox_listen_test.py   (PG* environment; creates and drops
                                          the database outbox_listen_test)

Checks: an import notifies once, after commit only; a rolled-back renewal
notifies nothing; a committed renewal notifies exactly its two events
(renewed, activated) with the payload fields of the events; every payload is
the outbox row's payload; a long actor still notifies (payload truncated).
Prints one line per check and exits 1 on the first failure.
"""
import json
import select
import subprocess
import sys
import time

import psycopg

DB = "outbox_listen_test"


def collect(conn: psycopg.Connection, got: list, seconds: float) -> list:
    """Waits up to `seconds` for notifications; returns the payloads received."""
    start = len(got)
    deadline = time.monotonic() + seconds
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        if select.select([conn.fileno()], [], [], left)[0]:
            conn.execute("SELECT 1")  # lets psycopg read and dispatch the notifications
    return [json.loads(p) for p in got[start:]]


def check(ok: bool, what: str) -> None:
    if not ok:
        print(f"FAIL: {what}")
        sys.exit(1)
    print(f"ok: {what}")


def main() -> int:
    subprocess.run(["dropdb", "--if-exists", DB], check=True, capture_output=True)
    subprocess.run(["createdb", DB], check=True)
    old_pem = open("test/fixtures/janus-old.pem").read()
    new_pem = open("test/fixtures/janus-new.pem").read()
    other_pem = open("test/fixtures/other-cn.pem").read()
    with psycopg.connect(dbname=DB, autocommit=True) as listener, psycopg.connect(dbname=DB) as writer:
        writer.execute("CREATE EXTENSION netbox_ssl")
        writer.commit()
        got: list = []
        listener.add_notify_handler(lambda n: got.append(n.payload) if n.channel == "ssl_lifecycle" else None)
        listener.execute("LISTEN ssl_lifecycle")

        # Import: nothing before the commit, one notification after it.
        old_id = writer.execute("SELECT ssl_import(%s)", (old_pem,)).fetchone()[0]
        writer.execute("INSERT INTO ssl_assignment (certificate_id, object_type, object_id) VALUES (%s, 'svc', 1)",
                       (old_id,))
        check(collect(listener, got, 0.5) == [], "no notification while the importing transaction is open")
        writer.commit()
        msgs = collect(listener, got, 2)
        check([m["type"] for m in msgs] == ["imported", "assignment_added"],
              f"import and assignment notified after commit: {[m['type'] for m in msgs]}")

        # Rolled-back renewal: nothing.
        writer.execute("SELECT ssl_renew(%s, %s)", (old_id, new_pem))
        writer.rollback()
        check(collect(listener, got, 1.5) == [], "a rolled-back renewal notifies nothing")

        # Committed renewal: exactly its two events.
        writer.execute("SET LOCAL netbox_ssl.actor = 'listen-test'")
        new_id = writer.execute("SELECT ssl_renew(%s, %s)", (old_id, new_pem)).fetchone()[0]
        writer.commit()
        msgs = collect(listener, got, 2)
        check(len(msgs) == 2, f"a committed renewal notifies exactly two events (got {len(msgs)})")
        renewed, activated = msgs
        events = {r[0]: r for r in writer.execute(
            "SELECT id, certificate_id, event_type, old_status, new_status, related_certificate_id, actor, "
            "to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') "
            "FROM ssl_lifecycle_event WHERE event_type IN ('renewed', 'activated')").fetchall()}
        writer.commit()
        check(renewed["type"] == "renewed" and renewed["certificate_id"] == old_id
              and renewed["related_certificate_id"] == new_id and renewed["old_status"] == "active"
              and renewed["new_status"] == "replaced", f"renewed payload: {renewed}")
        check(activated["type"] == "activated" and activated["certificate_id"] == new_id
              and activated["related_certificate_id"] == old_id and activated["new_status"] == "active",
              f"activated payload: {activated}")
        for m in msgs:
            e = events[m["id"]]
            check((m["certificate_id"], m["type"], m["old_status"], m["new_status"], m["related_certificate_id"],
                   m["actor"], m["occurred_at"]) == e[1:] and m["common_name"] == "www.example.com",
                  f"payload of event {m['id']} matches its ssl_lifecycle_event row")
        outbox = dict(writer.execute("SELECT id, payload FROM ssl_outbox").fetchall())
        writer.commit()
        check(all(json.loads(p) == outbox[json.loads(p)["id"]] for p in got),
              "every notification equals its ssl_outbox payload")

        # Oversized text: still notified (pg_notify would fail above 8000 bytes), truncated.
        writer.execute("SELECT set_config('netbox_ssl.actor', repeat(chr(1), 5000), true)")
        writer.execute("SELECT ssl_import(%s)", (other_pem,))
        writer.commit()
        msgs = collect(listener, got, 2)
        check(len(msgs) == 1 and msgs[0]["truncated"] is True and len(msgs[0]["actor"]) == 200
              and len(got[-1].encode()) < 8000, f"a 5000-character actor is notified truncated ({len(got[-1].encode())} bytes)")
    subprocess.run(["dropdb", DB], check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
