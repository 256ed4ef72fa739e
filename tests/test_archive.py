"""Archiving a campaign, the end of its life cycle: refused while open or when done already;
otherwise the re-check phone numbers are erased, a final ledger checkpoint and an audit-log
row are written, and from then on the campaign is read-only (every write path refuses and
changes nothing) while results, exports and the audit bundle stay readable."""

from __future__ import annotations

import html
import io
import os
import re
import zipfile
from datetime import timedelta

import pytest
from audit_helpers import (
    answer_open,
    answer_single_use,
    export_bundle,
    issue,
    open_path,
    run_analysis,
    user,
    varied,
)
from sqlalchemy import func, select
from web_helpers import answer_form, csrf_token, full_answers, signed_in

from survey_app.models import (
    AuditLog,
    Campaign,
    CampaignAgency,
    FormBatch,
    IssuedForm,
    LedgerCheckpoint,
    LedgerEntry,
    PaperEntry,
    RecheckContact,
    Response,
    ResponseCorrection,
    ResponseReview,
    Reverification,
    ReverifyDraw,
    utcnow,
)

PHONES = ("0912345678", "0987654321")
PG_URL = os.environ.get("SURVEY_TEST_DATABASE_URL")


def _close(db, *, opened_days_ago: int = 10, closed_hours_ago: int = 1) -> None:
    """Move campaign `demo`'s window into the past: the round is over."""
    campaign = db.session.scalar(select(Campaign).filter_by(code="demo"))
    campaign.opens_at = utcnow() - timedelta(days=opened_days_ago)
    campaign.closes_at = utcnow() - timedelta(hours=closed_hours_ago)
    db.session.commit()


@pytest.fixture
def round_done(demo, db):
    """Campaign `demo` after its fieldwork, closed an hour ago: 5 forms issued to Chị Lan
    (3 answered online, one with a phone number; DEMO-000004 not returned; DEMO-000005
    keyed twice differently, waiting for a decision), 3 open-link answers (one with a phone
    number), a re-verification draw of everything; then the window is moved into the past."""
    lan = issue(demo, "X-SONDUONG", 5, "Chị Lan")
    for k, (_, path) in enumerate(lan[:3]):
        extra = {"recheck_consent": "y", "recheck_phone": PHONES[0]} if k == 0 else {}
        answer_single_use(demo, path, varied(60 + k, **extra))
    answer_open(demo, varied(70, recheck_consent="y", recheck_phone=PHONES[1]))
    answer_open(demo, varied(71))
    answer_open(demo, varied(72), agency="SNV")
    from survey_app.services import reverify
    from survey_app.services.campaigns import get_campaign

    campaign = get_campaign("demo")
    campaign.double_entry = True
    form = db.session.scalar(select(IssuedForm).filter_by(serial="DEMO-000005"))
    for username, score in (("nhaplieu", 4), ("admin", 5)):
        db.session.add(PaperEntry(form_id=form.id, clerk_id=user(db, username).id,
                                  answers=f'{{"TC1":{score}}}'))
    reverify.draw_sample(campaign, 1.0, 2718, user=user(db, "mttq"))
    db.session.commit()
    assert db.session.scalar(select(func.count(RecheckContact.id))) == 2
    _close(db)
    return demo


def _contacts(db) -> int:
    return db.session.scalar(select(func.count(RecheckContact.id)).join(
        Response, Response.id == RecheckContact.response_id).join(
        Campaign, Campaign.id == Response.campaign_id).where(Campaign.code == "demo"))


def _archive_checkpoints(db) -> list[LedgerCheckpoint]:
    return db.session.scalars(select(LedgerCheckpoint).filter_by(reason="archive")).all()


# --- archiving ----------------------------------------------------------------------------

