"""Computing every index of a campaign from the database, at 100 thousand, 1 million and
10 million responses (19 satisfaction items, about 150 agencies), on SQLite.

For each size the script builds a synthetic campaign through the application's schema
(responses with their answers, and the per-(agency, item, score) tally the application
keeps as it accepts each response), then times, in the same run:

- app: what the results pages compute before any interval that needs respondents —
  the campaign, its codebook and the agency tree, the tally summed per (agency, item)
  by SQL (analysis.load.tally_counts), then analysis.indices_table twice: every
  agency's own indices and every unit's indices rolled up through the agency tree
  (criterion index with its Wilson interval, n and mean score; element and service
  index, n and mean score), and its peak memory;
- ref: a reference, one hand-written SQL query computing the criterion indices (index
  and n per agency and item) from the same tally table, and nothing else: no interval,
  mean score, element or service index, or roll-up. app/ref is their ratio (best of
  several runs each, alternated);
- page: the results service's first view of the campaign (results.campaign_indices,
  cache empty) without the bootstrap, and with it (1000 replicates, seed 0, at most
  2000 respondents a group, as the pages use): "boot" is the difference, the
  respondent bootstrap of every agency's and the province's element and service
  intervals; its peak memory is traced up to --trace-limit responses;
- kept / +new: the same first view with the bootstrap in a new process once the groups'
  intervals are kept (`derived_result`, as the first view or the nightly `flask
  checkpoint` leaves them), and after one new response in each agency (only the groups
  whose sampled respondents changed are bootstrapped again);
- raw: for context, the same counts aggregated from the raw responses (json_each),
  which is what a design without a tally would have to do (up to --raw-limit);
- bd ch / bd pr: the results service's breakdown by channel and by a profile question
  (GIOI_TINH; results.breakdown, no bootstrap, cache empty), from the kept cross counts
  (`cross_tally`, built here as the application keeps it: every response has a channel,
  nine in ten answer GIOI_TINH) (up to --breakdown-limit).

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
CHANNELS = ("open", "single_use", "paper", "api")
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
        from analysis.load_cross import CrossPlan

        plan = CrossPlan.of([(i.code, i.type) for i in version.items])
        agency_ids = [s.agency_id for s in campaign.scope]
        cid = campaign.id
        path = Path(db.engine.url.database)
        db.engine.dispose()

    rng = np.random.default_rng(1)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    tally = np.zeros((len(agency_ids), len(items), 6), dtype=np.int64)
    # The cross counts' vectors per agency and channel, and per agency and GIOI_TINH answer.
    slots = np.array([plan.scored[code] for _, code in items])
    by_channel = np.zeros((len(agency_ids), len(CHANNELS), plan.size), dtype=np.int64)
    by_sex = np.zeros((len(agency_ids), 4, plan.size), dtype=np.int64)  # 0: no answer
    chunk = 200_000
    probs = [0.03, 0.05, 0.04, 0.15, 0.45, 0.28]  # 0 = not applicable, then 1..5
    for start in range(0, size, chunk):
        n = min(chunk, size - start)
        agency_idx = rng.integers(0, len(agency_ids), n)
        scores = rng.choice(6, size=(n, len(items)), p=probs)
        channel_idx = rng.choice(len(CHANNELS), size=n, p=[0.6, 0.1, 0.2, 0.1])
        sex = rng.choice(4, size=n, p=[0.1, 0.45, 0.44, 0.01])
        np.add.at(tally, (agency_idx[:, None], np.arange(len(items))[None, :], scores), 1)
        keep = [(r, agency_idx[r], channel_idx[r], sex[r], scores[r]) for r in range(n)]
        add_cross(by_channel, by_sex, keep, slots, plan.respondents, 1)
        rows = []
        for r in range(n):
            answers = {code: int(s) for (_, code), s in zip(items, scores[r], strict=True)}
            if sex[r]:
                answers["GIOI_TINH"] = str(sex[r])
            rows.append((cid, agency_ids[agency_idx[r]], CHANNELS[channel_idx[r]],
                         f"B{start + r:010d}", "2026-06-01 08:00:00",
                         json.dumps(answers, separators=(",", ":"), sort_keys=True)))
        conn.executemany("INSERT INTO response (campaign_id, agency_id, channel, receipt_code, "
                         "submitted_at, answers) VALUES (?, ?, ?, ?, ?, ?)", rows)
        conn.commit()
    # As the application keeps it: the tally counts the responses up to its mark, and the
    # last TALLY_STEP - 1 lie after it, counted from their answers when read.
    from survey_app.config import Defaults

    tail = Defaults.TALLY_STEP - 1
    for r in range(n - tail, n):
        np.subtract.at(tally, (agency_idx[r], np.arange(len(items)), scores[r]), 1)
    add_cross(by_channel, by_sex, [(r, agency_idx[r], channel_idx[r], sex[r], scores[r])
                                   for r in range(n - tail, n)], slots, plan.respondents, -1)
    last = conn.execute("SELECT max(id) FROM response").fetchone()[0]
    conn.execute("INSERT INTO tally_mark (campaign_id, response_id) VALUES (?, ?)",
                 (cid, last - tail))
    conn.executemany(
        "INSERT INTO answer_tally (campaign_id, agency_id, item_id, score, n) VALUES (?,?,?,?,?)",
        [(cid, agency_ids[a], items[i][0], s, int(tally[a, i, s]))
         for a in range(len(agency_ids)) for i in range(len(items)) for s in range(6)
         if tally[a, i, s]])
    from analysis.load_cross import encode

    conn.executemany(
        "INSERT INTO cross_tally (campaign_id, agency_id, group_by, group_value, counts) "
        "VALUES (?, ?, ?, ?, ?)",
        [(cid, agency_ids[a], "channel", CHANNELS[c], encode(by_channel[a, c]))
         for a in range(len(agency_ids)) for c in range(len(CHANNELS))
         if by_channel[a, c].any()]
        + [(cid, agency_ids[a], "GIOI_TINH", str(v), encode(by_sex[a, v]))
           for a in range(len(agency_ids)) for v in range(1, 4) if by_sex[a, v].any()])
    conn.commit()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return path, cid


def add_cross(by_channel, by_sex, responses, slots, respondents: int, sign: int) -> None:
    """Add (or take away) responses (index, agency, channel, GIOI_TINH answer, scores) to
    the cross counts' vectors, as `analysis.load_cross.add_cross` counts them."""
    for _, a, c, s, scores in responses:
        for table, group in ((by_channel, c), (by_sex, s)):
            table[a, group, slots + scores] += sign
            table[a, group, respondents] += sign


