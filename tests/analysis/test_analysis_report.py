"""analysis.report: the building blocks the application streams a campaign through."""

import numpy as np
import pandas as pd
import pytest

import analysis
from analysis import report


def chunks(frame, size):
    return [frame.iloc[i : i + size] for i in range(0, len(frame), size)]


def test_uncapped_sample_bootstraps_exactly_like_the_whole_frame(responses, codebook):
    sample = report.RespondentSample(codebook, cap=None, seed=0)
    for chunk in chunks(responses, 2):  # chunking must not matter
        sample.add(chunk, {"agency": chunk["agency_code"]})
    expected = analysis.bootstrap_indices(responses, codebook, n_boot=200, seed=7)
    got = sample.bootstrap("agency", 200, seed=7)
    pd.testing.assert_frame_equal(got, expected)
    assert sample.capped().empty


def test_capped_sample_is_bounded_reproducible_and_chunking_free(responses, codebook):
    def draw(size):
        sample = report.RespondentSample(codebook, cap=2, seed=3)
        for chunk in chunks(responses, size):
            sample.add(chunk, {"agency": chunk["agency_code"]})
        return sample

    one, other = draw(1), draw(4)
    frame = one.frame("agency")
    assert frame.groupby("group").size().to_dict() == {"A01": 2, "B02": 1, "C03": 1}
    pd.testing.assert_frame_equal(frame, other.frame("agency"))
    assert one.capped().to_dict("records") == [
        {"family": "agency", "group": "A01", "sampled": 2, "total": 5}
    ]


def test_families_and_list_groups(responses, codebook):
    sample = report.RespondentSample(codebook)
    everyone = pd.Series([["ALL", "A01"] if a == "A01" else ["ALL"] for a in
                          responses["agency_code"]], index=responses.index)
    sample.add(responses, {"pooled": everyone})
    assert sample.sizes().to_dict() == {("pooled", "A01"): 5, ("pooled", "ALL"): 7}
    assert sample.frame("other").empty


def test_recentre_moves_only_sampled_groups(app_tally, codebook):
    table = analysis.indices_table(app_tally, codebook)
    boot = pd.DataFrame({"agency_code": ["A01", "B02"], "level": "service", "code": "SERVICE",
                         "index": [50.0, 20.0], "ci_low": [40.0, 10.0],
                         "ci_high": [60.0, 90.0]})
    moved = report.recentre(boot, table, {"A01", "B02"}).set_index("agency_code")
    a01 = table.query("agency_code == 'A01' and level == 'service'")["index"].iloc[0]
    assert moved.loc["A01", "ci_low"] == pytest.approx(a01 - 10)
    assert moved.loc["A01", "ci_high"] == pytest.approx(a01 + 10)
    # B02's service index is 50: its interval moves up 30 points, clipped at 100.
    assert moved.loc["B02", "ci_low"] == pytest.approx(40)
    assert moved.loc["B02", "ci_high"] == 100.0
    untouched = report.recentre(boot, table, {"A01"}).set_index("agency_code")
    assert untouched.loc["B02", "ci_low"] == 10.0


def test_sum_and_relabel_tallies(app_tally):
    doubled = report.sum_tallies([app_tally, app_tally])
    assert doubled["n"].sum() == 2 * app_tally["n"].sum()
    assert len(doubled) == len(app_tally)
    whole = report.relabel_tally(app_tally, "*")
    assert set(whole["agency_code"]) == {"*"} and whole["n"].sum() == app_tally["n"].sum()
    assert report.sum_tallies([]).empty


def test_with_agencies_gives_unanswered_agencies_rows(app_tally, codebook):
    tally = report.with_agencies(app_tally, ["A01", "Z99"], codebook)
    table = analysis.indices_table(tally, codebook)
    service = table[table["level"] == "service"].set_index("agency_code")
    assert service.loc["Z99", "n"] == 0 and np.isnan(service.loc["Z99", "index"])


def test_breakdown_groups_match_analysis_breakdown(responses, codebook):
    grouped = report.breakdown_groups(responses, codebook, "KENH_TT")
    tally = analysis.tally_from_responses(grouped, codebook)
    expected = analysis.breakdown(responses, codebook, "KENH_TT")
    got = analysis.indices_table(tally, codebook)
    assert list(got["index"].fillna(-1)) == list(expected["index"].fillna(-1))


