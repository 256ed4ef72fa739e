"""Check a published report against an audit bundle:
``python -m analysis verify BUNDLE --report FILE``.

The report states the ledger checkpoint its figures were computed at and the method
(:mod:`analysis.statement`). The bundle's ledger must hold that checkpoint; the figures
are then recomputed from the ledger alone as of that entry — the responses chained up to
it, with the corrections and review decisions chained up to it — by the same functions as
the application's (the tally, the respondent sample, the bootstrap, the recentring), and
each published figure is compared with its recomputation at the published rounding.

A report file is read by the reader registered for its suffix (:data:`READERS`): one
function a format, returning the statement and the per-agency table as published.
"""

from __future__ import annotations

import csv
import io
import json
import math
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import InputError
from .ledger import MistypedDigest, export_value, parse_payload
from .statement import Statement, StatementError, parse, parse_lines

#: The columns of an indices table that are published figures.
FIGURES = ("n", "satisfied", "index", "ci_low", "ci_high", "mean_score")
KEYS = ("agency_code", "level", "code")
LEVEL_NAMES = {"criterion": "criterion", "element": "element", "service": "service",
               "tiêu chí": "criterion", "yếu tố": "element", "chỉ số chung": "service"}
#: The workbook's per-agency sheet (services.reports) and its headers, by figure.
XLSX_SHEET = "Chỉ số"
XLSX_INFO_SHEET = "Thông tin"
XLSX_HEADERS = {"Mã cơ quan": "agency_code", "Cấp": "level", "Mã": "code", "n": "n",
                "Số hài lòng": "satisfied", "Chỉ số (%)": "index", "KTC 95 % dưới": "ci_low",
                "KTC 95 % trên": "ci_high", "Điểm TB": "mean_score"}


class ReportFileError(InputError):
    """The file is not a report this command can read (bad input: exit 2)."""


@dataclass
class Published:
    """What a report file states: its statement, and its per-agency figures as a table
    with the columns KEYS + some of FIGURES (text as written, or numbers) and ``where``
    (how to find the row in the file)."""

    statement: Statement
    table: pd.DataFrame


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
        raise ReportFileError(f"{path}: not a report file this command reads "
                              f"({', '.join(sorted(READERS))})")
    if not path.is_file():
        raise ReportFileError(f"{path}: no such file")
    try:
        return read(path)
    except MistypedDigest as exc:
        raise ReportFileError(f"{path}: {exc}") from None
    except StatementError as exc:
        raise ReportFileError(f"{path}: the statement of the ledger checkpoint and method "
                              f"is not readable: {exc}") from None


def _statement_missing(path) -> ReportFileError:
    return ReportFileError(f"{path}: the file states no ledger checkpoint: it is not a report "
                           "of the survey platform, or was made before reports stated one")


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
        raise ReportFileError(f"{path}: not a UTF-8 text file") from None
    if not any(":" in line for line in head):
        raise _statement_missing(path)
    statement = parse_lines(head)
    table = read_indices(path)
    # rows as a spreadsheet program numbers them: the comment lines, the header, then 1…
    return Published(statement, table.assign(
        where=[f"line {len(head) + 2 + i}" for i in range(len(table))]))


@reader(".xlsx")
def read_xlsx_report(path: Path) -> Published:
    """The report workbook: the "Thông tin" sheet (label, value) and the "Chỉ số" sheet."""
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise ReportFileError(f"{path}: not a readable XLSX workbook ({exc})") from None
    try:
        if XLSX_INFO_SHEET not in book.sheetnames:
            raise _statement_missing(path)
        pairs = [(row[0], row[1]) for row in book[XLSX_INFO_SHEET].iter_rows(values_only=True)
                 if len(row) > 1 and row[0] is not None and row[1] is not None]
        statement = parse(pairs)
        if XLSX_SHEET not in book.sheetnames:
            raise ReportFileError(f"{path}: the workbook has no sheet {XLSX_SHEET!r}")
        rows = list(book[XLSX_SHEET].iter_rows(values_only=True))
    finally:
        book.close()
    header = [str(h).strip() if h is not None else "" for h in (rows[0] if rows else ())]
    columns = {i: XLSX_HEADERS[h] for i, h in enumerate(header) if h in XLSX_HEADERS}
    if not set(KEYS) <= set(columns.values()):
        raise ReportFileError(f"{path}: sheet {XLSX_SHEET!r} lacks the columns "
                              + ", ".join(k for k, v in XLSX_HEADERS.items() if v in KEYS))
    records = [{name: row[i] if i < len(row) else None for i, name in columns.items()}
               | {"where": f"sheet {XLSX_SHEET}, row {number}"}
               for number, row in enumerate(rows[1:], start=2) if any(v is not None for v in row)]
    return Published(statement, pd.DataFrame(records, columns=[*columns.values(), "where"]))


