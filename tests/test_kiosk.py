"""Kiosk mode: an admin registers a counter tablet, the tablet enrols through its link and
takes citizen after citizen's answers (channel kiosk) through the one submission core;
revoked, unknown and too fast tablets store nothing; the kiosk_pace flag."""

import csv
import io
import re
import zipfile
from datetime import datetime, timedelta

import pandas as pd
import pytest
from audit_helpers import export_bundle, run_analysis, varied
from sqlalchemy import func, select
from web_helpers import counted, csrf_token, full_answers, hidden_fields, redis_up

from analysis import quality
from survey_app.models import AuditLog, Campaign, Kiosk, LedgerEntry, Response

AGENCY = "X-SONDUONG"


def _responses(db) -> int:
    return db.session.scalar(select(func.count(Response.id)))


def _enrol_path(text: str) -> str:
    return re.search(r"http://localhost(/kiosk/dang-ky/[A-Za-z0-9_-]+)", text).group(1)


@pytest.fixture
def register(runner, demo):
    """register(name) -> the enrolment link's path, from `flask kiosk-add`."""

    def _register(name: str = "Quầy 1", agency: str = AGENCY) -> str:
        result = runner.invoke(args=["kiosk-add", "--agency", agency, name])
        assert result.exit_code == 0, result.output
        return _enrol_path(result.output)

    return _register


@pytest.fixture
def tablet(app, register):
    """tablet() -> a browser enrolled as a new kiosk of X-SONDUONG."""

    def _tablet(name: str = "Quầy 1"):
        browser = app.test_client()
        path = register(name)
        page = browser.get(path)
        assert page.status_code == 200 and "UBND xã Sơn Dương" in page.text
        resp = browser.post(path)
        assert resp.status_code == 303 and resp.headers["Location"] == "/kiosk"
        return browser

    return _tablet


def _submit(browser, answers=None, lang: str | None = None):
    page = browser.get("/kiosk" + (f"?lang={lang}" if lang else ""))
    assert page.status_code == 200, page.text
    data = hidden_fields(page.text)
    data.update(full_answers() if answers is None else answers)
    return browser.post("/kiosk", data=data)


