#!/usr/bin/env python3
"""Inventory for test/bench/validate.sh: ROOTS self-signed roots, INTERMEDIATES
issuing CAs spread over them, and LEAVES server certificates spread over the
intermediates (round robin). Writes into OUTDIR:

  roots.pem          the roots (loaded as trust anchors)
  intermediates.pem  the intermediates (imported as stored CA certificates)
  leaves.tsv         one row per leaf: "<n>\t<PEM>\t<issuer chain PEM or empty>"
                     in COPY text format (newlines as \\n); every other leaf
                     carries its intermediate as its issuer_chain, the others
                     rely on the stored CA certificates.

Leaves are RSA-signed (the intermediates hold RSA 2048 keys) and carry one
of a small pool of P-256 keys; a few leaves are expired (every 97th), so the
inventory is not all "valid". Deterministic in shape, not in bytes.

  python3 test/bench/validate_gen.py OUTDIR [LEAVES [INTERMEDIATES [ROOTS]]]
"""
import datetime
import os
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

out = sys.argv[1]
LEAVES = int(sys.argv[2]) if len(sys.argv) > 2 else 20000
INTERMEDIATES = int(sys.argv[3]) if len(sys.argv) > 3 else 36
ROOTS = int(sys.argv[4]) if len(sys.argv) > 4 else 3

now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


def name(cn):
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "netbox_ssl validate bench"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def ca(cn, key, issuer_name, issuer_key, serial, path_len):
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    b = (x509.CertificateBuilder().subject_name(name(cn)).issuer_name(issuer_name)
         .public_key(key.public_key()).serial_number(serial)
         .not_valid_before(now - datetime.timedelta(days=30))
         .not_valid_after(now + datetime.timedelta(days=3650))
         .add_extension(x509.BasicConstraints(ca=True, path_length=path_len), critical=True)
         .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                      data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                      crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
         .add_extension(ski, critical=False))
    if issuer_key is not key:
        b = b.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
    return b.sign(issuer_key, hashes.SHA256())


def pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM).decode()


os.makedirs(out, exist_ok=True)
roots = []
for r in range(ROOTS):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    roots.append((key, ca("Validate Bench Root %d" % r, key, name("Validate Bench Root %d" % r), key, 1000 + r, None)))
inters = []
for i in range(INTERMEDIATES):
    rkey, rcert = roots[i % ROOTS]
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    inters.append((key, ca("Validate Bench Issuing CA %d" % i, key, rcert.subject, rkey, 2000 + i, 0)))
with open(os.path.join(out, "roots.pem"), "w") as f:
    f.write("".join(pem(c) for _, c in roots))
with open(os.path.join(out, "intermediates.pem"), "w") as f:
    f.write("".join(pem(c) for _, c in inters))

leaf_keys = [ec.generate_private_key(ec.SECP256R1()) for _ in range(16)]
with open(os.path.join(out, "leaves.tsv"), "w") as f:
    for n in range(LEAVES):
        ikey, icert = inters[n % INTERMEDIATES]
        key = leaf_keys[n % len(leaf_keys)]
        host = "host%d.validate.example" % n
        expired = n % 97 == 0
        start = now - datetime.timedelta(days=400 if expired else 10)
        b = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
             .issuer_name(icert.subject).public_key(key.public_key()).serial_number(100000 + n)
             .not_valid_before(start).not_valid_after(start + datetime.timedelta(days=90))
             .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
             .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                          data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                          crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
             .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
             .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
             .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ikey.public_key()), critical=False))
        cert = b.sign(ikey, hashes.SHA256())
        chain = pem(icert) if n % 2 == 0 else ""
        f.write("%d\t%s\t%s\n" % (n, pem(cert).replace("\n", "\\n"), chain.replace("\n", "\\n")))
