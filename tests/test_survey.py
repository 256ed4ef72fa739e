"""The citizen's survey through the HTTP client: open links, single-use links, receipts,
and every kind of bad input."""

import hashlib
import re
import secrets
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from web_helpers import (
    answer_form,
    counted,
    counted_from_responses,
    full_answers,
    hidden_fields,
    in_tally,
)

from survey_app.models import (
    Campaign,
    CampaignAgency,
    IssuedForm,
    Response,
    utcnow,
)

STATIC = Path(__file__).resolve().parent.parent / "survey_app" / "static"


@pytest.fixture
def scope(demo, db):
    s = db.session.scalar(select(CampaignAgency).join(CampaignAgency.agency)
                          .where(CampaignAgency.agency.has(code="X-SONDUONG")))
    return {"path": f"/k/{s.open_code}", "agency_id": s.agency_id, "campaign_id": s.campaign_id,
            "code": s.open_code}


@pytest.fixture
def make_form(demo, db):
    """make_form(**overrides) -> (path, IssuedForm id): a single-use link for X-SONDUONG."""
    counter = iter(range(1, 10_000))

    def _make(**overrides):
        campaign = db.session.scalar(select(Campaign).filter_by(code="demo"))
        agency = next(a for a in campaign.agencies if a.code == "X-SONDUONG")
        token = secrets.token_urlsafe(16)
        n = next(counter)
        fields = {"kind": "paper", "number": n, "serial": f"DEMO-{n:06d}",
                  "token_hash": hashlib.sha256(token.encode()).hexdigest(), **overrides}
        form = IssuedForm(campaign=campaign, agency=agency, **fields)
        db.session.add(form)
        db.session.commit()
        return f"/f/{token}", form.id

    return _make


def _counts(db):
    return (db.session.scalar(select(func.count(Response.id))),
            sum(counted(db).values()))


def test_showing_the_form_writes_nothing(scope, client, db):
    before = _counts(db)
    for _ in range(3):
        assert client.get(scope["path"]).status_code == 200
    assert _counts(db) == before == (0, 0)


def test_page_weight_budget(scope, client):
    """The page, its stylesheet and its one small script (answering on a bad connection,
    deferred; the form works without it) under 30 KB; no web font."""
    page = client.get(scope["path"])
    css_links = re.findall(r'<link rel="stylesheet" href="/static/([^"]+)"', page.text)
    scripts = re.findall(r'<script src="/static/([^"]+)" defer></script>', page.text)
    assert scripts == ["offline.js"] and page.text.count("<script") == 1
    assets = sum((STATIC / name).stat().st_size for name in css_links + scripts)
    total = len(page.data) + assets
    assert total < 30 * 1024, f"HTML {len(page.data)} + CSS and script {assets} = {total} bytes"
    assert "@font-face" not in "".join((STATIC / n).read_text() for n in css_links)


def test_form_is_accessible_markup(scope, client):
    html = client.get(scope["path"]).text
    assert 'lang="vi"' in html and 'name="viewport"' in html
    assert html.count("<fieldset") >= 19 + 9 + 7
    assert html.count("<legend>") == html.count("<fieldset")
    # every radio/checkbox sits inside its label
    inputs = len(re.findall(r'<input type="(?:radio|checkbox)"', html))
    assert inputs == len(re.findall(r'<label><input type="(?:radio|checkbox)"', html))
    assert 'for="Y_KIEN"' in html
    assert "Không áp dụng" in html


def test_english_version(scope, client):
    html = client.get(scope["path"] + "?lang=en").text
    assert 'lang="en"' in html and "Not applicable" in html and "Very satisfied" in html


