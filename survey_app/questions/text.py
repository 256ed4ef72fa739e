"""The free-text question: the citizen's own words, kept as written (control characters
aside) and read as comments."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import TextAreaField
from wtforms.validators import Length

from .base import CONTROL_CHARS, Block, Entry, InvalidAnswer, QuestionType, lang_of, register

#: Ruled lines printed for an answer.
LINES = 6


@register
class FreeText(QuestionType):
    name = "text"
    free_text = True
    labels = {
        "vi": {"title": "Trả lời tự do", "hint": "(ghi ý kiến vào các dòng dưới đây)",
               "too_long": "Tối đa %(max)d ký tự."},
        "en": {"title": "Free text", "hint": "(write on the lines below)",
               "too_long": "At most %(max)d characters."},
    }

    def max_length(self, item) -> int:
        return int((item.options or {}).get("max_length", 2000))

    def choices(self, item, lang):
        return []

    def field(self, item, lang):
        return TextAreaField(item.code, validators=self.validators(item, lang) + [
            Length(max=self.max_length(item), message=self.text(lang_of(lang), "too_long"))])

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

    def display(self, item, value, lang, *, paper=False):
        return str(value)

    def printed(self, item, lang):
        return Block(hint=self.text(lang, "hint"), lines=LINES)

    def entry(self, item, lang):
        return Entry(control="textarea", max_length=self.max_length(item))
