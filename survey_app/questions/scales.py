"""The scale questions answered by one mark in a row of boxes: satisfaction (1–5, or 0 for
"not applicable"), which the index counts, and priority (1 Ít, 2 Nhiều, 3 Rất nhiều)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from .base import Entry, Grid, InvalidAnswer, Legend, QuestionType, register


class Scale(QuestionType):
    """A number from a fixed scale: `order` is the values as the form shows them, the
    label table's "values" names them; from paper, one digit matching `pattern` is
    keyed into a short box ("key_title", after "key_legend")."""

    order: tuple[int, ...] = ()
    pattern = ""
    numeric = True
    row = True

    def choices(self, item, lang):
        labels = self.text(lang, "values")
        return [(str(v), labels[v]) for v in self.order]

    def to_value(self, data):
        return int(data) if data not in (None, "") else None

    def entry(self, item, lang):
        return Entry(keyed=True, pattern=self.pattern, title=self.text(lang, "key_title"),
                     legend=self.text(lang, "key_legend"))


@register
class Satisfaction(Scale):
    name, scored = "satisfaction", True
    respondent_words = ("values", "marks", "legend")
    #: 0 is "not applicable".
    order, pattern = (1, 2, 3, 4, 5, 0), "[0-5]"

    def form_choices(self, item, lang):
        """Each answer's words under its number ("4", "Hài lòng"); "not applicable" has
        none."""
        return [(v, v if v != "0" else "", label) for v, label in self.choices(item, lang)]
    labels = {
        "vi": {
            "title": "Mức độ hài lòng (1–5, không áp dụng)",
            "values": {1: "Rất không hài lòng", 2: "Không hài lòng", 3: "Bình thường",
                       4: "Hài lòng", 5: "Rất hài lòng", 0: "Không áp dụng"},
            # What heads a value's printed column where it is not the number itself.
            "marks": {0: "KAD"},
            "legend": "Thang đánh giá",
            "key_title": "1–5, 0 = KAD",
            "key_legend": "Gõ 1 Rất không hài lòng · 2 Không hài lòng · 3 Bình thường · "
                          "4 Hài lòng · 5 Rất hài lòng · 0 = KAD (Không áp dụng)",
        },
        "en": {
            "title": "Satisfaction (1–5, not applicable)",
            "values": {1: "Very dissatisfied", 2: "Dissatisfied", 3: "Neutral", 4: "Satisfied",
                       5: "Very satisfied", 0: "Not applicable"},
            "marks": {0: "N/A"},
            "legend": "Scale",
            "key_title": "1–5, 0 = N/A",
            "key_legend": "Type 1 Very dissatisfied · 2 Dissatisfied · 3 Neutral · "
                          "4 Satisfied · 5 Very satisfied · 0 = N/A (not applicable)",
        },
    }

    def mark(self, value: int, lang: str) -> str:
        return self.text(lang, "marks").get(value, str(value))

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

    def display(self, item, value, lang, *, paper=False):
        if paper and self.mark(value, lang) != str(value):
            return self.mark(value, lang)  # the clerk reads the column's head: KAD
        return super().display(item, value, lang, paper=paper)

    def printed(self, item, lang):
        return Grid(columns=tuple(self.mark(v, lang) for v in self.order), column_mm=11)

    def legend(self, lang):
        values = self.text(lang, "values")
        return Legend(self.text(lang, "legend"),
                      tuple((self.mark(v, lang), values[v]) for v in self.order))


@register
class Priority(Scale):
    name, order, pattern = "priority", (3, 2, 1), "[1-3]"
    respondent_words = ("values", "hint")
    labels = {
        "vi": {
            "title": "Mức ưu tiên (Rất nhiều / Nhiều / Ít)",
            "values": {3: "Rất nhiều", 2: "Nhiều", 1: "Ít"},
            "hint": "Mức độ cần ưu tiên cải thiện: đánh dấu một ô cho mỗi nội dung.",
            "key_title": "3 Rất nhiều, 2 Nhiều, 1 Ít",
            "key_legend": "Mức độ cần ưu tiên: gõ 3 = Rất nhiều · 2 = Nhiều · 1 = Ít; "
                          "để trống nếu không đánh dấu",
        },
        "en": {
            "title": "Priority (A lot / Some / A little)",
            "values": {3: "A lot", 2: "Some", 1: "A little"},
            "hint": "How much should this be improved? Tick one box per line.",
            "key_title": "3 A lot, 2 Some, 1 A little",
            "key_legend": "Priority: type 3 = A lot · 2 = Some · 1 = A little; "
                          "leave blank if not marked",
        },
    }

    def parser(self, item):
        allowed = {str(k): k for k in self.labels["vi"]["values"]}
        message = _l("giá trị phải là 1, 2 hoặc 3")

        def parse(value):
            if type(value) not in (int, str) or str(value) not in allowed:
                raise InvalidAnswer(message)
            return allowed[str(value)]
        return parse

    def printed(self, item, lang):
        return Grid(columns=tuple(label for _, label in self.choices(item, lang)),
                    column_mm=19, header_size=8.5, hint=self.text(lang, "hint"))


SATISFACTION_LABELS = {lang: table["values"] for lang, table in Satisfaction.labels.items()}
PRIORITY_LABELS = {lang: table["values"] for lang, table in Priority.labels.items()}
