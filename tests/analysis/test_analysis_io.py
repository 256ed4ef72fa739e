import pandas as pd
import pytest

import analysis
from analysis.io import ExportFormatError


def test_read_export_types_columns(export_dir):
    responses, codebook = analysis.read_export(export_dir)

    assert list(responses["response_id"]) == ["r1", "r2", "r3", "r4", "r5", "r6", "r7"]
    assert responses["TC1"].dtype == "Int64"
    assert responses["TT1"].isna().tolist() == [False, True, False, False, True, False, True]
    assert responses["UT1"].dtype == "Int64"
    assert pd.api.types.is_datetime64_any_dtype(responses["submitted_at"])
    # Choice codes and free text stay text as written, "NA" included.
    assert responses.loc[0, "KENH_TT"] == "1;3"
    assert responses.loc[0, "GIOI_TINH"] == "1"
    assert responses.loc[2, "Y_KIEN"] == "NA"
    assert codebook["scale_max"].dtype == "Int64"
    assert list(analysis.satisfaction_items(codebook)["item_code"]) == ["TC1", "TC2", "TT1"]


def test_agency_codes_stay_strings(make_export, codebook, responses):
    directory = make_export(codebook, responses.assign(agency_code=["007"] * 7))
    read, _ = analysis.read_export(directory)
    assert read["agency_code"].tolist() == ["007"] * 7
    tally = analysis.tally_from_responses(read, codebook)
    assert set(tally["agency_code"]) == {"007"}


def test_read_responses_without_codebook_keeps_text(export_dir):
    raw = analysis.read_responses(export_dir / "responses.csv")
    assert raw.loc[0, "TC1"] == "5"
    assert pd.isna(raw.loc[1, "TT1"])


def test_tally_counts_answers_and_leaves_out_empty_cells(responses, codebook):
    tally = analysis.tally_from_responses(responses, codebook)

    assert list(tally.columns) == ["agency_code", "item_code", "score", "n"]
    counts = tally.set_index(["agency_code", "item_code", "score"])["n"]
    assert counts["A01", "TC2", 4] == 2
    # Scores 1..5; r4's empty cell is not counted at all.
    assert counts["A01", "TC1"].tolist() == [0, 1, 1, 1, 1]
    assert counts["A01", "TT1"].sum() == 3
    assert counts["B02", "TC2"].sum() == 0
    # An agency whose only form is empty still appears, with zero counts.
    assert counts["C03"].sum() == 0
    assert set(tally["score"]) == {1, 2, 3, 4, 5}


def test_tally_from_export_gives_app_tally_indices(responses, codebook, app_tally):
    from_export = analysis.indices_table(
        analysis.tally_from_responses(responses, codebook), codebook
    )
    from_app = analysis.indices_table(app_tally, codebook)
    pd.testing.assert_frame_equal(from_export, from_app)


def test_inputs_not_mutated(responses, codebook):
    before_r, before_c = responses.copy(), codebook.copy()
    analysis.tally_from_responses(responses, codebook)
    analysis.bootstrap_indices(responses, codebook, n_boot=5)
    analysis.breakdown(responses, codebook, by="KENH_TT")
    pd.testing.assert_frame_equal(responses, before_r)
    pd.testing.assert_frame_equal(codebook, before_c)


def test_choice_labels(codebook):
    assert analysis.choice_labels(codebook, "GIOI_TINH") == {"1": "Nam", "2": "Nữ", "3": "Khác"}
    assert analysis.choice_labels(codebook, "TC1") == {}


@pytest.mark.parametrize(
    ("value", "message"),
    [("abc", "'abc'"), ("6", "'6'"), ("0", "'0'"), ("4.5", "'4.5'")],
)
def test_bad_satisfaction_value_is_refused(make_export, codebook, responses, value, message):
    directory = make_export(
        codebook, responses.astype({"TC2": "str"}).assign(TC2=["4", value, "5", "1", "4", "", ""])
    )
    with pytest.raises(ExportFormatError, match=f"TC2.*{message}.*r2"):
        analysis.read_export(directory)


def test_missing_columns_are_refused(make_export, codebook, responses):
    with pytest.raises(ExportFormatError, match="missing columns: TT1"):
        analysis.read_export(make_export(codebook, responses.drop(columns="TT1"), name="a"))
    with pytest.raises(ExportFormatError, match="missing columns: review_state"):
        analysis.read_export(
            make_export(codebook, responses.drop(columns="review_state"), name="b")
        )
    with pytest.raises(ExportFormatError, match="missing columns: element_code"):
        analysis.read_export(
            make_export(codebook.drop(columns="element_code"), responses, name="c")
        )


def test_unknown_review_state_is_refused(make_export, codebook, responses):
    states = ["approved"] * 6 + ["deleted"]
    with pytest.raises(ExportFormatError, match="review_state.*deleted"):
        analysis.read_export(make_export(codebook, responses.assign(review_state=states)))


def test_codebook_on_another_scale_is_refused(make_export, codebook, responses):
    other = codebook.assign(scale_max=codebook["scale_max"].mask(codebook["item_code"] == "TC1", 7))
    with pytest.raises(ExportFormatError, match="TC1 is not on the 1-5 scale"):
        analysis.read_export(make_export(other, responses))
