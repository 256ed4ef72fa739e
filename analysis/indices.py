"""Satisfaction indices with the SIPAS arithmetic: criterion, element and service
indices from the (agency, item, score) tally (:mod:`analysis.counts`) with their Wilson
intervals, and ranking of agencies; bootstrap intervals are :mod:`analysis.bootstrap`'s.

Indices are percentages (0-100). A criterion index is 100 x (answers 4 or 5) /
(answers 1..5): "not applicable" (score 0 in the tally) and missing answers are out
of the denominator. An element index is the mean of its criterion indices, the
service index the mean of the element indices; in both means an index that cannot be
computed (no answers) is skipped rather than counted as zero.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .counts import TallyCounts, _check_tally, _scale_items
from .io import SCALE_MAX, SCALE_MIN, satisfaction_items

__all__ = [
    "LEVELS",
    "MIN_N_FOR_RANKING",
    "SATISFIED_MIN",
    "SERVICE_CODE",
    "TABLE_COLUMNS",
    "answer_distribution",
    "criterion_indices",
    "element_indices",
    "indices_table",
    "rank_agencies",
    "service_indices",
    "wilson_interval",
]

#: An index from fewer answers than this is shown but not ranked. Even at n = 30 an
#: index near 80 % has a 95 % interval of about 63-91 %, so agencies a few points
#: apart cannot be told apart; with fewer answers a rank would mostly rank noise.
MIN_N_FOR_RANKING = 30
#: Lowest score that counts as satisfied (4 Hài lòng, 5 Rất hài lòng).
SATISFIED_MIN = 4
LEVELS = ("criterion", "element", "service")
SERVICE_CODE = "SERVICE"
TABLE_COLUMNS = [
    "agency_code",
    "level",
    "code",
    "n",
    "satisfied",
    "index",
    "ci_low",
    "ci_high",
    "mean_score",
]


def wilson_interval(satisfied, n, z: float = 1.96):
    """Wilson score interval of ``satisfied / n`` as proportions: ``(low, high)``.

    Works on scalars (returns two floats), arrays (two arrays) and Series (two Series
    on the first Series' index). Where ``n`` is 0 both bounds are NaN.
    """
    s = np.asarray(satisfied, dtype="float64")
    m = np.asarray(n, dtype="float64")
    if np.any(m < 0) or np.any(s < 0) or np.any(s > m):
        raise ValueError("wilson_interval needs 0 <= satisfied <= n")
    with np.errstate(divide="ignore", invalid="ignore"):
        p = s / m
        z2n = z * z / m
        centre = (p + z2n / 2) / (1 + z2n)
        half = z * np.sqrt(p * (1 - p) / m + z2n / (4 * m)) / (1 + z2n)
    # Clipping only removes rounding residue: the exact bounds lie in [0, 1].
    low = np.where(m > 0, np.clip(centre - half, 0.0, 1.0), np.nan)
    high = np.where(m > 0, np.clip(centre + half, 0.0, 1.0), np.nan)
    if low.ndim == 0:
        return float(low), float(high)
    for source in (satisfied, n):
        if isinstance(source, pd.Series):
            return pd.Series(low, index=source.index), pd.Series(high, index=source.index)
    return low, high


def criterion_indices(
    tally: pd.DataFrame, codebook: pd.DataFrame, agency_codes=None
) -> pd.DataFrame:
    """One row per agency x satisfaction item, items in codebook order.

    Columns ``agency_code, item_code, element_code, n, satisfied, index, ci_low,
    ci_high, mean_score``: ``n`` answers 1..5, ``satisfied`` answers 4 or 5, ``index``
    and the Wilson interval in percent, ``mean_score`` the mean of the 1..5 answers.
    Agencies are those of the tally plus ``agency_codes``; without answers a row has
    n = 0 and NaN index. Tally rows of items that are not satisfaction items are ignored.
    ``tally`` may also be a :class:`TallyCounts`.
    """
    counts = _as_counts(tally, codebook, agency_codes)
    c = _compute(counts, codebook)
    agencies, items = len(counts.agencies), len(counts.items)
    out = pd.DataFrame(
        {
            "agency_code": np.repeat(counts.agencies, items),
            "item_code": np.tile(counts.items, agencies),
            "element_code": np.tile(c.item_elements, agencies),
            "n": c.n.ravel(),
            "satisfied": c.satisfied.ravel(),
            "index": c.index.ravel(),
            "ci_low": c.ci_low.ravel(),
            "ci_high": c.ci_high.ravel(),
            "mean_score": c.mean_score.ravel(),
        }
    )
    return out.astype({"agency_code": "str", "item_code": "str", "element_code": "str"})


def element_indices(criteria: pd.DataFrame) -> pd.DataFrame:
    """Element indices from :func:`criterion_indices`: one row per agency x element.

    ``index`` is the mean of the element's criterion indices (criteria without
    answers skipped), ``mean_score`` the mean of their mean scores. ``n`` is the
    largest ``n`` among the element's criteria: the tally has no respondent
    identities, so the number of respondents is unknown, and this is the smallest
    number it can be (and the number the best-measured criterion rests on).
    """
    out = criteria.groupby(["agency_code", "element_code"], sort=False).agg(
        n=("n", "max"), index=("index", "mean"), mean_score=("mean_score", "mean")
    )
    return out.reset_index()


def service_indices(elements: pd.DataFrame) -> pd.DataFrame:
    """Service index per agency from :func:`element_indices`: mean of the element
    indices (elements without answers skipped); ``n`` the largest element ``n``,
    ``mean_score`` the mean of the element mean scores."""
    out = elements.groupby("agency_code", sort=False).agg(
        n=("n", "max"), index=("index", "mean"), mean_score=("mean_score", "mean")
    )
    return out.reset_index()


def indices_table(
    tally,
    codebook: pd.DataFrame,
    agencies: pd.DataFrame | None = None,
    bootstrap: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The long table of indices: ``agency_code, level, code, n, satisfied, index,
    ci_low, ci_high, mean_score``.

    ``tally`` is a tally DataFrame or a :class:`TallyCounts`. ``level`` is criterion,
    element or service; ``code`` the item code, the element code or ``SERVICE``.
    Criterion intervals are Wilson intervals; element and service intervals come from
    ``bootstrap`` (a :func:`bootstrap_indices` result) when given, else NaN.
    ``satisfied`` is ``<NA>`` on element and service rows. With ``agencies`` the tally
    is first rolled up the tree (:func:`rollup_tally`) and every agency of the tree gets
    rows, answered or not. Sorted by agency_code, level (criterion, element, service),
    code.
    """
    counts = _as_counts(tally, codebook)
    if agencies is not None:
        counts = counts.rollup(agencies)
    c = _compute(counts, codebook)
    # Built directly in the table's order: per agency (sorted), the criteria sorted by
    # item code, the elements sorted by element code, then the service row.
    item_order = np.argsort(counts.items, kind="stable")
    element_order = np.argsort(c.elements, kind="stable")
    n_items, n_elements = len(item_order), len(element_order)
    width = n_items + n_elements + 1
    rows = len(counts.agencies) * width
    nan = np.full((len(counts.agencies), n_elements + 1), np.nan)

    def join(criterion, element, service):
        return np.concatenate(
            [criterion[:, item_order], element[:, element_order], service[:, None]], axis=1
        ).ravel()

    satisfied = np.concatenate(
        [c.satisfied[:, item_order], np.zeros_like(nan, dtype="int64")], axis=1
    ).ravel()
    is_criterion = np.tile(np.arange(width) < n_items, len(counts.agencies))
    index = pd.RangeIndex(rows)
    table = pd.DataFrame(
        {
            "agency_code": _text(np.repeat(counts.agencies, width), index),
            "level": _text(
                np.tile(
                    np.array(["criterion"] * n_items + ["element"] * n_elements + ["service"],
                             dtype=object),
                    len(counts.agencies),
                ),
                index,
            ),
            "code": _text(
                np.tile(
                    np.concatenate([counts.items[item_order], c.elements[element_order],
                                    np.array([SERVICE_CODE], dtype=object)]),
                    len(counts.agencies),
                ),
                index,
            ),
            "n": join(c.n, c.element_n, c.service_n),
            "satisfied": pd.arrays.IntegerArray(satisfied, ~is_criterion),
            "index": join(c.index, c.element_index, c.service_index),
            "ci_low": np.concatenate([c.ci_low[:, item_order], nan], axis=1).ravel(),
            "ci_high": np.concatenate([c.ci_high[:, item_order], nan], axis=1).ravel(),
            "mean_score": join(c.mean_score, c.element_mean, c.service_mean),
        },
        index=index,
    )
    if bootstrap is not None:
        table = _with_bootstrap(table, bootstrap)  # a left merge: the order stays
    return table


