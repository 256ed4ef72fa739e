"""The kept cross counts (``cross_tally``): a campaign's effective answers per (agency,
group, scored item, score), a group being a channel or an answer to a profile (choice)
question, and the plain counts of every answer that is neither scored nor free text (the
report's "who answered" and "priorities" tables).

Kept like the answer tally (`survey_app.intake.store.tally_step`): counted in steps up to
the campaign's tally mark, the few responses after it counted from their answers when
read, corrections moving them, and checked with it (`analysis.load.check_tally`). A row
whose item is the group's own item (``item_id`` the profile or priority item,
``group_by`` its code, score 0) counts the answers ``group_value`` to that item: the plain
counts. Breakdowns and those tables then read a few thousand rows, not every response.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pandas as pd

from .io import SCALE_MAX
from .kinds import SCORED, is_counted, is_grouping, is_listed
from .load_sql import (
    LATEST_REVIEW,
    _campaign_of_id_range,
    _fetch,
    apply_corrections,
    corrections,
)

#: The group variable of a breakdown by channel (a response column, not an item).
CHANNEL = "channel"
ANSWER_COUNT_COLUMNS = ["agency_code", "item_code", "value", "n"]


@dataclass(frozen=True)
class CrossPlan:
    """What the cross counts count of a questionnaire version, keyed as wanted (item ids
    where the counts are stored, codes where they are read)."""

    scored: dict  # scored item code -> key
    counted: dict  # counted item code -> (key, listed, grouping)

    @classmethod
    def of(cls, items) -> CrossPlan:
        """From (code, key, type) of a version's items."""
        return cls({code: key for code, key, kind in items if kind == SCORED},
                   {code: (key, is_listed(kind), is_grouping(kind))
                    for code, key, kind in items if is_counted(kind)})


def plan(conn, campaign_id: int, key: str = "id") -> CrossPlan:
    """The campaign's plan, items keyed by their ``id`` or ``code``."""
    rows, _ = _fetch(conn, f"""
        SELECT i.code, i.{key}, i.type FROM item i
        JOIN campaign c ON c.version_id = i.version_id WHERE c.id = :c""", {"c": campaign_id})
    return CrossPlan.of(rows)


def _values(value, listed: bool) -> list[str]:
    """An answer's values as the counts key them: each chosen code once."""
    if value is None:
        return []
    values = value if listed and isinstance(value, list) else [value]
    out = [str(v) for v in values if isinstance(v, str | int) and not isinstance(v, bool)]
    return [v for v in dict.fromkeys(out) if v.strip()]


def add_cross(counts: dict, agency, channel: str, answers: dict, plan: CrossPlan,
              sign: int = 1) -> None:
    """Add (sign 1) or take away (-1) what the cross counts hold of one response's
    effective answers: {(agency, item, score, group_by, group_value): n}."""
    scores = [(key, v) for code, key in plan.scored.items()
              if type(v := answers.get(code)) is int and 0 <= v <= SCALE_MAX]
    groups = [(CHANNEL, channel)] if channel else []
    for code, (key, listed, grouping) in plan.counted.items():
        for value in _values(answers.get(code), listed):
            cell = (agency, key, 0, code, value)
            counts[cell] = counts.get(cell, 0) + sign
            if grouping:
                groups.append((code, value))
    for by, value in groups:
        for key, score in scores:
            cell = (agency, key, score, by, value)
            counts[cell] = counts.get(cell, 0) + sign


def count_cross(responses, fixes: dict[int, list], plan: CrossPlan) -> dict[tuple, int]:
    """What the cross counts hold of some responses, (response id, agency, channel,
    stored answers as JSON) each, with their corrections (`fixes`) applied."""
    counts: dict[tuple, int] = {}
    for rid, agency, channel, stored in responses:
        answers = json.loads(stored)
        if rid in fixes:
            answers = apply_corrections(answers, fixes[rid])
        add_cross(counts, agency, channel, answers, plan)
    return counts


