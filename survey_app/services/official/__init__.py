"""The official report (Plan 177/KH-UBND): the province's 6-month report by Sở Nội vụ, an
agency's own report for its 05/6 and 05/12 submission, and the annual report combining the
rounds of a year — gathered once (`gather`), written as content once (`content`), and
printed by one writer per format: DOCX (offices finish and sign in Word), PDF (to publish
as it is) and XLSX (the figures as numbers, for offices that work with them)."""

from __future__ import annotations

from . import content, docx_writer, pdf_writer, xlsx_writer
from .document import Document
from .gather import KIND_LABELS, KINDS, Order, ReportRefused, campaigns_of_year, gather

FORMATS = ("docx", "pdf", "xlsx")
WRITERS = {"docx": docx_writer.write, "pdf": pdf_writer.write, "xlsx": xlsx_writer.write}


def charts(gathered) -> dict[str, bytes]:
    """The report's chart: each agency's service index with its interval."""
    from .. import results as res

    return {"ranking": res.chart("ranking", gathered.results, "png", dpi=120)}


def document(order: Order, *, with_charts: bool = True) -> Document:
    gathered = gather(order)
    return content.build(gathered, charts(gathered) if with_charts else None)


def render(order: Order, fmt: str = "docx", *, with_charts: bool = True) -> bytes:
    if fmt not in FORMATS:
        raise ReportRefused(f"Không có định dạng '{fmt}'.")
    return WRITERS[fmt](document(order, with_charts=with_charts))


__all__ = ["FORMATS", "KINDS", "KIND_LABELS", "Document", "Order", "ReportRefused",
           "campaigns_of_year", "charts", "document", "gather", "render"]
