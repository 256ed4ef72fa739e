"""Read-aloud audio of a questionnaire version in a language: made once by the speech
engine (`make_audio`, only the clips whose text or voice changed), or, for a language
the engine has no voice for, recorded by a person and uploaded part by part
(`upload_recording`); `remove_clip` takes one away, `overview` says what each part has.

The files are kept by `speech.store`, outside the database: they are written when the
call is made, and the audit log's entry is kept when the caller commits.
"""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _

from .. import languages
from ..speech import codec, texts
from ..speech.engine import Engine, SpeechError, engine
from ..speech.store import AudioStore, Clips, digest_name, store_of
from ..survey_form import spec
from . import ServiceError, audit

ENGINE, RECORDED = "engine", "recorded"


@dataclass(frozen=True)
class Made:
    """What `make_audio` did: clips made anew, kept as they were, left to a recording."""

    lang: str
    made: int
    kept: int
    recorded: int
    total_bytes: int
    largest: int


@dataclass(frozen=True)
class PartState:
    """A part of the page on the audio page: its name, what is read, its clip's record
    (None while missing) and the clip's address."""

    name: str
    text: str
    record: dict | None
    url: str | None


def language(code: str | None) -> str:
    """The ISO 639 code as kept, or a refusal saying the code is not one."""
    lang = languages.normalise(code)
    if not lang:
        raise ServiceError(_("'%(code)s' không phải mã ngôn ngữ ISO 639 (ví dụ: vi, en, "
                             "tyz cho tiếng Tày).", code=(code or "")[:20]))
    return lang


def speech_engine() -> Engine:
    try:
        return engine(current_app.config["SPEECH_ENGINE"])
    except SpeechError as exc:
        raise ServiceError(str(exc)) from exc


def can_voice(lang: str) -> bool:
    """Whether the configured engine has a voice for `lang`."""
    return lang in speech_engine().languages()


def _store() -> AudioStore:
    return store_of(current_app)


def _source(voice: str, bitrate: int, text: str) -> str:
    """What a made clip depends on: a change to any of it makes the clip again."""
    return hashlib.sha256(f"{voice}\n{bitrate}\n{text}".encode()).hexdigest()[:16]


def make_audio(version, lang: str) -> Made:
    """Voice every part of `version` in `lang` with the engine, keeping the clips whose
    text and voice are unchanged and the parts that have a recording."""
    lang = language(lang)
    voice_engine = speech_engine()
    if lang not in voice_engine.languages():
        raise ServiceError(_("Bộ đọc %(engine)s không có giọng %(name)s: hãy tải lên bản ghi "
                             "âm cho từng câu.", engine=voice_engine.name,
                             name=languages.name(lang)))
    if not voice_engine.available():
        raise ServiceError(_("Máy chủ chưa cài %(engine)s (gói Debian %(package)s).",
                             engine=voice_engine.name, package=voice_engine.package))
    store, bitrate = _store(), int(current_app.config["AUDIO_BITRATE_KBPS"])
    wanted = texts.parts(spec(version.id), lang)
    sources = {p.name: _source(voice_engine.voice(lang), bitrate, p.text) for p in wanted}
    existing = store.manifest(version.id, lang)
    recorded = {p.name for p in wanted if (existing.get(p.name) or {}).get("origin") == RECORDED}
    todo = [p for p in wanted if p.name not in recorded
            and not _current(store, version.id, lang, existing.get(p.name), sources[p.name])]
    made = _synthesise(voice_engine, todo, lang, bitrate)
    for name, data in made.values():
        store.write(version.id, lang, name, data)
    with store.editing(version.id, lang) as records:
        for part, (name, data) in made.items():
            if (records.get(part) or {}).get("origin") != RECORDED:
                records[part] = {"file": name, "origin": ENGINE, "source": sources[part],
                                 "bytes": len(data),
                                 "seconds": round(codec.opus_seconds(data), 1)}
        gone = [p for p, r in records.items()
                if p not in sources and (r or {}).get("origin") == ENGINE]
        for part in gone:
            del records[part]
        sizes = [int((r or {}).get("bytes") or 0) for r in records.values()]
    if made or gone:
        audit.record("audio.make", "questionnaire_version", version.name, None,
                     {"lang": lang, "made": len(made), "removed": len(gone),
                      "engine": voice_engine.name})
    return Made(lang, len(made), len(wanted) - len(made) - len(recorded), len(recorded),
                sum(sizes), max(sizes, default=0))


