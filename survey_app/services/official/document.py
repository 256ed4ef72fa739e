"""The official report as content, before any file format: the administrative heading of
Decree 30/2020/NĐ-CP (issuing body, number, place and date, title), numbered sections of
paragraphs and tables, the recipients and the signature block.

The DOCX, the PDF and the workbook are each written from one `Document` by a writer of
their own, so the three say the same thing; every figure is formatted here, once
(`analysis.tables.Column.show`, which the verifier shares), in the one number format (decimal comma; indices 1 decimal, mean
scores 2).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from analysis.tables import Column, Table  # noqa: F401  (the content's names)


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
