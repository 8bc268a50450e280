#!/usr/bin/env python3
"""The floor: `openssl verify -x509_strict -purpose sslserver` on every case.

Per case the roots go to -CAfile (with -no-CApath -no-CAstore, so the
system store never helps), the intermediates to -untrusted, the time to
-attime, the peer name to -verify_hostname or -verify_ip, and
max_chain_depth to -verify_depth, the case's CRLs (x509-limbo `crls`) to
-CRLfile with -crl_check_all (openssl has no "when available" mode: every
certificate of the path then needs a current CRL). SUCCESS means exit
status 0.

    python3 test/limbo/openssl_baseline.py [--verbose] [--json out.json]
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


def epoch(iso):
    return int(datetime.datetime.fromisoformat(iso).timestamp())


def verify(case, tmp):
    def write(name, pems):
        path = os.path.join(tmp, name)
        with open(path, "w", encoding="ascii") as f:
            f.write("".join(p if p.endswith("\n") else p + "\n" for p in pems))
        return path
    cmd = ["openssl", "verify", "-x509_strict", "-purpose", "sslserver", "-no-CApath", "-no-CAstore",
           "-CAfile", write("roots.pem", case.roots)]
    if case.intermediates:
        cmd += ["-untrusted", write("untrusted.pem", case.intermediates)]
    if case.validation_time:
        cmd += ["-attime", str(epoch(case.validation_time))]
    if case.peer_name is not None:
        cmd += ["-verify_ip" if case.peer_kind == "IP" else "-verify_hostname", case.peer_name]
    if case.max_chain_depth is not None:
        cmd += ["-verify_depth", str(case.max_chain_depth)]
    if case.crls:
        cmd += ["-crl_check_all", "-CRLfile", write("crls.pem", case.crls)]
    cmd.append(write("leaf.pem", [case.leaf]))
    r = subprocess.run(cmd, capture_output=True, text=True)
    lines = (r.stdout + r.stderr).strip().splitlines()
    detail = next((l for l in lines if "error" in l), lines[-1] if lines else "")
    return ("SUCCESS" if r.returncode == 0 else "FAILURE"), detail


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--json")
    args = ap.parse_args()
    report = {}
    with tempfile.TemporaryDirectory() as tmp:
        for suite, items in limbo.suites().items():
            agree = run = 0
            rows = []
            for case in items:
                if case.skip_reason:
                    rows.append({"id": case.id, "skipped": case.skip_reason})
                    continue
                got, detail = verify(case, tmp)
                run += 1
                ok = got == case.expected
                agree += ok
                rows.append({"id": case.id, "expected": case.expected, "got": got, "detail": detail})
                if args.verbose and not ok:
                    print("DISAGREE %s expected %s got %s: %s" % (case.id, case.expected, got, detail))
            print("openssl verify, %s: %d/%d agree (%.1f%%), %d skipped"
                  % (suite, agree, run, 100.0 * agree / max(run, 1), len(items) - run))
            report[suite] = {"agree": agree, "run": run, "cases": rows}
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()
