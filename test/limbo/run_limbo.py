#!/usr/bin/env python3
"""Runs the limbo suites through netbox_ssl's chain validator.

    run_limbo.py --sql  [--min-limbo PCT --min-online PCT --min-crl PCT] [--verbose] [--json F]
    run_limbo.py --core --cli build/dev/chain_cli [...]

--sql (the test the issue asks for) drives ssl_validate_chain through psql
(PGHOST etc. from the environment, extension installed in PGDATABASE). Per
case, in one transaction that is rolled back: the roots are loaded with
ssl_trust_anchor_load, the leaf is stored with ssl_import and its
intermediates put in issuer_chain, then
ssl_validate_chain(id, validation_time, peer name, max_depth) is called.
A case with CRLs (x509-limbo's `crls`) also stores its intermediates with
ssl_import (so that a CRL's issuer is known), loads each CRL with
ssl_crl_load (one that it refuses, e.g. a bad signature, is ignored, as a
validator ignores it) and validates with revocation => 'if_available'.
--core runs the same cases through the C++ core (test/limbo/chain_cli,
--depth and --crls likewise).

Suites: "limbo" (the x509-limbo subset), "online" (real-site chains) and
"crl" (netbox_ssl's own limbo-format revocation cases, written by
test/limbo/gen_crl_cases.py), one line each.

A case agrees when status = 'valid' exactly for the SUCCESS cases. A leaf
that ssl_import refuses counts as a rejection (it can never be validated).
With --min-*, exits 1 if agreement falls below the published figure.
"""
import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cases as limbo  # noqa: E402

def sql_skip_reason(case):
    # Both modes run the same cases: max_chain_depth is ssl_validate_chain's
    # max_depth argument, CRLs go through ssl_crl_load.
    return case.skip_reason


def epoch(iso):
    return int(datetime.datetime.fromisoformat(iso).timestamp())


def dollar(s):
    tag = "$limbo$"
    assert tag not in s
    return tag + s + tag


def run_core(case, cli, tmp):
    def write(name, pems):
        path = os.path.join(tmp, name)
        with open(path, "w", encoding="ascii") as f:
            f.write("".join(p if p.endswith("\n") else p + "\n" for p in pems))
        return path
    cmd = [cli]
    if case.validation_time:
        cmd += ["--at", str(epoch(case.validation_time))]
    if case.peer_name is not None:
        cmd += ["--host", case.peer_name]
    if case.max_chain_depth is not None:
        cmd += ["--depth", str(case.max_chain_depth)]
    if case.crls:
        cmd += ["--crls", write("crls.pem", case.crls)]
    cmd += [write("roots.pem", case.roots), write("untrusted.pem", case.intermediates), write("leaf.pem", [case.leaf])]
    r = subprocess.run(cmd, capture_output=True, text=True)
    parts = r.stdout.rstrip("\n").split("\t")
    if len(parts) < 3:
        return "error", r.stderr.strip()
    return parts[0], parts[2]


