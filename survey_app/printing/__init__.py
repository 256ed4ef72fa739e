"""Printable material for survey campaigns: QR codes, posters, paper forms.

Pure functions returning bytes/str that need no application or request, so both the
web views and the command line can use them.
"""

from .forms import forms_csv, render_forms_pdf
from .poster import render_poster
from .qr import ERROR_CORRECTION, qr_matrix, qr_png, qr_svg

__all__ = [
    "ERROR_CORRECTION",
    "forms_csv",
    "qr_matrix",
    "qr_png",
    "qr_svg",
    "render_forms_pdf",
    "render_poster",
]
