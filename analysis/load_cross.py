"""The kept cross counts (``cross_tally``): a campaign's effective answers per agency and
group, a group being a channel or an answer to a profile (choice) question — what a
breakdown by channel or by a profile question shows, and the report's "who answered"
and "priorities" tables — so that they read a few thousand rows, not every response.

One row per (campaign, agency, group_by, group_value), ``group_by`` being "channel" or
the profile item's code; its ``counts`` are a vector laid out by :class:`CrossPlan` from
the questionnaire: for each scored item in order, its answers with score 0..5; then the
group's respondents; then, for each other counted item with a scale (priority), its
answers per value. A respondent counts in one channel row and in one row per profile
answer (per chosen code of a multiple choice), so a submission writes a handful of rows.
Kept like the answer tally (`survey_app.intake.store.tally_step`): counted in steps up to
the campaign's tally mark, the few responses after it counted from their answers when
read, corrections moving them, and checked with it (`analysis.load.check_tally`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .io import SCALE_MAX
from .kinds import SCORED, is_counted, is_grouping, is_listed, scale
from .load_sql import (
    LATEST_REVIEW,
    _campaign_of_id_range,
    _fetch,
    add_scored,
    corrections,
    effective_answers,
)

#: The group variable of a breakdown by channel (a response column, not an item).
CHANNEL = "channel"
#: How a stored vector is encoded: 32-bit little-endian integers.
DTYPE = "<i4"
ANSWER_COUNT_COLUMNS = ["agency_code", "item_code", "value", "n"]
#: A check's cell of the cross counts is keyed (CROSS, agency, group_by, group_value).
CROSS = "cross"


@dataclass(frozen=True)
class CrossPlan:
    """The layout of a version's count vector (see the module's docstring)."""

    scored: dict  # scored item code -> first slot
    groups: dict  # grouping item code -> listed
    valued: dict  # other counted item code with a scale -> (first slot, lowest, highest)
    respondents: int
    size: int
    #: (item code, value) of each slot; the respondents' slot is ("", 0)
    slots: tuple = field(default=())

    @classmethod
    def of(cls, items) -> CrossPlan:
        """From the (code, type) of a version's items, in questionnaire order."""
        scored, groups, valued, slots = {}, {}, {}, []
        for code, kind in items:
            if kind == SCORED:
                scored[code] = len(slots)
                slots += [(code, s) for s in range(SCALE_MAX + 1)]
        respondents = len(slots)
        slots.append(("", 0))
        for code, kind in items:
            low, high = scale(kind)
            if is_counted(kind) and is_grouping(kind):
                groups[code] = is_listed(kind)
            elif is_counted(kind) and kind != SCORED and low is not None:
                valued[code] = (len(slots), low, high)
                slots += [(code, v) for v in range(low, high + 1)]
        return cls(scored, groups, valued, respondents, len(slots), tuple(slots))


def plan(conn, campaign_id: int) -> CrossPlan:
    rows, _ = _fetch(conn, """
        SELECT i.code, i.type FROM item i JOIN campaign c ON c.version_id = i.version_id
        WHERE c.id = :c ORDER BY i.position""", {"c": campaign_id})
    return CrossPlan.of(rows)


def _values(value, listed: bool) -> list[str]:
    """An answer's values as groups: each chosen code once."""
    if value is None:
        return []
    values = value if listed and isinstance(value, list) else [value]
    out = [str(v) for v in values if isinstance(v, str | int) and not isinstance(v, bool)]
    return [v for v in dict.fromkeys(out) if v.strip()]


def _parts(answers: dict, channel: str, plan: CrossPlan) -> tuple[list, list]:
    """(the slots one response's effective answers count in, the groups it is in)."""
    slots = [plan.respondents]
    for code, first in plan.scored.items():
        v = answers.get(code)
        if type(v) is int and 0 <= v <= SCALE_MAX:
            slots.append(first + v)
    for code, (first, low, high) in plan.valued.items():
        v = answers.get(code)
        if type(v) is int and low <= v <= high:
            slots.append(first + v - low)
    groups = [(CHANNEL, channel)] if channel else []
    for code, listed in plan.groups.items():
        groups += [(code, value) for value in _values(answers.get(code), listed)]
    return slots, groups


