"""Comparisons between two sets of results, and breakdowns of the indices by channel
or by a profile question."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
from flask_babel import gettext as _

import analysis
from analysis import load
from analysis import report as rep

from ...extensions import db
from ...models import Campaign
from ...questions import names_where
from .. import ServiceError
from .cache import DEFAULT_BOOTSTRAP, DEFAULT_CAP, _cache, _check_options, _fingerprint
from .compute import _chunks, _codebook, _replicates, _summary
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
    """Indices per channel or per answer to a profile item, over the scope: exact counts,
    and the bootstrap as :func:`analysis.breakdown` draws it (sampled above ``cap``,
    skipped above ``max_responses``). Reads every response of the scope once."""
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
        # Only the items a breakdown uses: the satisfaction items and the one broken down
        # by (the channel is a response column). Converting every other answer (comments,
        # priorities, the other profile questions) to the export's text took a third of
        # the time.
        needed = book[book["type"].isin(names_where("scored")) | (book["item_code"] == by)]
        tallies = []
        sample = rep.RespondentSample(book, cap=cap, seed=seed)
        for chunk in _chunks(conn, summaries, needed, exclude_rejected=exclude_rejected,
                             agency_codes=visible):
            grouped = rep.breakdown_groups(chunk, book, by)
            if grouped.empty:
                continue
            tallies.append(analysis.tally_from_responses(grouped, book))
            if bootstrap:
                sample.add(grouped, {"by": grouped["agency_code"]})
        tally = rep.sum_tallies(tallies)
        capped = sample.capped()
        boot = None
        if bootstrap and len(tally):
            boot = rep.recentre(sample.bootstrap("by", bootstrap, seed),
                                analysis.indices_table(tally, book), set(capped["group"]))
        table = analysis.indices_table(tally, book, bootstrap=boot) if len(tally) \
            else _empty_table()
        labels = CHANNEL_LABELS if by == "channel" else analysis.choice_labels(book, by)
        return Breakdown(by=by, label=options[by], table=table, labels=dict(labels),
                         summary=rep.summary_table(table, book), capped=capped)

    return _cache().get_or_compute(key, compute)