def test_summary_table_is_wide(app_tally, codebook):
    table = analysis.indices_table(app_tally, codebook)
    wide = report.summary_table(table, codebook, analysis.rank_agencies(table))
    a01 = wide.set_index("agency_code").loc["A01"]
    assert a01["TC"] == pytest.approx(55) and a01["TT"] == pytest.approx(200 / 3)
    assert a01["index"] == pytest.approx((55 + 200 / 3) / 2)
    assert list(wide.columns[:6]) == ["agency_code", "n", "index", "ci_low", "ci_high",
                                      "mean_score"]
    assert "rank" in wide and "TC_n" in wide


def test_ancestor_lists():
    tree = pd.DataFrame({"code": ["P", "C", "U"], "parent_code": [None, "P", "C"]})
    assert report.ancestor_lists(tree)["U"] == ["U", "C", "P"]


def test_blank_to_missing_reads_like_the_csv_reader():
    frame = pd.DataFrame({"response_id": [1, 2], "TC1": ["4", ""]})
    out = report.blank_to_missing(frame)
    assert out["TC1"].isna().tolist() == [False, True] and out["response_id"].tolist() == [1, 2]


def _numbered(n=90, seed=0):
    """n respondents with whole-number ids (as the database gives them) in three agencies."""
    rng = np.random.default_rng(seed)
    scores = rng.integers(1, 6, size=(n, 3)).astype(float)
    scores[rng.random((n, 3)) < 0.2] = np.nan
    return pd.DataFrame({"response_id": 7 * np.arange(1000, 1000 + n),
                         "agency_code": rng.choice(["A01", "B02", "C03"], n, p=[0.6, 0.3, 0.1]),
                         "TC1": scores[:, 0], "TC2": scores[:, 1], "TT1": scores[:, 2]})


@pytest.mark.parametrize(("cap", "buffer"), [(None, 200_000), (4, 200_000), (25, 200_000),
                                             (4, 1), (25, 7)])
def test_id_sample_keeps_what_the_respondent_sample_keeps(codebook, cap, buffer):
    frame = _numbered()
    whole = report.RespondentSample(codebook, cap=cap, seed=3)
    for chunk in chunks(frame, 10):
        whole.add(chunk, {"agency": chunk["agency_code"]})
    by_id = report.IdSample(cap=cap, seed=3)
    by_id.buffer = buffer  # a small buffer cuts back after every chunk
    for chunk in chunks(frame.sample(frac=1, random_state=2), 13):  # any order, any chunks
        by_id.add(chunk["response_id"], chunk["response_id"], "agency", chunk["agency_code"])
    chosen = by_id.ids()
    scores = frame.set_index("response_id").loc[chosen, ["TC1", "TC2", "TT1"]].to_numpy()
    groups = by_id.groups("agency", chosen)
    rebuilt = pd.concat([pd.DataFrame(scores[rows], columns=["TC1", "TC2", "TT1"]).assign(group=g)
                         for g, rows in sorted(groups.items())], ignore_index=True)
    expected = whole.frame("agency")
    pd.testing.assert_frame_equal(rebuilt[expected.columns], expected, check_dtype=False)
    pd.testing.assert_frame_equal(by_id.capped(), whole.capped(), check_dtype=False)
    if cap == 4:
        assert by_id.capped()["group"].tolist() == ["A01", "B02", "C03"]
    # And the intervals drawn from them are the same.
    got = analysis.bootstrap_groups(scores, groups, ["TC", "TC", "TT"], n_boot=50, seed=1)
    pd.testing.assert_frame_equal(got.rename(columns={"group": "agency_code"}),
                                  whole.bootstrap("agency", 50, seed=1))


def test_sample_keys_depend_on_the_seed_and_id_only():
    ids = pd.Series([5, 17, 123456789])
    keys = report.sample_keys(ids, seed=0)
    assert keys.dtype == np.uint64 and len(set(keys)) == 3
    # An id read from an export file as text ranks as the database's number.
    assert (report.sample_keys(ids.astype(str), seed=0) == keys).all()
    assert (report.sample_keys(ids[::-1], seed=0) == keys[::-1]).all()
    assert not (report.sample_keys(ids, seed=1) == keys).any()
    assert len(set(report.sample_keys(pd.Series(["r1", "r2"]), seed=0))) == 2
