"""The official report's tables checked against the audit bundle: each table of figures
built again by the builder the application used (:mod:`analysis.official_tables`) from
the recomputed indices and the bundle's responses, and compared cell by cell as shown
(the same number format on both sides)."""

from __future__ import annotations

import pandas as pd

from . import official_tables as tables
from .disclosure import MARK
from .kinds import is_free_text
from .messages import say
from .report_compare import ReportCheck
from .report_files import Published
from .report_recompute import Recomputed
from .statement import Statement
from .tables import Table

#: Tables of the report that the bundle cannot recompute, and why.
NOT_FROM_BUNDLE = {
    "Cỡ mẫu theo kế hoạch và số phiếu thu được theo cơ quan": "why.planned",
    "Phiếu giấy đã phát và đã thu về theo cơ quan": "why.issuance",
    "Phiếu có dấu hiệu cần xem xét (cảnh báo tự động, không tự loại phiếu)": "why.flags",
    "Ý kiến đã công bố theo yếu tố": "why.released",
    "Thay đổi so với kỳ trước (điểm phần trăm)": "why.baseline",
    "Thay đổi chỉ số chung của từng cơ quan (điểm phần trăm; chỉ các cơ quan có phiếu ở cả "
    "hai kỳ)": "why.baseline",
}


def _counted(rec: Recomputed, statement: Statement) -> pd.DataFrame:
    responses = rec.responses
    if statement.exclude_rejected:
        responses = responses[responses["review_state"] != "rejected"]
    return responses


def expected_tables(rec: Recomputed, statement: Statement) -> list[Table]:
    """Every table of figures the bundle recomputes, as the application builds it."""
    book = rec.codebook
    out = [tables.elements_table(rec.overall, book), tables.criteria_table(rec.overall, book)]
    if rec.kinds:
        out += tables.ranking_tables(rec.own, book, rec.kinds, rec.names)
    subtrees = tables.subtree_table(rec.subtrees, book, rec.names)
    if subtrees is not None:
        out.append(subtrees)
    responses = _counted(rec, statement)
    counts = tables.answer_counts(responses, book)
    # Hidden cells are compared as hidden: build the table with every cell shown.
    out += [t for t in (tables.priorities_table(counts, book),
                        tables.profile_table(counts, book, min_cell=1)) if t is not None]
    free = [c for c, k in zip(book["item_code"], book["type"], strict=True) if is_free_text(k)
            and c in responses.columns]
    if free:
        written = responses[free].fillna("").astype(str).apply(
            lambda col: col.str.strip() != "").any(axis=1)
        commented = responses[written].groupby("agency_code").size()
        out.append(tables.comments_table({str(k): int(v) for k, v in commented.items()},
                                         rec.names))
    return out


def compare_table(check: ReportCheck, expected: Table, published: list[list[str]]) -> None:
    """One table, row by row and cell by cell; a hidden cell (MARK) is not compared."""
    titles = [c.title for c in expected.columns]
    header = [str(v or "").strip() for v in (published[0] if published else [])]
    if header != titles:
        check.checked += 1
        check.differences.append(say("report.table_header", table=expected.title,
                                     published=header, recomputed=titles))
        return
    rows = published[1:]
    shown = expected.shown()
    if len(rows) != len(shown):
        check.checked += 1
        check.differences.append(say("report.table_rows", table=expected.title,
                                     published=len(rows), recomputed=len(shown)))
    for number, (want, got) in enumerate(zip(shown, rows, strict=False), start=1):
        where = say("where.table_row", table=expected.title, number=number)
        for column, value, cell in zip(expected.columns, want, got, strict=False):
            # A workbook holds figures as numbers: shown as the document shows them.
            shown_cell = column.show(cell) if isinstance(cell, int | float) and \
                not isinstance(cell, bool) else cell
            text = " ".join(str("" if shown_cell is None else shown_cell).split())
            if text == MARK:
                continue
            check.checked += 1
            if text != " ".join(value.split()):
                check.differences.append(say("report.figure", name=column.title, where=where,
                                             published=text or say("report.empty"),
                                             recomputed=value or say("report.empty")))


def check_official(published: Published, rec: Recomputed, check: ReportCheck) -> None:
    for table in expected_tables(rec, published.statement):
        found = published.sheets.get(table.title)
        if found is None:
            check.checked += 1
            check.differences.append(say("report.table_missing", table=table.title))
            continue
        compare_table(check, table, found)
    if not rec.kinds:
        check.unchecked.append(say("report.official_unchecked", table="Xếp hạng",
                                   why=say("why.tree")))
    for title, why in NOT_FROM_BUNDLE.items():
        if title in published.sheets:
            check.notes.append(say("report.official_unchecked", table=title, why=say(why)))
