"""Row-level exports of a campaign (responses and codebook as CSV or XLSX, the indices
as CSV) and the audit-log note that such data left the system."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pandas as pd
from flask_babel import gettext as _

from analysis import load
from analysis import report as rep
from analysis.io import META_COLUMNS
from analysis.statement import HEADING as STATEMENT_HEADING

from ...extensions import db
from ...models import Campaign
from ...questions import names_where
from .. import ServiceError, audit
from .compute import CHUNK_SIZE
from .indices import ALL_CODE, Results, _scope_code

#: openpyxl's limit: a worksheet has at most 1,048,576 rows (one is the header).
XLSX_MAX_ROWS = 1_048_575


# --- exports --------------------------------------------------------------------------------

def export_codebook(campaign: Campaign) -> pd.DataFrame:
    return load.codebook(db.session.connection(), campaign.version_id)


def _agency_filter(agency) -> set[str] | None:
    scope = _scope_code(agency)
    if scope is None:
        return None
    ancestors = rep.ancestor_lists(load.agencies(db.session.connection()))
    if scope not in ancestors:
        raise ServiceError(_("Không có cơ quan mã '%(code)s'.", code=scope))
    return {code for code, chain in ancestors.items() if scope in chain}


def export_chunks(campaign: Campaign, *, agency=None, chunk_size: int = CHUNK_SIZE
                  ) -> tuple[pd.DataFrame, Iterator[pd.DataFrame]]:
    """The codebook and the responses (export format) a chunk at a time, optionally only
    those of an agency's subtree. Rejected responses are included: ``review_state`` says
    so, and the reader decides."""
    book = export_codebook(campaign)
    visible = _agency_filter(agency)
    conn = db.session.connection()

    def chunks():
        for chunk in load.iter_responses(conn, campaign.id, book, chunk_size):
            if visible is not None:
                chunk = chunk[chunk["agency_code"].isin(visible)]
            if len(chunk):
                yield chunk

    return book, chunks()


def response_columns(book: pd.DataFrame) -> list[str]:
    return META_COLUMNS + list(book["item_code"])


def csv_text(frame: pd.DataFrame, header: bool = True) -> str:
    return frame.to_csv(index=False, header=header, lineterminator="\n")


def iter_responses_csv(campaign: Campaign, *, agency=None) -> Iterator[str]:
    """``responses.csv`` as text pieces, a chunk at a time (for streaming and files)."""
    book, chunks = export_chunks(campaign, agency=agency)
    yield csv_text(pd.DataFrame(columns=response_columns(book)))
    for chunk in chunks:
        yield csv_text(chunk, header=False)


def write_export(campaign: Campaign, directory, *, agency=None) -> int:
    """Write ``responses.csv`` and ``codebook.csv`` into ``directory`` (incrementally,
    under temporary names renamed into place at the end). Returns the response count."""
    import os
    import tempfile
    from pathlib import Path

    directory = Path(directory)
    book = export_codebook(campaign)
    staged = []
    count = 0
    try:
        for name in ("responses.csv", "codebook.csv"):
            fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{name}.", suffix=".part")
            staged.append((Path(tmp), directory / name))
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
                if name == "codebook.csv":
                    fh.write(csv_text(book))
                    continue
                for piece in iter_responses_csv(campaign, agency=agency):
                    fh.write(piece)
                    count += piece.count("\n")
        mask = os.umask(0o022)
        os.umask(mask)
        for tmp, final in staged:
            os.chmod(tmp, 0o666 & ~mask)
            os.replace(tmp, final)
    except BaseException:
        for tmp, _final in staged:
            tmp.unlink(missing_ok=True)
        raise
    return count - 1  # the header line


def cell_value(value):
    """A value openpyxl can store: no missing markers, no control characters."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA:
        return None
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("", value) if value != "" else None
    return value


def text_cells(sheet, values: list) -> list:
    """``values`` for ``sheet.append`` with text that starts with "=" kept as text: a
    citizen's comment must never become a spreadsheet formula."""
    from openpyxl.cell import WriteOnlyCell

    out = []
    for value in values:
        if isinstance(value, str) and value.startswith("="):
            cell = WriteOnlyCell(sheet, value=value)
            cell.data_type = "s"
            value = cell
        out.append(value)
    return out


def export_xlsx(campaign: Campaign, *, agency=None) -> bytes:
    """The export as one workbook: sheets ``responses`` and ``codebook`` (same columns as
    the CSV files; scale answers as numbers)."""
    from openpyxl import Workbook

    book, chunks = export_chunks(campaign, agency=agency)
    numeric = set(book.loc[book["type"].isin(names_where("numeric")), "item_code"])
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("responses")
    columns = response_columns(book)
    sheet.append(columns)
    rows = 0
    for chunk in chunks:
        rows += len(chunk)
        if rows > XLSX_MAX_ROWS:
            raise ServiceError(_("Quá nhiều phiếu cho một trang tính Excel; hãy tải tệp CSV."))
        for record in chunk.itertuples(index=False):
            values = []
            for column, value in zip(columns, record, strict=True):
                if column in numeric or column == "response_id":
                    values.append(int(value) if value not in ("", None) else None)
                else:
                    values.append(cell_value(value))
            sheet.append(text_cells(sheet, values))
    codebook_sheet = workbook.create_sheet("codebook")
    codebook_sheet.append(list(book.columns))
    for record in book.itertuples(index=False):
        codebook_sheet.append(text_cells(codebook_sheet, [cell_value(v) for v in record]))
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def indices_csv(results: Results) -> str:
    """The per-agency table as ``python -m analysis indices`` writes it, after comment
    lines ("# label: value") stating the ledger checkpoint and the method, which
    ``pandas.read_csv(..., comment="#")`` and ``analysis.read_indices`` skip."""
    buffer = io.StringIO()
    buffer.write(f"# {STATEMENT_HEADING}\n")
    for line in results.statement_lines():
        buffer.write(f"# {line}\n")
    results.agencies.to_csv(buffer, index=False)
    return buffer.getvalue()


def record_row_export(campaign: Campaign, what: str, agency=None) -> None:
    """Note in the audit log that row-level data left the system: who (the log's actor),
    when, which campaign, which agency scope (``*`` for the whole campaign) and what."""
    audit.record("export_rows", "campaign", campaign.code,
                 after={"what": what, "scope": _scope_code(agency) or ALL_CODE})
