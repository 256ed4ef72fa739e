"""Masking of what identifies a person in a citizen's free-text comment before it is shown
to the agency concerned: e-mail addresses, phone numbers, 9- or 12-digit identity numbers
(CMND, CCCD) and a name after a form of address ("anh Nguyễn Văn An", "chị Lan").

:func:`redact` is a pure function on text; what it cannot know (a nickname, a street
address) is for the person who releases the comment to see and edit.
"""

from __future__ import annotations

import re
import unicodedata

EMAIL = "[email]"
PHONE = "[số điện thoại]"
IDENTITY = "[số giấy tờ]"
NAME = "[tên]"

#: Forms of address after which one to three capitalised words are taken as a name.
FORMS_OF_ADDRESS = ("ông", "bà", "anh", "chị", "cô", "chú", "em", "bác", "cậu", "dì",
                    "thím", "mợ", "dượng", "cháu", "chị gái", "anh trai")

_EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# A Vietnamese number: 0 or +84/84 (optionally in brackets), then 9 or 10 digits, in
# groups separated by spaces, dots or dashes: 0912 345 678, +84 912345678, 091.234.5678,
# (+84) 912-345-678, 0207 3822 123.
_SEP = r"[ .\-]?"
_PHONE_RE = re.compile(
    rf"(?<![\w+])(?:\(?\+84\)?{_SEP}|(?<!\d)84{_SEP}|0)\(?\d\)?(?:{_SEP}\d){{8,9}}(?!{_SEP}\d)")
_IDENTITY_RE = re.compile(r"(?<![\d])(?:\d{12}|\d{9})(?![\d])")
_FORMS = "|".join(sorted(map(re.escape, FORMS_OF_ADDRESS), key=len, reverse=True))
# Capital letters of the Latin script, Vietnamese ones included (Đ, Ơ, Ư, Ạ…Ỹ).
_UPPER = "".join(chr(c) for r in ((0x41, 0x5B), (0xC0, 0x250), (0x1E00, 0x1F00))
                 for c in range(*r) if chr(c).isupper())
_WORD = rf"[{_UPPER}][^\W\d_]*"
# Up to four words: the usual name has three, some have four, and a longer mask is safer.
_NAME_RE = re.compile(
    rf"(?<!\w)((?i:{_FORMS}))[ \t]+{_WORD}(?:[ \t]+{_WORD}){{0,3}}(?!\w)")


def _name(match: re.Match) -> str:
    return f"{match.group(1)} {NAME}"


def redact(text: str | None) -> str:
    """``text`` (NFC) with e-mail addresses, phone numbers, identity numbers and names
    after a form of address replaced by bracketed labels."""
    if not text:
        return ""
    out = unicodedata.normalize("NFC", str(text))
    out = _EMAIL_RE.sub(EMAIL, out)
    out = _PHONE_RE.sub(PHONE, out)
    out = _IDENTITY_RE.sub(IDENTITY, out)
    return _NAME_RE.sub(_name, out)
