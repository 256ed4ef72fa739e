"""Satisfaction indices with the SIPAS arithmetic: criterion, element and service
indices from the (agency, item, score) tally, Wilson and bootstrap intervals,
roll-up through the agency tree, and ranking of agencies.

Indices are percentages (0-100). A criterion index is 100 x (answers 4 or 5) /
(answers 1..5): "not applicable" (score 0 in the tally) and missing answers are out
of the denominator. An element index is the mean of its criterion indices, the
service index the mean of the element indices; in both means an index that cannot be
computed (no answers) is skipped rather than counted as zero.
"""

from __future__ import annotations

import zlib

import numpy as np
import pandas as pd

from .io import (
    SCALE_MAX,
    SCALE_MIN,
    TALLY_COLUMNS,
    ExportFormatError,
    as_text,
    satisfaction_items,
    satisfaction_scores,
)
from .kinds import SCORED

__all__ = [
    "LEVELS",
    "MIN_N_FOR_RANKING",
    "SATISFIED_MIN",
    "SERVICE_CODE",
    "TABLE_COLUMNS",
    "TallyCounts",
    "answer_distribution",
    "bootstrap_groups",
    "bootstrap_indices",
    "criterion_indices",
    "element_indices",
    "indices_table",
    "rank_agencies",
    "rollup_tally",
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


def _check_tally(tally: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in TALLY_COLUMNS if c not in tally.columns]
    if missing:
        raise ExportFormatError(f"tally: missing columns: {', '.join(missing)}")
    out = tally[TALLY_COLUMNS].copy()
    for column, high in (("score", SCALE_MAX), ("n", np.inf)):
        values = out[column]
        if pd.api.types.is_integer_dtype(values) and not pd.api.types.is_extension_array_dtype(
            values
        ):
            # Already whole numbers (the database's tally): only the range needs checking.
            if ((values < 0) | (values > high)).any():
                raise ExportFormatError(
                    f"tally: {column} must be a whole number from 0 to {high}"
                )
            continue
        values = pd.to_numeric(out[column], errors="coerce")
        if (values.isna() | (values % 1 != 0) | (values < 0) | (values > high)).any():
            raise ExportFormatError(f"tally: {column} must be a whole number from 0 to {high}")
        out[column] = values.astype("int64")
    if out["agency_code"].isna().any() or out["item_code"].isna().any():
        raise ExportFormatError("tally: empty agency_code or item_code")
    return out.astype({"agency_code": "str", "item_code": "str"})


def _scale_items(codebook: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The satisfaction items' codes and their element codes (codebook order), as text
    arrays: what :func:`satisfaction_items` gives, without building a frame."""
    satisfaction = codebook["type"].to_numpy(dtype=object) == SCORED
    items = codebook["item_code"].to_numpy(dtype=object)[satisfaction]
    elements = codebook["element_code"].to_numpy(dtype=object)[satisfaction]
    return (np.array([str(c) for c in items], dtype=object),
            np.array([str(c) for c in elements], dtype=object))


class TallyCounts:
    """The tally as one integer array: answers per agency x satisfaction item x score
    0..5 (0 = not applicable), ``counts[agency, item, score]``.

    Agencies are sorted codes, items the codebook's satisfaction items in codebook
    order. This is the form :func:`indices_table` computes from: a campaign of 150
    agencies and 19 items is an array of 17,100 integers whatever its number of
    responses, and every index is a handful of array operations on it.
    :func:`analysis.load.tally_counts` builds it straight from the database.
    """

    __slots__ = ("agencies", "items", "counts")

    def __init__(self, agencies, items, counts):
        self.agencies = np.asarray(agencies, dtype=object)
        self.items = np.asarray(items, dtype=object)
        self.counts = np.asarray(counts, dtype="int64")
        shape = (len(self.agencies), len(self.items), SCALE_MAX + 1)
        if self.counts.shape != shape:
            raise ValueError(f"counts must have shape {shape}, not {self.counts.shape}")
        if len(self.agencies) > 1 and not (self.agencies[1:] > self.agencies[:-1]).all():
            raise ValueError("agencies must be sorted and unique")

    def __len__(self) -> int:
        return len(self.agencies)

    @classmethod
    def from_frame(cls, tally: pd.DataFrame, codebook: pd.DataFrame, agency_codes=None):
        """From a tally DataFrame (``agency_code, item_code, score, n``). Rows of items
        that are not satisfaction items of ``codebook`` are left out; agencies are those
        of the tally plus ``agency_codes``."""
        items, _ = _scale_items(codebook)
        t = _check_tally(tally)
        agency = t["agency_code"].to_numpy(dtype=object)
        extra = {str(c) for c in agency_codes} if agency_codes is not None else set()
        codes = np.array(sorted(set(agency) | extra), dtype=object)
        agency_pos = pd.Index(codes).get_indexer(agency)
        item_pos = pd.Index(items).get_indexer(t["item_code"].to_numpy(dtype=object))
        keep = item_pos >= 0
        counts = np.zeros((len(codes), len(items), SCALE_MAX + 1), dtype="int64")
        np.add.at(counts, (agency_pos[keep], item_pos[keep], t["score"].to_numpy()[keep]),
                  t["n"].to_numpy()[keep])
        return cls(codes, items, counts)

    def to_frame(self) -> pd.DataFrame:
        """The tally DataFrame: rows with n > 0, sorted by agency, item code and score."""
        order = np.argsort(self.items, kind="stable")
        cube = self.counts[:, order, :]
        a, i, s = np.nonzero(cube)
        frame = pd.DataFrame({"agency_code": self.agencies[a], "item_code": self.items[order][i],
                              "score": s.astype("int64"), "n": cube[a, i, s]})
        return frame.astype({"agency_code": "str", "item_code": "str"})

    def with_items(self, items) -> TallyCounts:
        """The counts of ``items`` in that order (items it lacks count zero)."""
        items = np.asarray(items, dtype=object)
        if len(items) == len(self.items) and (items == self.items).all():
            return self
        pos = pd.Index(self.items).get_indexer(items)
        counts = np.zeros((len(self.agencies), len(items), SCALE_MAX + 1), dtype="int64")
        counts[:, pos >= 0] = self.counts[:, pos[pos >= 0]]
        return TallyCounts(self.agencies, items, counts)

    def with_agencies(self, codes) -> TallyCounts:
        """These counts plus a row of zeros for each of ``codes`` they lack, so that an
        agency whose responses left every satisfaction item empty still gets rows."""
        codes = {str(c) for c in codes} - set(self.agencies)
        if not codes:
            return self
        return self + TallyCounts(sorted(codes), self.items,
                                  np.zeros((len(codes), *self.counts.shape[1:]), dtype="int64"))

    def __add__(self, other: TallyCounts) -> TallyCounts:
        """Both tallies' answers together (say, the rounds of a year)."""
        other = other.with_items(self.items)
        codes = np.array(sorted(set(self.agencies) | set(other.agencies)), dtype=object)
        index = pd.Index(codes)
        counts = np.zeros((len(codes), *self.counts.shape[1:]), dtype="int64")
        counts[index.get_indexer(self.agencies)] += self.counts
        counts[index.get_indexer(other.agencies)] += other.counts
        return TallyCounts(codes, self.items, counts)

    def total(self, code: str) -> TallyCounts:
        """Every agency's answers counted under one code (e.g. a whole campaign)."""
        return TallyCounts([str(code)], self.items, self.counts.sum(axis=0, keepdims=True))

    def rollup(self, agencies: pd.DataFrame) -> TallyCounts:
        """The counts of each agency's whole subtree (itself included), for every agency
        of the tree; as :func:`rollup_tally`."""
        tree = _check_tree(agencies)
        codes = tree["code"].to_numpy(dtype=object)
        unknown = sorted(set(self.agencies) - set(codes))
        if unknown:
            raise ValueError(f"tally agencies not in the agency tree: {', '.join(unknown)}")
        agency_pos, ancestor_pos = _ancestor_positions(tree)
        order = np.argsort(codes, kind="stable")
        rank = np.empty(len(codes), dtype="int64")
        rank[order] = np.arange(len(codes))
        # Each tally agency's counts go to itself and every ancestor: one product with
        # the 0/1 (ancestor x agency) matrix. Whole numbers far below 2**53 stay exact
        # in floating point, which lets the product run in BLAS.
        source = pd.Index(self.agencies).get_indexer(codes[agency_pos])
        keep = source >= 0
        membership = np.zeros((len(codes), len(self.agencies)))
        membership[rank[ancestor_pos[keep]], source[keep]] = 1.0
        cell = self.counts.shape[1:]
        flat = self.counts.reshape(len(self.agencies), cell[0] * cell[1]).astype("float64")
        counts = np.rint(membership @ flat).astype("int64").reshape(len(codes), *cell)
        return TallyCounts(codes[order], self.items, counts)


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


def _check_tree(agencies: pd.DataFrame) -> pd.DataFrame:
    """The tree's ``code`` and ``parent_code`` as text (a missing parent marks a root and
    stays missing rather than becoming "nan"), checked: codes present and unique, every
    parent a code of the tree."""
    missing = [c for c in ("code", "parent_code") if c not in agencies.columns]
    if missing:
        raise ValueError(f"agencies: missing columns: {', '.join(missing)}")
    # Plain Python over a few hundred agencies: cheaper than a dozen pandas operations.
    codes = [None if pd.isna(c) else str(c) for c in agencies["code"].tolist()]
    parents = [None if pd.isna(c) else str(c) for c in agencies["parent_code"].tolist()]
    known = set(codes)
    if None in known or len(known) != len(codes):
        raise ValueError("agencies: code is empty or repeated")
    orphans = {p for p in parents if p is not None} - known
    if orphans:
        raise ValueError(f"agencies: unknown parent_code: {', '.join(sorted(orphans))}")
    return pd.DataFrame(
        {"code": np.array(codes, dtype=object), "parent_code": np.array(parents, dtype=object)}
    )


def _ancestor_positions(tree: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """``(agency, ancestor)`` row positions in ``tree`` for every agency and each of its
    ancestors, itself included: first every agency with itself, then with its parent,
    and so on up (so each agency's ancestors come nearest first)."""
    codes = tree["code"].to_numpy(dtype=object)
    parent = pd.Index(codes).get_indexer(tree["parent_code"].to_numpy(dtype=object))
    agency = np.arange(len(codes))
    current = agency
    agencies, ancestors = [agency], [current]
    # One step up the tree per pass for all agencies at once; a chain cannot be longer
    # than the number of agencies, so more passes than that means a cycle.
    for _ in range(len(codes) + 1):
        step = parent[current]
        keep = step >= 0
        agency, current = agency[keep], step[keep]
        if not len(current):
            break
        agencies.append(agency)
        ancestors.append(current)
    else:
        raise ValueError("agencies: parent_code links form a cycle")
    return np.concatenate(agencies), np.concatenate(ancestors)


def _ancestor_pairs(tree: pd.DataFrame) -> pd.DataFrame:
    """``(agency_code, ancestor)`` for every agency and each ancestor, itself included."""
    codes = tree["code"].to_numpy(dtype=object)
    agency, ancestor = _ancestor_positions(tree)
    return pd.DataFrame({"agency_code": codes[agency], "ancestor": codes[ancestor]})


def rollup_tally(tally: pd.DataFrame, agencies: pd.DataFrame) -> pd.DataFrame:
    """The tally summed over each agency's whole subtree (the agency itself included).

    Rows are keyed by the ancestor's code, so the root's rows count every answer in
    the province. Agencies of the tree without answers get no rows; tally agencies
    missing from the tree are an error (their answers would silently vanish).
    """
    tree = _check_tree(agencies)
    t = _check_tally(tally)
    unknown = set(t["agency_code"]) - set(tree["code"])
    if unknown:
        raise ValueError(f"tally agencies not in the agency tree: {', '.join(sorted(unknown))}")
    rolled = (
        t.merge(_ancestor_pairs(tree), on="agency_code")
        .groupby(["ancestor", "item_code", "score"], as_index=False)["n"]
        .sum()
        .rename(columns={"ancestor": "agency_code"})
    )
    return rolled[TALLY_COLUMNS]


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


def _nan_mean_columns(values: np.ndarray, membership: np.ndarray) -> np.ndarray:
    """Mean over each group of columns, skipping NaN (NaN where a group has no value).

    ``membership`` is a 0/1 (columns x groups) matrix. Done by hand because
    ``np.nanmean`` warns on all-NaN groups, which happen legitimately here.
    """
    valid = ~np.isnan(values)
    total = np.where(valid, values, 0.0) @ membership
    count = valid.astype("float64") @ membership
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(count > 0, total / count, np.nan)


def _percentiles(replicates: np.ndarray, q=(2.5, 97.5)) -> np.ndarray:
    """Percentiles of each column over its non-NaN replicates (NaN if there are none)."""
    out = np.full((len(q), replicates.shape[1]), np.nan)
    for j in range(replicates.shape[1]):
        column = replicates[:, j]
        column = column[~np.isnan(column)]
        if column.size:
            out[:, j] = np.percentile(column, q)
    return out


def bootstrap_indices(
    responses: pd.DataFrame,
    codebook: pd.DataFrame,
    n_boot: int = 1000,
    seed: int = 0,
    by: str = "agency_code",
) -> pd.DataFrame:
    """Percentile 95 % intervals of element and service indices by respondent bootstrap.

    Within each group of ``by`` (rows with an empty ``by`` are left out), respondents
    are resampled with replacement ``n_boot`` times, as multinomial weights, and each
    replicate's indices are computed exactly as from a tally: a respondent who left
    an element's items empty just does not count for it. Replicates in which an
    element has no answer at all are skipped for that element's interval.

    Each group's random stream is derived from ``seed`` and the group's own value, so
    a group's interval does not change when other groups are added or removed.

    Returns ``by, level, code, index, ci_low, ci_high`` (percent), level element or
    service; ``index`` is the point estimate from the full sample.
    """
    if n_boot < 1:
        raise ValueError("n_boot must be at least 1")
    items = satisfaction_items(codebook)
    scores = satisfaction_scores(responses, codebook).to_numpy()
    keys = as_text(responses[by]).reset_index(drop=True)
    groups = keys.groupby(keys).indices  # group value -> row positions; empty values dropped
    rows = bootstrap_groups(scores, groups, items["element_code"].astype("str").to_numpy(),
                            n_boot=n_boot, seed=seed)
    return rows.rename(columns={"group": by})


def bootstrap_groups(
    scores: np.ndarray, groups, item_elements, n_boot: int = 1000, seed: int = 0
) -> pd.DataFrame:
    """:func:`bootstrap_indices` on arrays: ``scores`` (respondents x satisfaction items,
    NaN = no answer), ``groups`` a mapping from each group's value to its respondents'
    row positions (in the order they are drawn from), ``item_elements`` each item's
    element code. Returns ``group, level, code, index, ci_low, ci_high``."""
    if n_boot < 1:
        raise ValueError("n_boot must be at least 1")
    scores = np.asarray(scores, dtype="float64")
    item_elements = np.asarray(item_elements, dtype=object)
    n_items = scores.shape[1]
    elements = list(dict.fromkeys(item_elements))
    membership = (item_elements[:, None] == np.array(elements, dtype=object)[None, :]).astype(
        "float64"
    )
    all_elements = np.ones((len(elements), 1))
    # Answered and satisfied side by side, so that one product gives both weighted sums.
    answers = np.hstack([~np.isnan(scores), scores >= SATISFIED_MIN])  # NaN >= 4 is False

    def indices(a, s):
        """Element and service indices (percent) of weighted answer sums, one row per replicate."""
        with np.errstate(divide="ignore", invalid="ignore"):
            criteria = np.where(a > 0, s / a, np.nan)
        element = _nan_mean_columns(criteria, membership)
        service = _nan_mean_columns(element, all_elements)
        return 100 * np.hstack([element, service])

    rows = []
    for key in sorted(groups):
        members = np.asarray(groups[key])
        m = len(members)
        # The weighted sums are whole numbers no larger than m: exact in single precision
        # below 2**24, where the product runs twice as fast.
        exact = "float32" if m < 2**24 else "float64"
        x = answers[members].astype(exact)
        rng = np.random.default_rng([seed, zlib.crc32(key.encode("utf-8"))])
        # Replicates in batches so that the weight matrix stays a few MB even for the
        # province-wide group.
        batch = max(1, min(n_boot, 2_000_000 // m))
        replicates = []
        for start in range(0, n_boot, batch):
            size = min(batch, n_boot - start)
            # Each replicate's weights are how often each respondent was drawn in m
            # draws with replacement (a multinomial vector), counted with one bincount;
            # several times faster than rng.multinomial for groups of hundreds.
            draws = rng.integers(0, m, size=(size, m))
            draws += (np.arange(size) * m)[:, None]
            weights = np.bincount(draws.ravel(), minlength=size * m).reshape(size, m)
            sums = (weights.astype(exact) @ x).astype("float64")
            replicates.append(indices(sums[:, :n_items], sums[:, n_items:]))
        low, high = _percentiles(np.vstack(replicates))
        total = x.sum(axis=0, dtype="float64", keepdims=True)
        point = indices(total[:, :n_items], total[:, n_items:])[0]
        for j, code in enumerate([*elements, SERVICE_CODE]):
            level = "service" if code == SERVICE_CODE else "element"
            rows.append((key, level, code, point[j], low[j], high[j]))
    return pd.DataFrame(rows, columns=["group", "level", "code", "index", "ci_low", "ci_high"])


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
