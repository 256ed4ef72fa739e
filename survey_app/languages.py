"""Languages a questionnaire can be offered in: any ISO 639 code (two letters, as "vi",
or three, as "tyz" for Tày), checked against ISO 639-3 through pycountry, with its name
in Vietnamese for the languages of Viet Nam and the standard's English name otherwise.

Vietnamese is every questionnaire's own language (its texts are the version's); every
other language is a translation kept beside the version."""

from __future__ import annotations

import re

import pycountry

#: The questionnaires' own language.
SOURCE = "vi"

#: Names in Vietnamese (as the page and the admin show them) of the languages of Viet
#: Nam's peoples most met in the northern mountain provinces, and a few others.
NAMES_VI = {
    "vi": "Tiếng Việt",
    "en": "Tiếng Anh",
    "tyz": "Tiếng Tày",
    "nut": "Tiếng Nùng",
    "ium": "Tiếng Dao (Iu Miền)",
    "hnj": "Tiếng H'Mông (Mông Lềnh)",
    "mww": "Tiếng H'Mông (Mông Đơ)",
    "hmn": "Tiếng H'Mông",
    "cuq": "Tiếng Cơ Lao",
    "blt": "Tiếng Thái Đen",
    "tdd": "Tiếng Thái (Tai Nüa)",
    "zh": "Tiếng Trung",
    "km": "Tiếng Khmer",
    "cja": "Tiếng Chăm",
    "jra": "Tiếng Gia Rai",
    "rad": "Tiếng Ê Đê",
    "bdq": "Tiếng Ba Na",
}

_CODE = re.compile(r"^[a-z]{2,3}$")


def normalise(code: str | None) -> str:
    """The code as the application keeps it: lower case, ISO 639-1 where the language has
    a two-letter code ("vie" → "vi"), else ISO 639-3. '' when ``code`` is not a known
    ISO 639 language."""
    code = (code or "").strip().lower()
    if not _CODE.match(code):
        return ""
    found = (pycountry.languages.get(alpha_2=code) if len(code) == 2
             else pycountry.languages.get(alpha_3=code))
    if found is None:
        return ""
    return getattr(found, "alpha_2", None) or found.alpha_3


def known(code: str | None) -> bool:
    return bool(normalise(code))


def name(code: str) -> str:
    """The language's name for a Vietnamese reader (the ISO name when none is listed)."""
    code = normalise(code) or code
    if code in NAMES_VI:
        return NAMES_VI[code]
    found = (pycountry.languages.get(alpha_2=code) if len(code) == 2
             else pycountry.languages.get(alpha_3=code))
    return found.name if found is not None else code
