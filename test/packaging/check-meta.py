#!/usr/bin/env python3
"""Checks META.json against the PGXN Meta Spec 1.0.0 and this tree:
valid JSON; the required keys and their types; license 'postgresql';
semantic versions; release version and provides version equal to
netbox_ssl.control's default_version (as semver, 1.5 -> 1.5.0); the provided
file exists; prereqs name PostgreSQL >= 15; debian/changelog's upstream
version agrees too. Prints one line per finding and exits 1 on any."""
import json
import pathlib
import re
import sys

root = pathlib.Path(__file__).resolve().parents[2]
errors = []
try:
    meta = json.loads((root / "META.json").read_text())
except (OSError, ValueError) as e:
    print(f"META.json: not valid JSON: {e}")
    sys.exit(1)

SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z-]+)?$")
for key, kind in (("name", str), ("abstract", str), ("version", str), ("maintainer", (str, list)),
                  ("license", (str, list, dict)), ("provides", dict), ("meta-spec", dict)):
    if key not in meta:
        errors.append(f"required key missing: {key}")
    elif not isinstance(meta[key], kind):
        errors.append(f"{key}: wrong type {type(meta[key]).__name__}")
if meta.get("meta-spec", {}).get("version") != "1.0.0":
    errors.append("meta-spec.version must be 1.0.0")
if meta.get("name") != "netbox_ssl":
    errors.append("name must be netbox_ssl")
if meta.get("license") != "postgresql":
    errors.append("license must be 'postgresql' (LICENSE is the PostgreSQL License)")
if not (root / "LICENSE").is_file() or "PostgreSQL License" not in (root / "LICENSE").read_text():
    errors.append("LICENSE missing or not the PostgreSQL License")

control = (root / "netbox_ssl.control").read_text()
m = re.search(r"^default_version\s*=\s*'([^']+)'", control, re.M)
default_version = m.group(1) if m else None
semver = default_version + ".0" * (2 - default_version.count(".")) if default_version else None
version = meta.get("version", "")
if not SEMVER.match(version):
    errors.append(f"version {version!r} is not a semantic version")
if version != semver:
    errors.append(f"version {version!r} != default_version {default_version!r} of netbox_ssl.control (as {semver!r})")
provides = meta.get("provides", {})
if "netbox_ssl" not in provides:
    errors.append("provides.netbox_ssl missing")
for ext, p in provides.items():
    if not isinstance(p, dict) or "file" not in p or "version" not in p:
        errors.append(f"provides.{ext}: needs file and version")
        continue
    if p["version"] != semver:
        errors.append(f"provides.{ext}.version {p['version']!r} != {semver!r}")
    if not (root / p["file"]).is_file():
        errors.append(f"provides.{ext}.file {p['file']!r} does not exist")
    if "docfile" in p and not (root / p["docfile"]).is_file():
        errors.append(f"provides.{ext}.docfile {p['docfile']!r} does not exist")
pg = meta.get("prereqs", {}).get("runtime", {}).get("requires", {}).get("PostgreSQL")
if pg is None or not SEMVER.match(str(pg)) or int(str(pg).split(".")[0]) != 15:
    errors.append(f"prereqs.runtime.requires.PostgreSQL must be 15.0.0 (minimum), is {pg!r}")
for phase, rels in meta.get("prereqs", {}).items():
    if phase not in ("configure", "build", "test", "runtime", "develop"):
        errors.append(f"prereqs: unknown phase {phase}")
    for rel in rels:
        if rel not in ("requires", "recommends", "suggests", "conflicts"):
            errors.append(f"prereqs.{phase}: unknown relationship {rel}")
for key in meta.get("resources", {}):
    if key not in ("homepage", "bugtracker", "repository") and not key.lower().startswith("x_"):
        errors.append(f"resources: unknown key {key}")
allowed = {"name", "abstract", "description", "version", "maintainer", "license", "provides", "prereqs",
           "resources", "generated_by", "tags", "release_status", "no_index", "meta-spec"}
for key in meta:
    if key not in allowed and not key.lower().startswith("x_"):
        errors.append(f"unknown top-level key {key}")
if meta.get("release_status", "stable") not in ("stable", "testing", "unstable"):
    errors.append("release_status must be stable, testing or unstable")

changelog = (root / "debian" / "changelog").read_text().splitlines()[0]
m = re.match(r"^\S+ \((?:\d+:)?([^)-]+)-[^)]+\)", changelog)
if not m or m.group(1) != semver:
    errors.append(f"debian/changelog's version ({changelog}) does not agree with {semver}")

for e in errors:
    print(f"META.json: {e}")
if errors:
    sys.exit(1)
print(f"ok: META.json valid (PGXN Meta Spec 1.0.0), version {version} = default_version {default_version}, debian/changelog agrees")
