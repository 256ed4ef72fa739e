"""What ``python -m analysis`` says to its user, in Vietnamese (the default) or English:
each message once, as a ``str.format`` template per language, looked up by key.

The language is chosen by ``--lang`` on the command line, else the environment variable
``SURVEY_ANALYSIS_LANG``, else Vietnamese. Messages are formatted when something is said
(a finding, an error), never per record checked. A verdict line starts with a fixed
English keyword (``OK:``, ``FAILED:``, ``ALTERED:`` …) that is not part of these
templates, so that scripts read the same token in either language.
"""

from __future__ import annotations

import contextlib
import errno
import os

from .messages_cli import CLI
from .messages_report import REPORT
from .messages_verify import VERIFY

LANGUAGES = ("vi", "en")
ENV = "SURVEY_ANALYSIS_LANG"


def default_language() -> str:
    value = os.environ.get(ENV, "").strip().lower()
    return value if value in LANGUAGES else "vi"


_language = default_language()


def language() -> str:
    return _language


def set_language(lang: str) -> None:
    global _language
    if lang not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, not {lang!r}")
    _language = lang


@contextlib.contextmanager
def using(lang: str):
    """Speak `lang` inside the block, and the language before it afterwards."""
    before = _language
    set_language(lang)
    try:
        yield
    finally:
        set_language(before)


def say(key: str, **fields) -> str:
    """Message `key` in the current language, its fields filled in."""
    return MESSAGES[key][_language].format(**fields)


def os_reason(exc: OSError) -> str:
    """An operating-system error as "what went wrong: file" in the current language."""
    key = {errno.ENOENT: "os.not_found", errno.EACCES: "os.permission",
           errno.EISDIR: "os.is_dir", errno.ENOTDIR: "os.not_dir"}.get(exc.errno)
    if key is not None and (_language == "vi" or not exc.strerror):
        return say(key, file=exc.filename)
    return say("os.other", reason=exc.strerror or str(exc), file=exc.filename)


#: Every message by key: the command line's, the verifier's and the report check's.
MESSAGES: dict[str, dict[str, str]] = {**CLI, **VERIFY, **REPORT}
