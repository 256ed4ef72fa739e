"""Numbered paper forms (PDF) and their CSV manifest."""

from __future__ import annotations

import csv
import functools
import io
import json
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from PIL import Image

from survey_app.printing import forms_csv, render_forms_pdf
from survey_app.questions import PRIORITY_LABELS

DEFINITION_PATH = (Path(__file__).resolve().parents[2]
                   / "survey_app" / "data" / "sipas-2023.json")
AGENCY = "UBND xã Tân Lập & <Trung tâm một cửa>"
CAMPAIGN = "Khảo sát quý IV/2024"
FORMS = [
    ("TL24-0001", "https://khaosat.example.gov.vn/f/7K3P9QX2M4ZT8WA1"),
    ("TL24-0002", "https://khaosat.example.gov.vn/f/B8N2C5R7Y1JQ4HD6"),
    ("TL24-0003", "https://khaosat.example.gov.vn/f/Z0L9K8J7H6G5F4E3"),
]


def definition() -> dict:
    return json.loads(DEFINITION_PATH.read_text(encoding="utf-8"))


def satisfaction_codes() -> list[str]:
    return [i["code"] for i in definition()["items"] if i["type"] == "satisfaction"]


@functools.cache
def batch_pdf() -> bytes:
    return render_forms_pdf(definition(), FORMS, agency_name=AGENCY,
                            campaign_name=CAMPAIGN)


def need(tool: str, package: str) -> None:
    if not shutil.which(tool):
        pytest.skip(f"{tool} not installed (apt-get install {package})")


def page_texts(pdf: bytes, tmp_path: Path) -> list[str]:
    """Whitespace-normalised text of every page, via pdftotext."""
    need("pdftotext", "poppler-utils")
    src = tmp_path / "forms.pdf"
    src.write_bytes(pdf)
    out = subprocess.run(["pdftotext", "-enc", "UTF-8", str(src), "-"],
                         check=True, capture_output=True).stdout.decode("utf-8")
    pages = out.split("\f")
    if pages and not pages[-1].strip():
        pages.pop()  # pdftotext ends every page with a form feed
    return [" ".join(p.split()) for p in pages]


def page_pngs(pdf: bytes, tmp_path: Path) -> list[Path]:
    need("pdftoppm", "poppler-utils")
    src = tmp_path / "forms.pdf"
    src.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "150", "-png", str(src),
                    str(tmp_path / "page")], check=True, capture_output=True)
    return sorted(tmp_path.glob("page-*.png"),
                  key=lambda p: int(p.stem.rsplit("-", 1)[1]))


def zbar_decode(png: Path) -> list[str]:
    need("zbarimg", "zbar-tools")
    result = subprocess.run(["zbarimg", "--raw", "-q", str(png)],
                            capture_output=True, text=True, check=False)
    assert result.returncode in (0, 4), result.stderr  # 4 = no symbol found
    return result.stdout.splitlines()


def split_by_form(texts: list[str]) -> dict[str, list[str]]:
    """Group page texts by the serial in their footer, checking Trang i/n."""
    by_form: dict[str, list[str]] = {}
    for text in texts:
        serials = {s for s, _ in FORMS if f"Số phiếu: {s}" in text}
        assert len(serials) == 1, text[:200]
        by_form.setdefault(serials.pop(), []).append(text)
    return by_form


def test_batch_has_every_form_in_order_with_page_numbers(tmp_path):
    texts = page_texts(batch_pdf(), tmp_path)
    by_form = split_by_form(texts)
    assert list(by_form) == [s for s, _ in FORMS]
    n = len(texts) // len(FORMS)
    assert n >= 2 and len(texts) == n * len(FORMS)
    for serial, pages in by_form.items():
        assert len(pages) == n
        for i, text in enumerate(pages, start=1):
            assert f"Trang {i}/{n}" in text, (serial, i)
            assert f"Số phiếu: {serial}" in text  # footer on every page
    # Pages of one form are contiguous: form k owns pages k*n+1 … (k+1)*n.
    for k, (serial, _) in enumerate(FORMS):
        assert all(f"Số phiếu: {serial}" in t for t in texts[k * n:(k + 1) * n])


