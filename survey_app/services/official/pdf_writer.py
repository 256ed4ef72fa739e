"""The official report as a PDF (reportlab), laid out as the Word document (`docx_writer`
is the reference): A4 with the margins of Decree 30/2020/NĐ-CP, a Times New Roman–like
serif with every Vietnamese letter, the heading beside the national title, the body, "Nơi
nhận" and the signature block, page numbers in the footer.

Tables are set so that `pdftotext -layout` gives each row as one line ending in its
figures (the verifier reads the PDF that way): figure cells never wrap, only the words of
label cells do, every cell is top-aligned, and each caption fits on one line."""

from __future__ import annotations

import io
from dataclasses import dataclass
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY, TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import (
    BaseDocTemplate,
    CondPageBreak,
    Frame,
    Image,
    KeepTogether,
    PageTemplate,
    Spacer,
    TableStyle,
)
from reportlab.platypus import Paragraph as Para
from reportlab.platypus import Table as Grid

from ...printing import fonts
from .document import Document, Figure, Paragraph, Section, Table

NATION = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO = "Độc lập - Tự do - Hạnh phúc"
SIGN_HERE = "(Ký, ghi rõ họ tên và đóng dấu)"
TOP = BOTTOM = 20 * mm
LEFT, RIGHT = 30 * mm, 15 * mm
WIDTH = A4[0] - LEFT - RIGHT
#: cell padding of the tables, points
PAD = 3


@dataclass(frozen=True)
class Faces:
    regular: str
    bold: str
    italic: str
    bold_italic: str

    def style(self, size: float, *, bold=False, italic=False, align=TA_LEFT, indent=0.0,
              after=6.0, leading=1.15) -> ParagraphStyle:
        name = {(False, False): self.regular, (True, False): self.bold,
                (False, True): self.italic, (True, True): self.bold_italic}[bold, italic]
        return ParagraphStyle(f"{name}-{size}-{align}-{indent}-{after}", fontName=name,
                              fontSize=size, leading=size * leading, alignment=align,
                              firstLineIndent=indent, spaceBefore=0, spaceAfter=after)


def _p(text: str, style: ParagraphStyle, underline=False) -> Para:
    words = escape(text)
    return Para(f"<u>{words}</u>" if underline and words else words or "&nbsp;", style)


def _fit(text: str, font: str, size: float, width: float, least: float = 8) -> float:
    """The largest size up to `size` at which `text` fits on one line of `width`."""
    while size > least and stringWidth(text, font, size) > width:
        size -= 0.5
    return size


def _layout_grid(rows, widths, style=()) -> Grid:
    grid = Grid(rows, colWidths=widths)
    grid.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"),
                              ("LEFTPADDING", (0, 0), (-1, -1), 0),
                              ("RIGHTPADDING", (0, 0), (-1, -1), 0), *style]))
    return grid


def _heading(document: Document, f: Faces) -> list:
    h = document.heading
    left_w, right_w = 70 * mm, 95 * mm
    nation = _fit(NATION, f.bold, 13, right_w - 2)
    centre = {"align": TA_CENTER, "after": 0}
    left = [_p(h.parent, f.style(13, **centre)),
            _p(h.issuer, f.style(_fit(h.issuer, f.bold, 13, left_w - 2), bold=True, **centre),
               underline=True)]
    right = [_p(NATION, f.style(nation, bold=True, **centre)),
             _p(MOTTO, f.style(13, bold=True, **centre), underline=True)]
    top = _layout_grid([[left, right],
                        [_p(h.number, f.style(13, **centre)),
                         _p(h.place_date, f.style(13, italic=True, **centre))]],
                       [left_w, right_w], [("TOPPADDING", (0, 1), (-1, 1), 6)])
    return [top, Spacer(1, 6 * mm),
            _p(h.kind, f.style(14, bold=True, align=TA_CENTER, after=0)),
            _p(h.subject, f.style(14, bold=True, align=TA_CENTER, after=12))]


# --- tables ---------------------------------------------------------------------------------

def _widest_word(texts, font: str, size: float) -> float:
    return max((stringWidth(word, font, size) for text in texts for word in text.split()),
               default=0)


def _widths(table: Table, shown: list[list[str]], f: Faces, size: float) -> list[float] | None:
    """Column widths filling the text width in the DOCX's proportions, each column wide
    enough for its longest figure on one line or its longest word (the room is taken from
    the columns that have some to spare); None when they do not all fit at this size."""
    given = [c.width for c in table.columns]
    scaled = [w * WIDTH / sum(given) for w in given]
    need = []
    for i, column in enumerate(table.columns):
        cells = [row[i] for row in shown]
        head = _widest_word([column.title], f.bold, size)
        if column.figure:
            body = max((stringWidth(c, f.regular, size) for c in cells), default=0)
        else:
            body = _widest_word(cells, f.regular, size)
        need.append(max(head, body) + 2 * PAD + 1)
    if sum(need) > WIDTH:
        return None
    widths = [max(s, n) for s, n in zip(scaled, need, strict=True)]
    spare = [w - n for w, n in zip(widths, need, strict=True)]
    excess = sum(widths) - WIDTH
    return [w - excess * room / sum(spare) if excess > 0 else w
            for w, room in zip(widths, spare, strict=True)]


