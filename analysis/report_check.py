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

A report file is read by the reader registered for its suffix (:data:`READERS`): one
function a format, returning the statement, the per-agency table and, for a workbook, its
other sheets (:func:`check_workbook`) or, for a PDF, its text (:func:`check_pdf`).
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import InputError
from .kinds import export_value, is_scored
from .ledger import MistypedDigest, parse_payload
from .messages import say
from .statement import (
    BOOTSTRAP,
    CAP,
    CHECKPOINT,
    REJECTED,
    SEED,
    Statement,
    StatementError,
    parse,
    parse_lines,
)

STATEMENT_LABELS = (CHECKPOINT, BOOTSTRAP, SEED, CAP, REJECTED)

#: The columns of an indices table that are published figures.
FIGURES = ("n", "satisfied", "index", "ci_low", "ci_high", "mean_score")
KEYS = ("agency_code", "level", "code")
LEVEL_NAMES = {"criterion": "criterion", "element": "element", "service": "service",
               "tiêu chí": "criterion", "yếu tố": "element", "chỉ số chung": "service"}
#: The workbook's per-agency sheet (services.reports) and its headers, by figure.
XLSX_SHEET = "Chỉ số"
XLSX_INFO_SHEET = "Thông tin"
XLSX_HEADERS = {"Mã cơ quan": "agency_code", "Cơ quan": "name", "Cấp": "level", "Mã": "code", "n": "n",
                "Số hài lòng": "satisfied", "Chỉ số (%)": "index", "KTC 95 % dưới": "ci_low",
                "KTC 95 % trên": "ci_high", "Điểm TB": "mean_score"}


#: The workbook's sheets verify reads (services.reports.xlsx).
SHEETS = ("Tổng quan", "Xếp hạng", "Cộng dồn", "Chỉ số", "Tiêu chí", "Theo kênh", XLSX_INFO_SHEET)


class ReportFileError(InputError):
    """The file is not a report this command can read (bad input: exit 2)."""


@dataclass
class Published:
    """What a report file states: its statement, and its per-agency figures as a table
    with the columns KEYS + some of FIGURES (text as written, or numbers) and ``where``
    (how to find the row in the file)."""

    statement: Statement
    table: pd.DataFrame
    #: the other sheets of a workbook, as rows of values; the lines of a PDF's text
    sheets: dict = field(default_factory=dict)
    lines: list | None = None
    #: the format the figures were read from: "csv", "xlsx" or "pdf"
    kind: str = "csv"


# --- readers -----------------------------------------------------------------------------

READERS: dict[str, Callable[[Path], Published]] = {}


def reader(*suffixes: str):
    """Register a function reading report files with these suffixes."""
    def register(fn):
        for suffix in suffixes:
            READERS[suffix] = fn
        return fn
    return register


def read_report(path) -> Published:
    path = Path(path)
    read = READERS.get(path.suffix.lower())
    if read is None:
        raise ReportFileError(say("report.not_readable_kind", path=path,
                                  kinds=", ".join(sorted(READERS))))
    if not path.is_file():
        raise ReportFileError(say("report.no_file", path=path))
    try:
        return read(path)
    except MistypedDigest as exc:
        raise ReportFileError(say("report.mistyped", path=path, reason=exc)) from None
    except StatementError as exc:
        raise ReportFileError(say("report.statement", path=path, reason=exc)) from None


def _statement_missing(path) -> ReportFileError:
    return ReportFileError(say("report.no_statement", path=path))


@reader(".csv")
def read_csv_report(path: Path) -> Published:
    """An indices CSV: "# label: value" lines at the top, then the table."""
    from .io import read_indices

    try:
        with open(path, encoding="utf-8-sig") as stream:
            head = []
            for line in stream:
                if not line.startswith("#"):
                    break
                head.append(line)
    except UnicodeDecodeError:
        raise ReportFileError(say("report.not_utf8", path=path)) from None
    if not any(":" in line for line in head):
        raise _statement_missing(path)
    statement = parse_lines(head)
    table = read_indices(path)
    # rows as a spreadsheet program numbers them: the comment lines, the header, then 1…
    return Published(statement, table.assign(
        where=[say("where.line", number=len(head) + 2 + i) for i in range(len(table))]))


