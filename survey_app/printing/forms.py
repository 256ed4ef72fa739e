"""Numbered paper questionnaires, one per serial, for filling in by hand.

Each form starts on a new A4 page whose header carries the serial number,
the campaign and agency names and the form's own QR code (for people who
prefer to answer online).  The whole questionnaire follows, laid out for pen
and paper in black and white.  Every page footer repeats the serial and
"Trang i/n" counted within the form, so loose pages can be put back together.

The questionnaire body is the same on every form, so it is laid out once
with reportlab platypus and stored as PDF Form XObjects (one per body page);
each printed page references its body page and adds only the per-form header
(serial, names, QR code drawn as vector rectangles) and footer.  200 forms
take a few seconds, most of it choosing QR mask patterns.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    CondPageBreak,
    Flowable,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from . import fonts
from .qr import DEFAULT_BORDER, dark_runs, qr_matrix

ITEM_TYPES = ("satisfaction", "single_choice", "multiple_choice", "priority",
              "text")

PAGE_W, PAGE_H = A4
MARGIN_X = 15 * mm
FRAME_PADDING = 6  # platypus frames pad their content by 6 pt on each side
MARGIN_TOP = 14 * mm
MARGIN_BOTTOM = 18 * mm  # room for the footer
CONTENT_W = PAGE_W - 2 * MARGIN_X
QR_SYMBOL = 36 * mm  # dark part; the quiet zone comes on top (~4 cm total)
BOX = "\u2610"  # ☐ BALLOT BOX, present in DejaVu Sans
TEXT_LINES = 6  # ruled lines for a free-text answer

LABELS: dict[str, dict[str, object]] = {
    "vi": {
        "serial": "Số phiếu",
        "page": "Trang {i}/{n}",
        "scan": "Quét mã để trả lời trực tuyến (mỗi mã chỉ dùng một lần)",
        "how": "Cách đánh dấu: đánh dấu \u2713 hoặc \u2717 vào một ô phù hợp.",
        "legend_title": "Thang đánh giá",
        "scale": ("1", "2", "3", "4", "5", "KAD"),
        "scale_legend": ("1 Rất không hài lòng", "2 Không hài lòng",
                         "3 Bình thường", "4 Hài lòng", "5 Rất hài lòng",
                         "KAD Không áp dụng"),
        "priority": ("Rất nhiều", "Nhiều", "Ít"),
        "priority_hint": "Mức độ cần ưu tiên cải thiện: đánh dấu một ô "
                         "cho mỗi nội dung.",
        "code": "Mã",
        "content": "Nội dung",
        "single": "(chọn một)",
        "multiple": "(có thể chọn nhiều)",
        "text": "(ghi ý kiến vào các dòng dưới đây)",
        "recheck": "Đồng ý để MTTQ gọi điện kiểm tra lại:",
        "recheck_phone": "Số điện thoại:",
        "recheck_note": "Không bắt buộc. Số điện thoại được lưu riêng, không gắn với câu "
                        "trả lời, chỉ giám sát viên MTTQ xem và được xóa sau khi kiểm tra.",
    },
    "en": {
        "serial": "Form no.",
        "page": "Page {i}/{n}",
        "scan": "Scan to answer online (each code can be used only once)",
        "how": "How to answer: put \u2713 or \u2717 in one box.",
        "legend_title": "Scale",
        "scale": ("1", "2", "3", "4", "5", "N/A"),
        "scale_legend": ("1 Very dissatisfied", "2 Dissatisfied",
                         "3 Neutral", "4 Satisfied", "5 Very satisfied",
                         "N/A Not applicable"),
        "priority": ("Very much", "Much", "Little"),
        "priority_hint": "How much should this be improved? Tick one box "
                         "per line.",
        "code": "Code",
        "content": "Item",
        "single": "(choose one)",
        "multiple": "(choose any)",
        "text": "(write on the lines below)",
        "recheck": "I agree that MTTQ may call me to check this form:",
        "recheck_phone": "Phone:",
        "recheck_note": "Optional. The number is kept apart from the answers, seen only by "
                        "MTTQ auditors and erased after the check.",
    },
}

ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI",
         "XII", "XIII", "XIV", "XV", "XVI", "XVII", "XVIII", "XIX", "XX")


# -- helpers -----------------------------------------------------------------

def _loc(value: object, lang: str) -> str:
    """Pick *lang* from a ``{"vi": …, "en": …}`` dict (fallback: vi, any)."""
    if value is None:
        return ""
    if isinstance(value, Mapping):
        for key in (lang, "vi"):
            if value.get(key):
                return str(value[key])
        return next((str(v) for v in value.values() if v), "")
    return str(value)


def _esc(text: object) -> str:
    """Escape plain text for platypus paragraph markup."""
    return escape(" ".join(str(text).split()))


def _roman(i: int) -> str:
    return ROMAN[i] if i < len(ROMAN) else str(i + 1)


class _Styles:
    def __init__(self) -> None:
        regular, bold = fonts.register_fonts()
        self.regular, self.bold = regular, bold
        base = ParagraphStyle("base", fontName=regular, fontSize=9.5,
                              leading=12.2)
        self.body = base
        self.small = ParagraphStyle("small", base, fontSize=8, leading=10)
        self.caption = ParagraphStyle("caption", self.small,
                                      alignment=TA_CENTER)
        self.serial = ParagraphStyle("serial", base, fontSize=12, leading=26)
        self.header = ParagraphStyle("header", base, fontSize=10.5,
                                     leading=13.5, spaceBefore=2)
        self.title = ParagraphStyle("title", base, fontName=bold, fontSize=12.5,
                                    leading=16, alignment=TA_CENTER,
                                    spaceBefore=4, spaceAfter=4)
        self.group = ParagraphStyle("group", base, fontName=bold, fontSize=11,
                                    leading=14, spaceBefore=8, spaceAfter=4,
                                    backColor=colors.Color(0.87, 0.87, 0.87),
                                    borderPadding=(2, 3, 3, 3),
                                    leftIndent=3, rightIndent=3,
                                    keepWithNext=1)
        self.cell = ParagraphStyle("cell", base, fontSize=9, leading=11.2)
        self.question = ParagraphStyle("question", base, spaceBefore=5,
                                       spaceAfter=2, keepWithNext=1)
        self.choice = ParagraphStyle("choice", base, fontSize=9.5, leading=13)


class _QRCode(Flowable):
    """A QR code drawn as vector rectangles (crisp at any print resolution)."""

    def __init__(self, url: str, symbol_size: float) -> None:
        super().__init__()
        self.matrix = qr_matrix(url, border=DEFAULT_BORDER)
        n_symbol = len(self.matrix) - 2 * DEFAULT_BORDER
        self.module = symbol_size / n_symbol
        self.size = self.module * len(self.matrix)

    def wrap(self, availWidth, availHeight):  # noqa: N803
        return self.size, self.size

    def draw(self) -> None:
        c, m, top = self.canv, self.module, self.size
        c.saveState()
        c.setFillColor(colors.black)
        path = c.beginPath()
        for row, col, length in dark_runs(self.matrix):
            path.rect(col * m, top - (row + 1) * m, length * m, m)
        c.drawPath(path, stroke=0, fill=1)
        c.restoreState()


class _RuledLines(Flowable):
    """Dotted writing lines for a free-text answer."""

    def __init__(self, count: int, spacing: float = 8 * mm) -> None:
        super().__init__()
        self.count, self.spacing = count, spacing

    def wrap(self, availWidth, availHeight):  # noqa: N803
        self.width = availWidth
        return availWidth, self.count * self.spacing

    def draw(self) -> None:
        c = self.canv
        c.saveState()
        c.setLineWidth(0.5)
        c.setStrokeColor(colors.Color(0.35, 0.35, 0.35))
        c.setDash(1, 2)
        for i in range(self.count):
            y = i * self.spacing + 1
            c.line(0, y, self.width, y)
        c.restoreState()


class _CaptureCanvas(Canvas):
    """Canvas that can record platypus pages as reusable Form XObjects.

    While capturing, every page platypus draws becomes a named form instead
    of a PDF page.  The questionnaire body is identical on every paper form,
    so it is laid out once and each printed page just references it
    (``doForm``) and adds its own header/QR/footer: fast and compact.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._capture_prefix: str | None = None
        self.captured: list[str] = []

    def start_capture(self, prefix: str) -> None:
        self._capture_prefix = prefix
        self._begin_captured_page()

    def _begin_captured_page(self) -> None:
        self.beginForm(f"{self._capture_prefix}{len(self.captured)}")

    def stop_capture(self) -> None:
        # Close the pending (empty) form opened after the last page; it is
        # never referenced.
        self.endForm()
        self._capture_prefix = None

    def showPage(self) -> None:  # noqa: N802 (reportlab API)
        if self._capture_prefix is None:
            super().showPage()
            return
        self.endForm()
        self.captured.append(f"{self._capture_prefix}{len(self.captured)}")
        self._begin_captured_page()


