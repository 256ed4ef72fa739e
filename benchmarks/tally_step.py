"""CPU of the tally's step per submission, in-process: 6,400 submissions through
`intake.store.record` (insert, tally step, ledger) into the demo data on SQLite, the time
spent in `intake.store.tally_step` (the answer tally and the cross counts, once every
TALLY_STEP submissions) reported per submission. Run it against two checkouts (their
PYTHONPATH) one after the other to compare.

    .venv/bin/python benchmarks/tally_step.py [--full]

--full answers every profile and priority question (the cross counts' worst case); by
default the payload of survey_load.py (satisfaction, GIOI_TINH and a comment).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SATISFACTION = ["TC1", "TC2", "TC3", "TC4", "TT1", "TT2", "TT3", "TT4", "CC1", "CC2", "CC3",
                "CC4", "CC5", "KQ1", "KQ2", "KQ3", "PA1", "PA2", "PA3"]


def answers(i: int, full: bool) -> dict:
    out = {code: (i + k) % 5 + 1 for k, code in enumerate(SATISFACTION)}
    out.update(GIOI_TINH=str(i % 2 + 1), Y_KIEN="Cán bộ hướng dẫn tận tình")
    if full:
        out.update(TUOI=str(i % 5 + 1), DAN_TOC=str(i % 7 + 1), HOC_VAN=str(i % 5 + 1),
                   NGHE=str(i % 7 + 1), KHU_VUC=str(i % 2 + 1), KENH_TT=["1", str(i % 5 + 2)])
        out.update({f"UT{k}": (i + k) % 3 + 1 for k in range(1, 10)})
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--full", action="store_true")
    ap.add_argument("--submissions", type=int, default=6400)
    args = ap.parse_args(argv)
    os.environ["SURVEY_INSTANCE_PATH"] = tempfile.mkdtemp(prefix="survey-step-")
    from flask_migrate import upgrade

    from survey_app import create_app, demo
    from survey_app.extensions import db
    from survey_app.intake import store
    from survey_app.models import Agency, Campaign, CampaignAgency

    app = create_app({"SECRET_KEY": "bench"})
    with app.app_context():
        upgrade()
        demo.seed("bench-password")
        db.session.commit()
        campaign = db.session.query(Campaign).filter_by(code="demo").one()
        agencies = [db.session.get(Agency, row.agency_id) for row in
                    db.session.query(CampaignAgency).filter_by(campaign_id=campaign.id)]

        def submit(i: int) -> None:
            store.record(campaign=campaign, agency=agencies[i % len(agencies)],
                         channel="open", answers=answers(i, args.full), check_window=False)
            db.session.commit()

        for i in range(640):  # warm up
            submit(i)
        spent, real = [0.0], store.tally_step

        def timed(*a, **k):
            t0 = time.process_time()
            try:
                return real(*a, **k)
            finally:
                spent[0] += time.process_time() - t0

        store.tally_step = timed
        t0 = time.process_time()
        for i in range(args.submissions):
            submit(i)
        total = time.process_time() - t0
    n = args.submissions
    print(f"{'every question' if args.full else 'survey_load payload'}: "
          f"{total / n * 1e6:.0f} µs CPU a submission, of which the tally step "
          f"{spent[0] / n * 1e6:.0f} µs ({len(agencies)} agencies)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
