"""Results kept between computations (`derived_result`): a group's bootstrap intervals
found under the digest of its inputs are exactly those computing gives; a new response,
a correction or a rejection makes only the groups it touches be computed again; the
nightly `flask checkpoint` computes them ahead with the quality-flag counts, which the
official report then takes; old results are removed; a result that cannot be kept
changes nothing but the next view's time."""

from datetime import timedelta

import pandas as pd
import pytest
from results_helpers import ANSWERS, answer, reject
from sqlalchemy import func, select, update
from web_helpers import full_answers

from analysis import report as rep
from survey_app.models import DerivedResult, Response, User
from survey_app.services import derived, results


def _collect(demo, db):
    for agency, answers in ANSWERS * 2:
        answer(demo, db, "demo", agency, answers)


def _fresh(app):
    """The results of a new process: the per-application cache emptied."""
    app.extensions.pop("results_cache", None)


def _compute(app, *, cap=2, exclude_rejected=False):
    _fresh(app)
    return results.campaign_indices(results.get("demo"), bootstrap=200, seed=3, cap=cap,
                                    exclude_rejected=exclude_rejected)


def _tables(res):
    return [res.agencies, res.subtrees, res.overall]


def _same(first, second):
    for a, b in zip(_tables(first), _tables(second), strict=True):
        pd.testing.assert_frame_equal(a, b)


@pytest.fixture
def counted(monkeypatch):
    """Records the groups each bootstrap computes (the store's misses)."""
    seen = []
    original = rep.bootstrap_batches

    def counting(batches, *args, **kwargs):
        def tap():
            for scores, groups in batches:
                seen.extend(groups)
                yield scores, groups
        return original(tap(), *args, **kwargs)

    monkeypatch.setattr(rep, "bootstrap_batches", counting)
    return seen


def _kept(db, kind="interval"):
    return db.session.scalar(select(func.count()).select_from(DerivedResult)
                             .where(DerivedResult.kind == kind))


def test_kept_intervals_are_exactly_the_computed_ones(demo, db, counted):
    _collect(demo, db)
    first = _compute(demo)
    assert counted and _kept(db) > 0
    assert not first.capped.empty  # cap 2: the groups are sampled, as at scale
    counted.clear()
    second = _compute(demo)
    assert counted == []  # nothing bootstrapped again: every group was kept
    _same(first, second)
    pd.testing.assert_frame_equal(first.capped, second.capped)
    # A kept group removed: that group alone is computed again, to the same figures.
    gone = db.session.scalars(select(DerivedResult.key).where(
        DerivedResult.kind == "interval")).first()
    db.session.execute(DerivedResult.__table__.delete().where(DerivedResult.key == gone))
    db.session.commit()
    _same(first, _compute(demo))
    assert len(counted) == 1
    # And the same as computing with nothing kept at all.
    db.session.execute(DerivedResult.__table__.delete())
    db.session.commit()
    _same(first, _compute(demo))


def test_only_the_groups_a_new_response_touches_are_computed_again(demo, db, counted):
    _collect(demo, db)
    _compute(demo, cap=None)
    counted.clear()
    answer(demo, db, "demo", "P-MYLAM", full_answers(1))
    after = _compute(demo, cap=None)
    # P-MYLAM's own group and the groups above it: never X-SONDUONG's own.
    assert "P-MYLAM" in counted and "X-SONDUONG" not in counted
    db.session.execute(DerivedResult.__table__.delete())
    db.session.commit()
    _same(after, _compute(demo, cap=None))


def test_a_correction_or_a_rejection_recomputes_the_group(demo, db, counted):
    from survey_app.services import corrections

    _collect(demo, db)
    _compute(demo, cap=None, exclude_rejected=True)
    counted.clear()
    target = db.session.scalars(select(Response).order_by(Response.id)).all()[0]
    admin = db.session.scalar(select(User).filter_by(username="admin"))
    corrections.correct(target.id, {"TC2": "1", "TC3": "1"}, "nhập sai", admin)
    db.session.commit()
    corrected = _compute(demo, cap=None, exclude_rejected=True)
    assert "X-SONDUONG" in counted and "P-MYLAM" not in counted
    counted.clear()
    reject(db, 3)  # a P-MYLAM response
    rejected = _compute(demo, cap=None, exclude_rejected=True)
    assert "P-MYLAM" in counted and "X-SONDUONG" not in counted
    db.session.execute(DerivedResult.__table__.delete())
    db.session.commit()
    _same(rejected, _compute(demo, cap=None, exclude_rejected=True))
    assert not corrected.agencies.equals(rejected.agencies)


