"""QR helpers, font lookup and package hygiene for survey_app.printing."""

from __future__ import annotations

import ast
import io
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import qrcode.constants
from PIL import Image

from survey_app.printing import fonts, qr, qr_matrix, qr_png, qr_svg

URL = "https://khaosat.example.gov.vn/s/sipas-2024?ref=qr&lang=vi"
PACKAGE_DIR = Path(qr.__file__).resolve().parent


def zbar_decode(png: Path) -> list[str]:
    if not shutil.which("zbarimg"):
        pytest.skip("zbarimg not installed (apt-get install zbar-tools)")
    result = subprocess.run(["zbarimg", "--raw", "-q", str(png)],
                            capture_output=True, text=True, check=False)
    assert result.returncode in (0, 4), result.stderr  # 4 = no symbol found
    return result.stdout.splitlines()


def test_error_correction_defaults_to_q():
    assert qr.ERROR_CORRECTION == qrcode.constants.ERROR_CORRECT_Q
    assert qr.make_qr(URL).error_correction == qrcode.constants.ERROR_CORRECT_Q


def test_qr_png_decodes_to_exact_url(tmp_path):
    path = tmp_path / "qr.png"
    path.write_bytes(qr_png(URL))
    assert zbar_decode(path) == [URL]


def test_qr_png_size_follows_box_size_and_border():
    matrix = qr_matrix(URL, border=2)
    img = Image.open(io.BytesIO(qr_png(URL, box_size=3, border=2)))
    assert img.format == "PNG"
    assert img.size == (len(matrix) * 3, len(matrix) * 3)


def test_qr_matrix_has_quiet_zone_and_decodes(tmp_path):
    matrix = qr_matrix(URL)
    n = len(matrix)
    assert all(len(row) == n for row in matrix)
    border = qr.DEFAULT_BORDER
    for i in range(border):
        assert not any(matrix[i]) and not any(matrix[n - 1 - i])
        assert not any(row[i] or row[n - 1 - i] for row in matrix)
    # The matrix is what posters and forms draw: it must scan on its own.
    img = Image.new("L", (n, n), 255)
    img.putdata([0 if cell else 255 for row in matrix for cell in row])
    path = tmp_path / "matrix.png"
    img.resize((n * 6, n * 6), Image.Resampling.NEAREST).save(path)
    assert zbar_decode(path) == [URL]


def test_dark_runs_and_svg_path_cover_matrix_exactly():
    matrix = qr_matrix(URL)
    rebuilt = [[False] * len(matrix) for _ in matrix]
    for row, col, length in qr.dark_runs(matrix):
        assert length > 0
        for x in range(col, col + length):
            assert not rebuilt[row][x]
            rebuilt[row][x] = True
    assert rebuilt == matrix
    assert qr.svg_path_d(matrix).count("M") == len(qr.dark_runs(matrix))


def test_qr_svg_is_standalone_document():
    data = qr_svg(URL)
    assert data.startswith(b"<?xml")
    root = ET.fromstring(data)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert root.get("viewBox")
    paths = root.findall("{http://www.w3.org/2000/svg}path")
    assert len(paths) == 1 and paths[0].get("d")


def test_qr_rejects_empty_data():
    with pytest.raises(ValueError):
        qr_png("")


def test_font_lookup_prefers_given_dir_then_matplotlib(tmp_path):
    (tmp_path / "DejaVuSans.ttf").write_bytes(b"x")
    (tmp_path / "DejaVuSans-Bold.ttf").write_bytes(b"x")
    assert fonts.find_font_files(tmp_path) == (
        tmp_path / "DejaVuSans.ttf", tmp_path / "DejaVuSans-Bold.ttf")

    empty = tmp_path / "empty"
    empty.mkdir()
    regular, bold = fonts.find_font_files(empty)  # falls back to matplotlib
    assert regular.name == "DejaVuSans.ttf" and bold.name == "DejaVuSans-Bold.ttf"
    assert "matplotlib" in str(regular) and regular.is_file() and bold.is_file()


def test_font_lookup_fails_clearly(tmp_path, monkeypatch):
    monkeypatch.setattr(fonts, "_matplotlib_font_dir", lambda: None)
    with pytest.raises(RuntimeError, match="DejaVu Sans not found"):
        fonts.find_font_files(tmp_path)


def test_printing_package_does_not_import_flask():
    for path in PACKAGE_DIR.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            assert not any(n.split(".")[0] == "flask" for n in names), path.name
