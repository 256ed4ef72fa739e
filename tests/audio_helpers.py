"""What the read-aloud tests share: real small recordings made in Python, a speech
engine that needs no voice (a tone as long as the text), and the checks on a clip."""

from __future__ import annotations

import io
import math
import shutil
import struct
import wave

import pytest

from survey_app.speech.engine import Engine

needs_opus_tools = pytest.mark.skipif(
    not (shutil.which("opusenc") and shutil.which("opusdec")),
    reason="opus-tools is not installed (apt-get install opus-tools)")
needs_espeak = pytest.mark.skipif(
    not (shutil.which("espeak-ng") and shutil.which("opusenc")),
    reason="espeak-ng and opus-tools are not installed (apt-get install espeak-ng opus-tools)")


def tone_wav(seconds: float = 0.5, rate: int = 16000, channels: int = 1) -> bytes:
    """A WAV file of a 440 Hz tone."""
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        frames = int(seconds * rate)
        w.writeframes(b"".join(
            struct.pack("<h", int(6000 * math.sin(2 * math.pi * 440 * i / rate))) * channels
            for i in range(frames)))
    return out.getvalue()


def mp3_frames(count: int = 5) -> bytes:
    """MPEG-1 layer III frames (128 kbit/s, 44.1 kHz, 417 bytes each) after an ID3 tag:
    the structure the upload's check walks."""
    tag = b"ID3\x03\x00\x00\x00\x00\x00\x0a" + b"\x00" * 10
    return tag + (b"\xff\xfb\x90\x64" + b"\x00" * 413) * count


def is_ogg_opus(data: bytes) -> bool:
    return data[:4] == b"OggS" and data[28:36] == b"OpusHead"


class ToneEngine(Engine):
    """Voices any text of vi or en as a short tone: the engine interface, without espeak."""

    name = "tone"

    def languages(self):
        return frozenset({"vi", "en"})

    def synthesise(self, text, lang):
        return tone_wav(0.2 + len(text) / 400)
