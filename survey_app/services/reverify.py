"""Re-verification ("phúc tra"): draw a stratified random sample of responses from a seed
the auditor chooses, record what re-contacting each respondent found, and report the
falsification signal per collector and agency.

The draw itself is analysis.sampling_audit.draw_sample, a pure function of the
population, the flagged records, the seed and the rate; the "sample" ledger event
records all of them, so `python -m analysis resample BUNDLE --seed S --rate R` redoes it.
"""

from __future__ import annotations

import pandas as pd
from flask import has_request_context
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from analysis import load_audit, sampling_audit

from .. import ledger
from ..extensions import db
from ..models import (
    REVERIFY_OUTCOMES,
    Agency,
    Campaign,
    IssuedForm,
    Response,
    Reverification,
    ReverifyDraw,
    User,
    canonical_json,
    utcnow,
)
from . import ServiceError, audit, contacts, flags
from .campaigns import ensure_writable
from .review import DECIDERS, clean_note

OUTCOMES = REVERIFY_OUTCOMES
NEEDS_NOTE = ("answers_differ",)
MAX_SEED = 2**63 - 1


class ReverifyRefused(ServiceError):
    pass


def _user(user: User | None) -> User | None:
    if user is None and has_request_context() and current_user.is_authenticated:
        user = current_user
    if user is not None and user.role not in DECIDERS:
        raise ReverifyRefused(_("Chỉ giám sát viên (MTTQ) và quản trị viên được thực hiện "
                                "phúc tra."))
    return user


def draw_sample(campaign: Campaign, rate: float, seed: int, oversample_flagged: float = 2.0,
                *, user: User | None = None) -> ReverifyDraw:
    """Draw and record a re-verification sample among the campaign's responses so far
    that can be re-contacted (a numbered paper form issued to a collector, or a phone
    number left with consent)."""
    user = _user(user)
    ensure_writable(campaign, _("Không rút được mẫu phúc tra"))
    errors = []
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 < rate <= 1:
        errors.append(_("tỷ lệ phúc tra phải lớn hơn 0 và không quá 1 (ví dụ 0.1 là 10 %)"))
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        errors.append(_("hạt giống (seed) phải là số nguyên không âm"))
    if isinstance(oversample_flagged, bool) or not isinstance(oversample_flagged, int | float) \
            or not 1 <= oversample_flagged <= 100:
        errors.append(_("hệ số ưu tiên phiếu bị gắn cờ phải từ 1 đến 100"))
    if errors:
        raise ReverifyRefused(_("Không rút được mẫu phúc tra."), details=errors)
    rate, oversample_flagged = float(rate), float(oversample_flagged)
    # Entries up to the committed head are all committed (appends are serialised), so the
    # population below is exactly "the responses chained up to as_of_seq".
    as_of = ledger.head(campaign.id)[0]
    chained = load_audit.population(db.session.connection(), campaign.id, as_of)
    # Only respondents someone can ask: the ledger records whose number was kept, as the
    # numbers are erased once checked (analysis.sampling_audit.recontactable).
    phone_contacts = [int(i) for i in chained.loc[chained["phone_kept"], "response_id"]]
    population = chained[sampling_audit.recontactable(chained).to_numpy(dtype=bool)]
    if not len(population):
        raise ReverifyRefused(_(
            "Chưa có phiếu nào liên hệ lại được để phúc tra: chỉ rút mẫu trong các phiếu "
            "giấy có số phiếu và người phát, và các phiếu mà người trả lời để lại số điện "
            "thoại (%(n)d phiếu của đợt đều không thuộc hai loại này).", n=len(chained)))
    in_population = set(population["response_id"].astype(int))
    flagged = sorted(flags.flagged_ids(campaign) & in_population)
    drawn = sampling_audit.draw_sample(population, rate=rate, seed=seed, flagged=flagged,
                                       oversample_flagged=oversample_flagged)
    selected = [int(i) for i in drawn["response_id"]]
    now = utcnow()
    row = ReverifyDraw(campaign_id=campaign.id, seed=seed, rate=rate,
                       oversample_flagged=oversample_flagged, as_of_seq=as_of,
                       population=len(population), selected=canonical_json(selected),
                       drawn_by_id=user.id if user else None, drawn_at=now)
    db.session.add(row)
    db.session.flush()
    ledger.append(campaign.id, "sample", f"draw-{row.id}", {
        "kind": "sample", "draw": row.id, "seed": seed, "rate": rate,
        "oversample_flagged": oversample_flagged, "as_of_seq": as_of,
        "population": len(population), "phone_contacts": phone_contacts,
        "flagged": flagged, "selected": selected, "by": user.username if user else "cli", "at": ledger.iso(now)})
    audit.record("reverify.draw", "reverify_draw", row.id, None, {
        "campaign": campaign.code, "seed": seed, "rate": rate,
        "oversample_flagged": oversample_flagged, "population": len(population),
        "selected": len(selected)})
    return row


