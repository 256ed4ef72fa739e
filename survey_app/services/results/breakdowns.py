"""Comparisons between two sets of results, and breakdowns of the indices by channel
or by a profile question."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from flask_babel import gettext as _

import analysis
from analysis import load, load_cross
from analysis import report as rep

from ...extensions import db
from ...models import Campaign
from ...questions import names_where
from .. import ServiceError
from .cache import DEFAULT_BOOTSTRAP, DEFAULT_CAP, _cache, _check_options, _fingerprint
from .compute import _codebook, _replicates, _summary
from .indices import ALL_CODE, CHANNEL_LABELS, Results, _empty_table, _scope_code

# --- comparisons ----------------------------------------------------------------------------

def compare(current: Results, baseline: Results) -> pd.DataFrame:
    """Change from ``baseline`` to ``current`` (percentage points) with whether it exceeds
    sampling noise (:func:`analysis.change_between`): the whole scope's service and
    element rows first (agency_code ``*``), then each agency's service index."""
    overall = analysis.change_between(baseline.overall.assign(agency_code=ALL_CODE),
                                      current.overall.assign(agency_code=ALL_CODE))
    overall = overall[overall["level"] != "criterion"]
    agencies = analysis.change_between(baseline.agencies, current.agencies)
    agencies = agencies[agencies["level"] == "service"]
    out = pd.concat([overall, agencies], ignore_index=True) if len(agencies) else overall
    names = {**current.names, ALL_CODE: current.scope_name}
    return out.assign(name=out["agency_code"].map(lambda c: names.get(c, c))).reset_index(
        drop=True)


def breakdown_options(book: pd.DataFrame) -> list[tuple[str, str]]:
    """What results can be broken down by: the channel and each choice item (profile)."""
    choice = book[book["type"].isin(names_where("groups"))]
    return [("channel", "Kênh trả lời")] + [(r.item_code, r.text_vi) for r in choice.itertuples()]


@dataclass
class Breakdown:
    by: str
    label: str
    table: pd.DataFrame          # indices_table with agency_code = the group value
    labels: dict
    summary: pd.DataFrame
    capped: pd.DataFrame


def breakdown(campaigns: Sequence[Campaign], by: str, *, agency=None,
              exclude_rejected: bool = False, bootstrap: int = DEFAULT_BOOTSTRAP, seed: int = 0,
              cap: int | None = DEFAULT_CAP, max_responses: int | None = None) -> Breakdown:
    """Indices per channel or per answer to a profile item, over the scope: exact counts
    from the kept cross counts (`analysis.load_cross`: a few hundred rows, whatever the
    number of responses), and the bootstrap as :func:`analysis.breakdown` draws it
    (sampled above ``cap``, skipped above ``max_responses``) from the respondents of a
    bounded sample (see `_sample`)."""
    _check_options(bootstrap, seed, cap)
    bootstrap = _replicates(campaigns, bootstrap, max_responses)
    summaries = tuple(_summary(c) for c in campaigns)
    ids = tuple(c["id"] for c in summaries)
    scope = _scope_code(agency)
    key = ("breakdown", ids, by, scope, bool(exclude_rejected), bootstrap, seed, cap,
           _fingerprint(ids))

    def compute() -> Breakdown:
        conn = db.session.connection()
        book = _codebook(conn, summaries)
        options = dict(breakdown_options(book))
        if by not in options:
            raise ServiceError(_("Không phân tích theo '%(by)s' được: chọn kênh trả lời "
                                 "hoặc một câu hỏi về người trả lời.", by=by))
        visible = None
        if scope is not None:
            ancestors = rep.ancestor_lists(load.agencies(conn))
            visible = {code for code, chain in ancestors.items() if scope in chain}
        tally, sizes = _group_tally(conn, summaries, book, by, visible, exclude_rejected)
        capped = rep.RespondentSample(book, cap=cap, seed=seed).capped()
        boot = None
        if bootstrap and len(tally):
            sample, capped = _sample(conn, summaries, book, by, visible, exclude_rejected,
                                     cap, seed, sizes)
            boot = rep.recentre(sample.bootstrap("by", bootstrap, seed),
                                analysis.indices_table(tally, book), set(capped["group"]))
        table = analysis.indices_table(tally, book, bootstrap=boot) if len(tally) \
            else _empty_table()
        labels = CHANNEL_LABELS if by == "channel" else analysis.choice_labels(book, by)
        return Breakdown(by=by, label=options[by], table=table, labels=dict(labels),
                         summary=rep.summary_table(table, book), capped=capped)

    return _cache().get_or_compute(key, compute)


