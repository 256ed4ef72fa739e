"""Recorded audio for a language without a voice, through the administration's audio
page: upload (converted to Ogg Opus), replace, remove, what is missing; and every bad
upload refused in Vietnamese with nothing stored."""

from __future__ import annotations

import html
import io
import json
import re
from pathlib import Path

import pytest
from audio_helpers import ToneEngine, is_ogg_opus, mp3_frames, needs_opus_tools, tone_wav
from sqlalchemy import func, select
from web_helpers import csrf_token

from survey_app.admin import audio as audio_views
from survey_app.models import AuditLog, CampaignAgency
from survey_app.speech import codec, engine


@pytest.fixture
def version_id(demo, db):
    return db.session.scalar(select(CampaignAgency)).campaign.version_id


@pytest.fixture
def audio_page(client, login, version_id):
    login("admin")
    return lambda lang="tyz": client.get(f"/admin/questionnaires/{version_id}/audio?lang={lang}")


def _folder(app, version_id, lang="tyz") -> Path:
    return Path(app.instance_path) / "audio" / str(version_id) / lang


def _upload(client, version_id, data: bytes, part="TC1", lang="tyz", filename="tc1.wav"):
    page = client.get(f"/admin/questionnaires/{version_id}/audio?lang=vi")
    return client.post(f"/admin/questionnaires/{version_id}/audio/upload", data={
        "csrf_token": csrf_token(page.text), "lang": lang, "part": part,
        "file": (io.BytesIO(data), filename)})


def _audit_rows(db) -> int:
    return db.session.scalar(select(func.count()).select_from(AuditLog)
                             .where(AuditLog.action.like("audio.%")))


@needs_opus_tools
def test_recording_for_a_language_without_a_voice(app, client, audio_page, version_id, db):
    page = audio_page("tyz")
    assert page.status_code == 200
    assert "Tiếng Tày" in page.text and "Còn thiếu 37 trong 37 phần" in page.text
    assert "Chưa có giọng đọc máy" in page.text and "giọng đọc máy</button>" not in page.text
    # Larger than the application's request limit (256 KB, sized for survey answers).
    wav = tone_wav(3.5, rate=22050, channels=2)
    assert len(wav) > app.config["MAX_CONTENT_LENGTH"]
    resp = _upload(client, version_id, wav)
    assert resp.status_code == 302, resp.text[-2000:]
    page = client.get(resp.headers["Location"])
    assert "Đã lưu bản ghi âm của phần TC1" in page.text
    assert "Còn thiếu 36 trong 37 phần" in page.text
    manifest = json.loads((_folder(app, version_id) / "manifest.json").read_text())
    record = manifest["parts"]["TC1"]
    assert record["origin"] == "recorded" and record["file"].endswith(".opus")
    stored = (_folder(app, version_id) / record["file"]).read_bytes()
    assert is_ogg_opus(stored) and len(stored) < len(wav) / 10  # mono, speech bitrate
    assert abs(codec.opus_seconds(stored) - 3.5) < 0.1
    # Served to the page in that language (the survey offers it once it is translated).
    src = re.search(r'<audio [^>]*src="(/nghe/[^"]+/tyz/TC1\.[^"]+)"', page.text).group(1)
    clip = client.get(src)
    assert clip.status_code == 200 and clip.mimetype == "audio/ogg" and clip.data == stored
    assert "immutable" in clip.headers["Cache-Control"]
    clip.close()
    log = db.session.scalars(select(AuditLog).filter_by(action="audio.upload")).one()
    assert log.actor == "admin" and log.after["part"] == "TC1" and log.after["lang"] == "tyz"

    # Replaced by an Ogg Opus recording (decoded and encoded again) and an MP3 (kept).
    resp = _upload(client, version_id, codec.encode(tone_wav(2.0), 32), filename="x.opus")
    assert resp.status_code == 302
    assert len(list(_folder(app, version_id).glob("TC1.*"))) == 1  # the old file is gone
    assert _upload(client, version_id, mp3_frames(), part="intro",
                   filename="intro.mp3").status_code == 302
    mp3 = next(_folder(app, version_id).glob("intro.*.mp3"))
    clip = client.get(f"/nghe/{version_id}/tyz/{mp3.name}")
    assert clip.mimetype == "audio/mpeg"
    clip.close()
    assert "Còn thiếu 35 trong 37 phần" in client.get(
        f"/admin/questionnaires/{version_id}/audio?lang=tyz").text

    # Removed: missing again, its file gone.
    page = client.get(f"/admin/questionnaires/{version_id}/audio?lang=tyz")
    resp = client.post(f"/admin/questionnaires/{version_id}/audio/remove", data={
        "csrf_token": csrf_token(page.text), "lang": "tyz", "part": "intro"})
    assert resp.status_code == 302
    assert not list(_folder(app, version_id).glob("intro.*"))
    assert "Còn thiếu 36 trong 37 phần" in client.get(resp.headers["Location"]).text
    # Removing what is not there is refused, and writes nothing for another language.
    resp = client.post(f"/admin/questionnaires/{version_id}/audio/remove", data={
        "csrf_token": csrf_token(page.text), "lang": "nut", "part": "TC1"})
    assert resp.status_code == 400 and "chưa có âm thanh bằng Tiếng Nùng" in resp.text
    assert not _folder(app, version_id, "nut").exists()