def _text(values: np.ndarray, index: pd.Index) -> pd.Series:
    # One Series at a time: DataFrame.astype with a dict rebuilds the whole frame.
    return pd.Series(values, index=index, dtype=object, copy=False).astype("str")


def _as_counts(tally, codebook: pd.DataFrame, agency_codes=None) -> TallyCounts:
    items, _ = _scale_items(codebook)
    if isinstance(tally, TallyCounts):
        counts = tally.with_items(items)
        return counts.with_agencies(agency_codes) if agency_codes is not None else counts
    return TallyCounts.from_frame(tally, codebook, agency_codes)


class _Computed:
    """Every index of a :class:`TallyCounts`, as (agencies x items/elements) arrays."""

    __slots__ = (
        "n", "satisfied", "index", "ci_low", "ci_high", "mean_score", "item_elements",
        "elements", "element_n", "element_index", "element_mean", "service_n",
        "service_index", "service_mean",
    )


def _compute(counts: TallyCounts, codebook: pd.DataFrame) -> _Computed:
    c = _Computed()
    cube = counts.counts
    answered = cube[:, :, SCALE_MIN:]
    c.n = answered.sum(axis=2)
    c.satisfied = cube[:, :, SATISFIED_MIN:].sum(axis=2)
    # Whole numbers far below 2**53: the float sum is exact.
    score_sum = (answered * np.arange(SCALE_MIN, SCALE_MAX + 1)).sum(axis=2).astype("float64")
    denominator = np.where(c.n > 0, c.n, np.nan)
    c.index = 100 * c.satisfied / denominator
    low, high = wilson_interval(c.satisfied, c.n)
    c.ci_low, c.ci_high = 100 * low, 100 * high
    c.mean_score = score_sum / denominator
    items, elements = _scale_items(codebook)
    c.item_elements = elements[pd.Index(items).get_indexer(counts.items)]
    c.elements = np.array(list(dict.fromkeys(c.item_elements)), dtype=object)
    members = [np.flatnonzero(c.item_elements == e) for e in c.elements]
    # The element index is the mean of its criterion indices, the service index the mean
    # of the element indices (both skipping indices without answers).
    c.element_index, c.element_mean = _mean_skipna(np.stack([c.index, c.mean_score]), members)
    c.service_index, c.service_mean = _mean_skipna(
        np.stack([c.element_index, c.element_mean]), [np.arange(len(c.elements))]
    )[:, :, 0]
    agencies = len(counts.agencies)
    c.element_n = _group_max(c.n, members)
    c.service_n = c.element_n.max(axis=1) if len(c.elements) else np.zeros(agencies, "int64")
    return c


