"""A campaign's responses read from the database: counted per agency and channel, as
(id, agency) pairs, their satisfaction answers by id, or whole in the export format
(corrections applied), a chunk at a time."""

from __future__ import annotations

import json
from collections.abc import Iterator

import numpy as np
import pandas as pd
from sqlalchemy import text

from .io import META_COLUMNS, satisfaction_items
from .kinds import export_value
from .load_sql import (
    LATEST_REVIEW,
    _campaign_of_id_range,
    _fetch,
    _frame,
    _stream,
    apply_corrections,
    corrections,
)

#: Responses per agency and channel: counted per (agency_id, channel) from the
#: (campaign_id, agency_id, channel) index alone, in its order, and only then joined to the
#: agencies' codes, so no response row is read and no per-row join is made.
CHANNEL_COUNTS = """
    SELECT a.code AS agency_code, s.channel, s.n
    FROM (SELECT agency_id, channel, count(*) AS n FROM response WHERE campaign_id = :c
          GROUP BY agency_id, channel) s
    JOIN agency a ON a.id = s.agency_id ORDER BY a.code, s.channel"""

#: Rejected responses per agency and channel, read from the reviews (their latest state)
#: rather than by joining every response to them.
REJECTED_COUNTS = f"""
    SELECT a.code AS agency_code, r.channel, count(*) AS rejected
    FROM ({LATEST_REVIEW}) rv JOIN response r ON r.id = rv.response_id
    JOIN agency a ON a.id = r.agency_id
    WHERE rv.state = 'rejected' AND r.campaign_id = :c GROUP BY a.code, r.channel"""


def channel_counts(conn, campaign_id: int) -> pd.DataFrame:
    """Responses per agency and channel (``agency_code, channel, n, rejected``, sorted),
    ``rejected`` being how many of them were rejected at review (their latest review)."""
    counts = _frame(conn, CHANNEL_COUNTS, {"c": campaign_id}, ["agency_code", "channel", "n"])
    rejected = _frame(conn, REJECTED_COUNTS, {"c": campaign_id},
                      ["agency_code", "channel", "rejected"])
    out = counts.merge(rejected, how="left", on=["agency_code", "channel"])
    return out.assign(rejected=out["rejected"].fillna(0)).astype(
        {"agency_code": "str", "channel": "str", "n": "int64", "rejected": "int64"})


#: A campaign's (id, agency_id) pairs, from the (campaign_id, agency_id, channel) index
#: alone (SQLite keeps the rowid in every index, PostgreSQL's index INCLUDEs the id).
RESPONSE_AGENCIES = "SELECT id, agency_id FROM response WHERE campaign_id = :c"


