"""The only boundary between the application's database and pandas, with the modules it
builds on (`load_sql`, `load_responses`) and `load_audit`.

Every function takes an SQLAlchemy Connection (or Engine) and returns DataFrames in the
documented shapes: the tally (`agency_code, item_code, score, n`), the codebook and the
responses of the export format. The database does the counting; nothing here loads a
row per answer.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import text

from . import load_cross
from .counts import TallyCounts
from .io import CODEBOOK_COLUMNS, SCALE_MAX, TALLY_COLUMNS, satisfaction_items

# `X as X`: re-exported, for the application and its tests read the export's columns, the
# per-response readers and the SQL parameter style as `analysis.load.X`.
from .io import META_COLUMNS as META_COLUMNS
from .kinds import SCORED, scale
from .ledger import canonical_json
from .load_cross import answer_counts as answer_counts
from .load_responses import CHANNEL_COUNTS as CHANNEL_COUNTS
from .load_responses import RESPONSE_AGENCIES as RESPONSE_AGENCIES
from .load_responses import channel_counts as channel_counts
from .load_responses import iter_responses as iter_responses
from .load_responses import response_agencies as response_agencies
from .load_responses import response_agencies_sql as response_agencies_sql
from .load_responses import responses as responses
from .load_responses import responses_among as responses_among
from .load_responses import satisfaction_answers as satisfaction_answers
from .load_sql import (
    LATEST_REVIEW,
    _campaign_of_id_range,
    _fetch,
    _frame,
    _stream,
    add_scored,
    apply_corrections,
    corrections,
    effective_answers,
)
from .load_sql import pyformat as pyformat


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
        low, high = scale(r["type"])
        out.append({"item_code": r["code"], "element_code": r["element_code"],
                    "element_name": r["element_name"], "type": r["type"],
                    "scale_min": low, "scale_max": high, "text_vi": r["text_vi"],
                    "text_en": r["text_en"] or "", "choices": choices})
    frame = pd.DataFrame(out, columns=CODEBOOK_COLUMNS)
    return frame.astype({"scale_min": "Int64", "scale_max": "Int64"})


def rejected_answers(conn, campaign_id: int):
    """(agency code, item code, value) of every scored answer of the responses whose
    latest review is "rejected", corrections applied: what the tally, which counts
    effective answers, holds for them. They are few: only their rows are read."""
    rows, _ = _fetch(conn, f"""
        SELECT r.id, a.code, r.answers FROM response r
        JOIN ({LATEST_REVIEW}) rv ON rv.response_id = r.id AND rv.state = 'rejected'
        JOIN agency a ON a.id = r.agency_id WHERE r.campaign_id = :c""", {"c": campaign_id})
    fixes = corrections(conn, ids=[r[0] for r in rows])
    for rid, agency, answers in rows:
        for item, value in apply_corrections(json.loads(answers), fixes.get(rid, [])).items():
            if isinstance(value, int):
                yield agency, item, value


#: The tally is kept in steps (see `survey_app.intake.store`): ``answer_tally``
#: counts a campaign's responses up to ``tally_mark.response_id``, its mark, and the few
#: after it (its tail) are counted from their answers here, when read. Cells, tail and the
#: mark come from one statement, so from one moment of the database; the tail is read by
#: id from the mark read just before, which the same statement confirms (a step folded in
#: between means reading again).
#: The campaign's tally mark (also read by the submission that counts a step).
MARK_SQL = "SELECT response_id FROM tally_mark WHERE campaign_id = :c"
_TAIL = """
    SELECT 't', a.code, {pad}, r.answers, r.id FROM response r
    JOIN agency a ON a.id = r.agency_id WHERE r.id > :mark AND {campaign} = :c
    UNION ALL
    SELECT 'm', NULL, {pad}, NULL, m.response_id FROM tally_mark m WHERE m.campaign_id = :c
    UNION ALL
    SELECT 's', i.code, {pad}, NULL, NULL FROM item i
    JOIN campaign c ON c.version_id = i.version_id WHERE c.id = :c AND i.type = :scored"""


def tally_mark(conn, campaign_id: int) -> int:
    """The last response id the campaign's ``answer_tally`` counts (0: none yet)."""
    rows, _ = _fetch(conn, MARK_SQL, {"c": campaign_id})
    return rows[0][0] if rows else 0


