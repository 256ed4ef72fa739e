"""Accepting a response: check it against the campaign's questionnaire, store it once,
and count its answers in the tally, all in the caller's transaction."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace

from flask import current_app
from sqlalchemy import DateTime, bindparam, select, text
from sqlalchemy.exc import IntegrityError

from .. import ledger
from ..extensions import db
from ..models import (
    Campaign,
    Response,
    canonical_json,
    utcnow,
)
from ..survey_form import spec
from . import ServiceError
from .issuance import hash_token

CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
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
                # Control characters have no place in a comment (and would blur the
                # ledger's field separators); line breaks and tabs stay.
                clean[code] = CONTROL_CHARS.sub("", value).strip()
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


@dataclass(frozen=True)
class Target:
    """What a survey link points at, read in one query (no ORM objects on the hot path).

    Duck-types the Campaign, Agency and IssuedForm attributes that `record` and the
    citizen pages use."""

    campaign: SimpleNamespace
    agency: SimpleNamespace
    form: SimpleNamespace | None = None
    open_code: str | None = None


_TARGET_COLUMNS = """
    c.id AS c_id, c.code AS c_code, c.name AS c_name, c.version_id, c.opens_at, c.closes_at,
    c.archived_at, a.id AS a_id, a.code AS a_code, a.name AS a_name"""
_BY_OPEN_CODE = text(f"""
    SELECT {_TARGET_COLUMNS}, s.open_code FROM campaign_agency s
    JOIN campaign c ON c.id = s.campaign_id JOIN agency a ON a.id = s.agency_id
    WHERE s.open_code = :code""")
_BY_TOKEN = text(f"""
    SELECT {_TARGET_COLUMNS}, f.id AS f_id, f.serial, f.voided_at, f.expires_at,
           r.id AS answered
    FROM issued_form f JOIN campaign c ON c.id = f.campaign_id JOIN agency a ON a.id = f.agency_id
    LEFT JOIN response r ON r.form_id = f.id
    WHERE f.token_hash = :h""")


def _as_datetime(value):
    # SQLite hands back text from a plain-SQL query; PostgreSQL a datetime.
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def _target(row, **extra) -> Target:
    campaign = SimpleNamespace(
        id=row.c_id, code=row.c_code, name=row.c_name, version_id=row.version_id,
        opens_at=_as_datetime(row.opens_at), closes_at=_as_datetime(row.closes_at),
        archived_at=_as_datetime(row.archived_at))
    agency = SimpleNamespace(id=row.a_id, code=row.a_code, name=row.a_name)
    return Target(campaign=campaign, agency=agency, **extra)


def find_form(token: str) -> Target | None:
    """The single-use link's form, campaign and agency, or None for an unknown token."""
    if not token or len(token) > 100:
        return None
    row = db.session.connection().execute(_BY_TOKEN, {"h": hash_token(token)}).first()
    if row is None:
        return None
    form = SimpleNamespace(id=row.f_id, serial=row.serial, answered=row.answered is not None,
                           voided_at=_as_datetime(row.voided_at),
                           expires_at=_as_datetime(row.expires_at))
    return _target(row, form=form)


def find_scope(open_code: str) -> Target | None:
    """The open link's campaign and agency, or None for an unknown code."""
    if not open_code or len(open_code) > 16:
        return None
    row = db.session.connection().execute(_BY_OPEN_CODE, {"code": open_code}).first()
    return _target(row, open_code=row.open_code) if row is not None else None


@dataclass(frozen=True)
class Recorded:
    id: int
    receipt_code: str
    submitted_at: datetime


_LOCK_FORM = text("UPDATE issued_form SET voided_at = NULL WHERE id = :id AND voided_at IS NULL")
_INSERT_RESPONSE = text("""
    INSERT INTO response (campaign_id, agency_id, channel, form_id, receipt_code, opened_at,
                          submitted_at, duration_s, answers, client_hash, device_hash,
                          entered_by_id, api_key_id)
    VALUES (:campaign_id, :agency_id, :channel, :form_id, :receipt_code, :opened_at,
            :submitted_at, :duration_s, :answers, :client_hash, :device_hash,
            :entered_by_id, :api_key_id)
    RETURNING id""").bindparams(
    bindparam("opened_at", type_=DateTime()), bindparam("submitted_at", type_=DateTime()))
_UPSERT_TALLY = text("""
    INSERT INTO answer_tally (campaign_id, agency_id, item_id, score, n)
    VALUES (:campaign_id, :agency_id, :item_id, :score, 1)
    ON CONFLICT (campaign_id, agency_id, item_id, score) DO UPDATE SET n = answer_tally.n + 1""")


def record(*, campaign, agency, channel: str, answers: dict, form=None,
           opened_at: datetime | None = None, client: str | None = None,
           device: str | None = None, entered_by_id: int | None = None,
           api_key_id: int | None = None, check_window: bool = True) -> Recorded:
    """Store one response (answers already validated), count it in the tally and append
    it to the campaign's ledger — all in the caller's transaction.

    A single-use form answers once: a second submission, even one racing the first,
    raises FormAlreadyUsed and leaves the session rolled back with nothing stored.
    Plain SQL throughout: this is the path every citizen's submission takes.
    """
    now = utcnow()
    if check_window:
        check_open(campaign, now)
    conn = db.session.connection()
    if form is not None:
        # Takes the form's row lock, as voiding does: a form voided at this very moment is
        # either void before this answer (refused here) or answered before the void.
        if not conn.execute(_LOCK_FORM, {"id": form.id}).rowcount:
            raise FormAlreadyUsed("Phiếu này đã bị hủy.")
    duration = None
    if opened_at is not None and opened_at <= now:
        duration = int((now - opened_at).total_seconds())
    receipt = new_receipt_code()
    try:
        response_id = conn.execute(_INSERT_RESPONSE, {
            "campaign_id": campaign.id, "agency_id": agency.id, "channel": channel,
            "form_id": form.id if form is not None else None, "receipt_code": receipt,
            "opened_at": opened_at, "submitted_at": now, "duration_s": duration,
            "answers": canonical_json(answers), "client_hash": keyed_hash(client),
            "device_hash": keyed_hash(device), "entered_by_id": entered_by_id,
            "api_key_id": api_key_id}).scalar_one()
    except IntegrityError as exc:
        db.session.rollback()
        raise FormAlreadyUsed("Phiếu này đã được trả lời; mỗi phiếu chỉ dùng một lần.") from exc
    rows = [{"campaign_id": campaign.id, "agency_id": agency.id, "item_id": item.id,
             "score": answers[item.code]}
            for item in spec(campaign.version_id).satisfaction_items() if item.code in answers]
    if rows:
        conn.execute(_UPSERT_TALLY, rows)
    if current_app.config["LEDGER_ENABLED"]:
        ledger.append(campaign.id, "response", receipt, ledger.response_payload(
            response_id=response_id, receipt=receipt, campaign_code=campaign.code,
            agency_code=agency.code, channel=channel, submitted_at=now,
            form_serial=form.serial if form is not None else None, answers=answers,
            version=spec(campaign.version_id)))
    return Recorded(response_id, receipt, now)


def by_receipt(code: str) -> Response | None:
    code = normalise_receipt(code)
    if len(code) != 11:
        return None
    return db.session.scalar(select(Response).filter_by(receipt_code=code))
