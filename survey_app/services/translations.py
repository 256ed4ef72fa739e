"""Translations of a questionnaire version into any ISO 639 language: the parts there are
to translate, the CSV template a translator fills, loading a filled file (all or nothing,
audited) and removing one, and the loaded translations as page languages
(`wording.Wording`).

Mandatory parts, without which a file is refused: the title, the text and every choice
label of each required question, and the answers' words of the question types that
required questions use (the satisfaction scale's "Hài lòng"…): a respondent must be able
to answer what must be answered. Every other part (intro, group names, optional
questions, the form's fixed words, hints, the printed form's and the poster's words, the
language's own name) falls back to Vietnamese, marked as such on the page.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import time
from dataclasses import dataclass

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import delete, select

from .. import languages, printing, rawsql
from ..extensions import db
from ..models import QuestionnaireTranslation, QuestionnaireVersion, TranslationText, utcnow
from ..printing import fonts
from ..questions import get_type
from ..survey_form import VersionSpec, forget_translations, spec
from ..wording import FORM_WORDS, Wording
from . import ServiceError, audit
from .spreadsheet import csv_rows

#: The template's columns: item code (empty for the version's own parts), part,
#: Vietnamese text, translation.
HEADER = ("Mã câu hỏi", "Phần", "Tiếng Việt", "Bản dịch")
#: Placeholders a translation must keep as they are ("Trang {i}/{n}").
PLACEHOLDER = re.compile(r"\{[a-z_]+\}|%\([a-z_]+\)[sd]")
#: A translation's own parts that no questionnaire text stands for.
LANGUAGE_PART = "language"

_LOADED = rawsql.Statement(
    "SELECT lang, revision FROM questionnaire_translation WHERE version_id = :version "
    "ORDER BY lang")
_WORDINGS: dict[tuple[int, str, str], Wording] = {}


@dataclass(frozen=True)
class Part:
    item: str
    part: str
    source: str
    mandatory: bool

    @property
    def key(self) -> tuple[str, str]:
        return self.item, self.part


def parts(version: VersionSpec, lang: str) -> list[Part]:
    """Every part of `version` a translation into `lang` may give, in the form's order."""
    out = [Part("", "title", version.title_vi, True)]
    if version.intro_vi:
        out.append(Part("", "intro", version.intro_vi, False))
    out.append(Part("", LANGUAGE_PART, languages.name(lang), False))
    out += [Part("", f"group.{g.code}", g.name_vi, False) for g in version.groups]
    types: dict[str, bool] = {}  # type name: answers needed (a required item has it)
    for item in version.items:
        out.append(Part(item.code, "text", item.text_vi, item.required))
        out += [Part(item.code, f"choice.{c['code']}", str(c["label"]["vi"]), item.required)
                for c in item.choices]
        types[item.type] = types.get(item.type, False) or item.required
    for name, needed in types.items():
        out += [Part("", key, text, needed and ".values." in key)
                for key, text in get_type(name).translatable().items()]
    out += [Part("", f"form.{key}", str(text), False) for key, text in _source_words().items()]
    out += [Part("", f"print.{key}", str(text), False)
            for key, text in printing.forms.LABELS["vi"].items()]
    out += [Part("", f"poster.{key}", text, False) for key, text in printing.poster.WORDS.items()]
    return out


def _source_words() -> dict[str, str]:
    """The form's fixed words in Vietnamese, whatever the staff page's language."""
    with force_locale("vi"):
        return {key: str(text) for key, text in FORM_WORDS.items()}


# --- languages and versions -----------------------------------------------------------------

def language(code: str | None) -> str:
    """The code of a language a version may be translated into, or a refusal."""
    found = languages.normalise(code)
    if not found:
        raise ServiceError(_("Mã ngôn ngữ '%(code)s' không phải mã ISO 639 (ví dụ: tyz cho "
                             "tiếng Tày, ium cho tiếng Dao, hnj cho tiếng H'Mông); không "
                             "có gì thay đổi.", code=(code or "").strip()))
    if found in ("vi", "en"):
        raise ServiceError(_("%(name)s là ngôn ngữ của chính phiên bản phiếu (sửa phiếu để "
                             "đổi), không nạp bằng bản dịch.", name=languages.name(found)))
    return found


def loaded(version_id: int) -> tuple[tuple[str, str], ...]:
    """(language, revision) of each translation loaded for the version (one small query:
    the citizen's page asks it on every request, so other processes' loads show at once)."""
    return tuple((lang, rev) for lang, rev in _LOADED.execute({"version": version_id}).fetchall())


#: How long a process's citizen pages take the loaded translations as they last read them:
#: a load in another process shows on them within this many seconds (in this one, at once).
OFFERED_RECHECK_SECONDS = 5.0


