"""The entry screen's shape: the questionnaire laid out as on the printed form (numbered
sections, runs of scale items as tables), and keyed values read back from a request."""

from __future__ import annotations

from ..models import QuestionnaireVersion
from ..questions import PRIORITY_LABELS, SATISFACTION_LABELS, get_type

ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII", "XIII",
         "XIV", "XV", "XVI", "XVII", "XVIII", "XIX", "XX")
# Types keyed as one digit in a short box.
KEYED = ("satisfaction", "priority")


def sections(version: QuestionnaireVersion, lang: str) -> list[dict]:
    """Groups in printed order, numbered like the paper (I, II, …), each split into runs
    of consecutive items of one type (the paper prints each run as one table or block)."""
    out, number = [], 0
    for group in version.groups:
        if not group.items:
            continue
        runs: list[dict] = []
        for item in group.items:
            row = {"item": item, "code": item.code, "text": item.text(lang),
                   "choices": get_type(item.type).choices(item, lang)}
            if runs and runs[-1]["type"] == item.type:
                runs[-1]["rows"].append(row)
            else:
                runs.append({"type": item.type, "rows": [row]})
        numeral = ROMAN[number] if number < len(ROMAN) else str(number + 1)
        out.append({"numeral": numeral, "name": group.name(lang), "runs": runs})
        number += 1
    return out


def keyed_values(version: QuestionnaireVersion, form) -> dict:
    """What was typed, by item code, as the service expects it (blank boxes left out).

    Kept as typed (strings) so a refused page shows exactly what the clerk entered."""
    out: dict = {}
    for item in version.items:
        if item.type == "multiple_choice":
            values = [v for v in form.getlist(item.code) if v]
            if values:
                out[item.code] = values
            continue
        value = form.get(item.code, "")
        if item.type != "text":
            value = value.strip()
        if value.strip():
            out[item.code] = value
    return out


def as_form_values(answers: dict) -> dict:
    """Stored answers (ints, lists) as the strings the entry inputs hold."""
    return {code: (value if isinstance(value, list) else str(value))
            for code, value in answers.items() if value is not None}


def show(item, value, lang: str) -> str:
    """A stored value as a person reads it on the paper (KAD for not applicable)."""
    if value is None or value == [] or value == "":
        return "—"
    lang = "en" if lang == "en" else "vi"
    if item.type == "satisfaction":
        return "KAD" if value == 0 else f"{value} ({SATISFACTION_LABELS[lang][value]})"
    if item.type == "priority":
        return f"{value} ({PRIORITY_LABELS[lang].get(value, '?')})"
    if item.type in ("single_choice", "multiple_choice"):
        labels = dict(get_type(item.type).choices(item, lang))
        values = value if isinstance(value, list) else [value]
        return "; ".join(f"{v} ({labels.get(v, '?')})" for v in values)
    return str(value)
