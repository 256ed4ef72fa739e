"""A published report's file, read by the reader registered for its suffix
(:data:`READERS`): its statement, its per-agency table and, for a workbook, its other
sheets or, for a PDF, its text."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .errors import InputError
from .ledger import MistypedDigest
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
        if OFFICIAL_SHEET in book.sheetnames:
            return _official_workbook(book, statement)
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


#: The first sheet of the official report's workbook (its text); each table follows on a
#: sheet of its own: the caption in A1, the column titles in row 2, the rows from row 3.
OFFICIAL_SHEET = "Báo cáo"
NATION = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"


def _official_workbook(book, statement) -> Published:
    tables = {}
    for name in book.sheetnames:
        rows = [list(row) for row in book[name].iter_rows(values_only=True)]
        m = CAPTION.match(str(rows[0][0] or "").strip()) if rows and rows[0] else None
        if m:  # the table ends at its first empty row (its note follows)
            body = []
            for row in rows[1:]:
                if all(v is None for v in row):
                    break
                body.append(row)
            tables[m.group(1)] = body
    lines = [str(row[0]) for row in book[OFFICIAL_SHEET].iter_rows(values_only=True)
             if row and row[0] is not None]
    return Published(statement, pd.DataFrame(columns=[*KEYS, "where"]), sheets=tables,
                     lines=lines, kind="official")


W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
CAPTION = re.compile(r"^Bảng \d+\. (.+)$")


def docx_contents(path: Path) -> tuple[list[str], dict[str, list[list[str]]]]:
    """A Word document's paragraphs (text, in order) and its tables by caption: a table
    right after a paragraph "Bảng N. title" is ``tables[title]`` (rows of cell texts).
    Read from the file's XML with the standard library: an auditor needs no Word."""
    from xml.etree import ElementTree

    def text(node) -> str:
        return "".join(t.text or "" for t in node.iter(f"{W}t"))

    try:
        with zipfile.ZipFile(path) as zf:
            root = ElementTree.fromstring(zf.read("word/document.xml"))
    except (zipfile.BadZipFile, KeyError, OSError, ElementTree.ParseError) as exc:
        raise ReportFileError(say("report.not_docx", path=path, reason=exc)) from None
    paragraphs, tables, caption = [], {}, None
    for node in root.find(f"{W}body"):
        if node.tag == f"{W}p":
            line = text(node)
            paragraphs.append(line)
            m = CAPTION.match(line.strip())
            caption = m.group(1) if m else (caption if not line.strip() else None)
        elif node.tag == f"{W}tbl":
            rows = [["\n".join(text(p) for p in cell.iter(f"{W}p"))
                     for cell in row.findall(f"{W}tc")] for row in node.findall(f"{W}tr")]
            if caption is not None:
                tables[caption] = rows
            caption = None
    return paragraphs, tables


@reader(".docx")
def read_docx_report(path: Path) -> Published:
    """The official report as a Word document: its statement (the "label: value" lines of
    its last part) and its tables by caption."""
    paragraphs, tables = docx_contents(path)
    lines = [p.strip().lstrip("-").strip() for p in paragraphs]
    if not any(line.startswith(CHECKPOINT + ":") for line in lines):
        raise _statement_missing(path)
    return Published(parse_lines(lines), pd.DataFrame(columns=[*KEYS, "where"]),
                     sheets=tables, lines=paragraphs, kind="official")


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
        label, sep, value = line.strip().lstrip("-").strip().partition(":")
        if sep and label.strip() in STATEMENT_LABELS:
            pairs.append((label.strip(), value.strip()))
    if not any(label == STATEMENT_LABELS[0] for label, _ in pairs):
        raise _statement_missing(path)
    # The official report (an administrative document) carries the national emblem lines.
    official = any(NATION in line for line in lines[:40])
    return Published(parse(pairs), pd.DataFrame(columns=[*KEYS, "where"]), lines=lines,
                     kind="official-pdf" if official else "pdf")
