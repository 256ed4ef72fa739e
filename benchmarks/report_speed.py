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

    .venv/bin/python benchmarks/report_speed.py [--responses 300] [--runs 3]
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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--responses", type=int, default=300)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
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
        clear_caches()
        start = time.perf_counter()
        gathered = official.gather(order)
        gathered_at = time.perf_counter()
        charts = official.charts(gathered)
        charted_at = time.perf_counter()
        document = official.content.build(gathered, charts)
        built_at = time.perf_counter()
        official.docx_writer.write(document)
        done = time.perf_counter()
        print(f"docx parts                gather {gathered_at - start:.2f} s, charts "
              f"{charted_at - gathered_at:.2f} s, content {built_at - charted_at:.2f} s, "
              f"write {done - built_at:.2f} s")
        db.session.remove()


if __name__ == "__main__":
    main()
