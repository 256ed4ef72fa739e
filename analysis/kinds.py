"""The item types as an export's codebook names them (its ``type`` column), and what each
means for an answer: the one place in `analysis` that knows the stored and exported value
format of each type. Pure Python, so the verifier can use it without pandas."""

from __future__ import annotations

#: The items the indices count: 1–5, stored 0 for "not applicable".
SCORED = "satisfaction"
PRIORITY = "priority"
SINGLE_CHOICE = "single_choice"
#: The list-valued type: a list of choice codes, exported joined by ";".
MULTIPLE_CHOICE = "multiple_choice"
TEXT = "text"

#: The numeric types and their answer scales (inclusive bounds).
SCALES = {SCORED: (1, 5), PRIORITY: (1, 3)}


def is_scored(kind) -> bool:
    """Whether items of type ``kind`` count in the indices."""
    return kind == SCORED


#: The types whose answers group respondents (a breakdown "by" a profile question).
GROUPING = (SINGLE_CHOICE, MULTIPLE_CHOICE)
#: The types whose answers are kept counted per value (the report's profile and priority
#: tables): every type but the scored and the free-text ones.
COUNTED = (PRIORITY, SINGLE_CHOICE, MULTIPLE_CHOICE)


def is_grouping(kind) -> bool:
    """Whether respondents can be grouped by their answer to an item of type ``kind``."""
    return kind in GROUPING


def is_counted(kind) -> bool:
    """Whether answers to an item of type ``kind`` are kept counted per value."""
    return kind in COUNTED


def is_listed(kind) -> bool:
    """Whether an answer to an item of type ``kind`` is a list of choice codes."""
    return kind == MULTIPLE_CHOICE


def scale(kind) -> tuple[int | None, int | None]:
    """The (lowest, highest) answer of a numeric type; (None, None) for any other."""
    return SCALES.get(kind, (None, None))


def export_value(kind: str, value) -> str:
    """A stored answer as the export (and a response's ledger payload) writes it: a
    scored item's 0 ("not applicable") and a missing answer empty, a list of choices
    joined by ";"."""
    if value is None:
        return ""
    if is_scored(kind):
        return "" if value == 0 else str(value)
    if is_listed(kind):
        return ";".join(value)
    return str(value)


def is_priority(kind) -> bool:
    """Whether items of type ``kind`` ask how much an area needs improving (1–3)."""
    return kind == PRIORITY


def is_free_text(kind) -> bool:
    """Whether items of type ``kind`` are answered in the respondent's own words."""
    return kind == TEXT


def N_(text: str) -> str:
    """Marks a Vietnamese name for message extraction (the app translates it on display)."""
    return text


#: How a response came, in the order every table of counts by channel shows them: an
#: open link (poster), a numbered paper form's own link, an invitation's link (after a
#: one-stop case), a counter kiosk, a paper form entered by hand, and the API.
CHANNEL_NAMES = {
    "open": N_("Đường dẫn mở (mã QR)"),
    "single_use": N_("Đường dẫn dùng một lần"),
    "invitation": N_("Lời mời sau hồ sơ một cửa"),
    "kiosk": N_("Máy tại quầy (kiosk)"),
    "paper": N_("Phiếu giấy"),
    "api": N_("Hệ thống một cửa (API)"),
}
CHANNELS = tuple(CHANNEL_NAMES)
#: The channels a citizen answers through alone, on a page the app serves: where speed and
#: bursts from one address or device say something about the respondent.
CITIZEN_CHANNELS = ("open", "single_use", "invitation", "kiosk")
#: A counter tablet's channel: one device for citizen after citizen.
KIOSK = "kiosk"
