"""The official report's tables that are more than indices: rankings within comparable
groups of agencies, the improvement priorities, who answered (with small cells hidden),
and the change from an earlier period with an interval for the difference.

Pure pandas, as everything in `analysis`: the application builds the report from these,
and an auditor recomputes each from the audit bundle with the same functions.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .disclosure import DEFAULT_MIN_CELL, MARK, suppression_mask
from .indices import MIN_N_FOR_RANKING, SERVICE_CODE, rank_agencies

#: Groups of agencies that may be ranked against each other, by the agency's kind: a
#: department is not compared with a commune, nor a commune with a one-stop counter.
#: The province itself is never ranked (it is the whole).
RANKING_GROUPS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("department", "Sở, ban, ngành", ("department",)),
    ("local", "Ủy ban nhân dân xã, phường", ("commune", "ward")),
    ("one_stop", "Bộ phận một cửa, Trung tâm phục vụ hành chính công", ("one_stop",)),
    ("other", "Cơ quan, đơn vị khác", ("other",)),
)
#: The answer of a priority item that says "improve this first".
TOP_PRIORITY = 3


def ranking_groups(indices: pd.DataFrame, kinds: dict[str, str],
                   min_n: int = MIN_N_FOR_RANKING) -> list[tuple[str, str, pd.DataFrame]]:
    """Each group of RANKING_GROUPS that has agencies in ``indices`` (an
    :func:`analysis.indices_table` of each agency's own answers), as (key, label,
    :func:`analysis.rank_agencies` of the group's agencies alone)."""
    out = []
    for key, label, members in RANKING_GROUPS:
        codes = {code for code, kind in kinds.items() if kind in members}
        rows = indices[indices["agency_code"].isin(codes)]
        if rows.empty:
            continue
        out.append((key, label, rank_agencies(rows, min_n=min_n)))
    return out


def scope_label(covered: set[str], serving: set[str], names: dict[str, str],
                province: str) -> str:
    """What a report covers: "toàn tỉnh" only when ``covered`` includes every agency
    that serves citizens (``serving``); otherwise how many of them, by name when few."""
    if serving and serving <= covered:
        return f"Toàn tỉnh {province}".strip()
    listed = sorted(names.get(c, c) for c in covered)
    if len(listed) <= 6:
        return f"{len(listed)} cơ quan, đơn vị: " + "; ".join(listed)
    return f"{len(listed)} trên {len(serving)} cơ quan, đơn vị phục vụ người dân của tỉnh"


def priorities(counts: pd.DataFrame, items: pd.DataFrame) -> pd.DataFrame:
    """The improvement priorities, most wanted first.

    ``counts``: answers per (item_code, value, n) (any agencies, summed here); ``items``:
    the priority items (item_code, text) in questionnaire order. One row per item:
    ``item_code, text, n`` (answers), ``top`` (answers "Rất nhiều"), ``share`` (percent
    of n), ``rank`` (1 for the largest share; ties share the better rank; none for an
    item nobody answered)."""
    summed = counts.groupby(["item_code", "value"], as_index=False)["n"].sum()
    rows = []
    for item in items.itertuples():
        mine = summed[summed["item_code"] == item.item_code]
        values = pd.to_numeric(mine["value"], errors="coerce")
        n = int(mine.loc[values.between(1, 3), "n"].sum())
        top = int(mine.loc[values == TOP_PRIORITY, "n"].sum())
        rows.append({"item_code": item.item_code, "text": item.text, "n": n, "top": top,
                     "share": 100 * top / n if n else math.nan})
    out = pd.DataFrame(rows, columns=["item_code", "text", "n", "top", "share"])
    out["rank"] = out["share"].rank(ascending=False, method="min").astype("Int64")
    return out.sort_values(["share", "item_code"], ascending=[False, True],
                           na_position="last", kind="stable").reset_index(drop=True)


def profile(counts: pd.DataFrame, items: pd.DataFrame,
            min_cell: int = DEFAULT_MIN_CELL) -> pd.DataFrame:
    """Who answered: per profile item and choice, the number of respondents and their
    share, with small cells hidden.

    ``items``: the profile items (item_code, text, choices: list of (code, label),
    multiple: whether a respondent may tick several). A count below ``min_cell`` (and
    one more cell of the item when a single hidden one could be worked out from the
    item's total) shows MARK, and so does its share. The share is of the answers to the
    item; an item with several answers a respondent has none (NaN).
    Returns ``item_code, item, value, label, n, share`` (n and share as published:
    numbers or MARK)."""
    summed = counts.groupby(["item_code", "value"], as_index=False)["n"].sum()
    rows = []
    for item in items.itertuples():
        mine = summed[summed["item_code"] == item.item_code].set_index("value")["n"]
        values = [code for code, _ in item.choices]
        numbers = [int(mine.get(code, 0)) for code in values]
        total = sum(numbers)
        hidden = suppression_mask(pd.DataFrame([numbers], columns=values), min_cell) \
            .iloc[0].tolist() if len(values) > 1 else [0 < total < min_cell]
        for (code, label), n, hide in zip(item.choices, numbers, hidden, strict=True):
            rows.append({"item_code": item.item_code, "item": item.text, "value": code,
                         "label": label, "n": MARK if hide else n,
                         "share": MARK if hide else (
                             100 * n / total if total and not item.multiple else math.nan)})
    return pd.DataFrame(rows, columns=["item_code", "item", "value", "label", "n", "share"])


def difference_interval(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """The change of each index from ``before`` to ``after`` (two indices tables of
    independent samples, e.g. two rounds), in percentage points, with a 95 % interval
    for the difference by the MOVER method (Newcombe's hybrid score interval for two
    proportions; Zou & Donner's extension to any estimates with their own intervals):

        d = b − a;  low = d − √((b − l_b)² + (u_a − a)²);  high = d + √((u_b − b)² + (a − l_a)²)

    where (l, u) are each side's 95 % interval (Wilson for a criterion, bootstrap for an
    element or the service index). Rows without an index or an interval on either side
    get no interval. ``significant``: the interval excludes 0.

    Returns ``agency_code, level, code, n_before, index_before, n_after, index_after,
    change, change_low, change_high, significant``."""
    keys = ["agency_code", "level", "code"]
    cols = ["n", "index", "ci_low", "ci_high"]
    merged = before[keys + cols].merge(after[keys + cols], on=keys,
                                       suffixes=("_before", "_after"))

    def f(column):
        return pd.to_numeric(merged[column], errors="coerce").to_numpy(dtype=float)

    a, b = f("index_before"), f("index_after")
    la, ua, lb, ub = f("ci_low_before"), f("ci_high_before"), f("ci_low_after"), \
        f("ci_high_after")
    change = b - a
    low = change - np.sqrt((b - lb) ** 2 + (ua - a) ** 2)
    high = change + np.sqrt((ub - b) ** 2 + (a - la) ** 2)
    out = merged[keys].assign(
        n_before=merged["n_before"], index_before=a, n_after=merged["n_after"],
        index_after=b, change=change, change_low=low, change_high=high)
    out["significant"] = (out["change_low"] > 0) | (out["change_high"] < 0)
    return out


def service_rows(table: pd.DataFrame) -> pd.DataFrame:
    """The service index rows of an indices table."""
    return table[(table["level"] == "service") & (table["code"] == SERVICE_CODE)]
