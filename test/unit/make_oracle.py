#!/usr/bin/env python3
"""Builds test/unit/oracle.tsv from the OpenSSL command-line tool.

The unit tests compare what netbox_ssl's core parses with what `openssl x509`
prints for the same certificate, so the expected values never come from our
own code. Run through test/unit/make-oracle.sh; see that file for usage.

Only the standard library is used, plus the `openssl` binary on PATH.
"""
import base64
import hashlib
import ipaddress
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIXTURES = os.path.join(REPO, "test", "fixtures")
CORPUS_OUT = os.path.join(FIXTURES, "corpus")
ORACLE = os.path.join(REPO, "test", "unit", "oracle.tsv")
CORPUS_IN = os.environ.get("NETBOX_SSL_CORPUS", "/work/shared/corpus")

# Fixture files that are not "one certificate" inputs (bundles, keys, a
# certificate followed by a key): covered by the hand-written tests instead.
FIXTURE_SKIP = {"bundle-shuffled.pem", "leaf-with-key.pem", "key-only.pem", "key-only.der"}

COLUMNS = [
    "file", "subject", "issuer", "serial", "fingerprint_sha256", "not_before",
    "not_after", "signature_algorithm", "is_ca", "subject_key_id",
    "authority_key_id", "spki_sha256", "public_key_algorithm", "key_bits", "sans",
]

# Marker for "OpenSSL shows this is absent": the core must return nullopt /
# an empty vector. An empty cell instead means "not checked".
ABSENT = "-"


# --------------------------------------------------------------------------
# openssl helpers

def openssl(args, data=None, check=True):
    proc = subprocess.run(["openssl"] + args, input=data, capture_output=True)
    if check and proc.returncode != 0:
        raise RuntimeError("openssl %s failed: %s" % (" ".join(args), proc.stderr.decode(errors="replace")))
    return proc


def x509_text(der, *opts):
    """`openssl x509 -inform DER -noout <opts>` on DER bytes, as text."""
    out = openssl(["x509", "-inform", "DER", "-noout"] + list(opts), der, check=False)
    if out.returncode != 0:
        return None
    return out.stdout.decode("utf-8", errors="surrogateescape")


def ext_value(der, name):
    """Body of one extension as `-ext` prints it: None if the extension is
    absent, "" plus an error flag can't be told apart, so return (ok, text)."""
    text = x509_text(der, "-ext", name)
    if text is None:
        return False, None
    lines = text.splitlines()
    if not lines or lines == ["No extensions in certificate"]:
        return True, None
    if len(lines) == 1:
        return True, None
    return True, "\n".join(l.strip() for l in lines[1:])


# --------------------------------------------------------------------------
# DER helpers (structure only; no field values are taken from here)

def der_tlv(buf, pos):
    """Returns (header_len, content_len) of the TLV at pos."""
    first = buf[pos + 1]
    if first < 0x80:
        return 2, first
    n = first & 0x7F
    return 2 + n, int.from_bytes(buf[pos + 2:pos + 2 + n], "big")


def pem_blocks(data):
    """All PEM blocks in a file as (label, body_lines, start, end) where
    start/end are byte offsets of the BEGIN line and the END line's end.
    A BEGIN marker anywhere in a line counts (the corpus index numbers
    `#-----BEGIN X-----` lines too)."""
    blocks = []
    pat = re.compile(rb"-----BEGIN ([^-\r\n]*)-----(.*?)-----END ([^-\r\n]*)-----", re.S)
    for m in pat.finditer(data):
        blocks.append((m.group(1).decode(), m.group(2), m.start(), m.end()))
    return blocks


def to_pem(der):
    b64 = base64.b64encode(der).decode()
    lines = [b64[i:i + 64] for i in range(0, len(b64), 64)]
    return "-----BEGIN CERTIFICATE-----\n" + "\n".join(lines) + "\n-----END CERTIFICATE-----\n"


def load_der(path):
    data = open(path, "rb").read()
    if b"-----BEGIN" in data:
        blocks = pem_blocks(data)
        return base64.b64decode(b"".join(blocks[0][1].split()))
    return data


# --------------------------------------------------------------------------
# Oracle columns

