"""Small-cell suppression for published breakdowns (counts per agency and channel, per
profile answer, per day…): which cells to hide so that no group of fewer than
``min_cell`` respondents can be seen or worked out from the totals.

Rules (:func:`suppression_mask`):

- primary: a cell with ``0 < n < min_cell`` is hidden. A zero is *known*: it is shown,
  since it describes nobody (a table of counts per channel says "0 on paper" for most
  agencies, and hiding every zero would hide most tables);
- complementary: the totals of every row and column are taken as published (the n of
  an agency or of a group is shown elsewhere), so a line with exactly one hidden cell
  would give it away by subtraction. In such a line the smallest shown cell is hidden
  too (the smallest non-zero one if there is any, else a zero: a hidden zero is as
  unknown as any other hidden cell), rows then columns, until no line has exactly one
  hidden cell. A line of one cell is its own total and is left alone.

Everything here is pure: a DataFrame in, a new DataFrame out, the input untouched.
"""

from __future__ import annotations

import pandas as pd

#: What a hidden cell shows, and the legend that explains it.
MARK = "x"
DEFAULT_MIN_CELL = 5


def legend(min_cell: int) -> str:
    return (f"{MARK}: số bị ẩn (nhóm dưới {min_cell} người trả lời, hoặc ẩn kèm để không "
            "suy ra được từ số tổng).")


def _complement(values: list[float], hidden: list[bool]) -> int | None:
    """Position of the shown cell to hide in a line with exactly one hidden cell."""
    shown = [i for i, h in enumerate(hidden) if not h]
    if not shown:
        return None
    nonzero = [i for i in shown if values[i] != 0]
    pool = nonzero or shown
    return min(pool, key=lambda i: (values[i], i))


def suppression_mask(counts: pd.DataFrame, min_cell: int = DEFAULT_MIN_CELL) -> pd.DataFrame:
    """A boolean frame shaped like ``counts`` (whole-number counts; missing = 0): True
    where the cell must be hidden (module docstring for the rules)."""
    if min_cell < 1:
        raise ValueError("min_cell must be at least 1")
    values = counts.fillna(0).to_numpy(dtype="float64")
    rows, cols = values.shape
    hidden = [[bool(0 < values[r][c] < min_cell) for c in range(cols)] for r in range(rows)]
    changed = True
    while changed:
        changed = False
        if cols > 1:
            for r in range(rows):
                if sum(hidden[r]) == 1:
                    pick = _complement(list(values[r]), hidden[r])
                    if pick is not None:
                        hidden[r][pick] = changed = True
        if rows > 1:
            for c in range(cols):
                column = [hidden[r][c] for r in range(rows)]
                if sum(column) == 1:
                    pick = _complement([values[r][c] for r in range(rows)], column)
                    if pick is not None:
                        hidden[pick][c] = changed = True
    return pd.DataFrame(hidden, index=counts.index, columns=counts.columns, dtype=bool)


def suppress(counts: pd.DataFrame, min_cell: int = DEFAULT_MIN_CELL,
             mark: str = MARK) -> pd.DataFrame:
    """``counts`` with the hidden cells replaced by ``mark`` (an object frame; the
    shown cells keep their values)."""
    mask = suppression_mask(counts, min_cell)
    return counts.astype(object).mask(mask, mark)
