"""The official report's tables checked against the audit bundle: each table of figures
built again by the builder the application used (:mod:`analysis.official_tables`) from
the recomputed indices and the bundle's responses, and compared cell by cell as shown
(the same number format on both sides)."""

from __future__ import annotations

import re

import pandas as pd

from . import official_tables as tables
from .disclosure import MARK
from .kinds import is_free_text
from .messages import say
from .report_compare import ReportCheck
from .report_files import CAPTION, Published
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


#: A figure as a PDF's text shows it: a number with a decimal comma (and dots between
#: thousands), signed for a change, a dash for none, or a hidden cell's mark.
PDF_FIGURE = re.compile(r"^([+-]?\d{1,3}(\.\d{3})*(,\d+)?|–|" + re.escape(MARK) + ")$")


def pdf_sections(lines: list[str]) -> dict[str, list[str]]:
    """The lines of a PDF's text after each caption ("Bảng N. title"), by title, up to
    the next caption."""
    out, current = {}, None
    for line in lines:
        m = CAPTION.match(line.strip())
        if m:
            current = m.group(1)
            out[current] = []
        elif current is not None:
            out[current].append(line)
    return out


def compare_pdf_table(check: ReportCheck, expected: Table, lines: list[str]) -> None:
    """A table read from a PDF's text: each row is the next line ending in the row's last
    run of figures (and the words after them); those figures are compared in order. The
    words before them (names, which may wrap) are not."""
    columns = expected.columns
    last = max(i for i, c in enumerate(columns) if c.figure)
    first = last
    while first > 0 and columns[first - 1].figure:
        first -= 1
    run = last - first + 1
    pending = iter(lines)
    for number, row in enumerate(expected.shown(), start=1):
        ending = row[first:last + 1] + [w for text in row[last + 1:] for w in text.split()]
        tokens = next((t for t in (line.split() for line in pending)
                       if len(t) >= len(ending) and all(
                           PDF_FIGURE.match(x) for x in t[-len(ending):][:run])), None)
        if tokens is None:
            check.checked += 1
            check.differences.append(say("report.table_rows", table=expected.title,
                                         published=number - 1,
                                         recomputed=len(expected.rows)))
            return
        where = say("where.table_row", table=expected.title, number=number)
        for column, want, got in zip(columns[first:last + 1], ending, tokens[-len(ending):],
                                     strict=False):
            if got == MARK:
                continue
            check.checked += 1
            if got != want:
                check.differences.append(say("report.figure", name=column.title, where=where,
                                             published=got, recomputed=want))


def check_official(published: Published, rec: Recomputed, check: ReportCheck) -> None:
    pdf = published.kind == "official-pdf"
    sections = pdf_sections(published.lines) if pdf else published.sheets
    for table in expected_tables(rec, published.statement):
        found = sections.get(table.title)
        if found is None:
            check.checked += 1
            check.differences.append(say("report.table_missing", table=table.title))
            continue
        if pdf:
            compare_pdf_table(check, table, found)
        else:
            compare_table(check, table, found)
    if not rec.kinds:
        check.unchecked.append(say("report.official_unchecked", table="Xếp hạng",
                                   why=say("why.tree")))
    for title, why in NOT_FROM_BUNDLE.items():
        if title in sections:
            check.notes.append(say("report.official_unchecked", table=title, why=say(why)))