def _current(store: AudioStore, version_id: int, lang: str, record, source: str) -> bool:
    return bool(record and record.get("origin") == ENGINE and record.get("source") == source
                and store.file(version_id, lang, str(record.get("file"))))


def _synthesise(voice_engine: Engine, todo, lang: str, bitrate: int) -> dict:
    """{part: (file name, Ogg Opus bytes)} for the parts to make, a few at a time (each
    clip is two short-lived processes)."""
    def one(part):
        data = codec.encode(voice_engine.synthesise(part.text, lang), bitrate)
        return part.name, (digest_name(part.name, data, "opus"), data)

    if not todo:
        return {}
    try:
        with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
            return dict(pool.map(one, todo))
    except SpeechError as exc:
        raise ServiceError(str(exc)) from exc


def _part(version, part: str) -> str:
    if part not in texts.names(spec(version.id)):
        raise ServiceError(_("Phiếu %(version)s không có câu hỏi mã '%(part)s'.",
                             version=version.name, part=(part or "")[:64]))
    return part


def upload_recording(version, lang: str, part: str, data: bytes) -> dict:
    """Keep a person's recording of one part (replacing what it had); refused, storing
    nothing, unless it is sound in a format the page can play, within the size limit."""
    lang, part = language(lang), _part(version, part)
    limit = int(current_app.config["AUDIO_MAX_UPLOAD_BYTES"])
    if not data:
        raise ServiceError(_("Chưa chọn tệp âm thanh, hoặc tệp trống."))
    if len(data) > limit:
        raise ServiceError(_("Tệp âm thanh quá lớn (%(size)s KB); tối đa %(limit)s KB.",
                             size=len(data) // 1024, limit=limit // 1024))
    try:
        stored, ext = codec.to_stored(data, int(current_app.config["AUDIO_BITRATE_KBPS"]))
    except SpeechError as exc:
        raise ServiceError(str(exc)) from exc
    store, name = _store(), digest_name(part, stored, ext)
    store.write(version.id, lang, name, stored)
    record = {"file": name, "origin": RECORDED, "bytes": len(stored),
              "seconds": round(codec.opus_seconds(stored), 1) if ext == "opus" else None}
    with store.editing(version.id, lang) as records:
        before = records.get(part)
        records[part] = record
    audit.record("audio.upload", "questionnaire_version", version.name,
                 {"lang": lang, "part": part, "file": (before or {}).get("file")},
                 {"lang": lang, "part": part, "file": name, "bytes": len(stored)})
    return record


def remove_clip(version, lang: str, part: str) -> None:
    """Take a part's clip away (the page then has no player for it)."""
    lang, part = language(lang), _part(version, part)
    store = _store()
    if part not in store.manifest(version.id, lang):
        raise ServiceError(_("Câu %(part)s chưa có âm thanh bằng %(name)s.", part=part,
                             name=languages.name(lang)))
    with store.editing(version.id, lang) as records:
        before = records.pop(part, None) or {}
    audit.record("audio.remove", "questionnaire_version", version.name,
                 {"lang": lang, "part": part, "file": before.get("file")}, None)


def overview(version, lang: str) -> list[PartState]:
    """Every part of the page in `lang` with its clip, or None where one is missing."""
    lang = language(lang)
    records = _store().manifest(version.id, lang)
    clips = Clips(version.id, lang, {part: record["file"] for part, record in records.items()
                                     if isinstance(record, dict) and record.get("file")})
    return [PartState(p.name, p.text, records.get(p.name) if clips.url(p.name) else None,
                      clips.url(p.name))
            for p in texts.parts(spec(version.id), lang)]


def stored_languages(version) -> list[str]:
    return _store().languages(version.id)
