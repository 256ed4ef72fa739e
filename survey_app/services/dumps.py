"""The two ways a whole database is copied to a file and back: PostgreSQL's custom dump
(`pg_dump -Fc`, `pg_restore`) and SQLite's online backup API. Used by `services.backup`,
which wraps a dump with its manifest."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from flask_babel import gettext as _
from sqlalchemy import inspect
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from . import ServiceError

KINDS = ("postgresql", "sqlite")


def kind(engine: Engine) -> str:
    """'postgresql' or 'sqlite'; refused for any other database."""
    name = engine.dialect.name
    if name not in KINDS:
        raise ServiceError(_("Không sao lưu hay phục hồi được cơ sở dữ liệu loại %(k)s (chỉ "
                             "PostgreSQL hoặc SQLite).", k=name))
    if name == "sqlite" and engine.url.database in (None, "", ":memory:"):
        raise ServiceError(_("Cơ sở dữ liệu SQLite trong bộ nhớ không sao lưu hay phục hồi "
                             "được: cần một tệp."))
    return name


def tables(engine: Engine) -> list[str]:
    """The tables the database holds now (an empty database: none)."""
    try:
        return inspect(engine).get_table_names()
    except OperationalError as exc:
        raise ServiceError(_("Không kết nối được cơ sở dữ liệu đích %(u)s: %(e)s",
                             u=engine.url.render_as_string(hide_password=True),
                             e=str(exc.orig).strip().splitlines()[0])) from exc


def dump(engine: Engine, path: Path) -> None:
    """Copy the whole database into `path`, consistent as of one moment while the
    application keeps writing: pg_dump reads one snapshot; SQLite's backup API copies in
    one step under a read transaction (in WAL mode, writers go on meanwhile)."""
    if kind(engine) == "postgresql":
        _run("pg_dump", ["--format=custom", f"--file={path}"], engine)
        return
    source = sqlite3.connect(engine.url.database)
    target = sqlite3.connect(path)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()


def restore(engine: Engine, path: Path, replace: bool = False) -> None:
    """Load the dump at `path` into the database, all or nothing: pg_restore in one
    transaction; SQLite's backup API, which replaces the target file's pages in one
    write transaction. `replace`: the database may hold tables; on PostgreSQL those the
    dump holds are dropped first (others stay), SQLite's file is replaced whole."""
    engine.dispose()  # no pooled connection of ours holds a lock on the target
    if kind(engine) == "postgresql":
        extra = ["--clean", "--if-exists"] if replace else []
        _run("pg_restore", ["--single-transaction", "--exit-on-error", "--no-owner",
                            "--no-privileges", *extra, str(path)], engine)
        return
    source = sqlite3.connect(path)
    target = sqlite3.connect(engine.url.database)
    try:
        source.backup(target)
    except sqlite3.Error as exc:
        raise ServiceError(_("Không phục hồi được vào %(f)s: %(e)s", f=engine.url.database,
                             e=exc)) from exc
    finally:
        target.close()
        source.close()


def _conninfo(engine: Engine) -> tuple[str, dict[str, str]]:
    """A libpq connection string for the database (without its password) and the
    environment that carries the password: a password on the command line would show in
    every process listing."""
    url = engine.url
    parts = {"dbname": url.database, "host": url.host, "port": url.port,
             "user": url.username, **{k: v for k, v in url.query.items() if isinstance(v, str)}}
    info = " ".join(f"{key}={_quoted(str(value))}" for key, value in parts.items()
                    if value not in (None, ""))
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return info, env


def _quoted(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _run(program: str, args: list[str], engine: Engine) -> None:
    if shutil.which(program) is None:
        raise ServiceError(_("Không tìm thấy chương trình %(p)s: cài gói postgresql-client "
                             "cùng phiên bản với máy chủ PostgreSQL.", p=program))
    info, env = _conninfo(engine)
    proc = subprocess.run([program, f"--dbname={info}", *args], env=env,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        detail = proc.stderr.strip().splitlines()[-3:]
        raise ServiceError(_("%(p)s dừng với mã %(c)d.", p=program, c=proc.returncode),
                           details=detail)
