"""Backups and the restore drill, on SQLite and on PostgreSQL when SURVEY_TEST_DATABASE_URL is
set: back up, take more submissions, restore into a fresh database (a scratch database
made here), and find there exactly the responses of backup time, a bundle that verifies,
and the checkpoint digests recorded before. A backup that does not match its manifest,
and a database that is not empty, are refused with nothing changed."""

from __future__ import annotations

import io
import json
import os
import re
import tarfile

import pytest
from audit_helpers import answer_open, export_bundle, run_analysis, varied
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.engine import make_url

from survey_app import create_app
from survey_app.extensions import db as _db
from survey_app.models import Response

PG_URL = os.environ.get("SURVEY_TEST_DATABASE_URL")
DIGEST = re.compile(r"demo#\d+:[0-9a-f-]+")


@pytest.fixture
def target_url(tmp_path):
    """A fresh, empty database to restore into: a SQLite file, or a PostgreSQL database of
    its own (named after the test database), dropped afterwards."""
    if not PG_URL:
        yield f"sqlite:///{tmp_path / 'restored.sqlite'}"
        return
    url = make_url(PG_URL).set(drivername="postgresql+psycopg")
    scratch = f"{url.database}_restore"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{scratch}"'))
    yield url.set(database=scratch).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def target(target_url, tmp_path):
    """The application of an installation on that empty database."""
    app = create_app({"TESTING": True, "SECRET_KEY": "restored",
                      "SQLALCHEMY_DATABASE_URI": target_url, "TALLY_STEP": 3})
    app.instance_path = str(tmp_path / "restored-instance")
    yield app
    with app.app_context():
        _db.session.remove()
        _db.engine.dispose()


def _receipts(app) -> set[str]:
    with app.app_context():
        return set(_db.session.scalars(select(Response.receipt_code)))


def _tables(app) -> list[str]:
    with app.app_context():
        return inspect(_db.engine).get_table_names()


def _backup(runner, path) -> str:
    result = runner.invoke(args=["backup", "--out", str(path)])
    assert result.exit_code == 0, result.output
    return result.output


def _restore(app, path, *extra):
    return app.test_cli_runner().invoke(args=["restore", str(path), *extra])


def _manifest(path) -> dict:
    with tarfile.open(path) as tar:
        return json.loads(tar.extractfile("manifest.json").read())


def _rewrite(path, out, manifest=None, dump=None):
    """A copy of the backup at `path` with its manifest or dump bytes replaced."""
    with tarfile.open(path) as src, tarfile.open(out, "w") as dst:
        for member in src.getmembers():
            body = src.extractfile(member).read()
            if member.name == "manifest.json" and manifest is not None:
                body = json.dumps(manifest).encode()
            elif member.name != "manifest.json" and dump is not None:
                body = dump(body)
            member.size = len(body)
            dst.addfile(member, io.BytesIO(body))
    return out


@pytest.fixture
def backed_up(demo, runner, tmp_path):
    """Four responses, a checkpoint after the first three (its digest), a backup after the
    fourth, then two more responses. Returns (backup path, checkpoint digest, backup's
    output, the receipts at backup time)."""
    for k in range(3):
        answer_open(demo, varied(k))
    result = runner.invoke(args=["checkpoint", "--campaign", "demo"])
    assert result.exit_code == 0, result.output
    before = DIGEST.search(result.output).group(0)
    answer_open(demo, varied(3))
    path = tmp_path / "backup.tar"
    output = _backup(runner, path)
    at_backup = _receipts(demo)
    for k in (4, 5):
        answer_open(demo, varied(k))
    assert len(_receipts(demo)) == 6
    return path, before, output, at_backup


def test_restore_drill(backed_up, target, tmp_path):
    path, before, output, at_backup = backed_up
    # The ledger grew since the last checkpoint: the backup recorded one, in the manifest.
    taken = DIGEST.search(output).group(0)
    assert taken.startswith("demo#4:") and "backup" in output
    manifest = _manifest(path)
    (entry,) = manifest["campaigns"]
    assert entry["campaign"] == "demo" and entry["checkpoint"]["digest"] == taken
    assert entry["checkpoint"]["seq"] == 4 and entry["checkpoint"]["tally_digest"]
    assert manifest["database"] == ("postgresql" if PG_URL else "sqlite")

    result = _restore(target, path)
    assert result.exit_code == 0, result.output
    row = next(line for line in result.output.splitlines() if line.startswith("demo "))
    assert row.split()[1:6] == ["4", "khớp", "khớp", "khớp", "khớp"] and taken in row
    # Exactly the responses of backup time, none of those taken after it.
    assert _receipts(target) == at_backup and len(at_backup) == 4

    bundle = export_bundle(target.test_cli_runner(), tmp_path, "restored.zip")
    for digest in (before, taken):
        code, out = run_analysis("verify", bundle, "--checkpoint", digest)
        assert code == 0, out
        assert "4 responses" in out


def test_checkpoint_not_repeated_when_ledger_unchanged(backed_up, runner, tmp_path):
    path, *_ = backed_up
    first = _manifest(path)["campaigns"][0]["checkpoint"]
    output = _backup(runner, tmp_path / "again.tar")
    assert "backup," in output  # two responses came since the first backup
    output = _backup(runner, tmp_path / "third.tar")
    assert "backup," not in output
    third = _manifest(tmp_path / "third.tar")["campaigns"][0]["checkpoint"]
    assert third["seq"] == first["seq"] + 2


