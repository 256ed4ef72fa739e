"""What an official report needs from the database, gathered once: the indices (and the
earlier period's), the agencies and their kinds, the answers to the priority and profile
questions, released comments, and the round's data quality (flags, review decisions,
re-verification outcomes, forms issued against returned)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date

import pandas as pd
from flask_babel import gettext as _
from sqlalchemy import func, select

from analysis import load_cross

from ...extensions import db
from ...models import (
    Agency,
    Campaign,
    CampaignAgency,
    CommentRelease,
    Response,
    ResponseReview,
    Reverification,
)
from ...questions import get_type
from .. import ServiceError, agencies, derived, flags, reconciliation
from .. import results as res
from ..labels import OUTCOME_LABELS, STATE_LABELS

KINDS = ("province", "agency", "annual")
KIND_LABELS = {"province": "Báo cáo của Sở Nội vụ (toàn bộ đợt khảo sát)",
               "agency": "Báo cáo của một cơ quan, đơn vị",
               "annual": "Báo cáo năm (gộp các đợt trong năm)"}
#: The agency kinds that serve citizens (the province itself does not).
SERVING_KINDS = ("department", "commune", "ward", "one_stop", "other")


class ReportRefused(ServiceError):
    """A report that cannot be made as asked (no campaign, a year without a round, an
    agency outside the campaign)."""


@dataclass
class Order:
    """What the person asked for."""

    kind: str
    campaigns: list[Campaign]
    agency: Agency | None = None
    baseline: list[Campaign] = field(default_factory=list)
    exclude_rejected: bool = True
    bootstrap: int | None = None
    seed: int | None = None
    number: str = ""
    signer: str = ""
    year: int | None = None


@dataclass
class Gathered:
    order: Order
    results: res.Results
    before: res.Results | None
    kinds: dict[str, str]
    names: dict[str, str]
    parents: dict[str, str | None]
    covered: set[str]
    serving: set[str]
    answers: pd.DataFrame           # agency_code, item_code, value, n
    comments: list[tuple[str, str | None, str]]  # agency name, element, released text
    comment_counts: dict[str, int]          # agency code → comments written
    reconciliation: list[dict]
    flag_counts: pd.DataFrame
    reviews: dict[str, int]
    rejected_reasons: list[tuple[str, int]]
    outcomes: dict[str, int]


def campaigns_of_year(year: int) -> list[Campaign]:
    """The rounds of a year: campaigns that open in it, oldest first."""
    found = [c for c in db.session.scalars(select(Campaign).order_by(Campaign.opens_at,
                                                                     Campaign.id))
             if c.opens_at and c.opens_at.year == year]
    if not found:
        raise ReportRefused(_("Năm %(y)d không có đợt khảo sát nào.", y=year))
    return found


def _options(order: Order) -> dict:
    options = res.default_options()
    options["max_responses"] = None  # a report always has its intervals
    if order.bootstrap is not None:
        options["bootstrap"] = order.bootstrap
    if order.seed is not None:
        options["seed"] = order.seed
    return options


def _tree() -> tuple[dict, dict, dict]:
    rows = db.session.execute(select(Agency.code, Agency.name, Agency.kind, Agency.parent_id,
                                     Agency.id)).all()
    by_id = {r.id: r.code for r in rows}
    return ({r.code: r.kind for r in rows}, {r.code: r.name for r in rows},
            {r.code: by_id.get(r.parent_id) for r in rows})


def _serving(kinds: dict[str, str], on: date) -> set[str]:
    return {a.code for a in db.session.scalars(select(Agency))
            if a.kind in SERVING_KINDS and a.is_valid_on(on) and not a.is_demo} or \
        {code for code, kind in kinds.items() if kind in SERVING_KINDS}


def _covered(campaigns: list[Campaign]) -> set[str]:
    return set(db.session.scalars(
        select(Agency.code).join(CampaignAgency, CampaignAgency.agency_id == Agency.id)
        .where(CampaignAgency.campaign_id.in_([c.id for c in campaigns]))))


def _answers(campaigns: list[Campaign], visible: set[str] | None,
             exclude_rejected: bool) -> tuple[pd.DataFrame, dict[str, int]]:
    """Answers to the priority and profile items per (agency, item, value), from the kept
    counts; and the responses with a written comment per agency."""
    conn = db.session.connection()
    ids = [c.id for c in campaigns]
    free = [i.code for i in campaigns[0].version.items if get_type(i.type).free_text]
    # Finding the comments reads every response: kept while the responses stand as they are.
    commented = derived.kept(
        "comments", ["commented/1", derived.responses_identity(ids), free, exclude_rejected],
        lambda: load_cross.commented_counts(conn, ids, free, exclude_rejected=exclude_rejected))
    return (load_cross.answer_counts(conn, ids, agency_codes=visible,
                                     exclude_rejected=exclude_rejected),
            {c: n for c, n in commented.items() if visible is None or c in visible})


def _reviews(campaigns, visible) -> tuple[dict[str, int], list[tuple[str, int]]]:
    latest = (select(func.max(ResponseReview.id)).join(Response)
              .where(Response.campaign_id.in_([c.id for c in campaigns]))
              .group_by(ResponseReview.response_id))
    states: Counter = Counter()
    reasons: Counter = Counter()
    for state, reason, code in db.session.execute(
            select(ResponseReview.state, ResponseReview.reason, Agency.code)
            .join(Response, Response.id == ResponseReview.response_id)
            .join(Agency, Agency.id == Response.agency_id)
            .where(ResponseReview.id.in_(latest))):
        if visible is not None and code not in visible:
            continue
        states[str(STATE_LABELS[state])] += 1
        if state == "rejected":
            reasons[(reason or "").strip() or "(không ghi lý do)"] += 1
    return dict(states), reasons.most_common()


def _outcomes(campaigns, visible) -> dict[str, int]:
    latest = (select(func.max(Reverification.id)).join(Response)
              .where(Response.campaign_id.in_([c.id for c in campaigns]))
              .group_by(Reverification.response_id))
    out: Counter = Counter()
    for outcome, code in db.session.execute(
            select(Reverification.outcome, Agency.code)
            .join(Response, Response.id == Reverification.response_id)
            .join(Agency, Agency.id == Response.agency_id)
            .where(Reverification.id.in_(latest))):
        if visible is None or code in visible:
            out[str(OUTCOME_LABELS[outcome])] += 1
    return dict(out)


def _comments(campaigns, visible) -> list[tuple[str, str | None, str]]:
    """Released comments, as released (masked): (agency name, element code, text)."""
    latest = (select(func.max(CommentRelease.id)).join(Response)
              .where(Response.campaign_id.in_([c.id for c in campaigns]))
              .group_by(CommentRelease.response_id, CommentRelease.item_code))
    released = [(name, element, text) for code, name, element, text in db.session.execute(
        select(Agency.code, Agency.name, CommentRelease.element_code, CommentRelease.text)
        .join(Response, Response.id == CommentRelease.response_id)
        .join(Agency, Agency.id == Response.agency_id)
        .where(CommentRelease.id.in_(latest)).order_by(Agency.code, CommentRelease.id))
        if text and (visible is None or code in visible)]
    return released


def _quality(campaigns, visible) -> tuple[list[dict], pd.DataFrame]:
    rows, frames = [], []
    for campaign in campaigns:
        rows += [r for r in reconciliation.reconcile(campaign).by_agency
                 if visible is None or r["agency_code"] in visible]
        table = flags.agency_counts(campaign)
        frames.append(table if visible is None else table[table["agency_code"].isin(visible)])
    merged = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if len(merged):
        merged = merged.groupby("agency_code", as_index=False).sum(numeric_only=True)
    return rows, merged


def gather(order: Order) -> Gathered:
    if not order.campaigns:
        raise ReportRefused(_("Chưa chọn đợt khảo sát nào."))
    if order.kind not in KINDS:
        raise ReportRefused(_("Không có loại báo cáo '%(k)s'.", k=order.kind))
    if order.kind == "agency" and order.agency is None:
        raise ReportRefused(_("Báo cáo của cơ quan cần chọn cơ quan."))
    covered = _covered(order.campaigns)
    kinds, names, parents = _tree()
    scope = order.agency.code if order.agency is not None else None
    if scope is not None and scope not in covered:
        raise ReportRefused(_("Cơ quan '%(a)s' không thuộc phạm vi đợt khảo sát đã chọn.",
                              a=scope))
    options = _options(order)
    results = res.combined_indices(order.campaigns, agency=scope,
                                   exclude_rejected=order.exclude_rejected, **options)
    before = None
    if order.baseline:
        before = res.combined_indices(order.baseline, agency=scope,
                                      exclude_rejected=order.exclude_rejected, **options)
    visible = None
    if scope is not None:
        visible = set(db.session.scalars(select(Agency.code).where(
            Agency.id.in_(agencies.subtree_ids(order.agency)))))
    answers, comment_counts = _answers(order.campaigns, visible, order.exclude_rejected)
    recon, flag_counts = _quality(order.campaigns, visible)
    reviews, reasons = _reviews(order.campaigns, visible)
    return Gathered(
        order=order, results=results, before=before, kinds=kinds, names=names,
        parents=parents, covered=covered if visible is None else covered & visible,
        serving=_serving(kinds, max(c.closes_at.date() for c in order.campaigns)),
        answers=answers, comments=_comments(order.campaigns, visible),
        comment_counts=comment_counts,
        reconciliation=recon, flag_counts=flag_counts, reviews=reviews,
        rejected_reasons=reasons, outcomes=_outcomes(order.campaigns, visible))