def test_admin_archives_a_closed_campaign_after_confirming(round_done, db):
    admin = signed_in(round_done, "admin")
    page = admin.get("/admin/campaigns/demo/archive")
    assert page.status_code == 200
    # What the admin confirms: numbers to erase, paper forms that will never be entered.
    assert "xóa vĩnh viễn 2 số điện thoại" in page.text
    assert "2 phiếu giấy đã phát hành chưa được nhập" in page.text
    token = csrf_token(page.text)

    # Without the confirmation box ticked nothing happens.
    resp = admin.post("/admin/campaigns/demo/archive", data={"csrf_token": token})
    assert resp.status_code == 400 and "Cần đánh dấu xác nhận" in resp.text
    assert db.session.scalar(select(Campaign.archived_at).filter_by(code="demo")) is None
    assert _contacts(db) == 2 and _archive_checkpoints(db) == []

    resp = admin.post("/admin/campaigns/demo/archive",
                      data={"csrf_token": token, "confirm": "y"})
    assert resp.status_code == 302
    db.session.expire_all()
    campaign = db.session.scalar(select(Campaign).filter_by(code="demo"))
    assert campaign.archived_at is not None and campaign.archived_by == "admin"
    assert abs((utcnow() - campaign.archived_at).total_seconds()) < 60
    # Personal data gone, read straight from the table.
    assert db.session.scalar(select(func.count(RecheckContact.id))) == 0
    # The final checkpoint covers the whole chain.
    last = db.session.scalars(select(LedgerEntry).filter_by(campaign_id=campaign.id)
                              .order_by(LedgerEntry.seq.desc()).limit(1)).one()
    (cp,) = _archive_checkpoints(db)
    assert cp.campaign_id == campaign.id and cp.seq == last.seq and cp.head_hash == last.hash
    log = db.session.scalars(select(AuditLog).filter_by(action="campaign.archive")).one()
    assert log.object_id == "demo" and log.actor == "admin"
    assert log.after["contacts_erased"] == 2 and log.after["checkpoint"]["seq"] == cp.seq
    assert not any(p in str(log.after) for p in PHONES)

    shown = admin.get(resp.headers["Location"]).text
    digest = log.after["checkpoint"]["digest"]
    assert digest in shown and "đã lưu trữ" in shown
    assert "Phát hành phiếu giấy" not in shown  # no write actions on the page any more
    listing = admin.get("/admin/campaigns").text
    assert re.search(r">demo</a>.*?đã lưu trữ", listing, re.S)
    audit_page = signed_in(round_done, "mttq").get("/audit/demo").text
    assert "đã được lưu trữ" in audit_page and "Ghi mốc kiểm tra ngay" not in audit_page


def test_cli_archives_and_the_bundle_verifies(round_done, runner, db, tmp_path):
    result = runner.invoke(args=["archive-campaign", "--campaign", "demo"])
    assert result.exit_code == 0, result.output
    assert "Đã lưu trữ đợt 'demo'; đã xóa 2 số điện thoại" in result.output
    digest = re.search(r"(demo#\d+:[0-9a-f-]+)", result.output).group(1)
    assert _contacts(db) == 0
    campaign = db.session.scalar(select(Campaign).filter_by(code="demo"))
    assert campaign.archived_by.startswith("cli")

    bundle = export_bundle(runner, tmp_path)
    with zipfile.ZipFile(bundle) as zf:
        checkpoints = zf.read("checkpoints.csv").decode()
        everything = b"".join(zf.read(n) for n in zf.namelist()).decode()
    assert re.search(rf",archive,{re.escape(digest)}$", checkpoints, re.M)
    assert not any(p in everything for p in PHONES)
    code, out = run_analysis("verify", bundle, "--checkpoint", digest)
    assert code == 0 and "OK" in out, out

    # The daily checkpoint run leaves an archived campaign alone...
    before = db.session.scalar(select(func.count(LedgerCheckpoint.id)))
    assert runner.invoke(args=["checkpoint"]).exit_code == 0
    assert db.session.scalar(select(func.count(LedgerCheckpoint.id))) == before
    # ...and refuses one asked for by name.
    result = runner.invoke(args=["checkpoint", "--campaign", "demo"])
    assert result.exit_code == 1 and "đã được lưu trữ" in result.output
    assert db.session.scalar(select(func.count(LedgerCheckpoint.id))) == before


