"""The answer tally is checked against the responses it counts: `flask check-tally`, every
checkpoint, and the results pages, which refuse a campaign whose tally is wrong."""

import re

import pytest
from audit_helpers import answer_open
from sqlalchemy import select, text
from web_helpers import full_answers

from survey_app.models import AuditLog, Campaign, LedgerCheckpoint


@pytest.fixture
def collected(demo):
    """Five responses to X-SONDUONG: three counted in the tally by a step (TALLY_STEP is 3
    in the tests), two after its mark."""
    for score in (5, 4, 2, 3, 1):
        answer_open(demo, full_answers(score))
    return demo


def _cell(db, item="TC1", score=4):
    return {"c": db.session.scalar(select(Campaign.id).filter_by(code="demo")),
            "i": db.session.execute(text(
                "SELECT i.id FROM item i JOIN campaign c ON c.version_id = i.version_id "
                "WHERE c.code = 'demo' AND i.code = :code"), {"code": item}).scalar_one(),
            "s": score}


def _change(db, delta: int, **cell) -> None:
    params = _cell(db, **cell)
    changed = db.session.execute(text(
        "UPDATE answer_tally SET n = n + :d WHERE campaign_id = :c AND item_id = :i "
        "AND score = :s"), {**params, "d": delta}).rowcount
    db.session.commit()
    assert changed == 1


def test_check_tally_names_a_changed_count_and_passes_once_restored(collected, db, runner):
    result = runner.invoke(args=["check-tally"])
    assert result.exit_code == 0, result.output
    assert "khớp" in result.output and "1 đợt" in result.output

    _change(db, +1)
    result = runner.invoke(args=["check-tally", "--campaign", "demo"])
    assert result.exit_code == 1
    assert ("Đợt demo, cơ quan X-SONDUONG, câu TC1, điểm 4: bảng đếm ghi 2, đếm lại từ "
            "phiếu được 1.") in result.output
    assert "không khớp ở 1/1 đợt" in result.output

    _change(db, -1)
    assert runner.invoke(args=["check-tally", "--campaign", "demo"]).exit_code == 0


def test_a_count_moved_between_cells_is_named_twice(collected, db, runner):
    _change(db, -1, score=5)
    _change(db, +1, score=2, item="TC2")
    result = runner.invoke(args=["check-tally"])
    assert result.exit_code == 1
    assert "câu TC1, điểm 5: bảng đếm ghi 0, đếm lại từ phiếu được 1." in result.output
    assert "câu TC2, điểm 2: bảng đếm ghi 2, đếm lại từ phiếu được 1." in result.output


def test_check_tally_unknown_campaign(demo, runner):
    result = runner.invoke(args=["check-tally", "--campaign", "khong-co"])
    assert result.exit_code == 1 and "khong-co" in result.output
    assert "Traceback" not in result.output


def test_results_pages_refuse_a_wrong_tally_and_show_it_again_once_restored(
        collected, db, client, login):
    login("admin")
    assert client.get("/results/demo").status_code == 200
    _change(db, +1)
    for path in ("/results/demo", "/results/demo/indices.csv", "/results/demo/report",
                 "/results/demo/chart/ranking.svg"):
        page = client.get(path)
        assert page.status_code == 409, path
    page = client.get("/results/demo")
    assert "bảng đếm câu trả lời không khớp" in page.text
    assert "cơ quan X-SONDUONG, câu TC1, điểm 4: bảng đếm ghi 2" in page.text
    _change(db, -1)
    assert client.get("/results/demo").status_code == 200
    assert client.get("/results/demo/indices.csv").status_code == 200


def test_results_follow_the_tally_as_it_grows_and_is_corrected(collected, db, client,
                                                               login, runner):
    """The check the pages run is kept between views: new responses (a step of the
    tally) and a correction must not be taken for a fault, and a fault after them is
    still found."""
    from survey_app.models import User
    from survey_app.services import corrections

    login("admin")
    assert client.get("/results/demo").status_code == 200
    for score in (2, 2, 2, 5):  # the mark moves past them
        answer_open(collected, full_answers(score))
    assert client.get("/results/demo").status_code == 200
    admin = db.session.scalar(select(User).filter_by(username="admin"))
    corrections.correct(1, {"TC1": "1"}, "Sửa lỗi nhập", admin)
    db.session.commit()
    assert client.get("/results/demo").status_code == 200
    _change(db, -1, score=2)
    assert client.get("/results/demo").status_code == 409
    assert runner.invoke(args=["check-tally"]).exit_code == 1
    _change(db, +1, score=2)
    assert client.get("/results/demo").status_code == 200