def test_submit_gives_receipt_and_counts(scope, client, db):
    answers = full_answers(5, PA3="0", KENH_TT=["1", "3"], GIOI_TINH="2", UT1="3",
                           Y_KIEN="Cán bộ nhiệt tình")
    resp = answer_form(client, scope["path"], answers)
    assert resp.status_code == 303
    thanks = client.get(resp.headers["Location"])
    code = re.search(r'class="rc">([^<]+)<', thanks.text).group(1)
    stored = db.session.scalars(select(Response)).one()
    assert stored.receipt_code == code and stored.channel == "open"
    assert stored.agency_id == scope["agency_id"]
    assert stored.answer_dict["PA3"] == 0 and stored.answer_dict["KENH_TT"] == ["1", "3"]
    assert stored.answer_dict["Y_KIEN"] == "Cán bộ nhiệt tình"
    assert stored.duration_s is not None and stored.opened_at is not None
    assert stored.client_hash and "127.0.0.1" not in stored.client_hash
    tally = counted(db)
    assert sum(tally.values()) == 19 and len([k for k in tally if k[2] == 0]) == 1
    # the public receipt page: counted, campaign, agency, date; never the answers
    page = client.get(f"/bien-nhan?code={code.lower().replace('-', '')}")
    assert page.status_code == 200
    assert "được tính" in page.text and "UBND xã Sơn Dương" in page.text
    assert "nhiệt tình" not in page.text


@pytest.mark.parametrize("app", [{"TALLY_STEP": 1}, {"TALLY_STEP": 3}, {"TALLY_STEP": 64}],
                         indirect=True)
def test_the_tally_kept_in_steps_counts_every_response_once(app, demo, db):
    """After every submission, whatever the step: the indices' counts (the tally and the
    responses after its mark) are those of the stored responses; the tally's own rows
    count exactly the responses up to the mark; fewer than a step lie after it."""
    from analysis import load
    from survey_app import intake
    from survey_app.models import Campaign
    from survey_app.survey_form import spec

    step = app.config["TALLY_STEP"]
    campaign = db.session.scalar(select(Campaign).filter_by(code="demo"))
    conn = db.session.connection
    for k in range(8):
        agency = campaign.agencies[k % 2]
        answers = {**{code: (k + j) % 6 for j, (code, _) in
                      enumerate(spec(campaign.version_id).scored_items)},
                   "GIOI_TINH": "1"}
        answers.pop("CC2" if k % 3 else "TC1")  # an item left unanswered
        recorded = intake.record(campaign=campaign, agency=agency, channel="api",
                                    answers=answers)
        db.session.commit()
        assert counted(db) == counted_from_responses(db)
        mark = load.tally_mark(conn(), campaign.id)
        assert recorded.id - mark < step
        assert in_tally(db) == counted_from_responses(db, upto=mark)
    assert sum(counted(db).values()) == 8 * 18


def test_unknown_receipt(client, demo):
    page = client.get("/bien-nhan?code=AAAAA-BBBBB")
    assert page.status_code == 404 and "Không tìm thấy mã biên nhận" in page.text


def test_missing_required_shows_errors_and_keeps_answers(scope, client, db):
    answers = full_answers(4, Y_KIEN="<script>alert(1)</script>")
    del answers["CC3"]
    resp = answer_form(client, scope["path"], answers)
    assert resp.status_code == 400
    html = resp.text
    assert re.search(r'<fieldset class="q row bad" id="q-CC3"', html)
    assert 'id="e-CC3"' in html and "Vui lòng chọn" in html
    assert 'name="TC1" value="4" checked' in html  # given answers are kept
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert" not in html
    assert _counts(db) == (0, 0)


@pytest.mark.parametrize("mutate", [
    lambda d: d.update(TC1="9"),
    lambda d: d.update(TC1="abc"),
    lambda d: d.update(GIOI_TINH="99"),
    lambda d: d.update(KENH_TT=["1", "42"]),
    lambda d: d.update(UT1="7"),
    lambda d: d.update(Y_KIEN="x" * 2001),
    lambda d: d.update(TC1=["4", "5"]),
])
def test_bad_values_refused(scope, client, db, mutate):
    answers = full_answers()
    mutate(answers)
    resp = answer_form(client, scope["path"], answers)
    assert resp.status_code == 400
    assert _counts(db) == (0, 0)


def test_markup_in_comment_is_stored_as_text(scope, client, db):
    resp = answer_form(client, scope["path"], full_answers(Y_KIEN="<b>hi</b> & <script>x</script>"))
    assert resp.status_code == 303
    assert db.session.scalars(select(Response)).one().answer_dict["Y_KIEN"] == \
        "<b>hi</b> & <script>x</script>"


