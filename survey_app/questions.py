"""Question types as a registry: each type builds its WTForms field, checks its settings,
and turns a submitted value into the stored one and into its export code.

Stored values (in a response's canonical JSON): satisfaction 1..5 or 0 for "not
applicable"; priority 1 (Ít), 2 (Nhiều), 3 (Rất nhiều); single choice the choice code;
multiple choice a list of choice codes in questionnaire order; text a string.
"""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from wtforms import RadioField, SelectChoice, SelectMultipleField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

SATISFACTION_LABELS = {
    "vi": {1: "Rất không hài lòng", 2: "Không hài lòng", 3: "Bình thường", 4: "Hài lòng",
           5: "Rất hài lòng", 0: "Không áp dụng"},
    "en": {1: "Very dissatisfied", 2: "Dissatisfied", 3: "Neutral", 4: "Satisfied",
           5: "Very satisfied", 0: "Not applicable"},
}
PRIORITY_LABELS = {
    "vi": {3: "Rất nhiều", 2: "Nhiều", 1: "Ít"},
    "en": {3: "A lot", 2: "Some", 1: "A little"},
}
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


def _lang(lang: str) -> str:
    return "en" if lang == "en" else "vi"


class QuestionType:
    name = ""
    label = ""
    scored = False
    #: True when a submission may carry the item several times (a list of values).
    multiple = False

    def parser(self, item):
        """A function from one submitted value (not empty) to the stored value, or None
        for "left unanswered"; it raises `InvalidAnswer`. Built once per item, so the
        item's settings are worked out once per questionnaire version and not per
        submission."""
        raise TypeError(self.name)

    def check_options(self, item: dict) -> list[str]:
        return []

    def choices(self, item, lang: str) -> list[tuple[str, str]]:
        return []

    def field(self, item, lang: str):
        raise TypeError(self.name)

    def to_value(self, data):
        return data if data not in (None, "", []) else None

    def export(self, value) -> str:
        return "" if value is None else str(value)

    def validators(self, item, lang):
        if item.required:
            return [InputRequired(message=REQUIRED_MESSAGE[_lang(lang)])]
        return [Optional()]


class Satisfaction(QuestionType):
    name, label, scored = "satisfaction", "Mức độ hài lòng (1–5, không áp dụng)", True

    def choices(self, item, lang):
        labels = SATISFACTION_LABELS[_lang(lang)]
        return [(str(v), labels[v]) for v in (1, 2, 3, 4, 5, 0)]

    def field(self, item, lang):
        return RadioField(item.code, choices=_select(self.choices(item, lang)),
                          validators=self.validators(item, lang))

    def to_value(self, data):
        return int(data) if data not in (None, "") else None

    def export(self, value):
        return "" if value in (None, 0) else str(value)

    def parser(self, item):
        scale = {**{str(k): k for k in range(6)}, **{k: k for k in range(6)}}
        message = _l("giá trị phải là 1–5, hoặc 0 (không áp dụng)")

        def parse(value):
            score = scale.get(value) if type(value) in (int, str) else None
            if score is None:
                raise InvalidAnswer(message)
            return score
        return parse


class Priority(QuestionType):
    name, label = "priority", "Mức ưu tiên (Rất nhiều / Nhiều / Ít)"

    def choices(self, item, lang):
        labels = PRIORITY_LABELS[_lang(lang)]
        return [(str(v), labels[v]) for v in (3, 2, 1)]

    def field(self, item, lang):
        return RadioField(item.code, choices=_select(self.choices(item, lang)),
                          validators=self.validators(item, lang))

    def to_value(self, data):
        return int(data) if data not in (None, "") else None

    def parser(self, item):
        allowed = {str(k): k for k in PRIORITY_LABELS["vi"]}
        message = _l("giá trị phải là 1, 2 hoặc 3")

        def parse(value):
            if type(value) not in (int, str) or str(value) not in allowed:
                raise InvalidAnswer(message)
            return allowed[str(value)]
        return parse


class SingleChoice(QuestionType):
    name, label = "single_choice", "Chọn một"

    def check_options(self, item):
        return _check_choices(item)

    def choices(self, item, lang):
        lang = _lang(lang)
        return [(c["code"], c["label"].get(lang) or c["label"]["vi"]) for c in item.choices]

    def field(self, item, lang):
        return RadioField(item.code, choices=_select(self.choices(item, lang)),
                          validators=self.validators(item, lang))

    def parser(self, item):
        allowed = frozenset(c["code"] for c in item.choices)
        message = _l("giá trị phải là một trong: %(choices)s",
                     choices=", ".join(c["code"] for c in item.choices))

        def parse(value):
            if not isinstance(value, str) or value not in allowed:
                raise InvalidAnswer(message)
            return value
        return parse


class MultipleChoice(QuestionType):
    name, label = "multiple_choice", "Chọn nhiều"
    multiple = True

    def check_options(self, item):
        return _check_choices(item)

    choices = SingleChoice.choices

    def field(self, item, lang):
        return SelectMultipleField(item.code, choices=_select(self.choices(item, lang)),
                                   validators=self.validators(item, lang))

    def to_value(self, data):
        return list(data) if data else None

    def export(self, value):
        return ";".join(value) if value else ""

    def parser(self, item):
        order = tuple(c["code"] for c in item.choices)
        allowed = frozenset(order)
        message = _l("danh sách giá trị trong: %(choices)s", choices=", ".join(order))
        repeated = _l("giá trị bị lặp")

        def parse(values):
            if not isinstance(values, list) or not all(
                    isinstance(v, str) and v in allowed for v in values):
                raise InvalidAnswer(message)
            if len(set(values)) != len(values):
                raise InvalidAnswer(repeated)
            return [c for c in order if c in values]
        return parse


class FreeText(QuestionType):
    name, label = "text", "Trả lời tự do"

    def max_length(self, item) -> int:
        return int((item.options or {}).get("max_length", 2000))

    def field(self, item, lang):
        msg = ("Tối đa %(max)d ký tự." if _lang(lang) == "vi" else "At most %(max)d characters.")
        return TextAreaField(item.code, validators=self.validators(item, lang)
                             + [Length(max=self.max_length(item), message=msg)])

    def to_value(self, data):
        data = (data or "").strip()
        return data or None

    def parser(self, item):
        limit = self.max_length(item)
        not_text = _l("phải là văn bản")
        too_long = _l("tối đa %(n)d ký tự", n=limit)

        def parse(value):
            if not isinstance(value, str):
                raise InvalidAnswer(not_text)
            if len(value) > limit:
                raise InvalidAnswer(too_long)
            return CONTROL_CHARS.sub("", value).strip() or None
        return parse


def _select(pairs):
    return [SelectChoice(value, label) for value, label in pairs]


def _check_choices(item) -> list[str]:
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


REGISTRY: dict[str, QuestionType] = {
    t.name: t for t in (Satisfaction(), Priority(), SingleChoice(), MultipleChoice(), FreeText())
}


def get_type(name: str) -> QuestionType:
    return REGISTRY[name]