@reader(".pdf", ".docx")
def read_unsupported(path: Path) -> Published:
    raise ReportFileError(f"{path}: reading the figures of a {path.suffix.lower()[1:].upper()} "
                          "report is not supported yet; check the XLSX or the indices CSV "
                          "made with the same settings")


# --- the bundle as of a checkpoint ---------------------------------------------------------

@dataclass
class LedgerState:
    campaign: str
    length: int
    hashes: list[str]
    codebook: pd.DataFrame
    #: the responses chained up to the checkpoint, in the export format (answers as
    #: corrected up to it, review_state as decided up to it), by id
    responses: pd.DataFrame = field(default=None)


def ledger_state(bundle, upto: int | None) -> LedgerState:
    """The bundle's ledger read up to entry ``upto`` (whole if None): its hashes (all of
    them) and the responses as they stood at that entry."""
    from .io import read_codebook
    from .verify import BundleError

    try:
        zf = zipfile.ZipFile(bundle)
    except (OSError, zipfile.BadZipFile) as exc:
        raise BundleError(f"cannot open {bundle} as an audit bundle: {exc}") from exc
    with zf:
        try:
            manifest = json.loads(zf.read("manifest.json"))
            book = read_codebook(io.BytesIO(zf.read("codebook.csv")))
            raw = zf.open("ledger.csv")
        except (KeyError, ValueError) as exc:
            raise BundleError(f"the bundle lacks a readable manifest, codebook or ledger "
                              f"({exc})") from exc
        kinds = list(zip(book["item_code"], book["type"], strict=True))
        position = {code: i for i, (code, _) in enumerate(kinds)}
        answers: dict[int, tuple[str, list[str]]] = {}
        states: dict[int, str] = {}
        hashes: list[str] = []
        with raw:
            rows = csv.reader(io.TextIOWrapper(raw, encoding="utf-8", newline=""))
            if next(rows, None) != ["seq", "kind", "ref", "at", "prev_hash", "hash", "payload"]:
                raise BundleError("ledger.csv does not have the expected columns")
            for row in rows:
                if len(row) != 7:
                    raise BundleError(f"ledger.csv: a line of {len(row)} fields")
                hashes.append(row[5])
                if upto is not None and len(hashes) > upto:
                    continue
                _replay(row[1], row[6], answers, states, kinds, position)
    columns = ["response_id", "agency_code", "review_state", *[c for c, _ in kinds]]
    frame = pd.DataFrame(
        [[rid, agency, states.get(rid, "received"), *cells]
         for rid, (agency, cells) in sorted(answers.items())], columns=columns)
    frame = frame.astype({"response_id": "int64"})
    text = [c for c, _ in kinds]
    frame[text] = frame[text].where(frame[text] != "")
    return LedgerState(campaign=str(manifest.get("campaign", "")), length=len(hashes),
                       hashes=hashes, codebook=book, responses=frame)


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
            answers[body["response_id"]] = (body["agency_code"], list(body["export"]))
    elif kind == "review" and isinstance(body, dict) and body.get("response_id") in answers:
        states[body["response_id"]] = str(body.get("state", "received"))
    elif kind == "correction" and isinstance(body, dict) and body.get("response_id") in answers:
        cells = answers[body["response_id"]][1]
        for code, change in (body.get("changes") or {}).items():
            if code in position and isinstance(change, dict):
                try:
                    cells[position[code]] = export_value(kinds[position[code]][1],
                                                         change.get("to"))
                except (TypeError, ValueError):
                    continue


# --- recomputation: the application's functions ------------------------------------------

def recompute(responses: pd.DataFrame, codebook: pd.DataFrame, statement: Statement
              ) -> pd.DataFrame:
    """Each agency's own indices table from export-format responses, as
    ``services.results`` computes it: the tally, then, with replicates, the respondent
    sample of each agency (``cap``, ``seed``), its bootstrap and recentring."""
    from . import report as rep
    from .compare import exclude_rejected
    from .indices import TallyCounts, indices_table
    from .io import satisfaction_scores, tally_from_responses

    if statement.exclude_rejected:
        responses = exclude_rejected(responses)
    responses = responses.reset_index(drop=True)
    cells = TallyCounts.from_frame(tally_from_responses(responses, codebook), codebook)
    boot = None
    if statement.bootstrap and len(responses):
        ids = responses["response_id"].to_numpy(dtype="int64")
        sample = rep.IdSample(cap=statement.cap, seed=statement.seed)
        sample.add(ids, rep.export_seq(ids, 0), "agency",
                   responses["agency_code"].astype(str).to_numpy(dtype=object))
        scores = satisfaction_scores(responses, codebook).set_index(responses["response_id"])

        def answers(chosen):
            return scores.loc[np.asarray(chosen, dtype="int64")].to_numpy(dtype="float64")

        intervals = rep.family_intervals(sample, answers, codebook, statement.bootstrap,
                                         statement.seed)
        capped = sample.capped()
        boot = rep.own_intervals(cells, codebook, intervals.get("agency"),
                                 set(capped.loc[capped["family"] == "agency", "group"]))
    return indices_table(cells, codebook, bootstrap=boot)


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
        return "(empty)"
    return f"{value:g}" if isinstance(value, float) else str(value)


