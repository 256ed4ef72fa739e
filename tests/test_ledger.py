"""The tamper-evident ledger, for real on SQLite and PostgreSQL: each kind of tampering
with the database or the bundle is detected by `python -m analysis verify`."""

import csv
import io
import re
import subprocess
import sys
import threading
import zipfile

import pytest
from audit_helpers import tamper
from sqlalchemy import select, text
from web_helpers import answer_form, counted, counted_from_responses, full_answers, hidden_fields

from analysis.ledger import RS, US, entry_hash
from analysis.verify import verify_bundle
from survey_app.models import AuditLog, LedgerEntry, Response


@pytest.fixture
def collected(demo, db, client):
    """Three responses through the open link of X-SONDUONG (fresh browsers)."""
    from survey_app.models import CampaignAgency

    scope = db.session.scalar(select(CampaignAgency).where(
        CampaignAgency.agency.has(code="X-SONDUONG")))
    for score in (5, 4, 2):
        c = demo.test_client()
        assert answer_form(c, f"/k/{scope.open_code}", full_answers(score)).status_code == 303
    return demo


def _checkpoint(runner) -> str:
    result = runner.invoke(args=["checkpoint", "--campaign", "demo"])
    assert result.exit_code == 0, result.output
    return re.search(r"(demo#\d+:[0-9a-f-]+)", result.output).group(1)


def _bundle(runner, tmp_path, name="bundle.zip"):
    path = tmp_path / name
    result = runner.invoke(args=["export-audit", "--campaign", "demo", "--out", str(path)])
    assert result.exit_code == 0, result.output
    return path


def _verify(path, *extra):
    proc = subprocess.run([sys.executable, "-m", "analysis", "--lang", "en", "verify", str(path),
                           *extra],
                          capture_output=True, text=True)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, proc.stdout + proc.stderr


def test_every_response_is_chained(collected, db):
    entries = db.session.scalars(select(LedgerEntry).order_by(LedgerEntry.seq)).all()
    assert [e.seq for e in entries] == [1, 2, 3] and {e.kind for e in entries} == {"response"}
    prev = "0" * 64
    for e in entries:
        assert e.prev_hash == prev and e.hash == entry_hash(prev, e.seq, e.payload)
        prev = e.hash
    receipts = {r.receipt_code for r in db.session.scalars(select(Response))}
    assert {e.ref for e in entries} == receipts


def test_untouched_bundle_verifies(collected, runner, tmp_path, db):
    digest = _checkpoint(runner)
    log = db.session.scalars(select(AuditLog).filter_by(action="ledger.checkpoint")).one()
    assert log.after["digest"] == digest and log.after["reason"] == "manual"
    code, out = _verify(_bundle(runner, tmp_path), "--checkpoint", digest)
    assert code == 0, out
    assert "OK" in out and "3 responses" in out


def test_answer_changed_in_the_database(collected, runner, db, tmp_path):
    rid = db.session.scalars(select(Response.id).order_by(Response.id)).first()
    tamper(db, "UPDATE response SET answers = replace(answers, :old, :new) WHERE id = :id",
         old='"TC1":5', new='"TC1":1', id=rid)
    code, out = _verify(_bundle(runner, tmp_path))
    assert code == 1
    assert f"ALTERED: response {rid}" in out and "TC1: ledger '5' bundle '1'" in out


def test_response_deleted_from_the_database(collected, runner, db, tmp_path):
    rid = db.session.scalars(select(Response.id).order_by(Response.id)).all()[1]
    tamper(db, "DELETE FROM response WHERE id = :id", id=rid)
    code, out = _verify(_bundle(runner, tmp_path))
    assert code == 1 and f"REMOVED: response {rid}" in out


def test_forged_response_inserted(collected, runner, db, tmp_path):
    row = db.session.execute(text("SELECT campaign_id, agency_id, answers FROM response")).first()
    tamper(db, "INSERT INTO response (campaign_id, agency_id, channel, receipt_code, "
             "submitted_at, answers) VALUES (:c, :a, 'paper', 'FORGE-D0001', "
             "CURRENT_TIMESTAMP, :ans)", c=row[0], a=row[1], ans=row[2])
    code, out = _verify(_bundle(runner, tmp_path))
    assert code == 1 and "INSERTED: response" in out and "no ledger entry" in out


def test_bundle_file_edited(collected, runner, tmp_path):
    path = _bundle(runner, tmp_path)
    with zipfile.ZipFile(path) as zf:
        files = {n: zf.read(n) for n in zf.namelist()}
    rows = list(csv.reader(io.StringIO(files["responses.csv"].decode())))
    col = rows[0].index("CC1")
    rows[2][col] = "5" if rows[2][col] != "5" else "1"
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    files["responses.csv"] = out.getvalue().encode()
    edited = tmp_path / "edited.zip"
    with zipfile.ZipFile(edited, "w") as zf:
        for n, data in files.items():
            zf.writestr(n, data)
    code, out = _verify(edited)
    assert code == 1 and "ALTERED" in out and "CC1" in out


