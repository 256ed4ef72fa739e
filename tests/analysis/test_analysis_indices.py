import numpy as np
import pandas as pd
import pytest

import analysis
from analysis.indices import TABLE_COLUMNS

# --- Wilson interval -------------------------------------------------------------


@pytest.mark.parametrize(
    ("satisfied", "n", "low", "high"),
    [(80, 100, 71.1, 86.7), (8, 10, 49.0, 94.3), (10, 10, 72.2, 100.0), (0, 30, 0.0, 11.4)],
)
def test_wilson_matches_published_examples(satisfied, n, low, high):
    got_low, got_high = analysis.wilson_interval(satisfied, n)
    assert round(100 * got_low, 1) == low
    assert round(100 * got_high, 1) == high


def test_wilson_vectorised_and_empty():
    low, high = analysis.wilson_interval(np.array([80, 8, 0]), np.array([100, 10, 0]))
    assert np.round(100 * low[:2], 1).tolist() == [71.1, 49.0]
    assert np.isnan(low[2]) and np.isnan(high[2])

    s = pd.Series([10, 0], index=["x", "y"])
    low, high = analysis.wilson_interval(s, pd.Series([10, 30], index=["x", "y"]))
    assert list(low.index) == ["x", "y"]
    assert high["x"] == 1.0 and low["y"] == 0.0


def test_wilson_refuses_impossible_counts():
    with pytest.raises(ValueError):
        analysis.wilson_interval(11, 10)


# --- criterion, element and service indices --------------------------------------


def _rows(table, agency, level):
    rows = table[(table["agency_code"] == agency) & (table["level"] == level)]
    return rows.set_index("code")


def test_indices_table_by_hand(app_tally, codebook):
    table = analysis.indices_table(app_tally, codebook)
    assert list(table.columns) == TABLE_COLUMNS

    criteria = _rows(table, "A01", "criterion")
    assert criteria["n"].to_dict() == {"TC1": 4, "TC2": 5, "TT1": 3}
    assert criteria["satisfied"].to_dict() == {"TC1": 2, "TC2": 3, "TT1": 2}
    assert criteria["index"].to_dict() == pytest.approx({"TC1": 50.0, "TC2": 60.0, "TT1": 200 / 3})
    assert criteria["mean_score"].to_dict() == pytest.approx({"TC1": 3.5, "TC2": 3.2, "TT1": 4.0})
    low, high = analysis.wilson_interval(3, 5)
    assert criteria.loc["TC2", "ci_low"] == pytest.approx(100 * low)
    assert criteria.loc["TC2", "ci_high"] == pytest.approx(100 * high)

    elements = _rows(table, "A01", "element")
    assert elements["index"].to_dict() == pytest.approx({"TC": 55.0, "TT": 200 / 3})
    assert elements["n"].to_dict() == {"TC": 5, "TT": 3}
    assert elements["mean_score"].to_dict() == pytest.approx({"TC": 3.35, "TT": 4.0})
    assert elements["satisfied"].isna().all() and elements["ci_low"].isna().all()

    service = _rows(table, "A01", "service").loc["SERVICE"]
    assert service["index"] == pytest.approx((55 + 200 / 3) / 2)
    assert service["n"] == 5
    assert service["mean_score"] == pytest.approx((3.35 + 4.0) / 2)


def test_single_respondent_and_not_applicable(app_tally, codebook):
    table = analysis.indices_table(app_tally, codebook)
    criteria = _rows(table, "B02", "criterion")
    # TC2 was "not applicable": out of the denominator, so no index at all.
    assert criteria.loc["TC2", "n"] == 0 and np.isnan(criteria.loc["TC2", "index"])
    assert criteria.loc["TC1", "index"] == 100.0
    assert criteria.loc["TC1", "ci_low"] == pytest.approx(100 / (1 + 1.96**2))
    # The element mean skips the criterion without answers instead of counting it as 0.
    assert _rows(table, "B02", "element")["index"].to_dict() == {"TC": 100.0, "TT": 0.0}
    assert _rows(table, "B02", "service").loc["SERVICE", "index"] == 50.0