def add_cross(counts: dict, agency, channel: str, answers: dict, plan: CrossPlan,
              sign: int = 1) -> None:
    """Add (sign 1) or take away (-1) one response's effective answers to the count
    vectors (lists) of `counts`, keyed (agency, group_by, group_value)."""
    slots, groups = _parts(answers, channel, plan)
    for by, value in groups:
        row = counts.get((agency, by, value))
        if row is None:
            row = counts[agency, by, value] = [0] * plan.size
        for slot in slots:
            row[slot] += sign


class CrossCounts:
    """Count vectors of many responses, kept as one matrix (a row per key, (agency,
    group_by, group_value)) and counted by numpy in one pass: a step counts hundreds of
    rows, and numpy's cost is per call."""

    #: Slot increments held before they are counted: bounds the memory of a recount.
    FOLD = 1_000_000

    def __init__(self, plan: CrossPlan):
        self.plan = plan
        self.keys: dict[tuple, int] = {}
        self._flat: list[np.ndarray] = []
        self._held = 0
        self._counted = np.zeros((0, plan.size), dtype="int64")

    def add(self, agency, channel: str, answers: dict) -> None:
        slots, groups = _parts(answers, channel, self.plan)
        if groups:
            rows = np.array([self.keys.setdefault((agency, by, value), len(self.keys))
                             for by, value in groups]) * self.plan.size
            self._flat.append(np.add.outer(rows, np.array(slots)).ravel())
            self._held += len(self._flat[-1])
            if self._held > self.FOLD:
                self.matrix()

    def matrix(self) -> np.ndarray:
        """The counts so far, a row per key in the order of `keys`."""
        size, n = self.plan.size, len(self.keys)
        counted = np.zeros((n, size), dtype="int64")
        counted[:len(self._counted)] = self._counted
        if self._flat:
            counted += np.bincount(np.concatenate(self._flat),
                                   minlength=n * size).reshape(n, size)
        self._counted, self._flat, self._held = counted, [], 0
        return counted

    def items(self):
        """(key, count vector) of every key."""
        return zip(self.keys, self.matrix(), strict=True)


def count_kept(responses, fixes: dict[int, list], scored: dict, plan: CrossPlan
               ) -> tuple[dict[tuple, int], CrossCounts]:
    """The tally's counts (as `analysis.load.count_answers`) and the cross counts of some
    responses, (response id, agency, channel, stored answers as JSON) each, with their
    corrections (`fixes`) applied, every answer read once: what a step adds."""
    tally: dict[tuple, int] = {}
    cross = CrossCounts(plan)
    for rid, agency, channel, stored in responses:
        answers = effective_answers(rid, stored, fixes)
        add_scored(tally, agency, answers, scored)
        cross.add(agency, channel, answers)
    return tally, cross


def encode(counts) -> bytes:
    return np.asarray(counts, dtype=DTYPE).tobytes()


def decode(stored, size: int) -> np.ndarray:
    out = np.zeros(size, dtype="int64")
    values = np.frombuffer(bytes(stored), dtype=DTYPE)[:size]
    out[:len(values)] = values
    return out


# --- reading the kept counts ------------------------------------------------------------------
#: Rows, the responses after the mark (its tail) and the mark from one statement: one
#: moment of the database (see `analysis.load._with_tail`). A row's (agency code,
#: group_by, group_value, counts), a tail response's (agency code, channel, answers, id).
_KEPT = """
    SELECT 'c', a.code, t.group_by, t.group_value, t.counts, NULL FROM cross_tally t
    JOIN agency a ON a.id = t.agency_id WHERE t.campaign_id = :c{where}
    UNION ALL
    SELECT 't', a.code, r.channel, r.answers, NULL, r.id FROM response r
    JOIN agency a ON a.id = r.agency_id WHERE r.id > :mark AND {campaign} = :c
    UNION ALL
    SELECT 'm', NULL, NULL, NULL, NULL, m.response_id FROM tally_mark m
    WHERE m.campaign_id = :c"""


