"""A published table as data: typed columns, rows of values, and the one number format
every published figure is shown in (decimal comma; indices 1 decimal, mean scores 2).

The application writes its reports from such tables (DOCX, PDF, XLSX) and the verifier
builds the same tables from the audit bundle and compares them cell by cell: the format
is defined here, once, for both."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

#: Decimal mark and thousands separator by language; Vietnamese is the default.
NUMBER_MARKS = {"vi": (",", "."), "en": (".", ",")}
#: Decimals of each kind of figure column.
DIGITS = {"int": 0, "index": 1, "score": 2, "share": 1, "change": 1}


def number(value, digits: int = 1, lang: str = "vi") -> str:
    """A figure as everything staff read shows it — pages, charts, reports, text in XLSX:
    Vietnamese with a decimal comma and a dot between thousands (83,5; 1.234), English
    with `lang="en"` (83.5; 1,234); a dash when there is none."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "–"
    decimal, thousands = NUMBER_MARKS.get(lang, NUMBER_MARKS["vi"])
    return f"{float(value):,.{digits}f}".translate({44: thousands, 46: decimal})


def missing(value) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


@dataclass(frozen=True)
class Column:
    title: str
    #: "label" (words), "int" (a count), "index" (a percentage index, 1 decimal),
    #: "score" (a mean score 1–5, 2 decimals), "share" (a percentage, 1 decimal),
    #: "change" (a change in points, signed, 1 decimal)
    kind: str = "label"
    #: width on the page, in millimetres
    width: float = 20

    @property
    def figure(self) -> bool:
        return self.kind != "label"

    def show(self, value) -> str:
        """The cell as every format prints it ("" for no words, "–" for no figure; a
        hidden cell's mark as it is)."""
        if missing(value):
            return "–" if self.figure else ""
        if not self.figure or isinstance(value, str):
            return str(value)
        text = number(value, DIGITS[self.kind])
        if self.kind == "change" and float(value) > 0:
            text = "+" + text
        return text


@dataclass
class Table:
    #: a stable name (the workbook's sheet, the verifier's key)
    key: str
    #: the caption, "Bảng N. …" once numbered by the document
    title: str
    columns: list[Column]
    rows: list[list]
    note: str = ""
    number: int = 0

    @property
    def caption(self) -> str:
        return f"Bảng {self.number}. {self.title}" if self.number else self.title

    def shown(self) -> list[list[str]]:
        return [[c.show(v) for c, v in zip(self.columns, row, strict=True)]
                for row in self.rows]
