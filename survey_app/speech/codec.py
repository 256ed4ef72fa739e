"""Sound files as the survey page plays them: Ogg Opus at a speech bitrate, mono, made
with opus-tools (Debian package `opus-tools`).

An uploaded recording is recognised by its first bytes, never by its name or the
browser's word: WAV, FLAC (plain or in Ogg) and Ogg Opus are decoded and encoded afresh
(which proves they are sound and makes them as small as the synthesised clips); MP3,
which opus-tools cannot decode, is kept as it is once its frames have been walked and
found consistent. Anything else is refused with `SpeechError`.
"""

from __future__ import annotations

import struct

from .engine import SpeechError, ToolMissing, run

TOOL = "opus-tools"
#: A fixed stream serial number: the same sound encoded twice gives the same bytes (and
#: so the same file name).
SERIAL = "1"


def encode(wav: bytes, bitrate_kbps: int, *, speech: bool = True) -> bytes:
    """A WAV, FLAC or Ogg FLAC recording as Ogg Opus, mono, at `bitrate_kbps`."""
    args = ["opusenc", "--quiet", "--bitrate", str(bitrate_kbps), "--downmix-mono",
            "--framesize", "60", "--serial", SERIAL, "--padding", "0",
            "--discard-comments", "--ignorelength"]
    if speech:
        args.append("--speech")
    return run(args + ["-", "-"], wav, tool=TOOL)


def decode(opus: bytes) -> bytes:
    """An Ogg Opus file decoded to WAV."""
    return run(["opusdec", "--quiet", "--force-wav", "-", "-"], opus, tool=TOOL)


# --- recognising a recording ---------------------------------------------------------------

FORMAT_NAMES = "Ogg/Opus, MP3, WAV, FLAC"


def sniff(data: bytes) -> str:
    """'wav', 'flac', 'ogg-flac', 'opus', 'mp3' or '' for anything else, from the bytes."""
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "wav"
    if data[:4] == b"fLaC":
        return "flac"
    if data[:4] == b"OggS" and len(data) > 27:
        body = data[27 + data[26]:]
        if body[:8] == b"OpusHead":
            return "opus"
        if body[:5] == b"\x7fFLAC":
            return "ogg-flac"
        return ""
    if mp3_frames(data) >= 3:
        return "mp3"
    return ""


def to_stored(data: bytes, bitrate_kbps: int) -> tuple[bytes, str]:
    """An uploaded recording as it is kept: (bytes, extension 'opus' or 'mp3')."""
    kind = sniff(data)
    if kind == "mp3":
        return data, "mp3"
    if not kind:
        raise SpeechError(f"Tệp không phải âm thanh ở dạng được nhận ({FORMAT_NAMES}).")
    try:
        opus = encode(decode(data) if kind == "opus" else data, bitrate_kbps, speech=False)
    except ToolMissing:
        raise
    except SpeechError as exc:
        raise SpeechError(f"Tệp không đọc được thành âm thanh ({FORMAT_NAMES}).") from exc
    if opus_seconds(opus) < 0.2:
        raise SpeechError("Tệp không có âm thanh (dưới 0,2 giây).")
    return opus, "opus"


def opus_seconds(data: bytes) -> float:
    """Playing time of an Ogg Opus file: its last page's granule position, less the
    pre-skip in its header, at 48 kHz."""
    if sniff(data) != "opus":
        return 0.0
    head = data[27 + data[26]:]
    pre_skip = struct.unpack_from("<H", head, 10)[0]
    last = data.rfind(b"OggS")
    granule = struct.unpack_from("<q", data, last + 6)[0] if last + 14 <= len(data) else 0
    return max(granule - pre_skip, 0) / 48000


# --- MP3: frame headers ----------------------------------------------------------------------

_BITRATES = {  # kbit/s by bitrate index, layer III
    1: (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),  # MPEG-1
    2: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),      # MPEG-2 and 2.5
}
_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def _frame_length(header: bytes) -> int:
    """The length of the MPEG layer III frame that `header` starts, 0 if it is none."""
    b1, b2 = header[1], header[2]
    if header[0] != 0xFF or (b1 & 0xE0) != 0xE0:
        return 0
    version, layer = (b1 >> 3) & 3, (b1 >> 1) & 3
    index, rate_index, padding = b2 >> 4, (b2 >> 2) & 3, (b2 >> 1) & 1
    if version == 1 or layer != 1 or index in (0, 15) or rate_index == 3:
        return 0
    bitrate = _BITRATES[1 if version == 3 else 2][index] * 1000
    rate = _RATES[version][rate_index]
    return (144 if version == 3 else 72) * bitrate // rate + padding


def mp3_frames(data: bytes, wanted: int = 3) -> int:
    """How many consecutive MP3 frames (up to `wanted`) start where the audio does,
    after an ID3v2 tag; each frame's length, from its header, leads to the next one."""
    offset = 0
    if data[:3] == b"ID3" and len(data) >= 10:
        size = 0
        for byte in data[6:10]:
            size = (size << 7) | (byte & 0x7F)
        offset = 10 + size + (10 if data[5] & 0x10 else 0)
    count = 0
    while count < wanted and offset + 4 <= len(data):
        length = _frame_length(data[offset:offset + 4])
        if not length or offset + length > len(data):
            break
        count += 1
        offset += length
    return count
