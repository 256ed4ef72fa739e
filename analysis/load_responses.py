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


#: A campaign's response ids per agency, from the (campaign_id, agency_id, channel) index
#: alone (SQLite keeps the rowid in every index, PostgreSQL's index INCLUDEs the id), each
#: agency's ids as one text: a million (id, agency) rows made into Python tuples took
#: several times longer than the database's scan of the index.
RESPONSE_AGENCIES = """SELECT agency_id, {ids} FROM response WHERE campaign_id = :c
    GROUP BY agency_id"""
_ID_LIST = {"sqlite": "group_concat(id)", "postgresql": "string_agg(CAST(id AS text), ',')"}


def response_agencies_sql(conn) -> str:
    """:data:`RESPONSE_AGENCIES` in the connection's dialect."""
    return RESPONSE_AGENCIES.format(ids=_ID_LIST.get(conn.dialect.name, "group_concat(id)"))


def response_agencies(conn, campaign_id: int, *, exclude_rejected: bool = False,
                      chunk_size: int = 200_000) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The ids and agency codes of a campaign's responses, about ``chunk_size`` at a time
    (whole agencies), in no particular order, read from the (campaign, agency, channel)
    index without touching the answers. With ``exclude_rejected``, responses whose latest
    review is "rejected" are left out."""
    agency_rows, _ = _fetch(conn, "SELECT id, code FROM agency")
    codes = dict(agency_rows)
    rejected = np.array([], dtype="int64")
    if exclude_rejected:
        rows, _ = _fetch(conn, f"""
            SELECT rv.response_id FROM ({LATEST_REVIEW}) rv
            JOIN response r ON r.id = rv.response_id
            WHERE rv.state = 'rejected' AND r.campaign_id = :c""", {"c": campaign_id})
        rejected = np.array([r[0] for r in rows], dtype="int64")
    ids: list[np.ndarray] = []
    agencies: list[np.ndarray] = []
    held = 0
    # A few agencies a fetch: memory is bounded by the largest agency, not the campaign.
    for rows in _stream(conn, response_agencies_sql(conn), {"c": campaign_id}, 8):
        for agency_id, listed in rows:
            got = np.fromstring(listed, dtype="int64", sep=",")
            if len(rejected):
                got = got[~np.isin(got, rejected)]
            if len(got):
                ids.append(got)
                agencies.append(np.full(len(got), codes[agency_id], dtype=object))
                held += len(got)
            if held >= chunk_size:
                yield np.concatenate(ids), np.concatenate(agencies)
                ids, agencies, held = [], [], 0
    if held:
        yield np.concatenate(ids), np.concatenate(agencies)


def satisfaction_answers(conn, ids, book: pd.DataFrame, chunk_size: int = 20_000) -> np.ndarray:
    """The satisfaction answers of the responses ``ids`` (sorted, unique): one row per id
    in that order, one column per satisfaction item of ``book``, NaN where an item has
    no 1..5 answer (not applicable or left empty), as the export reads them."""
    items = [str(c) for c in satisfaction_items(book)["item_code"]]
    ids = np.asarray(ids, dtype="int64")
    out = np.full((len(ids), len(items)), np.nan)
    if not items:
        return out
    for start in range(0, len(ids), chunk_size):
        chunk = ids[start:start + chunk_size]
        got, block = _scored_block(conn, chunk, items)
        if block is None:  # an answer the compact form does not cover: parse them all
            got, block = _decoded_block(conn, chunk, items)
        order = np.argsort(got)
        got, block = got[order], block[order]
        # Effective answers: the (rare) corrections of these responses, read by id range.
        fixes = corrections(conn, ids=chunk)
        if fixes:
            fixed = np.array(sorted(fixes), dtype="int64")
            fixed_ids, fixed_block = _decoded_block(conn, fixed, items, fixes)
            block[np.searchsorted(got, fixed_ids)] = fixed_block
        out[np.searchsorted(ids, got)] = block
    return out


def _in_list(ids) -> str:
    # The ids are integers from the database, written into the statement as such: one
    # statement whatever their number, on SQLite and PostgreSQL alike.
    return "(" + ",".join(map(str, np.asarray(ids, dtype="int64").tolist())) + ")"


def _scored_block(conn, ids: np.ndarray, items: list[str]):
    """The responses' ids and scored answers, the answers picked out of the stored JSON
    by the database (``json_extract``, ``->``) and returned for the whole chunk as one
    text rather than a row and a parsed object per response: most of the time a results
    page spent on the bootstrap at a million responses went into reading and parsing the
    sampled responses' answers whole. ``(ids, None)`` when an answer is anything but a
    digit or null (the caller then parses the answers as stored)."""
    paths = items if len(items) > 1 else items * 2
    params = {f"p{k}": v for k, v in enumerate(paths)}
    if conn.dialect.name == "sqlite":
        if any('"' in code or "\\" in code for code in items):
            return ids, None
        params = {f"p{k}": f'$."{v}"' for k, v in enumerate(paths)}
        picked = "json_extract(answers, " + ", ".join(f":p{k}" for k in range(len(paths))) + ")"
        sql = f"SELECT group_concat(id), group_concat({picked}, '') FROM response WHERE id IN "
    elif conn.dialect.name == "postgresql":
        picked = "json_build_array(" + ", ".join(
            f"answers::json -> CAST(:p{k} AS text)" for k in range(len(paths))) + ")"
        sql = (f"SELECT string_agg(id::text, ','), string_agg(replace({picked}::text, ' ', ''), "
               "'') FROM response WHERE id IN ")
    else:
        return ids, None
    rows, _ = _fetch(conn, sql + _in_list(ids), params)
    listed, text_ = rows[0] if rows else (None, None)
    if not listed:
        return np.zeros(0, dtype="int64"), np.zeros((0, len(items)))
    got = np.fromstring(listed, dtype="int64", sep=",")
    return got, _digits(text_, len(got), len(paths), len(items))


def _digits(text_: str, rows: int, width: int, items: int) -> np.ndarray | None:
    """``rows`` JSON arrays of ``width`` values, written one after another, as a float
    matrix of their first ``items`` columns (NaN where a value is null or not 1..5); None
    unless every value is a single digit or null."""
    text_ = text_.replace("null", "n")
    line = 2 * width + 1  # "[" value ("," value)* "]"
    if len(text_) != rows * line or not text_.isascii():
        return None
    chars = np.frombuffer(text_.encode("ascii"), dtype="uint8").reshape(rows, line)
    values = chars[:, 1::2]
    digit = (values >= ord("0")) & (values <= ord("9"))
    if not ((chars[:, 0] == ord("[")).all() and (chars[:, -1] == ord("]")).all()
            and (chars[:, 2:-1:2] == ord(",")).all() and (digit | (values == ord("n"))).all()):
        return None
    block = np.where(digit, values.astype("float64") - ord("0"), np.nan)[:, :items]
    block[~np.isin(block, (1, 2, 3, 4, 5))] = np.nan
    return block


def _decoded_block(conn, ids: np.ndarray, items: list[str], fixes=None):
    """The responses' ids and scored answers from their stored answers parsed whole, with
    the corrections ``fixes`` (response id -> changes in order) applied."""
    rows, _ = _fetch(conn, "SELECT id, answers FROM response WHERE id IN " + _in_list(ids))
    if not rows:
        return np.zeros(0, dtype="int64"), np.zeros((0, len(items)))
    # One parse of the chunk's answers as a JSON array: much faster than one a row.
    parsed = json.JSONDecoder().decode("[" + ",".join(r[1] for r in rows) + "]")
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
    return np.array([r[0] for r in rows], dtype="int64"), block


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