def test_tampered_or_truncated_backup_refused(backed_up, target, tmp_path):
    path = backed_up[0]
    flipped = _rewrite(path, tmp_path / "flipped.tar",
                       dump=lambda b: b[:-100] + bytes([b[-100] ^ 1]) + b[-99:])
    result = _restore(target, flipped)
    assert result.exit_code == 1
    assert "đã bị sửa hoặc bị cắt cụt" in result.output
    truncated = tmp_path / "truncated.tar"
    truncated.write_bytes(path.read_bytes()[:30_000])
    result = _restore(target, truncated)
    assert result.exit_code == 1 and "Lỗi:" in result.output
    not_tar = tmp_path / "notes.tar"
    not_tar.write_text("không phải tar")
    result = _restore(target, not_tar)
    assert result.exit_code == 1 and "không phải bản sao lưu" in result.output
    assert _restore(target, tmp_path / "missing.tar").exit_code == 1
    assert _tables(target) == []


def test_non_empty_target_refused(backed_up, demo):
    path = backed_up[0]
    result = _restore(demo, path)
    assert result.exit_code == 1
    assert "không trống" in result.output and "--replace-existing" in result.output
    # The later responses are still there: nothing was restored over them.
    assert len(_receipts(demo)) == 6


def test_other_kind_of_database_refused(backed_up, target, tmp_path):
    path = backed_up[0]
    manifest = _manifest(path)
    manifest["database"] = "sqlite" if PG_URL else "postgresql"
    result = _restore(target, _rewrite(path, tmp_path / "other.tar", manifest=manifest))
    assert result.exit_code == 1
    assert "chỉ phục hồi vào cùng loại cơ sở dữ liệu" in result.output
    assert _tables(target) == []


def test_chain_not_matching_manifest_exits_2(backed_up, target, tmp_path):
    path = backed_up[0]
    manifest = _manifest(path)
    manifest["campaigns"][0]["checkpoint"]["merkle_root"] = "ab" * 32
    result = _restore(target, _rewrite(path, tmp_path / "edited.tar", manifest=manifest))
    assert result.exit_code == 2, result.output
    row = next(line for line in result.output.splitlines() if line.startswith("demo "))
    assert row.split()[1:6] == ["4", "khớp", "khớp", "SAI", "SAI"]
    assert "không khớp với bản kê ở 1 đợt: demo" in result.output


def test_dated_backups_with_retention(demo, runner, tmp_path):
    folder = tmp_path / "backups"
    folder.mkdir()
    old = folder / "survey-20200101T000000Z.tar"
    old.write_bytes(b"old")
    other = folder / "notes.txt"
    other.write_text("kept")
    result = runner.invoke(args=["backup", "--dir", str(folder), "--keep", "1"])
    assert result.exit_code == 0, result.output
    (made,) = folder.glob("survey-*.tar")
    assert re.fullmatch(r"survey-\d{8}T\d{6}Z\.tar", made.name) and not old.exists()
    assert other.exists() and str(old) in result.output
    assert oct(made.stat().st_mode & 0o777) == "0o600"
    assert _manifest(made)["campaigns"][0]["campaign"] == "demo"


@pytest.mark.parametrize("args, message", [
    ([], "Cần đúng một trong hai"),
    (["--out", "x.tar", "--dir", "."], "Cần đúng một trong hai"),
    (["--out", "x.tar", "--keep", "2"], "--keep chỉ dùng cùng --dir"),
    (["--out", "x.zip"], "phần mở rộng phải là .tar"),
    (["--out", "no/such/folder/x.tar"], "không tồn tại"),
    (["--dir", "no/such/folder"], "không tồn tại"),
])
def test_backup_bad_arguments(demo, runner, db, args, message):
    result = runner.invoke(args=["backup", *args])
    assert result.exit_code == 1 and message in result.output
    # Refused before anything was done: no checkpoint recorded.
    assert db.session.scalar(text("SELECT count(*) FROM ledger_checkpoint")) == 0


def test_unreachable_target_refused(backed_up, tmp_path):
    if PG_URL:
        url = make_url(PG_URL).set(drivername="postgresql+psycopg")
        url = url.set(database=f"{url.database}_no_such").render_as_string(hide_password=False)
    else:
        url = f"sqlite:///{tmp_path / 'no' / 'such' / 'folder.sqlite'}"
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": url})
    result = _restore(app, backed_up[0])
    assert result.exit_code == 1 and "Không kết nối được cơ sở dữ liệu đích" in result.output
    with app.app_context():
        _db.engine.dispose()


def test_pg_password_in_environment_not_on_command_line(monkeypatch, tmp_path):
    """pg_dump is handed the database without its password, which goes in PGPASSWORD:
    a command line shows in every process listing."""
    from survey_app.services import dumps

    calls = []

    def fake_run(args, **kwargs):
        calls.append((args, kwargs["env"]))
        return type("Done", (), {"returncode": 0, "stderr": ""})()

    monkeypatch.setattr(dumps.shutil, "which", lambda program: f"/usr/bin/{program}")
    monkeypatch.setattr(dumps.subprocess, "run", fake_run)
    engine = create_engine("postgresql+psycopg://survey:s3cr%27et@db.example:5433/khaosat"
                           "?sslmode=require")
    dumps.dump(engine, tmp_path / "x.pgdump")
    (args, env), = calls
    assert args[0] == "pg_dump" and not any("s3cr" in a for a in args)
    assert env["PGPASSWORD"] == "s3cr'et"
    assert args[1] == ("--dbname=dbname='khaosat' host='db.example' port='5433' "
                       "user='survey' sslmode='require'")
