"""The respondent's form, built from a questionnaire version at request time.

Form classes are cached per (version, language): versions are immutable, so a class built
once stays right, and a page view costs no class construction.
"""

from __future__ import annotations

from flask import has_request_context, request
from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField

from .models import QuestionnaireVersion
from .questions import get_type

DUPLICATE_MESSAGE = "Chỉ được chọn một câu trả lời."
_CLASS_CACHE: dict[tuple[int, str], type] = {}


class SurveyFormBase(FlaskForm):
    # When the page was rendered (signed server-side with the CSRF token's time): lets the
    # submission record how long answering took.
    started = HiddenField()
    # Honeypot: hidden from people by CSS, filled by naive bots.
    website = StringField()

    def validate(self, extra_validators=None):
        ok = super().validate(extra_validators)
        # A question with one answer must not arrive twice (a hand-made or replayed body).
        if not has_request_context():
            return ok
        for field in self:
            if field.type == "RadioField" and len(request.form.getlist(field.name)) > 1:
                field.errors = [*field.errors, DUPLICATE_MESSAGE]
                ok = False
        return ok


def survey_form_class(version: QuestionnaireVersion, lang: str, base=SurveyFormBase) -> type:
    key = (version.id, lang, base.__name__)
    cls = _CLASS_CACHE.get(key)
    if cls is None:
        attrs = {item.code: get_type(item.type).field(item, lang) for item in version.items}
        cls = type(f"SurveyForm_{version.id}_{lang}", (base,), attrs)
        _CLASS_CACHE[key] = cls
    return cls


def collect_answers(form, version: QuestionnaireVersion) -> dict:
    """The validated form's answers as stored values; unanswered items are left out."""
    answers = {}
    for item in version.items:
        value = get_type(item.type).to_value(form[item.code].data)
        if value is not None:
            answers[item.code] = value
    return answers


def sections(version: QuestionnaireVersion, form, lang: str) -> list[dict]:
    """Groups with their items and bound fields, in order, for the templates."""
    out = []
    for group in version.groups:
        rows = []
        for item in group.items:
            qtype = get_type(item.type)
            rows.append({"item": item, "field": form[item.code], "type": item.type,
                         "choices": qtype.choices(item, lang), "text": item.text(lang)})
        out.append({"group": group, "name": group.name(lang), "rows": rows})
    return out