@reader(".xlsx")
def read_xlsx_report(path: Path) -> Published:
    """The report workbook: the "Thông tin" sheet (label, value) and the "Chỉ số" sheet."""
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise ReportFileError(say("report.not_xlsx", path=path, reason=exc)) from None
    try:
        if XLSX_INFO_SHEET not in book.sheetnames:
            raise _statement_missing(path)
        pairs = [(row[0], row[1]) for row in book[XLSX_INFO_SHEET].iter_rows(values_only=True)
                 if len(row) > 1 and row[0] is not None and row[1] is not None]
        statement = parse(pairs)
        if XLSX_SHEET not in book.sheetnames:
            raise ReportFileError(say("report.no_sheet", path=path, sheet=XLSX_SHEET))
        sheets = {name: [tuple(row) for row in book[name].iter_rows(values_only=True)]
                  for name in book.sheetnames if name in SHEETS}
        rows = sheets[XLSX_SHEET]
    finally:
        book.close()
    header = [str(h).strip() if h is not None else "" for h in (rows[0] if rows else ())]
    columns = {i: XLSX_HEADERS[h] for i, h in enumerate(header) if h in XLSX_HEADERS}
    if not set(KEYS) <= set(columns.values()):
        raise ReportFileError(say("report.sheet_columns", path=path, sheet=XLSX_SHEET, columns=", ".join(
            k for k, v in XLSX_HEADERS.items() if v in KEYS)))
    records = [{name: row[i] if i < len(row) else None for i, name in columns.items()}
               | {"where": say("where.sheet_row", sheet=XLSX_SHEET, number=number)}
               for number, row in enumerate(rows[1:], start=2) if any(v is not None for v in row)]
    return Published(statement, pd.DataFrame(records, columns=[*columns.values(), "where"]),
                     sheets=sheets, kind="xlsx")