def draws(campaign: Campaign) -> list[ReverifyDraw]:
    return list(db.session.scalars(select(ReverifyDraw).filter_by(campaign_id=campaign.id)
                                   .order_by(ReverifyDraw.id)))


def _draw_of(response: Response) -> ReverifyDraw | None:
    """The latest draw of the response's campaign that selected it."""
    for draw in reversed(draws(response.campaign)):
        if response.id in set(draw.selected_ids):
            return draw
    return None


def record_outcome(response_id: int, outcome: str, note: str = "", *,
                   user: User | None = None) -> Reverification:
    """Record what re-contacting a sampled respondent found; erases the phone number kept
    for that response. A later outcome supersedes an earlier one (both are kept)."""
    user = _user(user)
    if outcome not in OUTCOMES:
        raise ReverifyRefused(_("Kết quả '%(outcome)s' không hợp lệ (chọn: %(choices)s).",
                                outcome=outcome, choices=", ".join(OUTCOMES)))
    note = clean_note(note, _("Ghi chú"))
    if outcome in NEEDS_NOTE and not note:
        raise ReverifyRefused(_("Cần ghi chú câu trả lời nào khác khi kết quả là "
                                "'trả lời khác'."))
    response = db.session.get(Response, response_id)
    if response is None:
        raise ReverifyRefused(_("Không có phiếu số %(id)s.", id=response_id))
    ensure_writable(response.campaign, _("Không ghi được kết quả phúc tra"))
    draw = _draw_of(response)
    if draw is None:
        raise ReverifyRefused(_("Phiếu %(id)s không nằm trong mẫu phúc tra nào.", id=response_id))
    now = utcnow()
    row = Reverification(draw_id=draw.id, response_id=response.id, outcome=outcome, note=note,
                         recorded_by_id=user.id if user else None, recorded_at=now)
    db.session.add(row)
    db.session.flush()
    ledger.append(response.campaign_id, "reverify", response.receipt_code, {
        "kind": "reverify", "response_id": response.id, "receipt": response.receipt_code,
        "draw": draw.id, "outcome": outcome, "note": note,
        "by": user.username if user else "cli", "at": ledger.iso(now)})
    audit.record("reverify.outcome", "response", response.receipt_code, None,
                 {"outcome": outcome, "note": note, "draw": draw.id})
    if contacts.erase_for_response(response.id):
        audit.record("contacts.erase", "response", response.receipt_code, None,
                     {"reason": "re-check recorded"})
    return row


def latest_outcomes(response_ids) -> dict[int, Reverification]:
    ids = list(response_ids)
    out: dict[int, Reverification] = {}
    for start in range(0, len(ids), 5000):
        for row in db.session.scalars(
                select(Reverification).where(Reverification.response_id.in_(
                    ids[start:start + 5000])).order_by(Reverification.id)):
            out[row.response_id] = row
    return out


def sampled(campaign: Campaign) -> pd.DataFrame:
    """Every sampled response with its stratum, paper serial and latest outcome:
    ``response_id, draw, agency_code, agency_name, collector, form_serial, receipt,
    outcome, note, recorded_at``."""
    firsts: dict[int, int] = {}
    for draw in draws(campaign):
        for rid in draw.selected_ids:
            firsts.setdefault(rid, draw.id)
    columns = ["response_id", "draw", "agency_code", "agency_name", "collector",
               "form_serial", "receipt", "outcome", "note", "recorded_at"]
    if not firsts:
        return pd.DataFrame(columns=columns)
    who = load_audit.collectors(db.session.connection(), campaign.id).set_index("response_id")
    ids = sorted(firsts)
    info = {}
    for start in range(0, len(ids), 5000):
        info.update((rid, (code, name, serial, receipt))
                    for rid, code, name, serial, receipt in db.session.execute(
            select(Response.id, Agency.code, Agency.name, IssuedForm.serial,
                   Response.receipt_code)
            .join(Agency, Agency.id == Response.agency_id)
            .outerjoin(IssuedForm, IssuedForm.id == Response.form_id)
            .where(Response.id.in_(ids[start:start + 5000]))))
    outcomes = latest_outcomes(ids)
    rows = []
    for rid in ids:
        code, name, serial, receipt = info[rid]
        done = outcomes.get(rid)
        rows.append((rid, firsts[rid], code, name, who["collector"].get(rid, ""), serial or "",
                     receipt,
                     done.outcome if done else None, done.note if done else "",
                     done.recorded_at if done else None))
    return pd.DataFrame(rows, columns=columns)


def falsification(campaign: Campaign) -> dict[str, pd.DataFrame]:
    """The falsification signal per collector and per agency (analysis.sampling_audit)."""
    frame = sampled(campaign)
    return {"collector": sampling_audit.falsification_report(frame, "collector"),
            "agency": sampling_audit.falsification_report(frame, "agency_code")}

