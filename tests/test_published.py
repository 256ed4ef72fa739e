"""Published figures are bound to the ledger: every published result states the checkpoint
and method it was computed at, and `python -m analysis verify BUNDLE --report FILE`
recomputes the figures from the bundle and names each one that differs."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from datetime import timedelta

import pytest
from audit_helpers import export_bundle, run_analysis, tamper, user
from openpyxl import load_workbook
from results_helpers import ANSWERS, answer, today
from sqlalchemy import select
from web_helpers import full_answers

from analysis.ledger import format_digest
from survey_app.models import Response

DIGEST = r"demo#(\d+):[0-9a-f]{4}(?:-[0-9a-f]{4}){4}-[0-9a-f]"


@pytest.fixture
def answered(demo, db):
    for agency, answers in ANSWERS:
        answer(demo, db, "demo", agency, answers)
    return demo


def _reject(db, number: int) -> None:
    """The number-th response rejected through the review service (chained in the ledger)."""
    from survey_app.services import review

    rid = db.session.scalars(select(Response.id).order_by(Response.id)).all()[number]
    review.decide([rid], "rejected", "phiếu thử nghiệm", user(db, "admin"))
    db.session.commit()


def _correct(db, number: int, changes: dict) -> None:
    from survey_app.services import corrections

    rid = db.session.scalars(select(Response.id).order_by(Response.id)).all()[number]
    corrections.correct(rid, changes, "Sửa lỗi nhập", user(db, "admin"))
    db.session.commit()


def _reports(client, runner, tmp_path, name: str, query: str = "") -> tuple:
    """The indices CSV from the results page and the XLSX report from `flask report`."""
    page = client.get(f"/results/demo/indices.csv{query}")
    assert page.status_code == 200
    csv_path = tmp_path / f"{name}.csv"
    csv_path.write_bytes(page.data)
    xlsx_path = tmp_path / f"{name}.xlsx"
    result = runner.invoke(args=["report", "--campaign", "demo", "--out", str(xlsx_path)])
    assert result.exit_code == 0, result.output
    return csv_path, xlsx_path


def _ledger_length(db) -> int:
    from survey_app import ledger
    from survey_app.services.campaigns import get_campaign

    return ledger.head(get_campaign("demo").id)[0]


def test_reports_verify_then_a_changed_tally_count_is_named(answered, db, client, login,
                                                            runner, tmp_path, monkeypatch):
    _reject(db, 1)  # excluded by default: the recomputation must leave it out too
    _correct(db, 0, {"TC1": "1", "TC2": "0"})  # replayed from the ledger
    login("admin")
    csv_path, xlsx_path = _reports(client, runner, tmp_path, "before")
    include_path = tmp_path / "include.csv"
    include_path.write_bytes(client.get("/results/demo/indices.csv?rejected=include").data)
    # Decisions after the reports were made are in the bundle, but not as of their checkpoint.
    _reject(db, 3)
    _correct(db, 2, {"TC3": "1"})
    bundle = export_bundle(runner, tmp_path)
    for report in (csv_path, xlsx_path, include_path):
        code, out = run_analysis("verify", bundle, "--report", report)
        assert code == 0, out
        checked = re.search(r"REPORT OK: .*: (\d+) figures checked, all agree", out)
        assert checked and int(checked.group(1)) > 50, out

    # Someone with database access adds one answer 5 to one cell of the tally.
    row = db.session.execute(select_tally_row()).first()
    agency, item, score = row.agency, row.item, row.score
    tamper(db, "UPDATE answer_tally SET n = n + 1 WHERE campaign_id = :c AND agency_id = :a "
               "AND item_id = :i AND score = :s", c=row.campaign_id, a=row.agency_id,
           i=row.item_id, s=score)
    # The application refuses to publish from it: the page and the command name the cell.
    refused = client.get("/results/demo/indices.csv")
    assert refused.status_code == 409 and f"cơ quan {agency}, câu {item}" in refused.text
    result = runner.invoke(args=["report", "--campaign", "demo", "--out",
                                 str(tmp_path / "refused.xlsx")])
    assert result.exit_code == 1 and "không khớp" in result.output
    assert not (tmp_path / "refused.xlsx").exists()
    # A report made from that tally all the same (by a copy of the application without the
    # check, say) is caught offline by the auditor.
    from survey_app.services import tally

    monkeypatch.setattr(tally, "guard", lambda campaign: None)
    csv_after, xlsx_after = _reports(client, runner, tmp_path, "after")
    for report in (csv_after, xlsx_after):
        code, out = run_analysis("verify", bundle, "--report", report)
        assert code == 1, out
        assert "REPORT FAILED" in out and "figures differ" in out
        # the changed cell's own figures are named: its agency, criterion and column
        assert re.search(rf"DIFFERS: agency {agency}, criterion {item}, n\b.*published "
                         rf"\d+, recomputed \d+", out), out
        assert f"DIFFERS: agency {agency}, element" in out  # and what it feeds
    # the bundle itself is intact: only the figures are wrong
    assert "OK: campaign demo" in out


def select_tally_row():
    from sqlalchemy import text

    return text("""SELECT t.campaign_id, t.agency_id, t.item_id, t.score, a.code AS agency,
                          i.code AS item
                   FROM answer_tally t JOIN agency a ON a.id = t.agency_id
                   JOIN item i ON i.id = t.item_id
                   WHERE t.score = 5 AND i.type = 'satisfaction' ORDER BY a.code, i.code""")


@pytest.mark.parametrize("app", [{"RESULTS_BOOTSTRAP_CAP": 1}], indirect=True)
def test_sampled_bootstrap_is_recomputed_exactly(answered, db, client, login, runner,
                                                 tmp_path):
    """Groups larger than the cap are bootstrapped on a seeded sample and recentred: the
    auditor's recomputation (same seed, same order) gives the same intervals."""
    login("admin")
    csv_path = tmp_path / "indices.csv"
    csv_path.write_bytes(client.get("/results/demo/indices.csv").data)
    assert "# Số người tối đa mỗi nhóm khi bootstrap: 1" in csv_path.read_text("utf-8")
    code, out = run_analysis("verify", export_bundle(runner, tmp_path), "--report", csv_path)
    assert code == 0 and "all agree" in out, out