def epoch(text):
    # `-dateopt iso_8601` prints e.g. "2024-01-01 00:00:00Z" (years below
    # 1000 space-padded, e.g. "   1-01-01").
    m = re.fullmatch(r"(\d{1,4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)Z", text.strip())
    if not m:
        return ""
    dt = datetime(*map(int, m.groups()), tzinfo=timezone.utc)
    return str(int((dt - datetime(1970, 1, 1, tzinfo=timezone.utc)).total_seconds()))


def serial_ours(raw):
    # i2a_ASN1_INTEGER breaks long numbers with "\\\n"; digits come in pairs.
    raw = raw.replace("\\", "").replace("\n", "").strip()
    neg = raw.startswith("-")
    digits = raw[1:] if neg else raw
    if not digits or len(digits) % 2 or not re.fullmatch(r"[0-9A-Fa-f]+", digits):
        return ""
    digits = digits.upper()
    return ("-" if neg else "") + ":".join(digits[i:i + 2] for i in range(0, len(digits), 2))


SAN_PREFIXES = {"DNS:": "DNS:", "IP Address:": "IP:", "email:": "Email:", "URI:": "URI:"}


def sans_ours(der):
    """SANs in our format joined by '|', ABSENT if there is no SAN extension,
    "" if OpenSSL's text cannot be converted without guessing."""
    ok, body = ext_value(der, "subjectAltName")
    if not ok:
        return ""
    if body is None:
        return ABSENT
    if "\n" in body:
        return ""
    out = []
    for entry in body.split(", "):
        for prefix, ours in SAN_PREFIXES.items():
            if entry.startswith(prefix):
                value = entry[len(prefix):]
                break
        else:
            return ""  # othername, DirName, ... or a ", " inside a value
        # Only plain printable ASCII is compared; anything else depends on
        # escaping rules the CLI does not share with us.
        if not value or any(not (0x21 <= ord(c) < 0x7F) for c in value) or "|" in value:
            return ""
        if ours == "IP:":
            try:
                addr = ipaddress.ip_address(value)
            except ValueError:
                return ""  # "<invalid>" or a netmask form
            if addr.version == 6 and addr.ipv4_mapped is not None:
                return ""  # RFC 5952 section 5 vs Python disagree on these
            value = addr.compressed  # RFC 5952: lower case, longest zero run
        out.append(ours + value)
    return "|".join(out)


def key_id(der, ext, akid):
    ok, body = ext_value(der, ext)
    if not ok:
        return ""
    if body is None:
        return ABSENT
    lines = body.splitlines()
    if akid:
        # OpenSSL 3.0 prints the key id as a bare hex line (older versions
        # prefixed "keyid:"); issuer and serial lines may follow.
        ids = [l[len("keyid:"):] if l.startswith("keyid:") else l for l in lines
               if re.fullmatch(r"(keyid:)?[0-9A-F]{2}(:[0-9A-F]{2})*", l)]
        others = [l for l in lines if l.startswith(("DirName:", "serial:", "email:", "DNS:", "URI:"))]
        if len(ids) != 1:
            # An AKID with only issuer/serial has no key id to compare.
            return ABSENT if not ids and len(others) == len(lines) else ""
        value = ids[0]
    else:
        if len(lines) != 1:
            return ""
        value = lines[0]
    if not re.fullmatch(r"([0-9A-F]{2}(:[0-9A-F]{2})*)?", value):
        return ""
    return value if value else ""


