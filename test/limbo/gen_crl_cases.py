#!/usr/bin/env python3
"""Writes netbox_ssl's own revocation cases in the x509-limbo format:
test/limbo/data/netbox-crl/crl-cases.json, read by test/limbo/cases.py as
the suite "crl" and run by run_limbo.py in both modes (the shared limbo
subset has no CRL case).

    python3 test/limbo/gen_crl_cases.py [OUT.json]

Same schema as x509-limbo's testcases, including its `crls` field: a list
of PEM CRLs the validator may use. Every case is a SERVER validation of
crl.example.test at VALIDATION_TIME with revocation "if available": a CRL is
used when its signature verifies with the key of the issuer in the path and
it is current (thisUpdate <= time <= nextUpdate); otherwise it is ignored.
Keys are generated afresh and thrown away (P-256), so every run writes other
bytes with the same meaning. Needs python3-cryptography.
"""
import datetime
import json
import os
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

UTC = datetime.timezone.utc
VALIDATION_TIME = datetime.datetime(2025, 1, 1, tzinfo=UTC)
CA_START = datetime.datetime(2020, 1, 1, tzinfo=UTC)
CA_END = datetime.datetime(2040, 1, 1, tzinfo=UTC)
LEAF_START = datetime.datetime(2024, 9, 1, tzinfo=UTC)
LEAF_END = datetime.datetime(2025, 8, 1, tzinfo=UTC)
HOST = "crl.example.test"
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "netbox-crl", "crl-cases.json")


def key():
    return ec.generate_private_key(ec.SECP256R1())


def name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "netbox_ssl crl cases")])


def pem(obj):
    return obj.public_bytes(serialization.Encoding.PEM).decode("ascii")


def ca_cert(subject, k, issuer_name, issuer_key):
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer_name)
            .public_key(k.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(CA_START).not_valid_after(CA_END)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(k.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
            .sign(issuer_key, hashes.SHA256()))


def leaf_cert(issuer_name, issuer_key):
    k = key()
    return (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)]))
            .issuer_name(issuer_name).public_key(k.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(LEAF_START).not_valid_after(LEAF_END)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(HOST)]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(k.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
            .sign(issuer_key, hashes.SHA256()))


def crl(issuer_name, signing_key, aki_key, revoked, number=1,
        this_update=datetime.datetime(2024, 12, 1, tzinfo=UTC),
        next_update=datetime.datetime(2025, 3, 1, tzinfo=UTC)):
    """revoked: [(serial, date, reason flag or None)]. aki_key names the
    issuer's key in the AKI; signing_key signs (they differ for a forgery)."""
    b = (x509.CertificateRevocationListBuilder().issuer_name(issuer_name)
         .last_update(this_update).next_update(next_update)
         .add_extension(x509.CRLNumber(number), critical=False)
         .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(aki_key.public_key()), critical=False))
    for serial, when, reason in revoked:
        e = x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when)
        if reason is not None:
            e = e.add_extension(x509.CRLReason(reason), critical=False)
        b = b.add_revoked_certificate(e.build())
    return b.sign(signing_key, hashes.SHA256())


