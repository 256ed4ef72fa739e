"""Check a published report against its audit bundle(s):
``python -m analysis verify BUNDLE [BUNDLE…] --report FILE``.

The report states the ledger checkpoint of each of its campaigns and the method
(:mod:`analysis.statement`). Each bundle's ledger must hold its campaign's checkpoint; the
figures are then recomputed from the ledgers alone as of those entries — the responses
chained up to them, with the corrections and review decisions chained up to them, the
bundles' agency tree (``agencies.csv``) — by the application's own computation
(:func:`analysis.report.campaign_tables` and :func:`analysis.report.scope_tables`: the
tally, the respondent samples, the bootstraps, their recentring, the roll-ups), and each
published figure is compared with its recomputation at the published rounding.

A report file is read by the reader registered for its suffix
(:data:`analysis.report_files.READERS`): one function a format, returning the statement,
the per-agency table and, for a workbook, its other sheets
(:func:`analysis.report_compare.check_workbook`) or, for a PDF, its text
(:func:`analysis.report_pdf.check_pdf`).
"""

from __future__ import annotations

import re
from pathlib import Path

from .messages import say
from .report_compare import ReportCheck, check_workbook, compare
from .report_files import Published, ReportFileError, read_report
from .report_official import check_official
from .report_pdf import check_pdf
from .report_recompute import ledger_state, recompute_all


def _scope(published: Published, names: dict) -> str | None:
    """The agency a report is limited to (its "Phạm vi … (mã X)" line), None for all."""
    texts = [str(row[0]) for row in published.sheets.get("Tổng quan", []) if row and row[0]]
    texts += [line.strip() for line in published.lines or []]
    for text in texts:
        m = re.search(r"Phạm vi: .*\(mã ([^()\s]+)\)\s*$", text)
        if m:
            return m.group(1)
    return None


def check_report(bundles, path, published: Published | None = None) -> ReportCheck:
    """Check report file ``path`` (``published``: as already read) against the audit
    bundle(s) (a path or a list of them, one per campaign of a combined report): see the
    module docstring."""
    bundles = [bundles] if isinstance(bundles, str | Path) else list(bundles)
    published = read_report(path) if published is None else published
    statement = published.statement
    check = ReportCheck(path=str(path), statement=statement)
    if not statement.checked:
        check.notes.append(say("digest.unchecked"))
    heads = {}
    for bundle in bundles:
        state = ledger_state(bundle, 0)  # the hashes only
        heads.setdefault(state.campaign, (bundle, state))
    wanted = [c.campaign for c in statement.checkpoints]
    if not set(wanted) & set(heads):
        raise ReportFileError(say("report.unrelated", path=path, wanted=", ".join(wanted),
                                  given=", ".join(heads)))
    lacking = [c for c in wanted if c not in heads]
    if lacking:
        raise ReportFileError(say("report.missing_bundles", path=path, wanted=", ".join(wanted),
                                  lacking=", ".join(lacking)))
    states = []
    for point in statement.checkpoints:
        bundle, state = heads[point.campaign]
        if point.seq > state.length:
            check.problem = say("report.beyond", seq=point.seq, entries=state.length)
            return check
        head = state.hashes[point.seq - 1] if point.seq else "0" * 64
        if not head.lower().startswith(point.head.lower()):
            check.problem = say("report.rewritten", seq=point.seq, digest=point.digest)
            return check
        states.append(ledger_state(bundle, point.seq))
    rec = recompute_all(states, statement, _scope(published, {}))
    if published.kind == "pdf":
        check_pdf(published, rec, check)
        return check
    if published.kind in ("official", "official-pdf"):
        check_official(published, rec, check)
        return check
    compare(published.table, rec.own, check, complete=published.kind == "xlsx")
    if published.kind == "xlsx":
        check_workbook(published, rec, check)
    return check
