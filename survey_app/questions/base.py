"""What a question type is: the base class every type derives from, the layouts it hands
to the printer and to the paper-entry screen, and the registry of types by name.

No module outside this package asks which type an item is; it asks the item's type
(`get_type(item.type)`) to build, parse, show, export, print or lay out a value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from wtforms import RadioField, SelectChoice
from wtforms.validators import InputRequired, Optional

from ..wording import Wording, said

REQUIRED_MESSAGE = {"vi": "Vui lòng chọn một câu trả lời.", "en": "Please choose an answer."}

#: Control characters have no place in a comment (and would blur the ledger's field
#: separators); line breaks and tabs stay.
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class InvalidAnswer(ValueError):
    """A submitted value a type refuses; `message` is shown beside the question (a lazy
    string: translated when shown, so checking needs no request context)."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


def lang_of(lang: str) -> str:
    """The label table a page language reads (Vietnamese unless English)."""
    return "en" if lang == "en" else "vi"


# --- layouts ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Grid:
    """Printed as a row of a table, one box per value under `columns`; consecutive items
    with the same grid share one table, introduced by `hint` when there is one."""

    columns: tuple[str, ...]
    column_mm: float = 11
    header_size: float = 9
    hint: str = ""


@dataclass(frozen=True)
class Block:
    """Printed as a question of its own: its text and `hint`, then a box per choice, or
    `lines` ruled lines to write on."""

    hint: str = ""
    choices: tuple[str, ...] = ()
    lines: int = 0


@dataclass(frozen=True)
class Legend:
    """What the marks of a grid mean, printed once above the questionnaire."""

    title: str
    marks: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Entry:
    """How the clerk keys the item from paper.

    `keyed`: typed into a short box (`pattern`, at most `width` characters, `title` as a
    tooltip), consecutive keyed items of a type in one table after `legend`. Otherwise a
    fieldset after `hint`: `control` "radio" or "checkbox" over `choices`, or "textarea"
    of at most `max_length` characters."""

    keyed: bool = False
    pattern: str = ""
    width: int = 1
    title: str = ""
    legend: str = ""
    hint: str = ""
    control: str = "radio"
    choices: tuple[tuple[str, str], ...] = ()
    max_length: int = 0


class DefinitionItem:
    """An item of a questionnaire definition (a data file's dict, as the printer gets it)
    with the attributes an `Item` row has, so a type reads either alike."""

    def __init__(self, data: Mapping):
        self.data = data
        self.code = str(data.get("code", ""))
        self.type = data.get("type")
        self.required = bool(data.get("required", False))
        self.choices = list(data.get("choices") or ())
        self.options = {k: v for k, v in data.items()
                        if k not in ("code", "group", "type", "required", "text")}

    def text(self, lang: str) -> str:
        translated = said(lang, self.code, "text")
        if translated:
            return translated
        text = self.data.get("text")
        if isinstance(text, Mapping):
            return str(text.get(lang) or text.get("vi") or "")
        return "" if text is None else str(text)


# --- the base class -----------------------------------------------------------------------