def test_a_figure_edited_by_hand_is_named(answered, client, login, runner, tmp_path):
    login("admin")
    text = client.get("/results/demo/indices.csv").data.decode("utf-8")
    lines = text.splitlines(keepends=True)
    number = next(i for i, line in enumerate(lines)
                  if line.startswith("X-SONDUONG,service,SERVICE,"))
    cells = lines[number].split(",")
    published = float(cells[5])
    cells[5] = written = f"{published + 2.5}"
    lines[number] = ",".join(cells)
    edited = tmp_path / "edited.csv"
    edited.write_text("".join(lines), encoding="utf-8")
    code, out = run_analysis("verify", export_bundle(runner, tmp_path), "--report", edited)
    assert code == 1, out
    assert re.search(rf"DIFFERS: agency X-SONDUONG, service SERVICE, index \(line "
                     rf"{number + 1}\): published {re.escape(written)}, recomputed "
                     rf"{published:g}", out), out
    assert out.count("DIFFERS:") == 1


def test_a_report_from_a_later_ledger_state(answered, app, db, client, login, runner,
                                            tmp_path):
    bundle = export_bundle(runner, tmp_path)
    entries = _ledger_length(db)
    answer(app, db, "demo", "P-MYLAM", full_answers(5))
    login("admin")
    later = tmp_path / "later.csv"
    later.write_bytes(client.get("/results/demo/indices.csv").data)
    code, out = run_analysis("verify", bundle, "--report", later)
    assert code == 1, out
    assert "the report was computed at a ledger state the bundle does not contain" in out
    assert f"entry {entries + 1}, and the bundle's ledger has {entries} entries" in out