def test_admin_registers_a_kiosk_the_tablet_enrols_and_answers_count(app, demo, client, login,
                                                                    db):
    login("admin")
    page = client.get("/admin/kiosks")
    resp = client.post("/admin/kiosks", data={"csrf_token": csrf_token(page.text),
                                              "agency": AGENCY, "name": "Quầy một cửa 1"})
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
    assert 'src="data:image/png;base64,' in resp.text  # the link's QR code, to scan
    path = _enrol_path(resp.text)

    browser = app.test_client()
    assert browser.get("/kiosk").status_code == 403  # not enrolled yet
    enrolled = browser.post(path)
    assert enrolled.status_code == 303
    cookie = enrolled.headers["Set-Cookie"]
    assert cookie.startswith("sv_kiosk=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    credential = cookie.split(";")[0].split("=", 1)[1]
    kiosk = db.session.scalars(select(Kiosk)).one()
    assert kiosk.credential_hash and credential not in kiosk.credential_hash

    form = browser.get("/kiosk")
    assert form.status_code == 200 and 'class="kiosk"' in form.text
    assert "kiosk.css" in form.text and 'autocomplete="off" data-kiosk' in form.text
    assert 'autocomplete="tel"' not in form.text and "/bien-nhan" not in form.text
    resp = _submit(browser, full_answers(5, PA3="0", Y_KIEN="Nhanh gọn"))
    assert resp.status_code == 303 and resp.headers["Location"].startswith("/kiosk/cam-on/")

    stored = db.session.scalars(select(Response)).one()
    assert stored.channel == "kiosk" and stored.agency.code == AGENCY
    assert stored.opened_at is not None and stored.duration_s is not None
    with app.test_request_context():
        from survey_app import intake

        assert stored.device_hash == intake.keyed_hash(f"kiosk:{kiosk.id}")
    entry = db.session.scalars(select(LedgerEntry).filter_by(ref=stored.receipt_code)).one()
    assert entry.kind == "response" and "\x1ekiosk\x1e" in entry.payload
    tally = counted(db)
    assert sum(tally.values()) == 19 and len([k for k in tally if k[2] == 0]) == 1
    db.session.expire_all()
    assert db.session.get(Kiosk, kiosk.id).last_used_at is not None
    actions = set(db.session.scalars(select(AuditLog.action)))
    assert {"kiosk.register", "kiosk.link_issue", "kiosk.enrol"} <= actions

    listing = client.get("/admin/kiosks")
    assert "Quầy một cửa 1" in listing.text and "đang hoạt động" in listing.text


def test_thank_you_page_returns_to_a_fresh_form_and_forgets_the_citizen(app, tablet, db,
                                                                         monkeypatch):
    browser = tablet()
    resp = _submit(browser, lang="en")
    thanks = browser.get(resp.headers["Location"])
    code = db.session.scalars(select(Response.receipt_code)).one()
    assert thanks.status_code == 200 and code in thanks.text
    assert '<meta http-equiv="refresh" content="8;url=/kiosk">' in thanks.text
    assert thanks.headers["Cache-Control"] == "no-store"
    assert "/bien-nhan" not in thanks.text  # no way off the kiosk's pages
    # The language this citizen chose is forgotten: the next one starts in Vietnamese.
    assert any(c.startswith("lang=;") for c in thanks.headers.getlist("Set-Cookie"))
    fresh = browser.get("/kiosk")
    assert 'lang="vi"' in fresh.text and "checked" not in fresh.text
    assert hidden_fields(fresh.text)["csrf_token"] != ""

    # Another kiosk never shows it; and once the page has moved on, neither does this one.
    other = tablet("Quầy 2")
    assert other.get(f"/kiosk/cam-on/{code}").headers["Location"] == "/kiosk"
    from survey_app.citizen import kiosk_mode

    monkeypatch.setattr(kiosk_mode, "RECEIPT_GRACE_S", -60)
    later = browser.get(f"/kiosk/cam-on/{code}")
    assert later.status_code == 303 and later.headers["Location"] == "/kiosk"


def test_a_repeat_of_one_submission_stores_it_once(tablet, db):
    browser = tablet()
    page = browser.get("/kiosk")
    data = {**hidden_fields(page.text), **full_answers()}
    first = browser.post("/kiosk", data=data)
    again = browser.post("/kiosk", data=data)
    assert first.headers["Location"] == again.headers["Location"]
    assert _responses(db) == 1


def test_revoked_kiosk_is_refused_and_stores_nothing(tablet, runner, db):
    browser = tablet()
    page = browser.get("/kiosk")
    kiosk_id = db.session.scalar(select(Kiosk.id))
    result = runner.invoke(args=["kiosk-revoke", str(kiosk_id)])
    assert result.exit_code == 0, result.output
    resp = browser.post("/kiosk", data={**hidden_fields(page.text), **full_answers()})
    assert resp.status_code == 403 and "đã bị thu hồi" in resp.text
    assert "phiếu không được lưu" in resp.text and "/bien-nhan" not in resp.text
    assert browser.get("/kiosk").status_code == 403
    assert _responses(db) == 0 and sum(counted(db).values()) == 0
    assert "kiosk.revoke" in set(db.session.scalars(select(AuditLog.action)))
    again = runner.invoke(args=["kiosk-revoke", str(kiosk_id)])
    assert again.exit_code == 1 and "đã bị thu hồi trước đó" in again.output


def test_unknown_credential_is_refused(app, demo, db):
    browser = app.test_client()
    browser.set_cookie("sv_kiosk", "not-a-kiosk", path="/kiosk")
    for resp in (browser.get("/kiosk"), browser.post("/kiosk", data=full_answers())):
        assert resp.status_code == 403 and "chưa được đăng ký làm máy tại quầy" in resp.text
    assert _responses(db) == 0


def test_enrolment_link_is_single_use_and_a_new_link_replaces_the_tablet(app, tablet, runner,
                                                                         register, db):
    path = register("Quầy 3")
    first = app.test_client()
    assert first.post(path).status_code == 303
    used = app.test_client().post(path)
    assert used.status_code == 403 and "đã được dùng" in used.text
    kiosk_id = db.session.scalar(select(Kiosk.id).filter_by(name="Quầy 3"))
    result = runner.invoke(args=["kiosk-link", str(kiosk_id)])
    assert result.exit_code == 0, result.output
    replacement = app.test_client()
    assert replacement.post(_enrol_path(result.output)).status_code == 303
    assert first.get("/kiosk").status_code == 403  # the old tablet's credential is gone
    assert replacement.get("/kiosk").status_code == 200
    listed = runner.invoke(args=["kiosk-list"])
    assert f"{kiosk_id}  {AGENCY}  Quầy 3  active" in listed.output


def test_expired_enrolment_link_is_refused(app, register, db):
    path = register()
    kiosk = db.session.scalars(select(Kiosk)).one()
    kiosk.enrol_expires_at = datetime(2000, 1, 1)
    db.session.commit()
    resp = app.test_client().post(path)
    assert resp.status_code == 403 and "hết hạn" in resp.text
    assert "Set-Cookie" not in resp.headers


def test_cli_refuses_an_unknown_agency_and_a_blank_name(runner, demo, db):
    bad = runner.invoke(args=["kiosk-add", "--agency", "NOPE", "Quầy"])
    assert bad.exit_code == 1 and "NOPE" in bad.output
    blank = runner.invoke(args=["kiosk-add", "--agency", AGENCY, "  "])
    assert blank.exit_code == 1 and "1–120 ký tự" in blank.output
    assert db.session.scalar(select(func.count(Kiosk.id))) == 0


def test_auditor_sees_kiosks_but_cannot_register(client, login, demo, db):
    login("mttq")
    page = client.get("/admin/kiosks")
    assert page.status_code == 200 and "Đăng ký máy tại quầy" not in page.text
    resp = client.post("/admin/kiosks", data={"csrf_token": csrf_token(page.text),
                                              "agency": AGENCY, "name": "x"})
    assert resp.status_code == 403
    assert db.session.scalar(select(func.count(Kiosk.id))) == 0


def test_kiosk_faster_than_its_limit_is_asked_to_wait(tablet, db):
    browser = tablet()
    assert _submit(browser).status_code == 303
    resp = _submit(browser, full_answers(2))
    assert resp.status_code == 429 and "vui lòng chờ" in resp.text
    assert "Phiếu chưa được lưu" in resp.text and 'value="2" checked' in resp.text
    assert _responses(db) == 1


REDIS_URL = "redis://127.0.0.1:6379/7"  # a database of its own, never the shared 0


@pytest.mark.skipif(not redis_up(), reason="no Redis at 127.0.0.1:6379")
@pytest.mark.parametrize("app", [{"RATELIMIT_STORAGE_URI": REDIS_URL}], indirect=True)
def test_kiosk_limit_is_kept_in_redis(tablet, db):
    import redis

    store = redis.Redis.from_url(REDIS_URL)
    for key in store.scan_iter(match="*kiosk*"):
        store.delete(key)
    browser = tablet()
    assert _submit(browser).status_code == 303
    assert _submit(browser).status_code == 429 and _responses(db) == 1
    assert any(b"kiosk" in key for key in store.scan_iter(match="LIMITS*"))


def test_no_campaign_open_for_the_agency(tablet, db):
    browser = tablet()
    page = browser.get("/kiosk")
    campaign = db.session.scalar(select(Campaign).filter_by(code="demo"))
    campaign.closes_at = campaign.opens_at + timedelta(seconds=1)
    db.session.commit()
    waiting = browser.get("/kiosk")
    assert waiting.status_code == 200 and "Chưa có đợt khảo sát" in waiting.text
    assert 'http-equiv="refresh"' in waiting.text
    resp = browser.post("/kiosk", data={**hidden_fields(page.text), **full_answers()})
    assert resp.status_code == 409 and _responses(db) == 0


@pytest.mark.parametrize("app", [{"KIOSK_RATE_LIMIT": "100 per second"}], indirect=True)
def test_kiosk_responses_export_verify_and_the_fast_ones_are_flagged(tablet, runner, db,
                                                                     tmp_path):
    browser = tablet()
    for k in range(3):
        assert _submit(browser, varied(k)).status_code == 303
    bundle = export_bundle(runner, tmp_path)
    code, out = run_analysis("verify", bundle)
    assert code == 0, out
    with zipfile.ZipFile(bundle) as zf:
        rows = list(csv.DictReader(io.TextIOWrapper(zf.open("responses.csv"), encoding="utf-8")))
        flags = {r["response_id"]: r["flags"] for r in csv.DictReader(
            io.TextIOWrapper(zf.open("audit.csv"), encoding="utf-8"))}
    assert [r["channel"] for r in rows] == ["kiosk"] * 3
    first, *later = sorted(int(r["response_id"]) for r in rows)
    assert "kiosk_pace" not in flags[str(first)]
    assert all("kiosk_pace" in flags[str(rid)] for rid in later)
    assert all("burst" not in f for f in flags.values())


# --- the flag on its own ----------------------------------------------------------------

T0 = datetime(2026, 3, 10, 8, 0)


def _kiosk_frame(gaps_s, device="k1", channel="kiosk", start=1):
    at, rows = T0, []
    for k, gap in enumerate([0, *gaps_s]):
        at += timedelta(seconds=gap)
        rows.append({"response_id": start + k, "agency_code": "A", "channel": channel,
                     "submitted_at": at, "duration_s": 200.0, "client_hash": "tablet",
                     "device_hash": device, "answers": {}})
    return pd.DataFrame(rows)


def test_kiosk_pace_flags_only_submissions_closer_than_people_can():
    fast = _kiosk_frame([25, 90, 30])
    flags = quality.kiosk_pace(fast)
    assert flags["response_id"].tolist() == [2, 4]
    assert flags["detail"].iloc[0] == "25 s after the previous submission on the same kiosk " \
                                      "(#k1), under 60 s"
    assert quality.kiosk_pace(_kiosk_frame([60, 75, 240])).empty
    assert quality.kiosk_pace(fast, min_gap_s=20).empty
    # Only the kiosk channel, and each kiosk apart: two kiosks at once are two people.
    both = pd.concat([_kiosk_frame([90, 90]), _kiosk_frame([90, 90], device="k2", start=10)])
    assert quality.kiosk_pace(both).empty
    assert quality.kiosk_pace(_kiosk_frame([5, 5], channel="open")).empty


def test_a_busy_kiosk_is_not_a_burst_but_a_phone_is():
    busy = _kiosk_frame([90] * 9)  # ten citizens in under a quarter of an hour
    assert quality.bursts(busy).empty and quality.kiosk_pace(busy).empty
    phone = _kiosk_frame([90] * 9, channel="open")
    assert len(quality.bursts(phone)) == 10