def _with_tail(conn, campaign_id: int, cells: str, width: int) -> tuple[list, dict]:
    """(the rows of the SELECT `cells`, of `width` columns; the tail's answers as the tally
    counts them: {(agency code, item code, score): n}) as of one moment."""
    pad = ", ".join(["NULL"] * (width - 1))
    sql = (f"SELECT 'c', q.*, NULL, NULL FROM ({cells}) q UNION ALL"
           + _TAIL.format(pad=pad, campaign=_campaign_of_id_range(conn)))
    while True:
        mark = tally_mark(conn, campaign_id)
        rows, _ = _fetch(conn, sql, {"c": campaign_id, "mark": mark, "scored": SCORED})
        if max((r[-1] for r in rows if r[0] == "m"), default=0) == mark:
            break
    scored = {r[1]: r[1] for r in rows if r[0] == "s"}
    tail = [(r[-1], r[1], r[-2]) for r in rows if r[0] == "t"]
    fixes = corrections(conn, ids=[rid for rid, _, _ in tail])
    return [r[1:width + 1] for r in rows if r[0] == "c"], count_answers(tail, fixes, scored)


def count_answers(responses, fixes: dict[int, list], scored: dict) -> dict[tuple, int]:
    """What the tally counts of some responses: {(group, scored[item], score): n} over
    (response id, group, stored answers as JSON), each with its corrections (`fixes`, as
    :func:`corrections` gives them) applied; `scored` maps the satisfaction items' codes
    to the keys wanted. Shared by the readers and the submission that folds a step."""
    counts: dict[tuple, int] = {}
    for rid, group, stored in responses:
        add_scored(counts, group, effective_answers(rid, stored, fixes), scored)
    return counts


# --- checking the tally --------------------------------------------------------------------
#: The stored tally, its mark and the last correction, from one statement (one moment):
#: a correction moves the tally in the transaction that records it, and a campaign's
#: corrections and steps are serialised (its chain lock), so the corrections up to that
#: id are exactly those the rows read reflect.
#: The cross counts (`analysis.load_cross`) are read with them, as cells keyed
#: (CROSS, agency_id, group_by, group_value) holding a tuple of counts: the check covers
#: both tables.
_STORED = """
    SELECT 'c', agency_id, item_id, score, n, NULL, NULL, NULL FROM answer_tally
    WHERE campaign_id = :c
    UNION ALL SELECT 'g', agency_id, NULL, NULL, NULL, group_by, group_value, counts
    FROM cross_tally WHERE campaign_id = :c
    UNION ALL SELECT 'm', response_id, NULL, NULL, NULL, NULL, NULL, NULL FROM tally_mark
    WHERE campaign_id = :c
    UNION ALL SELECT 'x', max(id), NULL, NULL, NULL, NULL, NULL, NULL
    FROM response_correction"""


