"""Bootstrap intervals of element and service indices: respondents resampled within each
group, each replicate's indices computed as from a tally."""

from __future__ import annotations

import zlib

import numpy as np
import pandas as pd

from .indices import SATISFIED_MIN, SERVICE_CODE
from .io import as_text, satisfaction_items, satisfaction_scores


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
