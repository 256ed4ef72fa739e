"""`python -m analysis verify BUNDLE… --report FILE` checks every figure of an XLSX or PDF
report: the per-agency table, the ranking, the roll-ups over the agency tree (from the
bundle's agencies.csv), the overview, the criteria and their answer distribution, the
channel counts; a combined report against the bundle of each of its campaigns."""

from __future__ import annotations

import re
import shutil
import zipfile
from datetime import timedelta

import pytest
from audit_helpers import export_bundle, run_analysis, tamper
from openpyxl import load_workbook
from results_helpers import ANSWERS, answer, today
from sqlalchemy import text
from web_helpers import full_answers

PDF = pytest.mark.skipif(shutil.which("pdftotext") is None,
                         reason="pdftotext (poppler-utils) is not installed")


@pytest.fixture
def answered(demo, db):
    for agency, answers in ANSWERS:
        answer(demo, db, "demo", agency, answers)
    return demo


def _report(runner, path, *campaigns: str) -> None:
    args = ["report", "--out", str(path), "--bootstrap", "200"]
    for code in campaigns or ("demo",):
        args += ["--campaign", code]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output


def _bump_tally(db, monkeypatch, agency: str, campaign: str = "demo", score: int = 5) -> str:
    """One answer `score` added to the tally of one criterion of `agency` (as someone with
    database access could); returns the criterion's code. The application then refuses to
    report from it (tests/test_tally_check.py); the reports made afterwards here stand for
    one made all the same (by a copy of the application without the check, say)."""
    from survey_app.services import tally

    monkeypatch.setattr(tally, "guard", lambda campaign: None)
    row = db.session.execute(text(
        "SELECT t.campaign_id, t.agency_id, t.item_id, i.code FROM answer_tally t "
        "JOIN agency a ON a.id = t.agency_id JOIN item i ON i.id = t.item_id "
        "JOIN campaign c ON c.id = t.campaign_id WHERE t.score = :s AND a.code = :a "
        "AND c.code = :c AND i.type = 'satisfaction' ORDER BY i.code"),
        {"a": agency, "c": campaign, "s": score}).first()
    tamper(db, "UPDATE answer_tally SET n = n + 1 WHERE campaign_id = :c AND agency_id = :a "
               "AND item_id = :i AND score = :s", c=row[0], a=row[1], i=row[2], s=score)
    return row[3]


def _checked(out: str) -> int:
    found = re.search(r"REPORT OK: .*: (\d+) figures checked, all agree", out)
    assert found, out
    return int(found.group(1))


def _bundle(runner, tmp_path, campaign: str):
    path = tmp_path / f"{campaign}.zip"
    result = runner.invoke(args=["export-audit", "--campaign", campaign, "--out", str(path)])
    assert result.exit_code == 0, result.output
    return path


def test_the_bundle_holds_the_agency_tree(answered, runner, tmp_path):
    with zipfile.ZipFile(export_bundle(runner, tmp_path)) as zf:
        rows = zf.read("agencies.csv").decode("utf-8").splitlines()
    assert rows[0] == "code,name,kind,parent_code,valid_from,valid_to"
    codes = {line.split(",")[0]: line.split(",")[3] for line in rows[1:]}
    # every responding agency, and its ancestors up to a root
    for agency in {a for a, _ in ANSWERS}:
        assert agency in codes
        while codes[agency]:
            agency = codes[agency]
            assert agency in codes


def test_xlsx_roll_ups_and_overview_checked_then_a_tally_count_named(answered, db, runner,
                                                                   tmp_path, monkeypatch):
    before = tmp_path / "before.xlsx"
    _report(runner, before)
    assert len(list(load_workbook(before)["Cộng dồn"].iter_rows())) > 1  # roll-ups shown
    bundle = export_bundle(runner, tmp_path)
    code, out = run_analysis("verify", bundle, "--report", before)
    assert code == 0, out
    assert _checked(out) > 250  # far more than the per-agency sheet alone

    # one count of X-SONDUONG-1C changed: its subtree's roll-up and the whole are wrong too
    item = _bump_tally(db, monkeypatch, "X-SONDUONG-1C", score=4)
    after = tmp_path / "after.xlsx"
    _report(runner, after)
    code, out = run_analysis("verify", bundle, "--report", after)
    assert code == 1, out
    assert re.search(rf"DIFFERS: agency X-SONDUONG-1C, criterion {item}, n \(sheet Chỉ số",
                     out), out
    assert re.search(r"DIFFERS: sheet Cộng dồn, unit X-SONDUONG with its subordinate units, "
                     r"n \(sheet Cộng dồn, row \d+\): published \d+, recomputed \d+", out), out
    assert re.search(r"DIFFERS: sheet Tổng quan, service SERVICE, index", out), out
    assert re.search(rf"DIFFERS: sheet Tiêu chí, criterion {item}, answers 4 \(sheet Tiêu "
                     rf"chí, row \d+\): published \d+, recomputed \d+", out), out
    assert re.search(r"DIFFERS: sheet Xếp hạng, agency X-SONDUONG-1C, n", out), out