def spki_sha256(der):
    """SHA-256 of the certificate's SubjectPublicKeyInfo bytes.

    `openssl asn1parse` locates the SPKI (7th field of TBSCertificate, 6th
    for v1 without the [0] version); its bytes are then hashed as they are
    in the certificate. As a cross-check the key is also re-exported with
    `openssl x509 -pubkey | openssl pkey -pubin -outform DER`; if that works
    and disagrees (odd encodings), the column is left empty."""
    parsed = openssl(["asn1parse", "-inform", "DER"], der, check=False)
    if parsed.returncode != 0:
        return ""
    fields = []
    for line in parsed.stdout.decode(errors="replace").splitlines():
        m = re.match(r"\s*(\d+):d=(\d+)\s+hl=\s*(\d+)\s+l=\s*(\d+)", line)
        if m and m.group(2) == "2":
            fields.append(tuple(int(m.group(i)) for i in (1, 3, 4)) + (line,))
    if fields and "cont [ 0 ]" in fields[0][3]:
        fields = fields[1:]
    if len(fields) < 6:
        return ""
    off, hl, length, _ = fields[5]
    spki = der[off:off + hl + length]
    ours = hashlib.sha256(spki).hexdigest()
    pub = openssl(["x509", "-inform", "DER", "-noout", "-pubkey"], der, check=False)
    if pub.returncode == 0:
        pk = openssl(["pkey", "-pubin", "-outform", "DER"], pub.stdout, check=False)
        if pk.returncode == 0 and hashlib.sha256(pk.stdout).hexdigest() != ours:
            return ""
    return ":".join(ours[i:i + 2] for i in range(0, 64, 2)).upper()


def oracle_row(relpath, der):
    row = {c: "" for c in COLUMNS}
    row["file"] = relpath
    for col, opt in (("subject", "-subject"), ("issuer", "-issuer")):
        text = x509_text(der, opt, "-nameopt", "RFC2253")
        prefix = col + "="
        if text is not None and text.startswith(prefix) and text.count("\n") == 1:
            value = text[len(prefix):-1]
            # Empty names and tabs would be ambiguous in a TSV: not checked.
            if value and "\t" not in value:
                row[col] = value
    text = x509_text(der, "-serial")
    if text and text.startswith("serial="):
        row["serial"] = serial_ours(text[len("serial="):])
    text = x509_text(der, "-fingerprint", "-sha256")
    if text and "=" in text:
        row["fingerprint_sha256"] = text.split("=", 1)[1].strip()
    text = x509_text(der, "-startdate", "-enddate", "-dateopt", "iso_8601")
    if text:
        for line in text.splitlines():
            if line.startswith("notBefore="):
                row["not_before"] = epoch(line[len("notBefore="):])
            elif line.startswith("notAfter="):
                row["not_after"] = epoch(line[len("notAfter="):])
    text = x509_text(der, "-text") or ""
    # The tbsCertificate copy (8-space indent, under Data:), as the core
    # reports it; the outer copy (4 spaces) differs only when malformed.
    sig = [l.split(":", 1)[1].strip() for l in text.splitlines()
           if l.startswith("        Signature Algorithm:")]
    if sig:
        row["signature_algorithm"] = sig[0]
    m = re.search(r"^ {12}Public Key Algorithm: (.+)$", text, re.M)
    if m:
        row["public_key_algorithm"] = m.group(1).strip()
        m2 = re.search(r"^ {16}(?:RSA |DSA |EC )?Public-Key: \((\d+) bit\)", text, re.M)
        if m2:
            row["key_bits"] = m2.group(1)
        elif row["public_key_algorithm"] in ("ED25519", "ED448"):
            row["key_bits"] = ABSENT
    ok, bc = ext_value(der, "basicConstraints")
    if ok:
        if bc is None:
            row["is_ca"] = "f"
        elif bc.startswith("CA:TRUE"):
            row["is_ca"] = "t"
        elif bc.startswith("CA:FALSE"):
            row["is_ca"] = "f"
    row["subject_key_id"] = key_id(der, "subjectKeyIdentifier", False)
    row["authority_key_id"] = key_id(der, "authorityKeyIdentifier", True)
    row["spki_sha256"] = spki_sha256(der)
    row["sans"] = sans_ours(der)
    return row


# --------------------------------------------------------------------------
# Corpus subset selection (only with --select-corpus)

CERT_ROLES = {"leaf", "intermediate", "root", "leaf(self-signed)"}