def _draw_footer(c: Canvas, st: _Styles, labels: Mapping, serial: str,
                 page_no: int, total: int, note: str) -> None:
    y = MARGIN_BOTTOM - 9 * mm
    c.saveState()
    c.setLineWidth(0.6)
    c.line(MARGIN_X, y + 4.2 * mm, PAGE_W - MARGIN_X, y + 4.2 * mm)
    c.setFont(st.bold, 9.5)
    c.drawString(MARGIN_X, y, f"{labels['serial']}: {serial}")
    c.drawRightString(PAGE_W - MARGIN_X, y,
                      str(labels["page"]).format(i=page_no, n=total))
    if note:
        max_w = PAGE_W - 2 * MARGIN_X - 90 * mm
        if c.stringWidth(note, st.regular, 7.5) > max_w:
            while note and c.stringWidth(note + "…", st.regular, 7.5) > max_w:
                note = note[:-1]
            note = note.rstrip() + "…"
        c.setFont(st.regular, 7.5)
        c.drawCentredString(PAGE_W / 2, y, note)
    c.restoreState()


# -- questionnaire body ------------------------------------------------------

def _grid_style(header_cols_from: int) -> TableStyle:
    return TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
        ("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.93, 0.93, 0.93)),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("ALIGN", (header_cols_from, 0), (-1, -1), "CENTER"),
        ("ALIGN", (0, 0), (0, -1), "CENTER"),
        ("TOPPADDING", (0, 0), (-1, -1), 2.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
    ])


