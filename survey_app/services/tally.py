"""The answer tally checked against the responses it counts (`analysis.load.check_tally`):
by `flask check-tally`, by every checkpoint, and before a campaign's results are shown.

Indices come from the tally, a derived table outside the hash chain; a count changed in it
would change every published figure. The full check reads every response of a campaign.
The results pages use a cheap path instead: a fingerprint of the stored tally (built by the
database, a few milliseconds) is compared with the one last checked; the recount is kept per
campaign and extended by the responses a step counted and the corrections made since. A
process's first view starts from the last checkpoint whose check found the tally right
(its digest, mark and last correction): only the responses and corrections since are
counted, not the whole campaign.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from analysis import load as loader
from analysis.load import TallyCheck

from ..extensions import db
from ..models import Campaign, LedgerCheckpoint
from . import ServiceError


class TallyMismatch(ServiceError):
    """The campaign's tally differs from a recount of its responses."""


def check(campaign: Campaign) -> TallyCheck:
    """The full check of one campaign (reads all its responses up to the tally's mark):
    `flask check-tally`."""
    return loader.check_tally(db.session.connection(), campaign.id)


def difference_lines(campaign: Campaign, result: TallyCheck, limit: int | None = None
                     ) -> list[str]:
    """One Vietnamese line per differing cell (the tally's, then the cross counts')."""
    every = [*result.differences, *result.cross_differences]
    shown = every if limit is None else every[:limit]
    lines = [_line(campaign, *cell) for cell in shown]
    if limit is not None and len(every) > limit:
        lines.append(_("… và %(n)d ô khác.", n=len(every) - limit))
    return lines


def _line(campaign: Campaign, agency, item, score, *rest) -> str:
    if len(rest) == 2:
        stored, recount = rest
        return _("Đợt %(c)s, cơ quan %(a)s, câu %(i)s, điểm %(s)d: bảng đếm ghi %(stored)d, "
                 "đếm lại từ phiếu được %(recount)d.", c=campaign.code, a=agency, i=item,
                 s=score, stored=stored, recount=recount)
    by, value, stored, recount = rest
    return _("Đợt %(c)s, cơ quan %(a)s, nhóm %(by)s = %(v)s, câu %(i)s, điểm %(s)d: bảng "
             "đếm chéo ghi %(stored)d, đếm lại từ phiếu được %(recount)d.", c=campaign.code,
             a=agency, by=by, v=value, i=item, s=score, stored=stored, recount=recount)


def summary(campaign: Campaign, result: TallyCheck) -> str:
    if result.ok:
        return _("Đợt %(c)s: bảng đếm khớp với %(n)d ô đếm lại từ phiếu (đến phiếu số "
                 "%(m)d).", c=campaign.code, n=result.cells, m=result.mark)
    return _("Đợt %(c)s: bảng đếm KHÔNG khớp với phiếu ở %(n)d ô.", c=campaign.code,
             n=result.wrong)


# --- the results pages' cheap path ---------------------------------------------------------

@dataclass
class _Known:
    mark: int
    last_fix: int
    expected: dict  # the recount up to `mark`, {(agency_id, item_id, score): n}
    fingerprint: tuple | None = None  # of the stored tally last compared with it
    verdict: TallyCheck | None = None  # and what the comparison found


_lock = threading.Lock()


