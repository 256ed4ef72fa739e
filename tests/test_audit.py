"""The MTTQ audit pages: review decisions (appended, chained, logged, verifiable), bulk
review of a flagged set, who may decide, responses never changed, escaping, flags and
reconciliation counts on a constructed campaign."""

import csv
import io
import json
import re
import zipfile
from datetime import date, timedelta

import pytest
from audit_helpers import (
    answer_open,
    answer_single_use,
    export_bundle,
    issue,
    run_analysis,
    user,
    varied,
)
from openpyxl import load_workbook
from sqlalchemy import select, text
from web_helpers import csrf_token, full_answers

from analysis.verify import verify_bundle
from survey_app.models import AuditLog, LedgerEntry, Response, ResponseReview

MARKUP = '<script>alert("x")</script><b>đậm</b>'


@pytest.fixture
def collected(demo):
    """Four responses through X-SONDUONG's open link: 1–2 varied (2 with markup in the
    comment), 3–4 straight-lined (every item 5), and one through STP's (Sở Tư pháp)."""
    answer_open(demo, varied(1))
    answer_open(demo, varied(2, Y_KIEN=MARKUP))
    answer_open(demo, full_answers(5))
    answer_open(demo, full_answers(5))
    answer_open(demo, varied(3), agency="STP")
    return demo


def _responses_snapshot(db):
    return db.session.execute(text("SELECT * FROM response ORDER BY id")).all()


def _post(client, page_path, action, **data):
    token = csrf_token(client.get(page_path).text)
    return client.post(action, data={"csrf_token": token, **data})


# --- review -----------------------------------------------------------------------------

def test_review_appends_row_ledger_event_and_log(collected, client, login, db):
    before = _responses_snapshot(db)
    login("mttq")
    resp = _post(client, "/audit/responses/2", "/audit/responses/2/review",
                 decision="has_issues", reason="Ý kiến có nội dung lạ")
    assert resp.status_code == 302
    resp = _post(client, "/audit/responses/2", "/audit/responses/2/review",
                 decision="rejected", reason="Phiếu không hợp lệ")
    assert resp.status_code == 302
    db.session.expire_all()
    rows = db.session.scalars(select(ResponseReview).order_by(ResponseReview.id)).all()
    assert [(r.response_id, r.state, r.reason) for r in rows] == [
        (2, "has_issues", "Ý kiến có nội dung lạ"), (2, "rejected", "Phiếu không hợp lệ")]
    assert rows[0].decided_by.username == "mttq"
    events = db.session.scalars(select(LedgerEntry).filter_by(kind="review")
                                .order_by(LedgerEntry.seq)).all()
    receipt = db.session.get(Response, 2).receipt_code
    assert [e.ref for e in events] == [receipt, receipt]
    payload = json.loads(events[-1].payload)
    assert payload["response_id"] == 2 and payload["state"] == "rejected"
    assert payload["by"] == "mttq" and payload["reason"] == "Phiếu không hợp lệ"
    assert set(payload) == {"kind", "response_id", "receipt", "state", "reason", "by", "at"}
    logged = db.session.scalars(select(AuditLog).filter_by(action="response.review")).all()
    assert [(a.actor, a.before, a.after["state"]) for a in logged] == [
        ("mttq", {"state": "received"}, "has_issues"),
        ("mttq", {"state": "has_issues"}, "rejected")]
    assert _responses_snapshot(db) == before  # the response itself never changes
    page = client.get("/audit/responses/2").text
    assert "Phiếu không hợp lệ" in page and "Ý kiến có nội dung lạ" in page


def test_reason_is_required_to_reject(collected, client, login, db):
    login("admin")
    resp = _post(client, "/audit/responses/1", "/audit/responses/1/review",
                 decision="rejected", reason="  ")
    assert resp.status_code == 400
    assert "Cần ghi lý do" in resp.text
    assert db.session.scalar(select(ResponseReview.id)) is None
    assert db.session.scalar(select(LedgerEntry.id).filter_by(kind="review")) is None
    # approving needs no reason
    resp = _post(client, "/audit/responses/1", "/audit/responses/1/review", decision="approved")
    assert resp.status_code == 302


def test_reason_with_a_phone_number_is_refused(collected, db):
    from survey_app.services import review

    with pytest.raises(review.ReviewRefused, match="số điện thoại"):
        review.decide([1], "has_issues", "gọi 0912 345 678 để hỏi", user(db, "mttq"))


