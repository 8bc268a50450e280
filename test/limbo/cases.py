"""Loads the chain-validation cases shared by the limbo scripts.

Two suites: the x509-limbo 2023-12-02 subset (JSON) and the real-site chains
of limbo-online-history (snapshots.tsv). Every case becomes one Case with
PEM texts, so each runner (openssl CLI, SQL) sees exactly the same input.
"""
import json
import os
from dataclasses import dataclass, field
from typing import List, Optional

# A copy of both suites is kept in test/limbo/data (provenance in
# test/limbo/data/README.md), so the test runs without the shared corpus.
CORPUS = os.environ.get("NETBOX_SSL_CORPUS", os.path.join(os.path.dirname(os.path.abspath(__file__)), "data"))
LIMBO_JSON = os.path.join(CORPUS, "x509-limbo-2023", "limbo-2023-12-02-subset.json")
ONLINE_DIR = os.path.join(CORPUS, "limbo-online-history")
# netbox_ssl's own revocation cases (limbo format, test/limbo/gen_crl_cases.py):
# always from this directory, whatever NETBOX_SSL_CORPUS says.
CRL_JSON = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "netbox-crl", "crl-cases.json")


@dataclass
class Case:
    id: str
    expected: str                 # SUCCESS or FAILURE
    leaf: str                     # PEM
    intermediates: List[str]      # PEM each
    roots: List[str]              # PEM each
    validation_time: Optional[str]  # ISO 8601, None = now
    peer_kind: Optional[str]      # DNS, IP or None
    peer_name: Optional[str]
    max_chain_depth: Optional[int] = None
    extended_key_usage: List[str] = field(default_factory=list)
    crls: List[str] = field(default_factory=list)  # PEM each (x509-limbo `crls`)
    skip_reason: Optional[str] = None


def limbo_cases(path=LIMBO_JSON):
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    out = []
    for tc in data["testcases"]:
        peer = tc.get("expected_peer_name") or {}
        skip = None
        if tc.get("validation_kind") != "SERVER":
            skip = "not a SERVER validation"
        elif tc.get("expected_peer_names"):
            skip = "several expected peer names (client-side option)"
        elif tc.get("signature_algorithms") or tc.get("key_usage"):
            skip = "restricts signature algorithms or key usage, which ssl_validate_chain does not take"
        elif peer and peer.get("kind") not in ("DNS", "IP"):
            skip = "peer name kind %s is not a host name" % peer.get("kind")
        eku = tc.get("extended_key_usage") or []
        if eku and eku != ["serverAuth"]:
            skip = skip or "extended key usage other than serverAuth"
        out.append(Case(
            id=tc["id"], expected=tc["expected_result"], leaf=tc["peer_certificate"],
            intermediates=list(tc.get("untrusted_intermediates") or []),
            roots=list(tc.get("trusted_certs") or []),
            validation_time=tc.get("validation_time"),
            peer_kind=peer.get("kind"), peer_name=peer.get("value"),
            max_chain_depth=tc.get("max_chain_depth"), extended_key_usage=eku,
            crls=list(tc.get("crls") or []),
            skip_reason=skip))
    return out


def _read(rel):
    with open(os.path.join(ONLINE_DIR, rel), encoding="ascii") as f:
        return f.read()


def online_cases():
    out = []
    with open(os.path.join(ONLINE_DIR, "snapshots.tsv"), encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split("\t")
        for line in f:
            row = dict(zip(header, line.rstrip("\n").split("\t")))
            ints = [p for p in row["untrusted_intermediates"].split(",") if p]
            roots = [p for p in row["trusted_root"].split(",") if p]
            out.append(Case(
                id="online::%s::%s::%s" % (row["host"], row["snapshot_commit_date"], row["snapshot_commit"][:8]),
                expected=row["expected_result"], leaf=_read(row["leaf"]),
                intermediates=[_read(p) for p in ints], roots=[_read(p) for p in roots],
                validation_time=row["validation_time"], peer_kind="DNS",
                peer_name=row["expected_peer_name(DNS)"]))
    return out


def suites():
    return {"limbo": limbo_cases(), "online": online_cases(), "crl": limbo_cases(CRL_JSON)}
