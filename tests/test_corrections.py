"""Corrections of a response's answers by an administrator: a row of their own, an audit-log
row and a ledger event in one transaction; the effective answers feed the tally, exports
and results; the auditor still sees the original; `python -m analysis verify` replays
legitimate corrections and catches forged ones; bad input is refused with nothing written."""

import csv
import io
import json
import zipfile

import pandas as pd
import pytest
from audit_helpers import answer_open, export_bundle, run_analysis, tamper, user, varied
from sqlalchemy import select, text
from web_helpers import counted, counted_from_responses, csrf_token, full_answers, in_tally

from analysis.io import read_indices
from analysis.verify import verify_bundle
from survey_app.models import AuditLog, LedgerEntry, Response, ResponseCorrection


@pytest.fixture
def collected(demo):
    """Three responses through X-SONDUONG's open link: 1 every item 5 (and a gender),
    2 every item 4, 3 varied; and 4 through STP's."""
    answer_open(demo, full_answers(5, GIOI_TINH="1"))
    answer_open(demo, full_answers(4))
    answer_open(demo, varied(1))
    answer_open(demo, varied(2), agency="STP")
    return demo


def _correct(client, rid, reason="Nhập nhầm từ phiếu giấy", **values):
    token = csrf_token(client.get(f"/audit/responses/{rid}").text)
    data = {"csrf_token": token, "reason": reason}
    data.update({f"new-{code}": value for code, value in values.items()})
    return client.post(f"/audit/responses/{rid}/correct", data=data)


def _written(db) -> tuple:
    """Everything a correction writes, to check that a refused one wrote nothing."""
    return (
        db.session.scalar(select(ResponseCorrection.id).order_by(ResponseCorrection.id.desc())),
        db.session.scalar(select(LedgerEntry.id).order_by(LedgerEntry.id.desc())),
        db.session.scalar(select(AuditLog.id).order_by(AuditLog.id.desc())),
        db.session.execute(text("SELECT * FROM answer_tally ORDER BY agency_id, item_id, "
                                "score")).all(),
        db.session.execute(text("SELECT * FROM tally_mark ORDER BY campaign_id")).all(),
        db.session.execute(text("SELECT * FROM response ORDER BY id")).all(),
    )


def _tally(db, item: str) -> dict[int, int]:
    return {score: n for (agency, code, score), n in counted(db).items()
            if (agency, code) == ("X-SONDUONG", item)}


def _moved(tally: dict[int, int], delta: dict[int, int]) -> dict[int, int]:
    moved = {score: tally.get(score, 0) + delta.get(score, 0) for score in {*tally, *delta}}
    return {score: n for score, n in moved.items() if n}


def _counts(tally: pd.DataFrame) -> list[tuple]:
    """A tally's counts of answers 1–5, as sorted (agency, item, score, n)."""
    kept = tally[tally["score"].between(1, 5) & (tally["n"] > 0)]
    return sorted((a, i, int(s), int(n)) for a, i, s, n in
                  kept[["agency_code", "item_code", "score", "n"]].itertuples(index=False))


def _bundle_rows(bundle) -> dict[str, dict]:
    with zipfile.ZipFile(bundle) as zf:
        return {r["response_id"]: r for r in csv.DictReader(
            io.TextIOWrapper(zf.open("responses.csv"), encoding="utf-8"))}


# --- recording a correction ------------------------------------------------------------

def test_admin_corrects_answers_from_the_response_page(collected, client, login, db):
    before = db.session.execute(text("SELECT * FROM response ORDER BY id")).all()
    login("admin")
    page = client.get("/audit/responses/1")
    assert 'name="new-TC1"' in page.text and "Ghi đính chính" in page.text
    resp = _correct(client, 1, TC1="3", GIOI_TINH="2", reason="Nhập nhầm   từ phiếu giấy")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/audit/responses/1")

    row = db.session.scalar(select(ResponseCorrection))
    assert json.loads(row.changes) == {"GIOI_TINH": "2", "TC1": 3}
    assert json.loads(row.previous) == {"GIOI_TINH": "1", "TC1": 5}
    assert row.reason == "Nhập nhầm từ phiếu giấy" and row.corrected_by.username == "admin"
    # the response itself is untouched
    assert db.session.execute(text("SELECT * FROM response ORDER BY id")).all() == before
    assert db.session.get(Response, 1).effective_answers["TC1"] == 3

    event = db.session.scalar(select(LedgerEntry).filter_by(kind="correction"))
    assert event.ref == db.session.get(Response, 1).receipt_code
    payload = json.loads(event.payload)
    assert payload["changes"] == {"GIOI_TINH": {"from": "1", "to": "2"},
                                  "TC1": {"from": 5, "to": 3}}
    assert payload["response_id"] == 1 and payload["by"] == "admin"
    log = db.session.scalar(select(AuditLog).filter_by(action="response.correct"))
    assert log.actor == "admin" and log.before == {"GIOI_TINH": "1", "TC1": 5}
    assert log.after["TC1"] == 3 and log.after["reason"] == "Nhập nhầm từ phiếu giấy"

    # the auditor sees the effective answer, the original, and the history
    login("mttq")
    page = client.get("/audit/responses/1").text
    assert "<del>5 — Rất hài lòng</del>" in page and "3 — Bình thường" in page
    assert "Nhập nhầm từ phiếu giấy" in page and "5 — Rất hài lòng → 3 — Bình thường" in page
    assert 'name="new-TC1"' not in page  # auditors change no response