def test_malformed_and_unrelated_report_files(answered, client, login, runner, tmp_path):
    bundle = export_bundle(runner, tmp_path)
    login("admin")
    good = client.get("/results/demo/indices.csv").data.decode("utf-8")
    digest = re.search(DIGEST, good).group(0)
    one_off = digest[:-3] + ("0" if digest[-3] != "0" else "1") + digest[-2:]
    seq, groups = re.match(DIGEST, digest).group(1), digest.split(":")[1].split("-")[:-1]
    other = format_digest("khac", int(seq), "".join(groups))
    cases = {
        "responses.csv": (client.get("/results/demo/responses.csv").data,
                          "states no ledger checkpoint"),
        "empty.csv": (b"", "states no ledger checkpoint"),
        "binary.csv": (b"\xff\xfe\x00garbage", "not a UTF-8 text file"),
        "no-table.csv": ("\n".join(line for line in good.splitlines() if line.startswith("#"))
                         .encode(), "not a readable UTF-8 CSV file"),
        "no-seed.csv": ("\n".join(line for line in good.splitlines()
                                  if not line.startswith("# Hạt giống")).encode(),
                        "the statement lacks: Hạt giống"),
        "mistyped.csv": (good.replace(digest, one_off).encode(), "mistyped (gõ sai)"),
        "other.csv": (good.replace(digest, other).encode(), "they are unrelated"),
        "fake.xlsx": (b"PK\x03\x04 not really", "not a readable XLSX workbook"),
        "report.docx": (b"PK\x03\x04", "not a readable Word document"),
        "notes.txt": (b"hello", "not a report file this command reads"),
    }
    for name, (data, message) in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        code, out = run_analysis("verify", bundle, "--report", path)
        assert code == 2, (name, out)
        assert message in out, (name, out)
        assert "OK: campaign" not in out  # bad input is said before anything else
    code, out = run_analysis("verify", bundle, "--report", tmp_path / "missing.csv")
    assert code == 2 and "no such file" in out


def test_every_published_form_states_the_checkpoint(answered, db, client, login, runner,
                                                    tmp_path):
    entries = _ledger_length(db)
    login("mttq")
    page = client.get("/results/demo")
    assert page.status_code == 200
    shown = re.search(DIGEST, page.text)
    assert shown and int(shown.group(1)) == entries
    digest = shown.group(0)
    for expected in ("Mốc sổ cái", "Số lần lặp bootstrap: <code>1000</code>",
                     "Hạt giống: <code>0</code>", "Phiếu bị loại: <code>không tính</code>"):
        assert expected in page.text, expected
    assert digest in client.get("/results/demo/report").text
    indices = client.get("/results/demo/indices.csv").data.decode("utf-8")
    assert indices.startswith("# Số liệu được tính tại mốc sổ cái")
    assert f"# Mốc sổ cái: {digest} (đợt demo, {entries} mục)" in indices
    svg = client.get("/results/demo/chart/ranking.svg").data.decode("utf-8")
    assert digest in svg  # the footer line, kept as the image's description
    png = client.get("/results/demo/chart/likert.png").data
    assert digest.encode() in png
    workbook = load_workbook(io.BytesIO(client.get("/results/demo/report.xlsx").data))
    info = {row[0]: row[1] for row in workbook["Thông tin"].iter_rows(values_only=True)}
    assert info["Mốc sổ cái"].startswith(digest)
    assert info["Số lần lặp bootstrap"] == "1000" and info["Phiếu bị loại"] == "không tính"
    pdf = tmp_path / "report.pdf"
    result = runner.invoke(args=["report", "--campaign", "demo", "--out", str(pdf),
                                 "--include-rejected", "--seed", "7"])
    assert result.exit_code == 0, result.output
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext (poppler-utils) is not installed")
    first = subprocess.run(["pdftotext", "-enc", "UTF-8", "-f", "1", "-l", "1", str(pdf), "-"],
                           capture_output=True, text=True, check=True, timeout=60).stdout
    first = " ".join(first.split())
    assert f"Mốc sổ cái: {digest}" in first
    assert "Hạt giống: 7" in first and "Phiếu bị loại: có tính" in first


