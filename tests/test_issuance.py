"""Posters, numbered paper forms with single-use links, the issuance register, voiding.

The printed QR codes are read back with the tools a person's phone stands in for:
pdftoppm renders the page, zbarimg decodes it.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import shutil
import subprocess
import threading
import time
import xml.etree.ElementTree as ET
import zipfile
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select, text
from web_helpers import csrf_token

from survey_app.models import (
    AuditLog,
    Campaign,
    CampaignAgency,
    FormBatch,
    IssuedForm,
    LedgerEntry,
    Response,
    canonical_json,
    utcnow,
)
from survey_app.printing import qr_matrix
from survey_app.printing.qr import svg_path_d

AGENCY = "X-SONDUONG"
AGENCY_NAME = "UBND xã Sơn Dương"
BASE = "http://localhost"  # PUBLIC_BASE_URL in tests/conftest.py


# --- reading printed matter back ---------------------------------------------------------

def need(tool: str, package: str) -> None:
    if not shutil.which(tool):
        pytest.skip(f"{tool} not installed (apt-get install {package})")


def zbar(png: Path) -> list[str]:
    need("zbarimg", "zbar-tools")
    result = subprocess.run(["zbarimg", "--raw", "-q", str(png)],
                            capture_output=True, text=True, check=False)
    assert result.returncode in (0, 4), result.stderr  # 4: no symbol on the image
    return result.stdout.splitlines()


def pdf_pages(pdf: Path, out_dir: Path, *, first: int | None = None,
              last: int | None = None) -> list[Path]:
    need("pdftoppm", "poppler-utils")
    out_dir.mkdir(exist_ok=True)
    args = ["pdftoppm", "-r", "120", "-png"]
    if first:
        args += ["-f", str(first), "-l", str(last or first)]
    subprocess.run([*args, str(pdf), str(out_dir / "page")], check=True, capture_output=True)
    return sorted(out_dir.glob("page-*.png"))


def pdf_page_text(pdf: Path, page: int) -> str:
    need("pdftotext", "poppler-utils")
    out = subprocess.run(["pdftotext", "-enc", "UTF-8", "-f", str(page), "-l", str(page),
                          str(pdf), "-"], check=True, capture_output=True).stdout
    return " ".join(out.decode("utf-8").split())


def decode_forms_pdf(pdf: Path, work: Path) -> list[tuple[str, str]]:
    """(serial printed on the page, URL its QR code holds) for every page with a QR code."""
    need("zbarimg", "zbar-tools")
    found = []
    for number, png in enumerate(pdf_pages(pdf, work), start=1):
        urls = zbar(png)
        if urls:
            assert len(urls) == 1, f"page {number}: {urls}"
            m = re.search(r"Số phiếu: ([A-Z0-9_-]+-\d{6})", pdf_page_text(pdf, number))
            assert m, f"page {number} has a QR code but no serial"
            found.append((m.group(1), urls[0]))
    return found


def read_csv(path_or_text) -> list[tuple[str, str]]:
    raw = path_or_text.read_text(encoding="utf-8") if isinstance(path_or_text, Path) else path_or_text
    rows = list(csv.reader(io.StringIO(raw)))
    assert rows[0] == ["serial", "url"]
    return [tuple(r) for r in rows[1:]]


# --- database helpers --------------------------------------------------------------------

def _count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _campaign(db) -> Campaign:
    db.session.expire_all()
    return db.session.scalar(select(Campaign).filter_by(code="demo"))


def _open_url(db, agency_code: str = AGENCY) -> str:
    scope = db.session.scalar(select(CampaignAgency).join(CampaignAgency.agency)
                              .where(CampaignAgency.campaign_id == _campaign(db).id)
                              .filter_by(code=agency_code))
    return f"{BASE}/k/{scope.open_code}"


def _nothing_issued(db) -> None:
    assert _count(db, FormBatch) == 0
    assert _count(db, IssuedForm) == 0
    assert _campaign(db).next_serial == 1
    assert db.session.scalar(select(func.count(AuditLog.id))
                             .filter_by(action="forms.issue")) == 0


def _issue(app, count: int, collector: str = "Người phát", deadline=None,
           agency: str = AGENCY):
    """Issue through the service (for tests about what comes after issuing)."""
    from survey_app.extensions import db
    from survey_app.services import issuance

    with app.app_context():
        campaign, agency_obj, _ = issuance.get_scope("demo", agency)
        batch, forms = issuance.issue_batch(campaign, agency_obj, count, collector, deadline)
        db.session.commit()
        return batch.id, forms


def _answer(db, serial: str, channel: str) -> None:
    form = db.session.scalar(select(IssuedForm).filter_by(serial=serial))
    db.session.add(Response(campaign_id=form.campaign_id, agency_id=form.agency_id,
                            channel=channel, form_id=form.id,
                            receipt_code=f"R{form.number:06d}", answers=canonical_json({})))
    db.session.commit()


# --- poster (CLI) ------------------------------------------------------------------------

def test_cli_poster_pdf_qr_is_the_agency_open_url(demo, runner, db, tmp_path):
    out = tmp_path / "poster.pdf"
    result = runner.invoke(args=["poster", "--campaign", "demo", "--agency", AGENCY,
                                 "--out", str(out), "--allow-local-url"])
    assert result.exit_code == 0, result.output
    url = _open_url(db)
    assert re.fullmatch(rf"{BASE}/k/[a-z0-9]{{7}}", url)
    assert url in result.output
    (page,) = pdf_pages(out, tmp_path / "png", first=1)
    assert zbar(page) == [url]
    text_ = pdf_page_text(out, 1)
    assert AGENCY_NAME in text_ and "Đợt khảo sát mẫu" in text_
    assert url in text_  # the short URL, for typing by hand


def test_cli_poster_png_and_svg(demo, runner, db, tmp_path):
    url = _open_url(db)
    png, svg = tmp_path / "poster.png", tmp_path / "poster.SVG"
    for out in (png, svg):
        result = runner.invoke(args=["poster", "--campaign", "demo", "--agency", AGENCY,
                                     "--out", str(out), "--allow-local-url"])
        assert result.exit_code == 0, result.output
    assert png.read_bytes().startswith(b"\x89PNG")
    assert zbar(png) == [url]
    root = ET.fromstring(svg.read_bytes())
    ns = "{http://www.w3.org/2000/svg}"
    assert root.tag == f"{ns}svg"
    texts = [t.text for t in root.iter(f"{ns}text")]
    assert AGENCY_NAME in texts and url in texts
    (path,) = root.iter(f"{ns}path")
    assert path.get("d") == svg_path_d(qr_matrix(url))  # the QR symbol of exactly that URL


@pytest.mark.parametrize("campaign, agency, out, message", [
    ("demo", AGENCY, "poster.jpg", "phần mở rộng phải là .pdf hoặc .png hoặc .svg"),
    ("demo", AGENCY, "poster", "phần mở rộng"),
    ("demo", "NOPE", "poster.pdf", "Không có cơ quan mã 'NOPE'"),
    ("demo", "TQ", "poster.pdf", "không thuộc phạm vi đợt khảo sát 'demo'"),
    ("nope", AGENCY, "poster.pdf", "Không có đợt khảo sát mã 'nope'"),
])
def test_cli_poster_refusals_write_nothing(demo, runner, tmp_path, campaign, agency, out,
                                           message):
    folder = tmp_path / "out"
    folder.mkdir()
    result = runner.invoke(args=["poster", "--campaign", campaign, "--agency", agency,
                                 "--out", str(folder / out)])
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output
    assert list(folder.iterdir()) == []


# --- numbered paper forms (CLI) ----------------------------------------------------------

def _issue_cli(runner, folder: Path, count: int = 3, name: str = "forms", *extra: str):
    return runner.invoke(args=[
        "issue-forms", "--campaign", "demo", "--agency", AGENCY, "--count", str(count),
        "--collector", "Nguyễn Văn A", "--out", str(folder / f"{name}.pdf"),
        "--csv", str(folder / f"{name}.csv"), "--allow-local-url", *extra])


def test_cli_issue_forms_prints_distinct_single_use_links(demo, runner, db, tmp_path):
    result = _issue_cli(runner, tmp_path, 3, "forms", "--deadline", "2099-12-31")
    assert result.exit_code == 0, result.output
    assert "DEMO-000001 – DEMO-000003" in result.output

    listed = read_csv(tmp_path / "forms.csv")
    assert [s for s, _ in listed] == ["DEMO-000001", "DEMO-000002", "DEMO-000003"]
    printed = decode_forms_pdf(tmp_path / "forms.pdf", tmp_path / "pages")
    assert printed == listed  # each form carries its own link, next to its own serial
    urls = [u for _, u in listed]
    assert len(set(urls)) == 3
    tokens = []
    for url in urls:
        m = re.fullmatch(rf"{BASE}/f/([A-Za-z0-9_-]{{22}})", url)  # 16 random bytes
        assert m, url
        tokens.append(m.group(1))

    batch = db.session.scalars(select(FormBatch)).one()
    assert (batch.count, batch.first_number, batch.last_number) == (3, 1, 3)
    assert batch.collector == "Nguyễn Văn A" and batch.deadline == date(2099, 12, 31)
    assert batch.issued_by_id is None  # from the command line
    forms = db.session.scalars(select(IssuedForm).order_by(IssuedForm.number)).all()
    assert [(f.serial, f.kind, f.batch_id) for f in forms] == [
        (f"DEMO-00000{i}", "paper", batch.id) for i in (1, 2, 3)]
    assert [f.token_hash for f in forms] == [
        hashlib.sha256(t.encode()).hexdigest() for t in tokens]
    assert all(f.state == "issued" for f in forms)
    # Only hashes are kept: no token is anywhere in the database's copy of the forms.
    for table in ("issued_form", "form_batch", "audit_log"):
        dump = repr(db.session.execute(text(f"SELECT * FROM {table}")).all())
        assert not [t for t in tokens if t in dump], table
    log = db.session.scalars(select(AuditLog).filter_by(action="forms.issue")).one()
    assert log.after["first"] == "DEMO-000001" and log.after["last"] == "DEMO-000003"
    assert _campaign(db).next_serial == 4

    again = _issue_cli(runner, tmp_path, 2, "more")
    assert again.exit_code == 0, again.output
    assert [s for s, _ in read_csv(tmp_path / "more.csv")] == ["DEMO-000004", "DEMO-000005"]
    assert not set(u for _, u in read_csv(tmp_path / "more.csv")) & set(urls)
    assert _count(db, IssuedForm) == 5 and _campaign(db).next_serial == 6


def _close(db):
    campaign = _campaign(db)
    campaign.opens_at = utcnow() - timedelta(days=40)
    campaign.closes_at = utcnow() - timedelta(days=1)
    db.session.commit()


def _archive(db):
    _campaign(db).archived_at = utcnow()
    db.session.commit()


@pytest.mark.parametrize("change, setup, message", [
    ({"--count": "0"}, None, "số phiếu phải từ 1 đến 5000"),
    ({"--count": "5001"}, None, "số phiếu phải từ 1 đến 5000"),
    ({"--count": "ba"}, None, "--count 'ba' không phải số nguyên"),
    ({"--campaign": "nope"}, None, "Không có đợt khảo sát mã 'nope'"),
    ({}, _close, "đã đóng"),
    ({}, _archive, "đã lưu trữ"),
    ({"--agency": "TQ"}, None, "không thuộc phạm vi"),
    ({"--agency": "NOPE"}, None, "Không có cơ quan mã 'NOPE'"),
    ({"--collector": "   "}, None, "thiếu người nhận phiếu"),
    ({"--deadline": "2001-01-01"}, None, "đã qua"),
    ({"--deadline": "31/12/2099"}, None, "không phải ngày dạng YYYY-MM-DD"),
    ({"--out": "forms.txt"}, None, "phần mở rộng phải là .pdf"),
    ({"--csv": "forms.pdf"}, None, "phần mở rộng phải là .csv"),
])
def test_cli_issue_forms_refusals_store_nothing(demo, runner, db, tmp_path, change, setup,
                                                message):
    if setup:
        setup(db)
    folder = tmp_path / "out"
    folder.mkdir()
    opts = {"--campaign": "demo", "--agency": AGENCY, "--count": "3",
            "--collector": "Nguyễn Văn A", "--out": "forms.pdf", "--csv": "forms.csv"}
    opts.update(change)
    args = ["issue-forms"]
    for key, value in opts.items():
        args += [key, str(folder / value) if key in ("--out", "--csv") else value]
    result = runner.invoke(args=args)
    assert result.exit_code == 1, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    _nothing_issued(db)
    assert list(folder.iterdir()) == []


def test_cli_issue_forms_write_failure_rolls_back(demo, runner, db, tmp_path):
    """When the CSV cannot be written, the links would exist nowhere: nothing is stored."""
    if not Path("/proc/self").is_dir():
        pytest.skip("needs /proc (a directory where no file can be created)")
    folder = tmp_path / "out"
    folder.mkdir()
    result = runner.invoke(args=[
        "issue-forms", "--campaign", "demo", "--agency", AGENCY, "--count", "2",
        "--collector", "A", "--out", str(folder / "forms.pdf"), "--csv", "/proc/forms.csv",
        "--allow-local-url"])
    assert result.exit_code == 1
    assert "Không ghi được tệp '/proc/forms.csv'" in result.output
    _nothing_issued(db)
    assert list(folder.iterdir()) == []  # the staged PDF is gone too


def test_printed_links_open_the_right_form(demo, app, runner, client, db, tmp_path):
    if "citizen" not in app.blueprints:
        pytest.skip("citizen blueprint not there yet")
    assert runner.invoke(args=["poster", "--campaign", "demo", "--agency", AGENCY,
                               "--out", str(tmp_path / "p.pdf"),
                               "--allow-local-url"]).exit_code == 0
    (page,) = pdf_pages(tmp_path / "p.pdf", tmp_path / "poster", first=1)
    (open_url,) = zbar(page)
    result = _issue_cli(runner, tmp_path, 2)
    assert result.exit_code == 0, result.output
    printed = decode_forms_pdf(tmp_path / "forms.pdf", tmp_path / "pages")
    assert len(printed) == 2
    for url in [open_url] + [u for _, u in printed]:
        resp = client.get(urlsplit(url).path)
        assert resp.status_code == 200, url
        assert AGENCY_NAME in resp.text
    # A voided form's link no longer opens the questionnaire.
    from survey_app.services import issuance

    issuance.void_form(printed[0][0], "Mất phiếu")
    db.session.commit()
    assert client.get(urlsplit(printed[0][1]).path).status_code == 410
    assert client.get(urlsplit(printed[1][1]).path).status_code == 200


# --- the service -------------------------------------------------------------------------

def test_invitations_share_the_numbering(demo, app, db):
    from survey_app.services import issuance

    _issue(app, 2)
    campaign, agency, _ = issuance.get_scope("demo", AGENCY)
    form, url = issuance.create_invitation(campaign, agency, procedure_code="1.00309")
    db.session.commit()
    assert (form.serial, form.kind, form.batch_id) == ("DEMO-000003", "invitation", None)
    assert form.token_hash == hashlib.sha256(url.rsplit("/", 1)[1].encode()).hexdigest()
    assert form.procedure_code == "1.00309"
    _, forms = _issue(app, 1)
    assert forms[0][0] == "DEMO-000004"


def test_new_token_is_random_and_only_its_hash_is_kept():
    from survey_app.services.issuance import new_token

    pairs = [new_token() for _ in range(200)]
    assert len({t for t, _ in pairs}) == 200
    for token, digest in pairs:
        assert len(token) == 22 and digest == hashlib.sha256(token.encode()).hexdigest()


def test_concurrent_issuances_never_share_numbers(demo):
    """The second issuance waits for the first to commit, then continues after it."""
    from survey_app.extensions import db
    from survey_app.services import issuance

    app = demo
    first_flushed = threading.Event()
    results: dict[str, list[str]] = {}
    errors: list[BaseException] = []

    def first():
        try:
            with app.app_context():
                campaign, agency, _ = issuance.get_scope("demo", AGENCY)
                _, forms = issuance.issue_batch(campaign, agency, 5, "A")
                first_flushed.set()
                time.sleep(1.0)  # hold the transaction open while the second one starts
                db.session.commit()
                results["first"] = [s for s, _ in forms]
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
            first_flushed.set()

    def second():
        try:
            first_flushed.wait(30)
            with app.app_context():
                campaign, agency, _ = issuance.get_scope("demo", AGENCY)
                _, forms = issuance.issue_batch(campaign, agency, 5, "B")
                db.session.commit()
                results["second"] = [s for s, _ in forms]
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert results["first"] == [f"DEMO-{n:06d}" for n in range(1, 6)]
    assert results["second"] == [f"DEMO-{n:06d}" for n in range(6, 11)]


# --- admin pages -------------------------------------------------------------------------

def _post(client, page_url: str, post_url: str | None = None, **data):
    data["csrf_token"] = csrf_token(client.get(page_url).text)
    return client.post(post_url or page_url, data=data)


def test_issue_via_admin_page_downloads_zip(demo, client, login, db):
    login("admin")
    page = client.get(f"/admin/campaigns/demo/issue?agency={AGENCY}")
    assert page.status_code == 200
    assert f'<option selected value="{AGENCY}">' in page.text
    resp = _post(client, "/admin/campaigns/demo/issue", agency=AGENCY, count="2",
                 collector="Trần Thị B", deadline="2099-06-30", allow_local_url="y")
    assert resp.status_code == 200, resp.text[-2000:]
    assert resp.mimetype == "application/zip"
    assert 'filename="forms-DEMO-000001-DEMO-000002.zip"' in resp.headers["Content-Disposition"]
    assert resp.headers["Cache-Control"] == "no-store"
    archive = zipfile.ZipFile(io.BytesIO(resp.data))
    assert sorted(archive.namelist()) == ["forms.csv", "forms.pdf"]
    assert archive.read("forms.pdf").startswith(b"%PDF")
    listed = read_csv(archive.read("forms.csv").decode("utf-8"))
    assert [s for s, _ in listed] == ["DEMO-000001", "DEMO-000002"]
    db.session.expire_all()
    batch = db.session.scalars(select(FormBatch)).one()
    assert batch.issued_by.username == "admin" and batch.collector == "Trần Thị B"
    hashes = {f.token_hash for f in batch.forms}
    assert hashes == {hashlib.sha256(u.rsplit("/", 1)[1].encode()).hexdigest() for _, u in listed}
    assert db.session.scalars(select(AuditLog).filter_by(action="forms.issue")).one().actor == "admin"


def test_issue_page_zip_pdf_decodes_to_the_csv_links(demo, client, login, tmp_path):
    login("admin")
    resp = _post(client, "/admin/campaigns/demo/issue", agency=AGENCY, count="2",
                 collector="Trần Thị B", allow_local_url="y")
    archive = zipfile.ZipFile(io.BytesIO(resp.data))
    pdf = tmp_path / "forms.pdf"
    pdf.write_bytes(archive.read("forms.pdf"))
    assert decode_forms_pdf(pdf, tmp_path / "pages") == read_csv(
        archive.read("forms.csv").decode("utf-8"))


@pytest.mark.parametrize("data, message", [
    ({"count": "0"}, "số phiếu phải từ 1 đến 5000"),
    ({"count": "501"}, "tối đa 500 phiếu"),
    ({"count": "ba"}, "Số phiếu phải là một số nguyên"),
    ({"count": ""}, "số phiếu phải là một số nguyên"),
    ({"collector": ""}, "thiếu người nhận phiếu"),
    ({"agency": "TQ"}, "không thuộc phạm vi"),
    ({"agency": ""}, "Chưa chọn cơ quan"),
    ({"deadline": "2001-01-01"}, "đã qua"),
    ({"deadline": "30/06/2099"}, "Ngày phải có dạng YYYY-MM-DD"),
])
def test_issue_page_bad_input_stores_nothing(demo, client, login, db, data, message):
    login("admin")
    form = {"agency": AGENCY, "count": "2", "collector": "Trần Thị B", "deadline": "",
            "allow_local_url": "y"}
    form.update(data)
    resp = _post(client, "/admin/campaigns/demo/issue", **form)
    assert resp.status_code == 400
    assert resp.mimetype == "text/html"
    assert message in resp.text
    _nothing_issued(db)


def test_register_counts_forms_by_state(demo, app, client, login, db):
    b1, forms1 = _issue(app, 4, "Nguyễn Văn A")
    b2, forms2 = _issue(app, 3, "Lê Văn C", deadline=date(2099, 1, 1))
    _answer(db, "DEMO-000001", "single_use")
    _answer(db, "DEMO-000002", "paper")
    _answer(db, "DEMO-000005", "api")
    login("admin")
    assert _post(client, "/admin/forms/DEMO-000003", "/admin/forms/DEMO-000003/void",
                 reason="Mất phiếu").status_code == 302
    # The second batch's deadline passes with DEMO-000006 and -000007 still out.
    db.session.get(FormBatch, b2).deadline = utcnow().date() - timedelta(days=1)
    db.session.commit()

    from survey_app.services import issuance

    db.session.expire_all()
    rows = issuance.register(_campaign(db))
    assert [r["batch"] for r in rows] == [b1, b2]
    for row in rows:
        states = Counter(f.state for f in db.session.get(FormBatch, row["batch"]).forms)
        assert {s: row[s] for s in issuance.STATES} == {s: states.get(s, 0)
                                                        for s in issuance.STATES}
    assert {s: rows[0][s] for s in issuance.STATES} == {
        "online": 1, "paper": 1, "void": 1, "issued": 1, "not_returned": 0}
    assert {s: rows[1][s] for s in issuance.STATES} == {
        "online": 1, "paper": 0, "void": 0, "issued": 0, "not_returned": 2}

    page = client.get("/admin/campaigns/demo/register")
    assert page.status_code == 200
    for expected in ("Nguyễn Văn A", "Lê Văn C", "DEMO-000001", "DEMO-000004",
                     "DEMO-000005", "DEMO-000007", "dòng lệnh", AGENCY_NAME):
        assert expected in page.text
    sheet = list(csv.DictReader(io.StringIO(
        client.get("/admin/campaigns/demo/register.csv").text)))
    assert [(r["first_serial"], r["last_serial"], r["count"], r["void"], r["not_returned"])
            for r in sheet] == [("DEMO-000001", "DEMO-000004", "4", "1", "0"),
                                ("DEMO-000005", "DEMO-000007", "3", "0", "2")]
    assert [r["issued_by"] for r in sheet] == ["cli", "cli"]  # both issued by _issue()


def test_void_form(demo, app, client, login, db):
    _issue(app, 2)
    login("admin")
    page = client.get("/admin/forms?serial=demo-000001")
    assert page.status_code == 302 and page.headers["Location"].endswith("/admin/forms/DEMO-000001")
    resp = _post(client, "/admin/forms/DEMO-000001", "/admin/forms/DEMO-000001/void",
                 reason="Phiếu bị rách")
    assert resp.status_code == 302
    db.session.expire_all()
    form = db.session.scalar(select(IssuedForm).filter_by(serial="DEMO-000001"))
    assert form.state == "void" and form.void_reason == "Phiếu bị rách"
    log = db.session.scalars(select(AuditLog).filter_by(action="forms.void")).one()
    assert log.object_id == "DEMO-000001" and log.after["reason"] == "Phiếu bị rách"
    entry = db.session.scalars(select(LedgerEntry).filter_by(kind="void")).one()
    assert entry.ref == "DEMO-000001" and json.loads(entry.payload)["reason"] == "Phiếu bị rách"
    assert "Phiếu bị rách" in client.get("/admin/forms/DEMO-000001").text
    again = _post(client, "/admin/forms/DEMO-000002", "/admin/forms/DEMO-000001/void",
                  reason="Lần nữa")
    assert again.status_code == 400 and "đã bị hủy trước đó" in again.text


@pytest.mark.parametrize("serial, reason, message", [
    ("DEMO-999999", "Mất phiếu", "Không có phiếu số &#39;DEMO-999999&#39;"),
    ("DEMO-000001", "", "Cần ghi lý do hủy phiếu"),
    ("DEMO-000001", "   ", "Cần ghi lý do hủy phiếu"),
    ("DEMO-000002", "Mất phiếu", "đã có câu trả lời"),
])
def test_void_refusals_change_nothing(demo, app, client, login, db, serial, reason, message):
    _issue(app, 2)
    _answer(db, "DEMO-000002", "single_use")
    login("admin")
    resp = _post(client, "/admin/forms/DEMO-000001", f"/admin/forms/{serial}/void",
                 reason=reason)
    assert resp.status_code == 400
    assert message in resp.text
    db.session.expire_all()
    assert [f.state for f in db.session.scalars(select(IssuedForm).order_by(IssuedForm.id))] == [
        "issued", "online"]
    assert db.session.scalar(select(func.count(AuditLog.id)).filter_by(action="forms.void")) == 0


def test_auditor_reads_but_cannot_issue_or_void(demo, app, client, login, make_user, db):
    _issue(app, 1)
    make_user("giamsat", "auditor")
    login("giamsat")
    assert client.get("/admin/campaigns/demo/register").status_code == 200
    assert client.get("/admin/forms/DEMO-000001").status_code == 200
    token = csrf_token(client.get("/admin/campaigns/demo/register").text)
    assert client.get("/admin/campaigns/demo/issue").status_code == 403
    resp = client.post("/admin/campaigns/demo/issue", data={
        "csrf_token": token, "agency": AGENCY, "count": "2", "collector": "X"})
    assert resp.status_code == 403
    resp = client.post("/admin/forms/DEMO-000001/void", data={
        "csrf_token": token, "reason": "Thử"})
    assert resp.status_code == 403
    db.session.expire_all()
    assert _count(db, IssuedForm) == 1 and _count(db, FormBatch) == 1
    assert db.session.scalar(select(IssuedForm)).voided_at is None


@pytest.mark.parametrize("fmt, mimetype", [
    ("pdf", "application/pdf"), ("png", "image/png"), ("svg", "image/svg+xml")])
def test_poster_download_from_admin_page(demo, client, login, db, tmp_path, fmt, mimetype):
    login("mttq")
    resp = client.get(f"/admin/campaigns/demo/poster/{AGENCY}.{fmt}?allow_local_url=y")
    assert resp.status_code == 200
    assert resp.mimetype == mimetype
    assert f"poster-demo-{AGENCY}.{fmt}" in resp.headers["Content-Disposition"]
    if fmt == "png":
        png = tmp_path / "p.png"
        png.write_bytes(resp.data)
        assert zbar(png) == [_open_url(db)]


def test_poster_unknown_agency_or_format_is_404(demo, client, login):
    login("admin")
    assert client.get("/admin/campaigns/demo/poster/NOPE.pdf").status_code == 404
    assert client.get("/admin/campaigns/demo/poster/TQ.pdf").status_code == 404
    assert client.get(f"/admin/campaigns/demo/poster/{AGENCY}.gif").status_code == 404
    assert client.get(f"/admin/campaigns/nope/poster/{AGENCY}.pdf").status_code == 404


def test_campaign_page_links_to_posters_issue_and_register(demo, client, login, make_user):
    login("admin")
    page = client.get("/admin/campaigns/demo").text
    for href in (f"/admin/campaigns/demo/poster/{AGENCY}.pdf",
                 f"/admin/campaigns/demo/poster/{AGENCY}.png",
                 f"/admin/campaigns/demo/poster/{AGENCY}.svg",
                 f"/admin/campaigns/demo/issue?agency={AGENCY}",
                 "/admin/campaigns/demo/register"):
        assert f'href="{href}"' in page, href
    make_user("giamsat", "auditor")
    client.post("/auth/logout", data={"csrf_token": csrf_token(page)})
    login("giamsat")
    page = client.get("/admin/campaigns/demo").text
    assert "/admin/campaigns/demo/register" in page and "/issue" not in page


def test_issuing_outside_a_request_records_no_user(demo, app, db):
    """From the command line, issued_by is empty and the audit log names the shell user."""
    _issue(app, 1)
    db.session.expire_all()
    assert db.session.scalar(select(FormBatch)).issued_by_id is None
    assert db.session.scalar(select(AuditLog).filter_by(action="forms.issue")).actor.startswith("cli")


# --- the public address printed in QR codes ---------------------------------------------

PUBLIC = "https://khaosat.tuyenquang.gov.vn"
LOCAL_URLS = ["http://localhost", "http://127.0.0.1:5000", "https://192.168.1.20",
              "http://khaosat.tuyenquang.gov.vn"]


@pytest.mark.parametrize("url, why", [
    ("http://localhost", "tên máy nội bộ"),
    ("https://localhost:8443", "tên máy nội bộ"),
    ("http://127.0.0.1:5000", "loopback"),
    ("https://[::1]", "loopback"),
    ("https://10.1.2.3", "mạng nội bộ"),
    ("https://172.16.0.9", "mạng nội bộ"),
    ("https://192.168.1.20", "mạng nội bộ"),
    ("https://169.254.10.1", "link-local"),
    ("https://[fe80::1]", "link-local"),
    ("https://khaosat", "không có tên miền"),
    ("https://khaosat.local", "tên máy nội bộ"),
    ("http://khaosat.tuyenquang.gov.vn", "không dùng https"),
    ("khaosat.tuyenquang.gov.vn", "không phải một địa chỉ web hợp lệ"),
])
def test_print_url_rule_names_the_fault(url, why):
    from survey_app.services import issuance

    problem = issuance.print_url_problem(url)
    assert problem is not None and why in problem and url in problem


@pytest.mark.parametrize("url", [PUBLIC, "https://khaosat.tuyenquang.gov.vn:8443/",
                                 "https://14.225.0.10"])
def test_print_url_rule_accepts_public_https(url):
    from survey_app.services import issuance

    assert issuance.print_url_problem(url) is None


def _cli_issue_args(folder: Path, *extra: str) -> list[str]:
    return ["issue-forms", "--campaign", "demo", "--agency", AGENCY, "--count", "2",
            "--collector", "Nguyễn Văn A", "--out", str(folder / "forms.pdf"),
            "--csv", str(folder / "forms.csv"), *extra]


@pytest.mark.parametrize("app", [{"PUBLIC_BASE_URL": u} for u in LOCAL_URLS], indirect=True)
def test_cli_refuses_to_print_a_local_url(app, demo, runner, db, tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    url = app.config["PUBLIC_BASE_URL"]
    result = runner.invoke(args=_cli_issue_args(folder))
    assert result.exit_code == 1
    assert f"PUBLIC_BASE_URL '{url}'" in result.output and "--allow-local-url" in result.output
    assert "không mở được từ điện thoại" in result.output
    _nothing_issued(db)
    result = runner.invoke(args=["poster", "--campaign", "demo", "--agency", AGENCY,
                                 "--out", str(folder / "poster.pdf")])
    assert result.exit_code == 1 and "--allow-local-url" in result.output
    assert list(folder.iterdir()) == []
    # a test print, said so explicitly
    assert runner.invoke(args=_cli_issue_args(folder, "--allow-local-url")).exit_code == 0
    assert _count(db, IssuedForm) == 2


@pytest.mark.parametrize("app", [{"PUBLIC_BASE_URL": PUBLIC}], indirect=True)
def test_cli_prints_a_public_https_url_without_asking(app, demo, runner, db, tmp_path):
    result = runner.invoke(args=_cli_issue_args(tmp_path))
    assert result.exit_code == 0, result.output
    assert all(u.startswith(f"{PUBLIC}/f/") for _, u in read_csv(tmp_path / "forms.csv"))
    result = runner.invoke(args=["poster", "--campaign", "demo", "--agency", AGENCY,
                                 "--out", str(tmp_path / "poster.svg")])
    assert result.exit_code == 0, result.output
    assert f"{PUBLIC}/k/" in result.output


@pytest.mark.parametrize("app", [{"PUBLIC_BASE_URL": u} for u in LOCAL_URLS], indirect=True)
def test_issue_page_asks_to_confirm_a_local_url(app, demo, client, login, db):
    login("admin")
    url = app.config["PUBLIC_BASE_URL"]
    page = client.get("/admin/campaigns/demo/issue")
    assert f"<code>{url.rstrip('/')}/f/…</code>" in page.text
    assert 'name="allow_local_url"' in page.text and "vẫn in với địa chỉ này" in page.text
    resp = _post(client, "/admin/campaigns/demo/issue", agency=AGENCY, count="2",
                 collector="Trần Thị B")
    assert resp.status_code == 400 and resp.mimetype == "text/html"
    assert f"PUBLIC_BASE_URL &#39;{url}&#39;" in resp.text
    assert "đánh dấu ô xác nhận" in resp.text
    _nothing_issued(db)
    resp = _post(client, "/admin/campaigns/demo/issue", agency=AGENCY, count="2",
                 collector="Trần Thị B", allow_local_url="y")
    assert resp.status_code == 200 and resp.mimetype == "application/zip"
    assert _count(db, IssuedForm) == 2


@pytest.mark.parametrize("app", [{"PUBLIC_BASE_URL": PUBLIC}], indirect=True)
def test_issue_page_with_a_public_url_needs_no_confirmation(app, demo, client, login, db):
    login("admin")
    page = client.get("/admin/campaigns/demo/issue")
    assert f"<code>{PUBLIC}/f/…</code>" in page.text and "allow_local_url" not in page.text
    assert "không mở được" not in client.get("/admin/campaigns/demo").text
    resp = _post(client, "/admin/campaigns/demo/issue", agency=AGENCY, count="1",
                 collector="Trần Thị B")
    assert resp.status_code == 200 and resp.mimetype == "application/zip"
    url = read_csv(zipfile.ZipFile(io.BytesIO(resp.data)).read("forms.csv").decode())[0][1]
    assert url.startswith(f"{PUBLIC}/f/")
    assert client.get(f"/admin/campaigns/demo/poster/{AGENCY}.svg").mimetype == "image/svg+xml"


def test_poster_link_asks_to_confirm_a_local_url(demo, client, login, db):
    login("admin")
    assert "không mở được từ điện thoại" in client.get("/admin/campaigns/demo").text
    resp = client.get(f"/admin/campaigns/demo/poster/{AGENCY}.pdf")
    assert resp.status_code == 400 and resp.mimetype == "text/html"
    assert f"<code>{_open_url(db)}</code>" in resp.text
    assert 'name="allow_local_url" value="y"' in resp.text
    resp = client.get(f"/admin/campaigns/demo/poster/{AGENCY}.pdf?allow_local_url=y")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
