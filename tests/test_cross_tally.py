"""The kept cross counts (`cross_tally`): breakdowns by channel or by a profile question
and the report's profile and priority counts come from them, and they must say what a
recount of the responses says — after a correction, with a rejected response, with the
responses after the tally's mark — and a tampered count must be found by the check."""

import pandas as pd
import pytest
from results_helpers import answer, reject
from sqlalchemy import select, text
from web_helpers import full_answers

import analysis
from analysis import kinds, load, load_cross
from analysis import report as rep
from survey_app.models import Campaign, Response, User
from survey_app.questions import REGISTRY


@pytest.fixture
def collected(demo, db):
    """Eleven responses: open links and the API (its channel), profile answers (a
    multiple choice among them), priorities; TALLY_STEP is 3 in the tests, so some lie
    after the tally's mark."""
    from survey_app.services import api_keys

    for k, (agency, score, sex) in enumerate([
            ("X-SONDUONG", 5, "1"), ("X-SONDUONG", 4, "2"), ("X-SONDUONG", 2, "1"),
            ("P-MYLAM", 3, "2"), ("P-MYLAM", 1, None), ("X-SONDUONG-1C", 4, "1"),
            ("X-SONDUONG", 3, "2")]):
        extra = {"UT1": str(k % 3 + 1), "UT2": "2"}
        if sex:
            extra["GIOI_TINH"] = sex
        answer(demo, db, "demo", agency, full_answers(score, **extra))
    _, plain = api_keys.create_key("Kiosk", "X-SONDUONG")
    db.session.commit()
    kiosk = demo.test_client()
    for score, channels in ((4, ["1", "3"]), (2, ["3"]), (5, []), (3, ["2", "3"])):
        answers = {code: int(v) for code, v in full_answers(score).items()}
        answers.update({"GIOI_TINH": "2", "UT1": 3})
        if channels:
            answers["KENH_TT"] = channels
        resp = kiosk.post("/api/v1/responses", headers={"Authorization": f"Bearer {plain}"},
                          json={"campaign": "demo", "agency": "X-SONDUONG",
                                "answers": answers})
        assert resp.status_code == 201, resp.json
    return demo


def _recount(db, by, *, exclude_rejected, scope=None):
    """The breakdown's tally as it was computed before the kept counts: every response
    read, grouped and counted."""
    conn = db.session.connection()
    cid = db.session.scalar(select(Campaign.id).filter_by(code="demo"))
    book = load.codebook(conn, db.session.get(Campaign, cid).version_id)
    responses = rep.blank_to_missing(load.responses(conn, cid, book))
    if exclude_rejected:
        responses = analysis.exclude_rejected(responses)
    if scope is not None:
        responses = responses[responses["agency_code"].isin(scope)]
    grouped = rep.breakdown_groups(responses, book, by)
    return analysis.indices_table(rep.sum_tallies([analysis.tally_from_responses(
        grouped, book)]), book)


def _correct_and_reject(db):
    from survey_app.services import corrections

    admin = db.session.scalar(select(User).filter_by(username="admin"))
    # The first response (counted by a step): from Nam to Nữ, and one score changed.
    corrections.correct(1, {"GIOI_TINH": "2", "TC1": "1", "UT1": "3"}, "Sửa lỗi nhập", admin)
    db.session.commit()
    reject(db, 2)


@pytest.mark.parametrize("by", ["channel", "GIOI_TINH", "KENH_TT"])
def test_breakdown_from_kept_counts_equals_a_recount(collected, db, by):
    from survey_app.services import results

    _correct_and_reject(db)
    campaign = results.get("demo")
    for exclude in (False, True):
        split = results.breakdown([campaign], by, exclude_rejected=exclude, bootstrap=0)
        pd.testing.assert_frame_equal(split.table, _recount(db, by, exclude_rejected=exclude))
        assert len(split.table)
    scoped = results.breakdown([campaign], by, agency="X-SONDUONG", exclude_rejected=True,
                               bootstrap=0)
    pd.testing.assert_frame_equal(scoped.table, _recount(
        db, by, exclude_rejected=True, scope={"X-SONDUONG", "X-SONDUONG-1C"}))


def test_breakdown_with_bootstrap_matches_the_whole_read_when_groups_are_small(collected,
                                                                              db):
    from survey_app.services import results

    _correct_and_reject(db)
    campaign = results.get("demo")
    split = results.breakdown([campaign], "GIOI_TINH", exclude_rejected=True, bootstrap=200)
    conn = db.session.connection()
    book = load.codebook(conn, campaign.version_id)
    responses = analysis.exclude_rejected(load.responses(conn, campaign.id, book))
    expected = analysis.breakdown(rep.blank_to_missing(responses), book, "GIOI_TINH",
                                  n_boot=200, seed=0)
    service = expected[expected["level"] == "service"].set_index("GIOI_TINH")
    mine = split.table[split.table["level"] == "service"].set_index("agency_code")
    for group in ("1", "2"):
        assert mine.loc[group, "ci_low"] == pytest.approx(service.loc[group, "ci_low"])
        assert mine.loc[group, "ci_high"] == pytest.approx(service.loc[group, "ci_high"])


