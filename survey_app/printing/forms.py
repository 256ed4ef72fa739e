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
from collections.abc import Iterable, Mapping

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from ..wording import Wording, said
from .body import (
    BOX,
    CONTENT_W,
    MARGIN_X,
    PAGE_H,
    PAGE_W,
    Styles,
    esc,
    loc,
    questionnaire,
    validate,
)
from .qr import DEFAULT_BORDER, dark_runs, qr_matrix

FRAME_PADDING = 6  # platypus frames pad their content by 6 pt on each side
MARGIN_TOP = 14 * mm
MARGIN_BOTTOM = 18 * mm  # room for the footer
QR_SYMBOL = 36 * mm  # dark part; the quiet zone comes on top (~4 cm total)

#: The form's own words; what a question type prints comes from the type's label table.
LABELS: dict[str, dict[str, object]] = {
    "vi": {
        "serial": "Số phiếu",
        "page": "Trang {i}/{n}",
        "scan": "Quét mã để trả lời trực tuyến (mỗi mã chỉ dùng một lần)",
        "how": "Cách đánh dấu: đánh dấu \u2713 hoặc \u2717 vào một ô phù hợp.",
        "code": "Mã",
        "content": "Nội dung",
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
        "code": "Code",
        "content": "Item",
        "recheck": "I agree that MTTQ may call me to check this form:",
        "recheck_phone": "Phone:",
        "recheck_note": "Optional. The number is kept apart from the answers, seen only by "
                        "MTTQ auditors and erased after the check.",
    },
}


def printed_words(lang: str) -> Mapping:
    """The form's own words in `lang`: a loaded translation's where it gives them
    ("print.<key>"), else Vietnamese; English from the table above."""
    if lang in LABELS and not isinstance(lang, Wording):
        return LABELS[lang]
    return {key: said(lang, "", f"print.{key}") or text for key, text in LABELS["vi"].items()}


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


def _draw_footer(c: Canvas, st: Styles, labels: Mapping, serial: str,
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


def _recheck_block(st: Styles, labels: Mapping) -> list[Flowable]:
    """The optional consent box and phone line a clerk keys with the answers (kept apart
    from them, for MTTQ's re-verification)."""
    line = Paragraph(
        f"<b>{esc(labels['recheck'])}</b> <font size=13>{BOX}</font>"
        f"&nbsp;&nbsp;&nbsp;&nbsp;<b>{esc(labels['recheck_phone'])}</b> "
        + "." * 48, st.body)
    table = Table([[line], [Paragraph(esc(labels["recheck_note"]), st.small)]],
                  colWidths=[CONTENT_W])
    table.setStyle(TableStyle([
        ("BOX", (0, 0), (-1, -1), 0.6, colors.black),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]))
    return [Spacer(1, 3 * mm), KeepTogether([table])]


def _form_header(serial: str, url: str, agency_name: str,
                 campaign_name: str, st: Styles, labels: Mapping) -> Table:
    """Serial, agency/campaign names and the form's own QR code."""
    qr = _QRCode(url, QR_SYMBOL)
    right_w = max(qr.size, 44 * mm)
    left = [
        Paragraph(f"{esc(labels['serial'])}: "
                  f"<font name={st.bold} size=24>{esc(serial)}</font>",
                  st.serial),
        Spacer(1, 2 * mm),
        Paragraph(f"<b>{esc(agency_name)}</b>", st.header),
        Paragraph(esc(campaign_name), st.header),
    ]
    right = [qr, Paragraph(esc(labels["scan"]), st.caption)]
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
    validate(definition)
    forms = [(str(serial), str(url)) for serial, url in forms]
    if not forms:
        raise ValueError("no forms to render")
    labels = printed_words(lang)
    st = Styles()

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
        title=f"{said(lang, '', 'title') or loc(definition.get('title'), lang)} – {campaign_name}",
        author=agency_name,
        invariant=True,
    )
    doc._doSave = 0  # the canvas is saved below, after the real pages
    canvas.start_capture("questionnaire-page-")
    body = [Spacer(CONTENT_W, header_room),
            *questionnaire(definition, st, labels, lang),
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