def test_rejection_exports_and_verifies(collected, runner, db, tmp_path):
    from survey_app.services import review

    review.decide([3], "rejected", "Chọn một mức cho mọi câu, đã hỏi lại", user(db, "mttq"))
    review.decide([1], "approved", "", user(db, "admin"))
    db.session.commit()
    bundle = export_bundle(runner, tmp_path)
    code, out = run_analysis("verify", bundle)
    assert code == 0, out
    assert "2 later events" in out
    with zipfile.ZipFile(bundle) as zf:
        rows = {r["response_id"]: r for r in csv.DictReader(
            io.TextIOWrapper(zf.open("responses.csv"), encoding="utf-8"))}
    assert rows["3"]["review_state"] == "rejected" and rows["1"]["review_state"] == "approved"
    assert rows["2"]["review_state"] == "received"
    assert verify_bundle(bundle).responses_compared == "whole file"


def test_edited_review_state_in_the_bundle_is_caught(collected, runner, db, tmp_path):
    from survey_app.services import review

    review.decide([3], "rejected", "Không hợp lệ", user(db, "mttq"))
    db.session.commit()
    bundle = export_bundle(runner, tmp_path)
    with zipfile.ZipFile(bundle) as zf:
        files = {n: zf.read(n) for n in zf.namelist()}
    rows = list(csv.reader(io.StringIO(files["responses.csv"].decode())))
    state = rows[0].index("review_state")
    assert rows[3][state] == "rejected"
    rows[3][state] = "approved"  # someone "un-rejects" a response in the file
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    files["responses.csv"] = out.getvalue().encode()
    edited = tmp_path / "edited.zip"
    with zipfile.ZipFile(edited, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    code, out = run_analysis("verify", edited)
    assert code == 1
    assert "response 3: review state 'approved', ledger says 'rejected'" in out


def test_indices_with_and_without_rejected(collected, client, login, db):
    from survey_app.services import auditing, review

    review.decide([1, 2], "rejected", "Thử", user(db, "mttq"))
    db.session.commit()
    table = auditing.service_indices(db.session.get(Response, 1).campaign) \
        .set_index("agency_code")
    assert table.loc["X-SONDUONG", "n_all"] == 4 and table.loc["X-SONDUONG", "n_kept"] == 2
    assert table.loc["X-SONDUONG", "index_kept"] == 100.0  # only the all-5 forms remain
    assert table.loc["X-SONDUONG", "index_all"] < 100.0
    login("mttq")
    assert "100,00" in client.get("/audit/demo").text  # a decimal comma


BULK = "/audit/demo/responses/review"


def _fingerprint(page: str) -> str:
    return re.search(r'name="fingerprint" type="hidden" value="([0-9a-f]{64})"', page).group(1)


def _bulk_preview(client, listing: str, **data):
    """The bulk form of the listing, filled in and sent: the preview (nothing written)."""
    page = client.get(listing)
    filters = dict(p.split("=", 1) for p in listing.partition("?")[2].split("&") if p)
    return client.post(BULK, data={"csrf_token": csrf_token(page.text), **filters, **data})


def _bulk_confirm(client, listing: str, preview, **data):
    """The preview's confirmation, carrying the same selection."""
    filters = dict(p.split("=", 1) for p in listing.partition("?")[2].split("&") if p)
    return client.post(BULK, data={"csrf_token": csrf_token(preview.text), **filters, **data,
                                   "fingerprint": _fingerprint(preview.text)})


def _states(db) -> dict[int, str]:
    rows = db.session.execute(select(ResponseReview.response_id, ResponseReview.state)
                              .order_by(ResponseReview.id)).all()
    return dict(rows)


def test_bulk_review_of_a_flagged_set(collected, client, login, db):
    login("mttq")
    listing = "/audit/demo/responses?agency=X-SONDUONG&flag=straight_lining"
    page = client.get(listing)
    assert page.status_code == 200
    assert "2 trong 5 phiếu" in page.text
    decision = {"decision": "has_issues", "reason": "Chọn một mức cho mọi câu"}
    preview = _bulk_preview(client, listing, **decision)
    assert preview.status_code == 200
    assert "sẽ thay đổi 2 phiếu" in preview.text and "lật lại 0 quyết định" in preview.text
    assert db.session.scalar(select(ResponseReview.id)) is None  # a preview writes nothing
    resp = _bulk_confirm(client, listing, preview, **decision)
    assert resp.status_code == 302
    assert _states(db) == {3: "has_issues", 4: "has_issues"}
    assert db.session.scalar(select(LedgerEntry.id).filter_by(kind="review", seq=7)) is not None
    # deciding the same again is not a new decision
    preview = _bulk_preview(client, listing, **decision)
    assert "sẽ thay đổi 0 phiếu" in preview.text and "2 phiếu đã có đúng" in preview.text
    assert _bulk_confirm(client, listing, preview, **decision).status_code == 302
    assert len(db.session.scalars(select(ResponseReview)).all()) == 2


def test_no_bulk_decision_is_preselected(collected, client, login):
    login("mttq")
    page = client.get("/audit/demo/responses").text
    form = page[page.index(f'action="{BULK}"'):]
    options = re.findall(r"<option[^>]*>", form[form.index('name="decision"'):])
    assert options[0] in ('<option value="">', '<option selected value="">')  # "— chọn —"
    assert not any("selected" in o for o in options[1:4])
    assert 'name="overwrite"' in form and "checked" not in form


def test_bulk_approval_keeps_an_individual_rejection(collected, client, login, db):
    login("mttq")
    assert _post(client, "/audit/responses/3", "/audit/responses/3/review",
                 decision="rejected", reason="Chọn một mức cho mọi câu").status_code == 302
    listing = "/audit/demo/responses?agency=X-SONDUONG"
    approve = {"decision": "approved", "reason": "Đã xem cả lô"}
    preview = _bulk_preview(client, listing, **approve)
    assert preview.status_code == 200
    assert "sẽ thay đổi 3 phiếu" in preview.text and "lật lại 0 quyết định" in preview.text
    assert "1 phiếu đã có quyết định được giữ nguyên" in preview.text
    resp = _bulk_confirm(client, listing, preview, **approve)
    assert resp.status_code == 302
    assert _states(db) == {3: "rejected", 1: "approved", 2: "approved", 4: "approved"}
    assert client.get("/audit/responses/3").text.count("Loại bỏ") >= 1

    # chosen explicitly, the bulk decision overturns it — and the preview says so
    preview = _bulk_preview(client, listing, overwrite="y", **approve)
    assert "sẽ thay đổi 1 phiếu" in preview.text and "lật lại 1 quyết định" in preview.text
    assert 'name="overwrite" value="y"' in preview.text
    resp = _bulk_confirm(client, listing, preview, overwrite="y", **approve)
    assert resp.status_code == 302
    latest = db.session.scalars(select(ResponseReview).filter_by(response_id=3)
                                .order_by(ResponseReview.id.desc())).first()
    assert (latest.state, latest.reason) == ("approved", "Đã xem cả lô")
    assert len(db.session.scalars(select(ResponseReview)).all()) == 5


@pytest.mark.parametrize("data, message", [
    ({"decision": "", "reason": "Đã xem"}, "chưa chọn quyết định"),
    ({"decision": "approved", "reason": ""}, "cần ghi lý do cho quyết định hàng loạt"),
    ({"decision": "approved", "reason": "   "}, "cần ghi lý do cho quyết định hàng loạt"),
    ({"decision": "approved", "reason": "gọi 0912 345 678"}, "số điện thoại"),
])
def test_bulk_decision_needs_a_decision_and_a_reason(collected, client, login, db, data,
                                                     message):
    login("mttq")
    listing = "/audit/demo/responses?agency=X-SONDUONG"
    resp = _bulk_preview(client, listing, **data)
    assert resp.status_code == 400 and message in resp.text
    assert "Xác nhận ghi" not in resp.text
    # nor can the confirmation be sent without them
    good = _bulk_preview(client, listing, decision="approved", reason="Đã xem")
    resp = _bulk_confirm(client, listing, good, **data)
    assert resp.status_code == 400 and message in resp.text
    assert db.session.scalar(select(ResponseReview.id)) is None
    assert db.session.scalar(select(LedgerEntry.id).filter_by(kind="review")) is None


def test_bulk_decision_refused_when_the_set_changed_since_the_preview(collected, client,
                                                                      login, db):
    login("mttq")
    listing = "/audit/demo/responses?agency=X-SONDUONG"
    approve = {"decision": "approved", "reason": "Đã xem cả lô"}
    preview = _bulk_preview(client, listing, **approve)
    answer_open(collected, varied(9))  # one more response matches the filter now
    resp = _bulk_confirm(client, listing, preview, **approve)
    assert resp.status_code == 400 and "đã thay đổi từ lúc xem trước" in resp.text
    preview = _bulk_preview(client, listing, **approve)
    # someone decides about one of them meanwhile: refused too
    assert _post(client, "/audit/responses/1", "/audit/responses/1/review",
                 decision="rejected", reason="Khác").status_code == 302
    resp = _bulk_confirm(client, listing, preview, **approve)
    assert resp.status_code == 400 and "đã thay đổi từ lúc xem trước" in resp.text
    # the decision or the reason altered in the confirmation: refused
    preview = _bulk_preview(client, listing, **approve)
    resp = _bulk_confirm(client, listing, preview, decision="approved", reason="Khác")
    assert resp.status_code == 400
    assert _states(db) == {1: "rejected"}


@pytest.mark.parametrize("role", ["officer", "clerk"])
def test_officers_and_clerks_cannot_review(collected, client, login, make_user, db, role):
    before = _responses_snapshot(db)
    # The officer belongs to X-SONDUONG, whose responses these are.
    make_user(f"u-{role}", role, "X-SONDUONG" if role == "officer" else None)
    login(f"u-{role}")
    token = csrf_token(client.get("/staff").text)
    for path, data in [
        ("/audit/responses/1/review", {"decision": "rejected", "reason": "x"}),
        ("/audit/demo/responses/review", {"decision": "approved", "reason": "x"}),
        ("/audit/responses/1/outcome", {"outcome": "confirmed"}),
        ("/audit/demo/reverify/draw", {"rate_pct": "50", "seed": "1", "oversample": "2"}),
        ("/audit/demo/checkpoint", {}),
    ]:
        assert client.post(path, data={"csrf_token": token, **data}).status_code == 403, path
    for path in ("/audit/", "/audit/demo", "/audit/responses/1", "/audit/demo/bundle.zip"):
        assert client.get(path).status_code == 403, path
    assert db.session.scalar(select(ResponseReview.id)) is None
    assert _responses_snapshot(db) == before


def test_services_refuse_undue_deciders(collected, db, make_user):
    from survey_app.services import reverify, review

    make_user("off", "officer", "X-SONDUONG")
    make_user("aud-x", "auditor", "X-SONDUONG")  # an auditor account tied to that agency
    with pytest.raises(review.ReviewRefused, match="Chỉ giám sát viên"):
        review.decide([1], "approved", "", user(db, "off"))
    with pytest.raises(review.ReviewRefused, match="chính cơ quan"):
        review.decide([1], "approved", "", user(db, "aud-x"))
    with pytest.raises(reverify.ReverifyRefused):
        reverify.draw_sample(db.session.get(Response, 1).campaign, 0.5, 1,
                             user=user(db, "off"))
    with pytest.raises(review.ReviewRefused, match="received"):
        review.decide([1], "received", "", user(db, "mttq"))
    with pytest.raises(review.ReviewRefused, match="Không có phiếu số 999"):
        review.decide([1, 999], "approved", "", user(db, "mttq"))
    assert db.session.scalar(select(ResponseReview.id)) is None


def test_no_audit_route_changes_a_response(collected, client, login, db, app):
    """Every write the audit blueprint offers, done by an auditor (and the correction, which
    only an admin may make): the responses stay byte-identical (only new review, draw,
    outcome, correction and ledger rows appear)."""
    writes = sorted(r.rule for r in app.url_map.iter_rules()
                    if r.endpoint.startswith("audit.") and "POST" in r.methods)
    assert writes == ["/audit/<code>/checkpoint", "/audit/<code>/responses/review",
                      "/audit/<code>/reverify/draw", "/audit/responses/<int:rid>/correct",
                      "/audit/responses/<int:rid>/outcome", "/audit/responses/<int:rid>/review"]
    assert not any({"PUT", "PATCH", "DELETE"} & r.methods for r in app.url_map.iter_rules()
                   if r.endpoint.startswith("audit."))
    from survey_app.services import contacts

    contacts.store_contact(1, "0912345678", True)  # drawable: its respondent can be asked
    db.session.commit()
    before = _responses_snapshot(db)
    login("mttq")
    assert _post(client, "/audit/demo", "/audit/demo/checkpoint").status_code == 302
    assert _post(client, "/audit/demo/reverify", "/audit/demo/reverify/draw",
                 rate_pct="100", seed="5", oversample="2").status_code == 302
    assert _post(client, "/audit/responses/1", "/audit/responses/1/outcome",
                 outcome="answers_differ", note="CC1 khác").status_code == 302
    assert _post(client, "/audit/responses/1", "/audit/responses/1/review",
                 decision="rejected", reason="Trả lời khác khi phúc tra").status_code == 302
    approve = {"decision": "approved", "reason": "Đã xem"}
    preview = _bulk_preview(client, "/audit/demo/responses", **approve)
    assert _bulk_confirm(client, "/audit/demo/responses", preview, **approve).status_code == 302
    assert _post(client, "/audit/responses/1", "/audit/responses/1/correct",
                 reason="Nhập nhầm", **{"new-TC1": "1"}).status_code == 403
    login("admin")
    assert _post(client, "/audit/responses/1", "/audit/responses/1/correct",
                 reason="Nhập nhầm", **{"new-TC1": "1"}).status_code == 302
    assert db.session.scalar(select(LedgerEntry.id).filter_by(kind="correction")) is not None
    assert _responses_snapshot(db) == before


def test_answers_are_shown_escaped(collected, client, login):
    login("mttq")
    page = client.get("/audit/responses/2").text
    assert MARKUP not in page and "<script>alert" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;b&gt;đậm&lt;/b&gt;" in page


def test_checkpoint_button_and_bundle_download(collected, client, login, db):
    login("mttq")
    resp = _post(client, "/audit/demo", "/audit/demo/checkpoint")
    assert resp.status_code == 302
    page = client.get("/audit/demo").text
    assert "demo#5:" in page
    logged = db.session.scalar(select(AuditLog).filter_by(action="ledger.checkpoint"))
    assert logged.actor == "mttq" and logged.after["digest"].startswith("demo#5:")
    bundle = client.get("/audit/demo/bundle.zip")
    assert bundle.status_code == 200 and bundle.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(bundle.data)) as zf:
        assert {"responses.csv", "codebook.csv", "audit.csv", "ledger.csv", "checkpoints.csv",
                "manifest.json"} <= set(zf.namelist())
        audit_rows = list(csv.DictReader(io.TextIOWrapper(zf.open("audit.csv"),
                                                          encoding="utf-8")))
    assert [r["collector"] for r in audit_rows] == ["open"] * 5
    assert audit_rows[2]["flags"] == "straight_lining"


