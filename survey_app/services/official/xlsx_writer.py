"""The official report as a workbook (openpyxl), for offices that recompute or chart the
figures: the sheet "Báo cáo" with the heading and the text in order (each table named by
its caption, linked to its sheet), one sheet per table with the figures as numbers in the
report's precision, and the sheet "Thông tin" with the ledger statement, written as the
results workbook writes it (the verifier reads it)."""

from __future__ import annotations

import io
import re

from openpyxl import Workbook
from openpyxl.drawing.image import Image
from openpyxl.styles import Alignment, Font

from analysis.tables import DIGITS

from .. import reports
from .document import Document, Figure, Paragraph, Section, Table

NATION = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO = "Độc lập - Tự do - Hạnh phúc"
SIGN_HERE = "(Ký, ghi rõ họ tên và đóng dấu)"
FIRST_SHEET = "Báo cáo"
#: Excel's number format of each kind of figure column (the report's decimals; a change
#: keeps its sign as the report prints it).
NUMBER_FORMATS = {"int": "0", "index": "0.0", "share": "0.0", "change": "+0.0;-0.0;0.0",
                  "score": "0.00"}
#: characters Excel refuses in a sheet name
_NOT_IN_NAME = re.compile(r"[\[\]:*?/\\']")
BOLD = Font(bold=True)
WRAP = Alignment(wrap_text=True, vertical="top")


#: a short name for the sheet of each table, by its key (`sheet_name`)
SHORT_NAMES = {"sample": "Cỡ mẫu", "channels": "Kênh trả lời", "elements": "Yếu tố",
               "criteria": "Tiêu chí", "subtrees": "Cộng dồn", "priorities": "Ưu tiên",
               "profile": "Người trả lời", "comments": "Góp ý", "change": "Thay đổi",
               "forms": "Phiếu giấy", "flags": "Cảnh báo", "ranking-department": "Xếp hạng sở",
               "ranking-local": "Xếp hạng xã, phường", "ranking-one_stop": "Xếp hạng một cửa",
               "ranking-other": "Xếp hạng khác"}


def sheet_name(table: Table) -> str:
    """'Bảng N' and the table's short name (else the first words of its title that fit in
    Excel's 31 characters); the number makes it unique."""
    name = f"Bảng {table.number}"
    words = SHORT_NAMES.get(table.key) or _NOT_IN_NAME.sub(" ", table.title)
    for word in words.split():
        if len(name) + 1 + len(word) > 31:
            break
        name += " " + word
    return name.rstrip(" ,;.-–(")


def _text(cell, value: str):
    """A string cell that Excel never reads as a formula."""
    cell.value = value
    if isinstance(value, str) and value.startswith("="):
        cell.data_type = "s"
    return cell


def _figure_value(kind: str, value, shown: str):
    """The figure as a number rounded as shown; the shown text when it is not a number
    (a hidden cell's mark, the dash for none)."""
    if isinstance(value, str) or shown in ("", "–"):
        return shown
    if kind == "int":
        return int(round(float(value)))
    return round(float(value), DIGITS[kind])


def _table_sheet(book, table: Table) -> str:
    ws = book.create_sheet(sheet_name(table))
    ws["A1"] = table.caption
    ws["A1"].font = Font(bold=True, size=12)
    for i, column in enumerate(table.columns, start=1):
        cell = _text(ws.cell(2, i), column.title)
        cell.font, cell.alignment = BOLD, WRAP
        ws.column_dimensions[cell.column_letter].width = max(8.0, column.width * 0.55)
    for r, (row, shown) in enumerate(zip(table.rows, table.shown(), strict=True), start=3):
        for i, (column, value, text) in enumerate(zip(table.columns, row, shown, strict=True),
                                                  start=1):
            cell = ws.cell(r, i)
            if column.figure:
                cell.value = _figure_value(column.kind, value, text)
                if isinstance(cell.value, str):
                    cell.alignment = Alignment(horizontal="right")
                else:
                    cell.number_format = NUMBER_FORMATS[column.kind]
            else:
                _text(cell, text).alignment = WRAP
    if table.note:
        ws.cell(ws.max_row + 2, 1, table.note).font = Font(italic=True)
    ws.freeze_panes = "A3"
    return ws.title


class _Text:
    """The first sheet, written one row at a time in column A."""

    def __init__(self, ws):
        self.ws, self.row = ws, 0
        ws.column_dimensions["A"].width = 110

    def line(self, text: str = "", *, bold=False, italic=False, size=None, link=None):
        self.row += 1
        cell = _text(self.ws.cell(self.row, 1), text or None)
        cell.font = Font(bold=bold, italic=italic, size=size,
                         underline="single" if link else None)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        if link:
            cell.hyperlink = f"#'{link}'!A1"
        return cell

    def picture(self, png: bytes):
        image = Image(io.BytesIO(png))
        scale = min(1.0, 760 / image.width)
        image.width, image.height = image.width * scale, image.height * scale
        self.ws.add_image(image, f"A{self.row + 1}")
        self.row += int(image.height / 20) + 1


def _heading(text: _Text, document: Document):
    h = document.heading
    for line, bold in ((h.parent, False), (h.issuer, True), (h.number, False),
                       (NATION, True), (MOTTO, True)):
        text.line(line, bold=bold)
    text.line(h.place_date, italic=True)
    text.line()
    text.line(h.kind, bold=True, size=14)
    text.line(h.subject, bold=True)


def _section(text: _Text, section: Section, sheets: dict[int, str]):
    text.line()
    text.line(section.title, bold=True)
    for block in section.blocks:
        if isinstance(block, Table):
            text.line(block.caption, bold=True, link=sheets[block.number])
        elif isinstance(block, Figure):
            text.picture(block.png)
            text.line(block.caption, italic=True)
        elif isinstance(block, Paragraph):
            dash = "- " if block.style in ("bullet", "quote") else ""
            text.line(dash + block.text, bold=block.style == "subheading",
                      italic=block.style in ("quote", "note"))


def _closing(text: _Text, document: Document):
    text.line()
    text.line("Nơi nhận:", bold=True, italic=True)
    for line in document.recipients:
        text.line("- " + line)
    text.line()
    for line in document.signature.authority:
        text.line(line, bold=True)
    text.line(SIGN_HERE, italic=True)
    text.line(document.signature.name, bold=True)


def write(document: Document) -> bytes:
    """The workbook of `document`: the text, one sheet per table, the statement."""
    book = Workbook()
    book.active.title = FIRST_SHEET
    sheets = {table.number: _table_sheet(book, table) for table in document.tables()}
    text = _Text(book[FIRST_SHEET])
    _heading(text, document)
    for section in document.sections:
        _section(text, section, sheets)
    _closing(text, document)
    reports.xlsx_statement(book.create_sheet(reports.INFO_SHEET), document.statement)
    book.properties.title = document.title
    book.properties.creator = document.heading.issuer
    book.properties.language = "vi-VN"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