def _group_max(values: np.ndarray, groups: list[np.ndarray]) -> np.ndarray:
    out = np.zeros((values.shape[0], len(groups)), dtype=values.dtype)
    for g, columns in enumerate(groups):
        out[:, g] = values[:, columns].max(axis=1)
    return out


def _mean_skipna(values: np.ndarray, groups: list[np.ndarray]) -> np.ndarray:
    """Mean of each group of columns (last axis) of ``values``, NaN skipped (NaN where a
    group has no value), added in column order with compensated (Kahan) summation: the
    arithmetic of pandas' groupby mean on the long table, to within the last bit, and
    the same whatever the pandas version."""
    shape = values.shape[:-1]
    width = max((len(g) for g in groups), default=0)
    # Groups side by side, padded with NaN to the largest: (..., groups, width).
    padded = np.full((*shape, len(groups), width), np.nan)
    for g, columns in enumerate(groups):
        padded[..., g, : len(columns)] = values[..., columns]
    total = np.zeros((*shape, len(groups)))
    compensation = np.zeros_like(total)
    count = np.zeros(total.shape, dtype="int64")
    for k in range(width):
        value = padded[..., k]
        present = ~np.isnan(value)
        y = value - compensation
        t = total + y
        new = t - total - y
        # As pandas: an infinite value would make the compensation NaN.
        new[np.isnan(new)] = 0.0
        np.copyto(total, t, where=present)
        np.copyto(compensation, new, where=present)
        count += present
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(count > 0, total / count, np.nan)


