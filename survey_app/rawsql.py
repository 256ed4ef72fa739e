"""Plain SQL on the session's own DBAPI connection, for the few statements every citizen's
submission runs (looking up the link, storing the response, its tally and its ledger
entry).

SQLAlchemy's execution machinery costs some tens of microseconds per statement; on this
path that was a large share of the server's time per submission. The statements still run
inside the session's transaction (the caller commits or rolls back through the session),
and are written once with `:name` parameters for SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import fcntl
import os
import weakref
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import Pool

from analysis.load import pyformat

from .extensions import db


class Statement:
    """One SQL statement; `times` names the parameters that hold datetimes."""

    def __init__(self, sql: str, times: tuple[str, ...] = ()):
        self.named = " ".join(sql.split())
        self.pyformat = pyformat(self.named)
        self.times = times

    def execute(self, params: dict | None = None, on: Cursor | None = None):
        """Run once on `on` (or a new cursor on the session's connection); returns the
        DBAPI cursor: read it to the end (fetchall, rowcount). A DBAPI error is raised as
        SQLAlchemy's (IntegrityError and so on)."""
        return (on or Cursor()).execute(self, params or {})

    def executemany(self, rows: list[dict], on: Cursor | None = None) -> None:
        (on or Cursor()).executemany(self, rows)


_own: ContextVar = ContextVar("rawsql_own_connection", default=None)
#: Per engine, the DBAPI connections the fast path has finished with, ready for the next
#: request: taking one from this list costs nothing, where a checkout from SQLAlchemy's
#: pool and its return (events, reset) cost tens of microseconds a request.
_spare: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


@contextmanager
def own_connection(engine: Engine):
    """Run the enclosed statements on a DBAPI connection of `engine`'s of their own rather
    than the session's — the citizen's fast path, which needs no ORM session, nor even
    Flask's application context: what the statements need of the engine (its dialect, its
    DBAPI's error class, its database file) travels with the connection. Commits when the
    block ends normally, rolls back otherwise.

    The connection is detached from SQLAlchemy's pool and kept in a per-engine list for
    the next block; one that cannot even roll back (a database restarted, say) is closed
    instead, so it is never handed out again."""
    spare = _spare.get(engine)
    if spare is None:
        spare = _spare[engine] = []
        weakref.finalize(engine, _close_all, spare)  # closed with the engine, not left to GC
    try:
        fairy = spare.pop()
    except IndexError:
        fairy = engine.raw_connection()
        # Its writers' lock file was opened for the pool's record, which keeps the same
        # info dict: closed here, and opened again by this detached copy when it writes.
        fd = fairy.info.pop("writer_fd", None)
        if fd is not None:
            os.close(fd)
        fairy.detach()
        fairy.info["sqlite"] = engine.dialect.name == "sqlite"
        fairy.info["dbapi_error"] = engine.dialect.loaded_dbapi.Error
        fairy.info["database"] = engine.url.database
    token = _own.set(fairy)
    healthy = True
    try:
        yield fairy
        fairy.commit()
    except BaseException:
        try:
            fairy.rollback()
        except Exception:
            healthy = False
        raise
    finally:
        _own.reset(token)
        _end_turn(fairy.info)
        if healthy:
            spare.append(fairy)
        else:
            _close(fairy)


def _close(fairy) -> None:
    fd = fairy.info.pop("writer_fd", None)
    if fd is not None:
        os.close(fd)
    try:
        # Detached: the DBAPI connection itself is closed (no pool reset to run).
        fairy.dbapi_connection.close()
    except Exception:  # a connection already broken: nothing more to release
        pass


def _close_all(spare: list) -> None:
    while spare:
        _close(spare.pop())


def rollback() -> None:
    """Roll back the transaction the statements run in (own connection or session)."""
    fairy = _own.get()
    if fairy is not None:
        fairy.rollback()
        _end_turn(fairy.info)
    else:
        db.session.rollback()


class Cursor:
    """A DBAPI cursor on the session's connection (or the block's own connection, see
    `own_connection`), reused by several statements. `write`: this transaction is about to
    write (on SQLite, wait for the writers' turn first)."""

    def __init__(self, write: bool = False):
        fairy = _own.get()
        if fairy is None:
            conn = db.session.connection()
            fairy = conn.connection
            self.sqlite = conn.dialect.name == "sqlite"
            self.dbapi_error = conn.dialect.loaded_dbapi.Error
        else:
            self.sqlite = fairy.info["sqlite"]
            self.dbapi_error = fairy.info["dbapi_error"]
        self.fairy = fairy
        if write and self.sqlite:
            writer_turn(fairy)
        self.raw = fairy.cursor()

    def begin_write(self) -> None:
        """SQLite: make sure this transaction holds the database's write lock (BEGIN
        IMMEDIATE unless it has written already)."""
        if self.sqlite and not self.fairy.dbapi_connection.in_transaction:
            self.raw.execute("BEGIN IMMEDIATE")

    def _params(self, statement: Statement, params: dict) -> dict:
        if not (self.sqlite and statement.times):
            return params
        params = dict(params)
        for name in statement.times:
            if isinstance(params.get(name), datetime):
                params[name] = params[name].isoformat(" ", "microseconds")
        return params

    def execute(self, statement: Statement, params: dict):
        sql = statement.named if self.sqlite else statement.pyformat
        try:
            self.raw.execute(sql, self._params(statement, params))
        except Exception as exc:
            raise _translated(exc, self.dbapi_error, sql, params) from exc
        return self.raw

    def executemany(self, statement: Statement, rows: list[dict]) -> None:
        sql = statement.named if self.sqlite else statement.pyformat
        try:
            self.raw.executemany(sql, [self._params(statement, r) for r in rows])
        except Exception as exc:
            raise _translated(exc, self.dbapi_error, sql, rows) from exc


def _translated(exc: Exception, base: type, sql: str, params) -> Exception:
    """A DBAPI error (`base`: the DBAPI's error class) as SQLAlchemy's; others as they are."""
    if not isinstance(exc, base):
        return exc
    return DBAPIError.instance(sql, params, exc, base)


def as_datetime(value):
    """SQLite hands back stored times as text; PostgreSQL as datetimes."""
    return datetime.fromisoformat(value) if isinstance(value, str) else value


# -- SQLite: writers queue in the kernel ---------------------------------------------------
# SQLite lets one connection write at a time; a writer that finds the database locked
# sleeps (1 ms, 2 ms, 5 ms, ... — SQLite's busy handler) and tries again, so under a stream
# of short submissions the workers spend much of their time asleep with the lock free.
# Before its first write, the submission path takes an exclusive lock on a file beside the
# database instead: waiting writers queue in the kernel and the next one wakes the moment
# the previous one commits. Only a connection with no transaction open waits there (one
# that may already hold SQLite's lock never does, so the two locks cannot deadlock); every
# other write still relies on SQLite's own locking.

def writer_turn(fairy) -> None:
    """Wait for this pooled SQLite connection's turn to write (file databases only)."""
    info = fairy.info
    if info.get("writer_turn") or fairy.dbapi_connection.in_transaction:
        return
    fd = info.get("writer_fd")
    if fd is None:
        # An own connection knows its file; a pooled one asks the application's engine.
        database = info["database"] if "database" in info else db.engine.url.database
        if not database or database == ":memory:" or database.startswith("file:"):
            return
        fd = os.open(f"{database}-writers", os.O_RDWR | os.O_CREAT, 0o600)
        info["writer_fd"] = fd
    fcntl.flock(fd, fcntl.LOCK_EX)
    info["writer_turn"] = True


def _end_turn(info: dict) -> None:
    if info.pop("writer_turn", False):
        fcntl.flock(info["writer_fd"], fcntl.LOCK_UN)


@event.listens_for(Engine, "commit")
def _after_commit(conn):
    _end_turn(conn.connection.info)


@event.listens_for(Engine, "rollback")
def _after_rollback(conn):
    _after_commit(conn)


@event.listens_for(Pool, "reset")
def _on_reset(dbapi_connection, record, reset_state=None):
    _end_turn(record.info)


@event.listens_for(Engine, "engine_disposed")
def _on_dispose(engine):
    _close_all(_spare.get(engine, []))  # the fast path's kept connections


@event.listens_for(Pool, "close")
def _on_close(dbapi_connection, record):
    _end_turn(record.info)
    fd = record.info.pop("writer_fd", None)
    if fd is not None:
        os.close(fd)