def _state(db) -> dict:
    """Everything a refused archiving or write must leave as it was."""
    campaign = db.session.scalar(select(Campaign).filter_by(code="demo"))
    db.session.refresh(campaign)
    counts = {model.__name__: db.session.scalar(select(func.count()).select_from(model))
              for model in (Response, ResponseReview, LedgerEntry, LedgerCheckpoint,
                            ReverifyDraw, Reverification, AuditLog, IssuedForm, FormBatch,
                            PaperEntry, RecheckContact, ResponseCorrection)}
    return {**counts,
            "campaign": (campaign.name, campaign.opens_at, campaign.closes_at,
                         campaign.archived_at, campaign.archived_by, campaign.next_serial),
            "plan": sorted(db.session.execute(select(CampaignAgency.agency_id,
                                                     CampaignAgency.planned,
                                                     CampaignAgency.population)).all()),
            "void": sorted(db.session.scalars(select(IssuedForm.serial).where(
                IssuedForm.voided_at.is_not(None))))}


@pytest.mark.parametrize("case, message", [
    ("open", "đang mở đến"),
    ("not_started", "chưa bắt đầu"),
    ("unknown", "Không có đợt khảo sát mã 'nope'"),
    ("archived", "đã được lưu trữ lúc"),
])
def test_archiving_refusals_change_nothing(round_done, runner, db, case, message):
    now = utcnow()
    campaign = db.session.scalar(select(Campaign).filter_by(code="demo"))
    if case == "open":
        campaign.closes_at = now + timedelta(days=1)
    elif case == "not_started":
        campaign.opens_at, campaign.closes_at = now + timedelta(days=1), now + timedelta(days=9)
    db.session.commit()
    code = "nope" if case == "unknown" else "demo"
    if case == "archived":
        assert runner.invoke(args=["archive-campaign", "--campaign", "demo"]).exit_code == 0
    before = _state(db)
    result = runner.invoke(args=["archive-campaign", "--campaign", code])
    assert result.exit_code == 1
    assert message in result.output
    db.session.expire_all()
    assert _state(db) == before
    if case != "archived":
        assert _contacts(db) == 2 and _archive_checkpoints(db) == []


def test_admin_page_refuses_an_open_campaign(demo, db):
    admin = signed_in(demo, "admin")
    page = admin.get("/admin/campaigns/demo/archive")
    assert page.status_code == 200 and "đang mở đến" in page.text
    assert 'name="confirm"' not in page.text
    before = _state(db)
    resp = admin.post("/admin/campaigns/demo/archive",
                      data={"csrf_token": csrf_token(page.text), "confirm": "y"})
    assert resp.status_code == 409 and "chỉ lưu trữ được đợt đã đóng" in resp.text
    db.session.expire_all()
    assert _state(db) == before
    assert admin.get("/admin/campaigns/nope/archive").status_code == 404


# --- read-only afterwards -----------------------------------------------------------------

@pytest.fixture
def archived(round_done, runner, db):
    result = runner.invoke(args=["archive-campaign", "--campaign", "demo"])
    assert result.exit_code == 0, result.output
    # Their first sign-in enrols a second factor (an audit-log row): done before the
    # writes below are tried, so that those are all the state could show.
    for username in ("admin", "mttq"):
        signed_in(round_done, username)
    return round_done


def _sampled_response(db) -> int:
    return db.session.scalar(select(ReverifyDraw)).selected_ids[0]


def _post(app, username, path, data):
    client = signed_in(app, username)
    token = csrf_token(client.get("/staff").text)
    return client.post(path, data={"csrf_token": token, **data})


def _open_link_get(app, db):
    return app.test_client().get(open_path(app)), 410, "Đợt khảo sát đã kết thúc"


def _browser_post(path: str, app):
    # The page is gone, so post what a browser that loaded it before the archive would:
    # answers and a valid CSRF token of its session.
    client = app.test_client()
    token = csrf_token(client.get("/auth/login").text)
    return client.post(path, data={"csrf_token": token, **full_answers()})


def _open_link_post(app, db):
    return _browser_post(open_path(app), app), 410, "Đợt khảo sát đã kết thúc"


def _single_use_link(app, db):
    from survey_app.services import issuance

    # A fresh link for DEMO-000004 (not returned): only its hash is stored.
    token, token_hash = issuance.new_token()
    db.session.scalar(select(IssuedForm).filter_by(serial="DEMO-000004")).token_hash = token_hash
    db.session.commit()
    client = app.test_client()
    page = client.get(f"/f/{token}")
    assert page.status_code == 410 and "Đợt khảo sát đã kết thúc" in page.text
    return _browser_post(f"/f/{token}", app), 410, "Đợt khảo sát đã kết thúc"


