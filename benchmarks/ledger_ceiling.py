"""The ceiling of ledger appends a second for one campaign on PostgreSQL.

A campaign's ledger is one hash chain: each response's entry names the one before it, so
the campaign's submissions take its chain's lock in turn (`ledger.lock_chain`) and commit
one after another. This script measures what that costs: `--workers` processes each submit
through the one submission core (`intake.store.record`: response, tally step, ledger
entry; one commit each) for `--seconds`,

1. all into ONE campaign (every submission waits for the chain's lock), then
2. each into its OWN campaign (no shared lock): the reference, measured in the same run,

and prints submissions a second for each and their ratio. The gap is the serialisation; the
first figure is the ceiling for one campaign on this machine and this PostgreSQL.

    .venv/bin/python benchmarks/ledger_ceiling.py [--url postgresql://postgres@127.0.0.1:5432/]
        [--workers 1,2,4,8] [--seconds 10]

It creates its own database (survey_ceiling) on the server and drops it at the end.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SATISFACTION = ["TC1", "TC2", "TC3", "TC4", "TT1", "TT2", "TT3", "TT4", "CC1", "CC2", "CC3",
                "CC4", "CC5", "KQ1", "KQ2", "KQ3", "PA1", "PA2", "PA3"]
DATABASE = "survey_ceiling"


def _app(url: str):
    from survey_app import create_app

    return create_app({"SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": url})


def setup(url: str, campaigns: int) -> None:
    from flask_migrate import upgrade

    from survey_app import demo
    from survey_app.extensions import db
    from survey_app.models import Campaign, utcnow
    from survey_app.services import campaigns as service

    app = _app(url)
    with app.app_context():
        upgrade()
        demo.seed("bench-password")
        db.session.commit()
        first = db.session.query(Campaign).filter_by(code="demo").one()
        version = first.version
        today = utcnow().date()
        codes = [s.agency.code for s in first.scope]
        for k in range(1, campaigns):
            service.create_campaign(
                code=f"bench-{k}", name=f"Bench {k}", period="2026",
                version_ref=f"{version.questionnaire.code}:{version.number}",
                opens=today - timedelta(days=1), closes=today + timedelta(days=30),
                agency_codes=codes)
        db.session.commit()


def worker(url: str, code: str, seconds: float, start, out) -> None:
    from survey_app.extensions import db
    from survey_app.intake import store
    from survey_app.models import Campaign

    app = _app(url)
    with app.app_context():
        campaign = db.session.query(Campaign).filter_by(code=code).one()
        agencies = [s.agency for s in campaign.scope]
        n = 0
        start.wait()
        stop = time.perf_counter() + seconds
        while time.perf_counter() < stop:
            answers = {c: (n + k) % 5 + 1 for k, c in enumerate(SATISFACTION)}
            store.record(campaign=campaign, agency=agencies[n % len(agencies)],
                         channel="api", answers=answers, check_window=False)
            db.session.commit()
            n += 1
        out.put(n)


def run(url: str, codes: list[str], seconds: float) -> float:
    ctx = mp.get_context("spawn")
    start, out = ctx.Barrier(len(codes) + 1), ctx.Queue()
    procs = [ctx.Process(target=worker, args=(url, code, seconds, start, out))
             for code in codes]
    for p in procs:
        p.start()
    start.wait()
    total = sum(out.get() for _ in procs)
    for p in procs:
        p.join()
    return total / seconds


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/")
    ap.add_argument("--workers", default="1,2,4,8")
    ap.add_argument("--seconds", type=float, default=10)
    args = ap.parse_args(argv)
    counts = [int(w) for w in args.workers.split(",")]
    server = args.url.replace("postgresql://", "postgresql+psycopg://", 1)
    admin = create_engine(server.rstrip("/") + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE}"'))
        conn.execute(text(f'CREATE DATABASE "{DATABASE}"'))
    url = server.rstrip("/") + f"/{DATABASE}"
    try:
        setup(url, max(counts))
        codes = ["demo", *[f"bench-{k}" for k in range(1, max(counts))]]
        print(f"{'workers':>7} | {'one campaign /s':>15} | {'own campaigns /s':>16} | ratio")
        for n in counts:
            shared = run(url, ["demo"] * n, args.seconds)
            apart = run(url, codes[:n], args.seconds)
            print(f"{n:>7} | {shared:>15,.0f} | {apart:>16,.0f} | {shared / apart:.2f}",
                  flush=True)
        engine = create_engine(url)
        with engine.connect() as conn:
            stored = conn.execute(text("SELECT count(*) FROM response")).scalar()
            size = conn.execute(text("SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c"
                                     " WHERE c.relname IN ('response', 'ledger_entry')"
                                     " AND c.relkind = 'r'")).scalar()
        engine.dispose()
        print(f"{stored:,} responses stored; the response and ledger tables with their "
              f"indexes: {size / stored:,.0f} bytes a response")
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
        admin.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
