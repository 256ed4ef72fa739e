"""The official report in its three formats: one `Document` written as DOCX, PDF and XLSX
and read back (python-docx, `pdftotext -layout` as the verifier reads a PDF, openpyxl).
Every table is in each with the same caption and the same cells, the heading and the
section titles too, no figure has a decimal point, and the PDF's font has every
Vietnamese letter and renders."""

from __future__ import annotations

import io
import re
import shutil
import subprocess

import docx
import pytest
from openpyxl import load_workbook
from results_helpers import ANSWERS, answer
from web_helpers import full_answers

from survey_app.services import official, results
from survey_app.services.official import xlsx_writer

SECTIONS = ("I. PHẠM VI VÀ PHƯƠNG PHÁP KHẢO SÁT", "II. KẾT QUẢ KHẢO SÁT",
            "III. KIỂM TRA CHẤT LƯỢNG DỮ LIỆU", "IV. ĐỀ XUẤT, KIẾN NGHỊ", "V. CĂN CỨ SỐ LIỆU")
MOTTO = "Độc lập - Tự do - Hạnh phúc"
#: a figure written with a decimal point (83.5), not the report's decimal comma (83,5); a
#: dot between thousands (1.234) is the report's own
DECIMAL_POINT = re.compile(r"(?<![\d.])[+-]?\d+\.\d{1,2}(?![\d.])")


@pytest.fixture
def written(demo, db):
    """The province report of the demo round (answers through the citizen pages, a
    baseline so that the change table is there too), built once and written three ways."""
    for agency, answers in ANSWERS:
        answer(demo, db, "demo", agency, answers)
    for k in range(6):
        answer(demo, db, "demo", "SNV", full_answers(4 if k % 2 else 5, UT3="3", UT5="2",
                                                     TUOI=str(1 + k % 2)))
    demo_round = results.get("demo")
    order = official.Order(kind="province", campaigns=[demo_round], baseline=[demo_round],
                           number="Số: 15/BC-SNV", signer="Nguyễn Văn A", bootstrap=200,
                           seed=0)
    document = official.document(order)
    return document, {fmt: writer(document) for fmt, writer in official.WRITERS.items()}


def heading_lines(document) -> list[str]:
    h = document.heading
    return [h.parent, h.issuer, h.number, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", MOTTO,
            h.place_date, h.kind, h.subject]


def flat(text: str) -> str:
    return " ".join(text.split())


def pdftotext(data: bytes, tmp_path) -> list[str]:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed: the PDF cannot be read "
                    "as the verifier reads it")
    path = tmp_path / "bao-cao.pdf"
    path.write_bytes(data)
    done = subprocess.run(["pdftotext", "-layout", "-enc", "UTF-8", str(path), "-"],
                          capture_output=True, timeout=120, check=True)
    return done.stdout.decode("utf-8").splitlines()


def test_the_three_formats_hold_the_same_tables(written, tmp_path):
    document, files = written
    tables = document.tables()
    assert {t.key for t in tables} >= {"sample", "channels", "change", "forms", "flags"}
    for table in tables:
        assert table.caption == f"Bảng {table.number}. {table.title}"
        for row in table.shown():
            for text in row:
                assert not DECIMAL_POINT.search(text), (table.caption, text)

    # DOCX: each caption a paragraph, followed by its grid with the same cells.
    word = docx.Document(io.BytesIO(files["docx"]))
    paragraphs = [p.text for p in word.paragraphs]
    grids = word.tables[1:-1]
    assert len(grids) == len(tables)
    for table, grid in zip(tables, grids, strict=True):
        assert table.caption in paragraphs
        cells = [[c.text for c in row.cells] for row in grid.rows]
        assert cells == [[c.title for c in table.columns], *table.shown()], table.caption

    # PDF: each caption a line of its own; then each row a line ending in its figures, in
    # order (a long name may continue on the lines below).
    lines = pdftotext(files["pdf"], tmp_path)
    stripped = [line.strip() for line in lines]
    for table in tables:
        assert table.caption in stripped, table.caption
        at = stripped.index(table.caption) + 1
        for row in table.shown():
            figures = [text for c, text in zip(table.columns, row, strict=True) if c.figure]
            if not figures:
                continue
            while True:
                assert at < len(lines), (table.caption, row)
                tokens = lines[at].split()
                at += 1
                if _ends_with(tokens, figures, row, table):
                    break
    for line in lines:
        assert not DECIMAL_POINT.search(line), line

    # XLSX: one sheet per table, the caption in A1, the titles in row 2, the cells from
    # row 3 as numbers equal to the shown figures.
    book = load_workbook(io.BytesIO(files["xlsx"]))
    assert book.sheetnames[0] == "Báo cáo" and book.sheetnames[-1] == "Thông tin"
    assert len(book.sheetnames) == len(tables) + 2
    for table in tables:
        name = xlsx_writer.sheet_name(table)
        assert len(name) <= 31 and name.startswith(f"Bảng {table.number} ")
        ws = book[name]
        assert ws["A1"].value == table.caption
        assert [c.value or "" for c in ws[2]] == [c.title for c in table.columns]
        assert ws.freeze_panes == "A3"
        for r, row in enumerate(table.shown(), start=3):
            for i, (column, text) in enumerate(zip(table.columns, row, strict=True),
                                               start=1):
                cell = ws.cell(r, i)
                if column.figure and text not in ("–", "x"):
                    assert isinstance(cell.value, int | float), (name, r, i, cell.value)
                    expected = float(text.replace(".", "").replace(",", "."))
                    assert cell.value == pytest.approx(expected), (name, r, i)
                    assert cell.number_format.count("0") >= 1
                else:
                    assert (cell.value or "") == text, (name, r, i)
                    assert cell.data_type == "s" or cell.value is None


