"""QR codes for survey links, as PNG, SVG or a plain module matrix.

Everything is generated in memory (no temp files).  The matrix form is what
the poster and paper-form renderers draw from, so every output (PDF vector
rectangles, Pillow bitmap, SVG path) encodes exactly the same symbol.
"""

from __future__ import annotations

import io

import qrcode
import qrcode.constants
import qrcode.image.svg

# Level Q restores up to ~25 % damaged codewords: posters get folded, wet,
# scratched and photographed at an angle, paper forms get crumpled.  Level H
# (30 %) would need a noticeably denser symbol for the same URL, which cheap
# phone cameras read less reliably from arm's length; M (15 %) is too little
# margin for printed matter.
ERROR_CORRECTION = qrcode.constants.ERROR_CORRECT_Q

# The QR spec asks for a 4-module quiet zone around the symbol.
DEFAULT_BORDER = 4


def make_qr(url: str, *, box_size: int = 10, border: int = DEFAULT_BORDER,
            error_correction: int = ERROR_CORRECTION) -> qrcode.QRCode:
    """A fitted :class:`qrcode.QRCode` for *url* (smallest version that fits)."""
    if not isinstance(url, str) or not url:
        raise ValueError("QR code data must be a non-empty string")
    qr = qrcode.QRCode(
        version=None,
        error_correction=error_correction,
        box_size=box_size,
        border=border,
    )
    qr.add_data(url)
    qr.make(fit=True)
    return qr


def qr_matrix(url: str, border: int = DEFAULT_BORDER) -> list[list[bool]]:
    """The QR symbol for *url* as rows of booleans (True = dark module).

    Includes a quiet zone of *border* light modules on every side, so the
    matrix is square with ``len(matrix) == symbol_size + 2 * border``.
    """
    return make_qr(url, border=border).get_matrix()


def dark_runs(matrix: list[list[bool]]) -> list[tuple[int, int, int]]:
    """Horizontal runs of dark modules as ``(row, col, length)`` tuples.

    Drawing runs instead of single modules keeps vector output small and
    avoids hairline gaps between neighbouring modules in PDF/SVG viewers.
    """
    runs = []
    for y, row in enumerate(matrix):
        x, n = 0, len(row)
        while x < n:
            if row[x]:
                start = x
                while x < n and row[x]:
                    x += 1
                runs.append((y, start, x - start))
            else:
                x += 1
    return runs


def svg_path_d(matrix: list[list[bool]]) -> str:
    """SVG path data drawing *matrix*, one user unit per module."""
    return "".join(f"M{x} {y}h{w}v1h-{w}z" for y, x, w in dark_runs(matrix))


def qr_image(url: str, box_size: int = 10, border: int = DEFAULT_BORDER):
    """A Pillow image (mode "1") of the QR code for *url*."""
    return make_qr(url, box_size=box_size, border=border).make_image(
        fill_color="black", back_color="white"
    ).get_image()


def qr_png(url: str, box_size: int = 10, border: int = DEFAULT_BORDER) -> bytes:
    """PNG bytes of the QR code for *url*; *box_size* pixels per module."""
    buf = io.BytesIO()
    qr_image(url, box_size=box_size, border=border).save(buf, format="PNG")
    return buf.getvalue()


def qr_svg(url: str) -> bytes:
    """A standalone SVG document (UTF-8 bytes, with XML declaration).

    Uses qrcode's single-path SVG factory with a white background, so the
    code stays readable when placed on a coloured page.  Sized in mm (the
    default box size gives 1 mm per module).
    """
    img = make_qr(url).make_image(
        image_factory=qrcode.image.svg.SvgPathFillImage
    )
    buf = io.BytesIO()
    img.save(buf)
    return buf.getvalue()