def test_successive_corrections_apply_in_order(collected, db):
    from survey_app.services import corrections

    admin = user(db, "admin")
    corrections.correct(2, {"TC1": "1"}, "Lần một", admin)
    corrections.correct(2, {"TC1": "2", "TC2": "0"}, "Lần hai", admin)
    corrections.correct(2, {"TC2": "-"}, "Câu này để trống trên phiếu", admin)
    db.session.commit()
    answers = db.session.get(Response, 2).effective_answers
    assert answers["TC1"] == 2 and "TC2" not in answers and answers["TC3"] == 4
    previous = [json.loads(c.previous) for c in db.session.scalars(
        select(ResponseCorrection).order_by(ResponseCorrection.id))]
    assert previous == [{"TC1": 4}, {"TC1": 1, "TC2": 4}, {"TC2": 0}]


def test_a_correction_after_the_tally_mark_is_counted_by_the_next_step(collected, db):
    """With a step of 3, responses 1–3 are in the tally and 4 lies after its mark.
    Correcting 4 leaves the tally's rows alone while the indices count the corrected
    answer at once; the step that later takes 4 in counts the corrected answer."""
    from analysis import load
    from survey_app.services import corrections

    def rows():
        return db.session.execute(text("SELECT * FROM answer_tally ORDER BY agency_id, "
                                       "item_id, score")).all()

    campaign_id = db.session.get(Response, 4).campaign_id
    assert load.tally_mark(db.session.connection(), campaign_id) == 3
    before, table = counted(db), rows()
    old = db.session.get(Response, 4).answer_dict["TC1"]
    new = 1 if old != 1 else 2
    corrections.correct(4, {"TC1": str(new)}, "Sửa lỗi nhập", user(db, "admin"))
    db.session.commit()
    assert rows() == table
    assert counted(db) == _moved_key(before, ("STP", "TC1", old), ("STP", "TC1", new))
    assert counted(db) == counted_from_responses(db)
    answer_open(collected, full_answers(3))
    answer_open(collected, full_answers(3))  # response 6: a step takes 4, 5 and 6 in
    db.session.expire_all()
    assert load.tally_mark(db.session.connection(), campaign_id) == 6
    assert rows() != table and in_tally(db) == counted(db) == counted_from_responses(db)


def _moved_key(counts: dict, old: tuple, new: tuple) -> dict:
    moved = dict(counts)
    moved[old] -= 1
    moved[new] = moved.get(new, 0) + 1
    return {key: n for key, n in moved.items() if n}


