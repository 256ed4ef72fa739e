"""Accounts: creation with a role (and an agency for officers), passwords, activation,
one-time links with which an account's owner sets their own password and second factor.

An auditor (MTTQ) checks the operator (Sở Nội vụ): no admin ever sets or learns an
auditor's password or second factor. An admin creates the account or issues a reset and
hands over a one-time link; the auditor sets both with it.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta

from flask import current_app, has_request_context
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select, update
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db
from ..models import ROLES, AccountLink, User, utcnow
from . import ServiceError, audit, twofactor
from .agencies import get_by_code

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{2,79}$")
MIN_PASSWORD = 10
# Checked against when the user does not exist, so a login takes as long either way.
_DUMMY_HASH = generate_password_hash("not-a-password")


def _hash(password: str) -> str:
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def check_password_strength(password: str) -> None:
    if len(password or "") < MIN_PASSWORD:
        raise ServiceError(_("Mật khẩu phải có ít nhất %(n)d ký tự.", n=MIN_PASSWORD))


def _summary(user: User) -> dict:
    return {"username": user.username, "role": user.role, "full_name": user.full_name,
            "agency": user.agency.code if user.agency else None, "active": user.active}


#: Roles whose password only the account's owner sets (through a one-time link).
OWNER_SETS_PASSWORD = ("auditor",)
LINK_VALID = timedelta(hours=24)
OWNER_ONLY_MESSAGE = _l("Mật khẩu và xác thực hai bước của tài khoản giám sát (MTTQ) chỉ do "
                        "chính người giám sát đặt: hãy cấp đường dẫn đặt lại.")


def _unusable_password() -> str:
    """A hash of a secret nobody keeps: the account has no password until its owner sets one."""
    return _hash(secrets.token_urlsafe(32))


def create_user(username: str, password: str | None, role: str,
                agency_code: str | None = None, full_name: str = "") -> User:
    """Create an account. `password=None`: none yet (the owner sets it by a link); a
    password here is for the installation's bootstrap and the demo, see create_account."""
    username = (username or "").strip().lower()
    errors = []
    if not USERNAME_RE.match(username):
        errors.append(_("tên đăng nhập 3–80 ký tự: chữ thường, số, . _ -"))
    elif db.session.scalar(select(User.id).filter_by(username=username)) is not None:
        errors.append(_("tên đăng nhập '%(name)s' đã tồn tại", name=username))
    if role not in ROLES:
        errors.append(_("vai trò '%(role)s' không hợp lệ (một trong: %(choices)s)", role=role,
                        choices=", ".join(ROLES)))
    if role == "officer" and not agency_code:
        errors.append("cán bộ cơ quan (officer) cần có --agency")
    agency = None
    if agency_code:
        try:
            agency = get_by_code(agency_code)
        except ServiceError as exc:
            errors.append(exc.message)
    if password is not None:
        try:
            check_password_strength(password)
        except ServiceError as exc:
            errors.append(exc.message)
    if errors:
        raise ServiceError(_("Không tạo được tài khoản."), details=errors)
    user = User(username=username, role=role, agency=agency, full_name=(full_name or "").strip(),
                password_hash=_hash(password) if password is not None else _unusable_password())
    db.session.add(user)
    db.session.flush()
    audit.record("user.create", "user", username, None,
                 {**_summary(user), "password": "set" if password is not None else "by link"})
    return user


def create_account(username: str, role: str, agency_code: str | None = None,
                   full_name: str = "", password: str | None = None) -> tuple[User, str | None]:
    """An operator (admin page, CLI) creates an account. An auditor's account never gets a
    password from them: it gets a one-time link, as does any account created without a
    password. Returns the user and the link's token (None when a password was given)."""
    if role in OWNER_SETS_PASSWORD and password:
        raise ServiceError(str(OWNER_ONLY_MESSAGE))
    user = create_user(username, password or None, role, agency_code, full_name)
    token = None if password else issue_link(user, purpose="setup")
    return user, token


def update_user(user: User, *, role: str, agency_code: str | None, full_name: str,
                active: bool, password: str | None = None) -> str | None:
    """An admin edits an account. Returns a one-time link's token when the account became
    an auditor's: its old credentials are dropped and the new auditor sets their own."""
    if role not in ROLES:
        raise ServiceError(_("Vai trò '%(role)s' không hợp lệ.", role=role))
    if role == "officer" and not agency_code:
        raise ServiceError(_("Cán bộ cơ quan (officer) cần có cơ quan."))
    if password and (user.role in OWNER_SETS_PASSWORD or role in OWNER_SETS_PASSWORD):
        raise ServiceError(str(OWNER_ONLY_MESSAGE))
    if password:
        check_password_strength(password)
    agency = get_by_code(agency_code) if agency_code else None
    before = _summary(user)
    becomes_owner_only = role in OWNER_SETS_PASSWORD and user.role not in OWNER_SETS_PASSWORD
    user.role = role
    user.agency = agency
    user.full_name = full_name.strip()
    user.active = active
    if password:
        user.password_hash = _hash(password)
    db.session.flush()
    after = _summary(user)
    name = user.username
    if before["role"] != after["role"]:
        audit.record("user.role_change", "user", name, {"role": before["role"]},
                     {"role": after["role"]})
    if before["active"] != after["active"]:
        audit.record("user.enable" if active else "user.disable", "user", name,
                     {"active": before["active"]}, {"active": after["active"]})
    if (before["full_name"], before["agency"]) != (after["full_name"], after["agency"]):
        audit.record("user.update", "user", name, before, after)
    if password:
        audit.record("user.password_set", "user", name, None, {"password": "set by admin"})
    if becomes_owner_only:
        # Whatever the admin knew of the account's credentials goes with its new role.
        user.password_hash = _unusable_password()
        twofactor.drop(user)
        return issue_link(user, purpose="setup")
    return None


