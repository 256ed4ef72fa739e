"""The official report (.docx): made from the command and from the form, read back with
python-docx, every index compared with `python -m analysis indices` on the same export;
its sections, its scope wording, rankings within groups, and refusals."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import sys
from pathlib import Path

import docx
import pandas as pd
import pytest
from audit_helpers import export_bundle, run_analysis
from results_helpers import ANSWERS, answer
from sqlalchemy import select
from web_helpers import csrf_token, full_answers
from werkzeug.datastructures import MultiDict

from analysis import official as off
from analysis.report_recompute import ledger_state, recompute_all
from analysis.statement import Statement
from survey_app.models import Agency

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SECTIONS = ("I. PHẠM VI VÀ PHƯƠNG PHÁP KHẢO SÁT", "II. KẾT QUẢ KHẢO SÁT",
            "III. KIỂM TRA CHẤT LƯỢNG DỮ LIỆU", "IV. ĐỀ XUẤT, KIẾN NGHỊ", "V. CĂN CỨ SỐ LIỆU")


@pytest.fixture
def answered(demo, db):
    for agency, answers in ANSWERS:
        answer(demo, db, "demo", agency, answers)
    for k in range(6):
        answer(demo, db, "demo", "SNV", full_answers(4 if k % 2 else 5, UT3="3", UT5="2",
                                                     TUOI=str(1 + k % 2)))
    return demo


def read(data: bytes) -> tuple[list[str], dict[str, list[list[str]]]]:
    """The paragraphs and the tables (by caption) of a document."""
    document = docx.Document(io.BytesIO(data))
    paragraphs = [p.text for p in document.paragraphs]
    captions = [p for p in paragraphs if p.startswith("Bảng ")]
    grids = document.tables[1:-1]  # the heading's and the signature's layout tables aside
    assert len(captions) == len(grids)
    tables = {caption.split(". ", 1)[1]: [[c.text for c in row.cells] for row in grid.rows]
              for caption, grid in zip(captions, grids, strict=True)}
    return paragraphs, tables


def vi(value, digits=1) -> str:
    return "–" if pd.isna(value) else f"{value:.{digits}f}".replace(".", ",")


def indices(responses: Path, export: Path, out: Path) -> pd.DataFrame:
    """`python -m analysis indices` on an export, as an auditor runs it."""
    cli = subprocess.run(
        [sys.executable, "-m", "analysis", "indices", responses, "--codebook",
         export / "codebook.csv", "--out", out, "--bootstrap", "1000", "--seed", "0",
         "--exclude-rejected"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert cli.returncode == 0, cli.stderr
    return pd.read_csv(out, comment="#", dtype={"agency_code": str})


def make(runner, tmp_path, *args) -> bytes:
    out = tmp_path / "bao-cao.docx"
    result = runner.invoke(args=["report", *args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out.read_bytes()


def test_province_report_figures_match_the_auditors_tool(answered, runner, tmp_path):
    data = make(runner, tmp_path, "--campaign", "demo", "--number", "Số: 15/BC-SNV")
    paragraphs, tables = read(data)
    for title in SECTIONS:
        assert title in paragraphs
    heading = docx.Document(io.BytesIO(data)).tables[0]
    cells = [c.text for row in heading.rows for c in row.cells]
    assert "SỞ NỘI VỤ" in cells[0] and "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in cells[1]
    assert "Độc lập - Tự do - Hạnh phúc" in cells[1] and cells[2] == "Số: 15/BC-SNV"
    assert "ngày" in cells[3] and "tháng" in cells[3]
    assert "BÁO CÁO" in paragraphs

    export = tmp_path / "export"
    result = runner.invoke(args=["export-responses", "--campaign", "demo", "--out",
                                 str(export)])
    assert result.exit_code == 0, result.output
    expected = indices(export / "responses.csv", export, tmp_path / "indices.csv")
    # The whole scope, recomputed from the audit bundle as `analysis verify` does.
    state = ledger_state(export_bundle(runner, tmp_path), None)
    whole = recompute_all([state], Statement(checkpoints=(), bootstrap=1000, seed=0, cap=2000,
                                             exclude_rejected=True)).overall

    # Table: the whole scope's elements and service index.
    rows = tables["Chỉ số hài lòng về sự phục vụ hành chính và theo yếu tố"][1:]
    assert len(rows) == 6
    for row in rows:
        code = row[0] or "SERVICE"
        hit = whole[(whole["code"] == code) & (whole["level"] != "criterion")]
        assert len(hit) == 1, code
        hit = hit.iloc[0]
        assert row[2:7] == [str(int(hit["n"])), vi(hit["index"]), vi(hit["ci_low"]),
                            vi(hit["ci_high"]), vi(hit["mean_score"], 2)], code
    # Each ranked agency's own service index, its interval and its n.
    ranked = [(k, rows) for k, rows in tables.items() if k.startswith("Xếp hạng: ")]
    assert ranked
    names = {a.name: a for a in answered.extensions["sqlalchemy"].session.scalars(
        select(Agency))}
    for title, rows in ranked:
        group = next(g for g in off.RANKING_GROUPS if title == f"Xếp hạng: {g[1]}")
        for row in rows[1:]:
            agency = names[row[1]]
            assert agency.kind in group[2], (title, agency.code)  # never mixed
            own = expected[(expected["agency_code"] == agency.code)
                           & (expected["level"] == "service")].iloc[0]
            assert row[2:6] == [str(int(own["n"])), vi(own["index"]), vi(own["ci_low"]),
                                vi(own["ci_high"])]
    # The priorities: share answering "Rất nhiều" of UT3 is 6 of the 6 who answered it.
    priorities = tables["Nội dung cần ưu tiên cải thiện (tỷ lệ chọn “Rất nhiều”)"]
    assert priorities[1][1:6] == ["UT3", "Đơn giản hóa thủ tục hành chính", "6", "6", "100,0"]
    assert priorities[1][0] == "1"
    # Who answered: small cells hidden.
    profile = tables["Người trả lời theo đặc điểm"]
    age = [row for row in profile[1:] if row[0] == "Độ tuổi"]
    assert [row[2] for row in age[:2]] == ["x", "x"] or all(
        row[2] in ("0", "x") or int(row[2]) >= 5 for row in age)
    # The statement: the checkpoint the figures were computed at.
    assert any(p.startswith("- Mốc sổ cái: demo#") for p in paragraphs)
    text = "\n".join(paragraphs)
    assert "Toàn tỉnh" not in text  # the demo round covers 35 of the 36 serving agencies
    assert "35 trên 36 cơ quan" in text


def test_agency_and_annual_reports(answered, runner, tmp_path, db):
    data = make(runner, tmp_path, "--campaign", "demo", "--agency", "X-SONDUONG")
    paragraphs, tables = read(data)
    heading = docx.Document(io.BytesIO(data)).tables[0]
    assert "UBND XÃ SƠN DƯƠNG" in heading.cell(0, 0).text
    assert any("Sở Nội vụ (để tổng hợp)" in c.text
               for c in docx.Document(io.BytesIO(data)).tables[-1].rows[0].cells)
    elements = tables["Chỉ số hài lòng về sự phục vụ hành chính và theo yếu tố"]
    assert elements[-1][2] == "3"  # its 2 own responses and its one-stop counter's one
    from survey_app.models import Campaign

    year = db.session.scalar(select(Campaign).filter_by(code="demo")).opens_at.year
    annual, _ = read(make(runner, tmp_path, "--year", str(year)))
    assert any(f"năm {year}" in p for p in annual)


def test_change_from_an_earlier_period_says_when_scopes_differ(answered, runner, tmp_path):
    paragraphs, tables = read(make(runner, tmp_path, "--campaign", "demo", "--baseline",
                                   "demo"))
    change = tables["Thay đổi so với kỳ trước (điểm phần trăm)"]
    service = change[-1]
    assert service[0] == "Chỉ số chung (SIPAS)" and service[3] == "0,0"
    low, high = (float(v.replace(",", ".")) for v in service[4:6])
    assert low < 0 < high and service[6] == "không"
    assert not any(p.startswith("Lưu ý: phạm vi hai kỳ khác nhau") for p in paragraphs)
    agencies = tables["Thay đổi chỉ số chung của từng cơ quan (điểm phần trăm; chỉ các cơ "
                      "quan có phiếu ở cả hai kỳ)"]
    assert {row[0] for row in agencies[1:]} >= {"UBND xã Sơn Dương", "Sở Nội vụ"}
    assert all(row[5] == "0,0" for row in agencies[1:])


def test_the_difference_interval():
    before = pd.DataFrame([{"agency_code": "A", "level": "criterion", "code": "X", "n": 100,
                            "index": 80.0, "ci_low": 71.1, "ci_high": 86.7}])
    after = before.assign(n=100, index=90.0, ci_low=82.6, ci_high=94.5)
    row = off.difference_interval(before, after).iloc[0]
    assert row["change"] == pytest.approx(10.0)
    # Newcombe's hybrid score interval for 90/100 against 80/100: 0.0–20.1 points.
    assert row["change_low"] == pytest.approx(10 - ((90 - 82.6) ** 2 + (86.7 - 80) ** 2) ** .5)
    assert row["change_high"] == pytest.approx(10 + ((94.5 - 90) ** 2 + (80 - 71.1) ** 2) ** .5)


def post(client, data: dict):
    token = csrf_token(client.get("/results/official").text)
    return client.post("/results/official", data={**data, "csrf_token": token})


def test_the_form(answered, client, login):
    login("admin")
    page = client.get("/results/official")
    assert page.status_code == 200 and "Lập báo cáo chính thức" in page.text
    resp = post(client, {"kind": "province", "campaign": "demo"})
    assert resp.status_code == 200, resp.text[:500]
    assert resp.mimetype.endswith("wordprocessingml.document")
    _, tables = read(resp.data)
    assert "Chỉ số theo tiêu chí" in tables
    for data, message in (({"kind": "province"}, "Chọn ít nhất một đợt khảo sát."),
                          ({"kind": "annual", "year": "1999"}, "Nhập năm"),
                          ({"kind": "annual", "year": "2099"}, "không có đợt khảo sát nào"),
                          ({"kind": "agency", "campaign": "demo"}, "cần chọn cơ quan"),
                          ({"kind": "province", "campaign": "nope"}, "Không có đợt")):
        resp = post(client, data)
        assert resp.status_code == 400 and message in resp.text, data
        assert resp.mimetype == "text/html"


def test_an_officer_makes_only_their_own_agencys_report(answered, client, login):
    login("sonduong")
    resp = post(client, {"kind": "province", "campaign": "demo"})
    assert resp.status_code == 200 and resp.mimetype.endswith("document")
    paragraphs, _ = read(resp.data)
    assert any("UBND xã Sơn Dương" in p for p in paragraphs)
    resp = post(client, {"campaign": "demo", "agency": "P-MYLAM"})
    assert resp.status_code == 400
    assert "Cán bộ chỉ lập được báo cáo của cơ quan mình." in resp.text


def test_the_command_refuses_bad_input(answered, runner, tmp_path):
    out = tmp_path / "x.docx"
    for args, message in ((["--year", "2099"], "không có đợt khảo sát nào"),
                          (["--campaign", "demo", "--year", "2026"], "không cả hai"),
                          ([], "không cả hai"),
                          (["--campaign", "demo", "--agency", "NOPE"], "Không có cơ quan"),
                          (["--campaign", "demo", "--baseline", "nope"], "Không có đợt")):
        result = runner.invoke(args=["report", *args, "--out", str(out)])
        assert result.exit_code == 1 and message in result.output, (args, result.output)
        assert not out.exists()


def _rewrite_cell(data: bytes, caption: str, row: int, column: int, text: str) -> bytes:
    """The document with one table cell's text replaced, as someone editing the file would."""
    document = docx.Document(io.BytesIO(data))
    captions = [p.text for p in document.paragraphs if p.text.startswith("Bảng ")]
    grid = document.tables[1:-1][next(i for i, c in enumerate(captions) if caption in c)]
    cell = grid.rows[row].cells[column]
    cell.paragraphs[0].runs[0].text = text
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def test_verify_checks_the_word_report_and_names_a_changed_figure(answered, runner,
                                                                  tmp_path):
    data = make(runner, tmp_path, "--campaign", "demo")
    bundle = export_bundle(runner, tmp_path)
    report = tmp_path / "bao-cao.docx"
    code, out = run_analysis("verify", bundle, "--report", report)
    assert code == 0, out
    assert "REPORT OK" in out, out
    print(out)
    _, tables = read(data)
    index = tables["Chỉ số hài lòng về sự phục vụ hành chính và theo yếu tố"][-1][3]
    changed = tmp_path / "sua.docx"
    changed.write_bytes(_rewrite_cell(data, "Chỉ số hài lòng về sự phục vụ hành chính", 6, 3,
                                      "99,9"))
    code, out = run_analysis("verify", bundle, "--report", changed)
    assert code == 1, out
    assert "DIFFERS: Chỉ số (%)" in out and "published 99,9" in out
    assert f"recomputed {index}" in out
    priorities = tmp_path / "uu-tien.docx"
    priorities.write_bytes(_rewrite_cell(data, "Nội dung cần ưu tiên cải thiện", 1, 4, "7"))
    code, out = run_analysis("verify", bundle, "--report", priorities)
    assert code == 1 and "Số chọn “Rất nhiều”" in out, out


