"""Data-quality flags for the auditor: records worth a second look, never verdicts.

Each function takes a frame of one campaign's responses and returns the long flag table
``response_id, flag, detail, kind, args`` (one row per flagged response and flag). Nothing
is removed or changed: flags feed the review (received → approved / has issues /
rejected), which a person decides.

``detail`` is the English sentence; ``kind`` (a key of ``DETAIL_TEXT``) and ``args`` (its
parameters, plain numbers, texts and times) say the same as data, so that an application
can word it in its own language and number format (``describe`` gives the English).

The input frame (``analysis.load_audit.quality_frame`` builds it from the database) has
the columns

- ``response_id`` (int), ``agency_code``, ``channel`` (``kinds.CHANNELS``),
- ``submitted_at`` (naive UTC timestamps), ``duration_s`` (seconds from opening the form
  to submitting it; missing for paper),
- ``client_hash``, ``device_hash`` (keyed hashes of the network address and of the
  browser's cookie; never the raw values),
- ``answers`` (dict item code → stored value: satisfaction 1–5, 0 = not applicable),
- optionally ``paper_entries`` (list of the clerks' keyed answer dicts, for a paper form
  entered twice).

Flags and their thresholds (``Thresholds``; every function also takes them as keyword
arguments):

``speeder``
    ``duration_s`` under ``speeder_ratio`` (0.5) × the campaign's median duration. Needs at
    least ``speeder_min_n`` (10) timed responses, else the median means little.
``straight_lining``
    the same answer to every satisfaction item answered, not-applicable ignored, when at
    least ``straight_min_items`` (5) items were answered.
``near_duplicate``
    within one agency, another response agreeing on at least ``duplicate_share`` (85 %) of
    the satisfaction items both answered (not applicable counts as an answer: copying a
    form copies its N/A marks), with at least ``duplicate_min_common`` (10) such items.
    Straight-lined responses are left out (two all-5 forms are identical without being
    copies; they carry their own flag). Cost is O(n²) per agency, done as blocked matrix
    products; above ``duplicate_max_group`` (3000) responses in one agency every response
    is compared with a random reference sample of that size (seed ``duplicate_seed``), so
    a copy is found when any of its twins is in the sample — near certain for a batch of
    copies, not for a single pair.
``burst``
    ``burst_count`` (5) or more submissions from one network address or one device within
    ``burst_window_s`` (600 s). Only the citizen channels where one device is one person
    (open link, single-use link, invitation): paper has no address, API calls all come
    from the case system, and a kiosk is one device for citizen after citizen by design —
    a busy counter would be flagged all day (its own measure is ``kiosk_pace``).
``kiosk_pace``
    on the kiosk channel, a submission less than ``kiosk_min_gap_s`` (60 s) after the
    previous one from the same kiosk (``device_hash``): faster than one citizen after
    another can read and answer the form. The later of the two is flagged.
``outside_window``
    submitted before the campaign opened, or (except paper, which may be entered after
    the round closes) at or after it closed.
``paper_disagreement``
    a paper form keyed twice with different values, settled by a supervisor.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from .kinds import CITIZEN_CHANNELS, KIOSK

__all__ = [
    "DEFAULTS",
    "DETAIL_TEXT",
    "FLAGS",
    "FLAG_COLUMNS",
    "Thresholds",
    "bursts",
    "describe",
    "flag_counts",
    "flag_responses",
    "flags_per_response",
    "kiosk_pace",
    "near_duplicates",
    "outside_window",
    "paper_disagreements",
    "satisfaction_matrix",
    "speeders",
    "straight_liners",
]

FLAGS = ("speeder", "straight_lining", "near_duplicate", "burst", "kiosk_pace",
         "outside_window", "paper_disagreement")
#: The channels the burst flag looks at: a kiosk is one device shared by many citizens.
BURST_CHANNELS = tuple(c for c in CITIZEN_CHANNELS if c != KIOSK)
FLAG_COLUMNS = ["response_id", "flag", "detail", "kind", "args"]

#: The English wording of each kind of detail, over its ``args``.
DETAIL_TEXT = {
    "speeder": "{duration:.0f} s, under {ratio:g} × the median {median:g} s",
    "straight_lining": "all {items} satisfaction answers are {value}",
    "near_duplicate": ("agrees with response {partner} on {agree} of {common} items "
                       "answered by both ({share:.0f} %)"),
    "near_duplicate_group": ("agrees with response {partner} on {agree} of {common} items "
                             "answered by both ({share:.0f} %); {count} similar responses "
                             "in {agency}"),
    "burst_address": ("{count} submissions from one network address (#{key}) "
                      "within {minutes:.0f} min"),
    "burst_device": "{count} submissions from one device (#{key}) within {minutes:.0f} min",
    "kiosk_pace": ("{gap:.0f} s after the previous submission on the same kiosk (#{key}), "
                   "under {min_gap:g} s"),
    "before_opening": ("submitted {at:%Y-%m-%d %H:%M} UTC, before the campaign opened "
                       "({opens:%Y-%m-%d %H:%M})"),
    "after_closing": ("submitted {at:%Y-%m-%d %H:%M} UTC, after it closed "
                      "({closes:%Y-%m-%d %H:%M})"),
    "paper_disagreement": ("{entries} entries differed on {n} item(s): {items}; settled by "
                           "a supervisor"),
}


def describe(kind: str, args: dict) -> str:
    """A flag's detail in English (``DETAIL_TEXT``)."""
    return DETAIL_TEXT[kind].format(**args)