def offered(version_id: int, app) -> tuple[tuple[str, str], ...]:
    """`loaded(version_id)` for the citizen's pages, read again at most every
    OFFERED_RECHECK_SECONDS in a process: the untouched page is served without a query."""
    memo = app.extensions.setdefault("translations_offered", {})
    now = time.monotonic()
    found = memo.get(version_id)
    if found is None or now - found[0] > OFFERED_RECHECK_SECONDS:
        found = memo[version_id] = (now, loaded(version_id))
    return found[1]


def _forget_offered(version_id: int) -> None:
    current_app.extensions.get("translations_offered", {}).pop(version_id, None)


def wording(version_id: int, lang: str, revision: str) -> Wording:
    """The loaded translation as a page language (read once per revision and process)."""
    key = (version_id, lang, revision)
    found = _WORDINGS.get(key)
    if found is None:
        rows = db.session.execute(
            select(TranslationText.item_code, TranslationText.part, TranslationText.text)
            .join(QuestionnaireTranslation)
            .where(QuestionnaireTranslation.version_id == version_id,
                   QuestionnaireTranslation.lang == lang,
                   QuestionnaireTranslation.revision == revision)).all()
        found = Wording(lang, {(i, p): t for i, p, t in rows}, revision)
        for old in [k for k in _WORDINGS if k[:2] == key[:2]]:
            del _WORDINGS[old]
        _WORDINGS[key] = found
    return found


def page_code(wanted: str | None, available: tuple[tuple[str, str], ...]) -> str:
    """The code of the language a page is shown in for a wanted code: English, one of the
    `available` translations, or else Vietnamese (an unknown or not loaded code is no
    error: the page is simply in Vietnamese)."""
    code = languages.normalise(wanted)
    return code if code == "en" or code in dict(available) else "vi"


def page_language(version_id: int, wanted: str | None, available=None):
    """`page_code` as a page language: a loaded translation is a `Wording`."""
    available = loaded(version_id) if available is None else available
    code = page_code(wanted, available)
    if code in ("vi", "en"):
        return code
    return wording(version_id, code, dict(available)[code])


def own_name(version_id: int, lang: str, revision: str) -> str:
    """A loaded language's name as its translation gives it, else its Vietnamese name."""
    return wording(version_id, lang, revision).texts.get(("", LANGUAGE_PART)) \
        or languages.name(lang)


def for_print(version: QuestionnaireVersion, code: str | None):
    """The language to print a version's form or poster in ("vi" when none is asked):
    refused when the translation is not loaded or the printing font lacks its letters."""
    if not code or languages.normalise(code) == "vi":
        return "vi"
    lang = language(code)
    revisions = dict(loaded(version.id))
    if lang not in revisions:
        raise ServiceError(_("Phiếu %(name)s chưa có bản dịch %(lang)s (nạp bản dịch trước).",
                             name=version.name, lang=languages.name(lang)))
    found = wording(version.id, lang, revisions[lang])
    missing = fonts.missing_letters("".join(found.texts.values()))
    if missing:
        raise ServiceError(_("Phông chữ in (DejaVu Sans) không có các chữ: %(letters)s; "
                             "không in được bản %(lang)s.", letters=" ".join(missing),
                             lang=languages.name(lang)))
    return found


# --- the CSV file ---------------------------------------------------------------------------

def export_csv(version: QuestionnaireVersion, code: str) -> bytes:
    """The template of a translation into `code` (UTF-8 with BOM, for Excel): one row per
    part; the translation column holds the loaded translation, if any, to edit and load
    again."""
    lang = language(code)
    revisions = dict(loaded(version.id))
    given = wording(version.id, lang, revisions[lang]).texts if lang in revisions else {}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    for part in parts(spec(version.id), lang):
        writer.writerow([part.item, part.part, part.source, given.get(part.key, "")])
    return out.getvalue().encode("utf-8-sig")


def read_csv(data: bytes) -> list[list[str]]:
    """The rows of a filled template after its header; refused (in Vietnamese) when it is
    not UTF-8 text (with or without BOM) or its header is not the template's."""
    rows = csv_rows(data)
    if not rows or [c.strip().lower() for c in rows[0][:4]] != [h.lower() for h in HEADER]:
        raise ServiceError(_("Dòng 1 của tệp phải là tiêu đề: %(header)s (tải mẫu để dịch "
                             "từ trang phiếu hoặc lệnh export-translation); không có gì "
                             "thay đổi.", header=", ".join(HEADER)))
    return rows[1:]