# --- flags ------------------------------------------------------------------------------

def test_flags_page_counts_per_agency_and_collector(collected, client, login):
    login("admin")
    page = client.get("/audit/demo/flags")
    assert page.status_code == 200
    assert "Chọn một mức cho mọi câu" in page.text
    listing = client.get("/audit/demo/flags?flag=straight_lining&agency=X-SONDUONG").text
    assert "/audit/responses/3" in listing and "/audit/responses/4" in listing
    assert "cả 19 câu hài lòng đều chọn mức 5" in listing
    assert "/audit/responses/1\"" not in listing


def test_a_burst_from_one_address_is_flagged(collected, db):
    from survey_app.services import flags

    for k in range(5):
        answer_open(collected, varied(10 + k), agency="SNV", address="203.0.113.7")
    campaign = db.session.get(Response, 1).campaign
    _, table = flags.campaign_flags(campaign)
    bursts = table[table["flag"] == "burst"]
    assert sorted(bursts["response_id"]) == [6, 7, 8, 9, 10]
    assert bursts["detail"].iloc[0].startswith("5 submissions from one network address")


def test_flag_thresholds_come_from_the_configuration(collected, db):
    from survey_app.services import flags

    campaign = db.session.get(Response, 1).campaign
    assert flags.flagged_ids(campaign) == {3, 4}
    collected.config["QUALITY_THRESHOLDS"] = {"straight_min_items": 20}
    _, table = flags.campaign_flags(campaign)
    # no longer straight-liners (19 items < 20), so the two all-5 forms are near-copies
    assert set(zip(table["response_id"], table["flag"], strict=True)) == {
        (3, "near_duplicate"), (4, "near_duplicate")}
    collected.config["QUALITY_THRESHOLDS"] = {"no_such_threshold": 1}
    with pytest.raises(ValueError, match="no_such_threshold"):
        flags.thresholds()


