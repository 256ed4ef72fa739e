"""The audit log as a hash chain of its own: chained at every commit (also when two
requests audit at once), exported whole in every audit bundle, checked by
`python -m analysis verify` with its account and setting events summarised."""

import csv
import io
import subprocess
import sys
import threading
import zipfile

import pytest
from sqlalchemy import select

from analysis.ledger import GENESIS, audit_payload, entry_hash
from survey_app.models import AuditLog


def _bundle(runner, tmp_path, name="bundle.zip"):
    path = tmp_path / name
    result = runner.invoke(args=["export-audit", "--campaign", "demo", "--out", str(path)])
    assert result.exit_code == 0, result.output
    return path


def _verify(path):
    proc = subprocess.run([sys.executable, "-m", "analysis", "--lang", "en", "verify", str(path)],
                          capture_output=True, text=True)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, proc.stdout + proc.stderr


def _rewrite(path, name: str, edit) -> None:
    """Replace one member of the bundle by edit(its text); None drops it."""
    with zipfile.ZipFile(path) as zf:
        files = {n: zf.read(n) for n in zf.namelist()}
    text = edit(files[name].decode())
    if text is None:
        del files[name]
    else:
        files[name] = text.encode()
    with zipfile.ZipFile(path, "w") as zf:
        for n, data in files.items():
            zf.writestr(n, data)


def _rows(path) -> list[list[str]]:
    with zipfile.ZipFile(path) as zf:
        return list(csv.reader(io.StringIO(zf.read("audit_log.csv").decode())))


def _write_rows(rows):
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


@pytest.fixture
def accounts(demo, runner):
    """The demo, plus a clerk's account created from the command line and then disabled,
    with a new password, by an admin (an auditor's password is never the admin's to set)."""
    result = runner.invoke(args=["create-user", "mttq2", "--role", "clerk",
                                 "--password-stdin"], input="mot-mat-khau-dai\n")
    assert result.exit_code == 0, result.output
    from survey_app.extensions import db
    from survey_app.models import User
    from survey_app.services import users

    with demo.app_context():
        user = db.session.scalar(select(User).filter_by(username="mttq2"))
        users.update_user(user, role="clerk", agency_code=None, full_name="",
                          active=False, password="mat-khau-moi-bi-mat")
        db.session.commit()
    return demo


def test_every_audit_row_is_a_link_of_one_chain(accounts, db):
    rows = db.session.scalars(select(AuditLog).order_by(AuditLog.seq)).all()
    assert [r.seq for r in rows] == list(range(1, len(rows) + 1)) and len(rows) >= 3
    prev = GENESIS
    for r in rows:
        content = audit_payload(at=r.at.isoformat("T", "seconds") + "Z", actor=r.actor,
                                action=r.action, object_type=r.object_type,
                                object_id=r.object_id, before=r.before, after=r.after)
        assert r.prev_hash == prev and r.hash == entry_hash(prev, r.seq, content)
        prev = r.hash


def test_clean_bundle_verifies_and_lists_account_events(accounts, db, runner, tmp_path):
    path = _bundle(runner, tmp_path)
    rows = _rows(path)
    assert rows[0] == ["seq", "at", "actor", "action", "object_type", "object_id", "before",
                       "after", "prev_hash", "hash"]
    total = int(rows[-1][0])
    assert [int(r[0]) for r in rows[1:]] == list(range(1, total + 1))
    # Everything before the export is in it; after it, only the export's own record.
    later = db.session.scalars(select(AuditLog).where(AuditLog.seq > total)).all()
    assert [r.action for r in later] == ["export_rows"]
    with zipfile.ZipFile(path) as zf:
        everything = b"".join(zf.read(n) for n in zf.namelist()).decode()
    # a password is said to have changed, never written
    assert "mat-khau-moi-bi-mat" not in everything and "mot-mat-khau-dai" not in everything
    code, out = _verify(path)
    assert code == 0, out
    assert f"AUDIT LOG: {total} entries checked" in out
    disabled = [line for line in out.splitlines() if "user.disable user mttq2" in line]
    assert len(disabled) == 1 and "disabled" in disabled[0]
    password = [line for line in out.splitlines() if "user.password_set user mttq2" in line]
    assert len(password) == 1 and "password" in password[0]
    assert any("user.create user mttq2" in line and "created" in line
               for line in out.splitlines())


