"""Questionnaire translations as operators and citizens use them: the template exported
and loaded back through the CLI and the admin pages (and every refusal, storing nothing),
the citizen's form in Tày with the untranslated parts marked as Vietnamese, the language
kept through a refused submission and the thank-you page, and the printed form and
poster in Tày."""

import csv
import io
import re
import shutil
import subprocess

import pytest
from sqlalchemy import func, select
from web_helpers import answer_form, csrf_token, full_answers, hidden_fields

from survey_app.models import (
    AuditLog,
    CampaignAgency,
    FormBatch,
    QuestionnaireTranslation,
    Response,
    TranslationText,
)
from survey_app.services.translations import HEADER

BOM = b"\xef\xbb\xbf"


@pytest.fixture
def scope(demo, db):
    s = db.session.scalar(select(CampaignAgency).join(CampaignAgency.agency)
                          .where(CampaignAgency.agency.has(code="X-SONDUONG")))
    return f"/k/{s.open_code}"


def _export(runner, tmp_path, lang="tyz", name="template.csv"):
    out = tmp_path / name
    result = runner.invoke(args=["export-translation", "--questionnaire", "sipas",
                                 "--lang", lang, "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def _rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def tay(text: str) -> str:
    return f"Tày: {text}"


def _filled(rows, skip=(), bom=True) -> bytes:
    """The template with every part translated ("Tày: " + the Vietnamese) but `skip`'s
    (item, part) keys, left empty."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(rows[0])
    for item, part, source, _ in rows[1:]:
        writer.writerow([item, part, source, "" if (item, part) in skip else tay(source)])
    return (BOM if bom else b"") + out.getvalue().encode("utf-8")


def _load(runner, tmp_path, data: bytes, lang="tyz"):
    path = tmp_path / "filled.csv"
    path.write_bytes(data)
    return runner.invoke(args=["load-translation", str(path), "--questionnaire", "sipas",
                               "--lang", lang])


def _loaded_tay(runner, tmp_path, skip=(("UT1", "text"), ("", "group.UT"))):
    rows = _rows(_export(runner, tmp_path).read_bytes())
    result = _load(runner, tmp_path, _filled(rows, skip))
    assert result.exit_code == 0, result.output
    return rows


def _stored(db):
    return (db.session.scalar(select(func.count(QuestionnaireTranslation.id))),
            db.session.scalar(select(func.count(TranslationText.id))),
            db.session.scalar(select(func.count(AuditLog.id)).where(
                AuditLog.action.like("questionnaire.translation%"))))


# --- the command line ------------------------------------------------------------------------

def test_template_is_excel_ready_with_one_row_per_part(runner, demo, tmp_path):
    data = _export(runner, tmp_path).read_bytes()
    assert data.startswith(BOM)
    rows = _rows(data)
    assert tuple(rows[0]) == HEADER
    keys = {(r[0], r[1]): r for r in rows[1:]}
    assert keys[("TC1", "text")][2].startswith("Thông tin") or keys[("TC1", "text")][2]
    assert keys[("", "title")][2].startswith("Phiếu khảo sát sự hài lòng")
    assert ("GIOI_TINH", "choice.1") in keys and ("", "form.submit") in keys
    assert ("", "type.satisfaction.values.4") in keys
    assert all(r[3] == "" for r in rows[1:])
    assert len(keys) == len(rows) - 1  # no part twice


def test_loaded_translation_is_the_form_in_tay(runner, demo, tmp_path, client, scope, db):
    rows = _loaded_tay(runner, tmp_path)
    source = {(r[0], r[1]): r[2] for r in rows[1:]}
    html = client.get(scope + "?lang=tyz").text
    assert '<html lang="tyz">' in html
    assert tay(source[("TC1", "text")]) in html
    assert tay(source[("", "title")]) in html
    assert tay(source[("", "type.satisfaction.values.5")]) in html
    assert tay(source[("", "form.submit")]) in html
    # The chooser: plain links to the other languages, each in its own language.
    assert '<a href="?lang=vi" lang="vi" hreflang="vi">Tiếng Việt</a>' in html
    assert 'href="?lang=en"' in html and 'href="?lang=tyz"' not in html
    # Left untranslated: shown in Vietnamese, marked as such.
    assert re.search(r'<span lang="vi">' + re.escape(source[("UT1", "text")])
                     + r' <small class="fb">\(tiếng Việt\)</small></span>', html)
    assert re.search(rf'<h2><small>[^<]*</small> <span lang="vi">{source[("", "group.UT")]}',
                     html)
    # Exporting again gives the loaded translation to edit.
    again = {(r[0], r[1]): r[3] for r in _rows(_export(runner, tmp_path, name="2.csv")
                                                 .read_bytes())[1:]}
    assert again[("TC1", "text")] == tay(source[("TC1", "text")])
    assert again[("UT1", "text")] == ""
    # Vietnamese and English pages offer Tày by name.
    vi_page = client.get(scope + "?lang=vi").text
    assert '<html lang="vi">' in vi_page and tay("Tiếng Tày") in vi_page


def test_the_chooser_and_the_language_stick_without_a_query(runner, demo, tmp_path, client,
                                                           scope):
    _loaded_tay(runner, tmp_path)
    client.get(scope + "?lang=tyz")
    for _ in range(2):  # rendered by the view, then from the fast path's cache
        assert '<html lang="tyz">' in client.get(scope).text
    client.get(scope + "?lang=vi")
    assert '<html lang="vi">' in client.get(scope).text


@pytest.mark.parametrize("wanted", ["ium", "zzz", "x", "vie"])
def test_a_language_not_loaded_is_the_vietnamese_form(runner, demo, tmp_path, client, scope,
                                                      wanted):
    _loaded_tay(runner, tmp_path)
    resp = client.get(f"{scope}?lang={wanted}")
    assert resp.status_code == 200 and '<html lang="vi">' in resp.text
    assert "Tày: " not in resp.text.replace(tay("Tiếng Tày"), "")


def _refused(runner, tmp_path, db, data: bytes, *expected, lang="tyz"):
    before = _stored(db)
    result = _load(runner, tmp_path, data, lang)
    assert result.exit_code != 0
    for text in expected:
        assert text in result.output, result.output
    assert "Traceback" not in result.output
    db.session.expire_all()
    assert _stored(db) == before
    return result


def test_a_file_missing_a_mandatory_part_is_refused_naming_it(runner, demo, tmp_path, db):
    rows = _rows(_export(runner, tmp_path).read_bytes())
    without = [r for r in rows if (r[0], r[1]) != ("TC1", "text")]
    _refused(runner, tmp_path, db, _filled(without), "thiếu phần bắt buộc: TC1 text",
             "không có gì thay đổi")
    _refused(runner, tmp_path, db, _filled(rows, skip={("CC3", "text")}),
             "(CC3 text): thiếu bản dịch của phần bắt buộc")


def test_unknown_items_parts_and_duplicates_are_refused(runner, demo, tmp_path, db):
    rows = _rows(_export(runner, tmp_path).read_bytes())
    extra = rows + [["ZZ9", "text", "", "Tày"]]
    _refused(runner, tmp_path, db, _filled(extra), "câu hỏi 'ZZ9' không có trong phiếu")
    extra = rows + [["TC1", "choice.9", "", "Tày"]]
    _refused(runner, tmp_path, db, _filled(extra), "phần 'choice.9' không có")
    twice = rows + [rows[5]]
    _refused(runner, tmp_path, db, _filled(twice), f"dòng {len(rows) + 1}",
             "trùng với dòng 6")
    data = _filled(rows).replace(tay("Trang {i}/{n}").encode(), tay("Trang").encode())
    _refused(runner, tmp_path, db, data, "phải giữ nguyên {i} {n}")


def test_wrong_encodings_and_languages_are_refused(runner, demo, tmp_path, db):
    rows = _rows(_export(runner, tmp_path).read_bytes())
    text = _filled(rows, bom=False).decode("utf-8")
    _refused(runner, tmp_path, db, text.encode("cp1258", errors="replace"),
             "không phải văn bản UTF-8", "Windows-1258")
    _refused(runner, tmp_path, db, text.encode("utf-16"), "UTF-16")
    _refused(runner, tmp_path, db, b"item;part\r\n", "Dòng 1 của tệp phải là tiêu đề")
    _refused(runner, tmp_path, db, _filled(rows), "'qqq' không phải mã ISO 639", lang="qqq")
    _refused(runner, tmp_path, db, _filled(rows), "ngôn ngữ của chính phiên bản", lang="vi")
    result = runner.invoke(args=["export-translation", "--questionnaire", "sipas", "--lang",
                                 "zz", "--out", str(tmp_path / "x.csv")])
    assert result.exit_code == 1 and "'zz' không phải mã ISO 639" in result.output
    # Without a BOM, and with Excel's ";" between the columns, a file loads.
    semicolons = "\r\n".join(";".join(f'"{c}"' for c in row) for row in _rows(
        _filled(rows)))
    result = _load(runner, tmp_path, semicolons.encode("utf-8"))
    assert result.exit_code == 0, result.output


def test_loading_again_replaces_whole_or_not_at_all(runner, demo, tmp_path, db):
    rows = _loaded_tay(runner, tmp_path)
    first = db.session.scalars(select(QuestionnaireTranslation)).one().revision
    _refused(runner, tmp_path, db, _filled(rows, skip={("TC1", "text")}), "TC1")
    db.session.expire_all()
    assert db.session.scalars(select(QuestionnaireTranslation)).one().revision == first
    result = _load(runner, tmp_path, _filled(rows, skip={("", "intro")}))
    assert result.exit_code == 0
    db.session.expire_all()
    row = db.session.scalars(select(QuestionnaireTranslation)).one()
    assert row.revision != first
    assert db.session.scalar(select(func.count(TranslationText.id))) == row.parts
    log = db.session.scalars(select(AuditLog).where(
        AuditLog.action == "questionnaire.translation").order_by(AuditLog.id)).all()
    assert len(log) == 2 and log[0].before is None and log[1].before["revision"] == first
    result = runner.invoke(args=["remove-translation", "--questionnaire", "sipas",
                                 "--lang", "tyz"])
    assert result.exit_code == 0
    assert _stored(db)[:2] == (0, 0)


# --- the citizen's submission ---------------------------------------------------------------

def test_tay_sticks_through_an_error_and_the_thanks(runner, demo, tmp_path, client, scope, db):
    rows = _loaded_tay(runner, tmp_path)
    source = {(r[0], r[1]): r[2] for r in rows[1:]}
    path = scope + "?lang=tyz"
    answers = full_answers(4, GIOI_TINH="2", Y_KIEN="Cán bộ nhiệt tình")
    del answers["CC3"]
    refused = answer_form(client, path, answers)
    assert refused.status_code == 400
    html = refused.text
    assert '<html lang="tyz">' in html and tay(source[("TC1", "text")]) in html
    assert tay(source[("", "form.required_error")]) in html
    assert tay(source[("", "form.errors")]) in html
    assert 'name="TC1" value="4" checked' in html
    data = hidden_fields(html)
    data.update(answers, CC3="5")
    done = client.post(path, data=data)
    assert done.status_code == 303 and done.headers["Location"].endswith("?lang=tyz")
    thanks = client.get(done.headers["Location"]).text
    assert '<html lang="tyz">' in thanks and tay(source[("", "form.thanks")]) in thanks
    stored = db.session.scalars(select(Response)).one()
    assert stored.answer_dict == {**{k: int(v) for k, v in answers.items()
                                     if k not in ("GIOI_TINH", "Y_KIEN")},
                                  "CC3": 5, "GIOI_TINH": "2", "Y_KIEN": "Cán bộ nhiệt tình"}


def test_a_submission_in_tay_through_the_fast_path(runner, demo, tmp_path, client, scope, db):
    rows = _loaded_tay(runner, tmp_path)
    source = {(r[0], r[1]): r[2] for r in rows[1:]}
    client.get(scope + "?lang=tyz")  # the cookie keeps the choice
    done = answer_form(client, scope, full_answers(3))
    assert done.status_code == 303
    assert tay(source[("", "form.thanks")]) in client.get(done.headers["Location"]).text
    assert db.session.scalars(select(Response)).one().answer_dict["TC1"] == 3


# --- the admin pages -----------------------------------------------------------------------

def _version_page(client, db):
    from survey_app.models import QuestionnaireVersion

    version = db.session.scalars(select(QuestionnaireVersion)).first()
    return f"/admin/questionnaires/{version.id}", client.get(
        f"/admin/questionnaires/{version.id}")


def test_admin_downloads_uploads_and_removes(demo, client, login, db, tmp_path):
    login("admin")
    url, page = _version_page(client, db)
    assert "Chưa có bản dịch nào." in page.text
    template = client.get(f"{url}/translation.csv?lang=ium")
    assert template.status_code == 200 and template.data.startswith(BOM)
    assert "ium.csv" in template.headers["Content-Disposition"]
    rows = _rows(template.data)
    bad = client.post(f"{url}/translations", data={
        "csrf_token": csrf_token(page.text), "lang": "ium",
        "file": (io.BytesIO(_filled(rows, skip={("TC2", "text")})), "dao.csv")})
    assert bad.status_code == 400 and "thiếu bản dịch của phần bắt buộc" in bad.text
    assert _stored(db) == (0, 0, 0)
    wrong = client.post(f"{url}/translations", data={
        "csrf_token": csrf_token(page.text), "lang": "ium",
        "file": (io.BytesIO(_filled(rows).decode("utf-8").encode("utf-16")), "dao.csv")})
    assert wrong.status_code == 400 and "UTF-16" in wrong.text
    unknown = client.get(f"{url}/translation.csv?lang=q1")
    assert unknown.status_code == 400 and "không phải mã ISO 639" in unknown.text
    good = client.post(f"{url}/translations", data={
        "csrf_token": csrf_token(page.text), "lang": "IUM",
        "file": (io.BytesIO(_filled(rows, skip={("", "intro")})), "dao.csv")})
    assert good.status_code == 302
    page = client.get(url).text
    assert "Tiếng Dao (Iu Miền)" in page and "Đã nạp bản dịch" in page
    assert re.search(r"<td>\d+</td><td>1</td>", page)  # the intro is missing
    preview = client.get(f"{url}/preview?lang=ium").text
    assert '<html lang="ium">' in preview
    log = db.session.scalars(select(AuditLog).where(
        AuditLog.action == "questionnaire.translation")).one()
    assert log.actor == "admin" and log.after["lang"] == "ium"
    removed = client.post(f"{url}/translations/ium/remove",
                          data={"csrf_token": csrf_token(page)})
    assert removed.status_code == 302 and _stored(db)[:2] == (0, 0)


def test_auditors_cannot_load_translations(demo, client, login, db):
    login("mttq")
    url, page = _version_page(client, db)
    assert page.status_code == 200 and "Nạp bản dịch" not in page.text
    resp = client.post(f"{url}/translations", data={"lang": "tyz"})
    assert resp.status_code in (400, 403)
    assert _stored(db) == (0, 0, 0)


# --- paper ---------------------------------------------------------------------------------

def _pdf_text(pdf: bytes, tmp_path) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    src = tmp_path / "out.pdf"
    src.write_bytes(pdf)
    out = subprocess.run(["pdftotext", "-enc", "UTF-8", str(src), "-"], check=True,
                         capture_output=True).stdout.decode("utf-8")
    return " ".join(out.split())


def test_printed_form_and_poster_in_tay(runner, demo, tmp_path, db):
    rows = _loaded_tay(runner, tmp_path)
    source = {(r[0], r[1]): r[2] for r in rows[1:]}
    out = tmp_path / "forms.pdf"
    result = runner.invoke(args=[
        "issue-forms", "--campaign", "demo", "--agency", "X-SONDUONG", "--count", "1",
        "--collector", "Nguyễn Văn A", "--out", str(out), "--csv", str(tmp_path / "f.csv"),
        "--lang", "tyz", "--allow-local-url"])
    assert result.exit_code == 0, result.output
    text = _pdf_text(out.read_bytes(), tmp_path)
    assert " ".join(tay(source[("", "title")]).split()) in text
    assert tay(source[("", "print.serial")]) in text
    assert tay(source[("", "type.satisfaction.values.5")]) in text
    assert "?lang=tyz" in (tmp_path / "f.csv").read_text()
    poster = tmp_path / "poster.pdf"
    result = runner.invoke(args=["poster", "--campaign", "demo", "--agency", "X-SONDUONG",
                                 "--out", str(poster), "--lang", "tyz", "--allow-local-url"])
    assert result.exit_code == 0, result.output
    assert tay(source[("", "poster.scan")]) in _pdf_text(poster.read_bytes(), tmp_path)


def test_printing_refuses_a_language_not_loaded_or_without_letters(runner, demo, tmp_path,
                                                                   db):
    args = ["issue-forms", "--campaign", "demo", "--agency", "X-SONDUONG", "--count", "1",
            "--collector", "A", "--out", str(tmp_path / "f.pdf"), "--allow-local-url"]
    result = runner.invoke(args=[*args, "--lang", "hnj"])
    assert result.exit_code == 1 and "chưa có bản dịch" in result.output
    rows = _rows(_export(runner, tmp_path, lang="hnj").read_bytes())
    data = _filled(rows).replace(b"T\xc3\xa0y: ", "𖬀 ".encode())  # Pahawh Hmong
    assert _load(runner, tmp_path, data, "hnj").exit_code == 0
    result = runner.invoke(args=[*args, "--lang", "hnj"])
    assert result.exit_code == 1 and "không có các chữ: 𖬀" in result.output
    assert db.session.scalar(select(func.count(FormBatch.id))) == 0
    assert not (tmp_path / "f.pdf").exists()
