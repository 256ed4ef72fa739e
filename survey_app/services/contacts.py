"""Phone numbers citizens leave, with explicit consent, so that MTTQ can re-check their
answer ("phúc tra").

Personal data (Law 91/2025/QH15, Decree 13/2023/NĐ-CP): stored apart from the answers
(table recheck_contact, never in the ledger, the audit log or any export), shown to
auditors only, and deleted once the re-check is recorded or the campaign is archived.
"""

from __future__ import annotations

import re

from flask_babel import gettext as _
from sqlalchemy import delete, exists, select, update

from ..extensions import db
from ..models import (
    Campaign,
    IssuedForm,
    PaperEntry,
    RecheckContact,
    Response,
    Reverification,
    utcnow,
)
from . import ServiceError, audit

# Form field names suggested for the citizen's page.
CONSENT_FIELD = "recheck_consent"
PHONE_FIELD = "recheck_phone"

_SEPARATORS = re.compile(r"[\s.\-()]")
_NATIONAL = re.compile(r"0[1-9]\d{8,9}")       # 0 + 9–10 digits (mobile 10, landline 11)
_INTERNATIONAL = re.compile(r"\+84([1-9]\d{8,9})")
# Something in free text that reads like a Vietnamese phone number.
_PHONE_IN_TEXT = re.compile(r"(?<![\d+])(?:\+84|84|0)[\s.\-]?[1-9](?:[\s.\-]?\d){7,9}(?!\d)")


class InvalidContact(ServiceError):
    """No consent, or not a Vietnamese phone number; nothing was stored."""


def normalise_phone(raw: str | None) -> str:
    """The number in national form (0xxxxxxxxx); InvalidContact if it is not one."""
    compact = _SEPARATORS.sub("", raw or "")
    if _NATIONAL.fullmatch(compact):
        return compact
    m = _INTERNATIONAL.fullmatch(compact)
    if m:
        return "0" + m.group(1)
    raise InvalidContact(_("Số điện thoại không hợp lệ: nhập số Việt Nam bắt đầu bằng 0 "
                           "(10 hoặc 11 chữ số) hoặc +84."))


def contains_phone(text: str | None) -> bool:
    """Whether free text (a review reason, a re-check note) holds a phone number."""
    return bool(_PHONE_IN_TEXT.search(text or ""))


def validate_contact(phone: str | None, consent: bool) -> str | None:
    """Check what the citizen typed before anything is stored.

    Returns the normalised number to store, or None when there is nothing to store (no
    number and no consent). Raises InvalidContact for a number without consent, consent
    without a (valid) number.
    """
    typed = (phone or "").strip()
    if consent is not True:
        if typed:
            raise InvalidContact(_("Muốn để lại số điện thoại thì cần đánh dấu đồng ý cho "
                                   "phép liên hệ lại."))
        return None
    if not typed:
        raise InvalidContact(_("Đã đồng ý liên hệ lại nhưng chưa nhập số điện thoại."))
    return normalise_phone(typed)


def store_contact(response_id: int, phone: str, consent: bool) -> RecheckContact:
    """Keep a citizen's phone number for a re-check of response `response_id`.

    `consent` must be exactly True (the citizen ticked the box); the number must be
    Vietnamese (0 + 9–10 digits, or +84 …). Adds and flushes in the caller's transaction;
    raises InvalidContact (nothing stored, the transaction still usable) otherwise.
    """
    if consent is not True:
        raise InvalidContact(_("Chưa có sự đồng ý rõ ràng của người trả lời; không lưu số "
                               "điện thoại."))
    number = normalise_phone(phone)
    response = db.session.get(Response, response_id)
    if response is None:
        raise InvalidContact(_("Không có phiếu trả lời số %(id)s.", id=response_id))
    if response.campaign.archived_at is not None:
        raise InvalidContact(_("Đợt khảo sát đã lưu trữ; không lưu số điện thoại."))
    if db.session.scalar(select(RecheckContact.id).filter_by(response_id=response_id)):
        raise InvalidContact(_("Phiếu này đã có số điện thoại liên hệ."))
    contact = RecheckContact(response_id=response_id, phone=number, consented_at=utcnow())
    db.session.add(contact)
    db.session.flush()
    return contact


def phones(response_ids) -> dict[int, str]:
    """Phone numbers by response id. For the auditor's re-verification page only."""
    ids = list(response_ids)
    out: dict[int, str] = {}
    for start in range(0, len(ids), 5000):
        out.update(db.session.execute(
            select(RecheckContact.response_id, RecheckContact.phone)
            .where(RecheckContact.response_id.in_(ids[start:start + 5000]))).all())
    return out


def with_contact(response_ids) -> set[int]:
    """Which of these responses have a number kept (without reading the numbers)."""
    ids = list(response_ids)
    out: set[int] = set()
    for start in range(0, len(ids), 5000):
        out.update(db.session.scalars(
            select(RecheckContact.response_id)
            .where(RecheckContact.response_id.in_(ids[start:start + 5000]))))
    return out


def erase_for_response(response_id: int) -> bool:
    """Delete the number kept for one response (its re-check is recorded)."""
    return bool(db.session.execute(
        delete(RecheckContact).where(RecheckContact.response_id == response_id)
        .execution_options(synchronize_session=False)).rowcount)


def purge_contacts(campaign: Campaign | None = None) -> int:
    """Erase the numbers no longer needed: those of archived campaigns and of responses
    whose re-check is recorded; with `campaign`, every number of that campaign (its
    re-verification is over). Returns how many were erased; the audit log records the
    count, never a number."""
    if campaign is not None:
        condition = RecheckContact.response_id.in_(
            select(Response.id).where(Response.campaign_id == campaign.id))
    else:
        archived = select(Response.id).join(Campaign, Campaign.id == Response.campaign_id) \
            .where(Campaign.archived_at.is_not(None))
        checked = exists().where(Reverification.response_id == RecheckContact.response_id)
        condition = RecheckContact.response_id.in_(archived) | checked
    erased = db.session.execute(delete(RecheckContact).where(condition)
                                .execution_options(synchronize_session=False)).rowcount
    # Paper entries still waiting for their second keying hold a keyed hash of a number.
    over = (Campaign.id == campaign.id) if campaign is not None \
        else Campaign.archived_at.is_not(None)
    db.session.execute(
        update(PaperEntry).where(PaperEntry.contact_digest.is_not(None), PaperEntry.form_id.in_(
            select(IssuedForm.id).join(Campaign, Campaign.id == IssuedForm.campaign_id)
            .where(over))).values(contact_digest=None)
        .execution_options(synchronize_session=False))
    audit.record("contacts.purge", "campaign", campaign.code if campaign else "*", None,
                 {"erased": erased})
    return erased