def test_tally_exports_and_results_use_effective_answers(collected, client, login, runner, db,
                                                         tmp_path):
    from analysis import load as loader
    from analysis import read_export, tally_from_responses
    from survey_app.services import corrections, review

    tc1, tc2, tc3 = _tally(db, "TC1"), _tally(db, "TC2"), _tally(db, "TC3")
    login("admin")
    indices_before = read_indices(io.StringIO(client.get("/results/demo/indices.csv").text))
    admin = user(db, "admin")
    corrections.correct(1, {"TC1": "2", "TC2": "0", "TC3": "-"}, "Sửa lỗi nhập", admin)
    corrections.correct(2, {"TC1": "2"}, "Sửa lỗi nhập", admin)
    review.decide([2], "rejected", "Không hợp lệ", user(db, "mttq"))
    db.session.commit()
    # response 1: TC1 5 → 2, TC2 5 → not applicable, TC3 5 → unanswered; response 2: TC1 4 → 2
    assert _tally(db, "TC1") == _moved(tc1, {5: -1, 4: -1, 2: +2})
    assert _tally(db, "TC2") == _moved(tc2, {5: -1, 0: +1})
    assert _tally(db, "TC3") == _moved(tc3, {5: -1})

    # the tally the database keeps equals the one counted from the exported answers
    out = tmp_path / "export"
    result = runner.invoke(args=["export-responses", "--campaign", "demo", "--out", str(out)])
    assert result.exit_code == 0, result.output
    responses, book = read_export(out)
    first = responses[responses["response_id"].astype(str) == "1"].iloc[0]
    assert first["TC1"] == 2 and pd.isna(first["TC2"]) and pd.isna(first["TC3"])
    conn = db.session.connection()
    campaign_id = db.session.get(Response, 1).campaign_id
    for exclude in (False, True):
        kept = responses[responses["review_state"] != "rejected"] if exclude else responses
        expected = _counts(tally_from_responses(kept, book))
        stored = _counts(loader.tally(conn, campaign_id, exclude_rejected=exclude))
        assert stored == expected and len(stored) > 40
        # the counts array the indices are computed from, rejected ones subtracted
        cube = loader.tally_counts(conn, campaign_id, book, exclude_rejected=exclude)
        from_cube = sorted(
            (agency, item, score, int(cube.counts[a, i, score]))
            for a, agency in enumerate(cube.agencies) for i, item in enumerate(cube.items)
            for score in range(1, 6) if cube.counts[a, i, score] > 0)
        assert from_cube == expected

    # the answers the bootstrap resamples are the effective ones too
    ids = sorted(int(i) for i in responses["response_id"])
    items = [str(c) for c in book.loc[book["type"] == "satisfaction", "item_code"]]
    matrix = loader.satisfaction_answers(conn, ids, book)
    exported = responses.set_index(responses["response_id"].astype(int)).loc[ids, items]
    assert ((matrix == exported.to_numpy(dtype=float)) | (
        pd.isna(matrix) & exported.isna().to_numpy())).all()
    assert matrix[ids.index(1), items.index("TC1")] == 2

    # the results page's cache sees the correction
    indices_after = read_indices(io.StringIO(client.get("/results/demo/indices.csv").text))
    assert not indices_after.equals(indices_before)


# --- verification of the bundle ----------------------------------------------------------

def test_bundle_with_corrections_verifies(collected, runner, db, tmp_path):
    from survey_app.services import corrections

    admin = user(db, "admin")
    corrections.correct(1, {"TC1": "3", "GIOI_TINH": "2"}, "Sửa lỗi nhập", admin)
    corrections.correct(1, {"TC1": "4"}, "Sửa lần nữa", admin)
    corrections.correct(3, {"Y_KIEN": "Chờ lâu, cần \"nhanh\" hơn\nvà gọn hơn"}, "Ý kiến", admin)
    db.session.commit()
    bundle = export_bundle(runner, tmp_path)
    code, out = run_analysis("verify", bundle)
    assert code == 0, out
    assert "4 responses, 3 later events" in out
    rows = _bundle_rows(bundle)
    assert rows["1"]["TC1"] == "4" and rows["1"]["GIOI_TINH"] == "2"
    assert rows["3"]["Y_KIEN"] == "Chờ lâu, cần \"nhanh\" hơn\nvà gọn hơn"
    # The export's file is exactly the one the ledger implies, quoting included: the
    # verifier needs no row-by-row comparison.
    assert verify_bundle(bundle).responses_compared == "whole file"


def test_answer_changed_in_the_database_after_a_correction(collected, runner, db, tmp_path):
    from survey_app.services import corrections

    corrections.correct(1, {"TC1": "3"}, "Sửa lỗi nhập", user(db, "admin"))
    db.session.commit()
    tamper(db, "UPDATE response SET answers = replace(answers, :old, :new) WHERE id = 1",
         old='"TC2":5', new='"TC2":1')
    code, out = run_analysis("verify", export_bundle(runner, tmp_path))
    assert code == 1
    assert "ALTERED: response 1" in out and "TC2: ledger '5' bundle '1'" in out
    assert "TC1" not in out  # the legitimate correction is not reported


def test_correction_edited_in_the_database(collected, runner, db, tmp_path):
    from survey_app.services import corrections

    corrections.correct(1, {"TC1": "3"}, "Sửa lỗi nhập", user(db, "admin"))
    db.session.commit()
    tamper(db, "UPDATE response_correction SET changes = :c", c='{"TC1":1}')
    code, out = run_analysis("verify", export_bundle(runner, tmp_path))
    assert code == 1 and "ALTERED: response 1" in out and "TC1: ledger '3' bundle '1'" in out


def test_forged_correction_without_a_ledger_event(collected, runner, db, tmp_path):
    admin = user(db, "admin")
    tamper(db, "INSERT INTO response_correction (response_id, changes, previous, reason, "
             "corrected_by_id, corrected_at) VALUES (2, :c, :p, 'x', :u, CURRENT_TIMESTAMP)",
         c='{"CC1":1}', p='{"CC1":4}', u=admin.id)
    code, out = run_analysis("verify", export_bundle(runner, tmp_path))
    assert code == 1 and "ALTERED: response 2" in out and "CC1: ledger '4' bundle '1'" in out