def test_agency_without_answers_gives_nan_not_crash(app_tally, codebook):
    table = analysis.indices_table(app_tally, codebook)
    c03 = table[table["agency_code"] == "C03"]
    assert len(c03) == 3 + 2 + 1
    assert (c03["n"] == 0).all()
    assert c03["index"].isna().all() and c03["mean_score"].isna().all()


def test_table_sorted_agency_level_code(app_tally, codebook):
    table = analysis.indices_table(app_tally, codebook)
    a01 = table[table["agency_code"] == "A01"]
    assert list(zip(a01["level"], a01["code"], strict=True)) == [
        ("criterion", "TC1"),
        ("criterion", "TC2"),
        ("criterion", "TT1"),
        ("element", "TC"),
        ("element", "TT"),
        ("service", "SERVICE"),
    ]
    assert table["agency_code"].is_monotonic_increasing


def test_items_outside_the_codebook_satisfaction_are_ignored(app_tally, codebook):
    extra = pd.DataFrame({"agency_code": ["A01"], "item_code": ["UT1"], "score": [3], "n": [40]})
    with_extra = analysis.indices_table(pd.concat([app_tally, extra]), codebook)
    pd.testing.assert_frame_equal(with_extra, analysis.indices_table(app_tally, codebook))


def test_bad_tally_is_refused(app_tally, codebook):
    with pytest.raises(ValueError, match="score"):
        analysis.criterion_indices(app_tally.assign(score=app_tally["score"] + 1), codebook)
    with pytest.raises(ValueError, match="missing columns: n"):
        analysis.criterion_indices(app_tally.drop(columns="n"), codebook)


# --- roll-up through the agency tree ---------------------------------------------

TREE = pd.DataFrame(
    {
        "code": ["P", "D1", "D2", "C1", "C2", "C3", "C4"],
        "name": ["Tỉnh", "Sở Nội vụ", "Huyện B", "Xã 1", "Xã 2", "Xã 3", "Xã 4"],
        "parent_code": [None, "P", "P", "D1", "D1", "D2", "D2"],
    }
)


def _tally(rows):
    return pd.DataFrame(rows, columns=["agency_code", "item_code", "score", "n"])


def test_rollup_three_levels():
    tally = _tally(
        [
            ("C1", "TC1", 5, 2),
            ("C2", "TC1", 5, 3),
            ("C2", "TC1", 1, 1),
            ("C3", "TC1", 4, 7),
            ("D1", "TC1", 2, 10),
        ]
    )
    rolled = analysis.rollup_tally(tally, TREE)
    rolled = rolled.set_index(["agency_code", "item_code", "score"])["n"]
    assert rolled["P", "TC1"].to_dict() == {1: 1, 2: 10, 4: 7, 5: 5}
    assert rolled["D1", "TC1"].to_dict() == {1: 1, 2: 10, 5: 5}  # own answers plus C1 and C2
    assert rolled["D2", "TC1"].to_dict() == {4: 7}
    assert rolled["C2", "TC1"].to_dict() == {1: 1, 5: 3}
    assert "C4" not in rolled.index.get_level_values(0)
    # Every answer once for its agency (23), once for the parent (23), and the
    # communes' answers once more for the province (13).
    assert rolled.sum() == 23 + 23 + 13


def test_indices_table_with_tree(codebook):
    tally = _tally([("C1", "TC1", 5, 3), ("C3", "TC1", 2, 1), ("D1", "TT1", 4, 2)])
    table = analysis.indices_table(tally, codebook, agencies=TREE)
    assert set(table["agency_code"]) == set(TREE["code"])
    province = _rows(table, "P", "criterion")
    assert province.loc["TC1", "n"] == 4 and province.loc["TC1", "index"] == 75.0
    assert _rows(table, "P", "service").loc["SERVICE", "index"] == pytest.approx((75.0 + 100.0) / 2)
    assert _rows(table, "C4", "service")["n"].tolist() == [0]