@needs_opus_tools
@pytest.mark.parametrize("data, part, lang, message", [
    (b"<html>not a recording</html>", "TC1", "tyz", "không phải âm thanh"),
    (b"RIFF\x24\x00\x00\x00WAVEjunk" + b"\x00" * 200, "TC1", "tyz", "không đọc được thành âm thanh"),
    (b"OggS" + b"\x00" * 22 + b"\x01\x1e\x01vorbis" + b"\x00" * 40, "TC1", "tyz", "không phải âm thanh"),
    (tone_wav(3), "TC1", "tyz", "quá lớn"),
    (b"", "TC1", "tyz", "Chưa chọn tệp âm thanh"),
    (tone_wav(), "TC1", "xx", "không phải mã ngôn ngữ ISO 639"),
    (tone_wav(), "TC1", "tày", "không phải mã ngôn ngữ ISO 639"),
    (tone_wav(), "NOPE", "tyz", "không có câu hỏi mã 'NOPE'"),
    (tone_wav(0.05), "TC1", "tyz", "không có âm thanh"),
])
def test_bad_uploads_are_refused_and_store_nothing(app, client, audio_page, version_id, db,
                                                   data, part, lang, message):
    # Small, so that the test client's body stays in memory: a 3 s WAV is 96 KB.
    app.config["AUDIO_MAX_UPLOAD_BYTES"] = 64 * 1024
    audio_page()
    resp = _upload(client, version_id, data, part=part, lang=lang)
    assert resp.status_code == 400, resp.status_code
    assert message in html.unescape(resp.text), resp.text[-3000:]
    assert not (Path(app.instance_path) / "audio").exists()
    assert _audit_rows(db) == 0


def test_a_body_beyond_the_upload_limit_is_refused_in_vietnamese(app, client, audio_page,
                                                                 version_id, monkeypatch):
    app.config["AUDIO_MAX_UPLOAD_BYTES"] = 1024
    monkeypatch.setattr(audio_views, "UPLOAD_SLACK", 1024)
    audio_page()
    resp = _upload(client, version_id, b"RIFF" + b"\x00" * 4096)
    assert resp.status_code == 413 and "Dữ liệu gửi lên quá lớn" in resp.text
    assert not (Path(app.instance_path) / "audio").exists()
    # The application's own limit, for the survey's answers, is unchanged elsewhere.
    page = client.get("/admin/questionnaires")
    resp = client.post("/admin/questionnaires/upload", data={
        "csrf_token": csrf_token(page.text), "file": (io.BytesIO(b"x" * 300 * 1024), "q.json")})
    assert resp.status_code == 413


def test_an_unknown_language_on_the_page_is_explained(audio_page):
    page = audio_page("zzz")
    assert page.status_code == 400 and "không phải mã ngôn ngữ ISO 639" in page.text


def test_an_auditor_sees_the_audio_page_but_changes_nothing(demo, client, login, version_id,
                                                           app):
    login("mttq")
    page = client.get(f"/admin/questionnaires/{version_id}/audio?lang=tyz")
    assert page.status_code == 200 and "Còn thiếu 37" in page.text
    assert 'type="file"' not in page.text
    resp = client.post(f"/admin/questionnaires/{version_id}/audio/upload", data={
        "lang": "tyz", "part": "TC1", "file": (io.BytesIO(tone_wav()), "a.wav")})
    assert resp.status_code in (400, 403)
    assert not (Path(app.instance_path) / "audio").exists()


@needs_opus_tools
def test_the_make_button_keeps_recordings(app, client, audio_page, version_id, monkeypatch):
    monkeypatch.setitem(engine.ENGINES, "tone", ToneEngine)
    app.config["SPEECH_ENGINE"] = "tone"
    assert _upload(client, version_id, tone_wav(1), lang="vi").status_code == 302
    page = audio_page("vi")
    assert "Tạo âm thanh bằng giọng đọc máy" in page.text
    resp = client.post(f"/admin/questionnaires/{version_id}/audio/make", data={
        "csrf_token": csrf_token(page.text), "lang": "vi"})
    assert resp.status_code == 302
    page = client.get(resp.headers["Location"])
    assert "Đã tạo 36 tệp âm thanh, giữ nguyên 0, 1 phần dùng bản ghi âm" in page.text
    assert "Đủ âm thanh cho cả 37 phần" in page.text
    manifest = json.loads((_folder(app, version_id, "vi") / "manifest.json").read_text())
    assert manifest["parts"]["TC1"]["origin"] == "recorded"
    # The preview shows the players too.
    preview = client.get(f"/admin/questionnaires/{version_id}/preview")
    assert preview.text.count("<audio ") == 37
    # No voice for Tày: refused with the way out.
    resp = client.post(f"/admin/questionnaires/{version_id}/audio/make", data={
        "csrf_token": csrf_token(page.text), "lang": "tyz"})
    assert resp.status_code == 400 and "hãy tải lên bản ghi âm" in resp.text
