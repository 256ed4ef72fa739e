"""Comparisons of indices: change between two rounds, indices broken down by a
response column (channel, a profile item), and the filter that drops rejected forms.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .bootstrap import bootstrap_indices
from .indices import TABLE_COLUMNS, indices_table
from .io import as_text, tally_from_responses
from .kinds import is_listed

__all__ = ["Z_95", "breakdown", "change_between", "exclude_rejected"]

Z_95 = 1.96
CHANGE_COLUMNS = [
    "agency_code",
    "level",
    "code",
    "n_a",
    "index_a",
    "n_b",
    "index_b",
    "change",
    "significant",
    "method",
]


def exclude_rejected(responses: pd.DataFrame) -> pd.DataFrame:
    """The responses whose review state is not ``rejected`` (flagged ones are kept:
    a flag asks for review, it is not a verdict)."""
    return responses[responses["review_state"] != "rejected"]


def _floats(series: pd.Series) -> np.ndarray:
    return series.to_numpy(dtype="float64", na_value=np.nan)


def change_between(indices_a: pd.DataFrame, indices_b: pd.DataFrame) -> pd.DataFrame:
    """Change from ``indices_a`` to ``indices_b`` (two :func:`indices_table` results)
    for every agency, level and code present in both.

    ``change`` is ``index_b - index_a`` in percentage points. ``significant`` says
    whether it exceeds sampling noise at 95 %, by the test named in ``method``:

    - criterion rows: ``two_proportion_z``, the pooled two-proportion z-test;
    - element and service rows with intervals on both sides: ``bootstrap_overlap``,
      the two bootstrap intervals do not overlap (a conservative test);
    - element and service rows without them: ``normal_approx``, a z-test treating the
      index as one proportion measured on ``n`` answers. This ignores that the index
      is a mean of several correlated proportions, so it is a rough screen: prefer
      the bootstrap when the call matters.

    Rows without answers on either side are not tested (``significant`` False,
    ``method`` empty).
    """
    keys = ["agency_code", "level", "code"]
    values = ["n", "satisfied", "index", "ci_low", "ci_high"]
    merged = indices_a[keys + values].merge(
        indices_b[keys + values], on=keys, suffixes=("_a", "_b")
    )
    n_a, n_b = _floats(merged["n_a"]), _floats(merged["n_b"])
    p_a, p_b = _floats(merged["index_a"]) / 100, _floats(merged["index_b"]) / 100
    is_criterion = (merged["level"] == "criterion").to_numpy()

    with np.errstate(divide="ignore", invalid="ignore"):
        pooled = (_floats(merged["satisfied_a"]) + _floats(merged["satisfied_b"])) / (n_a + n_b)
        z_pooled = (p_b - p_a) / np.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
        z_normal = (p_b - p_a) / np.sqrt(p_a * (1 - p_a) / n_a + p_b * (1 - p_b) / n_b)
    bounds = [_floats(merged[c]) for c in ("ci_low_a", "ci_high_a", "ci_low_b", "ci_high_b")]
    has_intervals = ~is_criterion & np.all(~np.isnan(bounds), axis=0)
    apart = (bounds[2] > bounds[1]) | (bounds[0] > bounds[3])
    testable = (n_a > 0) & (n_b > 0) & ~np.isnan(p_a) & ~np.isnan(p_b)
    # A zero standard error means both sides are 0 % or both 100 %: no change to test,
    # and the resulting NaN z compares False, which is the right answer.
    z = np.where(is_criterion, z_pooled, z_normal)
    significant = testable & np.where(has_intervals, apart, np.abs(z) > Z_95)
    method = np.select(
        [~testable, is_criterion, has_intervals],
        [None, "two_proportion_z", "bootstrap_overlap"],
        default="normal_approx",
    )
    out = merged.assign(
        change=100 * (p_b - p_a),
        significant=significant,
        method=as_text(pd.Series(method, index=merged.index)),
    )
    return out[CHANGE_COLUMNS]


def breakdown(
    responses: pd.DataFrame,
    codebook: pd.DataFrame,
    by: str = "channel",
    n_boot: int | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """Indices (all levels) per value of a response column, e.g. ``channel`` or a
    profile item such as ``GIOI_TINH``: the :func:`indices_table` columns with
    ``agency_code`` replaced by ``by``.

    For a multiple-choice item each respondent counts once under every choice they
    selected. Respondents with an empty ``by`` are left out. With ``n_boot``, element
    and service rows get bootstrap intervals.
    """
    frame = breakdown_groups(responses, codebook, by)
    boot = None if not n_boot else bootstrap_indices(frame, codebook, n_boot=n_boot, seed=seed)
    table = indices_table(tally_from_responses(frame, codebook), codebook, bootstrap=boot)
    return table.rename(columns={"agency_code": by})[[by, *TABLE_COLUMNS[1:]]]


def breakdown_groups(responses: pd.DataFrame, codebook: pd.DataFrame, by: str) -> pd.DataFrame:
    """The responses with ``agency_code`` replaced by their value of ``by`` (a response
    column such as ``channel`` or a profile item), exactly as
    :func:`analysis.breakdown` groups them: a multiple-choice answer counts under each
    choice, an empty value is left out."""
    if by not in responses.columns:
        raise ValueError(f"responses have no column {by!r}")
    groups = as_text(responses[by])
    kind = codebook.loc[codebook["item_code"] == by, "type"]
    if not kind.empty and is_listed(kind.iloc[0]):
        groups = groups.str.split(";")
    frame = (
        responses.assign(agency_code=groups)
        .explode("agency_code")
        .dropna(subset=["agency_code"])
        .reset_index(drop=True)
        .astype({"agency_code": "str"})
    )
    return frame[frame["agency_code"].str.strip() != ""].reset_index(drop=True)
