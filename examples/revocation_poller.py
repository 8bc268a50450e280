#!/usr/bin/env python3
"""Revocation poller for netbox_ssl (docs/revocation.md).

The database never fetches anything. This poller reads what is due from the
view ssl_revocation_due, fetches it over HTTP with urllib, and hands the
answers back:

  * kind 'crl':  GET the CRL distribution point URL, then ssl_crl_load(bytea);
  * kind 'ocsp': build an OCSP request for (issuer_pem, the certificate) with
    the `openssl ocsp` CLI, POST it to the responder URL, then
    ssl_ocsp_record(response, certificate_id).

Each answer is recorded in its own transaction; a failure is printed and the
poller goes on with the next row. Run it from cron as a role that is a
member of netbox_ssl_operator:

    python3 examples/revocation_poller.py "dbname=inventory user=poller"

Needs psycopg (3) and the openssl CLI.
"""
import os
import subprocess
import sys
import tempfile
import urllib.request

import psycopg

TIMEOUT_S = 20
MAX_BYTES = 16 * 1024 * 1024


def fetch(url, data=None, content_type=None):
    req = urllib.request.Request(url, data=data)
    if content_type:
        req.add_header("Content-Type", content_type)
    with urllib.request.urlopen(req, timeout=TIMEOUT_S) as resp:
        return resp.read(MAX_BYTES + 1)[:MAX_BYTES]


def ocsp_request(issuer_pem, cert_pem):
    """DER OCSP request for one certificate, made with `openssl ocsp`."""
    with tempfile.TemporaryDirectory() as d:
        issuer, cert, req = (os.path.join(d, n) for n in ("issuer.pem", "cert.pem", "req.der"))
        with open(issuer, "w") as f:
            f.write(issuer_pem)
        with open(cert, "w") as f:
            f.write(cert_pem)
        subprocess.run(["openssl", "ocsp", "-issuer", issuer, "-cert", cert, "-no_nonce", "-reqout", req],
                       check=True, capture_output=True)
        with open(req, "rb") as f:
            return f.read()


def main(dsn):
    done = failed = 0
    with psycopg.connect(dsn, autocommit=True) as conn:
        due = conn.execute(
            "SELECT d.kind, d.certificate_id, d.url, d.issuer_pem, c.pem_content"
            "  FROM ssl_revocation_due d LEFT JOIN ssl_certificate c ON c.id = d.certificate_id"
            " ORDER BY d.kind, d.due_since NULLS FIRST").fetchall()
        for kind, cert_id, url, issuer_pem, cert_pem in due:
            try:
                with conn.transaction():
                    if kind == "crl":
                        crl_id = conn.execute("SELECT ssl_crl_load(%s::bytea)", (fetch(url),)).fetchone()[0]
                        print(f"crl {url}: stored as {crl_id}")
                    elif issuer_pem is not None:
                        resp = fetch(url, ocsp_request(issuer_pem, cert_pem), "application/ocsp-request")
                        status = conn.execute("SELECT ssl_ocsp_record(%s::bytea, %s)", (resp, cert_id)).fetchone()[0]
                        print(f"ocsp certificate {cert_id}: {status}")
                    else:
                        print(f"ocsp certificate {cert_id}: issuer not stored, skipped")
                        continue
                done += 1
            except Exception as e:  # one bad answer must not stop the others
                failed += 1
                print(f"{kind} {url}: {e}", file=sys.stderr)
    print(f"{done} recorded, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else ""))