def test_rollup_refuses_cycles_and_unknown_agencies():
    cyclic = pd.DataFrame({"code": ["A", "B"], "name": ["a", "b"], "parent_code": ["B", "A"]})
    with pytest.raises(ValueError, match="cycle"):
        analysis.rollup_tally(_tally([("A", "TC1", 5, 1)]), cyclic)
    with pytest.raises(ValueError, match="not in the agency tree: X9"):
        analysis.rollup_tally(_tally([("X9", "TC1", 5, 1)]), TREE)


# --- bootstrap ---------------------------------------------------------------------


def test_bootstrap_reproducible_with_seed(responses, codebook):
    first = analysis.bootstrap_indices(responses, codebook, n_boot=200, seed=7)
    again = analysis.bootstrap_indices(responses, codebook, n_boot=200, seed=7)
    other = analysis.bootstrap_indices(responses, codebook, n_boot=200, seed=8)
    pd.testing.assert_frame_equal(first, again)
    a01 = first["agency_code"] == "A01"
    assert not np.allclose(first.loc[a01, "ci_low"], other.loc[a01, "ci_low"])


def test_bootstrap_point_and_degenerate_groups(responses, codebook):
    boot = analysis.bootstrap_indices(responses, codebook, n_boot=100).set_index(
        ["agency_code", "level", "code"]
    )
    table = analysis.indices_table(analysis.tally_from_responses(responses, codebook), codebook)
    for (agency, level, code), row in boot.iterrows():
        expected = table[
            (table["agency_code"] == agency) & (table["level"] == level) & (table["code"] == code)
        ]
        assert row["index"] == pytest.approx(expected["index"].iloc[0], nan_ok=True)
    # One respondent: every replicate is that respondent, the interval is a point.
    assert boot.loc[("B02", "element", "TC"), ["ci_low", "ci_high"]].tolist() == [100.0, 100.0]
    # No answers at all: no interval, and no warning (the suite turns warnings into errors).
    assert boot.loc[("C03", "service", "SERVICE"), ["ci_low", "ci_high"]].isna().all()


def test_bootstrap_interval_agrees_with_binomial_theory(codebook):
    # Element TT has a single criterion, so its bootstrap interval should be close to
    # the normal-theory interval of one proportion: 0.8 +/- 1.96 * sqrt(0.16 / 400).
    n = 400
    rng = np.random.default_rng(1)
    tt1 = np.r_[np.full(320, 5), np.full(80, 2)]
    frame = pd.DataFrame(
        {
            "response_id": [f"r{i}" for i in range(n)],
            "agency_code": "A01",
            "TC1": rng.integers(1, 6, n),
            "TC2": pd.array([None] * n, dtype="Int64"),
            "TT1": tt1,
        }
    )
    boot = analysis.bootstrap_indices(frame, codebook, n_boot=2000, seed=3).set_index(
        ["level", "code"]
    )
    half = 196 * np.sqrt(0.8 * 0.2 / n)
    assert boot.loc[("element", "TT"), "ci_low"] == pytest.approx(80 - half, abs=0.6)
    assert boot.loc[("element", "TT"), "ci_high"] == pytest.approx(80 + half, abs=0.6)


def test_bootstrap_feeds_indices_table(responses, codebook):
    boot = analysis.bootstrap_indices(responses, codebook, n_boot=50, seed=1)
    table = analysis.indices_table(
        analysis.tally_from_responses(responses, codebook), codebook, bootstrap=boot
    )
    plain = analysis.indices_table(analysis.tally_from_responses(responses, codebook), codebook)
    keys = ["agency_code", "level", "code"]
    pd.testing.assert_frame_equal(table[keys], plain[keys])  # the same rows, in the same order
    a01 = table[table["agency_code"] == "A01"]
    assert a01.loc[a01["level"] != "criterion", "ci_low"].notna().all()
    assert (a01["ci_low"] <= a01["index"]).all() and (a01["index"] <= a01["ci_high"]).all()


# --- ranking -----------------------------------------------------------------------


