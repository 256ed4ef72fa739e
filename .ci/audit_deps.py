"""Audit the locked dependencies (requirements.lock) with pip-audit: exit 1 when any has a
known vulnerability, naming it and its fix.

pip-audit asks a vulnerability service (PyPI's JSON API, or OSV) about each pinned
version. A dependency the service could not answer for is *not audited*, which is not the
same as safe: this script says how many and why, and with --strict treats it as a
failure. Without --strict (CI on a machine whose network does not reach the service) it
prints NOT AUDITED and exits 0, so that the missing check is visible, not faked.

    python .ci/audit_deps.py [--strict] [--lock requirements.lock] [--pip-audit PATH]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lock", default="requirements.lock")
    ap.add_argument("--strict", action="store_true",
                    help="a dependency that could not be audited fails the audit")
    ap.add_argument("--pip-audit", default=shutil.which("pip-audit") or "pip-audit")
    args = ap.parse_args(argv)
    done = subprocess.run(
        [args.pip_audit, "--requirement", args.lock, "--no-deps", "--disable-pip",
         "--format", "json", "--progress-spinner", "off"],
        capture_output=True, text=True, timeout=600)
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        print(f"pip-audit failed (exit {done.returncode}):\n{done.stderr.strip()[-2000:]}")
        return 2 if args.strict else 0
    deps = report.get("dependencies", [])
    vulnerable = [d for d in deps if d.get("vulns")]
    skipped = [d for d in deps if "skip_reason" in d]
    audited = len(deps) - len(skipped)
    for dep in vulnerable:
        for vuln in dep["vulns"]:
            fixes = ", ".join(vuln.get("fix_versions") or []) or "no fixed version yet"
            print(f"VULNERABLE: {dep['name']} {dep['version']}: {vuln['id']} (fixed in {fixes})")
    if vulnerable:
        return 1
    if skipped:
        print(f"{len(skipped)} of {len(deps)} dependencies could not be audited, e.g. "
              f"{skipped[0]['skip_reason']}")
    if deps and not audited:
        print("NOT AUDITED: the vulnerability service answered for none of the locked "
              "dependencies (no network route to it from this machine?).")
        return 2 if args.strict else 0
    print(f"{audited} locked dependencies audited: no known vulnerability.")
    return 2 if (skipped and args.strict) else 0


if __name__ == "__main__":
    sys.exit(main())
