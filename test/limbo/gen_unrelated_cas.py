#!/usr/bin/env python3
"""Writes N self-signed CA certificates that issue nothing of interest, as
concatenated PEM on stdout: the "unrelated CA pool" of the issuer-lookup
benchmark (test/limbo/bench_validate_all.sh --unrelated-cas N) and the
fixture test/fixtures/chain/unrelated-cas.pem of test/sql/sec_chain.sql.

    python3 test/limbo/gen_unrelated_cas.py N [SEED] > cas.pem

Every certificate has its own subject ("CN=Unrelated CA <i>,O=netbox_ssl
unrelated") and its own subjectKeyIdentifier (random, from SEED); they share
one P-256 key so that 20,000 of them take seconds to make. Valid for 100
years. Needs python3-cryptography.
"""
import datetime
import random
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def main() -> None:
    n = int(sys.argv[1])
    rng = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 1)
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
    out = sys.stdout
    for i in range(1, n + 1):
        name = x509.Name([
            x509.NameAttribute(NameOID.COMMON_NAME, f"Unrelated CA {i}"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "netbox_ssl unrelated"),
        ])
        ski = rng.getrandbits(160).to_bytes(20, "big")
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(rng.getrandbits(120) | (1 << 120))
            .not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=36500))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier(ski), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier(ski, None, None), critical=False)
            .sign(key, hashes.SHA256())
        )
        out.write(cert.public_bytes(serialization.Encoding.PEM).decode())


if __name__ == "__main__":
    main()