def test_verify_checks_an_agencys_own_report(answered, runner, tmp_path):
    make(runner, tmp_path, "--campaign", "demo", "--agency", "X-SONDUONG")
    code, out = run_analysis("verify", export_bundle(runner, tmp_path), "--report",
                             tmp_path / "bao-cao.docx")
    assert code == 0, out


def test_a_change_across_different_scopes_carries_a_caveat(answered, runner, tmp_path, db):
    from results_helpers import second_round

    second_round(answered, db)
    paragraphs, tables = read(make(runner, tmp_path, "--campaign", "dot2", "--baseline",
                                   "demo"))
    assert any(p.startswith("Lưu ý: phạm vi hai kỳ khác nhau") for p in paragraphs)
    service = tables["Thay đổi so với kỳ trước (điểm phần trăm)"][-1]
    assert service[2] == "100,0" and service[6] == "có"
    assert any("2 cơ quan, đơn vị: UBND phường Mỹ Lâm; UBND xã Sơn Dương" in p
               for p in paragraphs)


def test_released_comments_are_counted_by_element(answered, client, login, db, runner,
                                                  tmp_path):
    from survey_app.models import CommentRelease

    for text in ("Biển chỉ dẫn khó thấy, gọi 0912345678", "Cán bộ tận tình"):
        answer(answered, db, "demo", "X-SONDUONG", full_answers(4, Y_KIEN=text))
    login("mttq")
    page = client.get("/results/demo/comments?agency=X-SONDUONG").text
    keys = re.findall(r'name="shown" value="([^"]+)"', page)
    assert len(keys) == 2 and 'name="element-' in page
    token = csrf_token(page)
    refused = client.post("/results/demo/comments", data={
        "csrf_token": token, "selected": "1", "release": keys[0],
        f"element-{keys[0]}": "ZZ"})
    assert refused.status_code == 400 and "Không có yếu tố" in refused.text
    assert db.session.scalars(select(CommentRelease)).all() == []
    resp = client.post("/results/demo/comments", data=MultiDict([
        ("csrf_token", token), ("all", "1"), *[("shown", k) for k in keys],
        (f"element-{keys[0]}", "TC"), (f"element-{keys[1]}", "CC")]))
    assert resp.status_code == 302
    assert sorted(r.element_code for r in db.session.scalars(select(CommentRelease))) == \
        ["CC", "TC"]
    paragraphs, tables = read(make(runner, tmp_path, "--campaign", "demo"))
    assert tables["Ý kiến đã công bố theo yếu tố"][1:] == [["Tiếp cận dịch vụ", "1"],
                                                            ["Công chức trực tiếp giải "
                                                             "quyết công việc", "1"]]
    quotes = [p for p in paragraphs if p.startswith("- “")]
    assert "- “Biển chỉ dẫn khó thấy, gọi [số điện thoại]” (UBND xã Sơn Dương)" in quotes
    assert not any("0912345678" in p for p in paragraphs)
    assert tables["Số phiếu có ý kiến góp ý theo cơ quan"][1:] == [["UBND xã Sơn Dương", "2"]]


