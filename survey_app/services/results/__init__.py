"""Satisfaction results: SIPAS indices with their intervals per agency, per agency subtree
and per campaign; rankings, comparisons, breakdowns, trends, charts and exports. The
results pages, the reports and the command line all call these functions.

Where the numbers come from:

- point estimates (every level) from the answer tally the database keeps
  (:func:`analysis.load.tally_counts`), so their cost does not grow with the responses;
- criterion intervals are Wilson intervals of the same counts;
- element and service intervals are a seeded respondent bootstrap
  (:func:`analysis.bootstrap_indices`) on respondent-level data. To keep that bounded,
  a group (an agency, a subtree, a channel…) of more than ``cap`` respondents is
  bootstrapped on a seeded random sample of ``cap`` of them: its interval is then
  somewhat wider than the full data would give (conservative), and the results say
  which groups were sampled. Up to ``cap`` the intervals are exactly those of
  ``python -m analysis indices --bootstrap N --seed S`` on the export. The samples are
  chosen from the responses' ids and agencies alone (an index read), and only the
  chosen respondents' answers are read (:func:`_respondent_bootstrap`); breakdowns by
  channel or profile still read every response of the scope once.

Results are cached per application, keyed by the campaign(s), the options and a
fingerprint of the data (responses, reviews and corrections are append-only, so their
count and largest id identify them), so pages, charts and downloads of one view compute once.

The package's modules, one concern each: :mod:`.cache` (settings and the cache),
:mod:`.compute` (the whole-campaign computation), :mod:`.indices` (:class:`Results`, one
scope's view), :mod:`.breakdowns` (comparisons, breakdowns), :mod:`.disclosed` (small
cells hidden), :mod:`.charts` and :mod:`.exports`. This module computes the results at a
ledger checkpoint and is what callers import (``from survey_app.services import
results``): every public name of the package is reachable here.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from flask_babel import gettext as _
from sqlalchemy import select

from analysis.statement import HEADING as STATEMENT_HEADING
from analysis.statement import Checkpoint

from ... import ledger
from ...extensions import db
from ...models import Campaign
from .. import ServiceError, tally
from .breakdowns import Breakdown, breakdown, breakdown_options, compare
from .cache import (
    CACHE_SIZE,
    DEFAULT_BOOTSTRAP,
    DEFAULT_CAP,
    DEFAULT_MAX_RESPONSES,
    _cache,
    _check_options,
    _fingerprint,
    default_options,
)
from .charts import CHART_KINDS, CHART_TITLES, chart
from .compute import CHUNK_SIZE, _compute, _Full, _replicates, _summary, get
from .disclosed import (
    disclosed_channel_table,
    disclosed_channel_totals,
    hidden_groups,
    min_cell,
)
from .exports import (
    XLSX_MAX_ROWS,
    cell_value,
    csv_text,
    export_chunks,
    export_codebook,
    export_xlsx,
    indices_csv,
    iter_responses_csv,
    record_row_export,
    response_columns,
    text_cells,
    write_export,
)
from .indices import ALL_CODE, ALL_NAME, CHANNEL_LABELS, Results, _scope_code, _view

__all__ = [
    "ALL_CODE", "ALL_NAME", "CACHE_SIZE", "CHANNEL_LABELS", "CHART_KINDS",
    "CHART_TITLES", "CHUNK_SIZE", "DEFAULT_BOOTSTRAP", "DEFAULT_CAP", "DEFAULT_MAX_RESPONSES",
    "SETTLE_ATTEMPTS", "STATEMENT_HEADING", "XLSX_MAX_ROWS", "Breakdown", "Results",
    "breakdown", "breakdown_options", "campaign_indices", "cell_value", "chart",
    "combined_indices", "compare", "csv_text", "default_options", "disclosed_channel_table",
    "disclosed_channel_totals", "export_chunks", "export_codebook", "export_xlsx", "get",
    "hidden_groups", "indices_csv", "iter_responses_csv", "min_cell", "record_row_export",
    "response_columns", "text_cells", "trend", "write_export",
]

# --- the results at a ledger checkpoint -----------------------------------------------------
# Here rather than in a module of their own: `_at_checkpoint` reads `SETTLE_ATTEMPTS` from
# this module's namespace, where a test (or an operator's shell) sets it.

#: Computations of results tried while the ledgers keep moving before the chains are held.
SETTLE_ATTEMPTS = 3


def _heads(campaigns: Sequence[dict]) -> tuple[Checkpoint, ...]:
    return tuple(Checkpoint(c["code"], *ledger.head(c["id"])) for c in campaigns)


def _at_checkpoint(campaigns: Sequence[dict], compute):
    """``compute()`` and the ledger states it was computed at. Every response, review and
    correction is chained in the transaction that stores it, so when the chains' heads
    are the same before and after the computation, the figures are those of the ledgers
    at those heads. If they keep moving (a campaign receiving many responses), the chains
    are held for one more computation (appends wait until this transaction ends)."""
    for _attempt in range(SETTLE_ATTEMPTS):
        before = _heads(campaigns)
        value = compute()
        if _heads(campaigns) == before:
            return value, before
    for campaign in campaigns:
        ledger.lock_chain(campaign["id"])
    before = _heads(campaigns)
    return compute(), before


def _full(campaigns: Sequence[Campaign], exclude_rejected: bool, bootstrap: int, seed: int,
          cap: int | None) -> _Full:
    _check_options(bootstrap, seed, cap)
    summaries = tuple(_summary(c) for c in campaigns)
    ids = tuple(c["id"] for c in summaries)
    if len(set(ids)) != len(ids):
        raise ServiceError(_("Một đợt khảo sát được chọn hai lần."))
    key = ("full", ids, bool(exclude_rejected), bootstrap, seed, cap, _fingerprint(ids))

    def compute() -> _Full:
        full, heads = _at_checkpoint(summaries, lambda: _compute(
            summaries, bool(exclude_rejected), bootstrap, seed, cap))
        full.checkpoints = heads
        return full

    return _cache().get_or_compute(key, compute)


def campaign_indices(campaign: Campaign, *, agency=None, exclude_rejected: bool = False,
                     bootstrap: int = DEFAULT_BOOTSTRAP, seed: int = 0,
                     cap: int | None = DEFAULT_CAP, max_responses: int | None = None
                     ) -> Results:
    """Indices of one campaign: per agency, per subtree, overall, with rankings.

    ``agency`` (an Agency or its code) limits everything to that agency's subtree.
    ``bootstrap`` replicates (0 for none) with ``seed`` give element and service
    intervals; ``cap`` bounds the respondents bootstrapped per group, and above
    ``max_responses`` responses the bootstrap is skipped (module docstring).
    """
    return combined_indices([campaign], agency=agency, exclude_rejected=exclude_rejected,
                            bootstrap=bootstrap, seed=seed, cap=cap,
                            max_responses=max_responses)


def combined_indices(campaigns: Sequence[Campaign], *, agency=None,
                     exclude_rejected: bool = False, bootstrap: int = DEFAULT_BOOTSTRAP,
                     seed: int = 0, cap: int | None = DEFAULT_CAP,
                     max_responses: int | None = None) -> Results:
    """Indices of several campaigns taken together (the annual report): their tallies are
    summed and their respondents pooled, as if they were one round. The campaigns must
    ask the same satisfaction items."""
    if not campaigns:
        raise ServiceError(_("Chưa chọn đợt khảo sát nào."))
    for campaign in campaigns:  # never figures from a tally its responses contradict
        tally.guard(campaign)
    used = _replicates(campaigns, bootstrap, max_responses)
    full = _full(campaigns, exclude_rejected, used, seed, cap)
    return _view(full, _scope_code(agency), bool(exclude_rejected), used, seed, cap,
                 skipped=used != bootstrap)


def trend(agency=None, *, exclude_rejected: bool = False, bootstrap: int = DEFAULT_BOOTSTRAP,
          seed: int = 0, cap: int | None = DEFAULT_CAP,
          max_responses: int | None = None) -> pd.DataFrame:
    """The scope's service index in every campaign with answers, oldest first:
    ``campaign, name, period, n, index, ci_low, ci_high``."""
    rows = []
    for campaign in db.session.scalars(select(Campaign).order_by(Campaign.opens_at,
                                                                 Campaign.id)):
        results = campaign_indices(campaign, agency=agency, exclude_rejected=exclude_rejected,
                                   bootstrap=bootstrap, seed=seed, cap=cap,
                                   max_responses=max_responses)
        service = results.overall[results.overall["level"] == "service"]
        if service.empty or int(service["n"].iloc[0]) == 0:
            continue
        row = service.iloc[0]
        rows.append({"campaign": campaign.code, "name": campaign.name, "period": campaign.period,
                     "n": int(row["n"]), "index": row["index"], "ci_low": row["ci_low"],
                     "ci_high": row["ci_high"]})
    return pd.DataFrame(rows, columns=["campaign", "name", "period", "n", "index", "ci_low",
                                       "ci_high"])
