"""Computing every index of a campaign from the database, at 100 thousand, 1 million and
10 million responses (19 satisfaction items, about 150 agencies), on SQLite.

For each size the script builds a synthetic campaign through the application's schema
(responses with their answers, and the per-(agency, item, score) tally the application
keeps as it accepts each response), then times, in the same run:

- the application's path: analysis.load.tally (SQL) + analysis.indices.indices_table
  (criterion, element and service indices with Wilson intervals), and its peak memory;
- a reference: one hand-written SQL query computing the criterion indices from the same
  tally table;
- for context, the same counts aggregated from the raw responses (json_each), which is
  what a design without a tally would have to do (skipped above --raw-limit responses).

    .venv/bin/python benchmarks/indices_scale.py [--sizes 100000,1000000,10000000]
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

AGENCIES = 150
REFERENCE = """
    SELECT a.code, i.code, sum(CASE WHEN t.score >= 4 THEN t.n ELSE 0 END) * 100.0 /
           sum(t.n) AS idx, sum(t.n) AS n
    FROM answer_tally t JOIN agency a ON a.id = t.agency_id JOIN item i ON i.id = t.item_id
    WHERE t.campaign_id = ? AND t.score BETWEEN 1 AND 5
    GROUP BY a.code, i.code"""
RAW = """
    SELECT r.agency_id, j.key, j.value, count(*) FROM response r, json_each(r.answers) j
    WHERE r.campaign_id = ? GROUP BY 1, 2, 3"""


def build(size: int, work: Path) -> tuple[Path, int]:
    """A fresh database with the demo questionnaire, 150 agencies and `size` responses."""
    os.environ["SURVEY_INSTANCE_PATH"] = str(work / f"inst-{size}")
    from flask_migrate import upgrade

    from survey_app import create_app
    from survey_app.extensions import db
    from survey_app.models import Agency, QuestionnaireVersion
    from survey_app.services import campaigns, questionnaires

    app = create_app({"SECRET_KEY": "bench"})
    with app.app_context():
        upgrade()
        db.session.add(Agency(code="P", name="Tỉnh", kind="province"))
        db.session.flush()
        root = db.session.query(Agency).one()
        for k in range(AGENCIES):
            db.session.add(Agency(code=f"X{k:03d}", name=f"Xã {k}", kind="commune", parent=root))
        questionnaires.load_file(questionnaires.SIPAS_FILE)
        from datetime import date

        campaign = campaigns.create_campaign(
            code="bench", name="Benchmark", period="2026", version_ref="sipas",
            opens=date(2026, 1, 1), closes=date(2026, 12, 31),
            agency_codes=[f"X{k:03d}" for k in range(AGENCIES)])
        db.session.commit()
        version = db.session.get(QuestionnaireVersion, campaign.version_id)
        items = [(i.id, i.code) for i in version.satisfaction_items()]
        agency_ids = [s.agency_id for s in campaign.scope]
        cid = campaign.id
        path = Path(db.engine.url.database)
        db.engine.dispose()

    rng = np.random.default_rng(1)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    tally = np.zeros((len(agency_ids), len(items), 6), dtype=np.int64)
    chunk = 200_000
    probs = [0.03, 0.05, 0.04, 0.15, 0.45, 0.28]  # 0 = not applicable, then 1..5
    for start in range(0, size, chunk):
        n = min(chunk, size - start)
        agency_idx = rng.integers(0, len(agency_ids), n)
        scores = rng.choice(6, size=(n, len(items)), p=probs)
        np.add.at(tally, (agency_idx[:, None], np.arange(len(items))[None, :], scores), 1)
        rows = []
        for r in range(n):
            answers = {code: int(s) for (_, code), s in zip(items, scores[r], strict=True)}
            rows.append((cid, agency_ids[agency_idx[r]], "open", f"B{start + r:010d}",
                         "2026-06-01 08:00:00", json.dumps(answers, separators=(",", ":"))))
        conn.executemany("INSERT INTO response (campaign_id, agency_id, channel, receipt_code, "
                         "submitted_at, answers) VALUES (?, ?, ?, ?, ?, ?)", rows)
        conn.commit()
    conn.executemany(
        "INSERT INTO answer_tally (campaign_id, agency_id, item_id, score, n) VALUES (?,?,?,?,?)",
        [(cid, agency_ids[a], items[i][0], s, int(tally[a, i, s]))
         for a in range(len(agency_ids)) for i in range(len(items)) for s in range(6)
         if tally[a, i, s]])
    conn.commit()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return path, cid


def time_app(path: Path, cid: int) -> tuple[float, float, int]:
    """Seconds and peak MiB of the application's index computation, and the row count."""
    from sqlalchemy import create_engine

    from analysis import indices_table
    from analysis import load as loader

    engine = create_engine(f"sqlite:///{path}")
    def compute():
        with engine.connect() as conn:
            info = loader.campaign(conn, "bench")
            return indices_table(loader.tally(conn, info["id"]),
                                 loader.codebook(conn, info["version_id"]))

    # Peak memory in a pass of its own: tracing allocations slows Python down severalfold.
    tracemalloc.start()
    rows = len(compute())
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        compute()
        best = min(best, time.perf_counter() - t0)
    engine.dispose()
    return best, peak, rows


def time_sql(path: Path, sql: str, cid: int, repeat: int = 3) -> float:
    conn = sqlite3.connect(path)
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        conn.execute(sql, (cid,)).fetchall()
        best = min(best, time.perf_counter() - t0)
    conn.close()
    return best


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="100000,1000000,10000000")
    ap.add_argument("--raw-limit", type=int, default=1_000_000,
                    help="largest size for the raw json_each aggregation (it is slow)")
    ap.add_argument("--keep", action="store_true", help="keep the scratch databases")
    args = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="survey-indices-"))
    print(f"scratch folder: {work}")
    print(f"{'responses':>11} {'db MiB':>8} {'build s':>8} {'app s':>7} {'peak MiB':>9} "
          f"{'ref s':>7} {'app/ref':>7} {'raw s':>7} {'rows':>6}")
    results = []
    for size in (int(s) for s in args.sizes.split(",")):
        t0 = time.perf_counter()
        path, cid = build(size, work)
        built = time.perf_counter() - t0
        app_s, peak, rows = time_app(path, cid)
        ref_s = time_sql(path, REFERENCE, cid)
        raw_s = time_sql(path, RAW, cid, repeat=1) if size <= args.raw_limit else float("nan")
        mib = path.stat().st_size / 2**20
        results.append((size, app_s, peak, ref_s))
        print(f"{size:>11,} {mib:>8.0f} {built:>8.1f} {app_s:>7.3f} {peak:>9.1f} {ref_s:>7.3f} "
              f"{app_s / ref_s:>7.2f} {raw_s:>7.2f} {rows:>6}", flush=True)
        if not args.keep:
            for f in path.parent.glob(path.name + "*"):
                f.unlink()
    if len(results) > 1:
        (n0, a0, m0, _), (n1, a1, m1, _) = results[0], results[-1]
        print(f"growth from {n0:,} to {n1:,} responses: time x{a1 / a0:.2f}, "
              f"peak memory x{m1 / m0:.2f} (responses x{n1 / n0:.0f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