def time_app(path: Path, cid: int, sql: str, repeat: int = 7) -> tuple[float, float, int, float]:
    """Best seconds and peak MiB of the application's index computation, the number of
    index rows it gives, and the best seconds of the reference query ``sql``, the two
    alternated so that both see the same load on the machine."""
    from sqlalchemy import create_engine

    from analysis import indices_table
    from analysis import load as loader

    engine = create_engine(f"sqlite:///{path}")

    def compute():
        with engine.connect() as conn:
            info = loader.campaign(conn, "bench")
            book = loader.codebook(conn, info["version_id"])
            tree = loader.agencies(conn)
            counts = loader.tally_counts(conn, info["id"], book)
            own = indices_table(counts, book)
            rolled = indices_table(counts, book, agencies=tree)
            return len(own) + len(rolled)

    # Peak memory in a pass of its own: tracing allocations slows Python down severalfold.
    tracemalloc.start()
    rows = compute()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    ref = sqlite3.connect(path)
    ref.execute(sql, (cid,)).fetchall()
    best = best_ref = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        compute()
        best = min(best, time.perf_counter() - t0)
        t0 = time.perf_counter()
        ref.execute(sql, (cid,)).fetchall()
        best_ref = min(best_ref, time.perf_counter() - t0)
    ref.close()
    engine.dispose()
    return best, peak, rows, best_ref


def time_page(size: int, work: Path, trace: bool, breakdown: bool) -> dict:
    """Seconds of the results service's first view without the bootstrap (``plain``),
    with it and nothing kept (``booted``), with the intervals kept (``kept``) and after a
    new response in each agency (``changed``); the peak MiB of the bootstrap (NaN when
    not traced) and the seconds of a breakdown by channel and by GIOI_TINH (NaN when not
    asked for)."""
    os.environ["SURVEY_INSTANCE_PATH"] = str(work / f"inst-{size}")
    from survey_app import create_app
    from survey_app.extensions import db
    from survey_app.services import results

    app = create_app({"SECRET_KEY": "bench"})
    with app.app_context():
        campaign = results.get("bench")

        def first_view(bootstrap: int, forget: bool = True) -> float:
            app.extensions.pop("results_cache", None)
            if forget:
                db.session.execute(db.text("DELETE FROM derived_result"))
                db.session.commit()
            t0 = time.perf_counter()
            results.campaign_indices(campaign, bootstrap=bootstrap, seed=0, cap=2000)
            db.session.commit()
            return time.perf_counter() - t0

        out = {"plain": min(first_view(0) for _ in range(2)), "booted": first_view(1000),
               "peak": float("nan"), "split": (float("nan"), float("nan"))}
        if trace:
            tracemalloc.start()
            first_view(1000)
            out["peak"] = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
        first_view(1000)
        out["kept"] = min(first_view(1000, forget=False) for _ in range(2))
        add_one_each(Path(db.engine.url.database), campaign.id)
        out["changed"] = first_view(1000, forget=False)
        if breakdown:
            split = []
            for by in ("channel", "GIOI_TINH"):
                app.extensions.pop("results_cache", None)
                t0 = time.perf_counter()
                results.breakdown([campaign], by, bootstrap=0)
                split.append(time.perf_counter() - t0)
            out["split"] = tuple(split)
        db.engine.dispose()
    return out