def _group_tally(conn, campaigns: Sequence[dict], book: pd.DataFrame, by: str, visible,
                 exclude_rejected: bool) -> tuple[pd.DataFrame, dict[str, int]]:
    """(the tally per group, as :func:`analysis.tally_from_responses` gives it from the
    grouped responses: every group with a respondent, every satisfaction item, scores
    1..5, zeros included; the respondents of each group) from the kept counts."""
    items = list(analysis.satisfaction_items(book)["item_code"])
    sizes: dict[str, int] = {}
    cells: dict[tuple, int] = {}
    for campaign in campaigns:
        counts, respondents = load_cross.group_counts(
            conn, campaign["id"], by, agency_codes=visible, exclude_rejected=exclude_rejected)
        for group, item, score, n in counts.itertuples(index=False):
            if 1 <= score <= 5:
                cells[group, item, score] = cells.get((group, item, score), 0) + n
        for group, n in respondents.items():
            sizes[group] = sizes.get(group, 0) + n
    groups = sorted(g for g, n in sizes.items() if n > 0)
    frame = pd.DataFrame([(g, item, score, cells.get((g, item, score), 0))
                          for g in groups for item in items for score in range(1, 6)],
                         columns=["agency_code", "item_code", "score", "n"])
    return rep.sum_tallies([frame]), {g: sizes[g] for g in groups}


def _channel_sizes(conn, campaign_id: int, visible, exclude_rejected: bool) -> dict[str, int]:
    """Responses per channel over the scope (from the response index, no row read)."""
    counts = load.channel_counts(conn, campaign_id)
    if visible is not None:
        counts = counts[counts["agency_code"].isin(visible)]
    n = counts["n"] - counts["rejected"] if exclude_rejected else counts["n"]
    return {str(k): int(v) for k, v in n.groupby(counts["channel"]).sum().items()}


def _sample(conn, campaigns: Sequence[dict], book: pd.DataFrame, by: str, visible,
            exclude_rejected: bool, cap: int | None, seed: int, sizes: dict[str, int]):
    """(the respondents of each group for the bootstrap, the sampled groups: ``family,
    group, sampled, total``). A scope of at most `cap` x twice the number of groups
    respondents is read whole, in id order, which is what reading every response gave;
    a larger one is sampled by drawing that many response ids at random (seeded) from
    each campaign's id range, so the read is bounded by the cap, not the campaign. Each
    group then keeps at most `cap` of its sampled respondents; a group smaller than the
    others may keep fewer than `cap`, which widens its interval (the intervals are
    recentred on the exact figures)."""
    needed = book[book["type"].isin(names_where("scored")) | (book["item_code"] == by)]
    sample = rep.RespondentSample(book, cap=cap, seed=seed)
    scope_sizes = [_scope_size(conn, c["id"], visible, exclude_rejected) for c in campaigns]
    target = None if cap is None else cap * 2 * max(len(sizes), 1)
    whole = target is None or sum(scope_sizes) <= target
    for campaign, size in zip(campaigns, scope_sizes, strict=True):
        ids = None if whole else _drawn_ids(conn, campaign["id"], size, target * size //
                                            max(sum(scope_sizes), 1) + 1, seed)
        agency_ids = None if visible is None else _agency_ids(conn, visible)
        for chunk in load.responses_among(conn, campaign["id"], needed, ids=ids,
                                          agency_ids=agency_ids):
            if exclude_rejected:
                chunk = analysis.exclude_rejected(chunk)
            grouped = rep.breakdown_groups(rep.blank_to_missing(chunk), book, by)
            if not grouped.empty:
                sample.add(grouped, {"by": grouped["agency_code"]})
    if whole:
        return sample, sample.capped()
    seen = sample.sizes()
    rows = [("by", g, min(int(seen.get(("by", g), 0)), cap), n) for g, n in sizes.items()
            if min(int(seen.get(("by", g), 0)), cap) < n]
    return sample, pd.DataFrame(rows, columns=["family", "group", "sampled", "total"])


def _scope_size(conn, campaign_id: int, visible, exclude_rejected: bool) -> int:
    return sum(_channel_sizes(conn, campaign_id, visible, exclude_rejected).values())


def _agency_ids(conn, visible) -> list[int]:
    codes = set(visible)
    return [i for i, code in conn.exec_driver_sql("SELECT id, code FROM agency").all()
            if code in codes]


def _drawn_ids(conn, campaign_id: int, size: int, wanted: int, seed: int) -> list[int]:
    """About `wanted` response ids drawn at random from the campaign's id range, in
    proportion to the share of that range the scope's `size` responses take up (at most
    twenty times `wanted`: a scope of a few agencies among many is sampled thinner)."""
    low, high = conn.exec_driver_sql(
        f"SELECT min(id), max(id) FROM response WHERE campaign_id = {int(campaign_id)}").one()
    if low is None or not size:
        return []
    span = high - low + 1
    draws = min(span, wanted * span // size + 1, 20 * wanted)
    rng = np.random.default_rng([seed, campaign_id])
    return sorted(int(low + k) for k in rng.choice(span, size=draws, replace=False))
