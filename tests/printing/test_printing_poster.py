"""The campaign poster in PDF, PNG and SVG."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PIL import Image

from survey_app.printing import poster, qr_matrix, render_poster

URL = "https://khaosat.example.gov.vn/s/hb-2024-q3?src=poster"
SHORT_URL = "ks.gov.vn/hb24"
AGENCY = "UBND phường Hàng Bạc & <Bộ phận một cửa>"
CAMPAIGN = "Khảo sát quý III/2024 – Tiếp nhận hồ sơ"
SVG_NS = "{http://www.w3.org/2000/svg}"


def poster_bytes(fmt: str, **overrides) -> bytes:
    kwargs = dict(agency_name=AGENCY, campaign_name=CAMPAIGN, url=URL,
                  short_url=SHORT_URL, fmt=fmt)
    kwargs.update(overrides)
    return render_poster(**kwargs)


def need(tool: str, package: str) -> None:
    if not shutil.which(tool):
        pytest.skip(f"{tool} not installed (apt-get install {package})")


def zbar_decode(png: Path) -> list[str]:
    need("zbarimg", "zbar-tools")
    result = subprocess.run(["zbarimg", "--raw", "-q", str(png)],
                            capture_output=True, text=True, check=False)
    assert result.returncode in (0, 4), result.stderr  # 4 = no symbol found
    return result.stdout.splitlines()


def pdf_page1_png(pdf: bytes, tmp_path: Path) -> Path:
    need("pdftoppm", "poppler-utils")
    src = tmp_path / "poster.pdf"
    src.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "150", "-png", "-f", "1", "-l", "1",
                    str(src), str(tmp_path / "page")], check=True,
                   capture_output=True)
    (png,) = tmp_path.glob("page-*.png")
    return png


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    need("pdftotext", "poppler-utils")
    src = tmp_path / "text.pdf"
    src.write_bytes(pdf)
    out = subprocess.run(["pdftotext", "-enc", "UTF-8", str(src), "-"],
                         check=True, capture_output=True).stdout
    return " ".join(out.decode("utf-8").split())


def test_pdf_qr_decodes_to_exact_url(tmp_path):
    pdf = poster_bytes("pdf")
    assert pdf.startswith(b"%PDF")
    assert zbar_decode(pdf_page1_png(pdf, tmp_path)) == [URL]


def test_pdf_is_one_a4_page_with_vietnamese_text_and_embedded_font(tmp_path):
    need("pdfinfo", "poppler-utils")
    pdf = poster_bytes("pdf")
    src = tmp_path / "p.pdf"
    src.write_bytes(pdf)
    info = subprocess.run(["pdfinfo", str(src)], check=True,
                          capture_output=True, text=True).stdout
    assert re.search(r"^Pages:\s+1$", info, re.M)
    assert "595.276 x 841.89" in info or "(A4)" in info
    fonts = subprocess.run(["pdffonts", str(src)], check=True,
                           capture_output=True, text=True).stdout
    assert "DejaVuSans" in fonts
    assert "Helvetica" not in fonts  # base-14 fonts cannot show Vietnamese
    text = pdf_text(pdf, tmp_path)
    for expected in (poster.TITLE, AGENCY, CAMPAIGN, SHORT_URL,
                     *poster.INSTRUCTIONS):
        assert expected in text


def qr_box_cm(png: Path) -> tuple[float, float]:
    """Width and height (cm, at 150 dpi) of the QR symbol on a page image.

    Only the QR code has long horizontal dark runs (the finder patterns are
    7 modules wide); letters never do.  The runs' extent is the symbol box.
    """
    img = Image.open(png).convert("L")
    width, height = img.size
    data = img.tobytes()
    min_run = 80  # px; a finder pattern edge is ~130 px, text strokes < 20
    xs, ys = [], []
    for y in range(height):
        row = data[y * width:(y + 1) * width]
        for m in re.finditer(rb"[\x00-\x7f]{%d,}" % min_run, row):
            xs += [m.start(), m.end()]
            ys.append(y)
    assert xs, "no QR-like dark runs found"
    return ((max(xs) - min(xs)) / 150 * 2.54, (max(ys) + 1 - min(ys)) / 150 * 2.54)


def test_pdf_qr_is_about_12_cm(tmp_path):
    w, h = qr_box_cm(pdf_page1_png(poster_bytes("pdf"), tmp_path))
    assert 11.5 <= w <= 12.5 and 11.5 <= h <= 12.5, (w, h)


def test_png_is_a4_at_150_dpi_and_qr_decodes(tmp_path):
    data = poster_bytes("png")
    img = Image.open(io.BytesIO(data))
    assert img.format == "PNG"
    assert img.size == (1240, 1754)
    assert round(img.info["dpi"][0]) == 150
    path = tmp_path / "poster.png"
    path.write_bytes(data)
    assert zbar_decode(path) == [URL]
    w, h = qr_box_cm(path)
    assert 11.5 <= w <= 12.5 and 11.5 <= h <= 12.5, (w, h)


def test_svg_is_a4_xml_with_escaped_text():
    data = poster_bytes("svg")
    root = ET.fromstring(data)  # raises if & or < were not escaped
    assert root.tag == f"{SVG_NS}svg"
    assert root.get("viewBox") == "0 0 210 297"
    assert (root.get("width"), root.get("height")) == ("210mm", "297mm")
    texts = [t.text for t in root.iter(f"{SVG_NS}text")]
    assert SHORT_URL in texts
    assert poster.TITLE in texts
    assert any("&" in t and "<" in t for t in texts)
    assert " ".join(texts).count("Hàng Bạc") == 1
    raw = data.decode("utf-8")
    assert "Hàng Bạc &amp; &lt;Bộ phận một cửa&gt;" in raw
    assert "& <" not in raw


def test_svg_qr_path_encodes_the_url_matrix():
    root = ET.fromstring(poster_bytes("svg"))
    (path,) = [p for p in root.iter(f"{SVG_NS}path")]
    expected = qr_matrix(URL)
    got = [[False] * len(expected) for _ in expected]
    for x, y, w in re.findall(r"M(\d+) (\d+)h(\d+)v1h-\3z", path.get("d")):
        for col in range(int(x), int(x) + int(w)):
            got[int(y)][col] = True
    assert got == expected
    assert path.get("transform").startswith("translate(")


def test_long_names_still_fit_and_scan(tmp_path):
    agency = ("Trung tâm Phục vụ hành chính công tỉnh Bà Rịa – Vũng Tàu, "
              "Văn phòng Ủy ban nhân dân tỉnh, chi nhánh thành phố Vũng Tàu")
    campaign = "Đợt khảo sát định kỳ " * 6
    pdf = poster_bytes("pdf", agency_name=agency, campaign_name=campaign)
    assert zbar_decode(pdf_page1_png(pdf, tmp_path)) == [URL]
    text = pdf_text(pdf, tmp_path)
    assert " ".join(agency.split()) in text
    assert SHORT_URL in text


@pytest.mark.parametrize("fmt", ["jpeg", "", "PDFX", None])
def test_unknown_format_raises_value_error(fmt):
    with pytest.raises(ValueError, match="unknown poster format"):
        poster_bytes(fmt)