def test_rank_agencies_flags_small_samples():
    table = pd.DataFrame(
        {
            "agency_code": ["A", "B", "C", "D", "E"],
            "level": "service",
            "code": "SERVICE",
            "n": [50, 40, 10, 30, 0],
            "index": [80.0, 90.0, 99.0, 80.0, np.nan],
        }
    )
    ranked = analysis.rank_agencies(table).set_index("agency_code")
    assert ranked["rank"].dropna().to_dict() == {"B": 1, "A": 2, "D": 2}
    assert ranked.loc[["C", "E"], "rank"].isna().all()
    assert ranked["ranked"].to_dict() == {"B": True, "A": True, "D": True, "C": False, "E": False}
    assert list(ranked.index[:3]) == ["B", "A", "D"]
    assert analysis.MIN_N_FOR_RANKING == 30
    assert analysis.rank_agencies(table, min_n=5).set_index("agency_code").loc["C", "rank"] == 1


# --- answer distribution --------------------------------------------------------------


def test_answer_distribution(app_tally, codebook):
    shares = analysis.answer_distribution(app_tally, codebook, agency_code="A01")
    assert list(shares.index) == ["TC1", "TC2", "TT1"]
    assert shares.loc["TC2"].tolist() == [20.0, 20.0, 0.0, 40.0, 20.0]
    assert shares.loc["TT1", 4] == pytest.approx(100 / 3)  # the two N/A answers are left out
    assert analysis.answer_distribution(app_tally, codebook, agency_code="C03").isna().all().all()


# --- the counts array ---------------------------------------------------------------


def _random_tally(seed=0):
    rng = np.random.default_rng(seed)
    rows = [(a, i, s, int(rng.integers(1, 9)))
            for a in ["C1", "C2", "C3", "D1"] for i in ["TC1", "TC2", "TT1"] for s in range(6)
            if rng.random() < 0.6]
    return _tally(rows)


def test_counts_array_gives_the_same_tables(app_tally, codebook):
    counts = analysis.TallyCounts.from_frame(app_tally, codebook)
    assert counts.counts.shape == (len(set(app_tally["agency_code"])), 3, 6)
    pd.testing.assert_frame_equal(analysis.indices_table(counts, codebook),
                                  analysis.indices_table(app_tally, codebook))
    tally = _random_tally()
    counts = analysis.TallyCounts.from_frame(tally, codebook)
    pd.testing.assert_frame_equal(analysis.indices_table(counts, codebook, agencies=TREE),
                                  analysis.indices_table(tally, codebook, agencies=TREE))
    back = counts.to_frame()
    expected = tally.sort_values(["agency_code", "item_code", "score"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(back, expected, check_dtype=False)


def test_counts_array_sums_totals_and_rolls_up(codebook):
    tally = _random_tally(1)
    counts = analysis.TallyCounts.from_frame(tally, codebook)
    assert ((counts + counts).counts == 2 * counts.counts).all()
    whole = counts.total("*")
    assert list(whole.agencies) == ["*"] and whole.counts.sum() == tally["n"].sum()
    rolled = counts.rollup(TREE).to_frame()
    expected = analysis.rollup_tally(tally, TREE).sort_values(["agency_code", "item_code", "score"])
    pd.testing.assert_frame_equal(rolled, expected.reset_index(drop=True), check_dtype=False)
    assert "C4" in counts.rollup(TREE).agencies  # every agency of the tree, answered or not
    with pytest.raises(ValueError, match="not in the agency tree: C1"):
        counts.rollup(TREE[TREE["code"] != "C1"])


def test_element_and_service_indices_are_means_of_the_rows_below(codebook):
    table = analysis.indices_table(_random_tally(2), codebook, agencies=TREE)
    criteria = table[table["level"] == "criterion"].assign(
        element=lambda t: t["code"].str[:2])
    expected = criteria.groupby(["agency_code", "element"])["index"].mean()
    elements = table[table["level"] == "element"].set_index(["agency_code", "code"])["index"]
    np.testing.assert_allclose(elements.loc[expected.index].to_numpy(), expected.to_numpy(),
                               rtol=1e-15)
    service = table[table["level"] == "service"].set_index("agency_code")["index"]
    np.testing.assert_allclose(service.to_numpy(),
                               elements.groupby(level=0).mean().loc[service.index].to_numpy(),
                               rtol=1e-15)
