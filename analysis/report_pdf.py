"""The PDF report's tables, read from its text (``pdftotext -layout``) and compared with
their recomputation."""

from __future__ import annotations

import re

from .kinds import CHANNELS
from .messages import say
from .report_compare import (
    ReportCheck,
    _check_channels,
    _compare_rows,
    _counts,
    _element_label,
    _elements,
    _missing,
    _overall_rows,
    _summary_columns,
    _summary_expected,
    _summary_rows,
)
from .report_files import Published
from .report_recompute import Recomputed

_FLOAT = re.compile(r"^(-?\d+,\d+|–)$")
_INT = re.compile(r"^\d+$")
_COUNT = re.compile(r"^(\d+|x)$")  # a count, or a hidden one (analysis.disclosure.MARK)
PDF_SECTIONS = {"I.": "I", "II.": "II", "III.": "III", "IV.": "IV", "V.": "V", "VI.": "VI",
                "VII.": "VII"}


def _pdf_sections(lines: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    current = None
    for line in lines:
        text = line.strip()
        head = text.split(" ", 1)[0]
        if head in PDF_SECTIONS and len(text.split()) > 1 and not text[len(head):].strip()[0]\
                .isdigit():
            current = PDF_SECTIONS[head]
            out[current] = []
        elif current is not None:
            out[current].append(line)
    return out


def _pdf_rows(lines: list[str], ints: int, floats: int, lead: int = 0) -> list[tuple]:
    """The rows of a PDF table: lines ending with ``ints`` whole numbers then ``floats``
    figures (decimal comma, or – for none), as (first ``lead`` tokens or None, the
    rest of the text, figures…). Continuation lines of a wrapped name and page furniture
    do not end so and are left out."""
    rows = []
    for line in lines:
        tokens = line.split()
        need = ints + floats
        if len(tokens) < need or not all(_FLOAT.match(t) for t in tokens[len(tokens) - floats:]):
            continue
        if not all(_INT.match(t) for t in tokens[len(tokens) - need:len(tokens) - floats]):
            continue
        head = tokens[:len(tokens) - need]
        rows.append((*head[:lead], " ".join(head[lead:]), *tokens[len(tokens) - need:]))
    return rows


def check_pdf(published: Published, rec: Recomputed, check: ReportCheck) -> None:
    """The PDF's figures: the response counts, and the tables I (whole scope), II (ranking),
    III (roll-ups), IV (criteria) and V (channels: the counts shown), row by row; names
    are compared by their first line (a long name wraps)."""
    from .indices import SERVICE_CODE

    sections = _pdf_sections(published.lines)
    text = " ".join(" ".join(published.lines).split())
    counts = _counts(rec, published.statement.exclude_rejected)
    m = re.search(r"Số phiếu nhận được: (\d+); bị loại: (\d+); được tính: (\d+)", text)
    if m is None:
        check.unchecked.append(say("report.pdf_counts"))
    else:
        for value, key in zip(m.groups(), ("received", "rejected", "counted"), strict=True):
            check.figure(f"PDF, {say('name.responses', which=key)}",
                         say("where.page", number=1), value, counts[key])
    columns, keys = _summary_columns(rec)
    elements = len(keys) - 4
    ranking = _summary_rows(rec, rec.own, ranked=True)
    if not rec.tree:  # no names to compare with (the per-agency table is not printed)
        columns = [None if c == "agency" else c for c in columns]
    found = [_ranked_row(r) for r in _pdf_rows(sections.get("II", []), 1, 3 + elements)]
    _compare_rows(check, "PDF table II", found, _pdf_names(_summary_expected(
        rec, ranking, True), found), columns,
        [say("name.agency", code=r["agency_code"]) for r in ranking])
    if not rec.tree:
        check.unchecked.append(say("report.pdf_names"))
        check.unchecked += [say("report.pdf_no_tree", table=t) for t in ("I", "III", "IV")]
        return
    # A count per channel, the total and the rejected.
    n = len(CHANNELS) + 2
    channels = [line.split() for line in sections.get("V", [])]
    channels = [(" ".join(t[:-n]), *t[-n:]) for t in channels
                if len(t) > n and all(_COUNT.match(x) for x in t[-n:])]
    _check_channels(check, channels, rec, "PDF table V", first=1)
    rolled = _summary_rows(rec, rec.subtrees, ranked=False)
    found = [("", *r) for r in _pdf_rows(sections.get("III", []), 1, 3 + elements)]
    _compare_rows(check, "PDF table III", found, _pdf_names(_summary_expected(
        rec, rolled, False), found), ["", "unit", *columns[2:]],
        [say("name.unit", code=r["agency_code"]) for r in rolled])
    names = dict(_elements(rec))
    expected = [["" if r["level"] == "service" else r["code"],
                 names.get(r["code"], "Chỉ số chung (SIPAS)"), r["n"], r["index"], r["ci_low"],
                 r["ci_high"], r["mean_score"]] for r in _overall_rows(rec, "element")]
    found = [_element_row(r, names) for r in _pdf_rows(sections.get("I", []), 1, 4)]
    _compare_rows(check, "PDF table I", found, _pdf_names(expected, found, 1),
                  ["code", "name", "n", "index", "ci_low", "ci_high", "mean_score"],
                  [_element_label(r[0], SERVICE_CODE) for r in expected])
    criteria = _overall_rows(rec, "criterion")
    found = _pdf_rows(sections.get("IV", []), 2, 4, lead=1)
    _compare_rows(check, "PDF table IV", found,
                  [[r["code"], None, r["n"], 0 if _missing(r["satisfied"]) else r["satisfied"],
                    r["index"], r["ci_low"], r["ci_high"], r["mean_score"]] for r in criteria],
                  ["code", None, "n", "satisfied", "index", "ci_low", "ci_high", "mean_score"],
                  [say("name.criterion", code=r["code"]) for r in criteria])


def _ranked_row(row: tuple) -> tuple:
    """(rank or "", name, figures…) from a row of table II: a rank is the first token of
    the text when it is a whole number followed by the name."""
    text = row[0]
    first, _, rest = text.partition(" ")
    if _INT.match(first) and rest:
        return (first, rest, *row[1:])
    return ("", text, *row[1:])


def _element_row(row: tuple, names: dict) -> tuple:
    first, _, rest = row[0].partition(" ")
    if first in names:
        return (first, rest, *row[1:])
    return ("", row[0], *row[1:])


def _pdf_names(expected: list[list], found: list[tuple], column: int = 1) -> list[list]:
    """A name in the PDF may wrap onto further lines: a published first line that starts
    the recomputed name is taken as that name."""
    out = []
    for i, row in enumerate(expected):
        row = list(row)
        shown = str(found[i][column]).strip() if i < len(found) else ""
        name = row[column] or ""
        if shown and name.startswith(shown):
            row[column] = shown
        out.append(row)
    return out