# --- reconciliation ---------------------------------------------------------------------

@pytest.fixture
def fieldwork(demo, db):
    """X-SONDUONG: 5 forms to Chị Lan (2 answered online, 1 entered from paper, 1 void,
    1 still out), 3 to Anh Minh (deadline passed, none back); plus 1 open-link response,
    1 API response and a planned sample of 10."""
    from survey_app import intake
    from survey_app.models import Campaign, CampaignAgency, FormBatch
    from survey_app.services import issuance, paper

    lan = issue(demo, "X-SONDUONG", 5, "Chị Lan", date.today() + timedelta(days=5))
    issue(demo, "X-SONDUONG", 3, "Anh Minh", date.today() + timedelta(days=1))
    answer_single_use(demo, lan[0][1])
    answer_single_use(demo, lan[1][1], varied(4))
    answer_open(demo, varied(5))
    with demo.app_context():
        form = paper.find_paper_form(lan[2][0])
        paper.enter(form, {"TC1": 4, "TC2": 5}, user(db, "nhaplieu").id)
        issuance.void_form(lan[3][0], "Rách, không sử dụng được")
        campaign, agency, scope = issuance.get_scope("demo", "X-SONDUONG")
        scope.planned = 10
        intake.record(campaign=campaign, agency=agency, channel="api",
                         answers={"TC1": 5}, client="10.0.0.9")
        # Anh Minh's batch is now overdue (a deadline cannot be issued in the past).
        batch = db.session.scalar(select(FormBatch).filter_by(collector="Anh Minh"))
        batch.deadline = date.today() - timedelta(days=2)
        db.session.commit()
        assert db.session.scalar(select(CampaignAgency.planned).where(
            CampaignAgency.id == scope.id)) == 10
        assert db.session.scalar(select(Campaign.code)) == "demo"
    return demo