def _box_table(items: Sequence[Mapping], column_labels: Sequence[str],
               box_col_w: float, st: _Styles, labels: Mapping, lang: str,
               header_font_size: float = 9) -> Table:
    """Rows of (code, text, ☐ × len(column_labels)) with a repeated header."""
    code_w = 15 * mm
    text_w = CONTENT_W - code_w - box_col_w * len(column_labels)
    header = [labels["code"], labels["content"], *column_labels]
    rows = [header]
    for item in items:
        rows.append([
            str(item.get("code", "")),
            Paragraph(_esc(_loc(item.get("text"), lang)), st.cell),
            *([BOX] * len(column_labels)),
        ])
    table = Table(rows, colWidths=[code_w, text_w]
                  + [box_col_w] * len(column_labels), repeatRows=1)
    style = _grid_style(2)
    style.add("FONT", (0, 0), (-1, 0), st.bold, header_font_size)
    style.add("FONT", (0, 1), (0, -1), st.bold, 8.5)
    style.add("FONT", (2, 1), (-1, -1), st.regular, 15)
    style.add("LEADING", (2, 1), (-1, -1), 15)
    table.setStyle(style)
    return table


def _choice_block(item: Mapping, st: _Styles, labels: Mapping,
                  lang: str) -> list[Flowable]:
    multiple = item.get("type") == "multiple_choice"
    hint = labels["multiple"] if multiple else labels["single"]
    question = Paragraph(
        f"<b>{_esc(item.get('code', ''))}.</b> "
        f"{_esc(_loc(item.get('text'), lang))} <font size=8>{_esc(hint)}</font>",
        st.question,
    )
    choices = [
        Paragraph(f"<font size=13>{BOX}</font>&nbsp;"
                  f"{_esc(_loc(choice.get('label'), lang))}", st.choice)
        for choice in item.get("choices") or ()
    ]
    if not choices:
        return [question, _RuledLines(1)]
    longest = max(len(_loc(c.get("label"), lang))
                  for c in item.get("choices") or ())
    ncols = 4 if longest <= 14 else 3 if longest <= 22 else 2
    rows = [choices[i:i + ncols] for i in range(0, len(choices), ncols)]
    rows[-1] += [""] * (ncols - len(rows[-1]))
    table = Table(rows, colWidths=[(CONTENT_W - 6 * mm) / ncols] * ncols,
                  hAlign="RIGHT")
    table.setStyle(TableStyle([
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 0),
        ("TOPPADDING", (0, 0), (-1, -1), 1),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
    ]))
    return [KeepTogether([question, table])]