def count_kept(responses, fixes: dict[int, list], scored: dict, plan: CrossPlan
               ) -> tuple[dict[tuple, int], dict[tuple, int]]:
    """The tally's counts (as `analysis.load.count_answers`) and the cross counts of some
    responses, (response id, agency, channel, stored answers as JSON) each, every answer
    read once: what a step of the tally adds."""
    tally: dict[tuple, int] = {}
    cross: dict[tuple, int] = {}
    for rid, agency, channel, stored in responses:
        answers = json.loads(stored)
        if rid in fixes:
            answers = apply_corrections(answers, fixes[rid])
        for code, value in answers.items():
            key = scored.get(code)
            if key is not None and type(value) is int and 0 <= value <= SCALE_MAX:
                tally[agency, key, value] = tally.get((agency, key, value), 0) + 1
        add_cross(cross, agency, channel, answers, plan)
    return tally, cross


# --- reading the kept counts ------------------------------------------------------------------
#: Cells (summed by the database), the responses after the mark (its tail) and the mark,
#: from one statement: one moment of the database (see `analysis.load._with_tail`).
#: Columns line up by type on PostgreSQL: a cell's (agency code, item code, score,
#: group_by, value, n), a tail response's (agency code, channel, id, answers).
_KEPT = """
    SELECT 'c', q.* FROM ({cells}) q
    UNION ALL
    SELECT 't', a.code, r.channel, r.id, r.answers, NULL, NULL FROM response r
    JOIN agency a ON a.id = r.agency_id WHERE r.id > :mark AND {campaign} = :c
    UNION ALL
    SELECT 'm', NULL, NULL, m.response_id, NULL, NULL, NULL FROM tally_mark m
    WHERE m.campaign_id = :c"""


def _kept(conn, campaign_id: int, cells: str, params: dict) -> tuple[list, dict]:
    """(rows of `cells`, six columns; the tail's cross counts keyed by codes)."""
    sql = _KEPT.format(cells=cells, campaign=_campaign_of_id_range(conn))
    while True:
        mark = _mark(conn, campaign_id)
        rows, _ = _fetch(conn, sql, {**params, "c": campaign_id, "mark": mark})
        if max((r[3] for r in rows if r[0] == "m"), default=0) == mark:
            break
    tail = [(r[3], r[1], r[2], r[4]) for r in rows if r[0] == "t"]
    fixes = corrections(conn, ids=[r[0] for r in tail])
    return ([r[1:] for r in rows if r[0] == "c"],
            count_cross(tail, fixes, plan(conn, campaign_id, "code")))


def _mark(conn, campaign_id: int) -> int:
    rows, _ = _fetch(conn, "SELECT response_id FROM tally_mark WHERE campaign_id = :c",
                     {"c": campaign_id})
    return rows[0][0] if rows else 0


def rejected_cross(conn, campaign_id: int) -> dict[tuple, int]:
    """The cross counts of the campaign's responses whose latest review is "rejected"
    (corrections applied), keyed by codes: they are few, only their rows are read."""
    rows, _ = _fetch(conn, f"""
        SELECT r.id, a.code, r.channel, r.answers FROM response r
        JOIN ({LATEST_REVIEW}) rv ON rv.response_id = r.id AND rv.state = 'rejected'
        JOIN agency a ON a.id = r.agency_id WHERE r.campaign_id = :c""", {"c": campaign_id})
    fixes = corrections(conn, ids=[r[0] for r in rows])
    return count_cross(rows, fixes, plan(conn, campaign_id, "code"))


def _agency_filter(conn, agency_codes) -> str:
    """An SQL condition on ``t.agency_id`` for the agencies ``agency_codes`` (None: all)."""
    if agency_codes is None:
        return ""
    wanted = set(map(str, agency_codes))
    ids = [int(i) for i, code in _fetch(conn, "SELECT id, code FROM agency")[0]
           if code in wanted]
    return " AND t.agency_id IN (" + (",".join(map(str, ids)) or "NULL") + ")"