@pytest.mark.parametrize("fmt", ["pdf", "xlsx"])
def test_verify_checks_the_official_pdf_and_workbook(answered, runner, tmp_path, fmt):
    if fmt == "pdf" and shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed: the PDF cannot be read")
    out = tmp_path / f"bao-cao.{fmt}"
    result = runner.invoke(args=["report", "--campaign", "demo", "--official", "--out",
                                 str(out)])
    assert result.exit_code == 0, result.output
    bundle = export_bundle(runner, tmp_path)
    code, text = run_analysis("verify", bundle, "--report", out)
    assert code == 0 and "REPORT OK" in text, text
    checked = int(re.search(r"(\d+) figures checked", text).group(1))
    assert checked > 250  # the PDF's names and leading ranks are not compared
    # The same report with a figure changed is named.
    if fmt == "xlsx":
        from openpyxl import load_workbook

        book = load_workbook(out)
        sheet = next(ws for ws in book.worksheets
                     if str(ws["A1"].value).endswith("Chỉ số theo tiêu chí"))
        sheet.cell(3, 5).value = 12.3
        book.save(out)
        code, text = run_analysis("verify", bundle, "--report", out)
        assert code == 1 and "published 12,3" in text, text
    else:  # the text as pdftotext reads it, one figure of the criteria table changed
        from analysis.report_check import check_report
        from analysis.report_files import read_report

        published = read_report(out)
        caption = next(i for i, line in enumerate(published.lines)
                       if line.strip().endswith("Chỉ số theo tiêu chí"))
        row = next(i for i in range(caption + 1, len(published.lines))
                   if published.lines[i].split()[:1] == ["TC1"])
        tokens = published.lines[row].split()
        published.lines[row] = published.lines[row].replace(tokens[-3], "12,3")
        result = check_report(bundle, out, published)
        assert not result.ok
        assert any("published 12,3" in d for d in result.differences), result.differences