def test_answer_counts_equal_a_recount(collected, db):
    _correct_and_reject(db)
    conn = db.session.connection()
    cid = db.session.scalar(select(Campaign.id).filter_by(code="demo"))
    for exclude in (False, True):
        expected: dict[tuple, int] = {}
        for r in db.session.scalars(select(Response).order_by(Response.id)):
            if exclude and r.reviews and r.reviews[-1].state == "rejected":
                continue
            for code, value in r.effective_answers.items():
                if code in ("GIOI_TINH", "KENH_TT", "UT1", "UT2"):
                    for v in value if isinstance(value, list) else [value]:
                        key = (r.agency.code, code, str(v))
                        expected[key] = expected.get(key, 0) + 1
        counts = load_cross.answer_counts(conn, [cid], exclude_rejected=exclude)
        assert list(counts.columns) == ["agency_code", "item_code", "value", "n"]
        assert {tuple(r[:3]): r[3] for r in counts.itertuples(index=False)} == expected
    only = load_cross.answer_counts(conn, [cid], agency_codes={"P-MYLAM"})
    assert set(only["agency_code"]) == {"P-MYLAM"}
    assert only.loc[only["item_code"] == "GIOI_TINH", "n"].sum() == 1


def test_check_names_a_tampered_cross_count(collected, db, runner, client, login):
    _correct_and_reject(db)
    assert runner.invoke(args=["check-tally"]).exit_code == 0
    row = db.session.execute(text(
        "SELECT t.campaign_id, t.agency_id, t.group_value, t.counts FROM cross_tally t "
        "JOIN agency a ON a.id = t.agency_id WHERE a.code = 'X-SONDUONG' "
        "AND t.group_by = 'GIOI_TINH' ORDER BY t.group_value")).first()
    cid = row[0]
    plan = load_cross.plan(db.session.connection(), cid)
    counts = load_cross.decode(row[3], plan.size)
    slot = plan.scored["TC2"] + 5
    counts[slot] += 1
    db.session.execute(text(
        "UPDATE cross_tally SET counts = :n WHERE campaign_id = :c AND agency_id = :a "
        "AND group_by = 'GIOI_TINH' AND group_value = :v"),
        {"n": load_cross.encode(counts), "c": cid, "a": row[1], "v": row[2]})
    db.session.commit()
    result = runner.invoke(args=["check-tally", "--campaign", "demo"])
    assert result.exit_code == 1
    assert (f"cơ quan X-SONDUONG, nhóm GIOI_TINH = {row[2]}, câu TC2, điểm 5: bảng đếm "
            f"chéo ghi {counts[slot]}, đếm lại từ phiếu được {counts[slot] - 1}."
            ) in result.output
    login("admin")
    assert client.get("/results/demo?by=GIOI_TINH").status_code == 409
    counts[slot] -= 1
    db.session.execute(text(
        "UPDATE cross_tally SET counts = :n WHERE campaign_id = :c AND agency_id = :a "
        "AND group_by = 'GIOI_TINH' AND group_value = :v"),
        {"n": load_cross.encode(counts), "c": cid, "a": row[1], "v": row[2]})
    db.session.commit()
    assert runner.invoke(args=["check-tally", "--campaign", "demo"]).exit_code == 0
    assert client.get("/results/demo?by=GIOI_TINH").status_code == 200


def test_analysis_kinds_agree_with_the_registry():
    """The cross counts are laid out by `analysis.kinds` (the recount needs no
    application) and kept by the application: the two must name the same types."""
    for name, qtype in REGISTRY.items():
        assert kinds.is_grouping(name) == bool(qtype.groups), name
        assert kinds.is_counted(name) == (not qtype.scored and not qtype.free_text), name


def test_breakdown_bootstrap_of_a_large_scope_reads_a_bounded_sample(collected, db,
                                                                     monkeypatch):
    """Above cap x 2 x groups respondents, the bootstrap reads a random draw of response
    ids, not the campaign: the figures stay exact, the intervals come from the sample."""
    from analysis import load_responses
    from survey_app.services import results

    read = []
    among = load_responses.responses_among

    def spy(conn, campaign_id, book, *, ids=None, agency_ids=None, chunk_size=5_000):
        read.append(ids)
        yield from among(conn, campaign_id, book, ids=ids, agency_ids=agency_ids)

    monkeypatch.setattr(load, "responses_among", spy)
    campaign = results.get("demo")
    split = results.breakdown([campaign], "GIOI_TINH", bootstrap=100, cap=1)
    assert read and read[0] is not None and len(read[0]) <= 1 * 2 * 2 * 20
    exact = results.breakdown([campaign], "GIOI_TINH", bootstrap=0)
    pd.testing.assert_frame_equal(split.table[["agency_code", "level", "code", "n", "index"]],
                                  exact.table[["agency_code", "level", "code", "n", "index"]])
    assert set(split.capped["group"]) == {"1", "2"}
    service = split.table[split.table["level"] == "service"]
    assert service["ci_low"].notna().any()