def _ends_with(tokens: list[str], figures: list[str], row: list[str], table) -> bool:
    """A PDF line is this row's when its last figures (and any words after them, like
    "có"/"không") end it and all its figures are in it, in order (a rank may lead)."""
    columns = table.columns
    last = max(i for i, c in enumerate(columns) if c.figure)
    words = [w for text in row[last + 1:] for w in text.split()]
    first = last
    while first > 0 and columns[first - 1].figure:
        first -= 1
    ending = row[first:last + 1] + words
    if tokens[-len(ending):] != ending:
        return False
    found = iter(tokens)
    return all(any(t == figure for t in found) for figure in figures)


def test_the_heading_and_sections_are_in_every_format(written, tmp_path):
    document, files = written
    assert [s.title for s in document.sections] == list(SECTIONS)
    word = docx.Document(io.BytesIO(files["docx"]))
    word_text = flat("\n".join([p.text for p in word.paragraphs]
                               + [c.text for row in word.tables[0].rows for c in row.cells]))
    pdf_text = flat("\n".join(pdftotext(files["pdf"], tmp_path)))
    book = load_workbook(io.BytesIO(files["xlsx"]))
    first = [ws_row[0].value for ws_row in book["Báo cáo"].iter_rows()]
    for line in heading_lines(document) + list(SECTIONS):
        assert flat(line) in word_text, line
        assert flat(line) in pdf_text, line
        assert line in first, line
    # The workbook names each table by its caption, in the text's order.
    captions = [t.caption for t in document.tables()]
    assert [v for v in first if v in captions] == captions
    assert "Nơi nhận:" in first and "Nơi nhận:" in pdf_text
    # The statement as the verifier reads it: (label, value) from the second row on.
    info = [tuple(r) for r in book["Thông tin"].iter_rows(values_only=True)]
    assert info[1:] == [tuple(pair) for pair in document.statement]
    assert any(label == "Mốc sổ cái" and value.startswith("demo#") for label, value in info[1:])


def test_the_pdf_has_vietnamese_fonts_and_renders(written, tmp_path):
    _, files = written
    lines = pdftotext(files["pdf"], tmp_path)
    text = "\n".join(lines)
    assert MOTTO in text  # every letter extracted intact: the font has them
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text and "Trang 1" in text
    from survey_app.printing import fonts

    if shutil.which("pdffonts") and fonts.find_serif_files() is not None:
        listed = subprocess.run(["pdffonts", str(tmp_path / "bao-cao.pdf")],
                                capture_output=True, text=True, check=True).stdout
        assert "Serif" in listed  # the serif of an administrative document, embedded
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) is not installed: the page is not rasterised")
    subprocess.run(["pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "1",
                    str(tmp_path / "bao-cao.pdf"), str(tmp_path / "page")], check=True,
                   timeout=120)
    png = next(tmp_path.glob("page*.png")).read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 2000


def test_a_serif_without_every_vietnamese_letter_is_passed_over(tmp_path):
    from survey_app.printing import fonts

    old = fonts.Path("/usr/share/fonts/truetype/liberation")
    if not (old / "LiberationSerif-Regular.ttf").is_file() or fonts.has_vietnamese(
            old / "LiberationSerif-Regular.ttf"):
        pytest.skip("no Liberation Serif 1 (without Vietnamese letters) on this machine")
    faces = [face for face in fonts.SERIF_FACES if face[1] == old]
    assert fonts.find_serif_files(faces) is None  # "Đ c l p": letters would go missing
    assert fonts.find_serif_files([("Missing", tmp_path, ("a.ttf",))]) is None


def test_the_verifier_reads_the_workbook_as_written(written, tmp_path):
    """analysis.report_files reads the workbook (statement and tables by caption) and each
    table compares equal, cell by cell, with the Document's."""
    from analysis.report_compare import ReportCheck
    from analysis.report_files import read_xlsx_report
    from analysis.report_official import compare_table

    document, files = written
    path = tmp_path / "bao-cao.xlsx"
    path.write_bytes(files["xlsx"])
    published = read_xlsx_report(path)
    assert published.kind == "official"
    assert published.statement.checkpoints[0].digest.startswith("demo#")
    check = ReportCheck(str(path), published.statement)
    for table in document.tables():
        compare_table(check, table, published.sheets[table.title])
    assert check.checked > 100 and check.differences == []
