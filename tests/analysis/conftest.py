"""Small hand-checkable data for the analysis tests (no application needed).

The five responses of agency A01 give, by hand:

======  ===  ===  ===
        TC1  TC2  TT1
======  ===  ===  ===
r1       5    4    3
r2       4    2    -
r3       2    5    4
r4       -    1    5
r5       3    4    -
======  ===  ===  ===

TC1: 2 of 4 satisfied = 50 %, mean 3.5;  TC2: 3 of 5 = 60 %, mean 3.2;
TT1: 2 of 3 = 66.67 %, mean 4.0.  Element TC = (50 + 60) / 2 = 55, n = 5;
element TT = 66.67, n = 3.  Service = (55 + 66.67) / 2 = 60.83.

B02 has a single respondent (TC1 = 5, TC2 empty, TT1 = 1): TC = 100, TT = 0,
service 50. C03 has one respondent who left every item empty.
"""

import pandas as pd
import pytest

# fmt: off
CODEBOOK_ROWS = [
    ("TC1", "TC", "Tiếp cận dịch vụ", "satisfaction", 1, 5, "Thông tin về thủ tục", "Information", ""),
    ("TC2", "TC", "Tiếp cận dịch vụ", "satisfaction", 1, 5, "Biển hiệu, chỉ dẫn", "Signs", ""),
    ("TT1", "TT", "Thủ tục hành chính", "satisfaction", 1, 5, "Niêm yết công khai", "Posted", ""),
    ("UT1", "UT", "Nội dung cần ưu tiên cải thiện", "priority", None, None, "Thông tin", "Information", ""),
    ("GIOI_TINH", "TTCN", "Thông tin về người trả lời", "single_choice", None, None, "Giới tính", "Gender",
     "1=Nam|2=Nữ|3=Khác"),
    ("KENH_TT", "TTCN", "Thông tin về người trả lời", "multiple_choice", None, None, "Kênh thông tin", "Channels",
     "1=Niêm yết|2=Cổng dịch vụ công|3=Hỏi công chức"),
    ("Y_KIEN", "YK", "Ý kiến khác", "text", None, None, "Ý kiến", "Comments", ""),
]

# response_id, agency, channel, review_state, TC1, TC2, TT1, UT1, GIOI_TINH, KENH_TT, Y_KIEN
RESPONSE_ROWS = [
    ("r1", "A01", "open", "approved", 5, 4, 3, 2, "1", "1;3", "Tốt"),
    ("r2", "A01", "paper", "received", 4, 2, None, 1, "2", "2", None),
    ("r3", "A01", "open", "has_issues", 2, 5, 4, 3, "2", "1", "NA"),
    ("r4", "A01", "single_use", "approved", None, 1, 5, None, "1", "3", None),
    ("r5", "A01", "api", "approved", 3, 4, None, 2, None, None, None),
    ("r6", "B02", "open", "approved", 5, None, 1, 1, "1", "2", None),
    ("r7", "C03", "paper", "rejected", None, None, None, None, None, None, None),
]
# fmt: on


@pytest.fixture
def codebook():
    columns = [
        "item_code",
        "element_code",
        "element_name",
        "type",
        "scale_min",
        "scale_max",
        "text_vi",
        "text_en",
        "choices",
    ]
    frame = pd.DataFrame(CODEBOOK_ROWS, columns=columns)
    return frame.assign(
        scale_min=frame["scale_min"].astype("Int64"),
        scale_max=frame["scale_max"].astype("Int64"),
        choices=frame["choices"].replace("", None),
    )


@pytest.fixture
def responses():
    columns = [
        "response_id",
        "agency_code",
        "channel",
        "review_state",
        "TC1",
        "TC2",
        "TT1",
        "UT1",
        "GIOI_TINH",
        "KENH_TT",
        "Y_KIEN",
    ]
    frame = pd.DataFrame(RESPONSE_ROWS, columns=columns)
    for code in ("TC1", "TC2", "TT1", "UT1"):
        frame[code] = frame[code].astype("Int64")
    frame.insert(1, "campaign", "2025-H2")
    frame.insert(4, "submitted_at", pd.Timestamp("2025-11-03T08:15:00+07:00"))
    return frame


@pytest.fixture
def app_tally():
    """The tally the application keeps for the same answers, with "not applicable"
    recorded as score 0 (r2 and r5 on TT1 chose N/A; r4 skipped TC1)."""
    # fmt: off
    rows = [
        ("A01", "TC1", 5, 1), ("A01", "TC1", 4, 1), ("A01", "TC1", 2, 1), ("A01", "TC1", 3, 1),
        ("A01", "TC2", 4, 2), ("A01", "TC2", 2, 1), ("A01", "TC2", 5, 1), ("A01", "TC2", 1, 1),
        ("A01", "TT1", 3, 1), ("A01", "TT1", 4, 1), ("A01", "TT1", 5, 1), ("A01", "TT1", 0, 2),
        ("B02", "TC1", 5, 1), ("B02", "TC2", 0, 1), ("B02", "TT1", 1, 1),
        ("C03", "TC1", 0, 1),
    ]
    # fmt: on
    return pd.DataFrame(rows, columns=["agency_code", "item_code", "score", "n"])


@pytest.fixture
def make_export(tmp_path):
    """Write an export directory the way the application does (CSV, UTF-8, empty
    cells for missing answers) and return its path."""

    def make(codebook, responses, name="export"):
        directory = tmp_path / name
        directory.mkdir(parents=True, exist_ok=True)
        codebook.to_csv(directory / "codebook.csv", index=False)
        out = responses.assign(submitted_at=responses["submitted_at"].map(lambda t: t.isoformat()))
        out.to_csv(directory / "responses.csv", index=False)
        return directory

    return make


@pytest.fixture
def export_dir(make_export, codebook, responses):
    return make_export(codebook, responses)