def test_a_roll_up_cell_edited_by_hand_is_named(answered, runner, tmp_path):
    path = tmp_path / "report.xlsx"
    _report(runner, path)
    book = load_workbook(path)
    sheet = book["Cộng dồn"]
    row = next(r for r in range(2, sheet.max_row + 1) if sheet.cell(r, 4).value is not None)
    unit = sheet.cell(row, 2).value
    sheet.cell(row, 4).value = sheet.cell(row, 4).value + 3.0
    book.save(path)
    code, out = run_analysis("verify", export_bundle(runner, tmp_path), "--report", path)
    assert code == 1, out
    assert re.search(rf"DIFFERS: sheet Cộng dồn, unit [\w-]+ with its subordinate units, "
                     rf"service index \(sheet Cộng dồn, row {row}\): published", out), out
    assert out.count("DIFFERS:") == 1, out
    assert unit  # the row edited is a named unit


def _older_bundle(bundle, tmp_path):
    """The bundle as made before bundles carried agencies.csv."""
    older = tmp_path / "older.zip"
    with zipfile.ZipFile(bundle) as src, zipfile.ZipFile(older, "w") as dst:
        for info in src.infolist():
            if info.filename != "agencies.csv":
                dst.writestr(info, src.read(info))
    return older


@pytest.mark.parametrize("suffix, unchecked", [
    ("xlsx", "sheet Cộng dồn"),
    pytest.param("pdf", "PDF table III", marks=PDF),
])
def test_a_bundle_without_the_agency_tree(answered, runner, tmp_path, suffix, unchecked):
    """An older bundle has no agencies.csv: what it can check is checked, the roll-ups are
    said to be not checkable, and the report is not declared verified (exit 1)."""
    path = tmp_path / f"report.{suffix}"
    _report(runner, path)
    older = _older_bundle(export_bundle(runner, tmp_path), tmp_path)
    code, out = run_analysis("verify", older, "--report", path)
    assert code == 1, out
    assert "OK: campaign demo" in out  # the bundle itself checks out
    assert f"NOT CHECKED: {unchecked}: not checkable with this bundle" in out
    assert "REPORT NOT FULLY CHECKED" in out and "DIFFERS" not in out


@PDF
def test_pdf_report_checked_then_a_tally_count_named(answered, db, runner, tmp_path, monkeypatch):
    before = tmp_path / "before.pdf"
    _report(runner, before)
    bundle = export_bundle(runner, tmp_path)
    code, out = run_analysis("verify", bundle, "--report", before)
    assert code == 0, out
    assert _checked(out) > 100
    item = _bump_tally(db, monkeypatch, "X-SONDUONG-1C", score=4)
    after = tmp_path / "after.pdf"
    _report(runner, after)
    code, out = run_analysis("verify", bundle, "--report", after)
    assert code == 1, out
    assert re.search(r"DIFFERS: PDF table II, agency X-SONDUONG-1C, n", out), out
    assert re.search(r"DIFFERS: PDF table III, unit X-SONDUONG with its subordinate units, n",
                     out), out
    assert re.search(r"DIFFERS: PDF table I, service SERVICE, index", out), out
    assert re.search(rf"DIFFERS: PDF table IV, criterion {item}, n", out), out


def test_pdftotext_missing_is_said(answered, runner, tmp_path, monkeypatch):
    from analysis import report_check

    path = tmp_path / "report.pdf"
    _report(runner, path)
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(report_check.ReportFileError, match="needs the program pdftotext"):
        report_check.read_report(path)


def test_combined_report_against_two_bundles(answered, db, runner, tmp_path, monkeypatch):
    from survey_app.services import campaigns

    campaigns.create_campaign(code="dot2", name="Đợt 2", period="2026-H2", version_ref="sipas",
                              opens=today(), closes=today() + timedelta(days=30),
                              agency_codes=["P-MYLAM", "X-SONDUONG-1C"])
    db.session.commit()
    answer(answered, db, "dot2", "P-MYLAM", full_answers(5))
    answer(answered, db, "dot2", "X-SONDUONG-1C", full_answers(2))
    combined = tmp_path / "combined.xlsx"
    _report(runner, combined, "demo", "dot2")
    demo, dot2 = _bundle(runner, tmp_path, "demo"), _bundle(runner, tmp_path, "dot2")
    code, out = run_analysis("verify", demo, dot2, "--report", combined)
    assert code == 0, out
    assert "OK: campaign demo" in out and "OK: campaign dot2" in out
    assert _checked(out) > 250
    code, out = run_analysis("verify", demo, "--report", combined)
    assert code == 2 and "give the audit bundle of each (missing: dot2)" in out, out

    _bump_tally(db, monkeypatch, "P-MYLAM", "dot2")
    after = tmp_path / "after.xlsx"
    _report(runner, after, "demo", "dot2")
    code, out = run_analysis("verify", demo, dot2, "--report", after)
    assert code == 1, out
    assert re.search(r"DIFFERS: agency P-MYLAM, criterion \w+, n \(sheet Chỉ số", out), out
    assert "DIFFERS: sheet Tổng quan, service SERVICE" in out
    if shutil.which("pdftotext"):
        pdf = tmp_path / "combined.pdf"
        _report(runner, pdf, "demo", "dot2")
        code, out = run_analysis("verify", demo, dot2, "--report", pdf)
        assert code == 1 and "DIFFERS: PDF table II, agency P-MYLAM" in out, out