def test_reconciliation_counts(fieldwork, db):
    from survey_app.services import reconciliation
    from survey_app.services.campaigns import get_campaign

    rec = reconciliation.reconcile(get_campaign("demo"))
    by_collector = {(r["agency_code"], r["collector"]): r for r in rec.by_collector}
    lan = by_collector[("X-SONDUONG", "Chị Lan")]
    assert {k: lan[k] for k in ("batches", "issued", "online", "paper", "void", "outstanding",
                                "not_returned")} == {
        "batches": 1, "issued": 5, "online": 2, "paper": 1, "void": 1, "outstanding": 1,
        "not_returned": 0}
    minh = by_collector[("X-SONDUONG", "Anh Minh")]
    assert (minh["issued"], minh["outstanding"], minh["not_returned"]) == (3, 3, 3)
    agency = {r["agency_code"]: r for r in rec.by_agency}["X-SONDUONG"]
    assert {k: agency[k] for k in ("issued", "online", "paper", "void", "outstanding",
                                   "not_returned", "open", "api", "achieved", "planned",
                                   "achieved_pct")} == {
        "issued": 8, "online": 2, "paper": 1, "void": 1, "outstanding": 4, "not_returned": 3,
        "open": 1, "api": 1, "achieved": 5, "planned": 10, "achieved_pct": 50.0}
    # every form is accounted for exactly once
    assert agency["issued"] == agency["online"] + agency["paper"] + agency["void"] \
        + agency["outstanding"]
    assert [b["collector"] for b in rec.overdue] == ["Anh Minh"]
    assert rec.totals["achieved"] == 5


