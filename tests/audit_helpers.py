"""Helpers shared by the audit tests (importable by name, like web_helpers)."""

from __future__ import annotations

import itertools
import os
import re
import subprocess
import sys
from datetime import date

import numpy as np
from sqlalchemy import select, text
from web_helpers import SATISFACTION_CODES, answer_form, full_answers


def varied(k: int, **extra) -> dict:
    """A plausible answer set that is neither straight-lined nor a near copy of another k."""
    scores = np.random.default_rng(1000 + k).integers(1, 6, size=len(SATISFACTION_CODES))
    data = {code: str(v) for code, v in zip(SATISFACTION_CODES, scores, strict=True)}
    data.update(extra)
    return data


def open_path(app, agency: str = "X-SONDUONG") -> str:
    from survey_app.extensions import db
    from survey_app.models import CampaignAgency

    with app.app_context():
        code = db.session.scalar(select(CampaignAgency.open_code).where(
            CampaignAgency.agency.has(code=agency)))
    return f"/k/{code}"


_addresses = itertools.count(1)


def citizen(app, address: str | None = None):
    """A fresh browser; each from its own network address unless one is given."""
    client = app.test_client()
    n = next(_addresses)
    client.environ_base["REMOTE_ADDR"] = address or f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"
    return client


def answer_open(app, answers: dict, agency: str = "X-SONDUONG", address: str | None = None
                ) -> None:
    """One citizen (a fresh browser) answers through the agency's open link."""
    resp = answer_form(citizen(app, address), open_path(app, agency), answers)
    assert resp.status_code == 303, resp.status_code


def issue(app, agency: str, count: int, collector: str, deadline: date | None = None
          ) -> list[tuple[str, str]]:
    """Issue numbered forms; returns [(serial, path of its single-use link)]."""
    from survey_app.extensions import db
    from survey_app.services import issuance

    with app.app_context():
        campaign, agency_row, _ = issuance.get_scope("demo", agency)
        _, forms = issuance.issue_batch(campaign, agency_row, count, collector, deadline)
        db.session.commit()
    return [(serial, "/f/" + url.rsplit("/f/", 1)[1]) for serial, url in forms]


def answer_single_use(app, path: str, answers: dict | None = None) -> None:
    resp = answer_form(citizen(app), path, answers or full_answers(4))
    assert resp.status_code == 303, resp.status_code


def user(db, username: str):
    from survey_app.models import User

    return db.session.scalar(select(User).filter_by(username=username))


def run_analysis(*args, lang: str | None = "en") -> tuple[int, str]:
    """``python -m analysis ARGS`` as an auditor runs it; in English by default, as the
    tests assert its English wording (``lang=None``: the tool's own default, Vietnamese)."""
    env = {k: v for k, v in os.environ.items() if k != "SURVEY_ANALYSIS_LANG"}
    lang_args = ["--lang", lang] if lang else []
    proc = subprocess.run([sys.executable, "-W", "error", "-m", "analysis", *lang_args,
                           *map(str, args)], capture_output=True, text=True, timeout=120,
                          env=env)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, proc.stdout + proc.stderr


def export_bundle(runner, tmp_path, name: str = "bundle.zip"):
    path = tmp_path / name
    result = runner.invoke(args=["export-audit", "--campaign", "demo", "--out", str(path)])
    assert result.exit_code == 0, result.output
    return path


def tamper(db, statement, **params):
    """Write as someone with database access would: around the append-only triggers."""
    dialect = db.engine.dialect.name
    table = re.search(r"(?:UPDATE|FROM|INTO)\s+(\w+)", statement).group(1)
    with db.engine.begin() as conn:
        if dialect == "sqlite":
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {table}_no_update")
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {table}_no_delete")
        else:
            conn.exec_driver_sql(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        conn.execute(text(statement), params)
        if dialect == "postgresql":
            conn.exec_driver_sql(f"ALTER TABLE {table} ENABLE TRIGGER USER")