def test_forged_correction_event_in_the_bundle(collected, runner, db, tmp_path):
    """A correction event added to the bundle's ledger (with the bundle's answers edited to
    match) breaks the chain."""
    bundle = export_bundle(runner, tmp_path)
    with zipfile.ZipFile(bundle) as zf:
        files = {n: zf.read(n) for n in zf.namelist()}
    ledger_rows = list(csv.reader(io.StringIO(files["ledger.csv"].decode())))
    last = ledger_rows[-1]
    forged = json.dumps({"kind": "correction", "response_id": 2, "changes": {
        "CC1": {"from": 4, "to": 1}}, "reason": "x"})
    ledger_rows.append([str(int(last[0]) + 1), "correction", last[2], last[3], last[5],
                        "0" * 64, forged])
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(ledger_rows)
    files["ledger.csv"] = out.getvalue().encode()
    edited = tmp_path / "edited.zip"
    with zipfile.ZipFile(edited, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    code, out = run_analysis("verify", edited)
    assert code == 1 and f"ledger entry {int(last[0]) + 1} (correction" in out
    assert "does not match its hash" in out


# --- who may correct, and bad input ------------------------------------------------------

@pytest.mark.parametrize("values, reason, message", [
    ({"XYZ": "1"}, "Lý do", "XYZ: không có câu hỏi mã này trong phiếu."),
    ({"TC1": "7"}, "Lý do", "TC1: giá trị phải là 1–5, hoặc 0 (không áp dụng)."),
    ({"UT1": "4"}, "Lý do", "UT1: giá trị phải là 1, 2 hoặc 3."),
    ({"GIOI_TINH": "9"}, "Lý do", "GIOI_TINH: giá trị phải là một trong"),
    ({"TC1": "5"}, "Lý do", "TC1: giá trị mới trùng với giá trị hiện có."),
    ({"TC1": "3"}, "   ", "Cần ghi lý do đính chính."),
    ({"TC1": "3"}, "gọi 0912 345 678", "không được chứa số điện thoại"),
    ({}, "Lý do", "Chưa nhập giá trị mới nào để đính chính."),
])
def test_bad_input_is_refused_and_writes_nothing(collected, client, login, db, values, reason,
                                                 message):
    login("admin")
    before = _written(db)
    resp = _correct(client, 1, reason=reason, **values)
    assert resp.status_code == 400
    assert message in resp.text
    db.session.expire_all()
    assert _written(db) == before


def test_a_refused_item_refuses_the_whole_correction(collected, client, login, db):
    login("admin")
    before = _written(db)
    resp = _correct(client, 1, TC1="3", TC2="9")
    assert resp.status_code == 400 and "TC2: giá trị phải là 1–5" in resp.text
    assert 'value="3"' in resp.text  # what was typed is kept
    db.session.expire_all()
    assert _written(db) == before


def test_unknown_response(collected, client, login, db):
    from survey_app.services import corrections

    login("admin")
    token = csrf_token(client.get("/audit/responses/1").text)
    resp = client.post("/audit/responses/999/correct", data={
        "csrf_token": token, "reason": "Lý do", "new-TC1": "3"})
    assert resp.status_code == 404
    with pytest.raises(corrections.CorrectionRefused, match="Không có phiếu số 999"):
        corrections.correct(999, {"TC1": "3"}, "Lý do", user(db, "admin"))


@pytest.mark.parametrize("role", ["auditor", "officer", "clerk"])
def test_only_admins_correct(collected, client, login, make_user, db, role):
    make_user(f"t-{role}", role, "X-SONDUONG" if role == "officer" else None)
    login(f"t-{role}")
    before = _written(db)
    token = csrf_token(client.get("/staff").text)
    resp = client.post("/audit/responses/1/correct", data={
        "csrf_token": token, "reason": "Lý do", "new-TC1": "3"})
    assert resp.status_code == 403
    db.session.expire_all()
    assert _written(db) == before


def test_no_one_corrects_their_own_agency(collected, make_user, db):
    from survey_app.services import corrections

    make_user("admin-xa", "admin", "X-SONDUONG")
    with pytest.raises(corrections.CorrectionRefused, match="chính cơ quan mình"):
        corrections.correct(1, {"TC1": "3"}, "Lý do", user(db, "admin-xa"))
    with pytest.raises(corrections.CorrectionRefused, match="Chỉ quản trị viên"):
        corrections.correct(1, {"TC1": "3"}, "Lý do", user(db, "mttq"))
    # the same account may correct another agency's response
    corrections.correct(4, {"TC1": "3" if varied(2)["TC1"] != "3" else "2"}, "Lý do",
                        user(db, "admin-xa"))
