"""A4 portrait poster inviting citizens to scan a QR code and answer.

One layout (computed in millimetres with reportlab's font metrics for DejaVu
Sans) is drawn by three back ends: reportlab canvas (PDF), Pillow (PNG,
150 dpi) and hand-built SVG, so all formats look alike.
"""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from . import fonts
from .qr import DEFAULT_BORDER, dark_runs, qr_matrix, svg_path_d

FORMATS = ("pdf", "png", "svg")

TITLE = "Khảo sát sự hài lòng của người dân"
INSTRUCTIONS = (
    "1. Mở camera điện thoại, quét mã QR.",
    "2. Trả lời khoảng 2 phút. Phiếu không ghi tên.",
)
SHORT_URL_LABEL = "Hoặc nhập địa chỉ:"
#: The poster's words by key, as a questionnaire's translation names them ("poster.<key>").
WORDS = {"title": TITLE, "scan": INSTRUCTIONS[0], "time": INSTRUCTIONS[1],
         "url": SHORT_URL_LABEL}

PAGE_W_MM, PAGE_H_MM = 210.0, 297.0
MARGIN_MM = 15.0
QR_SYMBOL_MM = 120.0  # width of the dark symbol, without the quiet zone
QR_MIN_SYMBOL_MM = 80.0  # shrink down to this if long names need the room
PNG_DPI = 150

PT_MM = 25.4 / 72.0  # one typographic point in mm
LEADING = 1.22  # line height / font size


@dataclass(frozen=True)
class _Line:
    text: str
    bold: bool
    size_pt: float
    baseline_mm: float  # from the top of the page; centred horizontally


@dataclass(frozen=True)
class _Layout:
    lines: tuple[_Line, ...]
    matrix: list[list[bool]]  # including quiet zone
    qr_x_mm: float  # top-left of the matrix (quiet zone included)
    qr_y_mm: float
    module_mm: float


def _width_mm(text: str, bold: bool, size_pt: float) -> float:
    from reportlab.pdfbase.pdfmetrics import stringWidth

    regular, bold_name = fonts.register_fonts()
    return stringWidth(text, bold_name if bold else regular, size_pt) * PT_MM


