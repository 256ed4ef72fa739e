"""The 6-month and annual reports (XLSX, PDF, HTML print view) and the data export as
XLSX, through the results pages and the `report` command."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from results_helpers import ANSWERS, answer, today
from web_helpers import full_answers

from analysis.kinds import CHANNEL_NAMES

REPORT_SHEETS = ["Tổng quan", "Xếp hạng", "Cộng dồn", "Chỉ số", "Tiêu chí", "Theo kênh",
                 "Biểu đồ", "Thông tin"]


@pytest.fixture
def answered(demo, db):
    for agency, answers in ANSWERS:
        answer(demo, db, "demo", agency, answers)
    return demo


def rows_of(sheet) -> list[list]:
    return [list(r) for r in sheet.iter_rows(values_only=True)]


def test_xlsx_report_from_the_page(answered, client, login):
    login("admin")
    resp = client.get("/results/demo/report.xlsx")
    assert resp.status_code == 200
    assert resp.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    book = load_workbook(io.BytesIO(resp.data))
    assert book.sheetnames == REPORT_SHEETS
    overview = "\n".join(str(c) for row in rows_of(book["Tổng quan"]) for c in row if c)
    assert "BÁO CÁO KẾT QUẢ KHẢO SÁT SỰ HÀI LÒNG" in overview
    assert "Wilson" in overview and "bootstrap" in overview and "n của tiêu chí" in overview
    ranking = {row[1]: row for row in rows_of(book["Xếp hạng"])[1:]}
    assert ranking["UBND xã Sơn Dương"][3] == pytest.approx(52.5)
    assert ranking["UBND xã Sơn Dương"][2] == 2  # the n behind the figure
    assert ranking["UBND phường Mỹ Lâm"][0] is None  # too few answers to rank
    rolled = {row[1]: row for row in rows_of(book["Cộng dồn"])[1:]}
    assert rolled["UBND tỉnh Tuyên Quang"][3] == pytest.approx(56.75)
    criteria = {row[0]: row for row in rows_of(book["Tiêu chí"])[1:]}
    assert criteria["TC1"][2:5] == [4, 3, pytest.approx(75)]
    assert criteria["TC1"][8] == 1  # one "not applicable" answer
    long = rows_of(book["Chỉ số"])
    assert long[0][:4] == ["Mã cơ quan", "Cơ quan", "Cấp", "Mã"]
    # Every label in Vietnamese; indices with 1 decimal, mean scores with 2.
    assert {row[2] for row in long[1:]} == {"tiêu chí", "yếu tố", "chỉ số chung"}
    assert long[0][9] == "Điểm TB" and book["Chỉ số"].cell(2, 10).number_format == "0.00"
    assert book["Chỉ số"].cell(2, 7).number_format == "0.0"
    channels = rows_of(book["Theo kênh"])
    total = channels[0].index("Tổng")
    assert channels[0][1:total] == list(CHANNEL_NAMES.values())
    table = [r for r in channels[1:] if r[total] is not None]
    assert sum(r[total] for r in table) == 5
    # A published file hides counts below MIN_CELL (every agency here has fewer than 5
    # responses on the open link) and says so.
    assert {r[1] for r in table} == {"x"}
    assert any(r and str(r[0]).startswith("x: số bị ẩn") for r in channels)
    assert len(book["Biểu đồ"]._images) == 3


def test_pdf_report_from_the_command(answered, runner, tmp_path):
    out = tmp_path / "bao-cao.pdf"
    result = runner.invoke(args=["report", "--campaign", "demo", "--out", str(out)])
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    assert data.startswith(b"%PDF")
    if shutil.which("pdftoppm"):
        subprocess.run(["pdftoppm", "-r", "40", "-png", "-f", "1", "-l", "1", str(out),
                        str(tmp_path / "page")], check=True, timeout=60)
        assert (tmp_path / "page-1.png").read_bytes().startswith(b"\x89PNG")
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext (poppler-utils) is not installed")
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(out), "-"], capture_output=True,
                          text=True, check=True, timeout=60).stdout
    for expected in ("BÁO CÁO KẾT QUẢ KHẢO SÁT SỰ HÀI LÒNG", "UBND xã Sơn Dương",
                     "Bộ phận một cửa xã Sơn Dương", "Tiếp nhận, xử lý góp ý, phản ánh, kiến nghị",
                     "Phương pháp", "khoảng Wilson", "không xếp hạng", "52,5", "56,8"):
        assert expected in " ".join(text.split()), expected
    # Indices with 1 decimal, the mean score with 2 (the scope's service row of table I).
    assert re.search(r"Chỉ số chung \(SIPAS\) \d+ \d+,\d \d+,\d \d+,\d \d,\d\d\b",
                     " ".join(text.split())), text


def test_pdf_and_print_view_from_the_pages(answered, client, login):
    login("mttq")
    pdf = client.get("/results/demo/report.pdf?rejected=include")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.data.startswith(b"%PDF")
    page = client.get("/results/demo/report")
    assert page.status_code == 200
    assert "BÁO CÁO KẾT QUẢ KHẢO SÁT SỰ HÀI LÒNG" in page.text and "Phương pháp" in page.text
    assert "/results/demo/chart/heatmap.svg" in page.text
    assert "n của tiêu chí là số ý kiến từ 1 đến 5" in page.text


def test_annual_report_combines_campaigns(answered, runner, db, tmp_path, client, login):
    from survey_app.services import campaigns

    campaigns.create_campaign(code="dot2", name="Đợt 2 năm 2026", period="2026-H2",
                              version_ref="sipas", opens=today(),
                              closes=today() + timedelta(days=30), agency_codes=["P-MYLAM"])
    db.session.commit()
    answer(answered, db, "dot2", "P-MYLAM", full_answers(5))
    out = tmp_path / "nam.xlsx"
    result = runner.invoke(args=["report", "--campaign", "demo", "--campaign", "dot2",
                                 "--out", str(out), "--bootstrap", "0"])
    assert result.exit_code == 0, result.output
    book = load_workbook(out)
    overview = [r[0] for r in rows_of(book["Tổng quan"]) if r and r[0]]
    assert "Báo cáo tổng hợp năm" in overview
    assert any("Đợt 2 năm 2026" in str(line) for line in overview)
    assert any("cộng lại như một đợt" in str(line) for line in overview)
    ranking = {row[1]: row for row in rows_of(book["Xếp hạng"])[1:]}
    assert ranking["UBND phường Mỹ Lâm"][2] == 3
    assert ranking["UBND phường Mỹ Lâm"][3] == pytest.approx((4 * 200 / 3 + 100 / 3) / 5)
    login("admin")
    page = client.get("/results/demo/report?also=dot2")
    assert page.status_code == 200 and "Báo cáo tổng hợp năm" in page.text


def test_report_command_refuses_bad_input(answered, runner, tmp_path):
    tmp_path = tmp_path / "out"
    tmp_path.mkdir()
    for args, message in (
        (["--campaign", "nope", "--out", str(tmp_path / "x.pdf")], "Không có đợt khảo sát mã"),
        (["--campaign", "demo", "--out", str(tmp_path / "x.odt")], "phần mở rộng"),
        (["--campaign", "demo", "--out", str(tmp_path / "no" / "x.pdf")], "không tồn tại"),
        (["--campaign", "demo", "--agency", "NOPE", "--out", str(tmp_path / "x.pdf")],
         "Không có cơ quan mã"),
    ):
        result = runner.invoke(args=["report", *args])
        assert result.exit_code == 1, args
        assert message in result.output
    assert list(tmp_path.iterdir()) == []


def test_data_export_as_one_workbook(answered, client, login, db):
    answer(answered, db, "demo", "P-MYLAM", full_answers(4, Y_KIEN="=HYPERLINK(\"x\")"))
    login("admin")
    resp = client.get("/results/demo/export.xlsx")
    assert resp.status_code == 200
    book = load_workbook(io.BytesIO(resp.data))
    assert book.sheetnames == ["responses", "codebook"]
    rows = rows_of(book["responses"])
    assert rows[0][:6] == ["response_id", "campaign", "agency_code", "channel", "submitted_at",
                           "review_state"]
    assert len(rows) == 7
    tc1 = rows[0].index("TC1")
    assert [r[tc1] for r in rows[1:]] == [5, None, 4, 3, 4, 4]
    comment = book["responses"].cell(7, rows[0].index("Y_KIEN") + 1)
    assert comment.value == '=HYPERLINK("x")' and comment.data_type == "s"  # text, not a formula
    assert rows_of(book["codebook"])[0][0] == "item_code"
