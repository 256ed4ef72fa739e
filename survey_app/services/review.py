"""Review of responses by the auditor (MTTQ) or the administration: received → approved /
has issues / rejected, with who, when and why.

A decision never changes the response: it appends a ResponseReview row, a "review" event
to the campaign's ledger (which `python -m analysis verify` checks against the exported
review_state) and an audit-log row, in the caller's transaction.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field

import pandas as pd
from flask_babel import gettext as _
from sqlalchemy import func, select

from analysis import load_audit

from .. import ledger
from ..extensions import db
from ..models import Campaign, Response, ResponseReview, User, canonical_json, utcnow
from . import ServiceError, audit, contacts, flags
from .agencies import subtree_ids
from .campaigns import ensure_writable

DECISIONS = ("approved", "has_issues", "rejected")
NEEDS_REASON = ("has_issues", "rejected")
DECIDERS = ("auditor", "admin")
REASON_MAX = 1000
MAX_BULK = 20_000


class ReviewRefused(ServiceError):
    """The decision was not recorded (not allowed, or invalid); nothing changed."""


def may_decide(user: User | None) -> bool:
    return user is not None and user.is_authenticated and user.role in DECIDERS


def clean_note(text: str | None, what: str, limit: int = REASON_MAX) -> str:
    """Whitespace-normalised free text of an auditor; refused when it holds a phone number
    (these texts are exported in the ledger)."""
    cleaned = " ".join((text or "").split())
    if len(cleaned) > limit:
        raise ReviewRefused(_("%(what)s quá dài (tối đa %(n)d ký tự).", what=what, n=limit))
    if contacts.contains_phone(cleaned):
        raise ReviewRefused(_("%(what)s không được chứa số điện thoại (nội dung này được "
                              "xuất trong sổ cái kiểm toán).", what=what))
    return cleaned


def latest_reviews(response_ids) -> dict[int, ResponseReview]:
    ids = list(response_ids)
    out: dict[int, ResponseReview] = {}
    for start in range(0, len(ids), 5000):
        chunk = ids[start:start + 5000]
        last = (select(func.max(ResponseReview.id)).where(ResponseReview.response_id.in_(chunk))
                .group_by(ResponseReview.response_id))
        for row in db.session.scalars(select(ResponseReview).where(ResponseReview.id.in_(last))):
            out[row.response_id] = row
    return out


def decide(response_ids, state: str, reason: str, user: User) -> list[ResponseReview]:
    """Record one decision about each response; returns the new review rows.

    Responses already in `state` with the same reason are left as they are (not a new
    decision). Refused (ReviewRefused) as a whole when the user may not decide, the state
    is not a decision, a reason is missing for has_issues/rejected, or an id is unknown.
    """
    if not may_decide(user):
        raise ReviewRefused(_("Chỉ giám sát viên (MTTQ) và quản trị viên được quyết định "
                              "duyệt phiếu."))
    if state not in DECISIONS:
        raise ReviewRefused(_("Trạng thái '%(state)s' không phải một quyết định (chọn: "
                              "%(choices)s).", state=state, choices=", ".join(DECISIONS)))
    reason = clean_note(reason, _("Lý do"))
    if state in NEEDS_REASON and not reason:
        raise ReviewRefused(_("Cần ghi lý do khi đánh dấu phiếu có vấn đề hoặc loại phiếu."))
    try:
        ids = sorted({int(i) for i in response_ids})
    except (TypeError, ValueError) as exc:
        raise ReviewRefused(_("Danh sách phiếu không hợp lệ.")) from exc
    if not ids:
        raise ReviewRefused(_("Chưa chọn phiếu nào."))
    if len(ids) > MAX_BULK:
        raise ReviewRefused(_("Mỗi lần quyết định tối đa %(n)d phiếu; hãy lọc hẹp hơn.",
                              n=MAX_BULK))
    found: dict[int, Response] = {}
    for start in range(0, len(ids), 5000):
        found.update((r.id, r) for r in db.session.scalars(
            select(Response).where(Response.id.in_(ids[start:start + 5000]))))
    missing = [i for i in ids if i not in found]
    if missing:
        raise ReviewRefused(_("Không có phiếu số %(id)s.", id=", ".join(map(str, missing[:10]))))
    for campaign in {found[i].campaign for i in ids}:
        ensure_writable(campaign, _("Không ghi được quyết định duyệt phiếu"))
    if user.agency_id is not None:
        # Whoever belongs to an agency never decides about that agency's responses.
        own = subtree_ids(user.agency)
        if any(found[i].agency_id in own for i in ids):
            raise ReviewRefused(_("Không được duyệt phiếu của chính cơ quan mình."))
    latest = latest_reviews(ids)
    now = utcnow()
    at = ledger.iso(now)
    rows = []
    for rid in ids:
        response = found[rid]
        before = latest.get(rid)
        if before is not None and before.state == state and before.reason == reason:
            continue
        row = ResponseReview(response_id=rid, state=state, reason=reason,
                             decided_by_id=user.id, decided_at=now)
        db.session.add(row)
        rows.append(row)
        ledger.append(response.campaign_id, "review", response.receipt_code, {
            "kind": "review", "response_id": rid, "receipt": response.receipt_code,
            "state": state, "reason": reason, "by": user.username, "at": at})
        audit.record("response.review", "response", response.receipt_code,
                     {"state": before.state if before else "received"},
                     {"state": state, "reason": reason})
    db.session.flush()
    return rows


def history(response: Response) -> list[ResponseReview]:
    return list(db.session.scalars(select(ResponseReview).filter_by(response_id=response.id)
                                   .order_by(ResponseReview.id)))


# --- the auditor's table of responses ---------------------------------------------------

FILTERS = ("agency", "collector", "channel", "state", "flag")


@dataclass
class Filters:
    agency: str = ""
    collector: str = ""
    channel: str = ""
    state: str = ""
    flag: str = ""

    @classmethod
    def from_mapping(cls, data) -> Filters:
        return cls(**{name: (data.get(name) or "").strip()[:120] for name in FILTERS})

    def as_dict(self) -> dict:
        return {name: getattr(self, name) for name in FILTERS if getattr(self, name)}


@dataclass
class Table:
    rows: pd.DataFrame
    total: int
    choices: dict = field(default_factory=dict)


def response_table(campaign: Campaign, filters: Filters) -> Table:
    """The campaign's responses with their collector, flags and review state, filtered:
    ``response_id, agency_code, channel, collector, form_serial, submitted_at, duration_s,
    flags, review_state`` in id order."""
    frame, table = flags.campaign_flags(campaign)
    per = table.groupby("response_id")["flag"].agg(lambda s: ";".join(sorted(set(s)))) \
        if len(table) else pd.Series(dtype="str")
    states = load_audit.review_states(db.session.connection(), campaign.id)
    rows = frame[["response_id", "agency_code", "channel", "collector", "form_serial",
                  "submitted_at", "duration_s"]].merge(states, on="response_id", how="left")
    # Cast before filling: with no flagged response the mapping is all-NaN float64, which
    # pandas refuses to fill with text.
    mapped = rows["response_id"].map(per).astype(object)
    rows = rows.assign(flags=mapped.where(mapped.notna(), ""),
                       review_state=rows["review_state"].astype(object)
                       .where(rows["review_state"].notna(), "received"))
    choices = {"agency": sorted(rows["agency_code"].unique()),
               "collector": sorted(rows["collector"].unique()),
               "channel": sorted(rows["channel"].unique())}
    keep = pd.Series(True, index=rows.index)
    if filters.agency:
        keep &= rows["agency_code"] == filters.agency
    if filters.collector:
        keep &= rows["collector"] == filters.collector
    if filters.channel:
        keep &= rows["channel"] == filters.channel
    if filters.state:
        keep &= rows["review_state"] == filters.state
    if filters.flag == "any":
        keep &= rows["flags"] != ""
    elif filters.flag == "none":
        keep &= rows["flags"] == ""
    elif filters.flag:
        keep &= rows["flags"].str.split(";").apply(lambda names: filters.flag in names)
    chosen = rows[keep.to_numpy(dtype=bool)].reset_index(drop=True)
    return Table(rows=chosen, total=len(rows), choices=choices)


@dataclass
class BulkPlan:
    """What a bulk decision about a filtered set would do, counted before it is applied."""

    matched: int
    changes: list[int]  # the responses that would get a new decision
    overturned: int     # of those, how many had another decision before
    kept: int           # responses with an earlier decision left as they are
    unchanged: int      # responses already holding this decision with this reason
    fingerprint: str    # the set and its decisions as previewed (checked when applying)


def plan_bulk(campaign: Campaign, filters: Filters, state: str, reason: str,
              overwrite: bool, user: User) -> BulkPlan:
    """Count what deciding `state` about every response matching `filters` would change.

    A response that already has a decision keeps it unless `overwrite` is chosen. A bulk
    decision needs a decision and a reason, whatever the decision. Nothing is written.
    """
    if not may_decide(user):
        raise ReviewRefused(_("Chỉ giám sát viên (MTTQ) và quản trị viên được quyết định "
                              "duyệt phiếu."))
    errors = []
    if state not in DECISIONS:
        errors.append(_("chưa chọn quyết định") if not state else
                      _("'%(state)s' không phải một quyết định", state=state))
    try:
        reason = clean_note(reason, _("Lý do"))
    except ReviewRefused as exc:
        errors.append(exc.message)
    else:
        if not reason:
            errors.append(_("cần ghi lý do cho quyết định hàng loạt"))
    if errors:
        raise ReviewRefused(_("Chưa ghi quyết định nào."), details=errors)
    ensure_writable(campaign, _("Không ghi được quyết định duyệt phiếu"))
    ids = [int(i) for i in response_table(campaign, filters).rows["response_id"]]
    if not ids:
        raise ReviewRefused(_("Không có phiếu nào khớp bộ lọc."))
    latest = latest_reviews(ids)
    changes, overturned, kept, unchanged = [], 0, 0, 0
    for rid in ids:
        before = latest.get(rid)
        if before is not None and before.state == state and before.reason == reason:
            unchanged += 1
        elif before is not None and not overwrite:
            kept += 1
        else:
            changes.append(rid)
            overturned += int(before is not None and before.state != state)
    seen = [[rid, latest[rid].id if rid in latest else 0] for rid in ids]
    fingerprint = hashlib.sha256(canonical_json(
        {"seen": seen, "state": state, "reason": reason, "overwrite": bool(overwrite)}
    ).encode()).hexdigest()
    return BulkPlan(matched=len(ids), changes=changes, overturned=overturned, kept=kept,
                    unchanged=unchanged, fingerprint=fingerprint)


def apply_bulk(campaign: Campaign, filters: Filters, state: str, reason: str,
               overwrite: bool, fingerprint: str, user: User) -> tuple[BulkPlan,
                                                                       list[ResponseReview]]:
    """Record the bulk decision previewed as `fingerprint`: recomputed now, and refused
    (nothing written) when the set or any decision in it changed since the preview."""
    plan = plan_bulk(campaign, filters, state, reason, overwrite, user)
    if not fingerprint or not hmac.compare_digest(plan.fingerprint, fingerprint):
        raise ReviewRefused(_("Tập phiếu hoặc quyết định của chúng đã thay đổi từ lúc xem "
                              "trước; chưa ghi quyết định nào. Hãy xem trước lại."))
    if not plan.changes:
        return plan, []
    return plan, decide(plan.changes, state, reason, user)