def test_checkpoint_records_the_tally_digest_and_reports_a_wrong_tally(collected, db,
                                                                       runner):
    from analysis import load

    result = runner.invoke(args=["checkpoint", "--campaign", "demo"])
    assert result.exit_code == 0, result.output
    assert "bảng đếm khớp" in result.output
    cp = db.session.scalar(select(LedgerCheckpoint).order_by(LedgerCheckpoint.id.desc()))
    campaign_id = db.session.scalar(select(Campaign.id).filter_by(code="demo"))
    expected = load.check_tally(db.session.connection(), campaign_id).digest
    assert re.fullmatch(r"[0-9a-f]{64}", cp.tally_digest) and cp.tally_digest == expected

    _change(db, +1)
    result = runner.invoke(args=["checkpoint", "--campaign", "demo"])
    assert result.exit_code == 1
    assert "câu TC1, điểm 4: bảng đếm ghi 2, đếm lại từ phiếu được 1." in result.output
    assert "mốc kiểm tra của sổ cái vẫn được ghi" in result.output
    db.session.expire_all()
    cps = db.session.scalars(select(LedgerCheckpoint).order_by(LedgerCheckpoint.id)).all()
    assert len(cps) == 2 and cps[-1].tally_digest is None
    logged = db.session.scalars(select(AuditLog).filter_by(action="ledger.checkpoint")
                                .order_by(AuditLog.seq)).all()
    assert logged[-1].after["tally_differences"] == 1

    _change(db, -1)
    result = runner.invoke(args=["checkpoint", "--campaign", "demo"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    last = db.session.scalar(select(LedgerCheckpoint).order_by(LedgerCheckpoint.id.desc()))
    assert last.tally_digest == expected


def test_checkpoint_button_reports_a_wrong_tally(collected, db, client, login):
    from web_helpers import csrf_token

    login("mttq")
    _change(db, +1)
    page = client.get("/audit/demo")
    resp = client.post("/audit/demo/checkpoint", data={"csrf_token": csrf_token(page.text)},
                       follow_redirects=True)
    assert resp.status_code == 200
    assert "Đã ghi mốc kiểm tra" in resp.text
    assert "KHÔNG khớp" in resp.text and "câu TC1, điểm 4: bảng đếm ghi 2" in resp.text


def test_first_view_starts_from_the_last_checked_checkpoint(collected, db, client, login,
                                                            runner, monkeypatch):
    """A process's first view does not recount the whole campaign when a checkpoint found
    the tally right: only what came since (responses, a correction) is counted; a fault
    is still found and named."""
    from analysis import load
    from survey_app.models import User
    from survey_app.services import corrections

    assert runner.invoke(args=["checkpoint", "--campaign", "demo"]).exit_code == 0
    for score in (2, 2, 2, 5):
        answer_open(collected, full_answers(score))
    admin = db.session.scalar(select(User).filter_by(username="admin"))
    corrections.correct(2, {"TC1": "1"}, "Sửa lỗi nhập", admin)
    db.session.commit()
    counted = []
    recount = load.recount_tally

    def spy(conn, campaign_id, first, last, last_fix, ids=None):
        counted.append((first, ids))
        return recount(conn, campaign_id, first, last, last_fix, ids=ids)

    monkeypatch.setattr(load, "recount_tally", spy)
    login("admin")
    collected.extensions.pop("tally_checks", None)  # as a new process
    assert client.get("/results/demo").status_code == 200
    assert counted and (0, None) not in counted  # never the whole campaign
    assert (3, None) in counted and (0, [2]) in counted

    _change(db, +1, score=2)
    collected.extensions.pop("tally_checks", None)
    page = client.get("/results/demo")
    assert page.status_code == 409 and "câu TC1, điểm 2: bảng đếm ghi" in page.text
    assert (0, None) in counted  # the whole campaign, to name the fault


def test_checkpoints_follow_the_tally(collected, db, runner):
    """A later checkpoint, checked from the one before, records the digest a full recount
    gives of the tally then, with its mark."""
    from analysis import load

    assert runner.invoke(args=["checkpoint", "--campaign", "demo"]).exit_code == 0
    for score in (1, 2, 3, 4):
        answer_open(collected, full_answers(score))
    result = runner.invoke(args=["checkpoint", "--campaign", "demo"])
    assert result.exit_code == 0, result.output
    campaign_id = db.session.scalar(select(Campaign.id).filter_by(code="demo"))
    full = load.check_tally(db.session.connection(), campaign_id)
    first, last = db.session.scalars(select(LedgerCheckpoint).order_by(LedgerCheckpoint.id))
    assert (last.tally_digest, last.tally_mark) == (full.digest, full.mark) == (
        last.tally_digest, 9)
    assert first.tally_digest != last.tally_digest and first.tally_mark == 3
