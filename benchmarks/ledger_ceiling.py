"""The ceiling of ledger appends a second for one campaign on PostgreSQL.

A campaign's ledger is one hash chain: each response's entry names the one before it, so
the campaign's submissions take its chain's lock in turn (`ledger.lock_chain`) and commit
one after another. This script measures what that costs: `--workers` processes each submit
through the one submission core (`intake.store.record`: response, tally step, ledger
entry; one commit each) for `--seconds`,

1. all into ONE campaign (every submission waits for the chain's lock), then
2. each into its OWN campaign (no shared lock): the reference, measured in the same run,

and prints submissions a second for each and their ratio. Each submission's time holding
the chain's lock (from the moment the lock is granted to the end of its commit) is
measured too: one over its median is the ceiling of one campaign's appends whatever the
number of workers and cores, since no two of them can hold that lock at once. On a small
machine the processes' CPU runs out first, and the two rates stay close.

    .venv/bin/python benchmarks/ledger_ceiling.py [--url postgresql://postgres@127.0.0.1:5432/]
        [--workers 1,2,4,8] [--seconds 10]

It creates its own database (survey_ceiling) on the server and drops it at the end.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import statistics
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
    from survey_app import ledger
    from survey_app.extensions import db
    from survey_app.intake import store
    from survey_app.models import Campaign

    granted, holds, waits = [0.0], [], []
    locking = ledger.lock_chain

    def lock_chain(*args, **kwargs):
        asked = time.perf_counter()
        try:
            return locking(*args, **kwargs)
        finally:
            granted[0] = time.perf_counter()
            waits.append(granted[0] - asked)

    ledger.lock_chain = lock_chain
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
            holds.append(time.perf_counter() - granted[0])
            n += 1
        out.put((n, holds, waits))


def run(url: str, codes: list[str], seconds: float) -> float:
    ctx = mp.get_context("spawn")
    start, out = ctx.Barrier(len(codes) + 1), ctx.Queue()
    procs = [ctx.Process(target=worker, args=(url, code, seconds, start, out))
             for code in codes]
    for p in procs:
        p.start()
    start.wait()
    total, holds, waits = 0, [], []
    for _ in procs:
        n, held, waited = out.get()
        total, holds, waits = total + n, holds + held, waits + waited
    for p in procs:
        p.join()
    return total / seconds, statistics.median(holds), statistics.median(waits)


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
        print(f"{'workers':>7} | {'one campaign /s':>15} | {'own campaigns /s':>16} | ratio | "
              f"lock held (median) | ceiling 1/held | wait for the lock (median)")
        for n in counts:
            shared, held, waited = run(url, ["demo"] * n, args.seconds)
            apart, _held, _waited = run(url, codes[:n], args.seconds)
            print(f"{n:>7} | {shared:>15,.0f} | {apart:>16,.0f} | {shared / apart:5.2f} | "
                  f"{held * 1e3:15.2f} ms | {1 / held:11,.0f} /s | {waited * 1e3:.2f} ms",
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
