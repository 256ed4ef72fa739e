"""Disclosure control: officers and published reports see breakdowns with small cells
hidden (:mod:`analysis.disclosure`); Sở Nội vụ and MTTQ see the counts on screen."""

from __future__ import annotations

import pandas as pd
from flask import current_app

from analysis import disclosure

from .breakdowns import Breakdown
from .indices import CHANNEL_LABELS, Results


def min_cell() -> int:
    """The smallest group of respondents a published breakdown shows (MIN_CELL)."""
    return max(1, int(current_app.config.get("MIN_CELL", disclosure.DEFAULT_MIN_CELL)))


def disclosed_channel_table(results: Results, smallest: int | None = None) -> pd.DataFrame:
    """:meth:`Results.channel_table` with small counts hidden: agencies × channels with
    complementary suppression (each agency's total is shown), the rejected column on
    its own. Hidden cells hold :data:`analysis.disclosure.MARK`."""
    smallest = min_cell() if smallest is None else smallest
    table = results.channel_table()
    if table.empty:
        return table
    channels = list(CHANNEL_LABELS)
    out = table.astype(object)
    out[channels] = disclosure.suppress(table[channels], smallest)
    out[["rejected"]] = disclosure.suppress(table[["rejected"]], smallest)
    return out


def disclosed_channel_totals(results: Results, smallest: int | None = None) -> dict:
    """:meth:`Results.channel_totals` with small counts hidden (the scope's total is shown)."""
    smallest = min_cell() if smallest is None else smallest
    totals = results.channel_totals()
    shown = disclosure.suppress(pd.DataFrame([totals]), smallest)
    return {code: shown.iloc[0][code] for code in totals}


def hidden_groups(split: Breakdown, smallest: int | None = None) -> set[str]:
    """The groups of a breakdown whose n (and so their indices) a published view hides."""
    smallest = min_cell() if smallest is None else smallest
    if split.summary.empty:
        return set()
    counts = split.summary[["n"]].reset_index(drop=True)
    mask = disclosure.suppression_mask(counts, smallest)["n"].to_numpy()
    return set(split.summary["agency_code"].astype(str)[mask])
