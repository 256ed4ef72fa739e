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

__all__ = [
    "LEVELS",
    "MIN_N_FOR_RANKING",
    "SATISFIED_MIN",
    "SERVICE_CODE",
    "TABLE_COLUMNS",
    "answer_distribution",
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
_LEVEL_ORDER = {level: i for i, level in enumerate(LEVELS)}


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


def criterion_indices(
    tally: pd.DataFrame, codebook: pd.DataFrame, agency_codes=None
) -> pd.DataFrame:
    """One row per agency x satisfaction item, items in codebook order.

    Columns ``agency_code, item_code, element_code, n, satisfied, index, ci_low,
    ci_high, mean_score``: ``n`` answers 1..5, ``satisfied`` answers 4 or 5, ``index``
    and the Wilson interval in percent, ``mean_score`` the mean of the 1..5 answers.
    Agencies are those of the tally plus ``agency_codes``; without answers a row has
    n = 0 and NaN index. Tally rows of items that are not satisfaction items are ignored.
    """
    items = satisfaction_items(codebook)
    t = _check_tally(tally)
    codes = sorted(
        set(t["agency_code"]) | {str(c) for c in (agency_codes if agency_codes is not None else ())}
    )
    item_codes = items["item_code"].to_numpy(dtype=object)
    # Sums per (agency, item) cell with numpy: the tally is small, but a dozen pandas
    # operations on it would cost more than the arithmetic itself.
    agency_pos = pd.Index(codes).get_indexer(t["agency_code"])
    item_pos = pd.Index(item_codes).get_indexer(t["item_code"])
    score = t["score"].to_numpy()
    count = t["n"].to_numpy()
    keep = (item_pos >= 0) & (score >= SCALE_MIN)
    cell = agency_pos[keep] * len(item_codes) + item_pos[keep]
    size = len(codes) * len(item_codes)
    n = np.bincount(cell, weights=count[keep], minlength=size).astype("int64")
    satisfied = np.bincount(
        cell, weights=np.where(score[keep] >= SATISFIED_MIN, count[keep], 0), minlength=size
    ).astype("int64")
    score_sum = np.bincount(cell, weights=score[keep] * count[keep], minlength=size)
    denominator = np.where(n > 0, n, np.nan)
    low, high = wilson_interval(satisfied, n)
    elements = items.set_index("item_code")["element_code"].astype("str")
    out = pd.DataFrame(
        {
            "agency_code": np.repeat(np.asarray(codes, dtype=object), len(item_codes)),
            "item_code": np.tile(item_codes, len(codes)),
            "element_code": np.tile(elements.reindex(item_codes).to_numpy(), len(codes)),
            "n": n,
            "satisfied": satisfied,
            "index": 100 * satisfied / denominator,
            "ci_low": 100 * np.asarray(low, dtype=float),
            "ci_high": 100 * np.asarray(high, dtype=float),
            "mean_score": score_sum / denominator,
        }
    )
    columns = [
        "agency_code",
        "item_code",
        "element_code",
        "n",
        "satisfied",
        "index",
        "ci_low",
        "ci_high",
        "mean_score",
    ]
    return out[columns].astype({"n": "int64", "satisfied": "int64", "element_code": "str"})


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
    missing = [c for c in ("code", "parent_code") if c not in agencies.columns]
    if missing:
        raise ValueError(f"agencies: missing columns: {', '.join(missing)}")
    # A missing parent marks a root, so it must stay missing rather than become "nan".
    tree = pd.DataFrame(
        {"code": as_text(agencies["code"]), "parent_code": as_text(agencies["parent_code"])}
    )
    if tree["code"].isna().any() or tree["code"].duplicated().any():
        raise ValueError("agencies: code is empty or repeated")
    orphans = set(tree["parent_code"].dropna()) - set(tree["code"])
    if orphans:
        raise ValueError(f"agencies: unknown parent_code: {', '.join(sorted(orphans))}")
    return tree


def _ancestor_pairs(tree: pd.DataFrame) -> pd.DataFrame:
    """``(agency_code, ancestor)`` for every agency and each ancestor, itself included."""
    parent = pd.Series(tree["parent_code"].to_numpy(), index=tree["code"].to_numpy())
    current = pd.Series(tree["code"].to_numpy(), index=tree["code"].to_numpy())
    pairs = [pd.DataFrame({"agency_code": current.index, "ancestor": current.to_numpy()})]
    # One step up the tree per pass for all agencies at once; a chain cannot be longer
    # than the number of agencies, so more passes than that means a cycle.
    for _ in range(len(tree) + 1):
        current = current.map(parent).dropna()
        if current.empty:
            break
        pairs.append(pd.DataFrame({"agency_code": current.index, "ancestor": current.to_numpy()}))
    else:
        raise ValueError("agencies: parent_code links form a cycle")
    return pd.concat(pairs, ignore_index=True)


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
    tally: pd.DataFrame,
    codebook: pd.DataFrame,
    agencies: pd.DataFrame | None = None,
    bootstrap: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The long table of indices: ``agency_code, level, code, n, satisfied, index,
    ci_low, ci_high, mean_score``.

    ``level`` is criterion, element or service; ``code`` the item code, the element
    code or ``SERVICE``. Criterion intervals are Wilson intervals; element and service
    intervals come from ``bootstrap`` (a :func:`bootstrap_indices` result) when given,
    else NaN. ``satisfied`` is ``<NA>`` on element and service rows. With ``agencies``
    the tally is first rolled up the tree (:func:`rollup_tally`) and every agency of the
    tree gets rows, answered or not. Sorted by agency_code, level (criterion, element,
    service), code.
    """
    codes = None
    if agencies is not None:
        tally = rollup_tally(tally, agencies)
        codes = agencies["code"].astype("str")
    criteria = criterion_indices(tally, codebook, agency_codes=codes)
    elements = element_indices(criteria)
    services = service_indices(elements)

    def no_count(frame):
        return pd.array([pd.NA] * len(frame), dtype="Int64")

    parts = [
        criteria.rename(columns={"item_code": "code"}).assign(
            level="criterion", satisfied=criteria["satisfied"].astype("Int64")
        ),
        elements.rename(columns={"element_code": "code"}).assign(
            level="element", satisfied=no_count(elements), ci_low=np.nan, ci_high=np.nan
        ),
        services.assign(
            level="service",
            code=SERVICE_CODE,
            satisfied=no_count(services),
            ci_low=np.nan,
            ci_high=np.nan,
        ),
    ]
    table = pd.concat([part[TABLE_COLUMNS] for part in parts], ignore_index=True)
    table = table.astype({"agency_code": "str", "level": "str", "code": "str", "n": "int64"})
    if bootstrap is not None:
        table = _with_bootstrap(table, bootstrap)
    return _sort_table(table)


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


def _sort_table(table: pd.DataFrame) -> pd.DataFrame:
    order = table["level"].map(_LEVEL_ORDER)
    return (
        table.assign(_order=order)
        .sort_values(["agency_code", "_order", "code"], kind="stable")
        .drop(columns="_order")
        .reset_index(drop=True)
    )


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
    answered = (~np.isnan(scores)).astype("float64")
    satisfied = (scores >= SATISFIED_MIN).astype("float64")  # NaN >= 4 is False
    elements = list(dict.fromkeys(items["element_code"]))
    membership = (items["element_code"].to_numpy()[:, None] == np.array(elements)[None, :]).astype(
        "float64"
    )
    all_elements = np.ones((len(elements), 1))

    def indices(a, s):
        """Element and service indices (percent) of weighted answer sums, one row per replicate."""
        with np.errstate(divide="ignore", invalid="ignore"):
            criteria = np.where(a > 0, s / a, np.nan)
        element = _nan_mean_columns(criteria, membership)
        service = _nan_mean_columns(element, all_elements)
        return 100 * np.hstack([element, service])

    keys = as_text(responses[by]).reset_index(drop=True)
    groups = keys.groupby(keys).indices  # group value -> row positions; empty values dropped
    rows = []
    for key in sorted(groups):
        members = groups[key]
        a, s = answered[members], satisfied[members]
        m = len(members)
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
            draws = rng.integers(0, m, size=(size, m)) + (np.arange(size) * m)[:, None]
            weights = (
                np.bincount(draws.ravel(), minlength=size * m).reshape(size, m).astype("float64")
            )
            replicates.append(indices(weights @ a, weights @ s))
        low, high = _percentiles(np.vstack(replicates))
        point = indices(a.sum(axis=0, keepdims=True), s.sum(axis=0, keepdims=True))[0]
        for j, code in enumerate([*elements, SERVICE_CODE]):
            level = "service" if code == SERVICE_CODE else "element"
            rows.append((key, level, code, point[j], low[j], high[j]))
    return pd.DataFrame(rows, columns=[by, "level", "code", "index", "ci_low", "ci_high"])


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