def test_a_combined_report_states_one_checkpoint_per_campaign(answered, db, client, login,
                                                              runner, tmp_path):
    from survey_app.services import campaigns

    campaigns.create_campaign(code="dot2", name="Đợt 2", period="2026-H2", version_ref="sipas",
                              opens=today(), closes=today() + timedelta(days=30),
                              agency_codes=["P-MYLAM"])
    db.session.commit()
    answer(answered, db, "dot2", "P-MYLAM", full_answers(5))
    login("admin")
    page = client.get("/results/demo/indices.csv?also=dot2").data.decode("utf-8")
    assert re.search(r"^# Mốc sổ cái: demo#5:.*\(đợt demo, 5 mục\)$", page, re.M)
    assert re.search(r"^# Mốc sổ cái: dot2#1:.*\(đợt dot2, 1 mục\)$", page, re.M)
    combined = tmp_path / "combined.csv"
    combined.write_text(page, encoding="utf-8")
    demo = export_bundle(runner, tmp_path)
    code, out = run_analysis("verify", demo, "--report", combined)
    assert code == 2 and "a combined report of campaigns demo, dot2" in out, out
    dot2 = tmp_path / "dot2.zip"
    assert runner.invoke(args=["export-audit", "--campaign", "dot2", "--out",
                               str(dot2)]).exit_code == 0
    code, out = run_analysis("verify", demo, dot2, "--report", combined)
    assert code == 0 and "all agree" in out, out


def test_checkpoint_digests_typed_back(answered, db, runner, tmp_path):
    result = runner.invoke(args=["checkpoint", "--campaign", "demo"])
    assert result.exit_code == 0, result.output
    digest = re.search(DIGEST, result.output).group(0)
    bundle = export_bundle(runner, tmp_path)
    code, out = run_analysis("verify", bundle, "--checkpoint", digest)
    assert code == 0 and "Note:" not in out, out
    # one hexadecimal digit of the hash changed: a copying mistake, not a rewritten ledger
    position = digest.index(":") + 3
    changed = digest[:position] + ("0" if digest[position] != "0" else "1") + \
        digest[position + 1:]
    code, out = run_analysis("verify", bundle, "--checkpoint", changed)
    assert code == 2, out
    assert "mistyped (gõ sai)" in out and "rewritten" not in out
    # a correct digest (its check character fits) of another state: does not match
    seq = int(re.match(DIGEST, digest).group(1))
    other = format_digest("demo", seq, "ab" * 32)
    code, out = run_analysis("verify", bundle, "--checkpoint", other)
    assert code == 1, out
    assert "does not match the checkpoint you hold" in out and "mistyped" not in out
    # a digest written before check characters: accepted, with a note that it was not checked
    old = digest[:-2]
    code, out = run_analysis("verify", bundle, "--checkpoint", old)
    assert code == 0, out
    assert "no check character" in out and "could not be checked" in out


def test_results_computed_with_the_chains_held(answered, app, db, client, login, runner,
                                               tmp_path, monkeypatch):
    """When the ledgers keep moving, the figures are computed once more with the chains
    held: the statement is still the ledger's state, and the hold ends with the request."""
    from survey_app.services import results

    monkeypatch.setattr(results, "SETTLE_ATTEMPTS", 0)
    login("admin")
    page = client.get("/results/demo/indices.csv")
    assert page.status_code == 200
    entries = _ledger_length(db)
    assert f"# Mốc sổ cái: demo#{entries}:" in page.data.decode("utf-8")
    path = tmp_path / "held.csv"
    path.write_bytes(page.data)
    code, out = run_analysis("verify", export_bundle(runner, tmp_path), "--report", path)
    assert code == 0 and "all agree" in out, out
    answer(app, db, "demo", "P-MYLAM", full_answers(5))  # appends are not left waiting
    assert _ledger_length(db) == entries + 1
