"""Speech engines: anything that turns a text in a language into a WAV recording.

An engine is one small class (`Engine`): the languages it can voice and `synthesise`.
The default is espeak-ng, offline and in Debian, whose Vietnamese voice is plain but
understandable; a better engine replaces it by registering another class under a name
and setting `SPEECH_ENGINE` to that name. Engines never raise anything but `SpeechError`,
whose message says what to install or change.
"""

from __future__ import annotations

import shutil
import subprocess
from abc import ABC, abstractmethod
from typing import ClassVar


class SpeechError(Exception):
    """Sound could not be made or converted; the message is for the operator."""


class ToolMissing(SpeechError):
    """The program that makes or converts sound is not installed on the server."""


#: A clip longer than this to make means something is wrong (a runaway text or tool).
TIMEOUT_SECONDS = 60


def run(args: list[str], data: bytes | None = None, *, tool: str) -> bytes:
    """Run a sound tool, feeding `data` on its standard input; its standard output, or
    `SpeechError` naming the tool and the Debian package that provides it."""
    if shutil.which(args[0]) is None:
        raise ToolMissing(f"Máy chủ chưa có chương trình {args[0]} (gói Debian {tool}): "
                          f"cài bằng apt-get install {tool}.")
    try:
        done = subprocess.run(args, input=data, capture_output=True,
                              timeout=TIMEOUT_SECONDS, check=False)
    except subprocess.TimeoutExpired as exc:
        raise SpeechError(f"{args[0]} chạy quá {TIMEOUT_SECONDS} giây.") from exc
    except OSError as exc:
        raise SpeechError(f"Không chạy được {args[0]}: {exc}") from exc
    if done.returncode != 0:
        detail = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise SpeechError(f"{args[0]} báo lỗi: {detail[-1] if detail else done.returncode}")
    return done.stdout


class Engine(ABC):
    """What the application asks of a speech engine: an engine defines `languages` and
    `synthesise` (an abstract base class: one that does not cannot be made)."""

    #: The engine's name in `SPEECH_ENGINE` and in the audio's records.
    name: ClassVar[str] = ""
    #: Debian package to install when its program is missing.
    package: ClassVar[str] = ""

    @abstractmethod
    def languages(self) -> frozenset[str]:
        """The ISO 639 codes (as `languages.normalise` gives them) it can voice."""

    @abstractmethod
    def synthesise(self, text: str, lang: str) -> bytes:
        """`text` spoken in `lang`, as a WAV file's bytes."""

    def voice(self, lang: str) -> str:
        """What identifies the voice used for `lang`: a clip made with another voice (or
        another engine) is made again."""
        return f"{self.name}:{lang}"

    def available(self) -> bool:
        return True


class Espeak(Engine):
    """espeak-ng (Debian package `espeak-ng`), run once per clip."""

    name = "espeak-ng"
    package = "espeak-ng"
    #: ISO 639 code → espeak-ng voice. Its Vietnamese voice is the northern one, as
    #: spoken in the northern provinces; add a language here once its voice is checked.
    VOICES: ClassVar[dict[str, str]] = {"vi": "vi", "en": "en"}
    #: Words per minute: a little slower than espeak's 175, for listeners of any age.
    SPEED = 150

    def languages(self) -> frozenset[str]:
        return frozenset(self.VOICES)

    def voice(self, lang: str) -> str:
        return f"{self.name}:{self.VOICES.get(lang, '')}:{self.SPEED}"

    def synthesise(self, text: str, lang: str) -> bytes:
        if lang not in self.VOICES:
            raise SpeechError(f"espeak-ng không có giọng đọc cho ngôn ngữ '{lang}'.")
        # The text goes on standard input, never as an argument (it could start with "-").
        return run(["espeak-ng", "-v", self.VOICES[lang], "-s", str(self.SPEED), "--stdout"],
                   text.encode("utf-8"), tool=self.package)

    def available(self) -> bool:
        return shutil.which("espeak-ng") is not None


#: Engines by the name `SPEECH_ENGINE` selects.
ENGINES: dict[str, type[Engine]] = {Espeak.name: Espeak}


def engine(name: str) -> Engine:
    """The engine registered under `name`."""
    try:
        return ENGINES[name]()
    except KeyError:
        raise SpeechError(f"Không có bộ đọc '{name}' (SPEECH_ENGINE); có: "
                          + ", ".join(sorted(ENGINES)) + ".") from None