def _table(table: Table, f: Faces) -> list:
    shown = table.shown()
    size = 11.0
    widths = _widths(table, shown, f, size)
    while widths is None and size > 6:
        size -= 0.5
        widths = _widths(table, shown, f, size)
    if widths is None:  # a table too wide for the page at any size: let it overflow
        widths = [c.width * WIDTH / sum(c.width for c in table.columns) for c in table.columns]
    head = f.style(size, bold=True, align=TA_CENTER, after=0)
    label = f.style(size, after=0)
    rows = [[_p(c.title, head) for c in table.columns]]
    # Figures as plain strings: reportlab never wraps them, so a row's figures stay on the
    # line of its first words.
    rows += [[text if c.figure else _p(text, label) for c, text in zip(table.columns, row,
                                                                         strict=True)]
             for row in shown]
    grid = Grid(rows, colWidths=widths, repeatRows=1)
    grid.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), f.regular), ("FONTSIZE", (0, 0), (-1, -1), size),
        ("LEADING", (0, 0), (-1, -1), size * 1.15),
        ("GRID", (0, 0), (-1, -1), 0.5, colors.black), ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), PAD), ("RIGHTPADDING", (0, 0), (-1, -1), PAD),
        *[("ALIGN", (i, 1), (i, -1), "RIGHT") for i, c in enumerate(table.columns)
          if c.figure]]))
    caption = f.style(_fit(table.caption, f.bold, 13, WIDTH - 2), bold=True, align=TA_CENTER,
                      after=3)
    after = _p(table.note, f.style(11, italic=True, align=TA_JUSTIFY)) if table.note \
        else Spacer(1, 4 * mm)
    # A caption never alone at the foot of a page: a new page unless the caption, the
    # header and a few rows fit (keeping the whole table together would leave pages blank).
    return [CondPageBreak(45 * mm), _p(table.caption, caption), grid, after]


def _figure(block: Figure, f: Faces) -> list:
    picture = Image(io.BytesIO(block.png))
    scale = min(WIDTH / picture.imageWidth, 200 * mm / picture.imageHeight)
    picture.drawWidth = picture.imageWidth * scale
    picture.drawHeight = picture.imageHeight * scale
    return [KeepTogether([picture, _p(block.caption, f.style(12, italic=True,
                                                             align=TA_CENTER))])]


def _paragraph(block: Paragraph, f: Faces) -> Para:
    indent = 10 * mm
    if block.style == "subheading":
        return _p(block.text, f.style(14, bold=True, indent=indent))
    if block.style == "bullet":
        return _p("- " + block.text, f.style(14, align=TA_JUSTIFY, indent=indent, after=3))
    if block.style == "quote":
        return _p("- " + block.text, f.style(13, italic=True, align=TA_JUSTIFY,
                                             indent=indent, after=3))
    if block.style == "note":
        return _p(block.text, f.style(13, italic=True, align=TA_JUSTIFY, indent=indent))
    return _p(block.text, f.style(14, align=TA_JUSTIFY, indent=indent))


def _section(section: Section, f: Faces) -> list:
    story = [_p(section.title, f.style(14, bold=True))]
    for block in section.blocks:
        if isinstance(block, Table):
            story += _table(block, f)
        elif isinstance(block, Figure):
            story += _figure(block, f)
        elif isinstance(block, Paragraph):
            story.append(_paragraph(block, f))
    return story


def _closing(document: Document, f: Faces) -> list:
    left = [_p("Nơi nhận:", f.style(12, bold=True, italic=True, after=0)),
            *[_p("- " + line, f.style(11, after=0)) for line in document.recipients]]
    centre = {"align": TA_CENTER, "after": 0}
    signer = document.signature
    right = [*[_p(line, f.style(13, bold=True, **centre)) for line in signer.authority],
             _p(SIGN_HERE, f.style(13, italic=True, **centre)), Spacer(1, 22 * mm),
             _p(signer.name, f.style(13, bold=True, **centre))]
    return [Spacer(1, 4 * mm), KeepTogether([_layout_grid([[left, right]],
                                                          [85 * mm, 80 * mm])])]


def write(document: Document) -> bytes:
    """The PDF of `document`, the same content and layout as `docx_writer.write`."""
    f = Faces(*fonts.register_serif())
    story = _heading(document, f)
    for section in document.sections:
        story += _section(section, f)
    story += _closing(document, f)

    def footer(canvas, doc):
        canvas.saveState()
        canvas.setFont(f.regular, 10)
        canvas.drawCentredString(LEFT + WIDTH / 2, BOTTOM / 2, f"Trang {doc.page}")
        canvas.restoreState()

    out = io.BytesIO()
    doc = BaseDocTemplate(out, pagesize=A4, leftMargin=LEFT, rightMargin=RIGHT,
                          topMargin=TOP, bottomMargin=BOTTOM, title=document.title,
                          author=document.heading.issuer, subject=document.heading.subject,
                          lang="vi-VN")
    # A frame without padding, so the text is exactly within the decree's margins.
    body = Frame(LEFT, BOTTOM, WIDTH, A4[1] - TOP - BOTTOM, leftPadding=0, rightPadding=0,
                 topPadding=0, bottomPadding=0)
    doc.addPageTemplates([PageTemplate("page", frames=[body], onPage=footer)])
    doc.build(story)
    return out.getvalue()