def read_index():
    rows = []
    with open(os.path.join(CORPUS_IN, "index.tsv"), encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split("\t")
        for line in f:
            rows.append(dict(zip(header, line.rstrip("\n").split("\t"))))
    return rows


def corpus_object(path_with_n):
    """Raw bytes of one corpus object: DER for certificates."""
    path, _, n = path_with_n.partition("#")
    data = open(os.path.join(CORPUS_IN, path), "rb").read()
    if b"-----BEGIN" not in data:
        return data
    blocks = pem_blocks(data)
    block = blocks[int(n) - 1] if n else blocks[0]
    return base64.b64decode(b"".join(block[1].split()))


def local_name(path_with_n, used):
    path, _, n = path_with_n.partition("#")
    setname, rest = path.split("/", 1)
    for prefix in ("pki/testdata/parse_certificate_unittest/", "pki/testdata/verify_certificate_chain_unittest/",
                   "v3/testdata/", "x509/testdata/", "x509/", "mozilla/"):
        if rest.startswith(prefix):
            rest = rest[len(prefix):]
    stem = re.sub(r"\.(pem|crt|der|cer)$", "", rest)
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", stem.replace("/", "__"))
    if n:
        stem += "-%s" % n
    name = "%s/%s.pem" % (setname, stem)
    assert name not in used, name
    used.add(name)
    return setname, name


def features(der, idx):
    """Tags used to pick a diverse subset; derived from the CLI's output."""
    text = x509_text(der, "-text") or ""
    tags = set()
    notes = idx.get("notes", "")
    for tag in ("no-subject-CN", "non-positive-serial", "wildcard-SAN", "embedded-SCTs",
                "CT-precertificate(poison-ext)", "python-cryptography-rejects", "2-CNs-in-subject",
                "self-issued-no-basicConstraints"):
        if tag in notes:
            tags.add(tag)
    if re.search(r"Version: 1 \(0x0\)", text):
        tags.add("v1")
    m = re.search(r"^ {12}Public Key Algorithm: (.+)$", text, re.M)
    alg = m.group(1).strip() if m else "?"
    if alg not in ("rsaEncryption", "id-ecPublicKey"):
        tags.add("key:" + alg)
    for curve in ("secp224r1", "secp384r1", "secp521r1", "prime192v1"):
        if "ASN1 OID: " + curve in text:
            tags.add("curve:" + curve)
    sigs = re.findall(r"^    Signature Algorithm: (\S+)", text, re.M)
    if sigs and not re.fullmatch(r"sha(1|256|384|512)WithRSAEncryption|ecdsa-with-SHA(256|384|512)", sigs[-1]):
        tags.add("sig:" + sigs[-1])
    elif sigs and sigs[-1] == "sha1WithRSAEncryption":
        tags.add("sha1-signature")
    names = (x509_text(der, "-subject", "-issuer", "-nameopt", "RFC2253") or "")
    if re.search(r"\\[89A-F][0-9A-F]", names):
        tags.add("non-ASCII-name")
    san = sans_ours(der)
    ok, sanbody = ext_value(der, "subjectAltName")
    if sanbody and re.search(r"IP Address:[0-9A-F]*:", sanbody):
        tags.add("IPv6-SAN")
    elif sanbody and "IP Address:" in sanbody:
        tags.add("IPv4-SAN")
    if sanbody and ("email:" in sanbody or "URI:" in sanbody):
        tags.add("email-or-URI-SAN")
    if sanbody and san == "":
        tags.add("SAN-not-comparable")
    dates = x509_text(der, "-startdate", "-enddate", "-dateopt", "iso_8601") or ""
    years = [int(y) for y in re.findall(r"=(\d{4})-", dates)]
    if any(y >= 2050 for y in years):
        tags.add("year>=2050")
    if any(y < 1970 for y in years):
        tags.add("year<1970")
    serial = (x509_text(der, "-serial") or "").strip()
    if len(serial) > len("serial=") + 40:
        tags.add("long-serial")
    return tags


# Tag -> how many certificates with that tag to take at most.
QUOTAS = [
    ("non-positive-serial", 10), ("v1", 6), ("IPv6-SAN", 6), ("non-ASCII-name", 8),
    ("no-subject-CN", 8), ("wildcard-SAN", 6), ("embedded-SCTs", 6),
    ("CT-precertificate(poison-ext)", 2), ("2-CNs-in-subject", 3), ("IPv4-SAN", 3),
    ("email-or-URI-SAN", 4), ("SAN-not-comparable", 3), ("year>=2050", 4), ("year<1970", 4),
    ("long-serial", 3), ("sha1-signature", 4), ("python-cryptography-rejects", 8), ("self-issued-no-basicConstraints", 3),
    ("curve:secp224r1", 2), ("curve:secp384r1", 3), ("curve:secp521r1", 2), ("curve:prime192v1", 1),
]
TARGET = 150


def select_corpus():
    index = read_index()
    wanted = [i for i in index if i["what"] in CERT_ROLES and i["openssl_parses"] == "yes"
              and i["format"] in ("PEM", "PEM(+openssl-text)", "DER")]

    def examine(idx):
        der = corpus_object(idx["path"])
        if x509_text(der) is None:  # this OpenSSL may differ from the indexer's
            return None
        return (idx, der, features(der, idx))

    with ThreadPoolExecutor(max_workers=4) as pool:
        cands = [c for c in pool.map(examine, wanted) if c is not None]
    cands.sort(key=lambda c: c[0]["sha256_der"])
    chosen, seen = [], set()

    def take(c):
        sha = c[0]["sha256_der"]
        if sha not in seen:
            seen.add(sha)
            chosen.append(c)

    # Every unusual key or signature algorithm, then the quota'd features.
    for c in cands:
        if any(t.startswith(("key:", "sig:")) for t in c[2]):
            take(c)
    for tag, quota in QUOTAS:
        have = sum(1 for c in chosen if tag in c[2])
        for c in cands:
            if have >= quota:
                break
            if tag in c[2] and c[0]["sha256_der"] not in seen:
                take(c)
                have += 1
    # Fill up round-robin over (set, role) so every source is represented.
    groups = {}
    for c in cands:
        key = (c[0]["path"].split("/")[0], c[0]["what"])
        groups.setdefault(key, []).append(c)
    while len(chosen) < TARGET:
        progress = False
        for key in sorted(groups):
            while groups[key] and groups[key][0][0]["sha256_der"] in seen:
                groups[key].pop(0)
            if groups[key] and len(chosen) < TARGET:
                take(groups[key].pop(0))
                progress = True
        if not progress:
            break

    # Inputs that contain no parseable certificate: the malformed certificate
    # blocks (extracted alone), and whole files that are something else.
    malformed_blocks = [i["path"] for i in index if i["what"] == "malformed" and "#" in i["path"]]
    malformed_files = [
        "cryptography-vectors/x509/cryptography-scts-tbs-precert.der",
        "openssl-test-certs/acert.pem",
        "cryptography-vectors/x509/requests/rsa_sha256.pem",
        "cryptography-vectors/x509/requests/rsa_sha256.der",
        "cryptography-vectors/x509/requests/challenge.pem",
        "cryptography-vectors/x509/custom/crl_idp_only_ca.pem",
        "cryptography-vectors/x509/custom/invalid_signature_crl.pem",
        "zlint/v3/testdata/crlWithReasonCode2.pem",
        "cryptography-vectors/asymmetric/PEM_Serialization/rsa_public_key.pem",
        "cryptography-vectors/asymmetric/DER_Serialization/rsa_public_key.der",
        "cryptography-vectors/asymmetric/X25519/x25519-pub.pem",
        "certificate-transparency-go/trillian/testdata/ct-http-server.pubkey.pem",
        "cryptography-vectors/asymmetric/OpenSSH/rsa-nopsw.key.pub",
    ]
    keys = [
        "boringssl-pki/pki/testdata/verify_certificate_chain_unittest/target-eku-any/keys/Target.key",
        "boringssl-pki/pki/testdata/verify_certificate_chain_unittest/policies-ok/keys/Root.key",
        "cryptography-vectors/asymmetric/Ed25519/ed25519-pkcs8.pem",
        "cryptography-vectors/asymmetric/PEM_Serialization/ec_private_key.pem",
        "cryptography-vectors/asymmetric/PEM_Serialization/dsa_4096.pem",
        "certificate-transparency-go/trillian/testdata/int-ca.privkey.pem",
        "cryptography-vectors/asymmetric/PKCS8/pkcs12_s2k_pem-X_9671.pem",
        "cryptography-vectors/asymmetric/OpenSSH/dsa-nopsw.key",
        "cryptography-vectors/x509/cryptography.io.with_garbage.pem",
        "cryptography-vectors/asymmetric/DER_Serialization/ec_private_key.der",
        "cryptography-vectors/asymmetric/DER_Serialization/unenc-rsa-pkcs8.der",
        "cryptography-vectors/asymmetric/DER_Serialization/testrsa.der",
        "cryptography-vectors/asymmetric/Ed25519/ed25519-pkcs8.der",
        "cryptography-vectors/asymmetric/DER_Serialization/enc2-rsa-pkcs8.der",
    ]

    if os.path.isdir(CORPUS_OUT):
        shutil.rmtree(CORPUS_OUT)
    used = set()
    prov = []
    for idx, der, tags in sorted(chosen, key=lambda c: c[0]["path"]):
        setname, name = local_name(idx["path"], used)
        dest = os.path.join(CORPUS_OUT, name)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        with open(dest, "w") as f:
            f.write(to_pem(der))
        prov.append(("certificate", name, idx["path"], idx["what"], ", ".join(sorted(tags))))
    for path in malformed_blocks:
        setname, name = local_name(path, used)
        name = "malformed/" + name
        dest = os.path.join(CORPUS_OUT, name)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        p, _, n = path.partition("#")
        data = open(os.path.join(CORPUS_IN, p), "rb").read()
        blk = pem_blocks(data)[int(n) - 1]
        with open(dest, "wb") as f:
            f.write(data[blk[2]:blk[3]] + b"\n")  # the block verbatim, alone
        prov.append(("malformed", name, path, "malformed certificate block, copied alone", ""))
    for kind, paths in (("malformed", malformed_files), ("keys", keys)):
        for path in paths:
            setname, rest = path.split("/", 1)
            name = "%s/%s/%s" % (kind, setname, re.sub(r"[^A-Za-z0-9._-]+", "_", rest.replace("/", "__")))
            dest = os.path.join(CORPUS_OUT, name)
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            shutil.copyfile(os.path.join(CORPUS_IN, path), dest)
            what = next((i["what"] for i in index if i["path"] == path), "")
            notes = next((i["notes"] for i in index if i["path"] == path), "")
            prov.append((kind, name, path, what, notes))
    with open(os.path.join(CORPUS_OUT, "provenance.tsv"), "w") as f:
        f.write("kind\tlocal_file\tcorpus_object\tcorpus_what\tfeatures_or_notes\n")
        for p in prov:
            f.write("\t".join(p) + "\n")
    write_readme(prov)
    print("selected %d certificates, %d other files" % (len(chosen), len(prov) - len(chosen)))


# Per source set: where it came from and its licence (facts taken from the
# corpus README; the corpus path below the set folder mirrors the upstream
# path unless noted).
SETS = [
    ("boringssl-pki", "github google/boringssl at a0689af29e8e460f1e5380e0fb74cef1b342e810",
     "`pki/testdata/parse_certificate_unittest/`, `pki/testdata/verify_certificate_chain_unittest/`", "Apache-2.0"),
    ("certificate-transparency-go", "github google/certificate-transparency-go at 56578481e43140e9df5b58cf28a41752e2391956",
     "`x509/testdata/`, `trillian/testdata/`", "Apache-2.0"),
    ("cryptography-vectors", "Debian bookworm package python3-cryptography-vectors 38.0.4-1 (pyca/cryptography)",
     "`cryptography_vectors/` + corpus path", "Apache-2.0 (upstream dual Apache-2.0 / BSD-3-Clause)"),
    ("limbo-online-history", "github C2SP/x509-limbo history of `limbo/_assets/online/`",
     "`limbo/_assets/online/<host>.limbo.json` (certificates extracted and re-wrapped by the corpus collector)", "Apache-2.0"),
    ("mozilla-ca-certificates-removed", "Debian package ca-certificates 20230311+deb12u1, roots removed by 20250419~deb12u2",
     "`/usr/share/ca-certificates/mozilla/*.crt`", "MPL-2.0 (Mozilla certdata)"),
    ("openssl-test-certs", "github openssl/openssl", "`test/certs/`", "Apache-2.0"),
    ("zlint", "github zmap/zlint at 1007b1d55fa0de8d6639088d6a7a6493b09b858c", "`v3/testdata/`", "Apache-2.0"),
]


def write_readme(prov):
    out = ["# Corpus subset", "",
           "Third-party certificates, keys and broken inputs copied from the developer",
           "corpus (`/work/shared/corpus`, described by its README.md and index.tsv) by",
           "`test/unit/make-oracle.sh --select-corpus`. The selection is deterministic:",
           "every unusual key or signature algorithm, quotas for special features (no",
           "subject CN, non-positive serial, wildcard / IPv6 / email / URI SANs,",
           "embedded SCTs, non-ASCII names, X.509 v1, dates past 2049 or before 1970,",
           "...), then a round-robin fill over source set and role up to 150 certificates.",
           "",
           "* `<set>/*.pem`: one certificate each. The DER was taken from the corpus",
           "  object (`path#N` = N-th PEM block of that file) and written as canonical",
           "  PEM; text dumps and other blocks around it were dropped. Each is a row of",
           "  `test/unit/oracle.tsv`.",
           "* `malformed/`: inputs holding no certificate OpenSSL can parse. Broken",
           "  certificate blocks were copied alone and verbatim; the other files",
           "  (CSRs, CRLs, public keys, an attribute certificate, a bare TBSCertificate)",
           "  are whole-file copies. The core must refuse each with `Malformed`.",
           "* `keys/`: whole-file copies of private keys (and one certificate file with",
           "  fake `PRIVATE KEY` blocks). The core must refuse each with `PrivateKey`.",
           "  All are published test keys from the upstream test suites.",
           "",
           "## Sources and licences", "",
           "| set | source | upstream location | licence |", "| --- | --- | --- | --- |"]
    for name, src, path, lic in SETS:
        out.append("| `%s` | %s | %s | %s |" % (name, src, path, lic))
    out += ["", "## Files", "",
            "`corpus object` is the path in the corpus (its first folder is the set).",
            "`provenance.tsv` has the same list in machine-readable form.", ""]
    for kind, title in (("certificate", "Certificates"), ("malformed", "Malformed inputs"), ("keys", "Keys")):
        out += ["### " + title, "", "| local file | corpus object | corpus role | features / notes |",
                "| --- | --- | --- | --- |"]
        for k, local, obj, what, notes in prov:
            if k == kind:
                out.append("| `%s` | `%s` | %s | %s |" % (local, obj, what, notes.replace("|", "/")[:120]))
        out.append("")
    with open(os.path.join(CORPUS_OUT, "README.md"), "w") as f:
        f.write("\n".join(out) + "\n")


# --------------------------------------------------------------------------

def main():
    if "--select-corpus" in sys.argv[1:]:
        select_corpus()
    files = []
    for name in sorted(os.listdir(FIXTURES)):
        if name.endswith((".pem", ".der")) and name not in FIXTURE_SKIP:
            files.append(os.path.join("test", "fixtures", name))
    for root, dirs, names in os.walk(CORPUS_OUT):
        rel = os.path.relpath(root, CORPUS_OUT)
        if rel.split(os.sep)[0] in ("malformed", "keys"):
            continue
        for name in names:
            if name.endswith(".pem"):
                files.append(os.path.relpath(os.path.join(root, name), REPO))
    def row_for(rel):
        der = load_der(os.path.join(REPO, rel))
        if x509_text(der) is None:
            sys.exit("openssl cannot parse %s" % rel)
        return oracle_row(rel, der)

    with ThreadPoolExecutor(max_workers=4) as pool:
        rows = list(pool.map(row_for, sorted(files)))
    with open(ORACLE, "w", encoding="utf-8", errors="surrogateescape") as f:
        f.write("# Generated by test/unit/make-oracle.sh from `openssl x509` output; do not edit.\n")
        f.write("# Empty cell = not checked; '-' = OpenSSL shows the field is absent (expect nullopt/empty).\n")
        f.write("\t".join(COLUMNS) + "\n")
        for row in rows:
            f.write("\t".join(row[c] for c in COLUMNS) + "\n")
    print("wrote %d rows to %s" % (len(rows), os.path.relpath(ORACLE, REPO)))


if __name__ == "__main__":
    main()
