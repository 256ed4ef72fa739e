"""Counter tablets as kiosks: registering one for an agency, its single-use enrolment link,
the credential its tablet keeps, revoking it, and what its page serves (the agency's form
in the campaign open now). The admin pages, the CLI and the kiosk's own pages call these.

A kiosk's credential is a random secret held in an HttpOnly cookie on the tablet; the
database keeps its SHA-256 only (`intake.hash_token`), as for every link's token.
"""

from __future__ import annotations

import dataclasses
import secrets
from datetime import timedelta
from types import SimpleNamespace

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from .. import intake
from ..extensions import db
from ..models import Campaign, CampaignAgency, Kiosk, utcnow
from . import ServiceError, audit
from .agencies import get_by_code

#: The kiosk page's address and its enrolment link's (the citizen blueprint serves both).
PAGE_PATH = "/kiosk"
ENROL_PATH = "/kiosk/dang-ky/"


def device_of(kiosk_id: int) -> str:
    """What a kiosk's responses carry as their device (stored keyed, `device_hash`), and
    what its form token is bound to: the kiosk's id, so the auditor can group by kiosk."""
    return f"kiosk:{kiosk_id}"


def enrol_url(token: str) -> str:
    return f"{current_app.config['PUBLIC_BASE_URL'].rstrip('/')}{ENROL_PATH}{token}"


def register(agency_code: str, name: str) -> tuple[Kiosk, str]:
    """A new kiosk for the agency; returns it and its enrolment link's token (shown once)."""
    name = (name or "").strip()
    if not name or len(name) > 120:
        raise ServiceError(_("Tên máy tại quầy phải có 1–120 ký tự."))
    agency = get_by_code((agency_code or "").strip())
    kiosk = Kiosk(agency=agency, name=name, created_by=audit.actor_name())
    db.session.add(kiosk)
    db.session.flush()
    audit.record("kiosk.register", "kiosk", kiosk.id, None,
                 {"agency": agency.code, "name": name})
    return kiosk, _new_link(kiosk)


def new_link(kiosk_id) -> tuple[Kiosk, str]:
    """A fresh enrolment link for a kiosk (a tablet replaced or its cookie lost): the
    previous link and the enrolled tablet's credential stop working."""
    kiosk = get_kiosk(kiosk_id)
    if kiosk.revoked_at is not None:
        raise ServiceError(_("Máy tại quầy %(id)s đã bị thu hồi; hãy đăng ký máy mới.",
                             id=kiosk.id))
    kiosk.credential_hash = None
    kiosk.enrolled_at = None
    token = _new_link(kiosk)
    return kiosk, token


def _new_link(kiosk: Kiosk) -> str:
    token = secrets.token_urlsafe(32)
    kiosk.enrol_hash = intake.hash_token(token)
    kiosk.enrol_expires_at = utcnow() + timedelta(hours=current_app.config["KIOSK_ENROL_HOURS"])
    db.session.flush()
    audit.record("kiosk.link_issue", "kiosk", kiosk.id, None,
                 {"expires_at": kiosk.enrol_expires_at.isoformat(timespec="seconds")})
    return token


def enrolling(token: str) -> Kiosk:
    """The kiosk an enrolment link is for; refuses an unknown, used or expired link and a
    revoked kiosk."""
    kiosk = None
    if token and len(token) <= 100:
        kiosk = db.session.scalar(select(Kiosk).filter_by(enrol_hash=intake.hash_token(token)))
    if kiosk is None:
        raise ServiceError(_("Đường dẫn đăng ký máy tại quầy không hợp lệ hoặc đã được dùng. "
                             "Hãy xin quản trị cấp đường dẫn mới."))
    if kiosk.revoked_at is not None:
        raise ServiceError(_("Máy tại quầy này đã bị thu hồi."))
    if kiosk.enrol_expires_at <= utcnow():
        raise ServiceError(_("Đường dẫn đăng ký máy tại quầy đã hết hạn. Hãy xin quản trị cấp "
                             "đường dẫn mới."))
    return kiosk


def enrol(token: str) -> tuple[Kiosk, str]:
    """The tablet opening its enrolment link: the link is spent and the kiosk's credential
    (returned, to be set in the tablet's cookie) replaces any earlier one."""
    kiosk = enrolling(token)
    credential = secrets.token_urlsafe(32)
    kiosk.credential_hash = intake.hash_token(credential)
    kiosk.enrol_hash = None
    kiosk.enrol_expires_at = None
    kiosk.enrolled_at = utcnow()
    db.session.flush()
    audit.record("kiosk.enrol", "kiosk", kiosk.id, None, {"credential": "issued"},
                 actor=SimpleNamespace(id=None, username=device_of(kiosk.id)))
    return kiosk, credential


def revoke(kiosk_id) -> Kiosk:
    """End a kiosk for good: its tablet is refused and any link it had stops working."""
    kiosk = get_kiosk(kiosk_id)
    if kiosk.revoked_at is not None:
        raise ServiceError(_("Máy tại quầy %(id)s đã bị thu hồi trước đó.", id=kiosk.id))
    kiosk.revoked_at = utcnow()
    kiosk.enrol_hash = None
    db.session.flush()
    audit.record("kiosk.revoke", "kiosk", kiosk.id, {"revoked": False}, {"revoked": True})
    return kiosk


def get_kiosk(kiosk_id) -> Kiosk:
    kiosk = db.session.get(Kiosk, int(kiosk_id)) if str(kiosk_id).isdigit() else None
    if kiosk is None:
        raise ServiceError(_("Không có máy tại quầy số %(id)s.", id=kiosk_id))
    return kiosk


def all_kiosks() -> list[Kiosk]:
    return list(db.session.scalars(select(Kiosk).order_by(Kiosk.id)))


def by_credential(credential: str | None) -> Kiosk | None:
    """The kiosk whose tablet holds `credential` (revoked or not), or None."""
    if not credential or len(credential) > 100:
        return None
    return db.session.scalar(
        select(Kiosk).filter_by(credential_hash=intake.hash_token(credential)))


def target(kiosk: Kiosk) -> intake.Target | None:
    """What the kiosk's page serves: its agency's form in the campaign open for it now
    (the one opened last, if several are), or None when none is."""
    now = utcnow()
    code = db.session.scalar(
        select(CampaignAgency.open_code).join(Campaign, Campaign.id == CampaignAgency.campaign_id)
        .where(CampaignAgency.agency_id == kiosk.agency_id, Campaign.archived_at.is_(None),
               Campaign.opens_at <= now, Campaign.closes_at > now)
        .order_by(Campaign.opens_at.desc(), Campaign.id.desc()).limit(1))
    scope = intake.find_scope(code) if code else None
    # Not the open link: no "answered already" cookie, no per-address limit.
    return dataclasses.replace(scope, open_code=None) if scope is not None else None


def note_use(kiosk: Kiosk) -> None:
    """The kiosk's last submission, for the admins' list."""
    kiosk.last_used_at = utcnow()
    db.session.flush()
