"""Paper data entry through the clerk's pages: keying a returned form, refusals, double
entry, and the supervisor settling two entries that disagree."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from web_helpers import counted, csrf_token, hidden_fields, signed_in

from survey_app.models import (
    AuditLog,
    Campaign,
    IssuedForm,
    PaperEntry,
    Response,
    User,
    utcnow,
)
from survey_app.services.issuance import hash_token as token_hash

SATISFACTION = ["TC1", "TC2", "TC3", "TC4", "TT1", "TT2", "TT3", "TT4", "CC1", "CC2", "CC3",
                "CC4", "CC5", "KQ1", "KQ2", "KQ3", "PA1", "PA2", "PA3"]


@pytest.fixture
def paper_form(demo):
    """paper_form() issues the next numbered paper form of campaign `demo` to X-SONDUONG
    and returns (serial, token); paper_form(kind="invitation") makes an invitation."""
    from survey_app.extensions import db as _db
    from survey_app.services import issuance

    def _make(kind: str = "paper"):
        with demo.app_context():
            campaign, agency, _ = issuance.get_scope("demo", "X-SONDUONG")
            if kind == "invitation":
                number = campaign.next_serial
                campaign.next_serial += 1
                token = f"invitation-{number}"
                _db.session.add(IssuedForm(
                    campaign=campaign, agency=agency, kind="invitation", number=number,
                    serial=issuance.serial_for(campaign, number), token_hash=token_hash(token)))
                serial = issuance.serial_for(campaign, number)
            else:
                _, [(serial, url)] = issuance.issue_batch(campaign, agency, 1, "Người phát thử")
                token = url.rsplit("/f/", 1)[1]
            _db.session.commit()
        return serial, token

    return _make


@pytest.fixture
def double_entry(demo):
    from survey_app.extensions import db as _db

    with demo.app_context():
        _db.session.scalar(select(Campaign).filter_by(code="demo")).double_entry = True
        _db.session.commit()


def answers(**changes):
    """A complete, valid set of keyed values (as typed), with `changes` applied."""
    data = {code: "4" for code in SATISFACTION}
    data.update({"TC2": "0", "UT1": "3", "UT3": "1", "GIOI_TINH": "2", "KENH_TT": ["1", "3"],
                 "Y_KIEN": "Cán bộ nhiệt tình"})
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def key_in(client, serial, **values):
    page = client.get(f"/entry/form/{serial}")
    return client.post(f"/entry/form/{serial}",
                       data={"csrf_token": csrf_token(page.text), **values})


def count(db, model, **where):
    return db.session.scalar(select(func.count()).select_from(model).filter_by(**where))


def tally(db, code, score):
    n = sum(v for (_, item, s), v in counted(db).items() if (item, s) == (code, score))
    return n or None


def user_id(db, username):
    return db.session.scalar(select(User.id).filter_by(username=username))


# --- single entry ---------------------------------------------------------------------

def test_entry_screen_mirrors_the_paper_form(demo, paper_form, db):
    serial, _ = paper_form()
    clerk = signed_in(demo, "nhaplieu")
    home = clerk.get("/entry/")
    assert home.status_code == 200
    assert re.search(r'<input id="serial" name="serial"[^>]* autofocus', home.text)
    assert "Nhập phiếu giấy" in home.text  # the nav link

    page = clerk.get(f"/entry/form/{serial}")
    assert page.status_code == 200
    html = page.text
    # Every item, in the printed order, with its code and its Vietnamese text.
    version = db.session.scalar(select(Campaign).filter_by(code="demo")).version
    positions = [html.index(f'id="c-{i.code}"') if i.type in ("satisfaction", "priority")
                 else html.index(f'id="q-{i.code}"') for i in version.items]
    assert positions == sorted(positions)
    assert "I. Tiếp cận dịch vụ" in html and "VIII. Ý kiến khác" in html
    assert "Nơi tiếp nhận hồ sơ, trả kết quả sạch sẽ, văn minh" in html
    # One short numeric box per scale item; the first one has the focus.
    box = re.search(r'<input class="key"[^>]*name="TC1"[^>]*>', html).group(0)
    assert 'inputmode="numeric"' in box and 'maxlength="1"' in box and "autofocus" in box
    assert re.search(r'<input class="key"[^>]*name="UT1"[^>]*pattern="\[1-3\]"', html)
    assert "0 = KAD" in html
    # Choice items are numbered radios / checkboxes, the comment a textarea.
    assert re.search(r'type="radio" name="GIOI_TINH" value="2"> <b>2</b> Nữ', html)
    assert 'type="checkbox" name="KENH_TT" value="3"' in html
    assert '<textarea id="i-Y_KIEN" name="Y_KIEN"' in html


def test_clerk_enters_a_paper_form(demo, paper_form, db):
    serial, token = paper_form()
    clerk = signed_in(demo, "nhaplieu")
    # The serial box forgives case and spaces.
    resp = clerk.get("/entry/?serial=%20demo-000001%20")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/entry/form/{serial}")

    # A QR scanner in the box types the form's own link: that finds the form too.
    resp = clerk.get(f"/entry/?serial=http://localhost/f/{token}")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/entry/form/{serial}")

    resp = key_in(clerk, serial, **answers())
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/entry/")
    assert f"Đã nhập phiếu {serial}" in clerk.get("/entry/").text

    response = db.session.scalars(select(Response)).one()
    assert response.channel == "paper"
    assert response.entered_by_id == user_id(db, "nhaplieu")
    assert response.form.serial == serial and response.form.state == "paper"
    stored = response.answer_dict
    assert stored["TC1"] == 4 and stored["TC2"] == 0 and stored["UT1"] == 3
    assert stored["GIOI_TINH"] == "2" and stored["KENH_TT"] == ["1", "3"]
    assert stored["Y_KIEN"] == "Cán bộ nhiệt tình"
    # Counted in the tally the indices are computed from (KAD counted as 0).
    assert tally(db, "TC1", 4) == 1 and tally(db, "TC2", 0) == 1
    assert count(db, PaperEntry) == 0


def test_reentering_the_same_serial_is_refused(demo, paper_form, db):
    serial, _ = paper_form()
    clerk = signed_in(demo, "nhaplieu")
    assert key_in(clerk, serial, **answers()).status_code == 302

    page = clerk.get(f"/entry/form/{serial}")
    assert page.status_code == 409 and "đã được nhập" in page.text
    resp = clerk.post(f"/entry/form/{serial}",
                      data={"csrf_token": csrf_token(page.text), **answers(TC1="1")})
    assert resp.status_code == 409 and "đã được nhập" in resp.text
    assert count(db, Response) == 1
    assert tally(db, "TC1", 4) == 1 and tally(db, "TC1", 1) is None


def test_form_answered_online_cannot_be_entered(demo, paper_form, db):
    serial, token = paper_form()
    citizen = demo.test_client()
    page = citizen.get(f"/f/{token}")
    assert page.status_code == 200
    resp = citizen.post(f"/f/{token}", data={
        **hidden_fields(page.text), **{code: "5" for code in SATISFACTION}})
    assert resp.status_code == 303, resp.text[-800:]

    clerk = signed_in(demo, "nhaplieu")
    page = clerk.get(f"/entry/form/{serial}")
    assert page.status_code == 409 and "đã được trả lời trực tuyến" in page.text
    resp = clerk.post(f"/entry/form/{serial}",
                      data={"csrf_token": csrf_token(page.text), **answers()})
    assert resp.status_code == 409 and "đã được trả lời trực tuyến" in resp.text
    assert db.session.scalars(select(Response.channel)).all() == ["single_use"]
    assert tally(db, "TC1", 4) is None


def test_unknown_serial_and_invitation(demo, paper_form, db):
    invitation, _ = paper_form(kind="invitation")
    clerk = signed_in(demo, "nhaplieu")
    resp = clerk.get("/entry/?serial=KHONG-CO-123")
    assert resp.status_code == 404 and "Không có phiếu số &#39;KHONG-CO-123&#39;" in resp.text
    assert clerk.get("/entry/form/KHONG-CO-123").status_code == 404
    resp = clerk.get(f"/entry/form/{invitation}")
    assert resp.status_code == 404 and "lời mời" in resp.text
    assert count(db, Response) == 0


def test_out_of_range_value_is_shown_next_to_the_item(demo, paper_form, db):
    serial, _ = paper_form()
    clerk = signed_in(demo, "nhaplieu")
    resp = key_in(clerk, serial, **answers(TC1="7", UT2="5", CC3=None))
    assert resp.status_code == 400
    html = resp.text
    row = re.search(r'<tr class=" bad">\s*<th scope="row" id="c-TC1">.*?</tr>', html, re.S)
    assert row and 'value="7"' in row.group(0) and 'aria-invalid="true"' in row.group(0)
    assert 'id="e-TC1">giá trị phải là 1–5, hoặc 0 (không áp dụng)' in row.group(0)
    assert 'id="e-UT2">giá trị phải là 1, 2 hoặc 3' in html
    # A question left blank on paper is simply unanswered, not an error.
    assert 'id="e-CC3"' not in html
    assert "Có 2 câu chưa đúng" in html
    # Everything else typed is still there.
    assert re.search(r'name="TC3" value="4"', html)
    assert re.search(r'name="GIOI_TINH" value="2" checked', html)
    assert "Cán bộ nhiệt tình</textarea>" in html
    assert count(db, Response) == 0 and count(db, PaperEntry) == 0
    assert counted(db) == {}


def test_paper_returned_after_closing_still_counts(demo, paper_form, db):
    serial, _ = paper_form()
    campaign = db.session.scalar(select(Campaign).filter_by(code="demo"))
    campaign.opens_at = utcnow() - timedelta(days=40)
    campaign.closes_at = utcnow() - timedelta(days=1)
    db.session.commit()
    clerk = signed_in(demo, "nhaplieu")
    assert key_in(clerk, serial, **answers()).status_code == 302
    assert count(db, Response, channel="paper") == 1


@pytest.mark.parametrize("change,message", [
    ("archive", "đợt khảo sát đã lưu trữ"),
    ("void", "đã bị hủy (phiếu bị rách)"),
])
def test_archived_campaign_or_void_form_refused(demo, paper_form, db, change, message):
    serial, _ = paper_form()
    clerk = signed_in(demo, "nhaplieu")
    page = clerk.get(f"/entry/form/{serial}")
    form = db.session.scalar(select(IssuedForm).filter_by(serial=serial))
    if change == "archive":
        form.campaign.archived_at = utcnow()
    else:
        form.voided_at, form.void_reason = utcnow(), "phiếu bị rách"
    db.session.commit()
    resp = clerk.post(f"/entry/form/{serial}",
                      data={"csrf_token": csrf_token(page.text), **answers()})
    assert resp.status_code == 409 and message in resp.text
    assert count(db, Response) == 0


# --- double entry ---------------------------------------------------------------------

def test_double_entry_two_clerks_agree(demo, paper_form, double_entry, make_user, db):
    serial, _ = paper_form()
    make_user("nhaplieu2", "clerk")
    first, second = signed_in(demo, "nhaplieu"), signed_in(demo, "nhaplieu2")

    assert key_in(first, serial, **answers()).status_code == 302
    assert "chờ nhập lần 2" in first.get("/entry/").text
    assert count(db, Response) == 0 and count(db, PaperEntry) == 1
    assert ">1</td>" in first.get("/entry/").text  # one awaiting the second entry

    # Blind: the second clerk's screen carries none of the first clerk's values.
    page = second.get(f"/entry/form/{serial}")
    assert page.status_code == 200 and "Nhập lần 2" in page.text
    boxes = re.findall(r'<input class="key"[^>]* value="([^"]*)"', page.text)
    assert len(boxes) == 28 and set(boxes) == {""}
    assert "Cán bộ nhiệt tình" not in page.text
    assert " checked" not in page.text.replace('value="" checked', "")

    resp = second.post(f"/entry/form/{serial}",
                       data={"csrf_token": csrf_token(page.text), **answers()})
    assert resp.status_code == 302
    assert f"Đã nhập phiếu {serial}; phiếu đã được tính" in second.get("/entry/").text
    response = db.session.scalars(select(Response)).one()
    assert response.channel == "paper" and response.entered_by_id == user_id(db, "nhaplieu2")
    assert count(db, PaperEntry) == 2 and tally(db, "TC1", 4) == 1


def test_double_entry_disagreement_resolved_by_admin(demo, paper_form, double_entry,
                                                     make_user, db):
    serial, _ = paper_form()
    make_user("nhaplieu2", "clerk")
    make_user("nhaplieu3", "clerk")
    first, second = signed_in(demo, "nhaplieu"), signed_in(demo, "nhaplieu2")
    assert key_in(first, serial, **answers(TC1="4")).status_code == 302
    assert key_in(second, serial, **answers(TC1="5", UT3=None)).status_code == 302
    assert "lệch với lần 1, chờ xử lý" in second.get("/entry/").text
    assert count(db, Response) == 0
    assert counted(db) == {}

    # A third clerk cannot break the tie: the supervisor decides.
    third = signed_in(demo, "nhaplieu3")
    resp = third.get(f"/entry/form/{serial}")
    assert resp.status_code == 409 and "chờ quản trị viên xử lý" in resp.text

    admin = signed_in(demo, "admin")
    listing = admin.get("/entry/disagreements")
    assert listing.status_code == 200
    assert serial in listing.text and "TC1, UT3" in listing.text

    page = admin.get(f"/entry/disagreements/{serial}")
    assert page.status_code == 200
    html = page.text
    row = re.search(r'<tr class="diff">\s*<th scope="row" id="c-TC1">.*?</tr>', html, re.S)
    assert row, "the differing item is highlighted"
    assert "<td>4 (Hài lòng)</td><td>5 (Rất hài lòng)</td>" in row.group(0)
    assert 'name="TC1" value=""' in row.group(0) and "autofocus" in row.group(0)
    assert re.search(r'name="TC3" value="4"', html)  # agreed values are filled in

    resp = admin.post(f"/entry/disagreements/{serial}", data={
        "csrf_token": csrf_token(html), **answers(TC1="3", UT3=None)})
    assert resp.status_code == 302, resp.text[-1500:]
    response = db.session.scalars(select(Response)).one()
    assert response.entered_by_id == user_id(db, "admin")
    assert response.answer_dict["TC1"] == 3 and "UT3" not in response.answer_dict
    assert tally(db, "TC1", 3) == 1 and tally(db, "TC1", 4) is None
    log = db.session.scalars(select(AuditLog).filter_by(action="paper.resolve")).one()
    assert log.object_id == serial and log.before["differences"]["TC1"] == [4, 5]
    listing = admin.get("/entry/disagreements").text
    assert f"Đã xử lý phiếu {serial}" in listing
    assert f">{serial}</a>" not in listing and "Không có phiếu nào lệch" in listing

    # Settled once: a second resolution is refused and changes nothing.
    resp = admin.post(f"/entry/disagreements/{serial}", data={
        "csrf_token": csrf_token(html), **answers(TC1="1")})
    assert resp.status_code == 409 and "đã được xử lý" in resp.text
    assert count(db, Response) == 1


def test_resolution_with_invalid_values_keeps_them(demo, paper_form, double_entry,
                                                   make_user, db):
    serial, _ = paper_form()
    make_user("nhaplieu2", "clerk")
    key_in(signed_in(demo, "nhaplieu"), serial, **answers(TC1="4"))
    key_in(signed_in(demo, "nhaplieu2"), serial, **answers(TC1="5"))
    admin = signed_in(demo, "admin")
    page = admin.get(f"/entry/disagreements/{serial}")
    resp = admin.post(f"/entry/disagreements/{serial}",
                      data={"csrf_token": csrf_token(page.text), **answers(TC1="9")})
    assert resp.status_code == 400 and 'id="e-TC1"' in resp.text
    assert 'name="TC1" value="9"' in resp.text
    assert count(db, Response) == 0


def test_same_clerk_cannot_enter_twice(demo, paper_form, double_entry, db):
    serial, _ = paper_form()
    clerk = signed_in(demo, "nhaplieu")
    page = clerk.get(f"/entry/form/{serial}")
    token = csrf_token(page.text)
    assert clerk.post(f"/entry/form/{serial}",
                      data={"csrf_token": token, **answers()}).status_code == 302
    again = clerk.get(f"/entry/form/{serial}")
    assert again.status_code == 409 and "Bạn đã nhập phiếu" in again.text
    # Even from a page opened before the first save.
    resp = clerk.post(f"/entry/form/{serial}", data={"csrf_token": token, **answers()})
    assert resp.status_code == 409 and "Bạn đã nhập phiếu" in resp.text
    assert count(db, PaperEntry) == 1 and count(db, Response) == 0


def test_no_disagreement_to_resolve(demo, paper_form, double_entry, db):
    serial, _ = paper_form()
    key_in(signed_in(demo, "nhaplieu"), serial, **answers())
    admin = signed_in(demo, "admin")
    resp = admin.get(f"/entry/disagreements/{serial}")
    assert resp.status_code == 409 and "chưa có hai lần nhập" in resp.text
    assert admin.get("/entry/disagreements/KHONG-CO").status_code == 404


# --- who may do what ------------------------------------------------------------------

def test_roles(demo, paper_form, double_entry, make_user, db):
    serial, _ = paper_form()
    for username in ("mttq", "sonduong"):
        browser = signed_in(demo, username)
        for path in ("/entry/", f"/entry/form/{serial}", "/entry/disagreements",
                     f"/entry/disagreements/{serial}"):
            assert browser.get(path).status_code == 403, (username, path)
        token = csrf_token(browser.get("/staff").text)
        resp = browser.post(f"/entry/form/{serial}", data={"csrf_token": token, **answers()})
        assert resp.status_code == 403
    clerk = signed_in(demo, "nhaplieu")
    assert clerk.get("/").headers["Location"].endswith("/entry/")
    assert clerk.get("/entry/disagreements").status_code == 403
    token = csrf_token(clerk.get("/entry/").text)
    resp = clerk.post(f"/entry/disagreements/{serial}", data={"csrf_token": token, **answers()})
    assert resp.status_code == 403
    # Admins may key forms too.
    assert key_in(signed_in(demo, "admin"), serial, **answers()).status_code == 302
    assert count(db, Response) == 0 and count(db, PaperEntry) == 1
    anonymous = demo.test_client()
    assert "/auth/login" in anonymous.get(f"/entry/form/{serial}").headers["Location"]


# --- the re-check consent box and phone number on the paper form --------------------------

PHONE = "0912 345 678"


def _switch(client, login, username):
    """The one test browser, signed out and in again as `username` (the login fixture)."""
    client.post("/auth/logout", data={"csrf_token": csrf_token(client.get("/staff").text)})
    login(username)
    return client


def _contacts(db) -> list[tuple[int, str]]:
    from survey_app.models import RecheckContact

    db.session.expire_all()
    return db.session.execute(select(RecheckContact.response_id, RecheckContact.phone)).all()


def test_clerk_keys_consent_and_phone_kept_apart(demo, paper_form, client, login, db):
    serial, _ = paper_form()
    login("nhaplieu")
    page = client.get(f"/entry/form/{serial}").text
    assert 'name="recheck_consent"' in page and 'name="recheck_phone"' in page
    resp = key_in(client, serial, recheck_consent="y", recheck_phone=PHONE, **answers())
    assert resp.status_code == 302
    response = db.session.scalars(select(Response)).one()
    assert _contacts(db) == [(response.id, "0912345678")]
    assert "912" not in response.answers and "recheck" not in response.answers
    from survey_app.models import LedgerEntry

    assert all("912345678" not in p for p in db.session.scalars(select(LedgerEntry.payload)))


@pytest.mark.parametrize("contact, message", [
    ({"recheck_phone": PHONE}, "cần đánh dấu đồng ý"),
    ({"recheck_consent": "y"}, "chưa nhập số điện thoại"),
    ({"recheck_consent": "y", "recheck_phone": "12345"}, "Số điện thoại không hợp lệ"),
])
def test_phone_without_consent_or_invalid_is_refused(demo, paper_form, client, login, db,
                                                     contact, message):
    serial, _ = paper_form()
    login("nhaplieu")
    resp = key_in(client, serial, **contact, **answers(TC1="3"))
    assert resp.status_code == 400 and message in resp.text
    # everything typed is kept on the page, nothing is stored
    assert 'name="TC1" value="3"' in resp.text
    if "recheck_phone" in contact:
        assert f'value="{contact["recheck_phone"]}"' in resp.text
    assert count(db, Response) == 0 and _contacts(db) == []


def test_double_entry_must_agree_on_the_phone_too(demo, paper_form, double_entry, make_user,
                                                  client, login, db):
    agreed, _ = paper_form()
    differ, _ = paper_form()
    make_user("nhaplieu2", "clerk")
    login("nhaplieu")
    for serial in (agreed, differ):
        assert key_in(client, serial, recheck_consent="y", recheck_phone=PHONE,
                      **answers()).status_code == 302
    # until the form counts, an entry keeps no number, only a keyed hash of it
    stored = db.session.execute(select(PaperEntry.answers, PaperEntry.contact_digest)).all()
    assert all("912" not in a and d and "912" not in d for a, d in stored)
    _switch(client, login, "nhaplieu2")
    assert key_in(client, agreed, recheck_consent="y", recheck_phone="+84912345678",
                  **answers()).status_code == 302
    assert key_in(client, differ, recheck_consent="y", recheck_phone="0987 654 321",
                  **answers()).status_code == 302
    (counted_form,) = db.session.scalars(select(Response)).all()
    assert counted_form.form.serial == agreed
    assert _contacts(db) == [(counted_form.id, "0912345678")]
    assert db.session.scalar(select(PaperEntry.contact_digest).join(IssuedForm).where(
        IssuedForm.serial == agreed, PaperEntry.contact_digest.is_not(None))) is None

    # same answers, another number: the form waits for the supervisor, who reads the paper
    _switch(client, login, "admin")
    page = client.get(f"/entry/disagreements/{differ}")
    assert page.status_code == 200 and "lệch nhau về số điện thoại" in page.text
    assert "0987" not in page.text and "0912" not in page.text
    resp = client.post(f"/entry/disagreements/{differ}", data={
        "csrf_token": csrf_token(page.text), "recheck_phone": "0987654321", **answers()})
    assert resp.status_code == 400 and "cần đánh dấu đồng ý" in resp.text
    resp = client.post(f"/entry/disagreements/{differ}", data={
        "csrf_token": csrf_token(page.text), "recheck_consent": "y",
        "recheck_phone": "0987654321", **answers()})
    assert resp.status_code == 302
    settled = db.session.scalars(select(Response).where(Response.id != counted_form.id)).one()
    assert sorted(_contacts(db)) == sorted([(counted_form.id, "0912345678"),
                                            (settled.id, "0987654321")])
    assert db.session.scalar(select(func.count()).select_from(PaperEntry).where(
        PaperEntry.contact_digest.is_not(None))) == 0
