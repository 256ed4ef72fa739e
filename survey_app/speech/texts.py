"""What is read aloud for a questionnaire version in a language: one part for the
introduction (the title, then the introduction) and one per question (its text, then
its answers as the form shows them, e.g. "1 Rất không hài lòng … Không áp dụng").

`parts` is the only place that gathers these texts: a translation of a version into
another language reaches the audio through the version's own `title`, `intro` and each
item's `text` in that language.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..questions import get_type

INTRO = "intro"


@dataclass(frozen=True)
class Part:
    """A clip of the page: `name` is "intro" or the item's code; `text` what is read."""

    name: str
    text: str


def _sentence(text: str) -> str:
    """`text` ending in a full stop, so that the voice pauses before what follows."""
    text = " ".join(str(text).split())
    return text if not text or text[-1] in ".?!:" else text + "."


def parts(version, lang: str) -> list[Part]:
    """The clips of `version` (a `VersionSpec` or the ORM object) in `lang`, in page
    order: the introduction, then each question."""
    intro = " ".join(_sentence(t) for t in (version.title(lang), version.intro(lang)) if t)
    out = [Part(INTRO, intro)]
    for item in version.items:
        answers = [f"{mark} {words}".strip()
                   for _value, mark, words in get_type(item.type).form_choices(item, lang)]
        out.append(Part(item.code, " ".join(_sentence(t) for t in [item.text(lang), *answers])))
    return out


def names(version) -> list[str]:
    """The parts' names, whatever the language."""
    return [INTRO, *(item.code for item in version.items)]
