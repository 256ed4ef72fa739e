"""Small-cell suppression on hand-computed tables (MIN_CELL 5 unless said)."""

import pandas as pd
import pytest

from analysis import disclosure


def _hidden(mask: pd.DataFrame) -> list[list[bool]]:
    return mask.to_numpy().tolist()


def _recoverable_lines(mask: pd.DataFrame) -> list[str]:
    """Lines (rows, columns of more than one cell) with exactly one hidden cell: that cell
    is its published total minus the shown ones."""
    out = []
    if mask.shape[1] > 1:
        out += [f"row {i}" for i, row in mask.iterrows() if row.sum() == 1]
    if mask.shape[0] > 1:
        out += [f"column {c}" for c in mask.columns if mask[c].sum() == 1]
    return out


def test_a_lone_small_cell_is_protected_by_complementary_cells():
    # Agencies × channels. Only a/open (2) is small. Shown alone it would come back from
    # a's total: 20 - 8 - 10 = 2. Row a then hides its next smallest (8); column open
    # hides b's 7, column paper b's 9; every line now has two hidden cells or none.
    counts = pd.DataFrame({"open": [2, 7], "paper": [8, 9], "api": [10, 6]},
                          index=["a", "b"])
    primary = counts.map(lambda n: 0 < n < 5)
    assert _recoverable_lines(primary) == ["row a", "column open"]
    mask = disclosure.suppression_mask(counts, 5)
    assert _hidden(mask) == [[True, True, False], [True, True, False]]
    assert _recoverable_lines(mask) == []
    assert list(mask.index) == ["a", "b"] and list(mask.columns) == list(counts.columns)


def test_zero_is_known_and_complement_prefers_a_non_zero_cell():
    counts = pd.DataFrame([[3, 0, 12]], columns=["open", "paper", "api"])
    assert _hidden(disclosure.suppression_mask(counts, 5)) == [[True, False, True]]


def test_a_zero_is_hidden_when_it_is_the_only_complement_left():
    # An agency with 3 answers, all by QR: its total (3) is published, so the 3 can only
    # be protected by hiding a zero beside it (the first, on a tie).
    counts = pd.DataFrame([[3, 0, 0]], columns=["open", "paper", "api"])
    assert _hidden(disclosure.suppression_mask(counts, 5)) == [[True, True, False]]


def test_one_column_breakdown_hides_the_next_smallest_group():
    # Respondents per gender of one agency (its n is published): 2 women would be n - 17.
    counts = pd.DataFrame({"n": [2, 10, 7]}, index=["nu", "nam", "khac"])
    assert _hidden(disclosure.suppression_mask(counts, 5)) == [[True], [False], [True]]


def test_iterates_until_no_line_gives_a_cell_away():
    # Primary (0,0)=1. Rows: row 0 hides its smallest other, (0,1)=5. Columns: column 0
    # hides its smallest other, (2,0)=8; column 1 hides (1,1)=6. Rows again: row 1 now
    # has one hidden cell and hides (1,0)=9; row 2 hides (2,1)=40. Columns 0 and 1 have
    # three hidden cells each, column 2 none: stable.
    counts = pd.DataFrame([[1, 5, 30], [9, 6, 20], [8, 40, 50]])
    mask = disclosure.suppression_mask(counts, 5)
    assert _hidden(mask) == [[True, True, False], [True, True, False], [True, True, False]]
    assert _recoverable_lines(mask) == []


def test_nothing_small_nothing_hidden_and_input_untouched():
    counts = pd.DataFrame({"a": [5, 0, 7], "b": [0, 0, 12]})
    before = counts.copy()
    assert not disclosure.suppression_mask(counts, 5).to_numpy().any()
    # a=4 hidden; row 0 has no other non-zero cell, so its zero goes; columns a and b
    # then hide their next non-zero cells, 7 and 12; row 1 (zeros) stays shown.
    shown = disclosure.suppress(counts.assign(a=[4, 0, 7]), 5)
    assert shown.to_numpy().tolist() == [["x", "x"], [0, 0], ["x", "x"]]
    pd.testing.assert_frame_equal(counts, before)


def test_threshold_is_a_setting():
    counts = pd.DataFrame({"n": [3, 9, 12]})
    assert not disclosure.suppression_mask(counts, 3).to_numpy().any()
    assert _hidden(disclosure.suppression_mask(counts, 10)) == [[True], [True], [False]]
    with pytest.raises(ValueError):
        disclosure.suppression_mask(counts, 0)
    assert "dưới 10 người" in disclosure.legend(10)