def test_a_result_that_cannot_be_kept_changes_nothing(demo, db, monkeypatch):
    _collect(demo, db)
    if db.engine.dialect.name == "sqlite":
        # This request's own transaction holds SQLite's write lock: the store's writer
        # must not wait for it, nor fail the page.
        db.session.execute(update(User).where(User.username == "admin")
                           .values(full_name=User.full_name))
    first = _compute(demo)
    if db.engine.dialect.name == "sqlite":
        assert _kept(db) == 0
    db.session.rollback()
    _same(first, _compute(demo))


def test_checkpoint_computes_ahead_and_the_report_takes_the_flags(demo, db, runner,
                                                                   monkeypatch, counted):
    from analysis import load_audit
    from survey_app.services import official

    _collect(demo, db)
    result = runner.invoke(args=["checkpoint", "--campaign", "demo"])
    assert result.exit_code == 0, result.output
    assert "Đã tính sẵn khoảng tin cậy và cờ chất lượng" in result.output
    assert _kept(db) > 0 and _kept(db, "flags") == 1
    counted.clear()

    def no_flags(*args, **kwargs):
        raise AssertionError("the flags were computed again")

    monkeypatch.setattr(load_audit, "flags", no_flags)
    _fresh(demo)
    order = official.Order(kind="province", campaigns=[results.get("demo")])
    gathered = official.gather(order)
    assert counted == []  # the report's intervals were kept too
    assert int(gathered.flag_counts["responses"].sum()) == len(ANSWERS) * 2
    # A new response: the kept counts no longer apply, and are computed afresh.
    answer(demo, db, "demo", "P-MYLAM", full_answers(4))
    with pytest.raises(AssertionError, match="computed again"):
        official.gather(order)


def test_checkpoint_removes_old_results_it_did_not_use(demo, db, runner):
    _collect(demo, db)
    derived.save("interval", {"0" * 64: [["service", "SIPAS", 50.0, 40.0, 60.0]]})
    db.session.execute(update(DerivedResult).values(
        created_at=DerivedResult.created_at - derived.KEEP_FOR - timedelta(hours=1)))
    db.session.commit()
    result = runner.invoke(args=["checkpoint", "--campaign", "demo"])
    assert result.exit_code == 0, result.output
    keys = set(db.session.scalars(select(DerivedResult.key)))
    assert "0" * 64 not in keys
    assert keys  # what the run used is kept, however old
    assert "xoá 1 kết quả cũ" in result.output


def test_a_kept_interval_changed_in_the_database_is_named_by_verify(demo, db, runner,
                                                                    tmp_path):
    """The store is no source of truth: the auditor's verify recomputes the intervals
    from the bundle and names the cells a tampered store put into a report."""
    from audit_helpers import export_bundle, run_analysis

    _collect(demo, db)
    honest, tampered = tmp_path / "bao-cao.docx", tmp_path / "sua.docx"
    result = runner.invoke(args=["report", "--campaign", "demo", "--out", str(honest)])
    assert result.exit_code == 0, result.output
    bundle = export_bundle(runner, tmp_path)
    code, text = run_analysis("verify", bundle, "--report", honest)
    assert code == 0 and "REPORT OK" in text, text
    narrowed = 0
    for row in db.session.scalars(select(DerivedResult).filter_by(kind="interval")):
        rows = derived._unpack(row.payload)
        row.payload = derived._pack([
            [level, code, index, index - 0.5, index + 0.5] if index is not None else
            [level, code, index, low, high] for level, code, index, low, high in rows])
        narrowed += 1
    db.session.commit()
    assert narrowed
    _fresh(demo)
    result = runner.invoke(args=["report", "--campaign", "demo", "--out", str(tampered)])
    assert result.exit_code == 0, result.output
    code, text = run_analysis("verify", bundle, "--report", tampered)
    assert code == 1 and "DIFFERS" in text, text
