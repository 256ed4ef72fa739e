"""Every channel a response can come through — a poster's open link, a numbered paper
form's own link, an invitation, a counter kiosk, a paper form entered by a clerk, the API —
goes through the one submission core: each is stored with its channel, counted in the
tally, appended to the ledger, and the auditor's bundle of all of them verifies."""

from __future__ import annotations

import csv
import io
import re
import zipfile

from audit_helpers import answer_open, answer_single_use, export_bundle, issue, run_analysis, varied
from sqlalchemy import func, select
from web_helpers import csrf_token, hidden_fields, signed_in

from analysis.kinds import CHANNELS
from survey_app.models import LedgerEntry, Response
from survey_app.services import api_keys

AGENCY = "X-SONDUONG"


def _kiosk(app, runner):
    result = runner.invoke(args=["kiosk-add", "--agency", AGENCY, "Quầy 1"])
    assert result.exit_code == 0, result.output
    path = re.search(r"http://localhost(/kiosk/dang-ky/[A-Za-z0-9_-]+)", result.output).group(1)
    tablet = app.test_client()
    assert tablet.post(path).status_code == 303
    page = tablet.get("/kiosk")
    resp = tablet.post("/kiosk", data={**hidden_fields(page.text), **varied(4)})
    assert resp.status_code == 303, resp.text


def _paper(app):
    (serial, _path), = issue(app, AGENCY, 1, "Nguyễn Văn Thu")
    clerk = signed_in(app, "nhaplieu")
    page = clerk.get(f"/entry/form/{serial}")
    resp = clerk.post(f"/entry/form/{serial}", data={"csrf_token": csrf_token(page.text),
                                                      **varied(5)})
    assert resp.status_code == 302, resp.text


def test_a_response_through_each_channel_is_stored_counted_and_verified(demo, runner, db,
                                                                        tmp_path):
    app = demo
    _row, key = api_keys.create_key("Hệ thống một cửa", None)
    db.session.commit()
    auth = {"Authorization": f"Bearer {key}"}

    answer_open(app, varied(1))
    (_serial, path), = issue(app, AGENCY, 1, "Trần Thị Phát")
    answer_single_use(app, path, varied(2))
    made = app.test_client().post("/api/v1/invitations", headers=auth,
                                  json={"campaign": "demo", "agency": AGENCY})
    assert made.status_code == 201, made.text
    answer_single_use(app, "/f/" + made.json["url"].rsplit("/f/", 1)[1], varied(3))
    _kiosk(app, runner)
    _paper(app)
    sent = app.test_client().post("/api/v1/responses", headers=auth, json={
        "campaign": "demo", "agency": AGENCY,
        "answers": {k: int(v) for k, v in varied(6).items()}})
    assert sent.status_code == 201, sent.text

    db.session.expire_all()
    stored = dict(db.session.execute(
        select(Response.channel, func.count(Response.id)).group_by(Response.channel)).all())
    assert stored == dict.fromkeys(CHANNELS, 1)
    assert db.session.scalar(
        select(func.count(LedgerEntry.id)).filter_by(kind="response")) == len(CHANNELS)
    # The kept tally (and the cross counts by channel) agree with the responses.
    checked = runner.invoke(args=["check-tally", "--campaign", "demo"])
    assert checked.exit_code == 0, checked.output

    bundle = export_bundle(runner, tmp_path)
    with zipfile.ZipFile(bundle) as zf:
        rows = list(csv.DictReader(io.TextIOWrapper(zf.open("responses.csv"), "utf-8")))
    assert sorted(r["channel"] for r in rows) == sorted(CHANNELS)
    code, out = run_analysis("verify", bundle)
    assert code == 0, out
    assert f"{len(CHANNELS)} responses" in out
