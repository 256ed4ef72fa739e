"""The only boundary between the application's database and pandas.

Every function takes an SQLAlchemy Connection (or Engine) and returns DataFrames in the
documented shapes: the tally (`agency_code, item_code, score, n`), the codebook and the
responses of the export format. The database does the counting; nothing here loads a
row per answer.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pandas as pd
from sqlalchemy import text

from .io import CODEBOOK_COLUMNS, META_COLUMNS, TALLY_COLUMNS
from .ledger import export_value  # the stored → export conversion, shared with verify

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


def corrections(conn, campaign_id: int, first: int = 0, last: int | None = None
                ) -> dict[int, list[dict]]:
    """Response id → its corrections' changes in order, for the campaign's responses with
    ids in [first, last]. Corrections are rare: this reads only them."""
    rows = conn.execute(text("""
        SELECT c.response_id, c.changes FROM response_correction c
        JOIN response r ON r.id = c.response_id
        WHERE r.campaign_id = :c AND r.id >= :first AND r.id <= :last ORDER BY c.id"""),
        {"c": campaign_id, "first": first, "last": last if last is not None else 2**62}).all()
    out: dict[int, list[dict]] = {}
    for rid, changes in rows:
        out.setdefault(rid, []).append(json.loads(changes))
    return out


def _frame(conn, sql: str, params: dict | None = None, columns=None) -> pd.DataFrame:
    """Run SQL with :name parameters on the driver's own cursor and build a frame.

    The driver's plain tuples go straight into pandas: wrapping ~20 000 tally rows in
    SQLAlchemy Row objects first costs more than all the index arithmetic."""
    if conn.dialect.paramstyle in ("pyformat", "format"):
        sql = re.sub(r"(?<!:):(\w+)", r"%(\1)s", sql.replace("%", "%%"))
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        cursor.execute(sql, params or {})
        keys = columns or [d[0] for d in cursor.description]
        return pd.DataFrame.from_records(cursor.fetchall(), columns=keys)
    finally:
        cursor.close()


def campaign(conn, code: str) -> dict | None:
    row = conn.execute(text(
        "SELECT id, code, name, period, version_id, opens_at, closes_at FROM campaign "
        "WHERE code = :code"), {"code": code}).mappings().first()
    return dict(row) if row else None


def agencies(conn) -> pd.DataFrame:
    """The agency tree: code, name, kind, parent_code."""
    frame = _frame(conn, """
        SELECT a.code, a.name, a.kind, p.code AS parent_code
        FROM agency a LEFT JOIN agency p ON p.id = a.parent_id ORDER BY a.code""")
    return frame.astype({"code": str, "name": str})


def codebook(conn, version_id: int) -> pd.DataFrame:
    """One row per item in questionnaire order, in the export's codebook format."""
    rows = conn.execute(text("""
        SELECT i.code, g.code AS element_code, g.name_vi AS element_name, g.kind, i.type,
               i.text_vi, i.text_en, i.options
        FROM item i JOIN question_group g ON g.id = i.group_id
        WHERE i.version_id = :v ORDER BY i.position"""), {"v": version_id}).mappings().all()
    out = []
    for r in rows:
        options = r["options"]
        if isinstance(options, str):
            options = json.loads(options)
        choices = "|".join(f"{c['code']}={c['label']['vi']}" for c in (options or {}).get(
            "choices", []))
        scale = {"satisfaction": (1, 5), "priority": (1, 3)}.get(r["type"], (None, None))
        out.append({"item_code": r["code"], "element_code": r["element_code"],
                    "element_name": r["element_name"], "type": r["type"],
                    "scale_min": scale[0], "scale_max": scale[1], "text_vi": r["text_vi"],
                    "text_en": r["text_en"] or "", "choices": choices})
    frame = pd.DataFrame(out, columns=CODEBOOK_COLUMNS)
    return frame.astype({"scale_min": "Int64", "scale_max": "Int64"})