class QuestionType:
    """A type of question. A subclass sets `name` and `labels` and overrides what differs;
    the defaults suit a question answered by one of the item's choices.

    `labels` is the type's one table of words per language ("vi", "en"): at least
    "title" (what the type is, for administrators). `respondent_words` names its entries
    a respondent reads (on the form or on paper), which a questionnaire's translation
    gives in its language (part "type.<name>.<entry>[.<value>]"); "values" names the
    answers, so a translation must give them."""

    name = ""
    labels: dict[str, dict] = {"vi": {"title": ""}, "en": {"title": ""}}
    #: Answers are counted into the satisfaction index (and the tally): such items make
    #: up the index's elements, and no other item belongs to an element.
    scored = False
    #: A submission may carry the item several times (a list of values).
    multiple = False
    #: Answered in the citizen's own words: kept as written, shown as comments.
    free_text = False
    #: Stored as a number: a workbook writes the cell as one.
    numeric = False
    #: Each answer puts the respondent in a group (a profile question): results can be
    #: broken down by it.
    groups = False
    #: Answered by one mark on a short scale: the citizen's form lays the answers out as
    #: one row of equal targets (a phone shows a question in two lines and a row).
    row = False
    respondent_words: tuple[str, ...] = ("hint",)

    def text(self, lang: str, key: str):
        """An entry of the type's label table in `lang` (falling back to Vietnamese); in a
        loaded translation (`wording.Wording`), the translation's words where it has them."""
        if isinstance(lang, Wording) and key in self.respondent_words:
            source = self.labels["vi"].get(key, "")
            part = f"type.{self.name}.{key}"
            if isinstance(source, Mapping):
                return {k: said(lang, "", f"{part}.{k}") or v for k, v in source.items()}
            return said(lang, "", part) or source
        table = self.labels.get(lang_of(lang)) or {}
        return table[key] if key in table else self.labels["vi"].get(key, "")

    def translatable(self) -> dict[str, str]:
        """The type's words a translation gives: Vietnamese by part key."""
        out = {}
        for key in self.respondent_words:
            source = self.labels["vi"].get(key)
            if isinstance(source, Mapping):
                out.update({f"type.{self.name}.{key}.{k}": str(v) for k, v in source.items()})
            elif source:
                out[f"type.{self.name}.{key}"] = str(source)
        return out

    @property
    def label(self) -> str:
        return self.text("vi", "title")

    # -- the citizen's form and a submitted value --

    def choices(self, item, lang: str) -> list[tuple[str, str]]:
        table = lang_of(lang)
        return [(c["code"], said(lang, item.code, f"choice.{c['code']}")
                 or c["label"].get(table) or c["label"]["vi"]) for c in item.choices]

    def form_choices(self, item, lang: str) -> list[tuple[str, str, str]]:
        """The choices as the citizen's form labels them: (value, mark, words), the mark
        a short sign shown large before the words ("4" before "Hài lòng"), or ""."""
        return [(value, "", label) for value, label in self.choices(item, lang)]

    def field(self, item, lang: str):
        return RadioField(item.code, choices=select(self.choices(item, lang)),
                          validators=self.validators(item, lang))

    def validators(self, item, lang):
        if item.required:
            return [InputRequired(message=said(lang, "", "form.required_error")
                                  or REQUIRED_MESSAGE[lang_of(lang)])]
        return [Optional()]

    def to_value(self, data):
        return data if data not in (None, "", []) else None

    def parser(self, item):
        """A function from one submitted value (not empty) to the stored value, or None
        for "left unanswered"; it raises `InvalidAnswer`. Built once per item, so the
        item's settings are worked out once per questionnaire version and not per
        submission."""
        raise TypeError(self.name)

    def check_options(self, item: dict) -> list[str]:
        """Problems with an item's settings in a questionnaire definition."""
        return []

    def from_typed(self, typed: str):
        """A value as typed in one box (a correction form), in the shape submissions
        carry."""
        return typed

    # -- reading a stored value --

    def export(self, value) -> str:
        """The cell the export and the ledger hold for a stored value. They are written by
        `analysis.kinds.export_value`, which cannot import the registry; a test checks
        that the two agree."""
        return "" if value is None else str(value)

    def display(self, item, value, lang: str, *, paper: bool = False) -> str:
        """A stored (not empty) value as a person reads it: "code — label" on the audit
        pages; as marked on the form, "code (label)", with `paper`."""
        labels = dict(self.choices(item, lang))
        values = value if isinstance(value, list) else [value]
        pattern = "{} ({})" if paper else "{} — {}"
        return "; ".join(pattern.format(v, labels.get(str(v), "?")) for v in values)

    # -- paper --

    def printed(self, item, lang: str) -> Grid | Block:
        """The item's layout on the printed form."""
        return Block(hint=self.text(lang, "hint"),
                     choices=tuple(label for _, label in self.choices(item, lang)))

    def legend(self, lang: str) -> Legend | None:
        """What the type's printed marks mean, when they need saying once per form."""
        return None

    def entry(self, item, lang: str) -> Entry:
        """The item's layout on the paper-entry screen."""
        return Entry(hint=self.text(lang, "hint"), choices=tuple(self.choices(item, lang)),
                     control="checkbox" if self.multiple else "radio")


# --- the registry -----------------------------------------------------------------------

REGISTRY: dict[str, QuestionType] = {}


def register(cls: type[QuestionType]) -> type[QuestionType]:
    """Class decorator: make the type available to questionnaires under `cls.name`."""
    if not cls.name or cls.name in REGISTRY:
        raise ValueError(f"question type name {cls.name!r} is empty or taken")
    REGISTRY[cls.name] = cls()
    return cls


def unregister(name: str) -> None:
    """Forget a type (for tests that register one of their own)."""
    REGISTRY.pop(name, None)


def get_type(name: str) -> QuestionType:
    return REGISTRY[name]


def names_where(attribute: str) -> tuple[str, ...]:
    """The names of the types with a true `attribute` (e.g. "free_text"), for queries."""
    return tuple(name for name, qtype in REGISTRY.items() if getattr(qtype, attribute))


# --- helpers ------------------------------------------------------------------------------

def select(pairs):
    return [SelectChoice(value, label) for value, label in pairs]


def check_choices(item) -> list[str]:
    choices = item.get("choices") if isinstance(item, dict) else item.choices
    if not choices or not isinstance(choices, list):
        return ["cần danh sách lựa chọn (choices)"]
    errors, seen = [], set()
    for c in choices:
        if not isinstance(c, dict) or not str(c.get("code", "")).strip():
            errors.append("mỗi lựa chọn cần có code")
            continue
        if c["code"] in seen:
            errors.append(f"lựa chọn trùng mã '{c['code']}'")
        seen.add(c["code"])
        if not isinstance(c.get("label"), dict) or not c["label"].get("vi"):
            errors.append(f"lựa chọn '{c['code']}' thiếu nhãn tiếng Việt (label.vi)")
    return errors