def _mark(conn, campaign_id: int) -> int:
    rows, _ = _fetch(conn, "SELECT response_id FROM tally_mark WHERE campaign_id = :c",
                     {"c": campaign_id})
    return rows[0][0] if rows else 0


def rejected_cross(conn, campaign_id: int, plan: CrossPlan) -> dict[tuple, list]:
    """The cross counts of the campaign's responses whose latest review is "rejected"
    (corrections applied), keyed by agency code: they are few, only their rows are read."""
    rows, _ = _fetch(conn, f"""
        SELECT r.id, a.code, r.channel, r.answers FROM response r
        JOIN ({LATEST_REVIEW}) rv ON rv.response_id = r.id AND rv.state = 'rejected'
        JOIN agency a ON a.id = r.agency_id WHERE r.campaign_id = :c""", {"c": campaign_id})
    fixes = corrections(conn, ids=[r[0] for r in rows])
    return count_kept(rows, fixes, {}, plan)[1]


def kept_rows(conn, campaign_id: int, *, by: str | None = None, agency_codes=None,
              exclude_rejected: bool = False) -> tuple[CrossPlan, dict[tuple, np.ndarray]]:
    """(the campaign's plan, its count vectors keyed (agency code, group_by, value)): the
    stored rows (of group variable `by` only, if given; of the agencies `agency_codes`,
    if given) with the responses after the mark added and, with `exclude_rejected`, the
    rejected responses taken away."""
    layout = plan(conn, campaign_id)
    where, params = "", {"c": campaign_id}
    if by is not None:
        where, params["by"] = " AND t.group_by = :by", by
    sql = _KEPT.format(where=where, campaign=_campaign_of_id_range(conn))
    while True:
        mark = _mark(conn, campaign_id)
        rows, _ = _fetch(conn, sql, {**params, "mark": mark})
        if max((r[5] for r in rows if r[0] == "m"), default=0) == mark:
            break
    wanted = None if agency_codes is None else set(map(str, agency_codes))
    out: dict[tuple, np.ndarray] = {}
    for _tag, agency, group_by, value, stored, _ in (r for r in rows if r[0] == "c"):
        if wanted is None or agency in wanted:
            out[agency, group_by, value] = decode(stored, layout.size)
    tail = [(r[5], r[1], r[2], r[3]) for r in rows if r[0] == "t"]
    changes = [(count_kept(tail, corrections(conn, ids=[r[0] for r in tail]), {},
                           layout)[1], 1)]
    if exclude_rejected:
        changes.append((rejected_cross(conn, campaign_id, layout), -1))
    for cells, sign in changes:
        for key, counts in cells.items():
            if (by is None or key[1] == by) and (wanted is None or key[0] in wanted):
                base = out.get(key)
                out[key] = (np.zeros(layout.size, dtype="int64") if base is None else base) \
                    + sign * np.asarray(counts, dtype="int64")
    return layout, out


def group_counts(conn, campaign_id: int, by: str, *, agency_codes=None,
                 exclude_rejected: bool = False) -> tuple[pd.DataFrame, dict[str, int]]:
    """(answers per group of the group variable `by` — ``channel`` or a profile item's
    code —, summed over the agencies ``agency_codes`` (None: all): ``group, item_code,
    score, n`` over the scored items, n > 0; the respondents of each group)."""
    layout, rows = kept_rows(conn, campaign_id, by=by, agency_codes=agency_codes,
                             exclude_rejected=exclude_rejected)
    summed: dict[str, np.ndarray] = {}
    for (_agency, _by, value), counts in rows.items():
        summed[value] = summed[value] + counts if value in summed else counts
    out = []
    for value, counts in sorted(summed.items()):
        for code, first in layout.scored.items():
            out += [(value, code, s, int(counts[first + s]))
                    for s in range(SCALE_MAX + 1) if counts[first + s] > 0]
    frame = pd.DataFrame(out, columns=["group", "item_code", "score", "n"])
    return (frame.astype({"group": str, "item_code": str, "score": "int64", "n": "int64"}),
            {value: int(c[layout.respondents]) for value, c in summed.items()})


