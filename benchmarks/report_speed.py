"""How long the official report takes, on the demo with a few hundred responses.

Builds, in a scratch SQLite database, the demo (`seed-demo`) and N responses spread over
its agencies (through the one submission core, `intake.accept`, as the citizen's page
stores them: tally, ledger and all), then times in the same run:

- docx / pdf / xlsx: the official report in each format (`services.official.render`,
  caches emptied before each run: a first request), best of --runs;
- ref: the reference, the results page's own computation of the same campaign
  (`results.campaign_indices` with the same bootstrap, caches emptied) — the indices and
  intervals every report starts from; report/ref is the report's overhead as a ratio;
- where the report's time goes (gathering, content, writing) for the DOCX.

With --scale N (e.g. 1000000) the campaign is instead the synthetic one of
benchmarks/indices_scale.py (150 communes, N responses with their tally and kept counts,
written straight into the database): the report is timed after the nightly `flask
checkpoint` (which checks the tally and computes the intervals and flag counts ahead),
as a report of a closed round is made, and its parts one by one; with --cold, first
also with nothing kept and no checkpoint (the first report of a process on a round
never checkpointed).

    .venv/bin/python benchmarks/report_speed.py [--responses 300] [--runs 3]
    .venv/bin/python benchmarks/report_speed.py --scale 1000000 [--cold]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def seed(app, responses: int, rng: random.Random) -> None:
    from sqlalchemy import select

    from survey_app import demo, intake
    from survey_app.extensions import db
    from survey_app.models import Campaign, CampaignAgency
    from survey_app.questions import get_type
    from survey_app.survey_form import spec

    demo.seed("benchmark-password")
    db.session.commit()
    campaign = db.session.scalar(select(Campaign).filter_by(code="demo"))
    links = list(db.session.scalars(select(CampaignAgency).filter_by(campaign_id=campaign.id)))
    version = spec(campaign.version_id)
    for k in range(responses):
        link = links[k % len(links)] if k < len(links) * 5 else rng.choice(links)
        answers = {}
        for item in version.items:
            qtype = get_type(item.type)
            if qtype.scored:
                answers[item.code] = str(rng.choice((5, 5, 4, 4, 4, 3, 2, 0)))
            elif qtype.numeric:
                answers[item.code] = str(rng.choice(qtype.order))
            elif qtype.groups and not qtype.multiple:
                answers[item.code] = rng.choice(item.choices)["code"]
        target = intake.find_scope(link.open_code)
        intake.accept(target, answers, client=f"10.0.{k // 250}.{k % 250}",
                      submission=f"bench-{k}")
        db.session.commit()


def clear_caches(kept: bool = False) -> None:
    """Empty the process's caches and, unless ``kept``, the results kept in the database
    (`derived_result`): a first request."""
    from survey_app.extensions import db
    from survey_app.models import DerivedResult
    from survey_app.services import flags
    from survey_app.services.results import cache

    cache._cache().entries.clear()
    flags._CACHE.clear()
    if not kept:
        db.session.execute(DerivedResult.__table__.delete())
        db.session.commit()


def best(fn, runs: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(runs):
        clear_caches()
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


def parts(order, kept: bool = False) -> list[tuple[str, float]]:
    """The report's parts, each timed on its own (caches emptied first; the results kept
    in the database too, unless ``kept``)."""
    import importlib

    from survey_app.services import official

    g = importlib.import_module("survey_app.services.official.gather")  # the module

    clear_caches(kept)
    out = []
    start = time.perf_counter()
    gathered = official.gather(order)
    out.append(("gather", time.perf_counter() - start))
    for name, fn in (("  of which indices", lambda: g.res.combined_indices(
                         order.campaigns, exclude_rejected=True, **g._options(order))),
                     ("  of which answers", lambda: g._answers(order.campaigns, None, True)),
                     ("  of which quality", lambda: g._quality(order.campaigns, None))):
        clear_caches(kept)
        start = time.perf_counter()
        fn()
        out.append((name, time.perf_counter() - start))
    start = time.perf_counter()
    charts = official.charts(gathered)
    out.append(("charts", time.perf_counter() - start))
    start = time.perf_counter()
    document = official.content.build(gathered, charts)
    out.append(("content", time.perf_counter() - start))
    for fmt, writer in (("docx", official.docx_writer), ("pdf", official.pdf_writer),
                        ("xlsx", official.xlsx_writer)):
        start = time.perf_counter()
        writer.write(document)
        out.append((f"write {fmt}", time.perf_counter() - start))
    return out


def at_scale(size: int, cold: bool) -> None:
    import os

    import indices_scale

    work = Path(tempfile.mkdtemp(prefix="report-scale-"))
    start = time.perf_counter()
    indices_scale.build(size, work)
    print(f"built {size} responses in {time.perf_counter() - start:.0f} s")
    os.environ["SURVEY_INSTANCE_PATH"] = str(work / f"inst-{size}")
    from survey_app import create_app
    from survey_app.extensions import db
    from survey_app.services import official, results

    app = create_app({"SECRET_KEY": "bench"})
    with app.app_context():
        def order():
            return official.Order(kind="province", campaigns=[results.get("bench")])

        def report(label: str) -> None:
            clear_caches(kept=True)
            start = time.perf_counter()
            data = official.render(order(), "docx")
            print(f"docx at {size}, {label:<34} {time.perf_counter() - start:6.2f} s "
                  f"({len(data) // 1024} KiB)", flush=True)

        if cold:
            report("nothing kept, no checkpoint")
        start = time.perf_counter()
        result = app.test_cli_runner().invoke(args=["checkpoint", "--campaign", "bench"])
        assert result.exit_code == 0, result.output
        print(f"flask checkpoint (tally check, intervals, flags) {time.perf_counter() - start:6.2f} s")
        db.session.remove()
        report("after the nightly checkpoint")
        for name, took in parts(order(), kept=True):
            print(f"{name:<25} {took:.2f} s")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--responses", type=int, default=300)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--scale", type=int, help="time the report of N synthetic responses")
    ap.add_argument("--cold", action="store_true",
                    help="with --scale, first time a report with nothing kept (minutes)")
    args = ap.parse_args()
    if args.scale:
        sys.path.insert(0, str(ROOT / "benchmarks"))
        at_scale(args.scale, args.cold)
        return
    from survey_app import create_app

    scratch = Path(tempfile.mkdtemp(prefix="report-bench-"))
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{scratch / 'bench.db'}",
                      "TESTING": True, "WTF_CSRF_ENABLED": False})
    with app.app_context():
        from survey_app.extensions import db
        from survey_app.services import official, results

        app.test_cli_runner().invoke(args=["init-db"])
        seed(app, args.responses, random.Random(0))
        campaign = results.get("demo")
        order = official.Order(kind="province", campaigns=[campaign])
        options = results.default_options()
        ref, _ = best(lambda: results.campaign_indices(campaign, exclude_rejected=True,
                                                       **options), args.runs)
        print(f"responses                 {args.responses}")
        print(f"ref (indices + intervals) {ref:.2f} s")
        for fmt in official.FORMATS:
            took, data = best(lambda f=fmt: official.render(order, f), args.runs)
            print(f"{fmt:<25} {took:.2f} s   ({len(data) // 1024} KiB; report/ref "
                  f"{took / ref:.1f})")
        for name, took in parts(order):
            print(f"{name:<25} {took:.2f} s")
        db.session.remove()


if __name__ == "__main__":
    main()