def check_rows(expected: list[Part], rows: list[list[str]]) -> dict[tuple[str, str], str]:
    """The translated texts of a file's rows by (item, part); every problem at once."""
    wanted = {p.key: p for p in expected}
    items = {p.item for p in expected}
    errors: list[str] = []
    seen: dict[tuple[str, str], int] = {}
    texts: dict[tuple[str, str], str] = {}
    for number, row in enumerate(rows, start=2):
        if not any(cell.strip() for cell in row):
            continue
        row = [cell.strip() for cell in row] + [""] * (4 - len(row))
        key, translation = (row[0], row[1]), row[3]
        where = _("dòng %(n)d (%(item)s %(part)s)", n=number, item=row[0] or "—", part=row[1])
        if key not in wanted:
            errors.append(_("%(where)s: câu hỏi '%(item)s' không có trong phiếu", where=where,
                            item=row[0]) if row[0] not in items
                          else _("%(where)s: phần '%(part)s' không có", where=where,
                                 part=row[1]))
            continue
        if key in seen:
            errors.append(_("%(where)s: trùng với dòng %(m)d", where=where, m=seen[key]))
            continue
        seen[key] = number
        if not translation:
            if wanted[key].mandatory:
                errors.append(_("%(where)s: thiếu bản dịch của phần bắt buộc", where=where))
            continue
        if sorted(PLACEHOLDER.findall(translation)) != \
                sorted(PLACEHOLDER.findall(wanted[key].source)):
            errors.append(_("%(where)s: bản dịch phải giữ nguyên %(marks)s", where=where,
                            marks=" ".join(PLACEHOLDER.findall(wanted[key].source))))
            continue
        texts[key] = translation
    for part in expected:
        if part.mandatory and part.key not in seen:
            errors.append(_("thiếu phần bắt buộc: %(item)s %(part)s", item=part.item or "—",
                            part=part.part))
    if errors:
        raise ServiceError(_("Tệp bản dịch không hợp lệ; không có gì thay đổi."),
                           details=errors)
    return texts


# --- loading and removing -------------------------------------------------------------------

def load(version: QuestionnaireVersion, code: str, data: bytes) -> QuestionnaireTranslation:
    """Store a filled template as the version's translation into `code`, replacing the
    previous one whole, or refuse it and store nothing."""
    lang = language(code)
    texts = check_rows(parts(spec(version.id), lang), read_csv(data))
    digest = hashlib.sha256(json.dumps(sorted([*k, t] for k, t in texts.items()),
                                       ensure_ascii=False).encode()).hexdigest()
    row = _translation(version.id, lang)
    before = _summary(row)
    if row is None:
        row = QuestionnaireTranslation(version_id=version.id, lang=lang)
        db.session.add(row)
    else:
        db.session.execute(delete(TranslationText).where(
            TranslationText.translation_id == row.id))
    row.revision, row.parts = digest, len(texts)
    row.loaded_at, row.loaded_by = utcnow(), audit.actor_name()
    db.session.flush()
    db.session.add_all(TranslationText(translation_id=row.id, item_code=item, part=part,
                                       text=text) for (item, part), text in texts.items())
    db.session.flush()
    audit.record("questionnaire.translation", "questionnaire_version", version.name, before,
                 _summary(row))
    forget_translations(version.id)
    _forget_offered(version.id)
    return row


def remove(version: QuestionnaireVersion, code: str) -> None:
    """Remove the version's translation into `code` (its pages are in Vietnamese again)."""
    lang = languages.normalise(code) or (code or "")
    row = _translation(version.id, lang)
    if row is None:
        raise ServiceError(_("Phiếu %(name)s không có bản dịch '%(lang)s'.", name=version.name,
                             lang=lang))
    before = _summary(row)
    db.session.execute(delete(TranslationText).where(TranslationText.translation_id == row.id))
    db.session.delete(row)
    db.session.flush()
    audit.record("questionnaire.translation.remove", "questionnaire_version", version.name,
                 before, None)
    forget_translations(version.id)
    _forget_offered(version.id)


def summaries(version: QuestionnaireVersion) -> list[dict]:
    """The loaded languages with how many parts are translated and how many are not
    (shown in Vietnamese)."""
    total = None
    out = []
    for row in db.session.scalars(select(QuestionnaireTranslation).where(
            QuestionnaireTranslation.version_id == version.id)
            .order_by(QuestionnaireTranslation.lang)):
        total = len(parts(spec(version.id), row.lang)) if total is None else total
        out.append({"lang": row.lang, "name": languages.name(row.lang),
                    "translated": row.parts, "missing": total - row.parts,
                    "loaded_at": row.loaded_at, "loaded_by": row.loaded_by})
    return out


def _translation(version_id: int, lang: str) -> QuestionnaireTranslation | None:
    return db.session.scalar(select(QuestionnaireTranslation).where(
        QuestionnaireTranslation.version_id == version_id,
        QuestionnaireTranslation.lang == lang))


def _summary(row: QuestionnaireTranslation | None) -> dict | None:
    if row is None:
        return None
    return {"lang": row.lang, "parts": row.parts, "revision": row.revision}