def test_reconciliation_page_and_xlsx(fieldwork, client, login):
    login("mttq")
    page = client.get("/audit/demo/reconciliation")
    assert page.status_code == 200 and "Chị Lan" in page.text and "50,0 %" in page.text
    resp = client.get("/audit/demo/reconciliation.xlsx")
    assert resp.status_code == 200
    book = load_workbook(io.BytesIO(resp.data))
    assert book.sheetnames == ["Theo cơ quan", "Theo người phát", "Lô quá hạn", "Thông tin"]
    agencies = list(book["Theo cơ quan"].values)
    header, rows = agencies[0], {r[0]: dict(zip(agencies[0], r, strict=True))
                                 for r in agencies[1:]}
    assert header[:3] == ("Mã cơ quan", "Cơ quan", "Phiếu đã phát")
    row = rows["X-SONDUONG"]
    assert (row["Phiếu đã phát"], row["Trả lời trực tuyến (QR)"], row["Đã nộp và nhập phiếu giấy"],
            row["Đã hủy"], row["Chưa thu về"], row["Qua API"], row["Đạt (%)"]) == (
        8, 2, 1, 1, 4, 1, 50.0)
    collectors = [r[2] for r in list(book["Theo người phát"].values)[1:]]
    assert collectors == ["Anh Minh", "Chị Lan"]
    assert [r[2] for r in list(book["Lô quá hạn"].values)[1:]] == ["Anh Minh"]
