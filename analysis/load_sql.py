"""SQL as `analysis.load` runs it: on the driver's own cursor (plain tuples, a batch at a
time), with `:name` parameters on every driver; and the corrections recorded after a
response, replayed onto its stored answers."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pandas as pd
from sqlalchemy import text

LATEST_REVIEW = """
    SELECT rr.response_id, rr.state FROM response_review rr
    JOIN (SELECT response_id, max(id) AS id FROM response_review GROUP BY response_id) last
      ON last.id = rr.id
"""


def apply_corrections(answers: dict, changes: list[dict]) -> dict:
    """The effective answers: the stored ones with each correction's {item_code: value}
    applied in order (a null value leaves the item unanswered). Never mutates its input."""
    out = dict(answers)
    for change in changes:
        for code, value in change.items():
            if value is None:
                out.pop(code, None)
            else:
                out[code] = value
    return out


def effective_answers(rid: int, stored: str, fixes: dict[int, list]) -> dict:
    """A response's answers as they stand: stored (JSON) with its corrections applied."""
    answers = json.loads(stored)
    return apply_corrections(answers, fixes[rid]) if rid in fixes else answers


def add_scored(counts: dict, group, answers: dict, scored: dict) -> None:
    """Count one response's scored answers into `counts`: {(group, scored[item], score):
    n}, a score 0 ("not applicable") to 5."""
    from .io import SCALE_MAX

    for code, value in answers.items():
        key = scored.get(code)
        if key is not None and type(value) is int and 0 <= value <= SCALE_MAX:
            counts[group, key, value] = counts.get((group, key, value), 0) + 1


def _campaign_of_id_range(conn) -> str:
    """The campaign condition of a query that reads a range of response ids.

    Without statistics (nothing runs ANALYZE) SQLite prefers the campaign index to the
    id range: for every chunk of an export it then read the whole campaign's responses
    (and sorted them), 0.5 s a chunk at a million responses. A unary plus keeps the
    condition and leaves the id range to SQLite. PostgreSQL chooses by its statistics."""
    return "+r.campaign_id" if conn.dialect.name == "sqlite" else "r.campaign_id"


def corrections(conn, campaign_id: int | None = None, first: int = 0, last: int | None = None,
                ids=None) -> dict[int, list[dict]]:
    """Response id → its corrections' changes in order: for the campaign's responses with
    ids in [first, last], or for the responses ``ids``. Corrections are rare: this reads
    only them."""
    if ids is not None:
        if not len(ids):
            return {}
        # Read by the range of the ids (an index range, usually empty) rather than by a
        # list of thousands of them, and kept for the ids asked.
        rows, _ = _fetch(conn, "SELECT response_id, changes FROM response_correction WHERE "
                         "response_id BETWEEN :first AND :last ORDER BY id",
                         {"first": int(min(ids)), "last": int(max(ids))})
        if rows:
            wanted = {int(i) for i in ids}
            rows = [r for r in rows if r[0] in wanted]
    else:
        rows = conn.execute(text(f"""
            SELECT c.response_id, c.changes FROM response_correction c
            JOIN response r ON r.id = c.response_id
            WHERE {_campaign_of_id_range(conn)} = :c AND r.id >= :first AND r.id <= :last
            ORDER BY c.id"""),
            {"c": campaign_id, "first": first,
             "last": last if last is not None else 2**62}).all()
    out: dict[int, list[dict]] = {}
    for rid, changes in rows:
        out.setdefault(rid, []).append(json.loads(changes))
    return out


def pyformat(sql: str) -> str:
    """`:name` parameters as `%(name)s`, for drivers of the pyformat style (psycopg)."""
    return re.sub(r"(?<![:\w]):([A-Za-z_]\w*)", r"%(\1)s", sql.replace("%", "%%"))


def _fetch(conn, sql: str, params: dict | None = None) -> tuple[list, list[str]]:
    """Run SQL with :name parameters on the driver's own cursor: its plain tuples and the
    column names. Wrapping ~20 000 tally rows in SQLAlchemy Row objects first costs more
    than all the index arithmetic."""
    if conn.dialect.paramstyle in ("pyformat", "format"):
        sql = pyformat(sql)
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        cursor.execute(sql, params or {})
        return cursor.fetchall(), [d[0] for d in cursor.description]
    finally:
        cursor.close()


def _stream(conn, sql: str, params: dict | None = None, size: int = 100_000) -> Iterator[list]:
    """Like :func:`_fetch`, the rows a batch at a time: a server-side cursor on PostgreSQL
    (its default cursor would hold every row in memory), the plain cursor on SQLite,
    which already reads as it goes."""
    if conn.dialect.paramstyle in ("pyformat", "format"):
        sql = pyformat(sql)
    raw = conn.connection.dbapi_connection
    cursor = raw.cursor(name="survey_stream") if conn.dialect.name == "postgresql" \
        else raw.cursor()
    try:
        cursor.execute(sql, params or {})
        while rows := cursor.fetchmany(size):
            yield rows
    finally:
        cursor.close()


def _frame(conn, sql: str, params: dict | None = None, columns=None) -> pd.DataFrame:
    """Run SQL with :name parameters (see :func:`_fetch`) and build a frame."""
    rows, keys = _fetch(conn, sql, params)
    return pd.DataFrame.from_records(rows, columns=columns or keys)
