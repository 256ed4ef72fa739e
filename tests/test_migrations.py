"""Alembic migrations: empty → head on SQLite (and PostgreSQL when configured), and the
models describe exactly the schema the migrations build."""

import os

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.engine import make_url

from survey_app import create_app
from survey_app.extensions import db

PG_URL = os.environ.get("SURVEY_TEST_DATABASE_URL")
pytestmark = pytest.mark.db


def _pg_scratch_database() -> str:
    """A database of its own for the migration test, created afresh each run."""
    url = make_url(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1)
                   if PG_URL.startswith("postgresql://") else PG_URL)
    # Named after the test database, so that runs against different test databases (on
    # one server, at the same time) never drop each other's scratch database.
    scratch = f"{url.database}_migration"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{scratch}"'))
        conn.execute(text(f'CREATE DATABASE "{scratch}"'))
    admin.dispose()
    return url.set(database=scratch).render_as_string(hide_password=False)


@pytest.fixture(params=["sqlite", "postgresql"])
def migration_app(request, tmp_path):
    if request.param == "postgresql":
        if not PG_URL:
            pytest.skip("SURVEY_TEST_DATABASE_URL is not set: PostgreSQL migration test skipped")
        url = _pg_scratch_database()
    else:
        url = f"sqlite:///{tmp_path / 'migrate.sqlite'}"
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": url})
    yield app
    with app.app_context():
        db.engine.dispose()


def test_upgrade_from_empty_matches_models(migration_app):
    with migration_app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
        assert diff == [], f"models and migrations differ: {diff}"
        tables = set(inspect(db.engine).get_table_names())
        assert {"agency", "response", "audit_log", "campaign", "alembic_version"} <= tables


def test_migrated_schema_keeps_responses_append_only(migration_app):
    with migration_app.app_context():
        upgrade()
        with db.engine.begin() as conn:
            conn.execute(text("INSERT INTO audit_log (at, actor, action, object_type, object_id,"
                              " seq, prev_hash, hash)"
                              " VALUES (CURRENT_TIMESTAMP, 'a', 'b', 'c', 'd', 1, 'p', 'h')"))
        with pytest.raises(Exception, match="append-only"):
            with db.engine.begin() as conn:
                conn.execute(text("DELETE FROM audit_log"))


def test_downgrade_to_empty(migration_app):
    with migration_app.app_context():
        upgrade()
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}


def _triggers(conn, table: str) -> set[str]:
    if conn.dialect.name == "sqlite":
        return set(conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger' "
                                     "AND tbl_name = :t"), {"t": table}).scalars())
    return set(conn.execute(text("SELECT tgname FROM pg_trigger WHERE tgrelid = "
                                 "CAST(:t AS regclass) AND NOT tgisinternal"),
                            {"t": table}).scalars())


def test_corrections_migration_up_and_down(migration_app):
    """0005 adds the corrections table, append-only like the responses; going back to
    0004_archive removes it and nothing else, and upgrading again restores it."""
    with migration_app.app_context():
        upgrade(revision="0004_archive")
        before = set(inspect(db.engine).get_table_names())
        assert "response_correction" not in before
        upgrade()
        with db.engine.connect() as conn:
            assert _triggers(conn, "response_correction") in (
                {"response_correction_no_update", "response_correction_no_delete"},
                {"response_correction_append_only"})
        columns = {c["name"] for c in inspect(db.engine).get_columns("response_correction")}
        assert {"response_id", "changes", "previous", "reason", "corrected_by_id",
                "corrected_at"} <= columns
        downgrade(revision="0004_archive")
        assert set(inspect(db.engine).get_table_names()) == before
        upgrade()
        assert "response_correction" in inspect(db.engine).get_table_names()


def _response_indexes(engine) -> dict[str, list[str]]:
    return {ix["name"]: ix["column_names"] for ix in inspect(engine).get_indexes("response")}