def _with_bootstrap(table: pd.DataFrame, bootstrap: pd.DataFrame) -> pd.DataFrame:
    keys = ["agency_code", "level", "code"]
    missing = [c for c in [*keys, "ci_low", "ci_high"] if c not in bootstrap.columns]
    if missing:
        raise ValueError(f"bootstrap: missing columns: {', '.join(missing)}")
    boot = bootstrap[[*keys, "ci_low", "ci_high"]].astype({k: "str" for k in keys})
    boot = boot[boot["level"] != "criterion"]
    merged = table.merge(boot, on=keys, how="left", suffixes=("", "_boot"))
    return merged.assign(
        ci_low=merged["ci_low"].fillna(merged["ci_low_boot"]),
        ci_high=merged["ci_high"].fillna(merged["ci_high_boot"]),
    )[TABLE_COLUMNS]


def rank_agencies(
    indices: pd.DataFrame,
    level: str = "service",
    code: str = SERVICE_CODE,
    min_n: int = MIN_N_FOR_RANKING,
) -> pd.DataFrame:
    """Rank agencies on one index of an :func:`indices_table`.

    Agencies with ``n >= min_n`` and an index get ``rank`` 1, 2, ... (highest index
    first; ties share the better rank) and ``ranked`` True; the others get rank
    ``<NA>`` and ``ranked`` False and are listed after the ranked ones.
    """
    rows = indices[(indices["level"] == level) & (indices["code"] == code)]
    ranked = (rows["n"] >= min_n) & rows["index"].notna()
    rank = rows["index"].where(ranked).rank(ascending=False, method="min")
    out = rows.assign(rank=rank.astype("Int64"), ranked=ranked.astype(bool))
    return (
        out.assign(_unranked=~out["ranked"])
        .sort_values(
            ["_unranked", "index", "agency_code"], ascending=[True, False, True], kind="stable"
        )
        .drop(columns="_unranked")
        .reset_index(drop=True)
    )


def answer_distribution(
    tally: pd.DataFrame, codebook: pd.DataFrame, agency_code=None
) -> pd.DataFrame:
    """Share (percent) of each answer 1..5 per satisfaction item: items (codebook order)
    as rows, scores 1..5 as columns, each row summing to 100 (NaN without answers).

    Over the whole tally, or one agency's rows if ``agency_code`` is given.
    """
    items = satisfaction_items(codebook)["item_code"]
    t = _check_tally(tally)
    if agency_code is not None:
        t = t[t["agency_code"] == str(agency_code)]
    t = t[t["score"] >= SCALE_MIN]
    counts = t.pivot_table(
        index="item_code", columns="score", values="n", aggfunc="sum", fill_value=0
    )
    counts = counts.reindex(index=items, columns=range(SCALE_MIN, SCALE_MAX + 1), fill_value=0)
    totals = counts.sum(axis=1)
    shares = counts.div(totals.where(totals > 0), axis=0) * 100
    shares.columns.name = "score"
    return shares