def response_agencies(conn, campaign_id: int, *, exclude_rejected: bool = False,
                      chunk_size: int = 200_000) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The ids and agency codes of a campaign's responses, a chunk at a time, in no
    particular order: two integers a response, read from the (campaign, agency, channel)
    index without touching the answers. With ``exclude_rejected``, responses whose latest
    review is "rejected" are left out."""
    agency_rows, _ = _fetch(conn, "SELECT id, code FROM agency")
    codes = np.empty(max((i for i, _ in agency_rows), default=0) + 1, dtype=object)
    for agency_id, code in agency_rows:
        codes[agency_id] = code
    rejected = np.array([], dtype="int64")
    if exclude_rejected:
        rows, _ = _fetch(conn, f"""
            SELECT rv.response_id FROM ({LATEST_REVIEW}) rv
            JOIN response r ON r.id = rv.response_id
            WHERE rv.state = 'rejected' AND r.campaign_id = :c""", {"c": campaign_id})
        rejected = np.array([r[0] for r in rows], dtype="int64")
    for rows in _stream(conn, RESPONSE_AGENCIES, {"c": campaign_id}, chunk_size):
        pairs = np.array(rows, dtype="int64").reshape(-1, 2)
        if len(rejected):
            pairs = pairs[~np.isin(pairs[:, 0], rejected)]
        if len(pairs):
            yield pairs[:, 0], codes[pairs[:, 1]]


def satisfaction_answers(conn, ids, book: pd.DataFrame, chunk_size: int = 5_000) -> np.ndarray:
    """The satisfaction answers of the responses ``ids`` (sorted, unique): one row per id
    in that order, one column per satisfaction item of ``book``, NaN where an item has
    no 1..5 answer (not applicable or left empty), as the export reads them."""
    items = [str(c) for c in satisfaction_items(book)["item_code"]]
    ids = np.asarray(ids, dtype="int64")
    out = np.full((len(ids), len(items)), np.nan)
    decode = json.JSONDecoder().decode
    for start in range(0, len(ids), chunk_size):
        chunk = ids[start:start + chunk_size]
        # The ids are integers from the database, written into the statement as such: one
        # statement whatever their number, on SQLite and PostgreSQL alike.
        rows, _ = _fetch(conn, "SELECT id, answers FROM response WHERE id IN ("
                         + ",".join(str(int(i)) for i in chunk) + ")")
        if not rows:
            continue
        # One parse of the chunk's answers as a JSON array: much faster than one a row.
        parsed = decode("[" + ",".join(r[1] for r in rows) + "]")
        # Effective answers: the (rare) corrections of these responses applied in order.
        fixes = corrections(conn, ids=[r[0] for r in rows])
        if fixes:
            parsed = [apply_corrections(a, fixes[r[0]]) if r[0] in fixes else a
                      for r, a in zip(rows, parsed, strict=True)]
        values = [[*map(a.get, items)] for a in parsed]
        try:
            block = np.array(values, dtype="float64")  # None (no answer) becomes NaN
        except (TypeError, ValueError):
            block = np.array([[v if isinstance(v, int | float) and not isinstance(v, bool)
                               else np.nan for v in row] for row in values], dtype="float64")
        block[~np.isin(block, (1, 2, 3, 4, 5))] = np.nan
        out[np.searchsorted(ids, [r[0] for r in rows])] = block
    return out


def iter_responses(conn, campaign_id: int, book: pd.DataFrame,
                   chunk_size: int = 20_000) -> Iterator[pd.DataFrame]:
    """The campaign's responses in the export format, a chunk at a time (by id), with
    their effective answers (corrections applied)."""
    kinds = list(zip(book["item_code"], book["type"], strict=True))
    last = 0
    while True:
        rows = conn.execute(text(f"""
            SELECT r.id, c.code AS campaign, a.code AS agency_code, r.channel,
                   r.submitted_at, coalesce(rv.state, 'received') AS review_state, r.answers
            FROM response r JOIN campaign c ON c.id = r.campaign_id
            JOIN agency a ON a.id = r.agency_id
            LEFT JOIN ({LATEST_REVIEW}) rv ON rv.response_id = r.id
            WHERE {_campaign_of_id_range(conn)} = :c AND r.id > :last
            ORDER BY r.id LIMIT :n"""),
            {"c": campaign_id, "last": last, "n": chunk_size}).all()
        if not rows:
            return
        last = rows[-1][0]
        yield _export_frame(rows, corrections(conn, campaign_id, rows[0][0], rows[-1][0]),
                            kinds)


def _export_frame(rows, fixes: dict, kinds: list) -> pd.DataFrame:
    """Rows (id, campaign, agency, channel, submitted_at, review state, answers) in the
    export format, corrections applied."""
    out = []
    for rid, camp, agency, channel, submitted, state, answers in rows:
        values = json.loads(answers)
        if rid in fixes:
            values = apply_corrections(values, fixes[rid])
        if isinstance(submitted, str):
            submitted = pd.Timestamp(submitted).to_pydatetime()
        record = [rid, camp, agency, channel, submitted.strftime("%Y-%m-%dT%H:%M:%SZ"), state]
        record.extend(export_value(kind, values.get(code)) for code, kind in kinds)
        out.append(record)
    return pd.DataFrame(out, columns=META_COLUMNS + [code for code, _ in kinds])


def responses_among(conn, campaign_id: int, book: pd.DataFrame, *, ids=None,
                    agency_ids=None, chunk_size: int = 5_000) -> Iterator[pd.DataFrame]:
    """Some of a campaign's responses in the export format, in id order, a chunk at a
    time: those with the given ``ids`` (sorted), or all those of the agencies
    ``agency_ids`` (read through the campaign's agency index) — what a sample needs,
    never the whole campaign unless asked for."""
    kinds = list(zip(book["item_code"], book["type"], strict=True))
    among = "" if agency_ids is None else " AND r.agency_id IN (" + (
        ",".join(str(int(a)) for a in agency_ids) or "NULL") + ")"
    select = f"""
        SELECT r.id, c.code, a.code, r.channel, r.submitted_at,
               coalesce(rv.state, 'received'), r.answers
        FROM response r JOIN campaign c ON c.id = r.campaign_id
        JOIN agency a ON a.id = r.agency_id
        LEFT JOIN ({LATEST_REVIEW}) rv ON rv.response_id = r.id
        WHERE r.campaign_id = :c{among}"""
    if ids is None:
        rows, _ = _fetch(conn, select + " ORDER BY r.id", {"c": campaign_id})
        chunks = [rows[k:k + chunk_size] for k in range(0, len(rows), chunk_size)]
    else:
        ids = [int(i) for i in ids]
        chunks = (_fetch(conn, select + " AND r.id IN (" + ",".join(map(
            str, ids[k:k + chunk_size])) + ") ORDER BY r.id", {"c": campaign_id})[0]
            for k in range(0, len(ids), chunk_size))
    for rows in chunks:
        if rows:
            yield _export_frame(rows, corrections(conn, ids=[r[0] for r in rows]), kinds)


def responses(conn, campaign_id: int, book: pd.DataFrame) -> pd.DataFrame:
    """All of a campaign's responses in the export format (for exports and bootstraps)."""
    frames = list(iter_responses(conn, campaign_id, book))
    if not frames:
        return pd.DataFrame(columns=META_COLUMNS + list(book["item_code"]))
    return pd.concat(frames, ignore_index=True)
