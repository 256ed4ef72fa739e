"""DejaVu Sans font lookup and lazy registration with reportlab.

Vietnamese needs a font with the full Latin Extended Additional block
(ạ, ế, ữ …); the PDF base-14 fonts do not have it.  DejaVu Sans does, is
free, and is almost always available: either from the system package
(``fonts-dejavu-core``) or as the copy matplotlib ships in its data dir.
"""

from __future__ import annotations

import functools
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


# --- A serif face for administrative documents ----------------------------------------------
#
# Decree 30/2020/NĐ-CP documents are set in Times New Roman. Liberation Serif has its metrics,
# but only version 2 has every Vietnamese letter (Debian bookworm's fonts-liberation is 1.07,
# without them; fonts-liberation2 is 2.1): a family is taken only when all four of its faces
# have them all. DejaVu Serif is next; without either the documents fall back to the DejaVu
# Sans registered above.

_LIBERATION = ("LiberationSerif-Regular.ttf", "LiberationSerif-Bold.ttf",
               "LiberationSerif-Italic.ttf", "LiberationSerif-BoldItalic.ttf")
SERIF_FACES = (
    ("SurveyLiberationSerif", Path("/usr/share/fonts/truetype/liberation2"), _LIBERATION),
    ("SurveyLiberationSerif", Path("/usr/share/fonts/truetype/liberation"), _LIBERATION),
    ("SurveyDejaVuSerif", SYSTEM_FONT_DIR,
     ("DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf", "DejaVuSerif-Italic.ttf",
      "DejaVuSerif-BoldItalic.ttf")),
)
#: every letter of Vietnamese: the precomposed Latin Extended Additional block's
#: Vietnamese part (U+1EA0–U+1EF9) and the letters outside it
VIETNAMESE = ("ÀÁÂÃÈÉÊÌÍÒÓÔÕÙÚÝàáâãèéêìíòóôõùúýĂăĐđĨĩŨũƠơƯư"
              + "".join(chr(c) for c in range(0x1EA0, 0x1EFA)))
_serif: tuple[str, str, str, str] | str | None = None  # "fallback": DejaVu Sans


def has_vietnamese(path: Path) -> bool:
    from reportlab.pdfbase.ttfonts import TTFontFile

    try:
        glyphs = TTFontFile(os.fspath(path)).charToGlyph
    except Exception:  # noqa: BLE001  (an unreadable font is simply not used)
        return False
    return all(ord(c) in glyphs for c in VIETNAMESE)


def find_serif_files(faces=SERIF_FACES) -> tuple[str, tuple[Path, ...]] | None:
    """The first serif family of `faces` whose four faces are on disk and have every
    Vietnamese letter."""
    for name, directory, files in faces:
        paths = tuple(directory / f for f in files)
        if all(p.is_file() for p in paths) and all(has_vietnamese(p) for p in paths):
            return name, paths
    return None


def register_serif() -> tuple[str, str, str, str]:
    """Register the document serif (regular, bold, italic, bold italic) once and return
    the four reportlab names; a family mapping makes `<b>`/`<i>` pick the right face.
    Falls back to DejaVu Sans (regular and bold, upright for italic)."""
    global _serif
    if _serif is not None:
        return _serif
    with _lock:
        if _serif is None:
            found = find_serif_files()
            if found is None:
                _serif = "fallback"
            else:
                _serif = _register_family(*found)
    if _serif == "fallback":
        regular, bold = register_fonts()
        _serif = (regular, bold, regular, bold)
    return _serif


def _register_family(family: str, paths: tuple[Path, ...]) -> tuple[str, str, str, str]:
    from reportlab.lib.fonts import addMapping
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    names = (family, f"{family}-Bold", f"{family}-Italic", f"{family}-BoldItalic")
    for name, path in zip(names, paths, strict=True):
        pdfmetrics.registerFont(TTFont(name, os.fspath(path)))
    for (bold, italic), name in zip(((0, 0), (1, 0), (0, 1), (1, 1)), names, strict=True):
        addMapping(family, bold, italic, name)
    return names


def missing_letters(text: str) -> list[str]:
    """The letters of `text` that DejaVu Sans (the forms' and posters' font) cannot draw:
    a language written with them cannot be printed (they would come out as empty boxes)."""
    glyphs = _charmap()
    return sorted({c for c in text if not c.isspace() and ord(c) not in glyphs})


@functools.cache
def _charmap() -> frozenset[int]:
    from reportlab.pdfbase.ttfonts import TTFontFile

    return frozenset(TTFontFile(os.fspath(font_paths()[0])).charToGlyph)
