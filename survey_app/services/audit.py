"""The administrative audit log: every change an operator makes, with before and after."""

from __future__ import annotations

import getpass

from flask import has_request_context
from flask_login import current_user

from ..extensions import db
from ..models import AuditLog


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


def record(action: str, object_type: str, object_id, before=None, after=None) -> AuditLog:
    user_id, actor = _actor()
    entry = AuditLog(
        user_id=user_id, actor=actor, action=action, object_type=object_type,
        object_id=str(object_id), before=before, after=after,
    )
    db.session.add(entry)
    return entry