@dataclass(frozen=True)
class Thresholds:
    """Every configurable threshold of the flags, with the defaults documented above."""

    speeder_ratio: float = 0.5
    speeder_min_n: int = 10
    straight_min_items: int = 5
    duplicate_share: float = 0.85
    duplicate_min_common: int = 10
    duplicate_max_group: int = 3000
    duplicate_seed: int = 0
    burst_count: int = 5
    burst_window_s: int = 600
    kiosk_min_gap_s: float = 60

    def as_dict(self) -> dict:
        return asdict(self)


DEFAULTS = Thresholds()


def _empty() -> pd.DataFrame:
    return pd.DataFrame({"response_id": pd.Series(dtype="int64"),
                         "flag": pd.Series(dtype="str"), "detail": pd.Series(dtype="str"),
                         "kind": pd.Series(dtype="str"), "args": pd.Series(dtype="object")})


def _table(ids, flag: str, details) -> pd.DataFrame:
    """`details`: a (kind, args) pair per id."""
    if len(ids) == 0:
        return _empty()
    details = list(details)
    return pd.DataFrame({"response_id": np.asarray(ids, dtype="int64"), "flag": flag,
                         "detail": [describe(kind, args) for kind, args in details],
                         "kind": [kind for kind, _ in details],
                         "args": [args for _, args in details]})


def satisfaction_matrix(responses: pd.DataFrame, items) -> np.ndarray:
    """The satisfaction answers as floats (rows: responses, columns: ``items``): 1–5,
    0 for not applicable, NaN where unanswered or not a valid score."""
    items = list(items)
    if not len(responses) or not items:
        return np.full((len(responses), len(items)), np.nan)
    wide = pd.DataFrame(list(responses["answers"]), columns=items)
    values = np.array(wide.apply(pd.to_numeric, errors="coerce"), dtype="float64")
    values[(values < 0) | (values > 5) | (values != np.round(values))] = np.nan
    return values


# --- speeders ---------------------------------------------------------------------------

def speeders(responses: pd.DataFrame, *, ratio: float = DEFAULTS.speeder_ratio,
             min_n: int = DEFAULTS.speeder_min_n) -> pd.DataFrame:
    durations = pd.to_numeric(responses["duration_s"], errors="coerce")
    timed = durations.dropna()
    if len(timed) < min_n:
        return _empty()
    median = float(timed.median())
    hit = (durations < ratio * median).fillna(False).to_numpy(dtype=bool)
    return _table(responses["response_id"].to_numpy()[hit], "speeder", (
        ("speeder", {"duration": float(d), "ratio": float(ratio), "median": median})
        for d in durations[hit]))


# --- straight-lining --------------------------------------------------------------------

def _straight_mask(matrix: np.ndarray, min_items: int) -> tuple[np.ndarray, np.ndarray]:
    scored = np.where(matrix >= 1, matrix, np.nan)
    n = np.sum(~np.isnan(scored), axis=1)
    with np.errstate(all="ignore"):
        low = np.nanmin(np.where(n[:, None] > 0, scored, 0), axis=1)
        high = np.nanmax(np.where(n[:, None] > 0, scored, 0), axis=1)
    return (n >= min_items) & (low == high), n