def test_one_response_per_browser_on_open_link(scope, client, db):
    assert answer_form(client, scope["path"]).status_code == 303
    again = client.get(scope["path"])
    assert again.status_code == 200 and "đã trả lời" in again.text
    post = client.post(scope["path"], data=full_answers())
    assert post.status_code in (400, 409)
    assert _counts(db)[0] == 1


def test_honeypot_stores_nothing(scope, client, db):
    resp = answer_form(client, scope["path"], full_answers(website="http://spam.example"))
    assert resp.status_code == 303
    assert _counts(db) == (0, 0)


@pytest.mark.parametrize("app", [{"OPEN_LINK_RATE_LIMIT": "3 per minute"}], indirect=True)
def test_open_link_rate_limited_per_address(scope, app, db):
    statuses = []
    for _ in range(4):
        client = app.test_client()  # a fresh browser each time, same address
        statuses.append(answer_form(client, scope["path"]).status_code)
    assert statuses == [303, 303, 303, 429]
    assert _counts(db)[0] == 3


@pytest.mark.parametrize("app", [{"OPEN_LINK_RATE_LIMIT": "3 per minute", "PROXY_COUNT": 1}],
                         indirect=True)
def test_behind_a_proxy_the_citizen_address_counts(scope, app, db):
    """Behind nginx every connection comes from 127.0.0.1: with PROXY_COUNT the limit and
    the stored (keyed) address are the forwarded client's."""

    def browser(address):
        client = app.test_client()
        client.environ_base["HTTP_X_FORWARDED_FOR"] = address
        return client

    statuses = [answer_form(browser("203.0.113.5"), scope["path"]).status_code
                for _ in range(4)]
    assert statuses == [303, 303, 303, 429]
    assert answer_form(browser("198.51.100.7"), scope["path"]).status_code == 303
    hashes = [r.client_hash for r in db.session.scalars(select(Response).order_by(Response.id))]
    assert len(hashes) == 4 and len(set(hashes[:3])) == 1 and hashes[3] != hashes[0]


def test_agency_cannot_be_changed_by_the_request(scope, client, db, make_form):
    answers = full_answers(agency_id="1", campaign_id="999", agency="TQ")
    assert answer_form(client, scope["path"], answers).status_code == 303
    assert db.session.scalars(select(Response)).one().agency_id == scope["agency_id"]


def test_unknown_open_code(client, demo):
    resp = client.get("/k/zzzzzzz")
    assert resp.status_code == 404 and "Không tìm thấy khảo sát" in resp.text


def test_single_use_link_once(make_form, client, db):
    path, form_id = make_form()
    assert answer_form(client, path).status_code == 303
    stored = db.session.scalars(select(Response)).one()
    assert stored.channel == "single_use" and stored.form_id == form_id
    again = client.get(path)
    assert again.status_code == 409 and "đã được trả lời" in again.text
    assert client.post(path, data=full_answers()).status_code in (400, 409)
    other_browser = client.application.test_client()
    assert other_browser.get(path).status_code == 409
    assert _counts(db)[0] == 1