def change_password(user: User, current: str, new: str, confirm: str) -> None:
    """The account's owner changes their own password."""
    if not check_password_hash(user.password_hash, current or ""):
        raise ServiceError(_("Mật khẩu hiện tại không đúng. Mật khẩu chưa được đổi."))
    _check_new_password(new, confirm)
    if check_password_hash(user.password_hash, new):
        raise ServiceError(_("Mật khẩu mới phải khác mật khẩu hiện tại."))
    user.password_hash = _hash(new)
    db.session.flush()
    audit.record("user.password_change", "user", user.username, None, {"password": "changed"})


def _check_new_password(new: str, confirm: str) -> None:
    if (new or "") != (confirm or ""):
        raise ServiceError(_("Hai lần nhập mật khẩu mới không khớp nhau."))
    check_password_strength(new)


# --- one-time links ---------------------------------------------------------------------

def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_link(user: User, purpose: str = "reset") -> str:
    """A one-time link (valid LINK_VALID) with which the owner sets a new password, and a
    new second factor where the role needs one. Earlier unused links stop working. Returns
    the token; only its hash is kept."""
    now = twofactor.utcnow()
    db.session.execute(update(AccountLink).where(
        AccountLink.user_id == user.id, AccountLink.used_at.is_(None),
        AccountLink.expires_at > now).values(expires_at=now))
    token = secrets.token_urlsafe(32)
    actor_id = current_user.id if has_request_context() and current_user.is_authenticated \
        else None
    link = AccountLink(user_id=user.id, token_hash=_token_hash(token), purpose=purpose,
                       created_at=now, expires_at=now + LINK_VALID, issued_by_id=actor_id,
                       issued_by=audit.actor_name())
    db.session.add(link)
    db.session.flush()
    audit.record("user.reset_issue" if purpose == "reset" else "user.link_issue", "user",
                 user.username, None,
                 {"purpose": purpose, "expires_at": link.expires_at.isoformat(timespec="seconds")})
    return token


def link_url(token: str) -> str:
    return f"{current_app.config['PUBLIC_BASE_URL'].rstrip('/')}/auth/link/{token}"


def find_link(token: str) -> AccountLink:
    """The usable link with this token; refuses unknown, used and expired links."""
    link = db.session.scalar(select(AccountLink).filter_by(token_hash=_token_hash(token or "")))
    if link is None:
        raise ServiceError(_("Đường dẫn không hợp lệ. Hãy kiểm tra lại hoặc xin quản trị cấp "
                             "đường dẫn mới."))
    if link.used_at is not None:
        raise ServiceError(_("Đường dẫn này đã được dùng; mỗi đường dẫn chỉ dùng được một lần."))
    if link.expires_at <= twofactor.utcnow():
        raise ServiceError(_("Đường dẫn đã hết hạn (hiệu lực 24 giờ). Hãy xin quản trị cấp "
                             "đường dẫn mới."))
    if not link.user.active:
        raise ServiceError(_("Tài khoản này đang bị khóa."))
    return link


def use_link(link: AccountLink, password: str, confirm: str, secret: str | None = None,
             code: str | None = None) -> list[str]:
    """The owner sets a new password (and, for roles that need one, a new second factor)
    with a link. The old password, second factor and recovery codes stop working. Returns
    the new recovery codes (empty for roles without a second factor)."""
    user = link.user
    _check_new_password(password, confirm)
    needs_factor = twofactor.required(user)
    if needs_factor:
        twofactor.check_new_secret(secret or "", code or "")
    user.password_hash = _hash(password)
    twofactor.drop(user)
    link.used_at = twofactor.utcnow()
    db.session.flush()
    audit.record("user.reset_use" if link.purpose == "reset" else "user.link_use", "user",
                 user.username, None, {"purpose": link.purpose, "password": "set by owner"},
                 actor=user)
    if needs_factor:
        return twofactor.enrol(user, secret, code, reason=link.purpose)
    return []


def authenticate(username: str, password: str) -> User | None:
    user = db.session.scalar(select(User).filter_by(username=(username or "").strip().lower()))
    if user is None:
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    if not check_password_hash(user.password_hash, password or "") or not user.active:
        return None
    user.last_login_at = utcnow()
    return user


def get_by_username(username: str) -> User:
    user = db.session.scalar(select(User).filter_by(username=(username or "").strip().lower()))
    if user is None:
        raise ServiceError(f"Không có tài khoản '{username}'.")
    return user
