"""Keys for integrations (the one-stop case system, kiosk tablets). A key is shown once;
only its SHA-256 is stored, so a copy of the database gives no working key."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from sqlalchemy import select

from ..extensions import db
from ..models import ApiKey, utcnow
from . import ServiceError, audit
from .agencies import get_by_code

KEY_RE = re.compile(r"^sk_([a-z0-9]{8})_([A-Za-z0-9_-]{32,64})$")


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(name: str, agency_code: str | None = None) -> tuple[ApiKey, str]:
    """A new key `sk_<prefix>_<secret>`; returns the row and the key (never stored)."""
    name = (name or "").strip()
    if not name or len(name) > 120:
        raise ServiceError("Tên tích hợp phải có 1–120 ký tự.")
    agency = get_by_code(agency_code) if agency_code else None
    while True:
        prefix = "".join(secrets.choice("abcdefghijkmnpqrstuvwxyz23456789") for _ in range(8))
        if db.session.scalar(select(ApiKey.id).filter_by(prefix=prefix)) is None:
            break
    key = f"sk_{prefix}_{secrets.token_urlsafe(32)}"
    row = ApiKey(name=name, prefix=prefix, key_hash=_digest(key), agency=agency)
    db.session.add(row)
    db.session.flush()
    audit.record("api_key.create", "api_key", prefix, None,
                 {"name": name, "agency": agency.code if agency else None})
    return row, key


def revoke(prefix: str) -> ApiKey:
    row = db.session.scalar(select(ApiKey).filter_by(prefix=(prefix or "").strip()))
    if row is None:
        raise ServiceError(f"Không có khóa API có tiền tố '{prefix}'.")
    if row.revoked_at is not None:
        raise ServiceError(f"Khóa '{prefix}' đã bị thu hồi trước đó.")
    row.revoked_at = utcnow()
    db.session.flush()
    audit.record("api_key.revoke", "api_key", row.prefix, {"revoked": False}, {"revoked": True})
    return row


def authenticate(key: str | None) -> ApiKey | None:
    """The active key matching `key`, or None. Compared in constant time."""
    m = KEY_RE.match(key or "")
    if not m:
        return None
    row = db.session.scalar(select(ApiKey).filter_by(prefix=m.group(1)))
    if row is None or row.revoked_at is not None:
        return None
    if not hmac.compare_digest(row.key_hash, _digest(key)):
        return None
    return row


def all_keys() -> list[ApiKey]:
    return list(db.session.scalars(select(ApiKey).order_by(ApiKey.created_at.desc())))