def _wrap(text: str, bold: bool, size_pt: float, width_mm: float) -> list[str]:
    """Greedy word wrap; a single over-long word stays on its own line."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}" if current else word
        if current and _width_mm(candidate, bold, size_pt) > width_mm:
            lines.append(current)
            current = word
        else:
            current = candidate
    if current:
        lines.append(current)
    return lines or [""]


def _fit(text: str, bold: bool, max_pt: float, min_pt: float,
         width_mm: float, max_lines: int) -> tuple[float, list[str]]:
    """Largest size in [min_pt, max_pt] at which *text* wraps into max_lines
    lines that all fit *width_mm*; at min_pt, single words are shrunk."""
    size = max_pt
    while True:
        lines = _wrap(text, bold, size, width_mm)
        widest = max(_width_mm(ln, bold, size) for ln in lines)
        if len(lines) <= max_lines and widest <= width_mm:
            return size, lines
        if size <= min_pt:
            if widest > width_mm:  # e.g. a very long URL without spaces
                size = max(4.0, size * width_mm / widest)
            return size, lines
        size = max(min_pt, size - 1)


def _layout(agency_name: str, campaign_name: str, url: str,
            short_url: str, words: dict[str, str] = WORDS) -> _Layout:
    text_w = PAGE_W_MM - 2 * MARGIN_MM
    blocks_top = [  # (text, bold, max_pt, min_pt, max_lines, space_after_mm)
        (words["title"], True, 28, 20, 1, 4),
        (agency_name, True, 20, 12, 3, 2),
        (campaign_name, False, 16, 10, 3, 0),
    ]
    blocks_bottom = [
        (words["scan"], False, 16, 10, 2, 1),
        (words["time"], False, 16, 10, 2, 5),
        (words["url"], False, 13, 10, 1, 1),
        (short_url, True, 30, 14, 1, 0),
    ]

    def fitted(blocks):
        out = []
        for text, bold, max_pt, min_pt, max_lines, after in blocks:
            text = " ".join(str(text).split())
            if not text:
                continue
            size, lines = _fit(text, bold, max_pt, min_pt, text_w, max_lines)
            out.append((lines, bold, size, after))
        return out

    def height(fitted_blocks):
        return sum(len(lines) * size * LEADING * PT_MM + after
                   for lines, _, size, after in fitted_blocks)

    top, bottom = fitted(blocks_top), fitted(blocks_bottom)
    matrix = qr_matrix(url, border=DEFAULT_BORDER)
    n_total = len(matrix)
    n_symbol = n_total - 2 * DEFAULT_BORDER
    # The quiet zone is white paper: it may overlap the gaps around it.
    available = PAGE_H_MM - 2 * MARGIN_MM - height(top) - height(bottom) - 8
    module = QR_SYMBOL_MM / n_symbol
    if module * n_total > available:
        module = max(QR_MIN_SYMBOL_MM / n_symbol, available / n_total)
    qr_size = module * n_total

    lines: list[_Line] = []
    y = MARGIN_MM

    def place(fitted_blocks, y):
        for block_lines, bold, size, after in fitted_blocks:
            line_h = size * LEADING * PT_MM
            for text in block_lines:
                # Baseline sits ~80 % down the line box (DejaVu ascent .93em).
                lines.append(_Line(text, bold, size, y + line_h * 0.8))
                y += line_h
            y += after
        return y

    y = place(top, y)
    free = PAGE_H_MM - MARGIN_MM - y - height(bottom)
    qr_y = y + max(0.0, (free - qr_size) / 2)
    place(bottom, qr_y + qr_size)
    return _Layout(
        lines=tuple(lines),
        matrix=matrix,
        qr_x_mm=(PAGE_W_MM - qr_size) / 2,
        qr_y_mm=qr_y,
        module_mm=module,
    )


# -- back ends ---------------------------------------------------------------

def _render_pdf(layout: _Layout, title: str) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.pdfgen.canvas import Canvas

    regular, bold = fonts.register_fonts()
    buf = io.BytesIO()
    c = Canvas(buf, pagesize=A4, invariant=True, pageCompression=1,
               initialFontName=regular)
    c.setTitle(title)
    c.setAuthor("survey_app")
    page_h = A4[1]
    for line in layout.lines:
        c.setFont(bold if line.bold else regular, line.size_pt)
        c.drawCentredString(A4[0] / 2, page_h - line.baseline_mm * mm, line.text)

    m = layout.module_mm * mm
    x0 = layout.qr_x_mm * mm
    y0 = page_h - layout.qr_y_mm * mm
    c.setFillColorRGB(0, 0, 0)
    path = c.beginPath()
    for row, col, length in dark_runs(layout.matrix):
        path.rect(x0 + col * m, y0 - (row + 1) * m, length * m, m)
    c.drawPath(path, stroke=0, fill=1)
    c.showPage()
    c.save()
    return buf.getvalue()


def _render_png(layout: _Layout) -> bytes:
    from PIL import Image, ImageDraw, ImageFont

    px_per_mm = PNG_DPI / 25.4
    width = round(PAGE_W_MM * px_per_mm)  # 1240
    height = round(PAGE_H_MM * px_per_mm)  # 1754
    img = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(img)
    regular_path, bold_path = fonts.font_paths()
    cache: dict[tuple[bool, int], ImageFont.FreeTypeFont] = {}
    for line in layout.lines:
        size_px = max(1, round(line.size_pt * PNG_DPI / 72))
        key = (line.bold, size_px)
        if key not in cache:
            cache[key] = ImageFont.truetype(
                str(bold_path if line.bold else regular_path), size_px
            )
        draw.text((width / 2, line.baseline_mm * px_per_mm), line.text,
                  fill=0, font=cache[key], anchor="ms")

    # Whole pixels per module keep the bitmap code crisp.
    n = len(layout.matrix)
    box = max(1, int(layout.module_mm * px_per_mm))
    centre_x = (layout.qr_x_mm + layout.module_mm * n / 2) * px_per_mm
    centre_y = (layout.qr_y_mm + layout.module_mm * n / 2) * px_per_mm
    left = round(centre_x - box * n / 2)
    top = round(centre_y - box * n / 2)
    for row, col, length in dark_runs(layout.matrix):
        x = left + col * box
        y = top + row * box
        draw.rectangle((x, y, x + length * box - 1, y + box - 1), fill=0)

    buf = io.BytesIO()
    img.save(buf, format="PNG", dpi=(PNG_DPI, PNG_DPI), optimize=True)
    return buf.getvalue()


def _render_svg(layout: _Layout, title: str) -> bytes:
    svg = ET.Element("svg", {
        "xmlns": "http://www.w3.org/2000/svg",
        "version": "1.1",
        "width": f"{PAGE_W_MM:g}mm",
        "height": f"{PAGE_H_MM:g}mm",
        "viewBox": f"0 0 {PAGE_W_MM:g} {PAGE_H_MM:g}",
    })
    ET.SubElement(svg, "title").text = title
    ET.SubElement(svg, "rect", {
        "x": "0", "y": "0", "width": f"{PAGE_W_MM:g}",
        "height": f"{PAGE_H_MM:g}", "fill": "#ffffff",
    })
    texts = ET.SubElement(svg, "g", {
        "font-family": "'DejaVu Sans', Verdana, Arial, sans-serif",
        "text-anchor": "middle",
        "fill": "#000000",
    })
    for line in layout.lines:
        attrs = {
            "x": f"{PAGE_W_MM / 2:g}",
            "y": f"{line.baseline_mm:.2f}",
            "font-size": f"{line.size_pt * PT_MM:.2f}",
        }
        if line.bold:
            attrs["font-weight"] = "bold"
        # ElementTree escapes &, < and > in text content.
        ET.SubElement(texts, "text", attrs).text = line.text
    ET.SubElement(svg, "path", {
        "d": svg_path_d(layout.matrix),
        "fill": "#000000",
        "shape-rendering": "crispEdges",
        "transform": (f"translate({layout.qr_x_mm:.3f} {layout.qr_y_mm:.3f}) "
                      f"scale({layout.module_mm:.4f})"),
    })
    return ET.tostring(svg, encoding="utf-8", xml_declaration=True)


def render_poster(*, agency_name: str, campaign_name: str, url: str,
                  short_url: str, fmt: str, words: dict[str, str] | None = None) -> bytes:
    """Render the campaign poster as ``fmt`` ∈ {"pdf", "png", "svg"}.

    A4 portrait: Vietnamese title, agency and campaign names, a ~12 cm QR
    code of *url*, two instruction lines and *short_url* in large type for
    people who type it in by hand.  Returns the file's bytes.  *words*: the
    poster's words (`WORDS`' keys) in another language, where given.
    """
    fmt_key = fmt.lower() if isinstance(fmt, str) else fmt
    if fmt_key not in FORMATS:
        raise ValueError(
            f"unknown poster format {fmt!r}; expected one of {', '.join(FORMATS)}"
        )
    words = {**WORDS, **(words or {})}
    layout = _layout(agency_name, campaign_name, url, short_url, words)
    title = f"{words['title']} – {agency_name}"
    if fmt_key == "pdf":
        return _render_pdf(layout, title)
    if fmt_key == "png":
        return _render_png(layout)
    return _render_svg(layout, title)
