import numpy as np
import pandas as pd
import pytest

import analysis


def _one_item_tally(agency, satisfied, n):
    return pd.DataFrame(
        {
            "agency_code": agency,
            "item_code": "TC1",
            "score": [5, 2],
            "n": [satisfied, n - satisfied],
        }
    )


def test_change_between_criteria_two_proportion_test(codebook):
    before = analysis.indices_table(
        pd.concat([_one_item_tally("A", 80, 100), _one_item_tally("B", 80, 100)]), codebook
    )
    after = analysis.indices_table(
        pd.concat([_one_item_tally("A", 60, 100), _one_item_tally("B", 70, 100)]), codebook
    )
    change = analysis.change_between(before, after).set_index(["agency_code", "level", "code"])

    # A: pooled p = 0.7, z = -0.2 / sqrt(0.21 * 0.02) = -3.09 -> beyond noise.
    a = change.loc[("A", "criterion", "TC1")]
    assert a["change"] == pytest.approx(-20.0)
    assert a["significant"] and a["method"] == "two_proportion_z"
    # B: ten points down, yet pooled p = 0.75, z = -0.1 / sqrt(0.1875 * 0.02) = -1.63 -> within noise.
    assert not change.loc[("B", "criterion", "TC1"), "significant"]
    # Items without answers on either side are not tested.
    untested = change.loc[("A", "criterion", "TT1")]
    assert not untested["significant"] and pd.isna(untested["method"])


def test_change_between_elements_bootstrap_or_normal():
    def table(index, n, low, high):
        return pd.DataFrame(
            {
                "agency_code": ["A", "A"],
                "level": ["element", "service"],
                "code": ["TC", "SERVICE"],
                "n": [n, n],
                "satisfied": pd.array([pd.NA, pd.NA], dtype="Int64"),
                "index": [index, index],
                "ci_low": [low, np.nan],
                "ci_high": [high, np.nan],
                "mean_score": [4.0, 4.0],
            }
        )

    change = analysis.change_between(
        table(80.0, 400, 76.0, 84.0), table(85.0, 400, 83.0, 87.0)
    ).set_index("level")
    # Intervals 76-84 and 83-87 overlap: not significant by the bootstrap rule ...
    assert change.loc["element", "method"] == "bootstrap_overlap"
    assert not change.loc["element", "significant"]
    # ... while the normal approximation (z = 0.05 / 0.0267 = 1.87) is also not, just.
    assert change.loc["service", "method"] == "normal_approx"
    assert not change.loc["service", "significant"]

    bigger = analysis.change_between(
        table(80.0, 600, 77.0, 83.0), table(85.0, 600, 83.5, 86.5)
    ).set_index("level")
    assert bigger.loc["element", "significant"]  # 83 < 83.5: apart
    assert bigger.loc["service", "significant"]  # z = 2.29
    assert bigger.loc["service", "change"] == pytest.approx(5.0)


def test_exclude_rejected_keeps_flagged(responses):
    kept = analysis.exclude_rejected(responses)
    # r7 was rejected and goes; r3 only has issues and stays.
    assert list(kept["response_id"]) == ["r1", "r2", "r3", "r4", "r5", "r6"]


def test_breakdown_by_channel(responses, codebook):
    table = analysis.breakdown(responses, codebook, by="channel")
    assert list(table.columns) == ["channel", *analysis.TABLE_COLUMNS[1:]]
    tc1 = table[(table["level"] == "criterion") & (table["code"] == "TC1")].set_index("channel")
    # open: r1 5, r3 2, r6 5 -> 2 of 3; paper: r2 4 (r7 empty) -> 1 of 1.
    assert tc1.loc["open", "n"] == 3 and tc1.loc["open", "index"] == pytest.approx(200 / 3)
    assert tc1.loc["paper", "index"] == 100.0
    assert tc1.loc["single_use", "n"] == 0


def test_breakdown_by_profile_items(responses, codebook):
    gender = analysis.breakdown(responses, codebook, by="GIOI_TINH")
    # r5 and r7 did not give their gender: left out.
    assert sorted(gender["GIOI_TINH"].unique()) == ["1", "2"]
    tt1 = gender[gender["code"] == "TT1"].set_index("GIOI_TINH")
    assert tt1.loc["1", "n"] == 3 and tt1.loc["1", "satisfied"] == 1  # r1 3, r4 5, r6 1

    # Multiple choice: r1 ("1;3") counts under both 1 and 3.
    channels = analysis.breakdown(responses, codebook, by="KENH_TT")
    tc1 = channels[channels["code"] == "TC1"].set_index("KENH_TT")
    assert tc1["n"].to_dict() == {"1": 2, "2": 2, "3": 1}  # 1: r1, r3; 2: r2, r6; 3: r1 (r4 empty)


def test_breakdown_with_bootstrap(responses, codebook):
    table = analysis.breakdown(responses, codebook, by="channel", n_boot=50, seed=2)
    service = table[table["level"] == "service"].set_index("channel")
    assert service.loc["open", ["ci_low", "ci_high"]].notna().all()


def test_breakdown_unknown_column(responses, codebook):
    with pytest.raises(ValueError, match="no column 'TUOI'"):
        analysis.breakdown(responses, codebook, by="TUOI")