def tally(conn, campaign_id: int, *, exclude_rejected: bool = False) -> pd.DataFrame:
    """Answers per (agency, item, score) from the tally the database keeps.

    With `exclude_rejected`, the answers of responses whose latest review is "rejected"
    are subtracted (they are few; their answers are read, not the whole campaign's).
    """
    counts = _frame(conn, """
        SELECT a.code AS agency_code, i.code AS item_code, t.score, t.n
        FROM answer_tally t JOIN agency a ON a.id = t.agency_id JOIN item i ON i.id = t.item_id
        WHERE t.campaign_id = :c AND t.n > 0
        ORDER BY a.code, i.code, t.score""", {"c": campaign_id}, TALLY_COLUMNS)
    if exclude_rejected:
        rejected = _frame(conn, f"""
            SELECT r.id, a.code AS agency_code, r.answers FROM response r
            JOIN ({LATEST_REVIEW}) rv ON rv.response_id = r.id AND rv.state = 'rejected'
            JOIN agency a ON a.id = r.agency_id WHERE r.campaign_id = :c""", {"c": campaign_id})
        if len(rejected):
            items = set(counts["item_code"])
            # The tally counts effective answers: subtract those, corrections applied.
            fixes = corrections(conn, campaign_id)
            rows = [(agency, code, value)
                    for rid, agency, answers in zip(rejected["id"], rejected["agency_code"],
                                                    rejected["answers"], strict=True)
                    for code, value in apply_corrections(json.loads(answers),
                                                         fixes.get(rid, [])).items()
                    if code in items and isinstance(value, int)]
            minus = (pd.DataFrame(rows, columns=["agency_code", "item_code", "score"])
                     .value_counts().rename("minus").reset_index())
            counts = counts.merge(minus, how="left", on=["agency_code", "item_code", "score"])
            counts = counts.assign(n=counts["n"] - counts["minus"].fillna(0).astype(int))
            counts = counts.loc[counts["n"] > 0, TALLY_COLUMNS]
    counts = counts.astype({"agency_code": str, "item_code": str, "score": int, "n": int})
    if exclude_rejected:
        counts = counts.sort_values(["agency_code", "item_code", "score"])
    return counts.reset_index(drop=True)


def channel_counts(conn, campaign_id: int) -> pd.DataFrame:
    """Responses per agency and channel."""
    return _frame(conn, """
        SELECT a.code AS agency_code, r.channel, count(*) AS n FROM response r
        JOIN agency a ON a.id = r.agency_id WHERE r.campaign_id = :c
        GROUP BY a.code, r.channel ORDER BY a.code, r.channel""", {"c": campaign_id},
        ["agency_code", "channel", "n"])


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
            WHERE r.campaign_id = :c AND r.id > :last ORDER BY r.id LIMIT :n"""),
            {"c": campaign_id, "last": last, "n": chunk_size}).all()
        if not rows:
            return
        out = []
        fixes = corrections(conn, campaign_id, rows[0][0], rows[-1][0])
        for rid, camp, agency, channel, submitted, state, answers in rows:
            values = json.loads(answers)
            if rid in fixes:
                values = apply_corrections(values, fixes[rid])
            if isinstance(submitted, str):
                submitted = pd.Timestamp(submitted).to_pydatetime()
            record = [rid, camp, agency, channel,
                      submitted.strftime("%Y-%m-%dT%H:%M:%SZ"), state]
            record.extend(export_value(kind, values.get(code)) for code, kind in kinds)
            out.append(record)
        last = rows[-1][0]
        yield pd.DataFrame(out, columns=META_COLUMNS + [code for code, _ in kinds])


def responses(conn, campaign_id: int, book: pd.DataFrame) -> pd.DataFrame:
    """All of a campaign's responses in the export format (for exports and bootstraps)."""
    frames = list(iter_responses(conn, campaign_id, book))
    if not frames:
        return pd.DataFrame(columns=META_COLUMNS + list(book["item_code"]))
    return pd.concat(frames, ignore_index=True)
