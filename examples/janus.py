#!/usr/bin/env python3
"""The Janus renewal from an application, with psycopg 3 (Debian: python3-psycopg).

    python3 examples/janus.py OLD.pem NEW.pem

Connection settings come from the usual PG* environment variables. The script
imports OLD (or finds it if already stored), deploys it on a service, then
renews it with NEW in one transaction, branching on SQLSTATEs the way an
application should.
"""
import sys

import psycopg
from psycopg import errors


def main(old_path: str, new_path: str) -> int:
    old_pem = open(old_path, encoding="ascii").read()
    new_pem = open(new_path, encoding="ascii").read()

    with psycopg.connect() as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS netbox_ssl")

        # Import the current certificate; a duplicate is not an error for us.
        try:
            with conn.transaction():
                old_id = conn.execute("SELECT ssl_import(%s, tenant => 'shop')", (old_pem,)).fetchone()[0]
        except errors.UniqueViolation:
            old_id = conn.execute(
                "SELECT id FROM ssl_certificate WHERE fingerprint_sha256 = (ssl_parse(%s)).fingerprint_sha256",
                (old_pem,),
            ).fetchone()[0]
        # Deploy the certificate in service for that name (a replaced one takes no new assignments).
        current = conn.execute(
            "SELECT id FROM ssl_certificate WHERE status = 'active' AND lower(common_name) = lower((ssl_parse(%s)).common_name) "
            "ORDER BY valid_to DESC LIMIT 1",
            (old_pem,),
        ).fetchone()
        conn.execute(
            "INSERT INTO ssl_assignment (certificate_id, object_type, object_id) VALUES (%s, 'ipam.service', 443) "
            "ON CONFLICT DO NOTHING",
            (current[0] if current else old_id,),
        )
        conn.commit()

        candidate = conn.execute("SELECT ssl_renewal_candidate(%s)", (new_pem,)).fetchone()[0]
        print(f"stored certificate {old_id}; renewal candidate for the new one: {candidate}")
        for field, current, new, matches in conn.execute(
            "SELECT * FROM ssl_renewal_preview(%s, %s)", (candidate or old_id, new_pem)
        ):
            print(f"  {field:14} {'=' if matches else '≠'} {new}")

        # The renewal: everything commits together or not at all.
        try:
            with conn.transaction():
                conn.execute("SET LOCAL netbox_ssl.actor = 'janus.py'")
                new_id = conn.execute("SELECT ssl_renew(%s, %s)", (candidate or old_id, new_pem)).fetchone()[0]
        except errors.ObjectNotInPrerequisiteState as e:  # 55000: replaced, wrong status, CN mismatch
            print(f"not renewed: {e.diag.message_primary}")
            return 1
        except errors.UniqueViolation as e:  # 23505: the replacement is already stored
            print(f"not renewed: {e.diag.message_primary}")
            return 1
        except errors.InvalidTextRepresentation as e:  # 22P02: not a certificate
            print(f"not renewed: {e.diag.message_primary}")
            return 1

        moved = conn.execute("SELECT count(*) FROM ssl_assignment WHERE certificate_id = %s", (new_id,)).fetchone()[0]
        print(f"renewed: certificate {old_id} -> {new_id}, {moved} assignment(s) now on {new_id}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__)
        sys.exit(2)
    sys.exit(main(sys.argv[1], sys.argv[2]))