@dataclass(frozen=True)
class TallyCheck:
    """A campaign's stored tally against a recount of its responses up to the mark."""

    campaign_id: int
    mark: int  # the last response id the tally counts (0: none)
    #: (agency code, item code, score, stored n, recounted n) of every cell that differs
    differences: tuple[tuple[str, str, int, int, int], ...]
    digest: str  # `tally_digest` of the stored rows
    cells: int  # stored cells with a count
    last_fix: int = 0  # the last correction id the stored tally reflects
    #: (agency code, item code, value, group_by, group_value, stored n, recounted n) of
    #: every cross count (`analysis.load_cross`) that differs (item "" counts the group's
    #: respondents)
    cross_differences: tuple[tuple, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.differences and not self.cross_differences

    @property
    def wrong(self) -> int:
        """How many cells differ, in both tables."""
        return len(self.differences) + len(self.cross_differences)


#: The whole stored tally of a campaign as two strings, its cells' keys and their counts
#: in the order of one scan, with its mark and the last correction id: equal results mean
#: an unchanged tally. The database builds the strings: a few milliseconds for 17 000
#: cells, where reading them as rows costs several times that.
_FINGERPRINT = """
    SELECT {concat}(CAST((agency_id * 1048576 + item_id) * 8 + score AS TEXT), ','),
           {concat}(CAST(n AS TEXT), ','),
           (SELECT response_id FROM tally_mark WHERE campaign_id = :c),
           (SELECT max(id) FROM response_correction),
           (SELECT {concat}(CAST(agency_id AS TEXT) || ' ' || group_by || '=' || group_value
                            || ':' || {hex}, ',')
            FROM cross_tally WHERE campaign_id = :c)
    FROM answer_tally WHERE campaign_id = :c"""
_FINGERPRINTS = {dialect: _FINGERPRINT.format(concat=concat, hex=hexed)
                 for dialect, concat, hexed in (
                     ("sqlite", "group_concat", "hex(counts)"),
                     ("postgresql", "string_agg", "encode(counts, 'hex')"))}


def tally_fingerprint(conn, campaign_id: int) -> tuple:
    """An exact, cheap image of the campaign's stored tally (see `_FINGERPRINT`); the same
    tally may give another one (a scan in another order), a changed one never the same."""
    return tuple(_fetch(conn, _FINGERPRINTS[conn.dialect.name], {"c": campaign_id})[0][0])


def stored_tally(conn, campaign_id: int) -> tuple[dict[tuple, int], int, int]:
    """({(agency_id, item_id, score): n} of the stored tally, its mark, the last correction
    id), as of one moment."""
    rows = _fetch(conn, _STORED, {"c": campaign_id})[0]
    cells, mark, last_fix = {}, 0, 0
    size = load_cross.plan(conn, campaign_id).size
    for tag, a, i, score, n, by, value, stored in rows:
        if tag == "c":
            if n:
                cells[a, i, score] = n
        elif tag == "g":
            counts = tuple(int(c) for c in load_cross.decode(stored, size))
            if any(counts):
                cells[load_cross.CROSS, a, by, value] = counts
        elif tag == "m":
            mark = a or 0
        else:
            last_fix = a or 0
    return cells, mark, last_fix


def recount_tally(conn, campaign_id: int, first: int, last: int, last_fix: int,
                  ids=None) -> dict[tuple, int]:
    """What the tally counts of the campaign's responses with ids in (first, last] (and
    in `ids`, if given), with their corrections up to id `last_fix` applied — by the rule
    the tally is kept with (`count_answers`): {(agency_id, item_id, score): n}, and the
    cross counts (`analysis.load_cross`), {(agency_id, item_id, score, group_by, value):
    n}, in the same dictionary. Streams the responses."""
    scored = dict(_fetch(conn, """
        SELECT i.code, i.id FROM item i JOIN campaign c ON c.version_id = i.version_id
        WHERE c.id = :c AND i.type = :scored""", {"c": campaign_id, "scored": SCORED})[0])
    among = "" if ids is None else " AND r.id IN (" + ",".join(
        str(int(i)) for i in ids) + ")"
    if ids is not None and not len(ids):
        return {}
    fixes: dict[int, list] = {}
    for rid, changes in _fetch(conn, f"""
            SELECT x.response_id, x.changes FROM response_correction x
            JOIN response r ON r.id = x.response_id
            WHERE {_campaign_of_id_range(conn)} = :c AND r.id > :first AND r.id <= :last
              AND x.id <= :fix{among} ORDER BY x.id""",
            {"c": campaign_id, "first": first, "last": last, "fix": last_fix})[0]:
        fixes.setdefault(rid, []).append(json.loads(changes))
    counts: dict[tuple, int] = {}
    cross: dict[tuple, np.ndarray] = {}
    cross_plan = load_cross.plan(conn, campaign_id)
    for rows in _stream(conn, f"""
            SELECT r.id, r.agency_id, r.channel, r.answers FROM response r
            WHERE {_campaign_of_id_range(conn)} = :c AND r.id > :first
              AND r.id <= :last{among}""",
            {"c": campaign_id, "first": first, "last": last}, 50_000):
        tally, rows_ = load_cross.count_kept(rows, fixes, scored, cross_plan)
        for key, n in tally.items():
            counts[key] = counts.get(key, 0) + n
        for key, vector in rows_.items():
            cross[key] = cross[key] + vector if key in cross else vector
    for (a, by, value), vector in cross.items():
        counts[load_cross.CROSS, a, by, value] = tuple(int(c) for c in vector)
    return counts


def add_cells(cells: dict, other: dict, sign: int = 1) -> None:
    """Add (sign 1) or take away (-1) the cells of `other` to `cells` (a tally's counts,
    a cross row's tuple of counts)."""
    for key, n in other.items():
        old = cells.get(key, 0)
        if isinstance(n, tuple):
            old = old or (0,) * len(n)
            cells[key] = tuple(a + sign * b for a, b in zip(old, n, strict=True))
        else:
            cells[key] = old + sign * n


def _plain(n):
    """A cell's count; a cross row's tuple, or 0 when all its counts are."""
    return n if not isinstance(n, tuple) or any(n) else 0


def _nonzero(n) -> bool:
    return any(n) if isinstance(n, tuple) else bool(n)


def corrected_since(conn, campaign_id: int, after_fix: int, upto_fix: int, last: int
                    ) -> list[int]:
    """The ids of the campaign's responses up to `last` with a correction whose id is in
    (after_fix, upto_fix]."""
    rows, _ = _fetch(conn, f"""
        SELECT DISTINCT x.response_id FROM response_correction x
        JOIN response r ON r.id = x.response_id
        WHERE {_campaign_of_id_range(conn)} = :c AND r.id <= :last AND x.id > :a
          AND x.id <= :b""",
        {"c": campaign_id, "last": last, "a": after_fix, "b": upto_fix})
    return sorted(r[0] for r in rows)


def tally_digest(conn, cells: dict[tuple, int]) -> str:
    """sha256 (hex) of the tally's rows (agency code, item code, score, n), n > 0, sorted,
    as canonical JSON, followed (when there are any) by the cross counts' rows (agency
    code, item code, score, group_by, group_value, n) likewise: the same counts give the
    same digest on any database."""
    coded = _coded(conn, cells)
    text = canonical_json(sorted([*key, n] for key, n in coded.items() if n and len(key) == 3))
    cross = sorted([*key[1:], list(n)] for key, n in coded.items()
                   if len(key) == 4 and _nonzero(n))
    if cross:
        text += "\n" + canonical_json(cross)
    return hashlib.sha256(text.encode()).hexdigest()


def _coded(conn, cells: dict[tuple, int]) -> dict[tuple, int]:
    """{(agency_id, item_id, score): n} keyed by agency and item codes instead (a cross
    row's key (CROSS, agency_id, group_by, value) by its agency's code)."""
    agencies = dict(_fetch(conn, "SELECT id, code FROM agency")[0])
    items = dict(_fetch(conn, "SELECT id, code FROM item")[0])
    return {((key[0], agencies.get(key[1], str(key[1])), *key[2:]) if len(key) == 4 else
             (agencies.get(key[0], str(key[0])), items.get(key[1], str(key[1])), key[2])): n
            for key, n in cells.items()}


def compare_tally(conn, campaign_id: int, stored: dict, mark: int, expected: dict, *,
                  digest: bool = True, last_fix: int = 0) -> TallyCheck:
    """The check's result from the stored cells and the recounted ones (without
    `digest`, its digest is left empty)."""
    keys = set(stored) | set(expected)
    wrong = {k: (stored.get(k, 0), expected.get(k, 0)) for k in keys
             if _plain(stored.get(k, 0)) != _plain(expected.get(k, 0))}
    coded = _coded(conn, {k: 0 for k in wrong})
    found = [(*code, *wrong[key]) for key, code in zip(wrong, coded, strict=True)]
    differences = tuple(sorted(d for d in found if len(d) == 5))
    slots = load_cross.plan(conn, campaign_id).slots
    cross = tuple(sorted(
        (agency, item, value, by, group, int(a), int(b))
        for _, agency, by, group, was, now in (d for d in found if len(d) == 6)
        for (item, value), a, b in zip(slots, _plain(was) or (0,) * len(slots),
                                       _plain(now) or (0,) * len(slots), strict=True)
        if a != b))
    return TallyCheck(campaign_id, mark, differences,
                      tally_digest(conn, stored) if digest else "", len(stored), last_fix,
                      cross)


def check_tally(conn, campaign_id: int) -> TallyCheck:
    """Recount from the responses what the campaign's tally should hold up to its mark and
    compare it with what it holds (the whole campaign's answers are read: see
    `survey_app.services.tally` for the results pages' cheap path)."""
    stored, mark, last_fix = stored_tally(conn, campaign_id)
    expected = recount_tally(conn, campaign_id, 0, mark, last_fix) if mark else {}
    return compare_tally(conn, campaign_id, stored, mark, expected, last_fix=last_fix)


def tally(conn, campaign_id: int, *, exclude_rejected: bool = False) -> pd.DataFrame:
    """Answers per (agency, item, score) from the tally the database keeps.

    With `exclude_rejected`, the answers of responses whose latest review is "rejected"
    are subtracted (they are few; their answers are read, not the whole campaign's).
    """
    rows, tail = _with_tail(conn, campaign_id, """
        SELECT a.code AS agency_code, i.code AS item_code, t.score, t.n
        FROM answer_tally t JOIN agency a ON a.id = t.agency_id JOIN item i ON i.id = t.item_id
        WHERE t.campaign_id = :c""", 4)
    n: dict[tuple, int] = {}
    for agency, item, score, count in rows:
        n[agency, item, score] = n.get((agency, item, score), 0) + count
    for key, count in tail.items():
        n[key] = n.get(key, 0) + count
    if exclude_rejected:
        for key in rejected_answers(conn, campaign_id):
            if key in n:
                n[key] -= 1
    counts = pd.DataFrame([(*key, count) for key, count in sorted(n.items()) if count > 0],
                          columns=TALLY_COLUMNS)
    counts = counts.astype({"agency_code": str, "item_code": str, "score": int, "n": int})
    return counts.reset_index(drop=True)


#: Answers per (agency, item) with one column per score 0..5: the database sums the
#: scores of each cell, so a campaign comes back as agencies x items rows (2,850 for 150
#: agencies and 19 items), whatever its number of responses.
_TALLY_CELLS = """
    SELECT a.code, i.code, s.n0, s.n1, s.n2, s.n3, s.n4, s.n5
    FROM (SELECT agency_id, item_id, {sums} FROM answer_tally
          WHERE campaign_id = :c GROUP BY agency_id, item_id) s
    JOIN agency a ON a.id = s.agency_id JOIN item i ON i.id = s.item_id""".format(
    sums=", ".join(f"coalesce(sum(n) FILTER (WHERE score = {k}), 0) AS n{k}"
                   for k in range(SCALE_MAX + 1)))


def tally_counts(conn, campaign_id: int, book: pd.DataFrame, *,
                 exclude_rejected: bool = False) -> TallyCounts:
    """The tally the database keeps, as :class:`analysis.TallyCounts` over the satisfaction
    items of ``book``: the same answers as :func:`tally`, in the form indices are
    computed from. Agencies without any answer are left out, as in :func:`tally`.

    With `exclude_rejected`, the answers of responses whose latest review is "rejected"
    are subtracted (they are few; their answers are read, not the whole campaign's).
    """
    items = [str(c) for c in satisfaction_items(book)["item_code"]]
    item_pos = {code: k for k, code in enumerate(items)}
    rows, tail = _with_tail(conn, campaign_id, _TALLY_CELLS, 8)
    rows = [r for r in rows if r[1] in item_pos]
    codes = sorted({r[0] for r in rows} | {code for code, _, _ in tail})
    agency_pos = {code: k for k, code in enumerate(codes)}
    counts = np.zeros((len(codes), len(items), SCALE_MAX + 1), dtype="int64")
    if rows:
        agencies, cells, *scores = zip(*rows, strict=True)
        counts[[agency_pos[c] for c in agencies], [item_pos[c] for c in cells]] = \
            np.array(scores, dtype="int64").T
    for (code, item, score), n in tail.items():
        if item in item_pos:
            counts[agency_pos[code], item_pos[item], score] += n
    if exclude_rejected and codes:
        for code, item, value in rejected_answers(conn, campaign_id):
            if code in agency_pos and item in item_pos and 0 <= value <= SCALE_MAX:
                counts[agency_pos[code], item_pos[item], value] -= 1
        np.maximum(counts, 0, out=counts)
    answered = counts.sum(axis=(1, 2)) > 0
    return TallyCounts(np.array(codes, dtype=object)[answered], items, counts[answered])

