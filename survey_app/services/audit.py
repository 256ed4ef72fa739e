"""The administrative audit log: every change an operator makes, with before and after.

The log is one global hash chain (`analysis.ledger.audit_payload`): a row is numbered and
chained when its transaction commits, under a lock (PostgreSQL: a transaction-level
advisory lock; SQLite: the database's write lock), so two requests auditing at once
never fork the chain, and the lock is held only for the commit itself. The unique
constraint on `seq` is the last guard.
"""

from __future__ import annotations

import getpass
import re

from flask import has_request_context
from flask_login import current_user
from sqlalchemy import event, select, text
from sqlalchemy.orm import Session

from analysis import ledger as chain

from ..extensions import db
from ..ledger import iso
from ..models import AuditLog, utcnow
from ..rawsql import Cursor

#: Rows recorded in a session and not yet chained (in `Session.info`).
_PENDING = "audit_pending"
#: The advisory lock that serialises the chain's appends on PostgreSQL ('audi').
LOCK_KEY = 0x61756469
#: Keys whose values are never written to the log (an account event says that a password
#: or a second factor was set or reset, never what it is): a value other than a flag or a
#: word like "changed" is replaced. The log is exported in every audit bundle.
SECRET_KEY_RE = re.compile(r"password|passwd|secret|token|totp|otp|recovery|key_hash",
                           re.IGNORECASE)
_SAFE_WORDS = {"changed", "set", "reset", "removed", "cleared", "enrolled", "issued",
               "used", "expired", "yes", "no"}
HIDDEN = "***"


def _actor() -> tuple[int | None, str]:
    if has_request_context() and current_user.is_authenticated:
        return current_user.id, current_user.username
    try:
        return None, f"cli:{getpass.getuser()}"
    except Exception:  # no user name in some containers
        return None, "cli"


def actor_name() -> str:
    """Who is acting, as the audit log names them: a username, or cli:<os user>."""
    return _actor()[1]


def without_secrets(value):
    """`value` with the values of secret-looking keys replaced by "***" (flags, None and
    words such as "changed" are kept)."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if SECRET_KEY_RE.search(str(key)) and not (
                    item is None or isinstance(item, bool)
                    or (isinstance(item, str) and item.lower() in _SAFE_WORDS)):
                out[key] = HIDDEN
            else:
                out[key] = without_secrets(item)
        return out
    if isinstance(value, list | tuple):
        return [without_secrets(v) for v in value]
    return value


def record(action: str, object_type: str, object_id, before=None, after=None, *,
           actor=None) -> AuditLog:
    """Record a change; the row is chained and written when the caller's transaction
    commits (and dropped if it rolls back). `actor`: the user acting, when it is not the
    signed-in one (an account's owner half-way through signing in, say)."""
    user_id, actor = (actor.id, actor.username) if actor is not None else _actor()
    entry = AuditLog(
        user_id=user_id, actor=actor, action=action, object_type=object_type,
        object_id=str(object_id), before=without_secrets(before),
        after=without_secrets(after),
        at=utcnow().replace(microsecond=0),  # as hashed: to the second
    )
    db.session.connection()  # in a transaction: its end (commit or rollback) settles the row
    db.session.info.setdefault(_PENDING, []).append(entry)
    return entry


def content(row: AuditLog) -> str:
    """The hashed content of a row."""
    return chain.audit_payload(
        at=iso(row.at), actor=row.actor, action=row.action,
        object_type=row.object_type, object_id=row.object_id, before=row.before,
        after=row.after)


def head(session=None) -> tuple[int, str]:
    """(seq, hash) of the chain's last row; (0, GENESIS) when empty."""
    last = (session or db.session).execute(
        select(AuditLog.seq, AuditLog.hash).order_by(AuditLog.seq.desc()).limit(1)).first()
    return (last[0], last[1]) if last else (0, chain.GENESIS)


def _lock(session: Session) -> None:
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOCK_KEY})
    else:
        Cursor(write=True).begin_write()


@event.listens_for(Session, "before_commit")
def _chain_pending(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    _lock(session)
    seq, prev = head(session)
    for entry in pending:
        seq += 1
        entry.seq, entry.prev_hash = seq, prev
        entry.hash = prev = chain.entry_hash(prev, seq, content(entry))
        session.add(entry)


@event.listens_for(Session, "after_rollback")
def _drop_pending(session: Session) -> None:
    session.info.pop(_PENDING, None)
