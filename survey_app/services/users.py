"""Accounts: creation with a role (and an agency for officers), passwords, activation."""

from __future__ import annotations

import re

from flask import current_app
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db
from ..models import ROLES, User, utcnow
from . import ServiceError, audit
from .agencies import get_by_code

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{2,79}$")
MIN_PASSWORD = 10
# Checked against when the user does not exist, so a login takes as long either way.
_DUMMY_HASH = generate_password_hash("not-a-password")


def _hash(password: str) -> str:
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def check_password_strength(password: str) -> None:
    if len(password or "") < MIN_PASSWORD:
        raise ServiceError(f"Mật khẩu phải có ít nhất {MIN_PASSWORD} ký tự.")


def _summary(user: User) -> dict:
    return {"username": user.username, "role": user.role, "full_name": user.full_name,
            "agency": user.agency.code if user.agency else None, "active": user.active}


def create_user(username: str, password: str, role: str, agency_code: str | None = None,
                full_name: str = "") -> User:
    username = (username or "").strip().lower()
    errors = []
    if not USERNAME_RE.match(username):
        errors.append("tên đăng nhập 3–80 ký tự: chữ thường, số, . _ -")
    elif db.session.scalar(select(User.id).filter_by(username=username)) is not None:
        errors.append(f"tên đăng nhập '{username}' đã tồn tại")
    if role not in ROLES:
        errors.append(f"vai trò '{role}' không hợp lệ (một trong: {', '.join(ROLES)})")
    if role == "officer" and not agency_code:
        errors.append("cán bộ cơ quan (officer) cần có --agency")
    agency = None
    if agency_code:
        try:
            agency = get_by_code(agency_code)
        except ServiceError as exc:
            errors.append(exc.message)
    try:
        check_password_strength(password)
    except ServiceError as exc:
        errors.append(exc.message)
    if errors:
        raise ServiceError("Không tạo được tài khoản.", details=errors)
    user = User(username=username, password_hash=_hash(password), role=role,
                agency=agency, full_name=(full_name or "").strip())
    db.session.add(user)
    db.session.flush()
    audit.record("user.create", "user", username, None, _summary(user))
    return user


def update_user(user: User, *, role: str, agency_code: str | None, full_name: str,
                active: bool, password: str | None = None) -> User:
    if role not in ROLES:
        raise ServiceError(f"Vai trò '{role}' không hợp lệ.")
    if role == "officer" and not agency_code:
        raise ServiceError("Cán bộ cơ quan (officer) cần có cơ quan.")
    before = _summary(user)
    user.role = role
    user.agency = get_by_code(agency_code) if agency_code else None
    user.full_name = full_name.strip()
    user.active = active
    if password:
        check_password_strength(password)
        user.password_hash = _hash(password)
    db.session.flush()
    after = _summary(user)
    if password:
        after["password"] = "changed"
    audit.record("user.update", "user", user.username, before, after)
    return user


def authenticate(username: str, password: str) -> User | None:
    user = db.session.scalar(select(User).filter_by(username=(username or "").strip().lower()))
    if user is None:
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    if not check_password_hash(user.password_hash, password or "") or not user.active:
        return None
    user.last_login_at = utcnow()
    return user