def add_one_each(path: Path, cid: int) -> None:
    """One more response in each agency of the campaign, after the tally's mark (counted
    from its answers when read, as the application's latest responses are)."""
    conn = sqlite3.connect(path)
    items = [code for (code,) in conn.execute(
        "SELECT i.code FROM item i JOIN campaign c ON c.version_id = i.version_id "
        "WHERE c.id = ? AND i.type = 'satisfaction' ORDER BY i.position", (cid,))]
    agencies = [a for (a,) in conn.execute(
        "SELECT agency_id FROM campaign_agency WHERE campaign_id = ?", (cid,))]
    rng = np.random.default_rng(2)
    conn.executemany(
        "INSERT INTO response (campaign_id, agency_id, channel, receipt_code, submitted_at, "
        "answers) VALUES (?, ?, 'open', ?, '2026-06-02 08:00:00', ?)",
        [(cid, a, f"N{k:010d}", json.dumps({c: int(rng.integers(1, 6)) for c in items},
                                           separators=(",", ":"), sort_keys=True))
         for k, a in enumerate(agencies)])
    conn.commit()
    conn.close()


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
    ap.add_argument("--trace-limit", type=int, default=1_000_000,
                    help="largest size whose bootstrap memory is traced (tracing is slow)")
    ap.add_argument("--breakdown-limit", type=int, default=1_000_000,
                    help="largest size whose breakdowns are timed")
    ap.add_argument("--keep", action="store_true", help="keep the scratch databases")
    args = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="survey-indices-"))
    print(f"scratch folder: {work}")
    print("app: campaign, codebook, agency tree, tally summed per (agency, item) in SQL; "
          "criterion (Wilson 95 % interval, n, mean score), element and service indices "
          "(n, mean score) of every agency, and of every unit rolled up through the tree")
    print("ref: one SQL query: criterion index and n per agency and item from the tally "
          "(no interval, mean score, element, service or roll-up)")
    print("page: results.campaign_indices first view without bootstrap; boot: with the "
          "bootstrap (1000 replicates, <= 2000 respondents a group) minus without")
    print("kept s: the first view with the bootstrap in a new process, intervals kept; "
          "+new s: the same after one new response in each agency")
    print("bd ch / bd pr: results.breakdown by channel / by GIOI_TINH, without bootstrap")
    print(f"{'responses':>11} {'db MiB':>7} {'build s':>8} {'app s':>7} {'peak MiB':>9} "
          f"{'ref s':>7} {'app/ref':>7} {'page s':>7} {'boot s':>7} {'boot MiB':>9} "
          f"{'kept s':>7} {'+new s':>7} {'raw s':>7} {'bd ch s':>7} {'bd pr s':>7} "
          f"{'rows':>6}")
    results = []
    for size in (int(s) for s in args.sizes.split(",")):
        t0 = time.perf_counter()
        path, cid = build(size, work)
        built = time.perf_counter() - t0
        app_s, peak, rows, ref_s = time_app(path, cid, REFERENCE)
        page = time_page(size, work, size <= args.trace_limit, size <= args.breakdown_limit)
        page_s, booted_s, bd_s = page["plain"], page["booted"], page["split"]
        raw_s = time_sql(path, RAW, cid, repeat=1) if size <= args.raw_limit else float("nan")
        mib = path.stat().st_size / 2**20
        results.append((size, app_s, peak, ref_s, booted_s - page_s))
        print(f"{size:>11,} {mib:>7.0f} {built:>8.1f} {app_s:>7.3f} {peak:>9.1f} {ref_s:>7.3f} "
              f"{app_s / ref_s:>7.2f} {page_s:>7.2f} {booted_s - page_s:>7.2f} "
              f"{page['peak']:>9.1f} {page['kept']:>7.2f} {page['changed']:>7.2f} "
              f"{raw_s:>7.2f} {bd_s[0]:>7.2f} {bd_s[1]:>7.2f} {rows:>6}",
              flush=True)
        if not args.keep:
            for f in path.parent.glob(path.name + "*"):
                f.unlink()
    if len(results) > 1:
        (n0, a0, m0, _, b0), (n1, a1, m1, _, b1) = results[0], results[-1]
        print(f"growth from {n0:,} to {n1:,} responses: time x{a1 / a0:.2f}, "
              f"peak memory x{m1 / m0:.2f}, bootstrap time x{b1 / b0:.2f} "
              f"(responses x{n1 / n0:.0f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