def answer_counts(conn, campaign_ids, *, agency_codes=None,
                  exclude_rejected: bool = False) -> pd.DataFrame:
    """Answers per (agency, item, value) of every item neither scored nor free text (the
    priority and profile questions), summed over ``campaign_ids``, for the agencies
    ``agency_codes`` (None: all): ``agency_code, item_code, value, n`` with n > 0, a
    multiple-choice answer counting once under each chosen code. From the kept counts;
    with ``exclude_rejected``, the responses whose latest review is "rejected" are left
    out (their answers are read and taken away, as for the tally)."""
    summed: dict[tuple, int] = {}

    def add(key, n):
        summed[key] = summed.get(key, 0) + int(n)

    for campaign_id in campaign_ids:
        layout, rows = kept_rows(conn, campaign_id, agency_codes=agency_codes,
                                 exclude_rejected=exclude_rejected)
        for (agency, by, value), counts in rows.items():
            if by in layout.groups:
                add((agency, by, value), counts[layout.respondents])
            elif by == CHANNEL:  # every respondent has one channel: the other items
                for code, (first, low, high) in layout.valued.items():
                    for v in range(low, high + 1):
                        add((agency, code, str(v)), counts[first + v - low])
    frame = pd.DataFrame([(*k, n) for k, n in sorted(summed.items()) if n > 0],
                         columns=ANSWER_COUNT_COLUMNS)
    return frame.astype({"agency_code": str, "item_code": str, "value": str, "n": "int64"})


def commented_counts(conn, campaign_ids, items: list[str], *, agency_codes=None,
                     exclude_rejected: bool = False) -> dict[str, int]:
    """Responses with a written comment (a non-blank answer to one of the free-text
    ``items``) per agency code, the stored answers tested by the database (JSON picked
    out, never parsed here); the few corrected responses, and with ``exclude_rejected``
    the rejected ones, are then read and counted as they stand."""
    if not items or not campaign_ids or any('"' in c or "\\" in c for c in items):
        return {}
    if conn.dialect.name == "postgresql":
        tests = [f"btrim(coalesce(r.answers::json ->> :i{k}, '')) <> ''"
                 for k in range(len(items))]
        params = {f"i{k}": code for k, code in enumerate(items)}
    else:
        tests = [f"trim(coalesce(json_extract(r.answers, :i{k}), '')) <> ''"
                 for k in range(len(items))]
        params = {f"i{k}": f'$."{code}"' for k, code in enumerate(items)}
    ids = ",".join(str(int(c)) for c in campaign_ids)
    written = "(" + " OR ".join(tests) + ")"
    rows, _ = _fetch(conn, f"""
        SELECT a.code, count(*) FROM response r JOIN agency a ON a.id = r.agency_id
        WHERE r.campaign_id IN ({ids}) AND {written} GROUP BY a.code""", params)
    counts = {code: int(n) for code, n in rows}
    # Responses whose comment a correction changed, or rejected ones: as they stand.
    rejected = (f"r.id IN (SELECT response_id FROM ({LATEST_REVIEW}) lr "
                "WHERE lr.state = 'rejected')") if exclude_rejected else "1 = 0"
    special, _ = _fetch(conn, f"""
        SELECT r.id, a.code, r.answers, {written}, {rejected} FROM response r
        JOIN agency a ON a.id = r.agency_id
        WHERE r.campaign_id IN ({ids}) AND (r.id IN (SELECT response_id FROM
              response_correction) OR {rejected})""", params)
    fixes = corrections(conn, ids=[r[0] for r in special]) if special else {}
    for rid, code, stored, counted, dropped in special:
        answers = effective_answers(rid, stored, fixes)
        now = not dropped and any(str(answers.get(c) or "").strip() for c in items)
        counts[code] = counts.get(code, 0) - bool(counted) + now
    if agency_codes is not None:
        counts = {c: n for c, n in counts.items() if c in set(agency_codes)}
    return {c: n for c, n in counts.items() if n > 0}
