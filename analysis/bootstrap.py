"""Bootstrap intervals of element and service indices: respondents resampled within each
group, each replicate's indices computed as from a tally."""

from __future__ import annotations

import os
import zlib
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

from .indices import SATISFIED_MIN, SERVICE_CODE
from .io import as_text, satisfaction_items, satisfaction_scores

#: Most threads the groups are bootstrapped on (one per CPU up to this).
WORKERS = 4
#: Draws counted at a time: the draws and counts of a batch (a few hundred KB) stay in
#: the processor's cache.
BATCH_DRAWS = 2**15
#: Weights (respondents x replicates) multiplied with the answers in one product.
PRODUCT_WEIGHTS = 2_000_000


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
    whole = ~np.isnan(replicates).any(axis=0)
    if whole.any():  # the columns without a skipped replicate, in one call
        out[:, whole] = np.percentile(replicates[:, whole], q, axis=0)
    for j in np.flatnonzero(~whole):
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
    scores: np.ndarray, groups, item_elements, n_boot: int = 1000, seed: int = 0,
    workers: int | None = None,
) -> pd.DataFrame:
    """:func:`bootstrap_indices` on arrays: ``scores`` (respondents x satisfaction items,
    NaN = no answer), ``groups`` a mapping from each group's value to its respondents'
    row positions (in the order they are drawn from), ``item_elements`` each item's
    element code. Returns ``group, level, code, index, ci_low, ci_high``."""
    return bootstrap_batches([(scores, groups)], item_elements, n_boot=n_boot, seed=seed,
                             workers=workers)


def bootstrap_batches(batches, item_elements, n_boot: int = 1000, seed: int = 0,
                      workers: int | None = None) -> pd.DataFrame:
    """:func:`bootstrap_groups` of groups whose answers come a batch at a time:
    ``batches`` yields ``(scores, groups)`` as :func:`bootstrap_groups` takes them, each
    group in one batch. Groups are independent (each has its own random stream), so they
    are computed on ``workers`` threads (default: one per CPU, at most :data:`WORKERS`)
    while the next batch is read; the figures do not depend on how many."""
    if n_boot < 1:
        raise ValueError("n_boot must be at least 1")
    item_elements = np.asarray(item_elements, dtype=object)
    elements = list(dict.fromkeys(item_elements))
    membership = (item_elements[:, None] == np.array(elements, dtype=object)[None, :]).astype(
        "float64"
    )

    def indices(a, s):
        """Element and service indices (percent) of answer sums, one row per replicate."""
        with np.errstate(divide="ignore", invalid="ignore"):
            criteria = np.where(a > 0, s / a, np.nan)
        element = _nan_mean_columns(criteria, membership)
        service = _nan_mean_columns(element, np.ones((len(elements), 1)))
        return 100 * np.hstack([element, service])

    def group(key, answered, satisfied):
        a, s = _replicate_sums(answered, satisfied, n_boot,
                               np.random.default_rng([seed, zlib.crc32(key.encode("utf-8"))]))
        low, high = _percentiles(indices(a, s))
        point = indices(answered.sum(axis=0, dtype="float64")[None, :],
                        satisfied.sum(axis=0, dtype="float64")[None, :])[0]
        return [(key, "service" if code == SERVICE_CODE else "element", code,
                 point[j], low[j], high[j]) for j, code in enumerate([*elements, SERVICE_CODE])]

    pending = {}
    with ThreadPoolExecutor(workers or min(os.cpu_count() or 1, WORKERS)) as pool:
        for scores, groups in batches:
            scores = np.asarray(scores, dtype="float64")
            answered = ~np.isnan(scores)
            satisfied = scores >= SATISFIED_MIN  # NaN >= 4 is False
            for key, members in groups.items():
                members = np.asarray(members)
                pending[key] = pool.submit(group, key, answered[members], satisfied[members])
        rows = [row for key in sorted(pending) for row in pending[key].result()]
    return pd.DataFrame(rows, columns=["group", "level", "code", "index", "ci_low", "ci_high"])


def _replicate_sums(answered: np.ndarray, satisfied: np.ndarray, n_boot: int,
                    rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Each replicate's answered and satisfied counts per item (float64, ``n_boot`` x
    items): respondents drawn ``m`` times with replacement, as multinomial weights.

    Each replicate's weights are how often each respondent was drawn (``rng.integers``,
    then one bincount for a batch of replicates), and the counts their product with the
    respondents' answers. Answered and satisfied are packed in one number per item,
    ``answered + (m + 1) * satisfied``: every sum is a whole number below ``m * (m + 2)``,
    exact in single precision below 2**24, where the product runs fastest, and half as
    many columns to multiply."""
    m = len(answered)
    base = m + 1
    exact = "float32" if m * (m + 2) < 2**24 else "float64"
    if m * (m + 2) >= 2**53:  # beyond any survey: unpacked, two columns an item
        base = None
        x = np.hstack([answered, satisfied]).astype("float64")
    else:
        x = (answered + base * satisfied.astype("int64")).astype(exact)
    sums = np.empty((n_boot, x.shape[1]), dtype=exact)
    # Weights for up to PRODUCT_WEIGHTS respondent-replicates are multiplied at once (one
    # product of a few MB); they are counted a few hundred KB at a time.
    outer = max(1, min(n_boot, PRODUCT_WEIGHTS // m))
    inner = max(1, min(outer, BATCH_DRAWS // m))
    weights = np.empty((outer, m), dtype=exact)
    offsets = (np.arange(inner) * m)[:, None]
    for start in range(0, n_boot, outer):
        size = min(outer, n_boot - start)
        for part in range(0, size, inner):
            count = min(inner, size - part)
            # The draws of successive batches continue one stream: the same numbers as
            # one call for all replicates.
            draws = rng.integers(0, m, size=(count, m))
            draws += offsets[:count]
            weights[part:part + count] = np.bincount(
                draws.ravel(), minlength=count * m).reshape(count, m)
        np.matmul(weights[:size], x, out=sums[start:start + size])
    if base is None:
        return sums[:, :x.shape[1] // 2], sums[:, x.shape[1] // 2:]
    whole = np.rint(sums).astype("int64")
    return (whole % base).astype("float64"), (whole // base).astype("float64")
