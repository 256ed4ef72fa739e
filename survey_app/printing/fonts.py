"""DejaVu Sans font lookup and lazy registration with reportlab.

Vietnamese needs a font with the full Latin Extended Additional block
(ạ, ế, ữ …); the PDF base-14 fonts do not have it.  DejaVu Sans does, is
free, and is almost always available: either from the system package
(``fonts-dejavu-core``) or as the copy matplotlib ships in its data dir.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from pathlib import Path

SYSTEM_FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
REGULAR_FILE = "DejaVuSans.ttf"
BOLD_FILE = "DejaVuSans-Bold.ttf"

# Names under which the fonts are registered with reportlab.
FONT = "SurveyDejaVuSans"
FONT_BOLD = "SurveyDejaVuSans-Bold"

_lock = threading.Lock()
_registered = False
_paths: tuple[Path, Path] | None = None


def _matplotlib_font_dir() -> Path | None:
    """Matplotlib's bundled font dir, found without importing matplotlib.

    Importing matplotlib may try to create a config/cache directory and warn
    when $HOME is not writable (which breaks ``-W error`` runs), so locate the
    package on disk first and only fall back to ``get_data_path()``.
    """
    try:
        spec = importlib.util.find_spec("matplotlib")
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    for location in spec.submodule_search_locations or ():
        candidate = Path(location) / "mpl-data" / "fonts" / "ttf"
        if candidate.is_dir():
            return candidate
    try:  # unusual layout: ask matplotlib itself
        import matplotlib

        return Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    except Exception:  # pragma: no cover - depends on the install
        return None


def find_font_files(system_dir: Path | str | None = None) -> tuple[Path, Path]:
    """Return ``(regular, bold)`` DejaVu Sans TTF paths.

    Prefers *system_dir* (default: Debian's dejavu dir), then matplotlib's
    copies.  Raises ``RuntimeError`` if neither is available.
    """
    dirs = [Path(system_dir) if system_dir is not None else SYSTEM_FONT_DIR]
    mpl_dir = _matplotlib_font_dir()
    if mpl_dir is not None:
        dirs.append(mpl_dir)
    for directory in dirs:
        regular, bold = directory / REGULAR_FILE, directory / BOLD_FILE
        if regular.is_file() and bold.is_file():
            return regular, bold
    raise RuntimeError(
        "DejaVu Sans not found (looked in "
        + ", ".join(os.fspath(d) for d in dirs)
        + "); install fonts-dejavu-core or matplotlib"
    )


def font_paths() -> tuple[Path, Path]:
    """Cached :func:`find_font_files` result, for Pillow's ``ImageFont``."""
    global _paths
    if _paths is None:
        _paths = find_font_files()
    return _paths


def register_fonts() -> tuple[str, str]:
    """Register DejaVu Sans (regular + bold) with reportlab once.

    Returns the ``(regular, bold)`` reportlab font names.  Also registers a
    font family so ``<b>`` in platypus paragraphs picks the bold face.
    """
    global _registered
    if _registered:
        return FONT, FONT_BOLD
    with _lock:
        if not _registered:
            from reportlab.lib.fonts import addMapping
            from reportlab.pdfbase import pdfmetrics
            from reportlab.pdfbase.ttfonts import TTFont

            regular, bold = font_paths()
            pdfmetrics.registerFont(TTFont(FONT, os.fspath(regular)))
            pdfmetrics.registerFont(TTFont(FONT_BOLD, os.fspath(bold)))
            # No oblique face registered: italic falls back to upright.
            addMapping(FONT, 0, 0, FONT)
            addMapping(FONT, 1, 0, FONT_BOLD)
            addMapping(FONT, 0, 1, FONT)
            addMapping(FONT, 1, 1, FONT_BOLD)
            _registered = True
    return FONT, FONT_BOLD
