"""Accepting a response: check it against the campaign's questionnaire, store it once,
and count its answers in the tally, all in the caller's transaction."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from .. import ledger
from ..extensions import db
from ..models import (
    AnswerTally,
    Campaign,
    CampaignAgency,
    IssuedForm,
    Response,
    canonical_json,
    utcnow,
)
from ..survey_form import spec
from . import ServiceError
from .issuance import hash_token

RECEIPT_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


class FormAlreadyUsed(ServiceError):
    """The single-use form was answered already (possibly a moment ago, concurrently)."""


class CampaignClosed(ServiceError):
    pass


def keyed_hash(value: str | None) -> str | None:
    """An HMAC of a network address or device id: comparable, never reversible."""
    if not value:
        return None
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, value.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


def new_receipt_code() -> str:
    raw = "".join(secrets.choice(RECEIPT_ALPHABET) for _ in range(10))
    return f"{raw[:5]}-{raw[5:]}"


def normalise_receipt(code: str) -> str:
    raw = "".join(ch for ch in (code or "").upper() if ch.isalnum())
    return f"{raw[:5]}-{raw[5:]}" if len(raw) == 10 else raw


def validate_answers(version, answers: dict, *, require: bool = True
                     ) -> tuple[dict, dict[str, str]]:
    """Check raw answers (from the web form, the API or a paper entry) against the
    questionnaire.

    Returns (clean answers, errors by item code). Unknown items, out-of-range values,
    duplicates in a multiple choice and (with `require`) missing required answers are
    errors. Paper forms pass require=False: a citizen may leave a printed question blank,
    and a blank is recorded as unanswered, not as "not applicable".
    """
    from ..questions import PRIORITY_LABELS

    items = {i.code: i for i in version.items}
    clean, errors = {}, {}
    if not isinstance(answers, dict):
        return {}, {"_": "answers phải là một đối tượng {mã câu hỏi: giá trị}"}
    for code, value in answers.items():
        item = items.get(code)
        if item is None:
            errors[str(code)] = "không có câu hỏi mã này"
            continue
        if value is None or value == "" or value == []:
            continue
        if item.type == "satisfaction":
            if isinstance(value, bool) or not isinstance(value, int | str) or \
                    str(value) not in ("0", "1", "2", "3", "4", "5"):
                errors[code] = "giá trị phải là 1–5, hoặc 0 (không áp dụng)"
            else:
                clean[code] = int(value)
        elif item.type == "priority":
            if isinstance(value, bool) or str(value) not in {str(k) for k in PRIORITY_LABELS["vi"]}:
                errors[code] = "giá trị phải là 1, 2 hoặc 3"
            else:
                clean[code] = int(value)
        elif item.type == "single_choice":
            allowed = [c["code"] for c in item.choices]
            if not isinstance(value, str) or value not in allowed:
                errors[code] = f"giá trị phải là một trong: {', '.join(allowed)}"
            else:
                clean[code] = value
        elif item.type == "multiple_choice":
            allowed = [c["code"] for c in item.choices]
            values = value if isinstance(value, list) else None
            if values is None or not all(isinstance(v, str) and v in allowed for v in values):
                errors[code] = f"danh sách giá trị trong: {', '.join(allowed)}"
            elif len(set(values)) != len(values):
                errors[code] = "giá trị bị lặp"
            else:
                clean[code] = [c for c in allowed if c in values]
        elif item.type == "text":
            limit = int((item.options or {}).get("max_length", 2000))
            if not isinstance(value, str):
                errors[code] = "phải là văn bản"
            elif len(value) > limit:
                errors[code] = f"tối đa {limit} ký tự"
            elif value.strip():
                clean[code] = value.strip()
    for item in version.items if require else ():
        if item.required and item.code not in clean and item.code not in errors:
            errors[item.code] = "câu hỏi bắt buộc chưa được trả lời"
    return clean, errors


def check_open(campaign: Campaign, at: datetime | None = None) -> None:
    at = at or utcnow()
    if campaign.archived_at is not None or at >= campaign.closes_at:
        raise CampaignClosed("Đợt khảo sát đã kết thúc; không nhận thêm phiếu.")
    if at < campaign.opens_at:
        raise CampaignClosed("Đợt khảo sát chưa bắt đầu.")


def find_form(token: str) -> IssuedForm | None:
    if not token or len(token) > 100:
        return None
    return db.session.scalar(
        select(IssuedForm).filter_by(token_hash=hash_token(token))
        .options(joinedload(IssuedForm.campaign), joinedload(IssuedForm.agency),
                 joinedload(IssuedForm.response)))


def find_scope(open_code: str) -> CampaignAgency | None:
    if not open_code or len(open_code) > 16:
        return None
    return db.session.scalar(
        select(CampaignAgency).filter_by(open_code=open_code)
        .options(joinedload(CampaignAgency.campaign), joinedload(CampaignAgency.agency)))


def record(*, campaign: Campaign, agency, channel: str, answers: dict,
           form: IssuedForm | None = None, opened_at: datetime | None = None,
           client: str | None = None, device: str | None = None,
           entered_by_id: int | None = None, api_key_id: int | None = None,
           check_window: bool = True) -> Response:
    """Store one response (answers already validated), count it in the tally and append
    it to the campaign's ledger — all in the caller's transaction.

    A single-use form answers once: a second submission, even one racing the first,
    raises FormAlreadyUsed and leaves the session rolled back with nothing stored.
    """
    now = utcnow()
    if check_window:
        check_open(campaign, now)
    if form is not None:
        # Takes the form's row lock, as voiding does: a form voided at this very moment is
        # either void before this answer (refused here) or answered before the void.
        still_valid = db.session.execute(
            update(IssuedForm).where(IssuedForm.id == form.id, IssuedForm.voided_at.is_(None))
            .values(voided_at=None).execution_options(synchronize_session=False)).rowcount
        if not still_valid:
            raise FormAlreadyUsed("Phiếu này đã bị hủy.")
    duration = None
    if opened_at is not None and opened_at <= now:
        duration = int((now - opened_at).total_seconds())
    response = Response(
        campaign_id=campaign.id, agency_id=agency.id, channel=channel,
        form_id=form.id if form is not None else None, receipt_code=new_receipt_code(),
        opened_at=opened_at, submitted_at=now, duration_s=duration,
        answers=canonical_json(answers), client_hash=keyed_hash(client),
        device_hash=keyed_hash(device), entered_by_id=entered_by_id, api_key_id=api_key_id,
    )
    db.session.add(response)
    try:
        db.session.flush()
    except IntegrityError as exc:
        db.session.rollback()
        raise FormAlreadyUsed("Phiếu này đã được trả lời; mỗi phiếu chỉ dùng một lần.") from exc
    _count(campaign, agency.id, answers)
    ledger.append(campaign.id, "response", response.receipt_code, ledger.response_payload(
        response_id=response.id, receipt=response.receipt_code, campaign_code=campaign.code,
        agency_code=agency.code, channel=channel, submitted_at=now,
        form_serial=form.serial if form is not None else None, answers=answers))
    return response


_UPSERTS: dict[str, object] = {}


def _upsert(dialect: str):
    """One cached upsert statement per dialect, run with executemany."""
    stmt = _UPSERTS.get(dialect)
    if stmt is None:
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        base = insert(AnswerTally)
        stmt = base.on_conflict_do_update(
            index_elements=["campaign_id", "agency_id", "item_id", "score"],
            set_={"n": AnswerTally.n + base.excluded.n})
        _UPSERTS[dialect] = stmt
    return stmt


def _count(campaign: Campaign, agency_id: int, answers: dict) -> None:
    """Add the satisfaction answers to the tally (one prepared upsert, one row per item)."""
    rows = [
        {"campaign_id": campaign.id, "agency_id": agency_id, "item_id": item.id,
         "score": answers[item.code], "n": 1}
        for item in spec(campaign.version_id).satisfaction_items() if item.code in answers
    ]
    if rows:
        connection = db.session.connection()
        connection.execute(_upsert(connection.dialect.name), rows)


def by_receipt(code: str) -> Response | None:
    code = normalise_receipt(code)
    if len(code) != 11:
        return None
    return db.session.scalar(select(Response).filter_by(receipt_code=code))
