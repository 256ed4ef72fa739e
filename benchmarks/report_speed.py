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
written straight into the database), and the report's parts are timed one by one.

    .venv/bin/python benchmarks/report_speed.py [--responses 300] [--runs 3]
    .venv/bin/python benchmarks/report_speed.py --scale 1000000
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


def clear_caches() -> None:
    from survey_app.services import flags
    from survey_app.services.results import cache

    cache._cache().entries.clear()
    flags._CACHE.clear()


def best(fn, runs: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(runs):
        clear_caches()
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


def parts(order) -> list[tuple[str, float]]:
    """The report's parts, each timed on its own (caches emptied first)."""
    import importlib

    from survey_app.services import official

    g = importlib.import_module("survey_app.services.official.gather")  # the module

    clear_caches()
    out = []
    start = time.perf_counter()
    gathered = official.gather(order)
    out.append(("gather", time.perf_counter() - start))
    for name, fn in (("  of which indices", lambda: g.res.combined_indices(
                         order.campaigns, exclude_rejected=True, **g._options(order))),
                     ("  of which answers", lambda: g._answers(order.campaigns, None, True)),
                     ("  of which quality", lambda: g._quality(order.campaigns, None))):
        clear_caches()
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


def at_scale(size: int) -> None:
    import os

    import indices_scale

    work = Path(tempfile.mkdtemp(prefix="report-scale-"))
    start = time.perf_counter()
    indices_scale.build(size, work)
    print(f"built {size} responses in {time.perf_counter() - start:.0f} s")
    os.environ["SURVEY_INSTANCE_PATH"] = str(work / f"inst-{size}")
    from survey_app import create_app
    from survey_app.services import official, results

    app = create_app({"SECRET_KEY": "bench"})
    with app.app_context():
        campaign = results.get("bench")
        order = official.Order(kind="province", campaigns=[campaign])
        clear_caches()
        start = time.perf_counter()
        data = official.render(order, "docx")
        print(f"docx at {size}             {time.perf_counter() - start:.2f} s "
              f"({len(data) // 1024} KiB), a first request")
        for name, took in parts(order):
            print(f"{name:<25} {took:.2f} s")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--responses", type=int, default=300)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--scale", type=int, help="time the report of N synthetic responses")
    args = ap.parse_args()
    if args.scale:
        sys.path.insert(0, str(ROOT / "benchmarks"))
        at_scale(args.scale)
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