def test_channel_index_migration_up_and_down(migration_app):
    """0006 replaces the (campaign, agency) index of the responses with one that also holds
    the channel, keeping the rows and the append-only guard; going back to 0005 restores
    the old index exactly, and upgrading again gives the new one."""
    with migration_app.app_context():
        upgrade(revision="0005")
        assert _response_indexes(db.engine)["ix_response_campaign_agency"] == [
            "campaign_id", "agency_id"]
        with db.engine.connect() as conn:
            guards = _triggers(conn, "response")
        assert guards
        upgrade()
        indexes = _response_indexes(db.engine)
        assert "ix_response_campaign_agency" not in indexes
        assert indexes["ix_response_campaign_agency_channel"] == [
            "campaign_id", "agency_id", "channel"]
        with db.engine.connect() as conn:
            # Index operations must not have rebuilt the table without its triggers.
            assert _triggers(conn, "response") == guards
            if conn.dialect.name == "postgresql":
                # The response id rides along, for index-only scans of (id, agency_id).
                definition = conn.execute(text(
                    "SELECT indexdef FROM pg_indexes WHERE indexname = "
                    "'ix_response_campaign_agency_channel'")).scalar_one()
                assert "INCLUDE (id)" in definition
        downgrade(revision="0005")
        indexes = _response_indexes(db.engine)
        assert "ix_response_campaign_agency_channel" not in indexes
        assert indexes["ix_response_campaign_agency"] == ["campaign_id", "agency_id"]
        with db.engine.connect() as conn:
            assert _triggers(conn, "response") == guards
        upgrade()
        assert "ix_response_campaign_agency_channel" in _response_indexes(db.engine)


def test_ledger_head_migration_up_and_down(migration_app):
    """0007 leaves the head row as a lock (the chain's end is its last entry); going back
    to 0006 gives the head its copy of each chain's last entry again."""
    from survey_app import demo, intake, ledger
    from survey_app.models import Campaign

    with migration_app.app_context():
        upgrade()
        demo.seed("correct horse battery")
        campaign = db.session.query(Campaign).filter_by(code="demo").one()
        for score in (4, 5):
            intake.record(campaign=campaign, agency=campaign.agencies[0], channel="api",
                             answers={"TC1": score})
        db.session.commit()
        seq, last_hash = ledger.head(campaign.id)
        assert seq >= 2
        assert {c["name"] for c in inspect(db.engine).get_columns("ledger_head")} == {
            "campaign_id"}
        db.session.remove()
        downgrade(revision="0006")
        with db.engine.connect() as conn:
            row = conn.execute(text("SELECT seq, hash FROM ledger_head WHERE campaign_id = :c"),
                               {"c": campaign.id}).one()
        assert tuple(row) == (seq, last_hash)
        upgrade()
        assert {c["name"] for c in inspect(db.engine).get_columns("ledger_head")} == {
            "campaign_id"}


def test_tally_mark_migration_up_and_down(migration_app):
    """Going back to 0008 counts the responses after each campaign's tally mark (their
    corrected answers) into the tally; 0009 then starts each mark at the campaign's last
    response, the tally counting every one. The indices' counts never change."""
    from analysis import load
    from survey_app import demo, intake
    from survey_app.models import Campaign, User
    from survey_app.services import corrections

    def table(conn) -> list:
        return conn.execute(text("SELECT campaign_id, agency_id, item_id, score, n "
                                 "FROM answer_tally WHERE n > 0 ORDER BY 1, 2, 3, 4")).all()

    with migration_app.app_context():
        upgrade()
        demo.seed("correct horse battery")
        campaign = db.session.query(Campaign).filter_by(code="demo").one()
        for k in range(5):
            intake.record(campaign=campaign, agency=campaign.agencies[k % 2],
                             channel="api", answers={"TC1": k % 6, "TC2": 5})
        db.session.commit()
        admin = db.session.query(User).filter_by(username="admin").one()
        corrections.correct(5, {"TC2": "1"}, "Sửa lỗi nhập", admin)
        db.session.commit()
        campaign_id = campaign.id
        counts = load.tally(db.session.connection(), campaign_id)
        assert counts["n"].sum() == 10
        with db.engine.connect() as conn:
            assert load.tally_mark(conn, campaign_id) == 0 and table(conn) == []
        db.session.remove()
        downgrade(revision="0008")
        with db.engine.connect() as conn:
            kept = table(conn)
        assert sum(row[-1] for row in kept) == 10
        upgrade()
        with db.engine.connect() as conn:
            assert load.tally_mark(conn, campaign_id) == 5 and table(conn) == kept
            assert load.tally(conn, campaign_id).equals(counts)