def test_the_form_gives_each_format(answered, client, login):
    login("admin")
    for fmt, start in (("pdf", b"%PDF"), ("xlsx", b"PK"), ("docx", b"PK")):
        resp = post(client, {"kind": "province", "campaign": "demo", "format": fmt})
        assert resp.status_code == 200 and resp.data.startswith(start), fmt
        assert f"bao-cao-tinh.{fmt}" in resp.headers["Content-Disposition"]
    resp = post(client, {"kind": "province", "campaign": "demo", "format": "odt"})
    assert resp.status_code == 400 and "Chọn định dạng tệp" in resp.text


def test_comment_counts_follow_corrections_and_rejections(answered, db, runner, tmp_path):
    from results_helpers import reject

    from survey_app.models import Response, User
    from survey_app.services import corrections

    for text in ("Một", "Hai", "Ba"):
        answer(answered, db, "demo", "P-MYLAM", full_answers(4, Y_KIEN=text))
    commented = [r for r in db.session.scalars(select(Response).order_by(Response.id))
                 if r.answer_dict.get("Y_KIEN")]
    admin = db.session.scalar(select(User).filter_by(username="admin"))
    corrections.correct(commented[0].id, {"Y_KIEN": None}, "nhập nhầm", admin)
    db.session.commit()
    number = db.session.scalars(select(Response.id).order_by(Response.id)).all().index(
        commented[1].id)
    reject(db, number)
    db.session.commit()
    _, tables = read(make(runner, tmp_path, "--campaign", "demo"))
    assert tables["Số phiếu có ý kiến góp ý theo cơ quan"][1:] == [["UBND phường Mỹ Lâm", "1"]]
    _, tables = read(make(runner, tmp_path, "--campaign", "demo", "--include-rejected"))
    assert tables["Số phiếu có ý kiến góp ý theo cơ quan"][1:] == [["UBND phường Mỹ Lâm", "2"]]
