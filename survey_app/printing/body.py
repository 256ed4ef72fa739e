"""The questionnaire body of a printed form (title, legend, numbered sections, items) as
reportlab platypus flowables. Each item is drawn as its question type lays it out
(`QuestionType.printed`): a row of boxes in a table shared with its neighbours, or a
question of its own with a box per choice or lines to write on."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import (
    CondPageBreak,
    Flowable,
    KeepTogether,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from ..questions import REGISTRY, Block, DefinitionItem, Grid, get_type
from ..wording import said
from . import fonts

PAGE_W, PAGE_H = A4
MARGIN_X = 15 * mm
CONTENT_W = PAGE_W - 2 * MARGIN_X
BOX = "\u2610"  # ☐ BALLOT BOX, present in DejaVu Sans

ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI",
         "XII", "XIII", "XIV", "XV", "XVI", "XVII", "XVIII", "XIX", "XX")


# -- helpers -----------------------------------------------------------------

def loc(value: object, lang: str) -> str:
    """Pick *lang* from a ``{"vi": …, "en": …}`` dict (fallback: vi, any)."""
    if value is None:
        return ""
    if isinstance(value, Mapping):
        for key in (lang, "vi"):
            if value.get(key):
                return str(value[key])
        return next((str(v) for v in value.values() if v), "")
    return str(value)


def esc(text: object) -> str:
    """Escape plain text for platypus paragraph markup."""
    return escape(" ".join(str(text).split()))


def _roman(i: int) -> str:
    return ROMAN[i] if i < len(ROMAN) else str(i + 1)


class Styles:
    def __init__(self) -> None:
        regular, bold = fonts.register_fonts()
        self.regular, self.bold = regular, bold
        base = ParagraphStyle("base", fontName=regular, fontSize=9.5,
                              leading=12.2)
        self.body = base
        self.small = ParagraphStyle("small", base, fontSize=8, leading=10)
        self.caption = ParagraphStyle("caption", self.small,
                                      alignment=TA_CENTER)
        self.serial = ParagraphStyle("serial", base, fontSize=12, leading=26)
        self.header = ParagraphStyle("header", base, fontSize=10.5,
                                     leading=13.5, spaceBefore=2)
        self.title = ParagraphStyle("title", base, fontName=bold, fontSize=12.5,
                                    leading=16, alignment=TA_CENTER,
                                    spaceBefore=4, spaceAfter=4)
        self.group = ParagraphStyle("group", base, fontName=bold, fontSize=11,
                                    leading=14, spaceBefore=8, spaceAfter=4,
                                    backColor=colors.Color(0.87, 0.87, 0.87),
                                    borderPadding=(2, 3, 3, 3),
                                    leftIndent=3, rightIndent=3,
                                    keepWithNext=1)
        self.cell = ParagraphStyle("cell", base, fontSize=9, leading=11.2)
        self.question = ParagraphStyle("question", base, spaceBefore=5,
                                       spaceAfter=2, keepWithNext=1)
        self.choice = ParagraphStyle("choice", base, fontSize=9.5, leading=13)


class RuledLines(Flowable):
    """Dotted writing lines for a free-text answer."""

    def __init__(self, count: int, spacing: float = 8 * mm) -> None:
        super().__init__()
        self.count, self.spacing = count, spacing

    def wrap(self, availWidth, availHeight):  # noqa: N803
        self.width = availWidth
        return availWidth, self.count * self.spacing

    def draw(self) -> None:
        c = self.canv
        c.saveState()
        c.setLineWidth(0.5)
        c.setStrokeColor(colors.Color(0.35, 0.35, 0.35))
        c.setDash(1, 2)
        for i in range(self.count):
            y = i * self.spacing + 1
            c.line(0, y, self.width, y)
        c.restoreState()


# -- items -------------------------------------------------------------------

def _grid_style(header_cols_from: int) -> TableStyle:
    return TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
        ("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.93, 0.93, 0.93)),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("ALIGN", (header_cols_from, 0), (-1, -1), "CENTER"),
        ("ALIGN", (0, 0), (0, -1), "CENTER"),
        ("TOPPADDING", (0, 0), (-1, -1), 2.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
    ])


def _box_table(items: Sequence[DefinitionItem], grid: Grid, st: Styles,
               labels: Mapping, lang: str) -> Table:
    """Rows of (code, text, ☐ per column) with a repeated header."""
    box_col_w = grid.column_mm * mm
    ncols = len(grid.columns)
    code_w = 15 * mm
    text_w = CONTENT_W - code_w - box_col_w * ncols
    rows = [[labels["code"], labels["content"], *grid.columns]]
    for item in items:
        rows.append([item.code, Paragraph(esc(item.text(lang)), st.cell), *([BOX] * ncols)])
    table = Table(rows, colWidths=[code_w, text_w] + [box_col_w] * ncols, repeatRows=1)
    style = _grid_style(2)
    style.add("FONT", (0, 0), (-1, 0), st.bold, grid.header_size)
    style.add("FONT", (0, 1), (0, -1), st.bold, 8.5)
    style.add("FONT", (2, 1), (-1, -1), st.regular, 15)
    style.add("LEADING", (2, 1), (-1, -1), 15)
    table.setStyle(style)
    return table


def _grid_run(items: Sequence[DefinitionItem], grid: Grid, st: Styles,
              labels: Mapping, lang: str) -> list[Flowable]:
    out: list[Flowable] = []
    if grid.hint:
        out += [Paragraph(esc(grid.hint), st.small), Spacer(1, 1.5 * mm)]
    return [*out, _box_table(items, grid, st, labels, lang)]


def _question(item: DefinitionItem, hint: str, st: Styles, lang: str) -> Paragraph:
    return Paragraph(f"<b>{esc(item.code)}.</b> {esc(item.text(lang))} "
                     f"<font size=8>{esc(hint)}</font>", st.question)


def _block(item: DefinitionItem, block: Block, st: Styles, lang: str) -> list[Flowable]:
    """A question of its own: a box per choice, or ruled lines to write on."""
    question = _question(item, block.hint, st, lang)
    if block.lines:
        return [KeepTogether([question, Spacer(1, 2 * mm), RuledLines(block.lines)])]
    choices = [Paragraph(f"<font size=13>{BOX}</font>&nbsp;{esc(label)}", st.choice)
               for label in block.choices]
    if not choices:
        return [question, RuledLines(1)]
    longest = max(len(label) for label in block.choices)
    ncols = 4 if longest <= 14 else 3 if longest <= 22 else 2
    rows = [choices[i:i + ncols] for i in range(0, len(choices), ncols)]
    rows[-1] += [""] * (ncols - len(rows[-1]))
    table = Table(rows, colWidths=[(CONTENT_W - 6 * mm) / ncols] * ncols,
                  hAlign="RIGHT")
    table.setStyle(TableStyle([
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 0),
        ("TOPPADDING", (0, 0), (-1, -1), 1),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
    ]))
    return [KeepTogether([question, table])]


def _runs(items: Sequence[DefinitionItem], lang: str) -> list[tuple[Grid | Block, list]]:
    """Consecutive items of one type laid out in the same grid share a table; every
    other item stands alone."""
    out: list[tuple[Grid | Block, list[DefinitionItem]]] = []
    for item in items:
        layout = get_type(item.type).printed(item, lang)
        if (isinstance(layout, Grid) and out and out[-1][0] == layout
                and out[-1][1][-1].type == item.type):
            out[-1][1].append(item)
        else:
            out.append((layout, [item]))
    return out


# -- the questionnaire -------------------------------------------------------

def validate(definition: Mapping) -> None:
    if not isinstance(definition, Mapping) or not isinstance(
            definition.get("items"), list):
        raise ValueError("questionnaire definition must be a dict with 'items'")
    for item in definition["items"]:
        if item.get("type") not in REGISTRY:
            raise ValueError(
                f"item {item.get('code')!r}: unsupported type "
                f"{item.get('type')!r} (expected one of {', '.join(REGISTRY)})"
            )


def _legend(items: Sequence[DefinitionItem], st: Styles, labels: Mapping,
            lang: str) -> Flowable:
    """What the marks mean (once per type that says so), then how to mark a box."""
    lines = []
    for name in dict.fromkeys(item.type for item in items):
        legend = get_type(name).legend(lang)
        if legend is not None:
            marks = " · ".join(f"<b>{esc(mark)}</b> {esc(meaning)}"
                               for mark, meaning in legend.marks)
            lines.append(f"<b>{esc(legend.title)}:</b> {marks}")
    if not lines:
        return Paragraph(esc(labels["how"]), st.small)
    table = Table([[Paragraph("<br/>".join([*lines, esc(labels["how"])]), st.small)]],
                  colWidths=[CONTENT_W])
    table.setStyle(TableStyle([
        ("BOX", (0, 0), (-1, -1), 0.6, colors.black),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
    ]))
    return table


def _sections(definition: Mapping, items: list[DefinitionItem]
              ) -> list[tuple[Mapping | None, list[DefinitionItem]]]:
    groups = list(definition.get("groups") or ())
    known = {g.get("code") for g in groups}
    sections: list[tuple[Mapping | None, list[DefinitionItem]]] = [
        (g, [i for i in items if i.data.get("group") == g.get("code")]) for g in groups]
    orphans = [i for i in items if i.data.get("group") not in known]
    if orphans:
        sections.append((None, orphans))
    return sections


def questionnaire(definition: Mapping, st: Styles, labels: Mapping,
                  lang: str) -> list[Flowable]:
    """Flowables for the questionnaire body (title, intro, groups, items)."""
    story: list[Flowable] = []
    title = said(lang, "", "title") or loc(definition.get("title"), lang)
    if title:
        story.append(Paragraph(esc(title), st.title))
    intro = said(lang, "", "intro") or loc(definition.get("intro"), lang)
    if intro:
        story.append(Paragraph(esc(intro), st.body))
    story.append(Spacer(1, 2 * mm))
    items = [DefinitionItem(i) for i in definition["items"]]
    story.append(_legend(items, st, labels, lang))

    number = 0
    for group, group_items in _sections(definition, items):
        if not group_items:
            continue
        if group is not None:
            name = (said(lang, "", f"group.{group.get('code')}") or loc(group.get("name"), lang)
                    or str(group.get("code", "")))
            story.append(CondPageBreak(35 * mm))
            story.append(Paragraph(f"{_roman(number)}. {esc(name)}", st.group))
            number += 1
        for layout, run in _runs(group_items, lang):
            if isinstance(layout, Grid):
                story.extend(_grid_run(run, layout, st, labels, lang))
            else:
                story.extend(_block(run[0], layout, st, lang))
            story.append(Spacer(1, 2 * mm))
    return story