def test_single_use_link_posted_concurrently_is_stored_once(make_form, app, db):
    path, _ = make_form()
    n = 8
    clients = [app.test_client() for _ in range(n)]
    bodies = []
    for c in clients:
        data = hidden_fields(c.get(path).text)
        data.update(full_answers())
        bodies.append(data)
    barrier = threading.Barrier(n)
    statuses = [None] * n

    def post(i):
        barrier.wait()
        statuses[i] = clients[i].post(path, data=bodies[i]).status_code

    threads = [threading.Thread(target=post, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [303] + [409] * (n - 1), statuses
    db.session.expire_all()
    assert _counts(db) == (1, 19)


def test_forged_and_malformed_tokens(client, demo):
    for token in ["A" * 22, "x", "%ff%fe", "a" * 300]:
        resp = client.get(f"/f/{token}")
        assert resp.status_code == 404, token
        assert "không hợp lệ" in resp.text


def test_expired_invitation(make_form, client, db):
    path, _ = make_form(kind="invitation", expires_at=utcnow() - timedelta(minutes=1))
    resp = client.get(path)
    assert resp.status_code == 410 and "hết hạn" in resp.text


def test_void_form(make_form, client):
    path, _ = make_form(voided_at=utcnow(), void_reason="rách")
    resp = client.get(path)
    assert resp.status_code == 410 and "đã bị hủy" in resp.text


def test_closed_campaign_refuses_both_links(scope, make_form, client, db):
    path, _ = make_form()
    page = client.get(path)
    campaign = db.session.scalar(select(Campaign).filter_by(code="demo"))
    campaign.closes_at = utcnow() - timedelta(seconds=1)
    campaign.opens_at = utcnow() - timedelta(days=2)
    db.session.commit()
    for p in (path, scope["path"]):
        resp = client.get(p)
        assert resp.status_code == 410 and "đã kết thúc" in resp.text
    data = hidden_fields(page.text)
    data.update(full_answers())
    assert client.post(path, data=data).status_code == 410
    assert _counts(db) == (0, 0)


def test_expired_form_token_keeps_answers(scope, client, db):
    data = full_answers(3)
    data["csrf_token"] = "forged-or-expired"
    resp = client.post(scope["path"], data=data)
    assert resp.status_code == 400
    assert "hết hạn" in resp.text and 'name="TC1" value="3" checked' in resp.text
    assert _counts(db) == (0, 0)


def test_oversized_body(scope, client, db):
    resp = client.post(scope["path"], data={"Y_KIEN": "x" * 300_000})
    assert resp.status_code == 413
    assert _counts(db) == (0, 0)


def test_invalid_utf8_body_is_a_clean_4xx_or_replaced(scope, client, db):
    page = client.get(scope["path"])
    fields = hidden_fields(page.text)
    body = "&".join(f"{k}={v}" for k, v in {**fields, **full_answers()}.items()).encode()
    body += b"&Y_KIEN=%ff%fe%fd"
    resp = client.post(scope["path"], data=body,
                       content_type="application/x-www-form-urlencoded")
    assert resp.status_code in (303, 400)
    if resp.status_code == 303:  # stored as text, whatever the bytes became
        assert isinstance(db.session.scalars(select(Response)).one().answer_dict["Y_KIEN"], str)


def test_phone_for_recheck_needs_explicit_consent(scope, app, db):
    from survey_app.models import RecheckContact

    bad = answer_form(app.test_client(), scope["path"], full_answers(recheck_phone="0912345678"))
    assert bad.status_code == 400 and 'id="q-recheck"' in bad.text
    assert 'value="0912345678"' in bad.text  # kept for correction
    assert _counts(db) == (0, 0)
    wrong = answer_form(app.test_client(), scope["path"],
                        full_answers(recheck_consent="y", recheck_phone="12ab"))
    assert wrong.status_code == 400 and _counts(db) == (0, 0)
    ok = answer_form(app.test_client(), scope["path"],
                     full_answers(recheck_consent="y", recheck_phone="091 234 5678"))
    assert ok.status_code == 303
    contact = db.session.scalars(select(RecheckContact)).one()
    response = db.session.scalars(select(Response)).one()
    assert contact.response_id == response.id and contact.phone == "0912345678"
    assert "0912345678" not in response.answers  # stored apart from the answers


def test_form_voided_after_the_link_was_looked_up_is_refused(make_form, app, db):
    """A form voided between the citizen opening the link and the answers being stored
    is refused at storing time, and nothing is stored."""
    from survey_app import intake
    from survey_app.services import issuance

    path, form_id = make_form()
    target = intake.find_form(path[3:])
    assert target is not None and intake.refusal(target) is None
    db.session.commit()
    issuance.void_form(db.session.get(IssuedForm, form_id).serial, "thất lạc")
    db.session.commit()
    with pytest.raises(intake.FormAlreadyUsed):
        intake.record(campaign=target.campaign, agency=target.agency, channel="single_use",
                         answers={"TC1": 4}, form=target.form)
    db.session.rollback()
    assert _counts(db) == (0, 0)