def _api_key(db):
    from survey_app.services import api_keys

    _, plain = api_keys.create_key("Kiosk", None)
    db.session.commit()
    return {"Authorization": f"Bearer {plain}"}


def _api_response(app, db):
    headers = _api_key(db)
    resp = app.test_client().post("/api/v1/responses", headers=headers, json={
        "campaign": "demo", "agency": "X-SONDUONG",
        "answers": {k: int(v) for k, v in full_answers().items()}})
    assert resp.json["error"]["code"] == "campaign_closed"
    return resp, 409, "kết thúc"


def _api_invitation(app, db):
    headers = _api_key(db)
    resp = app.test_client().post("/api/v1/invitations", headers=headers,
                                  json={"campaign": "demo", "agency": "X-SONDUONG"})
    assert resp.json["error"]["code"] == "not_issuable"
    return resp, 409, "đã lưu trữ"


def _issue_page(app, db):
    return _post(app, "admin", "/admin/campaigns/demo/issue", {
        "agency": "X-SONDUONG", "count": "2", "collector": "Chị Lan"}), 400, "đã lưu trữ"


def _void(app, db):
    return (_post(app, "admin", "/admin/forms/DEMO-000004/void", {"reason": "Thất lạc"}),
            400, "Không hủy được phiếu DEMO-000004: đợt khảo sát 'demo' đã được lưu trữ")


def _paper_entry(app, db):
    clerk = signed_in(app, "nhaplieu")
    assert clerk.get("/entry/form/DEMO-000004").status_code == 409
    token = csrf_token(clerk.get("/staff").text)
    resp = clerk.post("/entry/form/DEMO-000004", data={"csrf_token": token, "TC1": "4"})
    return resp, 409, "đợt khảo sát đã lưu trữ"


def _paper_resolve(app, db):
    return (_post(app, "admin", "/entry/disagreements/DEMO-000005", {"TC1": "4"}),
            409, "đợt khảo sát đã lưu trữ")


def _review_one(app, db):
    return (_post(app, "mttq", "/audit/responses/1/review", {"decision": "approved"}),
            400, "Không ghi được quyết định duyệt phiếu: đợt khảo sát 'demo' đã được lưu trữ")


def _review_bulk(app, db):
    n = db.session.scalar(select(func.count(Response.id)))
    return (_post(app, "mttq", "/audit/demo/responses/review", {
        "decision": "rejected", "reason": "Thử", "expected": str(n)}),
        400, "Không ghi được quyết định duyệt phiếu")


def _draw(app, db):
    return (_post(app, "mttq", "/audit/demo/reverify/draw", {
        "rate_pct": "10", "seed": "1", "oversample": "2"}), 400, "Không rút được mẫu phúc tra")


def _outcome(app, db):
    rid = _sampled_response(db)
    return (_post(app, "mttq", f"/audit/responses/{rid}/outcome", {"outcome": "confirmed"}),
            400, "Không ghi được kết quả phúc tra")


def _checkpoint(app, db):
    client = signed_in(app, "mttq")
    token = csrf_token(client.get("/staff").text)
    resp = client.post("/audit/demo/checkpoint", data={"csrf_token": token},
                       follow_redirects=True)
    return resp, 200, "Không ghi thêm được mốc kiểm tra"


def _plan(app, db):
    return (_post(app, "admin", "/results/demo/plan", {
        "method": "yamane", "basis": "agency", "pop_X-SONDUONG": "1000"}),
        400, "Không lưu được kế hoạch mẫu")


def _edit_campaign(app, db):
    return (_post(app, "admin", "/admin/campaigns/demo", {
        "name": "Đổi tên", "opens": "2026-01-01", "closes": "2026-12-31"}),
        400, "Không sửa được đợt khảo sát")


def _correct(app, db):
    return (_post(app, "admin", "/audit/responses/1/correct", {
        "new-TC1": "2", "reason": "Nhập nhầm khi gõ phiếu giấy"}),
        400, "Không ghi được đính chính: đợt khảo sát 'demo' đã được lưu trữ")