def test_ledger_entry_edited_in_the_bundle(collected, runner, tmp_path):
    path = _bundle(runner, tmp_path)
    with zipfile.ZipFile(path) as zf:
        files = {n: zf.read(n) for n in zf.namelist()}
    # Move the last response to another agency in its ledger record.
    head, _, last = files["ledger.csv"].rstrip(b"\n").rpartition(b"\n")
    files["ledger.csv"] = head + b"\n" + last.replace(b"X-SONDUONG", b"X-HAMYEN") + b"\n"
    edited = tmp_path / "edited.zip"
    with zipfile.ZipFile(edited, "w") as zf:
        for n, data in files.items():
            zf.writestr(n, data)
    code, out = _verify(edited)
    assert code == 1 and "does not match its hash" in out


def test_ledger_rewritten_after_a_checkpoint(collected, runner, db, tmp_path):
    """An operator changes an answer and rebuilds the whole chain consistently: only the
    digest the auditor kept outside the system can catch it — and does."""
    held = _checkpoint(runner)
    rid = db.session.scalars(select(Response.id).order_by(Response.id)).first()
    tamper(db, "UPDATE response SET answers = replace(answers, :old, :new) WHERE id = :id",
         old='"TC1":5', new='"TC1":1', id=rid)
    entries = db.session.execute(text(
        "SELECT id, seq, payload FROM ledger_entry ORDER BY seq")).all()
    prev = "0" * 64
    first = True
    for eid, seq, payload in entries:
        if first:  # the altered response's record: its export cells and stored answers
            fields = payload.split(RS)
            cells = fields[8].split(US)
            cells[0] = "1"  # TC1 is the first item of the codebook
            fields[8] = US.join(cells)
            payload, first = RS.join(fields), False
        digest = entry_hash(prev, seq, payload)
        tamper(db, "UPDATE ledger_entry SET payload = :p, prev_hash = :prev, hash = :h "
                 "WHERE id = :id", p=payload, prev=prev, h=digest, id=eid)
        prev = digest
    tamper(db, "DELETE FROM ledger_checkpoint")
    path = _bundle(runner, tmp_path)
    code, out = _verify(path)
    assert code == 0, out  # internally consistent: a rewrite without the held digest passes
    code, out = _verify(path, "--checkpoint", held)
    assert code == 1 and "rewritten after that checkpoint" in out


def test_verify_bad_input(tmp_path):
    not_zip = tmp_path / "x.zip"
    not_zip.write_text("hello")
    code, out = _verify(not_zip)
    assert code == 2 and "cannot open" in out
    code, out = _verify(tmp_path / "missing.zip")
    assert code == 2


def test_checkpoint_digest_is_short(collected, runner):
    digest = _checkpoint(runner)
    assert re.fullmatch(r"demo#3:[0-9a-f]{4}(-[0-9a-f]{4}){4}-[0-9a-f]", digest)


def test_concurrent_submissions_make_one_unbroken_chain(demo, db, runner, tmp_path):
    """Citizens answering at the same moment through different browsers: every response
    is chained, the sequence has no gap or repeat, and the bundle verifies."""
    from survey_app.models import CampaignAgency

    paths = [f"/k/{s.open_code}" for s in db.session.scalars(select(CampaignAgency))][:4]
    n = 12
    browsers = [demo.test_client() for _ in range(n)]
    bodies = [{**hidden_fields(b.get(paths[i % len(paths)]).text), **full_answers(i % 5 + 1)}
              for i, b in enumerate(browsers)]
    barrier, statuses = threading.Barrier(n), [None] * n

    def post(i):
        barrier.wait()
        statuses[i] = browsers[i].post(paths[i % len(paths)], data=bodies[i]).status_code

    threads = [threading.Thread(target=post, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [303] * n
    db.session.expire_all()
    seqs = list(db.session.scalars(select(LedgerEntry.seq).order_by(LedgerEntry.seq)))
    assert seqs == list(range(1, n + 1))
    # Racing steps of the tally leave no response behind its mark, and count none twice.
    assert counted(db) == counted_from_responses(db) and sum(counted(db).values()) == 19 * n
    path = _bundle(runner, tmp_path)
    code, out = _verify(path)
    assert code == 0 and f"{n} ledger entries" in out, out
    # Ids follow the chain even when submissions race: responses.csv, in id order, is the
    # file the ledger implies in its own order, so it is compared whole.
    assert verify_bundle(path).responses_compared == "whole file"
