"""The second sign-in factor: time-based one-time passwords (RFC 6238) and recovery codes.

Admins and auditors must have one; only the account's owner enrols it. Every time this
module reads is read through `now()`, so that the whole rule can be tried at any moment.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from datetime import UTC, datetime

import pyotp
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm.attributes import set_committed_value

from ..extensions import db
from ..models import RecoveryCode, User
from . import ServiceError, audit

#: Roles that cannot sign in without a second factor.
REQUIRED_FOR = ("admin", "auditor")
STEP = 30  # seconds: what every authenticator app uses
DIGITS = 6
RECOVERY_CODES = 10
ISSUER = "Khảo sát hài lòng"


def now() -> float:
    """Seconds since the epoch: the one clock of codes, links and half-finished sign-ins."""
    return time.time()


def utcnow() -> datetime:
    """`now()` as naive UTC, the storage convention."""
    return datetime.fromtimestamp(now(), UTC).replace(tzinfo=None)


def required(user: User) -> bool:
    return user.role in REQUIRED_FOR


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(user: User, secret: str) -> str:
    """The otpauth:// URI an authenticator app reads from the QR code."""
    issuer = current_app.config.get("TOTP_ISSUER") or ISSUER
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP).provisioning_uri(
        name=user.username, issuer_name=issuer)


def qr_data_uri(uri: str) -> str:
    """The QR code of `uri` as a PNG data URI, shown inline (the page's CSP allows data:)."""
    from ..printing.qr import qr_png

    return "data:image/png;base64," + base64.b64encode(qr_png(uri, box_size=5)).decode()


def _normalise(code: str) -> str:
    return "".join((code or "").split()).replace("-", "").lower()


def _matching_step(secret: str, code: str) -> int | None:
    """The time step whose code is `code`, allowing one step of clock drift either way."""
    code = _normalise(code)
    if len(code) != DIGITS or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP)
    current = int(now()) // STEP
    for step in (current, current - 1, current + 1):
        if secrets.compare_digest(totp.at(step * STEP), code):
            return step
    return None


def _accept_step(user: User, step: int) -> None:
    # One conditional UPDATE: of two requests sending the same code at once, one wins.
    accepted = db.session.execute(
        update(User).where(User.id == user.id, or_(User.totp_last_step.is_(None),
                                                   User.totp_last_step < step))
        .values(totp_last_step=step).execution_options(synchronize_session=False)).rowcount
    if not accepted:
        raise ServiceError(_("Mã này đã được dùng. Vui lòng chờ mã mới trong ứng dụng xác thực."))
    set_committed_value(user, "totp_last_step", step)


def check_new_secret(secret: str, code: str) -> int:
    """The step of a code from a secret being enrolled; refuses a wrong code."""
    step = _matching_step(secret, code)
    if step is None:
        raise ServiceError(_("Mã xác thực không đúng. Hãy nhập mã 6 chữ số đang hiện trong "
                             "ứng dụng xác thực."))
    return step


def enrol(user: User, secret: str, code: str, *, reason: str = "enrol") -> list[str]:
    """Make `secret` the user's second factor once `code` proves their app has it.
    Earlier recovery codes are dropped; returns the new ones (shown once, stored hashed)."""
    step = check_new_secret(secret, code)
    had = user.totp_secret is not None
    user.totp_secret = secret
    user.totp_last_step = step
    codes = _new_recovery_codes(user)
    db.session.flush()
    audit.record("user.2fa_enrol", "user", user.username, {"second_factor": had},
                 {"second_factor": True, "recovery_codes": len(codes), "reason": reason},
                 actor=user)
    return codes


def drop(user: User) -> None:
    """Remove the second factor and its recovery codes (the owner enrols a new one)."""
    user.totp_secret = None
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))


def verify(user: User, code: str) -> str:
    """Check a sign-in code: a current TOTP code not used before, or an unused recovery
    code. Returns "totp" or "recovery"; raises ServiceError otherwise."""
    if user.totp_secret is None:
        raise ServiceError(_("Tài khoản chưa đăng ký xác thực hai bước."))
    step = _matching_step(user.totp_secret, code)
    if step is not None:
        _accept_step(user, step)
        return "totp"
    row = db.session.scalar(select(RecoveryCode).filter_by(
        user_id=user.id, code_hash=_hash_code(code)))
    if row is None:
        raise ServiceError(_("Mã xác thực không đúng."))
    spent = db.session.execute(
        update(RecoveryCode).where(RecoveryCode.id == row.id, RecoveryCode.used_at.is_(None))
        .values(used_at=utcnow()).execution_options(synchronize_session=False)).rowcount
    if not spent:
        raise ServiceError(_("Mã khôi phục này đã được dùng; mỗi mã chỉ dùng được một lần."))
    audit.record("user.recovery_code_used", "user", user.username, None,
                 {"codes_left": recovery_codes_left(user)}, actor=user)
    return "recovery"


def recovery_codes_left(user: User) -> int:
    return db.session.scalar(select(func.count(RecoveryCode.id)).filter_by(
        user_id=user.id, used_at=None)) or 0


def _hash_code(code: str) -> str:
    return hashlib.sha256(_normalise(code).encode()).hexdigest()


def _new_recovery_codes(user: User) -> list[str]:
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _n in range(RECOVERY_CODES):
        raw = secrets.token_hex(8)  # 64 bits: a stored hash cannot be searched back
        codes.append("-".join(raw[i:i + 4] for i in range(0, 16, 4)))
        db.session.add(RecoveryCode(user_id=user.id, code_hash=_hash_code(raw),
                                    created_at=utcnow()))
    return codes