def _archive_again(app, db):
    return (_post(app, "admin", "/admin/campaigns/demo/archive", {"confirm": "y"}),
            409, "không lưu trữ lại")


WRITE_PATHS = {
    "open link (page)": _open_link_get, "open link (submit)": _open_link_post,
    "single-use link": _single_use_link, "API response": _api_response,
    "API invitation": _api_invitation, "issue forms": _issue_page, "void a form": _void,
    "paper entry": _paper_entry, "paper disagreement": _paper_resolve,
    "review one": _review_one, "review many": _review_bulk, "re-verification draw": _draw,
    "re-verification outcome": _outcome, "checkpoint": _checkpoint, "sample plan": _plan,
    "edit campaign": _edit_campaign, "correction": _correct,
    "archive again": _archive_again,
}


@pytest.mark.parametrize("path", list(WRITE_PATHS))
def test_every_write_path_is_refused_and_changes_nothing(archived, db, path):
    before = _state(db)
    resp, status, message = WRITE_PATHS[path](archived, db)
    assert resp.status_code == status, (path, resp.status_code)
    body = html.unescape(resp.get_data(as_text=True))
    assert message in body, (path, body[-2000:])
    db.session.expire_all()
    after = _state(db)
    if path == "API response" or path == "API invitation":
        after["AuditLog"] = before["AuditLog"]  # creating the key is logged, nothing else
    assert after == before


def test_links_refuse_an_archived_campaign_whatever_its_window(archived, db):
    """Archived is final even if the window were reopened (e.g. a clock or data fix)."""
    campaign = db.session.scalar(select(Campaign).filter_by(code="demo"))
    campaign.closes_at = utcnow() + timedelta(days=30)
    db.session.commit()
    page = archived.test_client().get(open_path(archived))
    assert page.status_code == 410 and "Đợt khảo sát đã kết thúc" in page.text
    before = _state(db)
    resp, status, message = _api_response(archived, db)
    assert resp.status_code == status
    db.session.expire_all()
    assert _state(db)["Response"] == before["Response"]
    status = archived.test_client().get("/api/v1/campaigns/demo", headers=_api_key(db)).json
    assert status["is_open"] is False
    assert status["archived_at"] == campaign.archived_at.isoformat() + "Z"


def test_services_refuse_too(archived, db, runner, tmp_path):
    """The write paths without a page of their own: the command line and the services."""
    from survey_app.services import contacts, planning, reverify, review
    from survey_app.services.campaigns import CampaignArchived, get_campaign

    before = _state(db)
    campaign = get_campaign("demo")
    with pytest.raises(contacts.InvalidContact, match="đã lưu trữ"):
        contacts.store_contact(1, PHONES[0], True)
    with pytest.raises(CampaignArchived):
        review.decide([1], "approved", "", user(db, "mttq"))
    with pytest.raises(CampaignArchived):
        reverify.record_outcome(_sampled_response(db), "confirmed", user=user(db, "mttq"))
    with pytest.raises(CampaignArchived):
        planning.save(campaign, planning.Plan(populations={"X-SONDUONG": 1000}))
    db.session.rollback()
    result = runner.invoke(args=["issue-forms", "--campaign", "demo", "--agency", "X-SONDUONG",
                                 "--count", "1", "--collector", "Lan",
                                 "--out", str(tmp_path / "f.pdf")])
    assert result.exit_code == 1 and "đã lưu trữ" in result.output
    assert not (tmp_path / "f.pdf").exists()
    db.session.expire_all()
    assert _state(db) == before


def test_refusal_in_english(archived, db):
    client = signed_in(archived, "mttq")
    token = csrf_token(client.get("/staff?lang=en").text)
    resp = client.post("/audit/responses/1/review",
                       data={"csrf_token": token, "decision": "approved"})
    assert resp.status_code == 400
    assert "Could not record the review decision: campaign 'demo' was archived" in \
        html.unescape(resp.text)


