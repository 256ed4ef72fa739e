"""Published figures compared with their recomputation at the published rounding: the
per-agency table and the other sheets of a workbook."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .kinds import CHANNELS
from .messages import say
from .report_files import FIGURES, KEYS, LEVEL_NAMES, XLSX_SHEET, Published
from .report_recompute import Recomputed
from .statement import Statement


def _number(value) -> tuple[float | None, int | None]:
    """(value, decimals written) of a published cell; (None, None) for an empty one.
    Numbers stored as such (a workbook's) have no rounding of their own (None)."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None, None
    if isinstance(value, int | float | np.integer | np.floating):
        return float(value), None
    text = str(value).strip().replace(",", ".")
    if text in ("", "–", "-"):
        return None, None
    number = float(text)  # ValueError: the caller names the cell
    mantissa = text.lower().split("e")[0]
    decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
    return number, (decimals if "e" not in text.lower() else None)


def _agrees(published: float | None, decimals: int | None, recomputed) -> bool:
    missing = recomputed is None or recomputed is pd.NA or (
        isinstance(recomputed, float) and math.isnan(recomputed))
    if published is None or missing:
        return published is None and missing
    recomputed = float(recomputed)
    if decimals is not None and decimals < 9:
        return abs(published - recomputed) <= 0.5 * 10 ** -decimals + 1e-9
    return math.isclose(published, recomputed, rel_tol=1e-9, abs_tol=1e-9)


def _shown(value) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return say("report.empty")
    return f"{value:g}" if isinstance(value, float) else str(value)


@dataclass
class ReportCheck:
    path: str
    statement: Statement
    checked: int = 0
    differences: list[str] = field(default_factory=list)
    problem: str | None = None  # the report cannot be checked against this bundle
    notes: list[str] = field(default_factory=list)
    #: parts of the report that could not be checked (each says why)
    unchecked: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.problem is None and not self.differences and not self.unchecked

    def lines(self, limit: int = 200) -> list[str]:
        marks = ", ".join(c.digest for c in self.statement.checkpoints)
        # Each line starts with an English keyword, the same in every language, for scripts.
        out = [f"Note: {note}" for note in self.notes]
        if self.problem:
            return out + ["REPORT FAILED: " + say("report.failed_problem", path=self.path,
                                                  problem=self.problem)]
        out += [f"NOT CHECKED: {what}" for what in self.unchecked]
        if not self.differences:
            if self.unchecked:
                return out + ["REPORT NOT FULLY CHECKED: " + say(
                    "report.not_fully", path=self.path, marks=marks, checked=self.checked,
                    unchecked=len(self.unchecked))]
            return out + ["REPORT OK: " + say("report.ok", path=self.path, marks=marks,
                                              checked=self.checked)]
        out.append("REPORT FAILED: " + say("report.failed", path=self.path, marks=marks,
                                           count=len(self.differences), checked=self.checked))
        out += [f"DIFFERS: {d}" for d in self.differences[:limit]]
        if len(self.differences) > limit:
            out.append(say("more", count=len(self.differences) - limit))
        return out

    def figure(self, name: str, where: str, published, recomputed) -> None:
        """Compare one published figure (a number, or text such as a name) with its
        recomputation."""
        self.checked += 1
        if isinstance(recomputed, str) or (isinstance(published, str) and recomputed is None):
            text = "" if published is None else str(published).strip()
            if text != (recomputed or ""):
                self.differences.append(say(
                    "report.figure", name=name, where=where,
                    published=text or say("report.empty"),
                    recomputed=recomputed or say("report.empty")))
            return
        try:
            value, decimals = _number(published)
        except ValueError:
            self.differences.append(say("report.not_number", name=name, where=where,
                                        published=published))
            return
        if not _agrees(value, decimals, recomputed):
            self.differences.append(say("report.figure", name=name, where=where,
                                        published=_shown(published),
                                        recomputed=_shown(recomputed)))


def compare(published: pd.DataFrame, recomputed: pd.DataFrame, check: ReportCheck,
            complete: bool = False) -> None:
    """The per-agency table, row by row (agency, level, code); with ``complete``, the
    recomputed rows the file lacks are named too."""
    table = recomputed.assign(**{k: recomputed[k].astype(str) for k in KEYS}).set_index(
        list(KEYS))
    present = [c for c in FIGURES if c in published.columns]
    seen = set()
    for row in published.to_dict("records"):
        level = LEVEL_NAMES.get(str(row["level"]).strip().lower(), str(row["level"]).strip())
        key = (str(row["agency_code"]).strip(), level, str(row["code"]).strip())
        seen.add(key)
        name = f"{say('name.agency', code=key[0])}, {key[1]} {key[2]}"
        if key not in table.index:
            check.checked += 1
            check.differences.append(say("report.no_such_figure", name=name,
                                         where=row["where"]))
            continue
        expected = table.loc[key]
        for column in present:
            check.figure(f"{name}, {column}", row["where"], row[column], expected[column])
    if complete:
        for key in table.index:
            if key not in seen:
                check.checked += 1
                check.differences.append(say(
                    "report.not_published", sheet=XLSX_SHEET,
                    name=f"{say('name.agency', code=key[0])}, {key[1]} {key[2]}"))


def _missing(value) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _summary_rows(rec: Recomputed, table: pd.DataFrame, ranked: bool) -> list[dict]:
    """The rows of the ranking (``ranked``) or roll-up table as the report prints them:
    :func:`analysis.report.summary_table`, in its order."""
    from . import report as rep
    from .indices import rank_agencies

    summary = rep.summary_table(table, rec.codebook, rank_agencies(table) if ranked else None)
    return summary.to_dict("records")


def _elements(rec: Recomputed) -> list[tuple[str, str]]:
    from .io import satisfaction_items

    items = satisfaction_items(rec.codebook)
    return list(dict.fromkeys(zip(items["element_code"], items["element_name"], strict=True)))


def _overall_rows(rec: Recomputed, level: str) -> list[dict]:
    """The scope's element rows then its service row (``level`` "element"), or its
    criterion rows (``level`` "criterion"), in questionnaire order."""
    from .indices import SERVICE_CODE

    table = rec.overall
    if level == "criterion":
        order = list(rec.codebook["item_code"])
        rows = table[table["level"] == "criterion"]
    else:
        order = [code for code, _ in _elements(rec)] + [SERVICE_CODE]
        rows = table[table["level"].isin(("element", "service"))]
    rank = {code: i for i, code in enumerate(order)}
    return sorted(rows.to_dict("records"), key=lambda r: rank.get(r["code"], len(rank)))


def _distribution(rec: Recomputed) -> pd.DataFrame:
    from .io import satisfaction_items

    counts = rec.tally.pivot_table(index="item_code", columns="score", values="n",
                                   aggfunc="sum", fill_value=0)
    items = satisfaction_items(rec.codebook)["item_code"]
    return counts.reindex(index=items, columns=range(0, 6), fill_value=0)


def _pdf(sheet: str) -> bool:
    """Whether a table named ``sheet`` below is one of the PDF's ("PDF table II")
    rather than a workbook's sheet ("Xếp hạng")."""
    return sheet.startswith("PDF")


def _sheet(sheet: str) -> str:
    """How a table named ``sheet`` is called in a line for the user."""
    if _pdf(sheet):
        return say("where.pdf_table", table=sheet.rpartition(" ")[2])
    return say("where.sheet", sheet=sheet)


def _element_label(code: str, service: str) -> str:
    return say("name.service", code=service) if code == "" else say("name.element", code=code)


def _counts(rec: Recomputed, exclude: bool) -> dict[str, int]:
    received = len(rec.responses)
    rejected = int((rec.responses["review_state"] == "rejected").sum())
    return {"received": received, "rejected": rejected,
            "counted": received - (rejected if exclude else 0)}


def _compare_rows(check: ReportCheck, sheet: str, published: list[tuple],
                  expected: list[list], columns: list[str], labels: list[str],
                  first: int = 2) -> None:
    """Two tables row by row, in order: ``published`` (rows of cells as read) against
    ``expected`` (rows of recomputed values, one per ``columns``), each row named by its
    ``labels`` entry; a row published or recomputed only is named too."""
    for i in range(max(len(published), len(expected))):
        where = say("where.sheet_row", sheet=sheet, number=i + first) if not _pdf(sheet) \
            else say("where.row", number=i + 1)
        if i >= len(published):
            check.checked += 1
            check.differences.append(say("report.row_missing", where=where, label=labels[i]))
            continue
        if i >= len(expected):
            check.checked += 1
            check.differences.append(say("report.row_extra", where=where,
                                         row=published[i][:2]))
            continue
        row = published[i]
        for j, column in enumerate(columns):
            if column is None:
                continue
            cell = row[j] if j < len(row) else None
            check.figure(f"{_sheet(sheet)}, {labels[i]}, {column}", where, cell, expected[i][j])


def _summary_columns(rec: Recomputed) -> tuple[list[str], list[str]]:
    elements = [code for code, _ in _elements(rec)]
    return (["rank", "agency", "n", "service index", "service ci_low", "service ci_high",
             *[f"{say('name.element', code=code)} index" for code in elements]],
            ["n", "index", "ci_low", "ci_high", *elements])


def _summary_expected(rec: Recomputed, rows: list[dict], ranked: bool) -> list[list]:
    _, keys = _summary_columns(rec)
    out = []
    for r in rows:
        rank = r.get("rank") if ranked else None
        out.append([None if _missing(rank) else int(rank), rec.names.get(r["agency_code"]),
                    *[r[k] for k in keys]])
    return out


def _body(rows: list[tuple]) -> list[tuple]:
    """A sheet's rows after its header, up to its first empty row."""
    out = []
    for row in rows[1:]:
        if all(v is None or v == "" for v in row):
            break
        out.append(row)
    return out


def check_workbook(published: Published, rec: Recomputed, check: ReportCheck) -> None:
    """Every figure of the workbook's sheets but the per-agency one (checked by
    :func:`compare`)."""
    from .indices import SERVICE_CODE

    sheets = published.sheets
    exclude = published.statement.exclude_rejected
    columns, _ = _summary_columns(rec)
    if not rec.tree:  # no agency tree in the bundle: the names the report itself gives
        rec.names.update({str(c): str(n) for c, n in zip(
            published.table.get("agency_code", []), published.table.get("name", []),
            strict=False)})
    ranking = _summary_rows(rec, rec.own, ranked=True)
    if "Xếp hạng" in sheets:
        _compare_rows(check, "Xếp hạng", _body(sheets["Xếp hạng"]),
                      _summary_expected(rec, ranking, True), columns,
                      [say("name.agency", code=r["agency_code"]) for r in ranking])
    else:
        check.unchecked.append(say("report.no_sheet_here", sheet="Xếp hạng"))
    if not rec.tree:
        check.unchecked += [say("report.sheet_no_tree", sheet=name)
                            for name in ("Cộng dồn", "Tổng quan (yếu tố)", "Tiêu chí")]
    else:
        rolled = _summary_rows(rec, rec.subtrees, ranked=False)
        if rolled or "Cộng dồn" in sheets:
            _compare_rows(check, "Cộng dồn", _body(sheets.get("Cộng dồn", [()])),
                          _summary_expected(rec, rolled, False),
                          ["", "unit", *columns[2:]],
                          [say("name.unit", code=r["agency_code"]) for r in rolled])
        overview = sheets.get("Tổng quan", [])
        start = next((i for i, row in enumerate(overview) if row and row[0] == "Yếu tố"), None)
        elements = dict(_elements(rec))
        expected = [["" if r["level"] == "service" else r["code"],
                     elements.get(r["code"], "Chỉ số chung (SIPAS)"), r["n"], r["index"],
                     r["ci_low"], r["ci_high"], r["mean_score"]]
                    for r in _overall_rows(rec, "element")]
        _compare_rows(check, "Tổng quan", _body(overview[start:]) if start is not None else [],
                      expected, ["code", "name", "n", "index", "ci_low", "ci_high",
                                 "mean_score"],
                      [_element_label(r[0], SERVICE_CODE) for r in expected],
                      first=(start or 0) + 2)
        distribution = _distribution(rec)
        criteria = _overall_rows(rec, "criterion")
        _compare_rows(check, "Tiêu chí", _body(sheets.get("Tiêu chí", [()])),
                      [[r["code"], None, r["n"], 0 if _missing(r["satisfied"]) else
                        r["satisfied"], r["index"], r["ci_low"], r["ci_high"], r["mean_score"],
                        *[int(distribution.loc[r["code"], k]) for k in range(6)]]
                       for r in criteria],
                      ["code", None, "n", "satisfied", "index", "ci_low", "ci_high",
                       "mean_score", *[f"answers {k}" for k in range(6)]],
                      [say("name.criterion", code=r["code"]) for r in criteria])
    counts = _counts(rec, exclude)
    labels = {"Số phiếu nhận được": "received", "Số phiếu bị loại": "rejected",
              "Số phiếu được tính": "counted"}
    for number, row in enumerate(sheets.get("Tổng quan", []), start=1):
        if row and row[0] in labels and len(row) > 1:
            check.figure(f"{_sheet('Tổng quan')}, "
                         f"{say('name.responses', which=labels[row[0]])}",
                         say("where.row", number=number), row[1], counts[labels[row[0]]])
    _check_channels(check, _body(sheets.get("Theo kênh") or [()]), rec)


def _check_channels(check: ReportCheck, rows, rec: Recomputed, sheet: str = "Theo kênh",
                    first: int = 2) -> None:
    """The responses per agency and channel: each count shown must be the bundle's; a
    hidden (suppressed) cell is not compared. ``rows``: (name, open, single use, paper,
    API, total, rejected); a name may be the first line of a wrapped one (PDF)."""
    if not rows:
        return
    frame = rec.responses
    names = {code: str(rec.names.get(code, code)) for code in set(frame["agency_code"])}
    seen = set()
    for number, row in enumerate(rows, start=first):
        shown = str(row[0]).strip() if row and row[0] is not None else ""
        codes = [c for c, name in names.items() if name == shown] or \
            [c for c, name in names.items() if shown and name.startswith(shown)]
        where = say("where.sheet_row", sheet=sheet, number=number) if not _pdf(sheet) else \
            say("where.row", number=number - first + 1)
        if len(codes) != 1:
            check.checked += 1
            check.differences.append(say(
                "report.ambiguous_agency" if codes else "report.unknown_agency",
                sheet=_sheet(sheet), shown=shown, where=where))
            continue
        code = codes[0]
        seen.add(code)
        mine = frame[frame["agency_code"] == code]
        expected = [int((mine["channel"] == c).sum()) for c in CHANNELS]
        expected += [len(mine), int((mine["review_state"] == "rejected").sum())]
        for j, column in enumerate([*CHANNELS, "total", "rejected"], start=1):
            cell = row[j] if j < len(row) else None
            if isinstance(cell, str) and not cell.strip().isdigit():
                continue  # hidden: fewer respondents than the smallest cell published
            check.figure(f"{_sheet(sheet)}, {say('name.agency', code=code)}, {column}", where,
                         cell, expected[j - 1])
    for code in sorted(set(names) - seen):
        check.checked += 1
        check.differences.append(say("report.agency_no_row", sheet=_sheet(sheet), code=code))