def straight_liners(responses: pd.DataFrame, items, *,
                    min_items: int = DEFAULTS.straight_min_items) -> pd.DataFrame:
    matrix = satisfaction_matrix(responses, items)
    mask, n = _straight_mask(matrix, min_items)
    if not mask.any():
        return _empty()
    rows = np.flatnonzero(mask)
    value = np.nanmax(np.where(matrix >= 1, matrix, np.nan)[rows], axis=1)
    return _table(responses["response_id"].to_numpy()[rows], "straight_lining", (
        ("straight_lining", {"items": int(k), "value": int(v)})
        for k, v in zip(n[rows], value, strict=True)))


# --- near-duplicates --------------------------------------------------------------------

_BLOCK = 512


def _one_hot(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    answered = (~np.isnan(matrix)).astype("float32")
    hot = np.concatenate([(matrix == v).astype("float32") for v in range(6)], axis=1)
    return hot, answered


def near_duplicates(responses: pd.DataFrame, items, *,
                    share: float = DEFAULTS.duplicate_share,
                    min_common: int = DEFAULTS.duplicate_min_common,
                    max_group: int = DEFAULTS.duplicate_max_group,
                    seed: int = DEFAULTS.duplicate_seed,
                    straight_min_items: int = DEFAULTS.straight_min_items) -> pd.DataFrame:
    if not len(responses):
        return _empty()
    matrix = satisfaction_matrix(responses, items)
    straight, _ = _straight_mask(matrix, straight_min_items)
    ids = responses["response_id"].to_numpy(dtype="int64")
    agencies = responses["agency_code"].astype("str").to_numpy()
    out_ids, out_details = [], []
    for agency in sorted(set(agencies)):
        rows = np.flatnonzero((agencies == agency) & ~straight)
        rows = rows[np.argsort(ids[rows], kind="stable")]
        if len(rows) < 2:
            continue
        found = _duplicates_in_group(matrix[rows], ids[rows], share, min_common, max_group,
                                     seed)
        for rid, (partner, agree, common, count) in sorted(found.items()):
            out_ids.append(rid)
            args = {"partner": partner, "agree": agree, "common": common,
                    "share": 100 * agree / common}
            if count > 1:
                out_details.append(("near_duplicate_group",
                                    {**args, "count": count, "agency": agency}))
            else:
                out_details.append(("near_duplicate", args))
    return _table(out_ids, "near_duplicate", out_details)


def _duplicates_in_group(matrix, ids, share, min_common, max_group, seed) -> dict:
    """{response id: (best partner, agreeing items, common items, number of partners)}.

    Rows are in response-id order, so ties go to the lowest partner id."""
    n = len(ids)
    hot, answered = _one_hot(matrix)
    sampled = n > max_group
    ref = (np.sort(np.random.default_rng(seed).choice(n, size=max_group, replace=False))
           if sampled else np.arange(n))
    in_ref = np.zeros(n, dtype=bool)
    in_ref[ref] = True
    hot_ref, answered_ref = hot[ref].T, answered[ref].T
    best_share = np.full(n, -1.0)
    best_partner = np.full(n, -1, dtype="int64")
    best_agree = np.zeros(n, dtype="int64")
    best_common = np.zeros(n, dtype="int64")
    counts = np.zeros(n, dtype="int64")

    def offer(rows, partners, agree, common):
        ratio = agree / common
        better = (ratio > best_share[rows]) | (
            (ratio == best_share[rows]) & (ids[partners] < ids[best_partner[rows]]))
        rows, partners = rows[better], partners[better]
        best_share[rows], best_partner[rows] = ratio[better], partners
        best_agree[rows], best_common[rows] = agree[better], common[better]

    for start in range(0, n, _BLOCK):
        block = np.arange(start, min(start + _BLOCK, n))
        agree = hot[block] @ hot_ref
        common = answered[block] @ answered_ref
        match = (common >= min_common) & (agree >= share * common - 1e-6)
        match &= block[:, None] != ref[None, :]
        if not match.any():
            continue
        counts[block] += match.sum(axis=1)
        ratio = np.where(match, agree / np.maximum(common, 1), -1.0)
        hit = np.flatnonzero(match.any(axis=1))
        col = ratio[hit].argmax(axis=1)
        offer(block[hit], ref[col], agree[hit, col].astype("int64"),
              common[hit, col].astype("int64"))
        if sampled:
            # A sampled response matched by one outside the sample is flagged too.
            outside = match & ~in_ref[block][:, None]
            counts[ref] += outside.sum(axis=0)
            cols = np.flatnonzero(outside.any(axis=0))
            if len(cols):
                masked = np.where(outside[:, cols], ratio[:, cols], -1.0)
                row = masked.argmax(axis=0)
                offer(ref[cols], block[row], agree[row, cols].astype("int64"),
                      common[row, cols].astype("int64"))
    return {int(ids[r]): (int(ids[best_partner[r]]), int(best_agree[r]),
                          int(best_common[r]), int(counts[r]))
            for r in np.flatnonzero(best_partner >= 0)}


# --- bursts -----------------------------------------------------------------------------

def _seconds(values: pd.Series) -> np.ndarray:
    stamps = pd.to_datetime(values, format="ISO8601")
    return stamps.to_numpy(dtype="datetime64[s]").astype("int64")


def bursts(responses: pd.DataFrame, *, count: int = DEFAULTS.burst_count,
           window_s: int = DEFAULTS.burst_window_s,
           channels=BURST_CHANNELS) -> pd.DataFrame:
    citizen = responses[responses["channel"].isin(channels)]
    found: dict[int, tuple] = {}
    for column, what in (("client_hash", "burst_address"), ("device_hash", "burst_device")):
        keyed = citizen[citizen[column].notna()]
        sizes = keyed[column].value_counts()
        heavy = keyed[keyed[column].isin(sizes.index[sizes >= count])]
        for key, group in heavy.groupby(column, sort=True):
            times = _seconds(group["submitted_at"])
            order = np.lexsort((group["response_id"].to_numpy(), times))
            times, rids = times[order], group["response_id"].to_numpy()[order]
            starts = np.searchsorted(times, times - window_s, side="left")
            ends = np.flatnonzero(np.arange(len(times)) - starts + 1 >= count)
            if not len(ends):
                continue
            cover = np.zeros(len(times) + 1, dtype="int64")
            np.add.at(cover, starts[ends], 1)
            np.add.at(cover, ends + 1, -1)
            marked = np.cumsum(cover[:-1]) > 0
            # Consecutive marked submissions form one burst, described as a whole.
            edges = np.flatnonzero(np.diff(np.concatenate([[0], marked.astype(int), [0]])))
            for first, stop in zip(edges[::2], edges[1::2], strict=True):
                span = (times[stop - 1] - times[first]) / 60
                text = (what, {"count": int(stop - first), "key": str(key)[:8],
                               "minutes": float(span)})
                for rid in rids[first:stop]:
                    found.setdefault(int(rid), text)
    ids = sorted(found)
    return _table(ids, "burst", (found[i] for i in ids))


# --- a kiosk's pace ----------------------------------------------------------------------

def kiosk_pace(responses: pd.DataFrame, *,
               min_gap_s: float = DEFAULTS.kiosk_min_gap_s) -> pd.DataFrame:
    kiosk = responses[(responses["channel"] == KIOSK) & responses["device_hash"].notna()]
    ids, details = [], []
    for key, group in kiosk.groupby("device_hash", sort=True):
        times = _seconds(group["submitted_at"])
        order = np.lexsort((group["response_id"].to_numpy(), times))
        times, rids = times[order], group["response_id"].to_numpy()[order]
        gaps = np.diff(times)
        for k in np.flatnonzero(gaps < min_gap_s):
            ids.append(int(rids[k + 1]))
            details.append(("kiosk_pace", {"gap": float(gaps[k]), "key": str(key)[:8],
                                           "min_gap": float(min_gap_s)}))
    order = np.argsort(ids, kind="stable")
    return _table([ids[i] for i in order], "kiosk_pace", [details[i] for i in order])


# --- the campaign window ----------------------------------------------------------------

def outside_window(responses: pd.DataFrame, opens_at, closes_at) -> pd.DataFrame:
    at = pd.to_datetime(responses["submitted_at"], format="ISO8601")
    opens, closes = pd.Timestamp(opens_at), pd.Timestamp(closes_at)
    early = at < opens
    late = (at >= closes) & (responses["channel"] != "paper")
    hit = (early | late).to_numpy(dtype=bool)
    chosen = responses.loc[hit]
    return _table(chosen["response_id"], "outside_window", (
        ("before_opening", {"at": t.to_pydatetime(), "opens": opens.to_pydatetime()})
        if t < opens else
        ("after_closing", {"at": t.to_pydatetime(), "closes": closes.to_pydatetime()})
        for t in at[hit]))


# --- paper double entry -----------------------------------------------------------------

def paper_disagreements(responses: pd.DataFrame) -> pd.DataFrame:
    if "paper_entries" not in responses.columns:
        return _empty()
    ids, details = [], []
    for rid, entries in zip(responses["response_id"], responses["paper_entries"], strict=True):
        if not isinstance(entries, list | tuple) or len(entries) < 2:
            continue
        codes = sorted({code for e in entries for code in e}
                       - {code for code in entries[0]
                          if all(e.get(code) == entries[0].get(code) for e in entries)})
        if codes:
            ids.append(rid)
            shown = ", ".join(codes[:8]) + (" …" if len(codes) > 8 else "")
            details.append(("paper_disagreement",
                            {"entries": len(entries), "n": len(codes), "items": shown}))
    return _table(ids, "paper_disagreement", details)


# --- all together -----------------------------------------------------------------------

def flag_responses(responses: pd.DataFrame, items, *, opens_at=None, closes_at=None,
                   thresholds: Thresholds = DEFAULTS) -> pd.DataFrame:
    """Every flag of every response: ``response_id, flag, detail``, sorted."""
    t = thresholds
    parts = [
        speeders(responses, ratio=t.speeder_ratio, min_n=t.speeder_min_n),
        straight_liners(responses, items, min_items=t.straight_min_items),
        near_duplicates(responses, items, share=t.duplicate_share,
                        min_common=t.duplicate_min_common, max_group=t.duplicate_max_group,
                        seed=t.duplicate_seed, straight_min_items=t.straight_min_items),
        bursts(responses, count=t.burst_count, window_s=t.burst_window_s),
        kiosk_pace(responses, min_gap_s=t.kiosk_min_gap_s),
        paper_disagreements(responses),
    ]
    if opens_at is not None and closes_at is not None:
        parts.append(outside_window(responses, opens_at, closes_at))
    parts = [p for p in parts if len(p)]
    if not parts:
        return _empty()
    order = {flag: i for i, flag in enumerate(FLAGS)}
    table = pd.concat(parts, ignore_index=True)
    table = table.assign(_o=table["flag"].map(order)).sort_values(["response_id", "_o"])
    return table.drop(columns="_o").reset_index(drop=True)


def flags_per_response(flags: pd.DataFrame) -> pd.Series:
    """Flag names per response id, ';'-joined in FLAGS order (as audit.csv writes them)."""
    if not len(flags):
        return pd.Series(dtype="str", name="flags")
    order = {flag: i for i, flag in enumerate(FLAGS)}
    ranked = flags.assign(_o=flags["flag"].map(order)).sort_values(["response_id", "_o"])
    return ranked.groupby("response_id")["flag"].agg(";".join).rename("flags")


def flag_counts(flags: pd.DataFrame, responses: pd.DataFrame, by=("agency_code",)
                ) -> pd.DataFrame:
    """Per group of ``by`` (columns of ``responses``): responses, responses with any flag,
    and how many carry each flag."""
    by = list(by)
    base = responses.groupby(by, dropna=False).size().rename("responses")
    merged = flags.merge(responses[["response_id", *by]], on="response_id", how="inner")
    flagged = merged.groupby(by, dropna=False)["response_id"].nunique().rename("flagged")
    per_flag = (merged.groupby([*by, "flag"], dropna=False).size().unstack("flag")
                if len(merged) else pd.DataFrame(index=base.index))
    per_flag = per_flag.reindex(columns=list(FLAGS))
    table = pd.concat([base, flagged, per_flag], axis=1).fillna(0).astype("int64")
    return table.reset_index()