def test_a_report_limited_to_one_agency(answered, db, runner, tmp_path):
    """`flask report --agency X` covers X's subtree: its overview is X's roll-up. The report
    names the scope by its code, and verify recomputes from that scope."""
    paths = [tmp_path / "scope.xlsx"] + ([tmp_path / "scope.pdf"] if shutil.which("pdftotext")
                                         else [])
    for path in paths:
        result = runner.invoke(args=["report", "--campaign", "demo", "--agency", "X-SONDUONG",
                                     "--out", str(path), "--bootstrap", "200"])
        assert result.exit_code == 0, result.output
    bundle = export_bundle(runner, tmp_path)
    for path in paths:
        code, out = run_analysis("verify", bundle, "--report", path)
        assert code == 0, out
        assert _checked(out) > 100
    book = load_workbook(paths[0])
    assert any("(mã X-SONDUONG)" in str(row[0]) for row in
               book["Tổng quan"].iter_rows(values_only=True) if row[0])
    # the same workbook read as a whole-campaign report does not agree
    for row in book["Tổng quan"].iter_rows():
        if row[0].value and "(mã X-SONDUONG)" in str(row[0].value):
            row[0].value = "Phạm vi: Toàn tỉnh"
    book.save(paths[0])
    code, out = run_analysis("verify", bundle, "--report", paths[0])
    assert code == 1 and "DIFFERS: sheet Tổng quan, service SERVICE, n" in out, out


def test_bad_input_to_verify_with_several_bundles(answered, runner, tmp_path):
    path = tmp_path / "report.xlsx"
    _report(runner, path)
    bundle = export_bundle(runner, tmp_path)
    code, out = run_analysis("verify", bundle, bundle, "--checkpoint", "demo#1:ab")
    assert code == 2 and "--checkpoint checks one bundle" in out, out
    broken = tmp_path / "broken.zip"
    with zipfile.ZipFile(bundle) as src, zipfile.ZipFile(broken, "w") as dst:
        for info in src.infolist():
            data = b"nothing,here\n1,2\n" if info.filename == "agencies.csv" else src.read(info)
            dst.writestr(info, data)
    code, out = run_analysis("verify", broken, "--report", path)
    assert code == 2 and "agencies.csv does not have the columns" in out, out
    fake = tmp_path / "fake.pdf"
    fake.write_bytes(b"%PDF-1.4 not really")
    if shutil.which("pdftotext"):
        code, out = run_analysis("verify", bundle, "--report", fake)
        assert code == 2 and "not a readable PDF file" in out and "OK: campaign" not in out


def test_a_rank_and_a_channel_count_edited_by_hand_are_named(answered, runner, tmp_path):
    path = tmp_path / "report.xlsx"
    _report(runner, path)
    book = load_workbook(path)
    ranking = book["Xếp hạng"]
    ranked = 2  # an agency not ranked (too few responses) shown as ranked, or moved down
    rank = ranking.cell(ranked, 1).value
    ranking.cell(ranked, 1).value = 1 if rank in (None, "") else int(rank) + 1
    channels = book["Theo kênh"]
    total = next(c for c in channels[1] if c.value == "Tổng").column
    channels.cell(2, total).value = int(channels.cell(2, total).value) + 1
    book.save(path)
    code, out = run_analysis("verify", export_bundle(runner, tmp_path), "--report", path)
    assert code == 1, out
    assert re.search(rf"DIFFERS: sheet Xếp hạng, agency [\w-]+, rank \(sheet Xếp hạng, row "
                     rf"{ranked}\)", out), out
    assert re.search(r"DIFFERS: sheet Theo kênh, agency [\w-]+, total \(sheet Theo kênh, "
                     r"row 2\)", out), out
    assert out.count("DIFFERS:") == 2, out


def test_a_report_of_a_campaign_without_responses(demo, db, runner, tmp_path):
    from survey_app.services import campaigns

    campaigns.create_campaign(code="trong", name="Đợt trống", period="2026-H2",
                              version_ref="sipas", opens=today(),
                              closes=today() + timedelta(days=30), agency_codes=["P-MYLAM"])
    db.session.commit()
    paths = [tmp_path / "empty.xlsx"] + ([tmp_path / "empty.pdf"] if shutil.which("pdftotext")
                                         else [])
    for path in paths:
        _report(runner, path, "trong")
    bundle = _bundle(runner, tmp_path, "trong")
    for path in paths:
        code, out = run_analysis("verify", bundle, "--report", path)
        assert code == 0 and "all agree" in out, out
