"""The official report as content, before any file format: the administrative heading of
Decree 30/2020/NĐ-CP (issuing body, number, place and date, title), numbered sections of
paragraphs and tables, the recipients and the signature block.

The DOCX, the PDF and the workbook are each written from one `Document` by a writer of
their own, so the three say the same thing; every figure is formatted here, once
(`Column.show`), in the one number format (decimal comma; indices 1 decimal, mean
scores 2).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from ..formatting import number

#: How each kind of column shows its values.
DIGITS = {"int": 0, "index": 1, "score": 2, "share": 1, "change": 1}


@dataclass(frozen=True)
class Column:
    title: str
    #: "label" (words), "int" (a count), "index" (a percentage index, 1 decimal), "score" (a
    #: mean score 1–5, 2 decimals), "share" (a percentage, 1 decimal), "change" (a
    #: change in points, signed, 1 decimal)
    kind: str = "label"
    #: width on the page, in millimetres
    width: float = 20

    def show(self, value) -> str:
        """The cell as every format prints it ("" for none; a hidden cell's mark as is)."""
        if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
            return "" if self.kind == "label" else "–"
        if self.kind == "label" or isinstance(value, str):
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


@dataclass
class Paragraph:
    text: str
    #: "body", "bullet", "quote" (a citizen's words, italic), "note" (small)
    style: str = "body"


@dataclass
class Figure:
    png: bytes
    caption: str


@dataclass
class Section:
    title: str
    blocks: list = field(default_factory=list)
    #: a sub-section ("1. …") rather than a part ("I. …")
    level: int = 1

    def add(self, *blocks) -> Section:
        self.blocks.extend(b for b in blocks if b is not None)
        return self


@dataclass
class Heading:
    """The top of an administrative document (Decree 30/2020/NĐ-CP, Appendix I)."""

    #: the body above the issuer ("UBND TỈNH TUYÊN QUANG"), may be empty
    parent: str
    #: the issuing body ("SỞ NỘI VỤ")
    issuer: str
    #: "Số: …/BC-SNV", left for the office to fill
    number: str
    #: "Tuyên Quang, ngày … tháng … năm 2026"
    place_date: str
    #: "BÁO CÁO"
    kind: str
    #: what it reports on (one line under the kind)
    subject: str


@dataclass
class Signature:
    #: "KT. GIÁM ĐỐC" / "PHÓ GIÁM ĐỐC" lines above the signature
    authority: list[str]
    name: str = ""


@dataclass
class Document:
    heading: Heading
    sections: list[Section]
    recipients: list[str]
    signature: Signature
    #: the ledger checkpoint and method settings (label, value)
    statement: list[tuple[str, str]]
    #: a short title for page footers and file properties
    title: str = ""

    def __post_init__(self):
        n = 0
        for table in self.tables():
            n += 1
            table.number = n

    def tables(self) -> list[Table]:
        return [b for s in self.sections for b in s.blocks if isinstance(b, Table)]

    def table(self, key: str) -> Table | None:
        return next((t for t in self.tables() if t.key == key), None)