def test_each_form_has_the_whole_questionnaire_in_vietnamese(tmp_path):
    by_form = split_by_form(page_texts(batch_pdf(), tmp_path))
    d = definition()
    for serial, pages in by_form.items():
        text = " ".join(pages)
        assert "Số phiếu" in pages[0] and serial in pages[0]
        # Header of page 1 (the footer repeats the names, so check in order).
        assert f"Số phiếu: {serial} {AGENCY} {CAMPAIGN}" in pages[0]
        for code in satisfaction_codes():
            assert re.search(rf"\b{code}\b", text), (serial, code)
        assert len(satisfaction_codes()) == 19
        for item in d["items"]:
            assert item["code"] in text, (serial, item["code"])
        for group in d["groups"]:
            assert group["name"]["vi"] in text
        for expected in (
            "thái độ giao tiếp",  # diacritics survive extraction
            "Thủ tục hành chính",
            d["title"]["vi"],
            "Quét mã để trả lời trực tuyến (mỗi mã chỉ dùng một lần)",
            "1 Rất không hài lòng", "2 Không hài lòng", "3 Bình thường",
            "4 Hài lòng", "5 Rất hài lòng", "KAD Không áp dụng",
            "Rất nhiều", "Nhiều", "Ít",
            "(có thể chọn nhiều)",
            "H'Mông",
            AGENCY,  # & and < printed literally, not as markup
            CAMPAIGN,
        ):
            assert expected in text, (serial, expected)
        assert "&amp;" not in text and "&lt;" not in text


def test_each_form_qr_decodes_to_its_own_url_only(tmp_path):
    pdf = batch_pdf()
    texts = page_texts(pdf, tmp_path)
    pngs = page_pngs(pdf, tmp_path)
    assert len(pngs) == len(texts)  # every page rendered
    n = len(pngs) // len(FORMS)
    for k, (serial, url) in enumerate(FORMS):
        decoded = []
        for i, png in enumerate(pngs[k * n:(k + 1) * n]):
            lo, hi = Image.open(png).convert("L").getextrema()
            assert lo < 50 and hi > 200, f"page {k * n + i + 1} looks blank"
            found = zbar_decode(png)
            if i == 0:
                assert found == [url], serial  # header QR on the first page
            decoded += found
        assert decoded == [url], serial  # and nowhere else in the form
        others = {u for s, u in FORMS if s != serial}
        assert not others & set(decoded)


def test_english_labels_and_texts(tmp_path):
    pdf = render_forms_pdf(definition(), FORMS[:1], agency_name=AGENCY,
                           campaign_name=CAMPAIGN, lang="en")
    text = " ".join(page_texts(pdf, tmp_path))
    assert "Form no.: TL24-0001" in text
    assert "Access to the service" in text
    assert "N/A Not applicable" in text
    # The priority columns say what the citizen's page says.
    assert " ".join(PRIORITY_LABELS["en"][v] for v in (3, 2, 1)) in text


def test_rejects_unknown_item_type_and_empty_batch():
    bad = definition()
    bad["items"].append({"code": "X1", "group": "YK", "type": "slider",
                         "text": {"vi": "?"}})
    with pytest.raises(ValueError, match="slider"):
        render_forms_pdf(bad, FORMS, agency_name=AGENCY, campaign_name=CAMPAIGN)
    with pytest.raises(ValueError, match="no forms"):
        render_forms_pdf(definition(), [], agency_name=AGENCY,
                         campaign_name=CAMPAIGN)


def test_two_hundred_forms_render_quickly(tmp_path):
    forms = [(f"HN-{i:05d}", f"https://khaosat.example.gov.vn/f/{i:05d}QX2M4ZT8W")
             for i in range(1, 201)]
    started = time.perf_counter()
    pdf = render_forms_pdf(definition(), forms, agency_name=AGENCY,
                           campaign_name=CAMPAIGN)
    elapsed = time.perf_counter() - started
    # ~4 s on a laptop; the bound only catches gross regressions.
    assert elapsed < 20, f"200 forms took {elapsed:.1f}s"
    pages = len(re.findall(rb"/Type /Page\b", pdf))
    assert pages % 200 == 0 and pages >= 400


def test_forms_csv_round_trips():
    forms = FORMS + [("Q,1", 'https://x.example/f?a=1&b="2"'),
                     ("Số-7", "https://x.example/f/ư")]
    text = forms_csv(forms)
    assert text.startswith("serial,url\n")
    assert "\r" not in text
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["serial", "url"]
    assert [tuple(r) for r in rows[1:]] == forms
    assert forms_csv([]) == "serial,url\n"


def test_each_form_ends_with_the_recheck_consent_box(tmp_path):
    by_form = split_by_form(page_texts(batch_pdf(), tmp_path))
    for serial, pages in by_form.items():
        last = pages[-1]
        assert "Đồng ý để MTTQ gọi điện kiểm tra lại: ☐ Số điện thoại:" in last, serial
        assert "Không bắt buộc" in last
        assert all("Đồng ý để MTTQ" not in p for p in pages[:-1])
    plain = render_forms_pdf(definition(), FORMS[:1], agency_name=AGENCY,
                             campaign_name=CAMPAIGN, recheck=False)
    assert not any("Đồng ý để MTTQ" in t for t in page_texts(plain, tmp_path))