def _text_block(item: Mapping, st: _Styles, labels: Mapping,
                lang: str) -> list[Flowable]:
    question = Paragraph(
        f"<b>{_esc(item.get('code', ''))}.</b> "
        f"{_esc(_loc(item.get('text'), lang))} "
        f"<font size=8>{_esc(labels['text'])}</font>",
        st.question,
    )
    return [KeepTogether([question, Spacer(1, 2 * mm),
                          _RuledLines(TEXT_LINES)])]


def _runs(items: Sequence[Mapping]) -> list[tuple[str, list[Mapping]]]:
    """Group consecutive items of the same type."""
    out: list[tuple[str, list[Mapping]]] = []
    for item in items:
        kind = item.get("type")
        if out and out[-1][0] == kind:
            out[-1][1].append(item)
        else:
            out.append((kind, [item]))
    return out


def _validate(definition: Mapping) -> None:
    if not isinstance(definition, Mapping) or not isinstance(
            definition.get("items"), list):
        raise ValueError("questionnaire definition must be a dict with 'items'")
    for item in definition["items"]:
        if item.get("type") not in ITEM_TYPES:
            raise ValueError(
                f"item {item.get('code')!r}: unsupported type "
                f"{item.get('type')!r} (expected one of {', '.join(ITEM_TYPES)})"
            )


def _questionnaire(definition: Mapping, st: _Styles, labels: Mapping,
                   lang: str) -> list[Flowable]:
    """Flowables for the questionnaire body (title, intro, groups, items)."""
    story: list[Flowable] = []
    title = _loc(definition.get("title"), lang)
    if title:
        story.append(Paragraph(_esc(title), st.title))
    intro = _loc(definition.get("intro"), lang)
    if intro:
        story.append(Paragraph(_esc(intro), st.body))
    story.append(Spacer(1, 2 * mm))
    items = definition["items"]
    if any(i.get("type") == "satisfaction" for i in items):
        legend = " · ".join(f"<b>{_esc(p.split(' ', 1)[0])}</b> "
                            f"{_esc(p.split(' ', 1)[1])}"
                            for p in labels["scale_legend"])
        legend_table = Table(
            [[Paragraph(f"<b>{_esc(labels['legend_title'])}:</b> {legend}<br/>"
                        f"{_esc(labels['how'])}", st.small)]],
            colWidths=[CONTENT_W],
        )
        legend_table.setStyle(TableStyle([
            ("BOX", (0, 0), (-1, -1), 0.6, colors.black),
            ("TOPPADDING", (0, 0), (-1, -1), 3),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
        ]))
        story.append(legend_table)
    else:
        story.append(Paragraph(_esc(labels["how"]), st.small))

    groups = list(definition.get("groups") or ())
    known = {g.get("code") for g in groups}
    sections: list[tuple[Mapping | None, list[Mapping]]] = [
        (g, [i for i in items if i.get("group") == g.get("code")])
        for g in groups
    ]
    orphans = [i for i in items if i.get("group") not in known]
    if orphans:
        sections.append((None, orphans))

    number = 0
    for group, group_items in sections:
        if not group_items:
            continue
        if group is not None:
            name = _loc(group.get("name"), lang) or str(group.get("code", ""))
            story.append(CondPageBreak(35 * mm))
            story.append(Paragraph(f"{_roman(number)}. {_esc(name)}",
                                   st.group))
            number += 1
        for kind, run in _runs(group_items):
            if kind == "satisfaction":
                story.append(_box_table(run, labels["scale"], 11 * mm, st,
                                        labels, lang))
            elif kind == "priority":
                story.append(Paragraph(_esc(labels["priority_hint"]),
                                       st.small))
                story.append(Spacer(1, 1.5 * mm))
                story.append(_box_table(run, labels["priority"], 19 * mm, st,
                                        labels, lang, header_font_size=8.5))
            elif kind == "text":
                for item in run:
                    story.extend(_text_block(item, st, labels, lang))
            else:
                for item in run:
                    story.extend(_choice_block(item, st, labels, lang))
            story.append(Spacer(1, 2 * mm))
    return story


def _recheck_block(st: _Styles, labels: Mapping) -> list[Flowable]:
    """The optional consent box and phone line a clerk keys with the answers (kept apart
    from them, for MTTQ's re-verification)."""
    line = Paragraph(
        f"<b>{_esc(labels['recheck'])}</b> <font size=13>{BOX}</font>"
        f"&nbsp;&nbsp;&nbsp;&nbsp;<b>{_esc(labels['recheck_phone'])}</b> "
        + "." * 48, st.body)
    table = Table([[line], [Paragraph(_esc(labels["recheck_note"]), st.small)]],
                  colWidths=[CONTENT_W])
    table.setStyle(TableStyle([
        ("BOX", (0, 0), (-1, -1), 0.6, colors.black),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]))
    return [Spacer(1, 3 * mm), KeepTogether([table])]