@reader(".pdf")
def read_pdf_report(path: Path) -> Published:
    """The PDF report, read as text by ``pdftotext -layout`` (poppler-utils)."""
    import shutil
    import subprocess

    program = shutil.which("pdftotext")
    if program is None:
        raise ReportFileError(say("report.no_pdftotext", path=path))
    try:
        done = subprocess.run([program, "-layout", "-enc", "UTF-8", str(path), "-"],
                              capture_output=True, timeout=300, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ReportFileError(say("report.pdftotext_failed", path=path, reason=exc)) from None
    if done.returncode != 0:
        raise ReportFileError(say("report.not_pdf", path=path, reason=" ".join(
            done.stderr.decode("utf-8", "replace").split())[:200]))
    lines = done.stdout.decode("utf-8", "replace").splitlines()
    pairs = []
    for line in lines:
        label, sep, value = line.strip().partition(":")
        if sep and label.strip() in STATEMENT_LABELS:
            pairs.append((label.strip(), value.strip()))
    if not any(label == STATEMENT_LABELS[0] for label, _ in pairs):
        raise _statement_missing(path)
    return Published(parse(pairs), pd.DataFrame(columns=[*KEYS, "where"]), lines=lines,
                     kind="pdf")


@reader(".docx")
def read_unsupported(path: Path) -> Published:
    raise ReportFileError(say("report.unsupported", path=path,
                              kind=path.suffix.lower()[1:].upper()))


# --- the bundle as of a checkpoint ---------------------------------------------------------

@dataclass
class LedgerState:
    campaign: str
    length: int
    hashes: list[str]
    codebook: pd.DataFrame
    #: the responses chained up to the checkpoint, in the export format (answers as
    #: corrected up to it, review_state as decided up to it, channel), by id
    responses: pd.DataFrame = field(default=None)
    #: the answer tally as the application keeps it (scores 0..5, 0 = not applicable)
    tally: pd.DataFrame = field(default=None)
    #: agencies.csv (code, name, kind, parent_code…), None in a bundle made without it
    agencies: pd.DataFrame | None = None


def ledger_state(bundle, upto: int | None) -> LedgerState:
    """The bundle's ledger read up to entry ``upto`` (whole if None): its hashes (all of
    them) and the responses as they stood at that entry."""
    from .bundle import BundleError, open_bundle
    from .io import read_codebook

    with open_bundle(bundle) as zf:
        try:
            manifest = json.loads(zf.read("manifest.json"))
            book = read_codebook(io.BytesIO(zf.read("codebook.csv")))
            raw = zf.open("ledger.csv")
        except (KeyError, ValueError) as exc:
            raise BundleError(say("bundle.unreadable", reason=exc)) from exc
        agencies = None
        if "agencies.csv" in zf.namelist():
            try:
                agencies = pd.read_csv(io.BytesIO(zf.read("agencies.csv")), dtype=str,
                                       keep_default_na=False)
            except (ValueError, UnicodeDecodeError) as exc:
                raise BundleError(say("bundle.agencies_unreadable", reason=exc)) from exc
            if not {"code", "name", "parent_code"} <= set(agencies.columns):
                raise BundleError(say("bundle.agencies_columns"))
            agencies = agencies.assign(parent_code=agencies["parent_code"].where(
                agencies["parent_code"] != "")).astype({"parent_code": object})
        kinds = list(zip(book["item_code"], book["type"], strict=True))
        position = {code: i for i, (code, _) in enumerate(kinds)}
        answers: dict[int, list] = {}
        states: dict[int, str] = {}
        hashes: list[str] = []
        with raw:
            rows = csv.reader(io.TextIOWrapper(raw, encoding="utf-8", newline=""))
            if next(rows, None) != ["seq", "kind", "ref", "at", "prev_hash", "hash", "payload"]:
                raise BundleError(say("bundle.columns", name="ledger.csv"))
            for row in rows:
                if len(row) != 7:
                    raise BundleError(say("bundle.ledger_width", count=len(row)))
                hashes.append(row[5])
                if upto is not None and len(hashes) > upto:
                    continue
                _replay(row[1], row[6], answers, states, kinds, position)
    columns = ["response_id", "agency_code", "channel", "review_state",
               *[c for c, _ in kinds]]
    frame = pd.DataFrame(
        [[rid, agency, channel, states.get(rid, "received"), *cells]
         for rid, (agency, channel, cells, _) in sorted(answers.items())], columns=columns)
    frame = frame.astype({"response_id": "int64"})
    text = [c for c, _ in kinds]
    frame[text] = frame[text].where(frame[text] != "")
    satisfaction = [c for c, kind in kinds if is_scored(kind)]
    counted = [(rid, agency, states.get(rid, "received") == "rejected", code,
                0 if code in na else int(cells[position[code]]))
               for rid, (agency, _, cells, na) in answers.items() for code in satisfaction
               if code in na or cells[position[code]] not in ("", None)]
    tally = pd.DataFrame(counted, columns=["response_id", "agency_code", "rejected",
                                           "item_code", "score"])
    return LedgerState(campaign=str(manifest.get("campaign", "")), length=len(hashes),
                       hashes=hashes, codebook=book, responses=frame, tally=tally,
                       agencies=agencies)


def _replay(kind: str, payload: str, answers: dict, states: dict, kinds: list,
            position: dict) -> None:
    """Apply one ledger entry to the responses as they stand. The chain's integrity is
    `verify`'s business: an entry that cannot be read here is left out."""
    try:
        body = parse_payload(kind, payload) if kind == "response" else json.loads(payload)
    except ValueError:
        return
    if kind == "response":
        if len(body["export"]) == len(kinds):
            na = body.get("not_applicable") or []
            answers[body["response_id"]] = [body["agency_code"], str(body.get("channel", "")),
                                            list(body["export"]),
                                            set(na.split(";") if isinstance(na, str) else na)]
    elif kind == "review" and isinstance(body, dict) and body.get("response_id") in answers:
        states[body["response_id"]] = str(body.get("state", "received"))
    elif kind == "correction" and isinstance(body, dict) and body.get("response_id") in answers:
        _, _, cells, na = answers[body["response_id"]]
        for code, change in (body.get("changes") or {}).items():
            if code in position and isinstance(change, dict):
                item_kind = kinds[position[code]][1]
                try:
                    cells[position[code]] = export_value(item_kind, change.get("to"))
                except (TypeError, ValueError):
                    continue
                if is_scored(item_kind):
                    (na.add if change.get("to") in (0, "0") else na.discard)(code)


# --- recomputation: the application's functions ------------------------------------------

@dataclass
class Recomputed:
    """The figures of a report recomputed from its bundles: the tables of
    :func:`analysis.report.campaign_tables` seen from the report's scope."""

    codebook: pd.DataFrame
    own: pd.DataFrame
    subtrees: pd.DataFrame | None     # None: no agency tree in a bundle
    overall: pd.DataFrame | None
    tally: pd.DataFrame               # agency_code, item_code, score, n (scope's agencies)
    responses: pd.DataFrame           # every response of the scope (rejected ones too)
    names: dict
    tree: bool


def recompute_all(states: list[LedgerState], statement: Statement, scope: str | None = None
                  ) -> Recomputed:
    """Every table a report shows, computed from the bundles' ledgers (one per campaign,
    in the statement's order) by :func:`analysis.report.campaign_tables`, the application's
    computation: the tally, the respondent samples (``cap``, ``seed``), the bootstraps and
    their recentring, the roll-ups over the agency tree."""
    from . import report as rep
    from .indices import TallyCounts
    from .io import satisfaction_scores

    book = states[0].codebook
    trees = [s.agencies for s in states]
    has_tree = all(t is not None for t in trees)
    responses = pd.concat([s.responses for s in states], ignore_index=True)
    counted = responses[responses["review_state"] != "rejected"] if statement.exclude_rejected \
        else responses
    responding = sorted(set(counted["agency_code"].astype(str)))
    tally = pd.concat([s.tally for s in states], ignore_index=True)
    if statement.exclude_rejected:
        tally = tally[~tally["rejected"].astype(bool)]
    tally = tally.groupby(["agency_code", "item_code", "score"]).size().reset_index(name="n") \
        .astype({"agency_code": "str", "item_code": "str", "score": "int64", "n": "int64"}) \
        if len(tally) else rep.empty_tally()
    cells = TallyCounts.from_frame(tally, book, responding)
    if has_tree:
        tree = pd.concat(trees, ignore_index=True).drop_duplicates("code", keep="last")
        tree = tree.sort_values("code").reset_index(drop=True)
        missing = sorted(set(responding) - set(tree["code"]))
        if missing:
            raise ReportFileError(say("report.tree_lacks", codes=", ".join(missing)))
    else:  # each agency its own root: its own table is right, roll-ups are not checked
        tree = pd.DataFrame({"code": responding, "name": responding, "parent_code": None})
    scores = satisfaction_scores(counted, book).set_index(counted["response_id"])

    def id_chunks():
        for k, state in enumerate(states):
            frame = state.responses
            if statement.exclude_rejected:
                frame = frame[frame["review_state"] != "rejected"]
            yield (k, frame["response_id"].to_numpy(dtype="int64"),
                   frame["agency_code"].astype(str).to_numpy(dtype=object))

    def answers(chosen):
        return scores.loc[np.asarray(chosen, dtype="int64")].to_numpy(dtype="float64")

    tables = rep.campaign_tables(cells, book, tree, responding, statement.bootstrap,
                                 statement.seed, statement.cap, id_chunks, answers)
    if scope is not None and scope not in tables["ancestors"]:
        raise ReportFileError(say("report.scope", scope=scope))
    view = rep.scope_tables(tables, responding, scope)
    visible = view["visible"]

    def within(frame):
        return frame if visible is None else frame[frame["agency_code"].isin(visible)]

    names = dict(zip(tree["code"], tree["name"], strict=True)) if has_tree else {}
    names[rep.ALL_CODE] = "Toàn bộ đợt khảo sát"
    return Recomputed(codebook=book, own=view["own"],
                      subtrees=view["subtrees"] if has_tree else None,
                      overall=(view["overall"] if view["overall"] is not None
                               else view["own"].iloc[0:0]) if has_tree else None,
                      tally=within(tally).reset_index(drop=True),
                      responses=within(responses).reset_index(drop=True), names=names,
                      tree=has_tree)


# --- comparison --------------------------------------------------------------------------

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


CHANNELS = ("open", "single_use", "paper", "api")


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


# --- PDF ---------------------------------------------------------------------------------

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
    channels = [line.split() for line in sections.get("V", [])]
    channels = [(" ".join(t[:-6]), *t[-6:]) for t in channels
                if len(t) > 6 and all(_COUNT.match(x) for x in t[-6:])]
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


# --- the command ---------------------------------------------------------------------------

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
    compare(published.table, rec.own, check, complete=published.kind == "xlsx")
    if published.kind == "xlsx":
        check_workbook(published, rec, check)
    return check