def _combined(conn, campaign_id: int, cells: str, params: dict, agency_codes,
              exclude_rejected: bool, keep) -> dict[tuple, int]:
    """The kept cells (`cells` gives agency code, item code, score, group_by, value, n),
    the tail added and, with `exclude_rejected`, the rejected responses taken away: keyed
    (agency code, item code, score, group_by, value); `keep` selects the tail's cells."""
    rows, tail = _kept(conn, campaign_id, cells, params)
    counts: dict[tuple, int] = {}
    for agency, item, score, by, value, n in rows:
        key = (agency, item, score, by, value)
        counts[key] = counts.get(key, 0) + n
    wanted = None if agency_codes is None else set(map(str, agency_codes))
    changes = [(tail, 1)]
    if exclude_rejected:
        changes.append((rejected_cross(conn, campaign_id), -1))
    for cells_, sign in changes:
        for key, n in cells_.items():
            if keep(key) and (wanted is None or key[0] in wanted):
                counts[key] = counts.get(key, 0) + sign * n
    return counts


def group_counts(conn, campaign_id: int, by: str, *, agency_codes=None,
                 exclude_rejected: bool = False) -> pd.DataFrame:
    """A campaign's kept counts for one group variable (``channel`` or a profile item's
    code), summed over the agencies ``agency_codes`` (None: all): ``group, item_code,
    score, n`` with n > 0. For a profile item, its own rows (item_code ``by``, score 0)
    count the respondents of each group."""
    # Summed over the agencies by the database: a few hundred rows whatever the campaign.
    cells = f"""
        SELECT '*', i.code, s.score, s.group_by, s.group_value, s.n
        FROM (SELECT t.item_id, t.score, t.group_by, t.group_value, sum(t.n) AS n
              FROM cross_tally t
              WHERE t.campaign_id = :c AND t.group_by = :by{_agency_filter(conn, agency_codes)}
              GROUP BY t.item_id, t.score, t.group_by, t.group_value) s
        JOIN item i ON i.id = s.item_id"""
    counts = _combined(conn, campaign_id, cells, {"by": by}, agency_codes,
                       exclude_rejected, lambda key: key[3] == by)
    summed: dict[tuple, int] = {}
    for (_agency, item, score, _by, value), n in counts.items():
        summed[value, item, score] = summed.get((value, item, score), 0) + n
    frame = pd.DataFrame([(*k, n) for k, n in sorted(summed.items()) if n > 0],
                         columns=["group", "item_code", "score", "n"])
    return frame.astype({"group": str, "item_code": str, "score": "int64", "n": "int64"})


def answer_counts(conn, campaign_ids, *, agency_codes=None,
                  exclude_rejected: bool = False) -> pd.DataFrame:
    """Answers per (agency, item, value) of every item neither scored nor free text (the
    priority and profile questions), summed over ``campaign_ids``, for the agencies
    ``agency_codes`` (None: all): ``agency_code, item_code, value, n`` with n > 0, a
    multiple-choice answer counting once under each chosen code. From the kept counts;
    with ``exclude_rejected``, the responses whose latest review is "rejected" are left
    out (their answers are read and taken away, as for the tally)."""
    cells = f"""
        SELECT a.code, i.code, t.score, t.group_by, t.group_value, t.n
        FROM cross_tally t JOIN agency a ON a.id = t.agency_id JOIN item i ON i.id = t.item_id
        WHERE t.campaign_id = :c AND i.code = t.group_by{_agency_filter(conn, agency_codes)}"""
    summed: dict[tuple, int] = {}
    for campaign_id in campaign_ids:
        counts = _combined(conn, campaign_id, cells, {}, agency_codes, exclude_rejected,
                           lambda key: key[1] == key[3])
        for (agency, item, _score, _by, value), n in counts.items():
            summed[agency, item, value] = summed.get((agency, item, value), 0) + n
    frame = pd.DataFrame([(*k, n) for k, n in sorted(summed.items()) if n > 0],
                         columns=ANSWER_COUNT_COLUMNS)
    return frame.astype({"agency_code": str, "item_code": str, "value": str, "n": "int64"})
