"""The official report as a Word document (python-docx), laid out as an administrative
document under Decree 30/2020/NĐ-CP: A4 with the decree's margins (top and bottom 20 mm,
left 30 mm, right 15 mm), Times New Roman 13–14 pt, the national emblem lines beside the
issuing body, number, place and date, title, body, "Nơi nhận" and the signature block.
Offices finish and sign reports in Word; python-docx writes the file without Word."""

from __future__ import annotations

import io
from datetime import datetime
from xml.sax.saxutils import escape

from docx import Document as new_docx
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.shared import Mm, Pt

from .document import Document, Figure, Paragraph, Section, Table

FONT = "Times New Roman"
NATION = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO = "Độc lập - Tự do - Hạnh phúc"


def _font(run, size: float, bold=False, italic=False, underline=False):
    run.font.name = FONT
    run.font.size = Pt(size)
    run.bold, run.italic, run.underline = bold, italic, underline
    fonts = run._element.get_or_add_rPr().get_or_add_rFonts()
    for attr in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        fonts.set(qn(attr), FONT)
    return run


def _para(container, text="", size=14, *, bold=False, italic=False, underline=False,
          align=None, indent=False, after=6):
    p = container.add_paragraph()
    if text:
        _font(p.add_run(text), size, bold, italic, underline)
    fmt = p.paragraph_format
    fmt.space_before, fmt.space_after = Pt(0), Pt(after)
    fmt.line_spacing = 1.15
    if align is not None:
        p.alignment = align
    if indent:
        fmt.first_line_indent = Mm(10)
    return p


def _cell_text(cell, lines, size, align=WD_ALIGN_PARAGRAPH.CENTER):
    """A layout cell's lines, each (text, bold, italic, underline)."""
    first = True
    for text, bold, italic, underline in lines:
        p = cell.paragraphs[0] if first else cell.add_paragraph()
        first = False
        p.alignment = align
        p.paragraph_format.space_after = Pt(0)
        if text:
            _font(p.add_run(text), size, bold, italic, underline)


def _table_style(doc):
    """The paragraph style of table cells: Times New Roman 11 pt, no space after."""
    from docx.enum.style import WD_STYLE_TYPE

    style = doc.styles.add_style("Ô bảng", WD_STYLE_TYPE.PARAGRAPH)
    style.base_style = doc.styles["Normal"]
    style.font.name, style.font.size = FONT, Pt(11)
    style.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), FONT)
    style.paragraph_format.space_before = style.paragraph_format.space_after = Pt(0)
    return style.style_id


def _no_borders(table):
    borders = table._tbl.tblPr.first_child_found_in("w:tblBorders")
    if borders is not None:
        table._tbl.tblPr.remove(borders)


def _heading(doc, document: Document):
    h = document.heading
    top = doc.add_table(rows=2, cols=2)
    _no_borders(top)
    top.alignment = WD_TABLE_ALIGNMENT.CENTER
    widths = (Mm(70), Mm(95))
    for row in top.rows:
        for cell, width in zip(row.cells, widths, strict=True):
            cell.width = width
    _cell_text(top.cell(0, 0), [(h.parent, False, False, False),
                                (h.issuer, True, False, True)], 13)
    _cell_text(top.cell(0, 1), [(NATION, True, False, False), (MOTTO, True, False, True)], 13)
    _cell_text(top.cell(1, 0), [(h.number, False, False, False)], 13)
    _cell_text(top.cell(1, 1), [(h.place_date, False, True, False)], 13)
    _para(doc, "", after=6)
    _para(doc, h.kind, 14, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, after=0)
    _para(doc, h.subject, 14, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, after=12)


def _twips(mm: float) -> int:
    return round(mm * 1440 / 25.4)


def _cell_xml(text: str, width: int, style: str, align: str, bold: bool) -> str:
    run = ""
    if text:
        run = ("<w:r>" + ("<w:rPr><w:b/></w:rPr>" if bold else "")
               + f'<w:t xml:space="preserve">{escape(text)}</w:t></w:r>')
    return (f'<w:tc><w:tcPr><w:tcW w:w="{width}" w:type="dxa"/></w:tcPr><w:p><w:pPr>'
            f'<w:pStyle w:val="{style}"/><w:jc w:val="{align}"/></w:pPr>{run}</w:p></w:tc>')


