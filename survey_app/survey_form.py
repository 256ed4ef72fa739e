"""The respondent's form, built from a questionnaire version at request time.

Versions never change once stored, so each process keeps a plain snapshot of every
version it has served (`spec`), the WTForms class built from it, and the HTML of its
untouched questions: showing a form costs one small query and no re-rendering of 36
questions. The snapshot answers to the same attribute names as the ORM objects, so the
question types and templates work with either.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from flask import render_template
from flask_wtf import FlaskForm
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from analysis.load_cross import CrossPlan

from .extensions import db
from .models import QuestionGroup, QuestionnaireVersion
from .questions import REQUIRED_MESSAGE, get_type
from .wording import Wording, fallback, revision, said, word


@dataclass(frozen=True)
class ItemSpec:
    id: int
    code: str
    type: str
    required: bool
    text_vi: str
    text_en: str
    options: dict

    def text(self, lang: str) -> str:
        return self.text_in(lang)[0]

    def text_in(self, lang: str) -> tuple[str, str]:
        """(the item's text for a page in `lang`, the language it is actually in)."""
        return _in(lang, said(lang, self.code, "text"), self.text_en, self.text_vi)

    @property
    def choices(self) -> list[dict]:
        return list((self.options or {}).get("choices", []))


@dataclass(frozen=True)
class GroupSpec:
    code: str
    kind: str
    name_vi: str
    name_en: str
    items: tuple[ItemSpec, ...]

    def name(self, lang: str) -> str:
        return self.name_in(lang)[0]

    def name_in(self, lang: str) -> tuple[str, str]:
        return _in(lang, said(lang, "", f"group.{self.code}"), self.name_en, self.name_vi)


@dataclass(frozen=True)
class VersionSpec:
    id: int
    title_vi: str
    title_en: str
    intro_vi: str
    intro_en: str
    groups: tuple[GroupSpec, ...]
    items: tuple[ItemSpec, ...] = field(default=())

    def title(self, lang: str) -> str:
        return self.title_in(lang)[0]

    def title_in(self, lang: str) -> tuple[str, str]:
        return _in(lang, said(lang, "", "title"), self.title_en, self.title_vi)

    def intro(self, lang: str) -> str:
        return self.intro_in(lang)[0]

    def intro_in(self, lang: str) -> tuple[str, str]:
        return _in(lang, said(lang, "", "intro"), self.intro_en, self.intro_vi)

    @cached_property
    def has_english(self) -> bool:
        """The version has English texts of its own (so the form offers English)."""
        return bool(self.title_en or any(i.text_en for i in self.items))

    def satisfaction_items(self) -> list[ItemSpec]:
        return [i for i in self.items if get_type(i.type).scored]

    @cached_property
    def item_kinds(self) -> tuple[tuple[str, str, bool], ...]:
        """(code, type, scored) of every item, in order: a ledger payload's answer cells."""
        return tuple((i.code, i.type, get_type(i.type).scored) for i in self.items)

    @cached_property
    def scored_items(self) -> tuple[tuple[str, int], ...]:
        """(code, id) of the scored (satisfaction) items, which the tally counts."""
        return tuple((i.code, i.id) for i in self.items if get_type(i.type).scored)

    @cached_property
    def cross_plan(self) -> CrossPlan:
        """The layout of the cross counts' vectors (`analysis.load_cross`)."""
        return CrossPlan.of([(i.code, i.type) for i in self.items])

    @cached_property
    def answer_rules(self) -> tuple[dict, tuple[str, ...]]:
        """(value parser by item code, codes of the required items): each question type's
        `parser`, built once per version; what `intake.validate` applies."""
        return answer_rules(self.items)

    @cached_property
    def multiple_items(self) -> frozenset[str]:
        """Codes of the items a submission may carry several times."""
        return frozenset(i.code for i in self.items if get_type(i.type).multiple)


def _in(lang: str, translated: str | None, english: str, vietnamese: str) -> tuple[str, str]:
    """A text in the page's language where there is one, else the Vietnamese, with the
    language it is in (so that a page can mark what is not in its own language)."""
    if translated:
        return translated, str(lang)
    if lang == "en" and english:
        return english, "en"
    return vietnamese, "vi"


_SPECS: dict[int, VersionSpec] = {}
_CLASS_CACHE: dict[tuple, type] = {}
_HTML_CACHE: dict[tuple[int, str, str], tuple[str, Markup]] = {}


def answer_rules(items) -> tuple[dict, tuple[str, ...]]:
    """(value parser by item code, codes of the required items) for a questionnaire's
    items (ORM objects or snapshots)."""
    return ({item.code: get_type(item.type).parser(item) for item in items},
            tuple(item.code for item in items if item.required))


def loaded_spec(version_id: int) -> VersionSpec | None:
    """The version's snapshot if this process has loaded it already, else None (no
    database access: usable outside Flask's application context)."""
    return _SPECS.get(version_id)


def spec(version_id: int) -> VersionSpec:
    """The immutable snapshot of a questionnaire version (loaded once per process)."""
    cached = loaded_spec(version_id)
    if cached is not None:
        return cached
    version = db.session.scalar(
        select(QuestionnaireVersion).where(QuestionnaireVersion.id == version_id)
        .options(selectinload(QuestionnaireVersion.groups).selectinload(QuestionGroup.items)))
    groups = tuple(
        GroupSpec(g.code, g.kind, g.name_vi, g.name_en, tuple(
            ItemSpec(i.id, i.code, i.type, i.required, i.text_vi, i.text_en, dict(i.options or {}))
            for i in g.items))
        for g in version.groups)
    items = tuple(sorted((i for g in groups for i in g.items),
                         key=lambda i: [x.code for x in version.items].index(i.code)))
    result = VersionSpec(version.id, version.title_vi, version.title_en, version.intro_vi,
                         version.intro_en, groups, items)
    _SPECS[version_id] = result
    return result


class SurveyFormBase(FlaskForm):
    """Renders a version's questions; the answers are checked by `intake.validate`, the
    rules every channel shares."""


def survey_form_class(version, lang: str, base=SurveyFormBase) -> type:
    """The WTForms class for a version (ORM object or spec) in a language."""
    key = (version.id, str(lang), revision(lang), base.__name__)
    cls = _CLASS_CACHE.get(key)
    if cls is None:
        attrs = {item.code: get_type(item.type).field(item, lang) for item in version.items}
        cls = type(f"SurveyForm_{version.id}_{lang}", (base,), attrs)
        _CLASS_CACHE[key] = cls
    return cls


def collect_answers(form, version) -> dict:
    """The validated form's answers as stored values; unanswered items are left out."""
    answers = {}
    for item in version.items:
        value = get_type(item.type).to_value(form[item.code].data)
        if value is not None:
            answers[item.code] = value
    return answers


def bound_form_with_errors(version, lang: str, errors: dict[str, str]):
    """The posted form, answers kept, with each error beside its question."""
    form = survey_form_class(version, lang)(meta={"csrf": False})
    required = {i.code for i in version.items if i.required}
    if isinstance(lang, Wording):
        missing_message = word("required_error", lang)
    else:
        missing_message = REQUIRED_MESSAGE["en" if lang == "en" else "vi"]
    for code, message in errors.items():
        if code in form:
            missing = code in required and not form[code].raw_data
            form[code].errors = [missing_message if missing else message]
    return form


def sections(version, form, lang: str, audio=None) -> list[dict]:
    """Groups with their items and bound fields, in order, for the templates. `audio`:
    the read-aloud clips (`speech.store.Clips`), whose `url(code)` is a question's.

    A row's `text_lang` (a section's `name_lang`) is the language its text is actually in:
    Vietnamese where the page's language has no text for it, which the page marks
    (`lang` attribute, `wording.in_lang`). A choice's label in Vietnamese on a page in
    another language comes marked already (`wording.fallback`, safe HTML)."""
    out = []
    for group in version.groups:
        rows = []
        for item in group.items:
            qtype = get_type(item.type)
            text, text_lang = _text_in(item, lang)
            rows.append({"item": item, "field": form[item.code], "type": item.type,
                         "choices": _choices(qtype, item, lang), "text": text,
                         "text_lang": text_lang, "scored": qtype.scored,
                         "multiple": qtype.multiple, "free_text": qtype.free_text,
                         "row": qtype.row,
                         "audio": audio.url(item.code) if audio else None})
        name, name_lang = _name_in(group, lang)
        out.append({"group": group, "name": name, "name_lang": name_lang, "rows": rows})
    return out


def _text_in(item, lang: str) -> tuple[str, str]:
    if hasattr(item, "text_in"):
        return item.text_in(lang)
    return _in(lang, said(lang, item.code, "text"), item.text_en, item.text_vi)


def _name_in(group, lang: str) -> tuple[str, str]:
    if hasattr(group, "name_in"):
        return group.name_in(lang)
    return _in(lang, said(lang, "", f"group.{group.code}"), group.name_en, group.name_vi)


def _choices(qtype, item, lang: str) -> list[tuple[str, str, str]]:
    """The form's choices (value, mark, words); words that are the Vietnamese ones on a
    page in another language are marked as Vietnamese."""
    shown = qtype.form_choices(item, lang)
    if lang == "vi":
        return shown
    source = {value: words for value, _, words in qtype.form_choices(item, "vi")}
    return [(value, mark, fallback(words) if words == source.get(value) else words)
            for value, mark, words in shown]


def pristine_questions(version: VersionSpec, lang: str, audio=None) -> Markup:
    """The questions of an untouched form, rendered once per version, language (and its
    translation's revision) and set of read-aloud clips (`audio`, whose `stamp` changes
    with them)."""
    key = (version.id, str(lang), revision(lang))
    stamp = audio.stamp if audio else ""
    cached = _HTML_CACHE.get(key)
    if cached is None or cached[0] != stamp:
        form = survey_form_class(version, lang)(formdata=None, meta={"csrf": False})
        cached = (stamp, Markup(render_template(
            "survey/_questions.html", sections=sections(version, form, lang, audio))))
        _HTML_CACHE[key] = cached
    return cached[1]


def forget_translations(version_id: int) -> None:
    """Drop this process's rendered questions and form classes of a version's
    translations (a language loaded again or removed). Other processes never serve a
    stale one: the caches are keyed by the translation's revision."""
    for cache in (_HTML_CACHE, _CLASS_CACHE):
        for key in [k for k in cache if k[0] == version_id and k[1] not in ("vi", "en")]:
            cache.pop(key, None)
