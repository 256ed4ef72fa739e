"""The English catalogue: complete, compiled, and used by the pages (`?lang=en`), while
Vietnamese stays the default."""

import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from sqlalchemy import select
from web_helpers import answer_form, full_answers

from survey_app.models import CampaignAgency

ROOT = Path(__file__).resolve().parent.parent
MESSAGES = ROOT / "survey_app" / "translations" / "en" / "LC_MESSAGES"
PO, MO = MESSAGES / "messages.po", MESSAGES / "messages.mo"


def _catalog():
    with PO.open("rb") as fh:
        return read_po(fh)


def test_every_message_is_translated():
    catalog = _catalog()
    messages = [m for m in catalog if m.id]
    assert len(messages) > 300
    empty = [m.id for m in messages if not m.string]
    assert not empty, f"{len(empty)} messages without an English text, e.g. {empty[:3]}"
    fuzzy = [m.id for m in messages if m.fuzzy]
    assert not fuzzy, f"fuzzy (unchecked) translations: {fuzzy[:3]}"
    # Placeholders survive translation: Babel's own checks (python-format and the like).
    problems = [(m.id, [str(e) for e in errs]) for m, errs in
                ((m, m.check(catalog)) for m in messages) if errs]
    assert not problems, problems


def test_compiled_catalogue_matches_po(tmp_path):
    """The committed .mo holds exactly the .po's translations (no stale compile)."""
    with PO.open("rb") as fh:
        po = {m.id: m.string for m in read_po(fh) if m.id}
    with MO.open("rb") as fh:
        mo = {m.id: m.string for m in read_mo(fh) if m.id}
    assert mo == po

    # And compiling afresh translates the same number of messages.
    pybabel = Path(sys.executable).with_name("pybabel")
    if not pybabel.exists():
        pytest.skip("pybabel not installed next to the interpreter")
    out = subprocess.run(
        [str(pybabel), "compile", "--statistics", "-i", str(PO), "-o", str(tmp_path / "m.mo")],
        capture_output=True, text=True, check=True)
    assert f"{len(po)} of {len(po)} messages (100%) translated" in out.stdout + out.stderr


def test_login_page_in_english(demo, client):
    english = client.get("/auth/login?lang=en")
    assert english.status_code == 200
    html = english.text
    assert 'lang="en"' in html
    assert "Staff login" in html and "Log in" in html and "Username" in html
    assert "Đăng nhập cán bộ" not in html and "Mật khẩu" not in html
    # The choice is remembered in a cookie: the next page is English without ?lang.
    assert "Staff login" in client.get("/auth/login").text
    # Back to Vietnamese.
    vietnamese = client.get("/auth/login?lang=vi").text
    assert "Đăng nhập cán bộ" in vietnamese and "Staff login" not in vietnamese


def test_vietnamese_is_the_default(demo, client):
    html = client.get("/auth/login").text
    assert 'lang="vi"' in html and "Đăng nhập cán bộ" in html and "Log in" not in html


@pytest.fixture
def survey_path(demo, db):
    s = db.session.scalar(select(CampaignAgency).join(CampaignAgency.agency)
                          .where(CampaignAgency.agency.has(code="X-SONDUONG")))
    return f"/k/{s.open_code}"


def test_survey_page_in_both_languages(survey_path, client, app):
    """The pre-rendered questions are cached per (version, language): Vietnamese, English
    and Vietnamese again, in one process, must each come out whole in their own language."""
    vi = client.get(survey_path + "?lang=vi").text
    assert "Gửi phiếu" in vi and "Rất hài lòng" in vi and 'aria-label="bắt buộc"' in vi
    assert "Submit" not in vi and "Very satisfied" not in vi

    en = client.get(survey_path + "?lang=en").text
    assert 'lang="en"' in en
    assert "Submit" in en and "Very satisfied" in en and 'aria-label="required"' in en
    assert "Access to the service" in en  # the questionnaire's own English texts
    assert "Gửi phiếu" not in en and "Rất hài lòng" not in en and "bắt buộc" not in en

    again = client.get(survey_path + "?lang=vi").text
    assert "Gửi phiếu" in again and "Rất hài lòng" in again and "Submit" not in again


def test_survey_errors_in_english(survey_path, client):
    answers = full_answers()
    del answers["TC1"], answers["CC3"]
    resp = answer_form(client, survey_path + "?lang=en", answers)
    assert resp.status_code == 400
    html = resp.text
    assert "Please answer the questions marked below." in html
    assert 'id="e-TC1"' in html and 'id="e-CC3"' in html and "Please choose an answer." in html
    assert "Submit" in html
    assert "Vui lòng" not in html and "Gửi phiếu" not in html

    # The same mistake in Vietnamese is reported in Vietnamese.
    resp = answer_form(client, survey_path + "?lang=vi", answers)
    assert resp.status_code == 400
    assert "Vui lòng trả lời các câu được đánh dấu bên dưới." in resp.text
    assert "Please answer" not in resp.text


def test_service_refusals_in_the_page_language(demo, client, login):
    """A service's refusal is worded in the page's language: the same mistake gives the
    English text with ?lang=en and the Vietnamese one without, its numbers filled in."""
    from web_helpers import PASSWORD, csrf_token

    login("sonduong")

    def change(lang, current, new):
        path = f"/auth/password?lang={lang}"
        return client.post(path, data={"csrf_token": csrf_token(client.get(path).text),
                                       "current": current, "new": new, "confirm": new})

    english = change("en", "not my password", "a brand new passphrase")
    assert english.status_code == 400
    assert "The current password is incorrect." in english.text
    assert "Mật khẩu hiện tại không đúng" not in english.text
    short = change("en", PASSWORD, "short")
    assert short.status_code == 400 and "at least 10 characters" in short.text
    assert "ít nhất" not in short.text

    vietnamese = change("vi", "not my password", "a brand new passphrase")
    assert vietnamese.status_code == 400
    assert "Mật khẩu hiện tại không đúng. Mật khẩu chưa được đổi." in vietnamese.text
    assert "The current password" not in vietnamese.text
    assert "ít nhất 10 ký tự" in change("vi", PASSWORD, "short").text


def test_citizen_phone_error_in_english(survey_path, client):
    resp = answer_form(client, survey_path + "?lang=en",
                       full_answers(recheck_consent="y", recheck_phone="12ab"))
    assert resp.status_code == 400
    assert "Invalid phone number: enter a Vietnamese number" in resp.text
    assert "Số điện thoại không hợp lệ" not in resp.text
    resp = answer_form(client, survey_path + "?lang=vi",
                       full_answers(recheck_consent="y", recheck_phone="12ab"))
    assert "Số điện thoại không hợp lệ" in resp.text and "Invalid phone" not in resp.text
