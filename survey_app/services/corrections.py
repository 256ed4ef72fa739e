"""Corrections of a response's answers by the administration (Sở Nội vụ), typically a
typo made when a paper form was keyed.

The response itself is never changed: a correction is a ResponseCorrection row holding
the new values and the reason, and its effective answers (what exports, the tally and
the results use) are the submitted ones with every correction applied in order. In the
caller's transaction, a correction also moves the affected answers in the tally,
appends a "correction" event to the campaign's ledger (carrying what `python -m analysis
verify` needs to replay it) and an audit-log row.
"""

from __future__ import annotations

import numpy as np
from flask_babel import gettext as _

from analysis.load_cross import add_cross
from analysis.load_sql import apply_corrections

from .. import ledger
from ..extensions import db
from ..intake import validate as validate_answers
from ..intake.store import ADD_TALLY, tally_mark
from ..intake.store import add_cross as add_cross_rows
from ..models import Response, ResponseCorrection, User, canonical_json, utcnow
from ..questions import get_type
from ..rawsql import Statement
from ..survey_form import spec
from . import ServiceError, audit
from .agencies import subtree_ids
from .campaigns import CampaignArchived, ensure_writable
from .review import ReviewRefused, clean_note

CORRECTORS = ("admin",)
CLEAR = "-"  # typed instead of a value: the item becomes unanswered

_DECREMENT_TALLY = Statement(
    "UPDATE answer_tally SET n = n - 1 WHERE campaign_id = :campaign_id AND "
    "agency_id = :agency_id AND item_id = :item_id AND score = :score AND n > 0")


class CorrectionRefused(ServiceError):
    """The correction was not recorded (not allowed, or invalid); nothing changed."""


def may_correct(user: User | None) -> bool:
    return user is not None and user.is_authenticated and user.role in CORRECTORS


def typed_value(item_type: str, typed):
    """A value as typed on the correction form (or given by a caller) in the shape
    answers are validated in: ``-`` clears, multiple choices are separated by ; or ,."""
    if not isinstance(typed, str):
        return typed
    typed = typed.strip()
    if typed == CLEAR:
        return None
    return get_type(item_type).from_typed(typed)


def correct(response_id, changes: dict, reason: str, user: User) -> ResponseCorrection:
    """Correct one or more answers of a response; returns the correction row.

    `changes` maps item codes to new values (as typed: see :func:`typed_value`; ``-`` or
    None leaves the item unanswered). Refused as a whole (CorrectionRefused, in
    Vietnamese) when the user is not an administrator or belongs to the response's agency,
    the response is unknown or archived, the reason is missing, an item is unknown, a
    value is out of range, or a value is the one the response already has.
    """
    if not may_correct(user):
        raise CorrectionRefused("Chỉ quản trị viên (Sở Nội vụ) được đính chính câu trả lời.")
    try:
        response = db.session.get(Response, int(response_id))
    except (TypeError, ValueError):
        response = None
    if response is None:
        raise CorrectionRefused(f"Không có phiếu số {response_id}.")
    if user.agency_id is not None and response.agency_id in subtree_ids(user.agency):
        raise CorrectionRefused("Không được đính chính phiếu của chính cơ quan mình.")
    try:
        ensure_writable(response.campaign, _("Không ghi được đính chính"))
    except CampaignArchived as exc:
        raise CorrectionRefused(exc.message) from exc
    try:
        reason = clean_note(reason, _("Lý do đính chính"))
    except ReviewRefused as exc:
        raise CorrectionRefused(exc.message) from exc
    if not reason:
        raise CorrectionRefused("Cần ghi lý do đính chính.")
    if not isinstance(changes, dict) or not changes:
        raise CorrectionRefused("Chưa nhập giá trị mới nào để đính chính.")

    version = response.campaign.version
    items = {item.code: item for item in version.items}
    current = response.effective_answers
    new, errors = {}, []
    for code, typed in changes.items():
        item = items.get(code)
        if item is None:
            errors.append(f"{code}: không có câu hỏi mã này trong phiếu.")
            continue
        value = typed_value(item.type, typed)
        if value is None:
            new[code] = None
        else:
            clean, problems = validate_answers(version, {code: value}, require=False)
            if problems or code not in clean:
                errors.append(f"{code}: {problems.get(code, 'giá trị trống')}.")
                continue
            new[code] = clean[code]
        if new[code] == current.get(code):
            errors.append(f"{code}: giá trị mới trùng với giá trị hiện có.")
            del new[code]
    if errors:
        raise CorrectionRefused("Không ghi được đính chính; hãy sửa các mục sau:",
                                details=errors)

    previous = {code: current.get(code) for code in new}
    now = utcnow()
    row = ResponseCorrection(response=response, changes=canonical_json(new),
                             previous=canonical_json(previous), reason=reason,
                             corrected_by_id=user.id, corrected_at=now)
    db.session.add(row)
    _move_tally(response, items, current, previous, new)
    ledger.append(response.campaign_id, "correction", response.receipt_code, {
        "kind": "correction", "response_id": response.id, "receipt": response.receipt_code,
        "changes": {code: {"from": previous[code], "to": new[code]} for code in new},
        "reason": reason, "by": user.username, "at": ledger.iso(now)})
    audit.record("response.correct", "response", response.receipt_code, previous,
                 {**new, "reason": reason})
    db.session.flush()
    return row


def _move_tally(response: Response, items: dict, current: dict, previous: dict,
                new: dict) -> None:
    """The tally counts effective satisfaction answers (0 = not applicable included), the
    cross counts them by channel and profile answer, with the other answers' own counts
    (`analysis.load_cross`): both move from `current` to the corrected answers. A
    response after the campaign's tally mark is not counted yet: the step that counts it
    will read this correction (both under the campaign's chain lock)."""
    sql = ledger.lock_chain(response.campaign_id)
    if response.id > tally_mark(response.campaign_id, sql):
        return
    cross: dict[tuple, list] = {}
    plan = spec(response.campaign.version_id).cross_plan
    add_cross(cross, response.agency_id, response.channel, current, plan, -1)
    add_cross(cross, response.agency_id, response.channel,
              apply_corrections(current, [new]), plan, 1)
    moved = [key for key, counts in cross.items() if any(counts)]
    add_cross_rows(response.campaign_id, moved,
                   np.array([cross[key] for key in moved], dtype="int64").reshape(
                       len(moved), plan.size), sql)
    for code, after in new.items():
        item = items[code]
        if not get_type(item.type).scored:
            continue
        key = {"campaign_id": response.campaign_id, "agency_id": response.agency_id,
               "item_id": item.id}
        if previous[code] is not None:
            _DECREMENT_TALLY.execute({**key, "score": previous[code]}, on=sql)
        if after is not None:
            ADD_TALLY.execute({**key, "score": after, "n": 1}, on=sql)