def test_audit_row_edited_in_the_bundle_is_named(accounts, runner, tmp_path):
    path = _bundle(runner, tmp_path)
    rows = _rows(path)
    target = next(r for r in rows[1:] if r[3] == "user.disable")
    assert '"active":false' in target[7]
    target[7] = target[7].replace('"active":false', '"active":true')
    _rewrite(path, "audit_log.csv", lambda _: _write_rows(rows))
    code, out = _verify(path)
    assert code == 1, out
    assert f"ALTERED: audit-log entry {target[0]} (user.disable mttq2" in out


def test_audit_row_deleted_from_the_bundle_is_named(accounts, runner, tmp_path):
    path = _bundle(runner, tmp_path)
    rows = _rows(path)
    gone = rows.pop(2)  # seq 2
    _rewrite(path, "audit_log.csv", lambda _: _write_rows(rows))
    code, out = _verify(path)
    assert code == 1, out
    assert f"audit-log entry {gone[0]} missing" in out and "REMOVED" in out


def test_audit_rows_swapped_in_the_bundle_are_named(accounts, runner, tmp_path):
    path = _bundle(runner, tmp_path)
    rows = _rows(path)
    rows[2], rows[3] = rows[3], rows[2]
    _rewrite(path, "audit_log.csv", lambda _: _write_rows(rows))
    code, out = _verify(path)
    assert code == 1 and "REORDERED: audit-log entry 2" in out, out


def test_bundle_without_audit_log_is_reported_not_failed(demo, runner, tmp_path):
    path = _bundle(runner, tmp_path)
    _rewrite(path, "audit_log.csv", lambda _: None)
    code, out = _verify(path)
    assert code == 0, out
    assert "no audit_log.csv" in out and "not checked" in out


def test_malformed_audit_log_is_reported(demo, runner, tmp_path):
    path = _bundle(runner, tmp_path)
    _rewrite(path, "audit_log.csv", lambda text: text.replace("seq,", "number,", 1))
    code, out = _verify(path)
    assert code == 1 and "audit_log.csv does not have the expected columns" in out, out


def test_truncated_audit_line_is_reported(demo, runner, tmp_path):
    path = _bundle(runner, tmp_path)
    _rewrite(path, "audit_log.csv",
             lambda text: text.replace("\n2,", "\nbroken\n2,", 1))
    code, out = _verify(path)
    assert code == 1 and "AUDIT LOG: malformed audit-log line after seq 1" in out, out


def test_secrets_never_reach_the_log(demo, db):
    from survey_app.services import audit

    audit.record("user.reset", "user", "mttq", None,
                 {"token": "abc123secret", "password": "changed", "totp_enrolled": False,
                  "nested": {"recovery_codes": ["1111", "2222"]}})
    db.session.commit()
    row = db.session.scalar(select(AuditLog).filter_by(action="user.reset"))
    assert row.after == {"token": "***", "password": "changed", "totp_enrolled": False,
                         "nested": {"recovery_codes": "***"}}


def test_rolled_back_audit_rows_leave_no_gap(demo, db):
    from survey_app.services import audit

    before = db.session.scalar(select(AuditLog.seq).order_by(AuditLog.seq.desc()).limit(1))
    audit.record("test.dropped", "x", 1)
    db.session.rollback()
    audit.record("test.kept", "x", 2)
    db.session.commit()
    kept = db.session.scalar(select(AuditLog).filter_by(action="test.kept"))
    assert kept.seq == before + 1
    assert db.session.scalar(select(AuditLog).filter_by(action="test.dropped")) is None


def test_audit_log_page_shows_seq_and_hash(demo, db, client, login):
    login("admin")
    last = db.session.scalar(select(AuditLog).order_by(AuditLog.seq.desc()).limit(1))
    page = client.get("/admin/audit-log")
    assert page.status_code == 200
    assert f"<td>{last.seq}</td>" in page.text and last.hash[:12] in page.text


def test_concurrent_audits_do_not_fork_the_chain(demo, db, runner, tmp_path):
    """Eight requests auditing at the same moment, each in its own connection: one chain,
    no repeated or missing number, and the bundle verifies."""
    from survey_app.extensions import db as _db
    from survey_app.services import audit

    n = 8
    barrier, errors = threading.Barrier(n), []

    def work(i):
        try:
            with demo.app_context():
                audit.record("test.concurrent", "thread", i, None, {"i": i})
                barrier.wait()
                _db.session.commit()
                _db.session.remove()
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    db.session.expire_all()
    seqs = list(db.session.scalars(select(AuditLog.seq).order_by(AuditLog.seq)))
    assert seqs == list(range(1, len(seqs) + 1))
    assert len(db.session.scalars(select(AuditLog).filter_by(
        action="test.concurrent")).all()) == n
    code, out = _verify(_bundle(runner, tmp_path))
    assert code == 0, out
