"""A page's language when it is a loaded translation of the questionnaire, and the
citizen's form's fixed words.

A page language is a code ("vi", "en", "tyz"). When it is a translation loaded for the
version (`services.translations`), it is a `Wording`: still the code (a `str`, so every
function that takes a `lang` takes it and every cache keyed by it tells the languages
apart), carrying the translated parts. The question types, the form's snapshot and the
printer ask it for a part with `said`; what it lacks they take in Vietnamese, and the
citizen's page marks so (`in_lang`, `word`).

Part keys: "title", "intro", "group.<code>", "form.<word>", "print.<word>",
"poster.<word>", "type.<type>.<label>[.<value>]" for the version (item code ""), and
"text", "choice.<code>" for an item.
"""

from __future__ import annotations

from collections.abc import Mapping

from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape

#: The citizen's form's and thank-you page's fixed words, by key ("form.<key>" in a
#: translation). Their English is the Babel catalogue's.
FORM_WORDS = {
    "required": _l("bắt buộc"),
    "part": _l("Phần %(i)d/%(n)d"),
    "required_error": _l("Vui lòng chọn một câu trả lời."),
    "errors": _l("Vui lòng trả lời các câu được đánh dấu bên dưới."),
    "expired": _l("Phiên trả lời đã hết hạn. Các câu trả lời vẫn được giữ; vui lòng bấm "
                  "\"Gửi phiếu\" lần nữa."),
    "recheck": _l("Đồng ý để cán bộ MTTQ gọi lại kiểm tra (không bắt buộc)"),
    "recheck_agree": _l("Đồng ý"),
    "recheck_phone": _l("Số điện thoại"),
    "recheck_note": _l("Số điện thoại chỉ dùng để kiểm tra lại, được lưu riêng và xóa sau "
                       "khi kiểm tra."),
    "submit": _l("Gửi phiếu"),
    "thanks_title": _l("Cảm ơn Ông/Bà"),
    "thanks": _l("Cảm ơn Ông/Bà đã trả lời khảo sát!"),
    "thanks_recorded": _l("Phiếu của Ông/Bà đã được ghi nhận. Mã biên nhận:"),
    "thanks_keep": _l("Ghi lại mã này nếu muốn kiểm tra phiếu đã được tính hay chưa."),
    "thanks_check": _l("Kiểm tra mã biên nhận"),
    "thanks_other": _l("Ý kiến của Ông/Bà giúp cơ quan nhà nước phục vụ tốt hơn."),
}

#: Shown after a text that is in Vietnamese on a page in another language.
FALLBACK_MARK = "(tiếng Việt)"


class Wording(str):
    """A loaded translation as a page language: the code, with its texts by
    (item code, part) and the revision (digest) of the load they come from."""

    texts: Mapping[tuple[str, str], str]
    revision: str

    def __new__(cls, code: str, texts: Mapping[tuple[str, str], str], revision: str):
        self = super().__new__(cls, code)
        self.texts = dict(texts)
        self.revision = revision
        return self

    @property
    def code(self) -> str:
        return str.__str__(self)


def said(lang, item: str, part: str) -> str | None:
    """The translation of a part in `lang`, or None (not a translation, or not given)."""
    if isinstance(lang, Wording):
        return lang.texts.get((item, part)) or None
    return None


def revision(lang) -> str:
    """What tells two loads of a language apart in a cache key ("" for vi and en)."""
    return lang.revision if isinstance(lang, Wording) else ""


def fallback(text: str, lang: str = "vi") -> Markup:
    """`text`, in Vietnamese on a page in another language, marked as such."""
    return Markup('<span lang="{}">{} <small class="fb">{}</small></span>').format(
        lang, text, FALLBACK_MARK)


def in_lang(text: str, text_lang: str, page_lang: str) -> Markup:
    """A text for the page: as is in the page's language, else marked (`fallback`)."""
    if str(text_lang) == str(page_lang):
        return escape(text)
    return fallback(text, str(text_lang))


def word(key: str, lang, plain: bool = False):
    """A fixed word of the citizen's pages in the page's language: the translation's, or
    (in Vietnamese or English) the Babel catalogue's; a translation that lacks it gets the
    Vietnamese, marked unless `plain` (for an attribute)."""
    if isinstance(lang, Wording):
        text = said(lang, "", f"form.{key}")
        if text:
            return text
        source = str(FORM_WORDS[key])  # a translation page's Babel locale is Vietnamese
        return source if plain else fallback(source)
    return str(FORM_WORDS[key])