def test_ledger_entry_place_migration_up_and_down(migration_app, monkeypatch):
    """0010 renumbers each entry to its place (campaign_id * 2**32 + seq) and drops the
    (campaign_id, seq) index; the chains read and grow as before, a number cannot be used
    twice, and an id off its place is refused. Going back keeps the ids and the index."""
    from sqlalchemy.exc import IntegrityError

    from analysis import ledger as chain
    from survey_app import demo, ledger
    from survey_app.models import Campaign

    def index_names() -> set:
        found = inspect(db.engine)
        return ({i["name"] for i in found.get_indexes("ledger_entry")}
                | {u["name"] for u in found.get_unique_constraints("ledger_entry")})

    with migration_app.app_context():
        upgrade(revision="0009")
        migration_app.config["LEDGER_ENABLED"] = False  # the entries below are written by hand
        # No accounts: the user table at 0009 lacks columns the model has today; and no
        # audit rows: the audit log's chain comes with 0012.
        monkeypatch.setattr(demo, "DEMO_ACCOUNTS", [])
        with monkeypatch.context() as patched:
            patched.setattr("survey_app.services.audit.record", lambda *a, **k: None)
            demo.seed("correct horse battery")
        campaign_id = db.session.query(Campaign).filter_by(code="demo").one().id
        prev, hashes = chain.GENESIS, []
        for seq in (1, 2, 3):  # as 0009's code appended them: ids from a counter
            payload = f'{{"n":{seq}}}'
            prev = chain.entry_hash(prev, seq, payload)
            hashes.append(prev)
            db.session.execute(text(
                "INSERT INTO ledger_entry (campaign_id, seq, kind, ref, at, payload, "
                "prev_hash, hash) VALUES (:c, :s, 'test', 'r', :at, :p, :prev, :h)"),
                {"c": campaign_id, "s": seq, "at": "2026-11-27 00:00:00", "p": payload,
                 "prev": hashes[-2] if seq > 1 else chain.GENESIS, "h": prev})
        db.session.commit()
        assert "uq_ledger_entry_campaign_id" in index_names()
        db.session.remove()

        upgrade()
        migration_app.config["LEDGER_ENABLED"] = True
        ids = db.session.execute(text("SELECT id, seq FROM ledger_entry ORDER BY id")).all()
        assert [tuple(r) for r in ids] == [(chain.entry_id(campaign_id, s), s) for s in (1, 2, 3)]
        assert "uq_ledger_entry_campaign_id" not in index_names()
        assert ledger.head(campaign_id) == (3, hashes[-1])
        ledger.append(campaign_id, "test", "r", {"n": 4})
        db.session.commit()
        assert ledger.head(campaign_id)[0] == 4
        assert ledger.checkpoint(db.session.get(Campaign, campaign_id)).merkle_root == \
            chain.merkle_root(hashes + [ledger.head(campaign_id)[1]])
        db.session.commit()
        for place, seq in ((chain.entry_id(campaign_id, 4), 4),  # number 4 again
                           (chain.entry_id(campaign_id, 5) + 1, 5)):  # off its place
            with pytest.raises(IntegrityError):
                db.session.execute(text(
                    "INSERT INTO ledger_entry (id, campaign_id, seq, kind, ref, at, payload, "
                    "prev_hash, hash) VALUES (:id, :c, :s, 'x', 'r', :at, '{}', :h, :h)"),
                    {"id": place, "c": campaign_id, "s": seq, "at": "2026-11-27 00:00:00",
                     "h": chain.GENESIS})
            db.session.rollback()
        db.session.remove()

        downgrade(revision="0009")
        assert "uq_ledger_entry_campaign_id" in index_names()
        kept = db.session.execute(text("SELECT id FROM ledger_entry ORDER BY id")).scalars()
        assert list(kept) == [chain.entry_id(campaign_id, s) for s in (1, 2, 3, 4)]
        db.session.remove()
        upgrade()
        assert "uq_ledger_entry_campaign_id" not in index_names()


