"""Staff accounts, their API keys, recovery codes and account links, and the audit log of
what they did."""

from __future__ import annotations

import hashlib
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .agencies import Agency
from .base import ROLES, utcnow


class User(UserMixin, db.Model):
    __tablename__ = "user"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    full_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(12))
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime)
    # The second factor (RFC 6238): the shared secret, set by the account's owner only,
    # and the last time step a code was accepted at, so that no code is accepted twice.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)

    agency: Mapped[Agency | None] = relationship()

    __table_args__ = (CheckConstraint(f"role IN {ROLES!r}", name="role"),)

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive accounts
        return self.active

    def get_id(self) -> str:
        # The session names the credentials as well as the account: a new password or
        # second factor ends every session opened with the old ones.
        return f"{self.id}.{self.credentials_tag}"

    @property
    def credentials_tag(self) -> str:
        material = f"{self.password_hash}|{self.totp_secret or ''}".encode()
        return hashlib.sha256(material).hexdigest()[:16]

    def has_role(self, *roles: str) -> bool:
        return self.role in roles


class ApiKey(db.Model):
    """A key for one integration (case system, kiosk). Only its hash is stored."""

    __tablename__ = "api_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime)

    agency: Mapped[Agency | None] = relationship()


class RecoveryCode(db.Model):
    """A single-use code that stands in for the second factor. Only its hash is stored."""

    __tablename__ = "recovery_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(DateTime)


class AccountLink(db.Model):
    """A one-time link with which an account's owner sets their password (and second
    factor): issued at creation or as a reset. Only the token's hash is stored."""

    __tablename__ = "account_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[str] = mapped_column(String(12))  # "setup" or "reset"
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    used_at: Mapped[datetime | None] = mapped_column(DateTime)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    issued_by: Mapped[str] = mapped_column(String(80))

    user: Mapped[User] = relationship(foreign_keys=[user_id])


class AuditLog(db.Model):
    """Append-only record of administrative changes: who, what, when, before and after.

    One global hash chain (`services.audit`): row `seq` follows row seq - 1, and
    hash = sha256(prev_hash "\n" seq "\n" content), the content being
    `analysis.ledger.audit_payload` of the row (at, actor, action, object, before, after).
    """

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Its place in the chain (1, 2, …): numbered when its transaction commits.
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(60))
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[str] = mapped_column(String(80))
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)