def _form_header(serial: str, url: str, agency_name: str,
                 campaign_name: str, st: _Styles, labels: Mapping) -> Table:
    """Serial, agency/campaign names and the form's own QR code."""
    qr = _QRCode(url, QR_SYMBOL)
    right_w = max(qr.size, 44 * mm)
    left = [
        Paragraph(f"{_esc(labels['serial'])}: "
                  f"<font name={st.bold} size=24>{_esc(serial)}</font>",
                  st.serial),
        Spacer(1, 2 * mm),
        Paragraph(f"<b>{_esc(agency_name)}</b>", st.header),
        Paragraph(_esc(campaign_name), st.header),
    ]
    right = [qr, Paragraph(_esc(labels["scan"]), st.caption)]
    table = Table([[left, right]], colWidths=[CONTENT_W - right_w, right_w])
    table.setStyle(TableStyle([
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("ALIGN", (1, 0), (1, 0), "CENTER"),
        ("LEFTPADDING", (0, 0), (-1, -1), 0),
        ("RIGHTPADDING", (0, 0), (-1, -1), 0),
        ("LINEBELOW", (0, 0), (-1, -1), 1.2, colors.black),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
    ]))
    return table


# -- public API --------------------------------------------------------------

def render_forms_pdf(definition: Mapping, forms: Iterable[tuple[str, str]], *,
                     agency_name: str, campaign_name: str,
                     lang: str = "vi", recheck: bool = True) -> bytes:
    """Render one printable questionnaire per ``(serial, url)`` pair.

    *definition* is a questionnaire dict (see ``data/sipas-2023.json``).
    Returns the bytes of a single A4 PDF; each form starts on a new page and
    its pages are numbered "Trang i/n" within the form. *recheck*: end with the
    optional consent box and phone line for MTTQ's re-verification call.
    """
    _validate(definition)
    forms = [(str(serial), str(url)) for serial, url in forms]
    if not forms:
        raise ValueError("no forms to render")
    labels = LABELS.get(lang, LABELS["vi"])
    st = _Styles()

    # Headers differ per form (serial, QR); size them first so the shared
    # body can leave room for the tallest one on page 1.
    headers = []
    for serial, url in forms:
        header = _form_header(serial, url, agency_name, campaign_name, st,
                              labels)
        _, height = header.wrap(CONTENT_W, PAGE_H)
        headers.append((serial, header, height))
    header_room = max(h for _, _, h in headers) + 3 * mm

    buf = io.BytesIO()
    canvas = _CaptureCanvas(buf, pagesize=A4, invariant=True,
                            pageCompression=1, initialFontName=st.regular)
    doc = SimpleDocTemplate(
        buf,
        pagesize=A4,
        leftMargin=MARGIN_X - FRAME_PADDING,
        rightMargin=MARGIN_X - FRAME_PADDING,
        topMargin=MARGIN_TOP - FRAME_PADDING,
        bottomMargin=MARGIN_BOTTOM - FRAME_PADDING,
        title=f"{_loc(definition.get('title'), lang)} – {campaign_name}",
        author=agency_name,
        invariant=True,
    )
    doc._doSave = 0  # the canvas is saved below, after the real pages
    canvas.start_capture("questionnaire-page-")
    body = [Spacer(CONTENT_W, header_room),
            *_questionnaire(definition, st, labels, lang),
            *(_recheck_block(st, labels) if recheck else [])]
    doc.build(body, canvasmaker=lambda *args, **kwargs: canvas)
    canvas.stop_capture()
    pages = list(canvas.captured)

    note = " ".join(f"{campaign_name} · {agency_name}".split())
    for serial, header, height in headers:
        for page_no, page in enumerate(pages, start=1):
            canvas.doForm(page)
            if page_no == 1:
                header.drawOn(canvas, MARGIN_X, PAGE_H - MARGIN_TOP - height)
            _draw_footer(canvas, st, labels, serial, page_no, len(pages), note)
            canvas.showPage()
    canvas.save()
    return buf.getvalue()


def forms_csv(forms: Iterable[tuple[str, str]]) -> str:
    """CSV text with a ``serial,url`` header and one row per form."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["serial", "url"])
    for serial, url in forms:
        writer.writerow([serial, url])
    return out.getvalue()
