"""The dependency audit's verdicts (.ci/audit_deps.py), from pip-audit's JSON report: a
known vulnerability fails, a dependency the service could not answer for is reported as
not audited (a failure with --strict), never as safe. pip-audit itself is stood in for by
a script printing a report, as the vulnerability service is not reachable from the test."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / ".ci" / "audit_deps.py"


def _audit(tmp_path, report: dict, *flags: str) -> tuple[int, str]:
    fake = tmp_path / "pip-audit"
    fake.write_text(f"#!{sys.executable}\nprint({json.dumps(json.dumps(report))})\n")
    fake.chmod(0o755)
    lock = tmp_path / "requirements.lock"
    lock.write_text("flask==3.1.3\njinja2==2.10\n")
    done = subprocess.run([sys.executable, str(SCRIPT), "--pip-audit", str(fake),
                           "--lock", str(lock), *flags], capture_output=True, text=True,
                          timeout=60)
    return done.returncode, done.stdout


CLEAN = {"name": "flask", "version": "3.1.3", "vulns": []}
SKIPPED = {"name": "jinja2", "skip_reason": "Dependency not found on PyPI: jinja2 (2.10)"}


def test_a_known_vulnerability_fails_and_names_its_fix(tmp_path):
    report = {"dependencies": [CLEAN, {"name": "jinja2", "version": "2.10", "vulns": [
        {"id": "PYSEC-2019-217", "fix_versions": ["2.10.1"], "description": "sandbox"}]}]}
    code, out = _audit(tmp_path, report)
    assert code == 1
    assert "VULNERABLE: jinja2 2.10: PYSEC-2019-217 (fixed in 2.10.1)" in out


def test_all_audited_and_clean_passes(tmp_path):
    code, out = _audit(tmp_path, {"dependencies": [CLEAN]})
    assert code == 0 and "1 locked dependencies audited: no known vulnerability" in out


@pytest.mark.parametrize("deps, strict_code", [([SKIPPED], 2), ([CLEAN, SKIPPED], 2)])
def test_what_could_not_be_audited_is_said_and_fails_when_strict(tmp_path, deps, strict_code):
    code, out = _audit(tmp_path, {"dependencies": deps})
    assert code == 0 and "could not be audited" in out
    if len(deps) == 1:
        assert "NOT AUDITED" in out and "no known vulnerability" not in out
    assert _audit(tmp_path, {"dependencies": deps}, "--strict")[0] == strict_code
