"""Quality flags on constructed frames with known speeders, straight-liners, near-duplicates,
bursts, late submissions and paper disagreements (no application needed)."""

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from analysis import quality

ITEMS = [f"Q{i}" for i in range(1, 13)]  # 12 satisfaction items
T0 = datetime(2026, 3, 10, 8, 0)
OPENS, CLOSES = datetime(2026, 3, 1), datetime(2026, 4, 1)


def varied(seed: int) -> list[int]:
    """A plausible, non-constant answer pattern."""
    return [int(v) for v in np.random.default_rng(seed).integers(1, 6, size=len(ITEMS))]


def row(rid, values, *, agency="A", channel="open", duration=300, client=None, device=None,
        **extra):
    answers = {code: v for code, v in zip(ITEMS, values, strict=True) if v is not None}
    answers["COMMENT"] = "free text is ignored"
    return {"response_id": rid, "agency_code": agency, "channel": channel,
            "submitted_at": T0 + timedelta(minutes=37 * rid),
            "duration_s": duration, "client_hash": client or f"c{rid}",
            "device_hash": device or f"d{rid}", "answers": answers, **extra}


def frame(rows) -> pd.DataFrame:
    return pd.DataFrame(rows)


def ids(flags, flag=None):
    if flag is not None:
        flags = flags[flags["flag"] == flag]
    return sorted(flags["response_id"].tolist())


# --- speeders ---------------------------------------------------------------------------

def test_speeders_under_half_the_median():
    durations = [300, 320, 280, 310, 290, 305, 295, 315, 149, 151, 60, None]
    responses = frame([row(i + 1, varied(i), duration=d) for i, d in enumerate(durations)])
    # median of the 11 timed = 295; half = 147.5 → 60 is a speeder, 149 and 151 are not
    flags = quality.speeders(responses)
    assert ids(flags) == [11]
    assert "60 s" in flags["detail"].iloc[0] and "295" in flags["detail"].iloc[0]
    # configurable: at 0.6 × the median (177 s) 149 and 151 are speeders too
    assert ids(quality.speeders(responses, ratio=0.6)) == [9, 10, 11]


def test_speeders_need_enough_timed_responses():
    responses = frame([row(i, varied(i), duration=d) for i, d in enumerate([300, 10, 320], 1)])
    assert quality.speeders(responses).empty
    assert ids(quality.speeders(responses, min_n=3)) == [2]


# --- straight-lining --------------------------------------------------------------------

def test_straight_lining_ignores_not_applicable():
    responses = frame([
        row(1, [5] * 12),                       # every item 5
        row(2, [4] * 6 + [0] * 6),              # 4 everywhere, N/A elsewhere: still straight
        row(3, [4] * 11 + [5]),                 # one different answer
        row(4, [3] * 4 + [None] * 8),           # only 4 answered: too few to judge
        row(5, [0] * 12),                       # nothing substantive
    ])
    flags = quality.straight_liners(responses, ITEMS)
    assert ids(flags) == [1, 2]
    assert flags["detail"].tolist() == ["all 12 satisfaction answers are 5",
                                        "all 6 satisfaction answers are 4"]
    assert ids(quality.straight_liners(responses, ITEMS, min_items=4)) == [1, 2, 4]


# --- near-duplicates --------------------------------------------------------------------

def test_near_duplicates_within_an_agency():
    base = varied(1)
    eleven = base[:11] + [base[11] % 5 + 1]             # 11 of 12 agree: 92 %
    ten = base[:10] + [(b + 1) % 5 + 1 for b in base[10:]]  # 10 of 12 with 1 and 2: 83 %
    responses = frame([
        row(1, base), row(2, eleven), row(3, ten, agency="A"),
        row(4, base, agency="B"),                          # a copy, but in another agency
        row(5, varied(2)), row(6, varied(3)),
        row(7, [5] * 12), row(8, [5] * 12),                # identical straight-liners
    ])
    flags = quality.near_duplicates(responses, ITEMS)
    assert ids(flags) == [1, 2]
    detail = flags.set_index("response_id")["detail"]
    assert detail[1].startswith("agrees with response 2 on 11 of 12 items")
    assert detail[2].startswith("agrees with response 1 on 11 of 12 items")
    # the threshold is configurable: at 80 % response 3 joins (10 of 12 with 1 and 2)
    assert ids(quality.near_duplicates(responses, ITEMS, share=0.8)) == [1, 2, 3]


def test_near_duplicates_count_only_items_both_answered():
    base = varied(4)
    partial = base[:10] + [None, None]                   # 10 common items, all agree
    responses = frame([row(1, base), row(2, partial), row(3, base[:9] + [None] * 3)])
    assert ids(quality.near_duplicates(responses, ITEMS)) == [1, 2]       # 3: only 9 common
    assert ids(quality.near_duplicates(responses, ITEMS, min_common=9)) == [1, 2, 3]


def test_near_duplicates_in_a_large_agency_use_a_reference_sample():
    copies = varied(99)
    rows = [row(i, varied(1000 + i)) for i in range(1, 81)]
    rows += [row(100 + i, copies) for i in range(8)]   # a batch of 8 copies among 88
    responses = frame(rows)
    full = quality.near_duplicates(responses, ITEMS)
    sampled = quality.near_duplicates(responses, ITEMS, max_group=30, seed=1)
    assert set(range(100, 108)) <= set(ids(full))
    assert set(range(100, 108)) <= set(ids(sampled))
    # (random pairs rarely agree on 85 %; whatever the full comparison finds among them,
    # the sampled one finds no more)
    assert set(ids(sampled)) <= set(ids(full))


# --- bursts -----------------------------------------------------------------------------