@pytest.mark.parametrize("path", [
    "/results/demo", "/results/demo/indices.csv", "/results/demo/responses.csv",
    "/results/demo/codebook.csv", "/results/demo/export.xlsx", "/results/demo/report",
    "/results/demo/plan", "/audit/demo", "/audit/demo/bundle.zip",
    "/audit/demo/reconciliation", "/audit/demo/reconciliation.xlsx", "/audit/demo/flags",
    "/audit/demo/responses", "/audit/demo/reverify", "/admin/campaigns/demo",
    "/admin/campaigns/demo/register", "/admin/campaigns/demo/register.csv",
])
def test_results_and_audit_stay_readable(archived, db, path):
    resp = signed_in(archived, "admin").get(path)
    assert resp.status_code == 200, resp.status_code
    if path == "/results/demo/responses.csv":
        rows = resp.get_data(as_text=True).strip().splitlines()
        assert len(rows) == 1 + db.session.scalar(select(func.count(Response.id)))
    if path == "/audit/demo/bundle.zip":
        with zipfile.ZipFile(io.BytesIO(resp.data)) as zf:
            assert ",archive," in zf.read("checkpoints.csv").decode()


def test_pages_offer_no_write_action_once_archived(round_done, runner, db):
    forms = [("/audit/demo/responses", 'action="/audit/demo/responses/review"'),
             ("/audit/demo/reverify", 'action="/audit/demo/reverify/draw"'),
             ("/audit/responses/1", 'action="/audit/responses/1/review"'),
             ("/audit/responses/1", 'action="/audit/responses/1/correct"'),
             ("/audit/demo", 'action="/audit/demo/checkpoint"'),
             ("/admin/campaigns/demo", 'href="/admin/campaigns/demo/issue"'),
             ("/admin/forms/DEMO-000004", 'action="/admin/forms/DEMO-000004/void"')]
    admin = signed_in(round_done, "admin")
    for path, action in forms:
        assert action in admin.get(path).text, f"{path} offers the action before archiving"
    assert runner.invoke(args=["archive-campaign", "--campaign", "demo"]).exit_code == 0
    for path, action in forms:
        page = admin.get(path)
        assert page.status_code == 200 and action not in page.text, path


def test_periodic_purge_still_serves_campaigns_never_archived(demo, runner, db):
    """`purge-contacts` stays for rounds that are never archived: a whole round's numbers
    with --campaign, without touching the campaign's state."""
    resp = answer_form(demo.test_client(), open_path(demo),
                       full_answers(recheck_consent="y", recheck_phone=PHONES[0]))
    assert resp.status_code == 303
    assert _contacts(db) == 1
    result = runner.invoke(args=["purge-contacts", "--campaign", "demo"])
    assert result.exit_code == 0 and "Đã xóa 1 số" in result.output
    assert _contacts(db) == 0
    assert db.session.scalar(select(Campaign.archived_at).filter_by(code="demo")) is None


@pytest.mark.skipif(not PG_URL, reason="row locks: PostgreSQL only (SQLite has one writer)")
def test_a_write_in_progress_is_covered_by_the_final_checkpoint(round_done, db):
    """A review that passed its check before the archive finishes first; the archive waits
    for it, and its final checkpoint covers the review's ledger entry."""
    import threading

    from survey_app.services import review
    from survey_app.services.campaigns import archive_campaign, archived_now, get_campaign

    locked, go, errors = threading.Event(), threading.Event(), []

    def reviewer():
        try:
            with round_done.app_context():
                assert archived_now(get_campaign("demo")) is None  # share lock taken
                locked.set()
                go.wait(10)
                review.decide([1], "approved", "", user(db, "mttq"))
                db.session.commit()
        except Exception as exc:  # reported below; a thread's exception is otherwise lost
            errors.append(exc)
            locked.set()

    def archiver():
        try:
            with round_done.app_context():
                archive_campaign(get_campaign("demo"))
                db.session.commit()
        except Exception as exc:
            errors.append(exc)

    first = threading.Thread(target=reviewer)
    first.start()
    assert locked.wait(10)
    second = threading.Thread(target=archiver)
    second.start()
    second.join(0.5)
    assert second.is_alive(), "the archive must wait for the write in progress"
    go.set()
    first.join(10)
    second.join(10)
    assert not errors, errors
    db.session.expire_all()
    entry = db.session.scalars(select(LedgerEntry).filter_by(kind="review")).one()
    (cp,) = _archive_checkpoints(db)
    assert entry.seq <= cp.seq == db.session.scalar(
        select(func.max(LedgerEntry.seq)).filter_by(campaign_id=cp.campaign_id))
