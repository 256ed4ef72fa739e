"""Respondents stay anonymous to the agency they rate.

An officer of UBND xã Sơn Dương (demo account `sonduong`) gets aggregates only: no
response rows, receipt codes, response ids or times finer than a day in anything their
pages lead to; small groups hidden in breakdowns; comments only once released, masked.
Row-level exports by Sở Nội vụ and MTTQ are written to the audit log.

The data: X-SONDUONG 7 answers by QR (4 men, 2 women, 1 unanswered) and 2 by the kiosk
API; X-SONDUONG-1C (below it) 1 by QR; P-MYLAM (elsewhere) 2 by QR.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import zipfile
from collections import deque
from html import unescape
from urllib.parse import urlencode, urljoin, urlsplit

import pytest
from openpyxl import load_workbook
from results_helpers import answer
from sqlalchemy import select
from web_helpers import csrf_token, full_answers
from werkzeug.datastructures import MultiDict

from survey_app.models import CHANNELS, AuditLog, CommentRelease, Response

PHONE_COMMENT = "Anh Nguyễn Văn Đức ở một cửa rất nhiệt tình, cần gì gọi tôi 0912 345 678."
EMAIL_COMMENT = "Phòng chờ nóng quá; trả lời giúp vào hoa.tran@gmail.com nhé."
PRIVATE_COMMENT = "Chị Lan thu thêm tiền ngoài quy định, CCCD của tôi 001099012345."
MYLAM_COMMENT = "Ông Trần Bình ở Mỹ Lâm làm việc tốt."

#: Receipt codes: two groups of five from the receipt alphabet (services.responses).
RECEIPT_RE = re.compile(r"(?<![A-Z0-9])[2-9A-HJ-NP-Z]{5}-[2-9A-HJ-NP-Z]{5}(?![A-Z0-9])")
#: A time of day with minutes: 7:05, 14:30, 14:30:59 (not a ledger digest's "demo#12:3f2a-…",
#: whose entry count and hash a colon parts).
TIME_RE = re.compile(r"(?<![\d:#])\d{1,2}:[0-5]\d(?!\d)")
#: What would name a response: its id column, a link to it, a comment's release key.
RESPONSE_ID_RE = re.compile(r"response[_ ]?id|/responses/\d|\b\d+:Y_KIEN\b|data-comment",
                            re.I)


@pytest.fixture
def answered(demo, db):
    from survey_app.services import api_keys

    for k in range(7):
        extra = {"GIOI_TINH": "1" if k < 4 else "2"} if k < 6 else {}
        comment = {0: PHONE_COMMENT, 1: EMAIL_COMMENT, 2: PRIVATE_COMMENT}.get(k)
        if comment:
            extra["Y_KIEN"] = comment
        answer(demo, db, "demo", "X-SONDUONG", full_answers(4 if k % 2 else 5, **extra))
    answer(demo, db, "demo", "X-SONDUONG-1C", full_answers(3, GIOI_TINH="2"))
    for _ in range(2):
        answer(demo, db, "demo", "P-MYLAM", full_answers(2, Y_KIEN=MYLAM_COMMENT))
    _, plain = api_keys.create_key("Kiosk một cửa Sơn Dương", "X-SONDUONG")
    db.session.commit()
    kiosk = demo.test_client()
    for score in (3, 4):
        body = {"campaign": "demo", "agency": "X-SONDUONG",
                "answers": {code: int(v) for code, v in full_answers(score).items()}}
        resp = kiosk.post("/api/v1/responses", json=body,
                          headers={"Authorization": f"Bearer {plain}"})
        assert resp.status_code == 201, resp.json
    assert len(db.session.scalars(select(Response)).all()) == 12
    return demo


def _key(db, comment: str) -> str:
    rid = next(r.id for r in db.session.scalars(select(Response).order_by(Response.id))
               if r.answer_dict.get("Y_KIEN") == comment)
    return f"{rid}:Y_KIEN"


def _logout(client):
    token = csrf_token(client.get("/staff").text)
    assert client.post("/auth/logout", data={"csrf_token": token}).status_code in (302, 303)


# --- what is served, as text ---------------------------------------------------------------

def _text_of(resp) -> str | None:
    """Everything readable in a response: HTML, CSV, SVG as they are; XLSX cell values;
    PDF text (pdftotext); None for images."""
    mimetype = resp.mimetype or ""
    if mimetype.startswith("image/png"):
        return None
    if mimetype.endswith("spreadsheetml.sheet"):
        book = load_workbook(io.BytesIO(resp.data), read_only=True)
        return "\n".join(" ".join(str(c) for c in row if c is not None)
                         for sheet in book.worksheets for row in sheet.iter_rows(values_only=True))
    if mimetype == "application/pdf":
        if not shutil.which("pdftotext"):
            return None
        done = subprocess.run(["pdftotext", "-enc", "UTF-8", "-", "-"], input=resp.data,
                              capture_output=True, check=True)
        return done.stdout.decode("utf-8")
    if mimetype == "application/zip":
        with zipfile.ZipFile(io.BytesIO(resp.data)) as bundle:
            return "\n".join(bundle.read(n).decode("utf-8", "replace") for n in bundle.namelist())
    return resp.get_data(as_text=True)


def _attr(tag: str, name: str) -> str | None:
    m = re.search(rf'\b{name}="([^"]*)"', tag)
    return unescape(m.group(1)) if m else None


def _forms(html: str, base: str) -> list[tuple[str, str, list[tuple[str, str]]]]:
    """Each form as (method, action URL, fields with their default values), submitted as a
    browser would without a change: the selected option (or the first), the first button."""
    out = []
    for attrs, body in re.findall(r"<form([^>]*)>(.*?)</form>", html, re.S):
        method = (_attr(attrs, "method") or "get").upper()
        action = urljoin(base, _attr(attrs, "action") or base)
        fields = []
        for tag in re.findall(r"<input[^>]*>", body):
            name, kind = _attr(tag, "name"), (_attr(tag, "type") or "text").lower()
            if not name or (kind in ("checkbox", "radio") and "checked" not in tag):
                continue
            fields.append((name, _attr(tag, "value") or ""))
        for name, options in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>',
                                        body, re.S):
            chosen = re.findall(r"<option([^>]*)>", options)
            picked = next((o for o in chosen if "selected" in o), chosen[0] if chosen else "")
            fields.append((name, _attr(picked, "value") or ""))
        for name, text in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>',
                                     body, re.S):
            fields.append((name, unescape(text)))
        button = re.search(r"<button[^>]*>", body)
        if button and _attr(button.group(0), "name"):
            fields.append((_attr(button.group(0), "name"), _attr(button.group(0), "value") or ""))
        out.append((method, action, fields))
    return out


def _crawl(client, starts=("/", "/staff"), limit=600):
    """Breadth-first over every link, image and form reachable within the site (the
    sign-out form excepted: it would end the visit). Returns {request: (status, text)}."""
    seen, served = set(), {}
    queue = deque(("GET", s, ()) for s in starts)
    while queue:
        method, url, fields = queue.popleft()
        key = (method, url, tuple(fields))
        if key in seen:
            continue
        seen.add(key)
        assert len(seen) <= limit, "the officer's pages lead to more than expected"
        if method == "GET":
            resp = client.get(url)
        else:
            resp = client.post(url, data=MultiDict(list(fields)))
        text = _text_of(resp)
        resp.close()
        served[key] = (resp.status_code, text)
        if resp.status_code in (301, 302, 303, 307, 308):
            target = urljoin(url, resp.headers["Location"])
            if urlsplit(target).netloc in ("", "localhost"):
                queue.append(("GET", urlsplit(target)._replace(scheme="", netloc="").geturl(),
                              ()))
            continue
        if text is None or resp.mimetype != "text/html":
            continue
        for ref in re.findall(r'(?:href|src)="([^"]+)"', text):
            target = urljoin(url, unescape(ref))
            if target.startswith("/") and not target.startswith("//"):
                queue.append(("GET", target.split("#")[0], ()))
        for form_method, action, form_fields in _forms(text, url):
            if not action.startswith("/") or action.startswith("/auth/logout"):
                continue
            if form_method == "GET":
                query = urlencode(form_fields)
                queue.append(("GET", f"{action.split('?')[0]}?{query}", ()))
            else:
                queue.append(("POST", action, tuple(form_fields)))
    return served


# --- the officer's whole site ---------------------------------------------------------------

def test_officer_finds_no_row_level_data_anywhere(answered, client, login, db):
    # Sở Nội vụ releases two of Sơn Dương's comments and Mỹ Lâm's; one stays unreleased.
    login("admin")
    page = client.get("/results/demo/comments")
    assert page.status_code == 200
    released = [_key(db, PHONE_COMMENT), _key(db, EMAIL_COMMENT), _key(db, MYLAM_COMMENT)]
    resp = client.post("/results/demo/comments", data={
        "csrf_token": csrf_token(page.text), "selected": "1", "release": released,
        **{f"text-{k}": "" for k in released}})
    assert resp.status_code == 302
    _logout(client)

    login("sonduong")
    served = _crawl(client)
    codes = set(db.session.scalars(select(Response.receipt_code)))
    visited = set()
    for (method, url, _), (status, text) in served.items():
        assert status < 500, f"{method} {url}: {status}"
        if status == 200:
            visited.add(urlsplit(url).path)
        if not text:
            continue
        assert not RECEIPT_RE.search(text), f"{url}: receipt code {RECEIPT_RE.search(text)}"
        assert not any(code in text for code in codes), url
        found = TIME_RE.search(text)
        assert not found, f"{url}: time of day {found.group(0)!r}"
        found = RESPONSE_ID_RE.search(text)
        assert not found, f"{url}: response id {found.group(0)!r}"
        # No profile answer is ever beside a comment, and nothing unreleased shows.
        # (The whole number: a chart's random SVG ids may hold any four digits.)
        assert "0912 345 678" not in text and "001099012345" not in text
        assert "Chị Lan" not in text
        assert "Mỹ Lâm làm việc" not in text  # another agency's comment
    # It did see the results, the report files, the charts and the released comments.
    for path in ("/results/", "/results/demo", "/results/demo/report", "/results/demo/report.pdf",
                 "/results/demo/report.xlsx", "/results/demo/indices.csv",
                 "/results/demo/codebook.csv", "/results/demo/comments",
                 "/results/demo/chart/heatmap.svg", "/results/demo/chart/trend.svg"):
        assert path in visited, f"the crawl never reached {path}"
    # The downloads of rows are not even linked from the officer's pages.
    assert not any(p.endswith(("responses.csv", "export.xlsx")) for p in visited)
    comments = client.get("/results/demo/comments").text
    assert "Anh [tên] ở một cửa rất nhiệt tình, cần gì gọi tôi [số điện thoại]." in comments
    assert "trả lời giúp vào [email] nhé" in comments
    assert comments.index("Anh [tên]") < comments.index("Phòng chờ")  # sorted by text


def test_officer_is_refused_rows_and_release(answered, client, login, db):
    login("sonduong")
    for path in ("/results/demo/responses.csv", "/results/demo/export.xlsx",
                 "/results/demo/responses.csv?agency=X-SONDUONG-1C", "/audit/responses/1",
                 "/audit/demo/bundle.zip"):
        assert client.get(path).status_code == 403, path
    token = csrf_token(client.get("/results/demo").text)
    resp = client.post("/results/demo/comments", data={
        "csrf_token": token, "release": _key(db, PRIVATE_COMMENT), "selected": "1"})
    assert resp.status_code == 403
    assert db.session.scalars(select(CommentRelease)).all() == []
    assert "Chưa có ý kiến nào được công bố" in client.get("/results/demo/comments").text
    assert db.session.scalars(select(AuditLog).filter_by(action="export_rows")).all() == []


def test_small_cells_hidden_for_officer_not_for_admin_on_screen(answered, client, login, app):
    login("sonduong")
    html = client.get("/results/demo?by=GIOI_TINH").text
    # Men 4 (< 5) and women 3 (2 + the unit below) in the subtree: both hidden.
    groups = dict(re.findall(r'<tr data-group="([^"]+)"[^>]*><td>[^<]*</td><td>([^<]*)</td>',
                             html))
    assert groups["1"] == "x" and groups["2"] == "x"
    assert "x: số bị ẩn" in html
    channels = re.search(r'<tr data-channels="X-SONDUONG">(.*?)</tr>', html, re.S).group(1)
    cells = dict(zip(["name", *CHANNELS, "total", "rejected"],
                     re.findall(r"<td>([^<]*)</td>", channels), strict=True))
    # open 7 and api 2, total 9: api < 5 is hidden, and the open link with it (else 9 - 7).
    assert cells["open"] == "x" and cells["api"] == "x" and cells["total"] == "9"
    # A larger MIN_CELL hides more; MIN_CELL 1 hides nothing.
    app.config["MIN_CELL"] = 1
    channels = re.search(r'<tr data-channels="X-SONDUONG">(.*?)</tr>',
                         client.get("/results/demo").text, re.S).group(1)
    shown = dict(zip(["name", *CHANNELS, "total", "rejected"],
                     re.findall(r"<td>([^<]*)</td>", channels), strict=True))
    assert shown == {"name": shown["name"], **dict.fromkeys(CHANNELS, "0"), "open": "7",
                     "api": "2", "total": "9", "rejected": "0"}
    app.config["MIN_CELL"] = 5
    _logout(client)

    login("admin")
    html = client.get("/results/demo?by=GIOI_TINH").text
    groups = dict(re.findall(r'<tr data-group="([^"]+)"[^>]*><td>[^<]*</td><td>([^<]*)</td>',
                             html))
    assert groups["1"] == "4" and groups["2"] == "3"  # on screen for Sở Nội vụ
    report = client.get("/results/demo/report").text  # the published report
    channels = re.search(r'<tr data-channels="X-SONDUONG">(.*?)</tr>', report, re.S).group(1)
    assert re.findall(r"<td>([^<]*)</td>", channels)[1] == "x"


# --- comment release ---------------------------------------------------------------------------

def test_release_masks_edits_and_keeps_every_release(answered, client, login, db):
    login("mttq")
    page = client.get("/results/demo/comments?agency=X-SONDUONG")
    assert page.status_code == 200
    # The suggestions are already masked; the original is shown to the releaser.
    assert "Chị [tên] thu thêm tiền ngoài quy định, CCCD của tôi [số giấy tờ]." in page.text
    assert "Mỹ Lâm làm việc" not in page.text  # the agency filter
    key = _key(db, PRIVATE_COMMENT)
    token = csrf_token(page.text)
    # An edit that puts a phone number back is masked again.
    resp = client.post("/results/demo/comments", data={
        "csrf_token": token, "selected": "1", "release": key,
        f"text-{key}": "Cán bộ thu thêm tiền; liên hệ 091.234.5678."})
    assert resp.status_code == 302
    row = db.session.scalars(select(CommentRelease)).one()
    assert row.text == "Cán bộ thu thêm tiền; liên hệ [số điện thoại]."
    assert row.item_code == "Y_KIEN" and row.released_by.username == "mttq"
    # "All shown" releases every comment on the page; the earlier one gets a second row.
    fields = [("csrf_token", token), ("all", "1")]
    fields += [("shown", k) for k in re.findall(r'name="shown" value="([^"]+)"', page.text)]
    resp = client.post("/results/demo/comments?agency=X-SONDUONG", data=MultiDict(fields))
    assert resp.status_code == 302
    assert len(db.session.scalars(select(CommentRelease)).all()) == 1 + 3
    # Bad input: a key of no comment, nothing chosen. Nothing is written.
    for data in ({"release": "999999:Y_KIEN", "selected": "1"}, {"release": f"{key[:-1]}",
                 "selected": "1"}, {"selected": "1"}):
        resp = client.post("/results/demo/comments", data={"csrf_token": token, **data})
        assert resp.status_code == 400
        assert "ý kiến" in resp.text.lower(), resp.text
    assert len(db.session.scalars(select(CommentRelease)).all()) == 4
    assert db.session.scalars(select(AuditLog).filter_by(action="release_comments")).all()
    _logout(client)

    login("sonduong")
    text = client.get("/results/demo/comments").text
    assert "Chị [tên] thu thêm tiền ngoài quy định, CCCD của tôi [số giấy tờ]." in text
    assert "liên hệ [số điện thoại]" not in text  # the latest release of a comment wins


# --- audit of row-level exports --------------------------------------------------------------

def test_row_exports_are_written_to_the_audit_log(answered, client, login, runner, db,
                                                   tmp_path):
    login("admin")
    assert client.get("/results/demo/responses.csv?agency=X-SONDUONG").status_code == 200
    assert client.get("/results/demo/export.xlsx").status_code == 200
    _logout(client)
    login("mttq")
    assert client.get("/audit/demo/bundle.zip").status_code == 200
    result = runner.invoke(args=["export-responses", "--campaign", "demo", "--agency",
                                 "P-MYLAM", "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["export-audit", "--campaign", "demo",
                                 "--out", str(tmp_path / "bundle.zip")])
    assert result.exit_code == 0, result.output
    rows = db.session.scalars(select(AuditLog).filter_by(action="export_rows")
                              .order_by(AuditLog.id)).all()
    assert [(r.actor.split(":")[0], r.object_id, r.after["what"], r.after["scope"])
            for r in rows] == [
        ("admin", "demo", "responses.csv", "X-SONDUONG"),
        ("admin", "demo", "export.xlsx", "*"),
        ("mttq", "demo", "bundle.zip", "*"),
        ("cli", "demo", "export-responses", "P-MYLAM"),
        ("cli", "demo", "export-audit", "*"),
    ]
    assert all(r.at is not None for r in rows)
    # A refused export leaves no trace of having happened.
    result = runner.invoke(args=["export-responses", "--campaign", "nope", "--out",
                                 str(tmp_path / "x")])
    assert result.exit_code == 1
    assert len(db.session.scalars(select(AuditLog).filter_by(action="export_rows")).all()) == 5
