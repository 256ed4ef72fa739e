"""Questions answered with the item's own choices: one of them, or any number."""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from wtforms import SelectMultipleField

from .base import InvalidAnswer, QuestionType, check_choices, register, select


class Choices(QuestionType):
    """A question whose answers are the item's own choices (`options.choices`)."""

    groups = True

    def check_options(self, item):
        return check_choices(item)


@register
class SingleChoice(Choices):
    name = "single_choice"
    labels = {
        "vi": {"title": "Chọn một", "hint": "(chọn một)"},
        "en": {"title": "Single choice", "hint": "(choose one)"},
    }

    def parser(self, item):
        allowed = frozenset(c["code"] for c in item.choices)
        message = _l("giá trị phải là một trong: %(choices)s",
                     choices=", ".join(c["code"] for c in item.choices))

        def parse(value):
            if not isinstance(value, str) or value not in allowed:
                raise InvalidAnswer(message)
            return value
        return parse


@register
class MultipleChoice(Choices):
    name, multiple = "multiple_choice", True
    labels = {"vi": {"title": "Chọn nhiều", "hint": "(có thể chọn nhiều)"},
              "en": {"title": "Multiple choice", "hint": "(you may choose several)"}}

    def field(self, item, lang):
        return SelectMultipleField(item.code, choices=select(self.choices(item, lang)),
                                   validators=self.validators(item, lang))

    def to_value(self, data):
        return list(data) if data else None

    def from_typed(self, typed):
        return [code for code in re.split(r"[;,\s]+", typed) if code]

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