def test_bursts_from_one_address_or_device():
    at = lambda m: T0 + timedelta(minutes=m)  # noqa: E731
    rows = []
    # five from one address within 8 minutes: a burst
    for i, m in enumerate([0, 2, 4, 6, 8], 1):
        rows.append({**row(i, varied(i), client="ip-1"), "submitted_at": at(m)})
    # four from another address within 5 minutes: not enough
    for i, m in enumerate([0, 1, 2, 3], 11):
        rows.append({**row(i, varied(i), client="ip-2"), "submitted_at": at(m)})
    # five from one device but spread over an hour
    for i, m in enumerate([0, 15, 30, 45, 60], 21):
        rows.append({**row(i, varied(i), device="dev-3"), "submitted_at": at(m)})
    # five from one device within 10 minutes exactly, from different addresses
    for i, m in enumerate([100, 102, 105, 107, 110], 31):
        rows.append({**row(i, varied(i), device="dev-4"), "submitted_at": at(m)})
    # five API calls from the case system's address: by design, not a burst
    for i, m in enumerate([0, 1, 2, 3, 4], 41):
        rows.append({**row(i, varied(i), client="case-system", channel="api"),
                     "submitted_at": at(m)})
    flags = quality.bursts(frame(rows))
    assert ids(flags) == [1, 2, 3, 4, 5, 31, 32, 33, 34, 35]
    detail = flags.set_index("response_id")["detail"]
    assert detail[1].startswith("5 submissions from one network address")
    assert detail[31].startswith("5 submissions from one device")
    # 4 within 5 minutes: only the second address (the others spread their 5 over 8–10 min)
    assert ids(quality.bursts(frame(rows), count=4, window_s=300)) == [11, 12, 13, 14]


# --- window, paper ----------------------------------------------------------------------

def test_outside_the_campaign_window():
    responses = frame([
        {**row(1, varied(1)), "submitted_at": datetime(2026, 2, 28, 23, 59)},
        {**row(2, varied(2)), "submitted_at": datetime(2026, 3, 15)},
        {**row(3, varied(3)), "submitted_at": CLOSES},
        {**row(4, varied(4), channel="paper"), "submitted_at": datetime(2026, 4, 3)},
        {**row(5, varied(5), channel="paper"), "submitted_at": datetime(2026, 2, 1)},
    ])
    flags = quality.outside_window(responses, OPENS, CLOSES)
    assert ids(flags) == [1, 3, 5]
    assert "before the campaign opened" in flags["detail"].iloc[0]
    assert "after it closed" in flags["detail"].iloc[1]


def test_paper_double_entry_disagreements():
    responses = frame([
        row(1, varied(1), channel="paper", paper_entries=[{"Q1": 4, "Q2": 5}, {"Q1": 4, "Q2": 3}]),
        row(2, varied(2), channel="paper", paper_entries=[{"Q1": 4}, {"Q1": 4}]),
        row(3, varied(3), channel="paper", paper_entries=[]),
        row(4, varied(4), paper_entries=None),
    ])
    flags = quality.paper_disagreements(responses)
    assert ids(flags) == [1]
    assert "differed on 1 item(s): Q2" in flags["detail"].iloc[0]
    assert quality.paper_disagreements(responses.drop(columns="paper_entries")).empty


# --- together ---------------------------------------------------------------------------

@pytest.fixture
def campaign():
    base = varied(7)
    rows = [row(i, varied(100 + i), duration=300 + i) for i in range(1, 13)]
    rows.append(row(13, [5] * 12, duration=30))                    # straight-liner & speeder
    rows.append(row(14, base, agency="B"))
    rows.append(row(15, base, agency="B", channel="paper", duration=None,
                    paper_entries=[{"Q1": 1}, {"Q1": 2}]))
    return frame(rows)


def test_flag_responses_and_counts(campaign):
    before = campaign.copy(deep=True)
    flags = quality.flag_responses(campaign, ITEMS, opens_at=OPENS, closes_at=CLOSES)
    assert list(flags.columns) == quality.FLAG_COLUMNS
    got = set(zip(flags["response_id"], flags["flag"], strict=True))
    assert {(13, "speeder"), (13, "straight_lining"), (14, "near_duplicate"),
            (15, "near_duplicate"), (15, "paper_disagreement")} <= got
    assert not any(f == "burst" or f == "outside_window" for _, f in got)
    pd.testing.assert_frame_equal(campaign, before)  # the input is never changed

    per = quality.flags_per_response(flags)
    assert per[13] == "speeder;straight_lining"
    assert per[15] == "near_duplicate;paper_disagreement"

    counts = quality.flag_counts(flags, campaign, by=["agency_code"]).set_index("agency_code")
    assert counts.loc["A", "responses"] == 13 and counts.loc["B", "responses"] == 2
    assert counts.loc["B", "flagged"] == 2 and counts.loc["B", "near_duplicate"] == 2
    assert counts.loc["A", "speeder"] >= 1 and counts.loc["A", "burst"] == 0


def test_thresholds_are_configurable(campaign):
    strict = quality.Thresholds(straight_min_items=13)
    flags = quality.flag_responses(campaign, ITEMS, thresholds=strict)
    assert (13, "straight_lining") not in set(zip(flags["response_id"], flags["flag"],
                                                  strict=True))
    assert quality.DEFAULTS.duplicate_share == 0.85
    assert quality.DEFAULTS.as_dict()["burst_count"] == 5


def test_no_responses_no_flags():
    empty = frame([row(1, varied(1))]).iloc[0:0]
    flags = quality.flag_responses(empty, ITEMS, opens_at=OPENS, closes_at=CLOSES)
    assert flags.empty and list(flags.columns) == quality.FLAG_COLUMNS
