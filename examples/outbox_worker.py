#!/usr/bin/env python3
"""netbox_ssl outbox worker: lifecycle events -> webhook POSTs, at least once.

    python3 examples/outbox_worker.py [--consumer NAME] [--batch N] [--poll SECONDS]
                                      [--timeout SECONDS] [--once] [URL]

URL defaults to the environment variable NETBOX_SSL_WEBHOOK_URL. Connection
settings come from the usual PG* environment variables (psycopg 3, Debian
package python3-psycopg); the role needs netbox_ssl_operator.

Each event is POSTed as its JSON payload (Content-Type: application/json) with
the headers X-Netbox-SSL-Event-Id and X-Netbox-SSL-Event-Type. A 2xx answer
counts as delivered. Delivery is at least once: rows are acknowledged in the
transaction that claimed them, after the POSTs, so a worker that dies between
a POST and the commit leaves those rows to the next claim and the receiver
sees them again. Receivers deduplicate by the event id.

The worker LISTENs on channel ssl_lifecycle and uses a notification only as a
wake-up: it then claims until the queue is empty. It also polls every --poll
seconds, so a missed notification (or a dropped connection) delays events but
never loses them. Several workers with the same --consumer share its queue;
workers with different consumer names each receive every event.
"""
import argparse
import json
import os
import select
import signal
import sys
import urllib.error
import urllib.request

import psycopg


def log(msg: str) -> None:
    print(f"outbox_worker: {msg}", file=sys.stderr, flush=True)


def post(url: str, event_id: int, payload: dict, timeout: float) -> None:
    """POSTs one event; raises on a network error or a non-2xx answer."""
    request = urllib.request.Request(
        url,
        data=json.dumps(payload, sort_keys=True).encode("utf-8"),
        method="POST",
        headers={
            "Content-Type": "application/json",
            "X-Netbox-SSL-Event-Id": str(event_id),
            "X-Netbox-SSL-Event-Type": str(payload.get("type", "")),
        },
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        if not 200 <= response.status < 300:  # urllib raises for most others already
            raise urllib.error.HTTPError(url, response.status, "not a 2xx answer", response.headers, None)


class Worker:
    def __init__(self, conn: psycopg.Connection, args: argparse.Namespace) -> None:
        self.conn = conn
        self.args = args
        self.woken = False
        conn.add_notify_handler(self._on_notify)

    def _on_notify(self, _notify: psycopg.Notify) -> None:
        # Notifications can arrive while a claim is running; remember them so
        # the worker claims once more before it sleeps.
        self.woken = True

    def drain(self) -> bool:
        """Claims, posts and acknowledges until the queue is empty.
        Returns False when a POST failed (the caller backs off)."""
        while True:
            self.woken = False
            delivered = []
            failed = False
            with self.conn.transaction():
                rows = self.conn.execute(
                    "SELECT id, payload FROM ssl_outbox_claim(%s, %s)", (self.args.consumer, self.args.batch)
                ).fetchall()
                for event_id, payload in rows:
                    try:
                        post(self.args.url, event_id, payload, self.args.timeout)
                    except (urllib.error.URLError, OSError, ValueError) as e:
                        # Keep the order: stop here; the rest of the batch is
                        # released at commit and claimed again later.
                        log(f"event {event_id}: POST failed ({e}); will retry")
                        failed = True
                        break
                    delivered.append(event_id)
                if delivered:
                    self.conn.execute("SELECT ssl_outbox_ack(%s, %s)", (self.args.consumer, delivered))
            if delivered:
                log(f"delivered and acknowledged {len(delivered)} event(s): {delivered[0]}..{delivered[-1]}")
            if failed:
                return False
            if len(rows) < self.args.batch and not self.woken:
                return True

    def wait(self, seconds: float) -> None:
        """Sleeps until a notification arrives or the poll interval passes."""
        if self.woken:
            return
        readable, _, _ = select.select([self.conn.fileno()], [], [], seconds)
        if readable:
            self.conn.execute("SELECT 1")  # lets psycopg read the notification(s)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", nargs="?", default=os.environ.get("NETBOX_SSL_WEBHOOK_URL"),
                        help="webhook URL (default: $NETBOX_SSL_WEBHOOK_URL)")
    parser.add_argument("--consumer", default="webhook", help="outbox consumer name (default: webhook)")
    parser.add_argument("--batch", type=int, default=100, help="events claimed per transaction (default: 100)")
    parser.add_argument("--poll", type=float, default=30.0, help="seconds between polls without NOTIFY (default: 30)")
    parser.add_argument("--timeout", type=float, default=10.0, help="HTTP timeout in seconds (default: 10)")
    parser.add_argument("--once", action="store_true", help="deliver what is queued, then exit")
    args = parser.parse_args()
    if not args.url:
        parser.error("no webhook URL: pass one or set NETBOX_SSL_WEBHOOK_URL")
    if args.batch < 1:
        parser.error("--batch must be at least 1")

    # SIGTERM ends the worker like Ctrl-C: an open claim is rolled back and
    # its rows are delivered again by the next worker.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

    with psycopg.connect(autocommit=True) as conn:
        # Subscribing a new consumer briefly locks the outbox against
        # publishers, so it gets a short transaction of its own.
        pending = conn.execute("SELECT ssl_outbox_subscribe(%s)", (args.consumer,)).fetchone()[0]
        log(f"consumer {args.consumer!r}: {pending} event(s) pending; posting to {args.url}")
        conn.execute("LISTEN ssl_lifecycle")
        worker = Worker(conn, args)
        backoff = 1.0
        while True:
            if worker.drain():
                backoff = 1.0
                if args.once:
                    return 0
                worker.wait(args.poll)
            else:
                if args.once:
                    return 1
                worker.wait(backoff)
                backoff = min(backoff * 2, args.poll)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