def sql_for(case, n):
    """One rolled-back transaction printing 'n<TAB>status<TAB>message'."""
    at = "'%s'::timestamptz" % case.validation_time if case.validation_time else "now()"
    host = "NULL" if case.peer_name is None else dollar(case.peer_name)
    roots = dollar("".join(case.roots))
    chain = dollar("".join(p if p.endswith("\n") else p + "\n" for p in case.intermediates))
    leaf = dollar(case.leaf)
    depth = "NULL" if case.max_chain_depth is None else "%d" % case.max_chain_depth
    revocation = "'if_available'"  # the default, explicit: CRL cases depend on it
    # CRL cases: the intermediates become stored certificates so that
    # ssl_crl_load can verify the CRLs they issued; a CA certificate that
    # ssl_import refuses simply stays unknown.
    store_intermediates = "".join(f"""
    BEGIN
        PERFORM ssl_import({dollar(p)});
    EXCEPTION WHEN OTHERS THEN
        NULL;
    END;""" for p in case.intermediates) if case.crls else ""
    # A CRL that ssl_crl_load refuses (22023 bad signature, 22P02) is ignored.
    load_crls = "".join(f"""
    BEGIN
        PERFORM ssl_crl_load({dollar(p)});
    EXCEPTION WHEN OTHERS THEN
        RAISE NOTICE 'LIMBOCRL	{n}	%', SQLERRM;
    END;""" for p in case.crls)
    return f"""BEGIN;
DO $do$
DECLARE
    cid bigint;
    r record;
BEGIN
    PERFORM ssl_trust_anchor_load({roots});{store_intermediates}
    BEGIN
        cid := ssl_import({leaf});
    EXCEPTION WHEN OTHERS THEN
        RAISE NOTICE 'LIMBO	{n}	refused	ssl_import refused the leaf: %', SQLERRM;
        RETURN;
    END;
    UPDATE ssl_certificate SET issuer_chain = {chain} WHERE id = cid;{load_crls}
    SELECT * INTO r FROM ssl_validate_chain(cid, {at}, {host}, max_depth => {depth}, revocation => {revocation});
    RAISE NOTICE 'LIMBO	{n}	%	%', r.status, r.message;
END
$do$;
ROLLBACK;
"""


def run_sql(items):
    script = "SET client_min_messages = notice;\n" + "".join(sql_for(c, i) for i, c in enumerate(items))
    r = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=0", "-f", "-"], input=script,
                       capture_output=True, text=True)
    out = {}
    for line in r.stderr.splitlines():
        if "LIMBO\t" not in line:
            continue
        _, n, status, message = line.split("LIMBO\t", 1)[1].split("\t", 3) if False else (None, *line.split("LIMBO\t", 1)[1].split("\t", 2))
        out[int(n)] = (status, message)
    errors = [l for l in r.stderr.splitlines() if l.startswith("psql:") and "ERROR" in l]
    return out, errors


def main():
    ap = argparse.ArgumentParser()
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--sql", action="store_true")
    mode.add_argument("--core", action="store_true")
    ap.add_argument("--cli", default="build/dev/chain_cli")
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--json")
    ap.add_argument("--min-limbo", type=float)
    ap.add_argument("--min-online", type=float)
    ap.add_argument("--min-crl", type=float)
    args = ap.parse_args()

    report, failed = {}, False
    with tempfile.TemporaryDirectory() as tmp:
        for suite, items in limbo.suites().items():
            runnable = [c for c in items if not (sql_skip_reason(c) if args.sql else c.skip_reason)]
            if args.sql:
                got, errors = run_sql(runnable)
                for e in errors:
                    print("psql:", e)
            else:
                got = {i: run_core(c, args.cli, tmp) for i, c in enumerate(runnable)}
            agree, rows = 0, []
            for i, c in enumerate(runnable):
                status, message = got.get(i, ("missing", "no result"))
                ok = (status == "valid") == (c.expected == "SUCCESS") and status not in ("missing", "error")
                agree += ok
                rows.append({"id": c.id, "expected": c.expected, "status": status, "message": message, "agree": ok})
                if args.verbose and not ok:
                    print("DISAGREE %s expected %s got %s: %s" % (c.id, c.expected, status, message))
            for c in items:
                reason = sql_skip_reason(c) if args.sql else c.skip_reason
                if reason:
                    rows.append({"id": c.id, "skipped": reason})
                    if args.verbose:
                        print("SKIP %s: %s" % (c.id, reason))
            pct = 100.0 * agree / max(len(runnable), 1)
            print("netbox_ssl (%s), %s: %d/%d agree (%.1f%%), %d skipped"
                  % ("sql" if args.sql else "core", suite, agree, len(runnable), pct, len(items) - len(runnable)))
            report[suite] = {"agree": agree, "run": len(runnable), "cases": rows}
            floor = {"limbo": args.min_limbo, "online": args.min_online, "crl": args.min_crl}[suite]
            if floor is not None and pct < floor:
                print("FAIL: %s agreement %.1f%% is below the published %.1f%%" % (suite, pct, floor))
                failed = True
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(report, f, indent=1)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