def _table(doc, table: Table, style):
    """A table of figures with a grid, its header repeated on each page. Written as XML in
    one piece: python-docx adds cells one element at a time, which took seconds."""
    _para(doc, table.caption, 13, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, after=3)
    widths = [_twips(c.width) for c in table.columns]
    align = ["right" if c.figure else "left" for c in table.columns]
    header = "".join(_cell_xml(c.title, w, style, "center", True)
                     for c, w in zip(table.columns, widths, strict=True))
    rows = ["<w:tr><w:trPr><w:tblHeader/></w:trPr>" + header + "</w:tr>"]
    for row in table.shown():
        rows.append("<w:tr>" + "".join(_cell_xml(text, w, style, a, False) for text, w, a in
                                       zip(row, widths, align, strict=True)) + "</w:tr>")
    xml = (f"<w:tbl {nsdecls('w')}><w:tblPr><w:tblStyle w:val=\"TableGrid\"/>"
           '<w:tblW w:w="0" w:type="auto"/><w:jc w:val="center"/>'
           '<w:tblLook w:val="04A0"/></w:tblPr><w:tblGrid>'
           + "".join(f'<w:gridCol w:w="{w}"/>' for w in widths) + "</w:tblGrid>"
           + "".join(rows) + "</w:tbl>")
    body = doc.element.body
    body.find(qn("w:sectPr")).addprevious(parse_xml(xml))
    if table.note:
        _para(doc, table.note, 11, italic=True, after=6)
    else:
        _para(doc, "", 6, after=3)


def _section(doc, section: Section, style):
    _para(doc, section.title, 14, bold=True, after=6)
    for block in section.blocks:
        if isinstance(block, Table):
            _table(doc, block, style)
        elif isinstance(block, Figure):
            doc.add_picture(io.BytesIO(block.png), width=Mm(160))
            doc.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
            _para(doc, block.caption, 12, italic=True, align=WD_ALIGN_PARAGRAPH.CENTER)
        elif isinstance(block, Paragraph):
            _paragraph(doc, block)


def _paragraph(doc, block: Paragraph):
    justify = WD_ALIGN_PARAGRAPH.JUSTIFY
    if block.style == "subheading":
        _para(doc, block.text, 14, bold=True, indent=True)
    elif block.style == "bullet":
        _para(doc, "- " + block.text, 14, align=justify, indent=True, after=3)
    elif block.style == "quote":
        _para(doc, "- " + block.text, 13, italic=True, align=justify, indent=True, after=3)
    elif block.style == "note":
        _para(doc, block.text, 13, italic=True, align=justify, indent=True)
    else:
        _para(doc, block.text, 14, align=justify, indent=True)


def _closing(doc, document: Document):
    bottom = doc.add_table(rows=1, cols=2)
    _no_borders(bottom)
    left, right = bottom.rows[0].cells
    left.width, right.width = Mm(85), Mm(80)
    _cell_text(left, [("Nơi nhận:", True, True, False)], 12, WD_ALIGN_PARAGRAPH.LEFT)
    for line in document.recipients:
        p = left.add_paragraph()
        p.paragraph_format.space_after = Pt(0)
        _font(p.add_run("- " + line), 11)
    signer = document.signature
    _cell_text(right, [*[(line, True, False, False) for line in signer.authority],
                       ("(Ký, ghi rõ họ tên và đóng dấu)", False, True, False),
                       ("", False, False, False), ("", False, False, False),
                       ("", False, False, False), (signer.name, True, False, False)], 13)


def write(document: Document) -> bytes:
    doc = new_docx()
    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(20), Mm(20)
    section.left_margin, section.right_margin = Mm(30), Mm(15)
    style = doc.styles["Normal"]
    style.font.name, style.font.size = FONT, Pt(14)
    style.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), FONT)
    doc.core_properties.title = document.title
    doc.core_properties.author = document.heading.issuer
    doc.core_properties.language = "vi-VN"
    # A published file carries no time finer than a day.
    today = datetime.now().replace(hour=0, minute=0, second=0, microsecond=0)
    doc.core_properties.created = doc.core_properties.modified = today
    doc.core_properties.last_modified_by = document.heading.issuer
    _heading(doc, document)
    style = _table_style(doc)
    for part in document.sections:
        _section(doc, part, style)
    _closing(doc, document)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()