def case(cid, description, expected, root, intermediates, leaf, crls):
    return {
        "id": cid,
        "conflicts_with": [],
        "features": ["has-crl"],
        "importance": "high",
        "description": description,
        "validation_kind": "SERVER",
        "trusted_certs": [pem(root)],
        "untrusted_intermediates": [pem(c) for c in intermediates],
        "peer_certificate": pem(leaf),
        "peer_certificate_key": None,
        "validation_time": VALIDATION_TIME.isoformat(timespec="seconds"),
        "signature_algorithms": [],
        "key_usage": [],
        "extended_key_usage": ["serverAuth"],
        "expected_result": expected,
        "expected_peer_name": {"kind": "DNS", "value": HOST},
        "expected_peer_names": [],
        "max_chain_depth": None,
        "crls": [pem(c) for c in crls],
    }


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else OUT
    revoked_on = datetime.datetime(2024, 11, 15, tzinfo=UTC)
    key_compromise = x509.ReasonFlags.key_compromise
    cases = []

    def hierarchy(tag):
        rk, ik = key(), key()
        rn, iname = name("CRL Case Root " + tag), name("CRL Case Intermediate " + tag)
        root = ca_cert(rn, rk, rn, rk)
        inter = ca_cert(iname, ik, rn, rk)
        return rk, rn, root, ik, iname, inter

    rk, rn, root, ik, iname, inter = hierarchy("1")
    leaf = leaf_cert(iname, ik)
    cases.append(case("netbox-crl::revoked-leaf",
                      "The intermediate's current CRL lists the leaf (keyCompromise): revoked.",
                      "FAILURE", root, [inter], leaf,
                      [crl(iname, ik, ik, [(leaf.serial_number, revoked_on, key_compromise)])]))

    rk, rn, root, ik, iname, inter = hierarchy("2")
    leaf = leaf_cert(iname, ik)
    cases.append(case("netbox-crl::revoked-intermediate",
                      "The root's current CRL lists the intermediate; the intermediate's CRL is clean: revoked.",
                      "FAILURE", root, [inter], leaf,
                      [crl(rn, rk, rk, [(inter.serial_number, revoked_on, x509.ReasonFlags.ca_compromise)]),
                       crl(iname, ik, ik, [])]))

    rk, rn, root, _, _, _ = hierarchy("3")
    leaf = leaf_cert(rn, rk)
    cases.append(case("netbox-crl::revoked-leaf-issued-by-root",
                      "The root issues the leaf directly and its current CRL lists it: revoked.",
                      "FAILURE", root, [], leaf,
                      [crl(rn, rk, rk, [(leaf.serial_number, revoked_on, None)])]))

    rk, rn, root, ik, iname, inter = hierarchy("4")
    leaf = leaf_cert(iname, ik)
    cases.append(case("netbox-crl::leaf-not-listed",
                      "The intermediate's current CRL lists other serials only: not revoked.",
                      "SUCCESS", root, [inter], leaf,
                      [crl(iname, ik, ik, [(leaf.serial_number + 1, revoked_on, key_compromise),
                                           (leaf.serial_number + 2, revoked_on, None)])]))

    rk, rn, root, ik, iname, inter = hierarchy("5")
    leaf = leaf_cert(iname, ik)
    cases.append(case("netbox-crl::expired-crl",
                      "The only CRL listing the leaf has a nextUpdate before the validation time: it is not "
                      "current, so the leaf's status is undetermined (RFC 5280 6.3.3), which revocation "
                      "'if_available' accepts ('required' would not).",
                      "SUCCESS", root, [inter], leaf,
                      [crl(iname, ik, ik, [(leaf.serial_number, revoked_on, key_compromise)], number=1,
                           next_update=datetime.datetime(2024, 12, 15, tzinfo=UTC))]))

    rk, rn, root, ik, iname, inter = hierarchy("6")
    leaf = leaf_cert(iname, ik)
    forger = key()
    cases.append(case("netbox-crl::wrong-key",
                      "A CRL naming the intermediate (issuer and AKI) lists the leaf but is signed by another "
                      "key: it is ignored.",
                      "SUCCESS", root, [inter], leaf,
                      [crl(iname, forger, ik, [(leaf.serial_number, revoked_on, key_compromise)])]))

    rk, rn, root, ik, iname, inter = hierarchy("7")
    leaf = leaf_cert(iname, ik)
    cases.append(case("netbox-crl::hold-released",
                      "CRL 1 lists the leaf on certificateHold; the newer CRL 2, also current, no longer lists "
                      "it: the newest CRL decides, not revoked.",
                      "SUCCESS", root, [inter], leaf,
                      [crl(iname, ik, ik, [(leaf.serial_number, revoked_on, x509.ReasonFlags.certificate_hold)],
                           number=1, this_update=datetime.datetime(2024, 11, 20, tzinfo=UTC)),
                       crl(iname, ik, ik, [], number=2)]))

    rk, rn, root, ik, iname, inter = hierarchy("8")
    leaf = leaf_cert(iname, ik)
    cases.append(case("netbox-crl::revoked-after-validation-time",
                      "The current CRL lists the leaf with a revocationDate after the validation time: not yet "
                      "revoked at that time.",
                      "SUCCESS", root, [inter], leaf,
                      [crl(iname, ik, ik, [(leaf.serial_number, datetime.datetime(2025, 1, 10, tzinfo=UTC),
                                            key_compromise)])]))

    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w", encoding="ascii") as f:
        json.dump({"version": 1, "testcases": cases}, f, indent=1)
        f.write("\n")
    print("wrote %d cases to %s" % (len(cases), out))


if __name__ == "__main__":
    main()