def test_audit_chain_migration_up_and_down(migration_app, tmp_path):
    """0012 chains the audit rows it finds, in id order (before and after as they were
    stored, times to the second); the application's next rows continue that chain, a
    bundle made afterwards verifies, the log stays append-only, and the checkpoints gain
    `tally_digest`. Going back keeps every row."""
    from analysis.ledger import GENESIS, audit_payload, entry_hash
    from analysis.verify import verify_bundle
    from survey_app import demo
    from survey_app.models import AuditLog, Campaign
    from survey_app.services import audit, bundle

    found = [("2026-01-02 03:04:05.678901", "admin", "user.create", "user", "mttq",
              None, '{"role": "auditor", "active": true}'),
             ("2026-01-03 00:00:00", "cli:root", "user.update", "user", "mttq",
              '{"role": "auditor", "active": true}', '{"role": "admin", "active": true}'),
             ("2026-01-04 12:00:00", "admin", "agency.update", "agency", "X-1",
              '{"name": "Xã  Một"}', '{"name": "Xã Một", "n": 1.5, "list": [1, "a"]}')]
    with migration_app.app_context():
        upgrade(revision="0010")
        with db.engine.begin() as conn:
            for row in found:
                conn.execute(text(
                    "INSERT INTO audit_log (at, actor, action, object_type, object_id, before, "
                    "after) VALUES (:at, :actor, :action, :t, :o, :b, :a)"),
                    dict(zip(("at", "actor", "action", "t", "o", "b", "a"), row, strict=True)))
        upgrade()
        rows = db.session.scalars(select(AuditLog).order_by(AuditLog.id)).all()
        assert [r.seq for r in rows] == [1, 2, 3]
        prev = GENESIS
        for row, (at, *_rest) in zip(rows, found, strict=True):
            content = audit_payload(at=at[:19].replace(" ", "T") + "Z", actor=row.actor,
                                    action=row.action, object_type=row.object_type,
                                    object_id=row.object_id, before=row.before,
                                    after=row.after)
            assert row.prev_hash == prev and row.hash == entry_hash(prev, row.seq, content)
            prev = row.hash
        assert audit.content(rows[0]) == audit_payload(
            at="2026-01-02T03:04:05Z", actor="admin", action="user.create", object_type="user",
            object_id="mttq", before=None, after={"role": "auditor", "active": True})
        with db.engine.connect() as conn:
            guards = _triggers(conn, "audit_log")
        assert guards in ({"audit_log_no_update", "audit_log_no_delete"},
                          {"audit_log_append_only"})
        with pytest.raises(Exception, match="append-only"):
            with db.engine.begin() as conn:
                conn.execute(text("UPDATE audit_log SET actor = 'x'"))
        assert "tally_digest" in {c["name"] for c in
                                  inspect(db.engine).get_columns("ledger_checkpoint")}
        with pytest.raises(Exception, match="UNIQUE|unique|duplicate"):
            with db.engine.begin() as conn:
                conn.execute(text(
                    "INSERT INTO audit_log (at, actor, action, object_type, object_id, seq, "
                    "prev_hash, hash) VALUES (CURRENT_TIMESTAMP, 'a', 'b', 'c', 'd', 3, 'p', "
                    "'h')"))

        demo.seed("correct horse battery")  # audited: the chain goes on from entry 3
        db.session.commit()
        seqs = list(db.session.scalars(select(AuditLog.seq).order_by(AuditLog.seq)))
        assert seqs[:4] == [1, 2, 3, 4] and seqs == list(range(1, len(seqs) + 1))
        campaign = db.session.scalar(select(Campaign).filter_by(code="demo"))
        report = verify_bundle(_export(campaign, tmp_path / "bundle.zip", bundle))
        assert report.ok and report.audit_entries == len(seqs), report.lines()
        assert any("#2" in line and "role" in line for line in report.account_events)
        db.session.remove()

        downgrade(revision="0010")
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM audit_log")).scalar() == len(seqs)
            assert _triggers(conn, "audit_log") and _triggers(conn, "ledger_checkpoint")
        assert "seq" not in {c["name"] for c in inspect(db.engine).get_columns("audit_log")}
        upgrade()
        assert list(db.session.scalars(select(AuditLog.seq).order_by(AuditLog.id))) == seqs


def _export(campaign, path, bundle):
    with open(path, "wb") as handle:
        bundle.export_bundle(campaign, handle)
    return path