def verified(campaign: Campaign, *, digest: bool = False) -> TallyCheck:
    """The check without recounting the whole campaign each time (the results pages, and
    checkpoints): the stored tally is compared with the recount kept for its mark, which
    is extended by what changed since. With `digest`, the result carries the stored
    tally's digest, mark and last correction, all from one reading (else the digest is
    left empty, and an unchanged fingerprint is enough)."""
    conn = db.session.connection()
    fingerprint = loader.tally_fingerprint(conn, campaign.id)
    cache = current_app.extensions.setdefault("tally_checks", {})
    with _lock:
        known = cache.get(campaign.id)
    if not digest and known is not None and known.fingerprint == fingerprint:
        return known.verdict  # the usual case
    stored, mark, last_fix = loader.stored_tally(conn, campaign.id)
    if known is None or known.last_fix > last_fix or known.mark > mark:
        known = _anchored(conn, campaign, stored, mark, last_fix) or _Known(
            mark, last_fix, loader.recount_tally(conn, campaign.id, 0, mark, last_fix)
            if mark else {})
    elif known.last_fix < last_fix or known.mark < mark:
        expected = dict(known.expected)
        # Corrections since: their responses counted again, as corrected now.
        fixed = loader.corrected_since(conn, campaign.id, known.last_fix, last_fix,
                                       known.mark)
        _shift(conn, campaign.id, expected, -1, 0, known.mark, known.last_fix, fixed)
        _shift(conn, campaign.id, expected, 1, 0, known.mark, last_fix, fixed)
        # A step since: the responses it counted.
        _shift(conn, campaign.id, expected, 1, known.mark, mark, last_fix)
        known = _Known(mark, last_fix, expected)
    verdict = loader.compare_tally(conn, campaign.id, stored, mark, known.expected,
                                   digest=digest, last_fix=last_fix)
    # Kept for this fingerprint only if the tally did not change while it was read.
    if loader.tally_fingerprint(conn, campaign.id) == fingerprint:
        known.fingerprint, known.verdict = fingerprint, verdict
        with _lock:
            cache[campaign.id] = known
    return verdict


def _shift(conn, campaign_id: int, cells: dict, sign: int, first: int, last: int,
           last_fix: int, ids=None) -> None:
    """Add (sign 1) or take away (-1) what the tally counts of those responses."""
    loader.add_cells(cells, loader.recount_tally(conn, campaign_id, first, last, last_fix,
                                                 ids=ids), sign)


def _anchored(conn, campaign: Campaign, stored: dict, mark: int, last_fix: int
              ) -> _Known | None:
    """The check without a recount of the whole campaign (a process's first view of it):
    from the stored tally, the responses counted since the last checkpoint whose check
    found the tally right and the corrections since are taken away again; if what is left
    has that checkpoint's tally digest, the stored tally is right. None: no such
    checkpoint, or the digest differs (the caller recounts everything to name the fault)."""
    cp = db.session.scalar(
        select(LedgerCheckpoint)
        .where(LedgerCheckpoint.campaign_id == campaign.id,
               LedgerCheckpoint.tally_digest.is_not(None),
               LedgerCheckpoint.tally_mark <= mark,
               LedgerCheckpoint.tally_last_correction <= last_fix)
        .order_by(LedgerCheckpoint.id.desc()).limit(1))
    if cp is None:
        return None
    then = dict(stored)
    _shift(conn, campaign.id, then, -1, cp.tally_mark, mark, last_fix)
    fixed = loader.corrected_since(conn, campaign.id, cp.tally_last_correction, last_fix,
                                   cp.tally_mark)
    _shift(conn, campaign.id, then, -1, 0, cp.tally_mark, last_fix, fixed)
    _shift(conn, campaign.id, then, 1, 0, cp.tally_mark, cp.tally_last_correction, fixed)
    if loader.tally_digest(conn, then) != cp.tally_digest:
        return None
    return _Known(mark, last_fix, dict(stored))


def guard(campaign: Campaign) -> None:
    """Refuse (TallyMismatch, naming each differing cell) to show results computed from a
    tally that does not match the responses."""
    result = verified(campaign)
    if not result.ok:
        raise TallyMismatch(
            _("Không hiển thị kết quả đợt %(c)s: bảng đếm câu trả lời không khớp với các "
              "phiếu đã nhận (%(n)d ô). Hãy báo quản trị viên chạy `flask check-tally`.",
              c=campaign.code, n=result.wrong),
            details=difference_lines(campaign, result, limit=20))