@dataclass
class ReportCheck:
    path: str
    statement: Statement
    checked: int = 0
    differences: list[str] = field(default_factory=list)
    problem: str | None = None  # the report cannot be checked against this bundle
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.problem is None and not self.differences

    def lines(self, limit: int = 200) -> list[str]:
        marks = ", ".join(c.digest for c in self.statement.checkpoints)
        out = [f"Note: {note}" for note in self.notes]
        if self.problem:
            return out + [f"REPORT FAILED: {self.path}: {self.problem}"]
        if not self.differences:
            return out + [f"REPORT OK: {self.path} (ledger checkpoint {marks}): "
                          f"{self.checked} figures checked, all agree."]
        out.append(f"REPORT FAILED: {self.path} (ledger checkpoint {marks}): "
                   f"{len(self.differences)} of {self.checked} figures differ from their "
                   "recomputation from the bundle")
        out += [f"DIFFERS: {d}" for d in self.differences[:limit]]
        if len(self.differences) > limit:
            out.append(f"… and {len(self.differences) - limit} more")
        return out


def compare(published: pd.DataFrame, recomputed: pd.DataFrame, check: ReportCheck) -> None:
    table = recomputed.assign(**{k: recomputed[k].astype(str) for k in KEYS}).set_index(
        list(KEYS))
    present = [c for c in FIGURES if c in published.columns]
    for row in published.to_dict("records"):
        level = LEVEL_NAMES.get(str(row["level"]).strip().lower(), str(row["level"]).strip())
        key = (str(row["agency_code"]).strip(), level, str(row["code"]).strip())
        name = f"agency {key[0]}, {key[1]} {key[2]}"
        if key not in table.index:
            check.checked += 1
            check.differences.append(f"{name} ({row['where']}): published, but the bundle's "
                                     "responses give no such figure")
            continue
        expected = table.loc[key]
        for column in present:
            check.checked += 1
            try:
                value, decimals = _number(row[column])
            except ValueError:
                check.differences.append(f"{name}, {column} ({row['where']}): published "
                                         f"{row[column]!r} is not a number")
                continue
            if not _agrees(value, decimals, expected[column]):
                check.differences.append(
                    f"{name}, {column} ({row['where']}): published {_shown(row[column])}, "
                    f"recomputed {_shown(expected[column])}")


def check_report(bundle, path, published: Published | None = None) -> ReportCheck:
    """Check report file ``path`` (``published``: as already read) against the audit
    bundle (see the module docstring)."""
    from .verify import UNCHECKED_DIGEST

    published = read_report(path) if published is None else published
    statement = published.statement
    check = ReportCheck(path=str(path), statement=statement)
    if not statement.checked:
        check.notes.append(UNCHECKED_DIGEST)
    state = ledger_state(bundle, 0)  # the hashes only
    mine = [c for c in statement.checkpoints if c.campaign == state.campaign]
    if not mine:
        raise ReportFileError(
            f"{path}: the report is about campaign(s) "
            f"{', '.join(c.campaign for c in statement.checkpoints)}, the bundle about "
            f"{state.campaign}: they are unrelated")
    if len(statement.checkpoints) > 1:
        raise ReportFileError(
            f"{path}: a combined report of campaigns "
            f"{', '.join(c.campaign for c in statement.checkpoints)}: checking one against "
            "several bundles is not supported yet; check each campaign's own report")
    point = mine[0]
    if point.seq > state.length:
        check.problem = (f"the report was computed at a ledger state the bundle does not "
                         f"contain: entry {point.seq}, and the bundle's ledger has "
                         f"{state.length} entries (export a newer bundle)")
        return check
    head = state.hashes[point.seq - 1] if point.seq else "0" * 64
    if not head.lower().startswith(point.head.lower()):
        check.problem = (f"the report was computed at a ledger state the bundle does not "
                         f"contain: its entry {point.seq} does not match the digest "
                         f"{point.digest} (the ledger was rewritten after the report was made, "
                         "or the digest is of another ledger)")
        return check
    state = ledger_state(bundle, point.seq)
    figures = recompute(state.responses, state.codebook, statement)
    compare(published.table, figures, check)
    return check