def test_cross_tally_migration_fills_what_the_steps_kept(migration_app):
    """0017 fills the cross counts of the responses up to each campaign's tally mark
    (corrections applied) exactly as the steps and corrections keep them."""
    from analysis import load
    from survey_app import demo, intake
    from survey_app.models import Campaign, User
    from survey_app.services import corrections

    def table(conn) -> list:
        return conn.execute(text("SELECT campaign_id, agency_id, group_by, group_value, "
                                 "counts FROM cross_tally ORDER BY 1, 2, 3, 4")).all()

    migration_app.config["TALLY_STEP"] = 3
    with migration_app.app_context():
        upgrade()
        demo.seed("correct horse battery")
        campaign = db.session.query(Campaign).filter_by(code="demo").one()
        for k in range(7):
            answers = {"TC1": k % 6, "TC2": 5, "GIOI_TINH": str(k % 2 + 1), "UT1": k % 3 + 1}
            if k % 3:
                answers["KENH_TT"] = ["1", str(k % 4 + 2)]
            intake.record(campaign=campaign, agency=campaign.agencies[k % 2],
                          channel="api" if k % 2 else "paper", answers=answers)
            db.session.commit()
        admin = db.session.query(User).filter_by(username="admin").one()
        corrections.correct(2, {"GIOI_TINH": "1", "TC2": "1"}, "Sửa lỗi nhập", admin)
        db.session.commit()
        campaign_id = campaign.id
        with db.engine.connect() as conn:
            kept = table(conn)
            assert kept and load.check_tally(conn, campaign_id).ok
        db.session.remove()
        downgrade(revision="0016")
        upgrade()
        with db.engine.connect() as conn:
            assert [tuple(r[:4]) + (bytes(r[4]),) for r in table(conn)] == \
                [tuple(r[:4]) + (bytes(r[4]),) for r in kept]
            assert load.check_tally(conn, campaign_id).ok


def _channel_refused(channel: str) -> bool:
    """Whether the response table's channel check refuses a row of this channel. The row
    names no campaign, so foreign keys are left out for it (SQLite: switched off on the
    connection; PostgreSQL: replica mode skips their triggers)."""
    with db.engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:  # pysqlite has begun no transaction yet: the pragma takes effect
            conn.exec_driver_sql("PRAGMA foreign_keys = OFF")
            conn.commit()
        try:
            with conn.begin():
                if not sqlite:
                    conn.execute(text("SET LOCAL session_replication_role = replica"))
                conn.execute(text(
                    "INSERT INTO response (campaign_id, agency_id, channel, receipt_code,"
                    " submitted_at, answers) VALUES (999, 999, :c, :r, CURRENT_TIMESTAMP, '{}')"),
                    {"c": channel, "r": f"R-{channel}"})
        except Exception as refused:  # noqa: BLE001 - which constraint is read from the message
            return "ck_response_channel" in str(getattr(refused, "orig", refused))
        finally:
            if sqlite:
                conn.exec_driver_sql("PRAGMA foreign_keys = ON")
                conn.commit()
    return False


def test_channel_migration_up_and_down(migration_app):
    """0021 lets a response come by invitation or from a kiosk, on SQLite by editing the
    table's definition in place: the check still refuses an unknown channel."""
    with migration_app.app_context():
        upgrade(revision="0020")
        assert _channel_refused("kiosk")
        # To 0021 itself: on PostgreSQL a refused downgrade rolls back whole, so from a
        # later head the version would stay that head's.
        upgrade(revision="0021")
        assert _channel_refused("bogus")
        assert not _channel_refused("kiosk")
        assert not _channel_refused("invitation")
        # Going back is refused (Flask-Migrate logs the reason and exits 1) while a row
        # came through a new channel, and leaves the schema as it was.
        with pytest.raises(SystemExit):
            downgrade(revision="0020")
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() \
                == "0021"
        assert not _channel_refused("kiosk")


def test_invitations_migration_up_and_down(migration_app):
    """0022 adds the invitation tables; going back drops them and nothing else."""
    tables = {"case_column_map", "case_import", "imported_case", "invitation",
              "invitation_delivery"}
    with migration_app.app_context():
        upgrade()
        assert tables <= set(inspect(db.engine).get_table_names())
        downgrade(revision="0021")
        db.engine.dispose()
        left = set(inspect(db.engine).get_table_names())
        assert not tables & left and "issued_form" in left
        upgrade()
        assert tables <= set(inspect(db.engine).get_table_names())
