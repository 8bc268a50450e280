#!/usr/bin/env python3
"""NOTIFY ssl_lifecycle seen from a listening session (psycopg 3).

    python3 test/outbox/listen_test.py   (PG* environment; creates and drops
                                          the database outbox_listen_test)

Checks: an import notifies once, after commit only; a rolled-back renewal
notifies nothing; a committed renewal notifies exactly its two events
(renewed, activated); since 1.5 a notification carries only id,
certificate_id and type (any role can LISTEN), the outbox row the rest;
a long actor still notifies (outbox payload truncated).
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
        check(all(set(m) == {"id", "certificate_id", "type"} for m in msgs),
              f"a notification carries only id, certificate_id and type (1.5): {msgs}")
        events = {r[0]: r for r in writer.execute(
            "SELECT id, certificate_id, event_type, old_status, new_status, related_certificate_id, actor, "
            "to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') "
            "FROM ssl_lifecycle_event WHERE event_type IN ('renewed', 'activated')").fetchall()}
        outbox = dict(writer.execute("SELECT id, payload FROM ssl_outbox").fetchall())
        writer.commit()
        renewed, activated = (outbox[m["id"]] for m in msgs)
        check([m["type"] for m in msgs] == ["renewed", "activated"]
              and [m["certificate_id"] for m in msgs] == [old_id, new_id],
              f"the renewal notifies renewed on the old and activated on the new certificate: {msgs}")
        check(renewed["type"] == "renewed" and renewed["certificate_id"] == old_id
              and renewed["related_certificate_id"] == new_id and renewed["old_status"] == "active"
              and renewed["new_status"] == "replaced", f"renewed outbox payload: {renewed}")
        check(activated["type"] == "activated" and activated["certificate_id"] == new_id
              and activated["related_certificate_id"] == old_id and activated["new_status"] == "active",
              f"activated outbox payload: {activated}")
        for m in msgs:
            e, o = events[m["id"]], outbox[m["id"]]
            check((m["certificate_id"], m["type"]) == e[1:3]
                  and (o["certificate_id"], o["type"], o["old_status"], o["new_status"], o["related_certificate_id"],
                       o["actor"], o["occurred_at"]) == e[1:] and o["common_name"] == "www.example.com",
                  f"notification and outbox payload of event {m['id']} match its ssl_lifecycle_event row")
        check(all(json.loads(p) == {k: outbox[json.loads(p)["id"]][k] for k in ("id", "certificate_id", "type")}
                  for p in got),
              "every notification is the id, certificate_id and type of its ssl_outbox payload")
        check(all("listen-test" not in p and "www.example.com" not in p for p in got),
              "no notification carries the actor or the common name")

        # Oversized text: the notification stays small, the outbox row is truncated.
        writer.execute("SELECT set_config('netbox_ssl.actor', repeat(chr(1), 5000), true)")
        writer.execute("SELECT ssl_import(%s)", (other_pem,))
        writer.commit()
        msgs = collect(listener, got, 2)
        row = writer.execute("SELECT payload FROM ssl_outbox WHERE id = %s", (msgs[0]["id"],)).fetchone()[0] if msgs else {}
        writer.commit()
        check(len(msgs) == 1 and len(got[-1].encode()) < 200 and row.get("truncated") is True
              and len(row.get("on_behalf_of") or "") == 200 and row.get("actor") != "",
              f"a 5000-character actor: notification of {len(got[-1].encode())} bytes, outbox payload truncated")
    subprocess.run(["dropdb", DB], check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
