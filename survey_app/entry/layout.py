"""The entry screen's shape: the questionnaire laid out as on the printed form (numbered
sections, runs of scale items as tables), and keyed values read back from a request."""

from __future__ import annotations

from ..models import QuestionnaireVersion
from ..questions import get_type

ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII", "XIII",
         "XIV", "XV", "XVI", "XVII", "XVIII", "XIX", "XX")


def sections(version: QuestionnaireVersion, lang: str) -> list[dict]:
    """Groups in printed order, numbered like the paper (I, II, …), each split into runs
    of consecutive items of one type (the paper prints each run as one table or block).
    Each row carries its type's entry layout (`questions.Entry`); a run is `keyed` (one
    table of short boxes after the type's `legend`) when its type says so."""
    out, number = [], 0
    for group in version.groups:
        if not group.items:
            continue
        runs: list[dict] = []
        for item in group.items:
            entry = get_type(item.type).entry(item, lang)
            row = {"item": item, "code": item.code, "text": item.text(lang), "entry": entry,
                   "choices": entry.choices}
            if runs and runs[-1]["type"] == item.type:
                runs[-1]["rows"].append(row)
            else:
                runs.append({"type": item.type, "keyed": entry.keyed, "legend": entry.legend,
                             "rows": [row]})
        numeral = ROMAN[number] if number < len(ROMAN) else str(number + 1)
        out.append({"numeral": numeral, "name": group.name(lang), "runs": runs})
        number += 1
    return out


def keyed_values(version: QuestionnaireVersion, form) -> dict:
    """What was typed, by item code, as the service expects it (blank boxes left out).

    Kept as typed (strings) so a refused page shows exactly what the clerk entered."""
    out: dict = {}
    for item in version.items:
        qtype = get_type(item.type)
        if qtype.multiple:
            values = [v for v in form.getlist(item.code) if v]
            if values:
                out[item.code] = values
            continue
        value = form.get(item.code, "")
        if not qtype.free_text:
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
    return get_type(item.type).display(item, value, lang, paper=True)
