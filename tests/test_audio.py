"""Read-aloud audio on the citizen's page: `flask make-audio` voices a questionnaire with
espeak-ng into small Ogg Opus clips, the page gets a player per question and one for the
introduction (nothing loaded until played, the page within its weight), the clips are
served to be cached for good, and only what changed is made again."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from audio_helpers import (
    ToneEngine,
    is_ogg_opus,
    mp3_frames,
    needs_espeak,
    needs_opus_tools,
    tone_wav,
)
from sqlalchemy import func, select

from survey_app.models import AuditLog, CampaignAgency
from survey_app.speech import codec, engine, texts
from survey_app.speech.store import AudioStore
from survey_app.survey_form import spec

STATIC = Path(__file__).resolve().parent.parent / "survey_app" / "static"
PAGE_BUDGET = 30 * 1024
#: A question read with its answers at 10 kbit/s: 5–15 KB (the introduction, the
#: longest, about 18 KB).
CLIP_BUDGET = 24 * 1024


@pytest.fixture
def scope(demo, db):
    s = db.session.scalar(select(CampaignAgency).join(CampaignAgency.agency)
                          .where(CampaignAgency.agency.has(code="X-SONDUONG")))
    return {"path": f"/k/{s.open_code}", "version_id": s.campaign.version_id}


#: The page with its 37 players (about 4 KB of markup more than without).
LISTEN_BUDGET = 36 * 1024


def _weight(page) -> int:
    css = re.findall(r'<link rel="stylesheet" href="/static/([^"]+)"', page.text)
    return len(page.data) + sum((STATIC / name).stat().st_size for name in css)


def _players(html: str) -> list[str]:
    return re.findall(r"<audio [^>]*>", html)


def _fetch(client, url: str, **kwargs):
    """GET a clip, read whole and its file closed (as a server does after sending)."""
    resp = client.get(url, **kwargs)
    resp.get_data()
    resp.close()
    return resp


@needs_espeak
def test_make_audio_gives_small_clips_a_player_each_and_cached_serving(
        scope, runner, client, app):
    plain = client.get(scope["path"])
    assert "<audio" not in plain.text and _weight(plain) < PAGE_BUDGET
    result = runner.invoke(args=["make-audio", "--questionnaire", "sipas:1", "--lang", "vi"])
    assert result.exit_code == 0, result.output
    assert "tạo 37 tệp, giữ nguyên 0" in result.output
    folder = Path(app.instance_path) / "audio" / str(scope["version_id"]) / "vi"
    clips = sorted(folder.glob("*.opus"))
    assert len(clips) == 37  # the introduction and 36 questions
    for clip in clips:
        data = clip.read_bytes()
        assert is_ogg_opus(data), clip.name
        assert 2_000 < len(data) < CLIP_BUDGET, (clip.name, len(data))
        assert codec.opus_seconds(data) > 1
    # The page stays light and offers to listen; asked to (`?nghe=1`), it has a player per
    # question and one for the introduction, each loading nothing before it is played.
    for _ in range(2):  # the second from the cached page
        plain = client.get(scope["path"])
        assert "<audio" not in plain.text and 'href="?nghe=1"' in plain.text
        assert _weight(plain) < PAGE_BUDGET, _weight(plain)
        page = client.get(scope["path"] + "?nghe=1")
        players = _players(page.text)
        assert len(players) == 37
        assert all('controls preload="none" src="/nghe/' in p for p in players)
        assert 'aria-label="Nghe câu hỏi TC1"' in page.text
        assert 'aria-label="Nghe phần giới thiệu"' in page.text
        assert _weight(page) < LISTEN_BUDGET, _weight(page)
    english = client.get(scope["path"] + "?lang=en&nghe=1").text
    assert "<audio" not in english and "?nghe=1" not in english  # not made in en

    src = re.search(r'<audio [^>]*src="([^"]+TC1[^"]+)"', page.text).group(1)
    clip = _fetch(client, src)
    assert clip.status_code == 200 and clip.mimetype == "audio/ogg" and is_ogg_opus(clip.data)
    assert clip.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert clip.headers["ETag"].strip('"') in src
    assert _fetch(client, src, headers={"If-None-Match": clip.headers["ETag"]}).status_code == 304
    part = _fetch(client, src, headers={"Range": "bytes=0-99"})  # how phones fetch media
    assert part.status_code == 206 and len(part.data) == 100
    log = app.extensions["sqlalchemy"].session.scalars(
        select(AuditLog).filter_by(action="audio.make")).one()
    assert log.after == {"lang": "vi", "made": 37, "removed": 0, "engine": "espeak-ng"}

    # Made again, nothing changed: no file is written again.
    before = {c.name: c.stat().st_mtime_ns for c in folder.glob("*.opus")}
    again = runner.invoke(args=["make-audio", "--questionnaire", "sipas", "--lang", "vi"])
    assert again.exit_code == 0 and "tạo 0 tệp, giữ nguyên 37" in again.output
    assert {c.name: c.stat().st_mtime_ns for c in folder.glob("*.opus")} == before
    assert app.extensions["sqlalchemy"].session.scalar(
        select(func.count()).select_from(AuditLog).filter_by(action="audio.make")) == 1
    # A part whose text (or voice) changed, and a clip lost from the disk, are made again.
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["parts"]["TC2"]["source"] = "an older text"
    (folder / "manifest.json").write_text(json.dumps(manifest))
    (folder / manifest["parts"]["KQ1"]["file"]).unlink()
    again = runner.invoke(args=["make-audio", "--lang", "vi"])
    assert "tạo 2 tệp, giữ nguyên 35" in again.output, again.output
    assert len(list(folder.glob("*.opus"))) == 37


@pytest.mark.parametrize("name", [
    "TC1.000000000000.opus", "manifest.json", ".lock", "TC1.opus", "..%2fmanifest.json"])
def test_unknown_clip_is_a_404_in_vietnamese(scope, client, name):
    resp = client.get(f"/nghe/{scope['version_id']}/vi/{name}")
    assert resp.status_code == 404 and "Không tìm thấy" in resp.text
    if name.endswith(".opus"):
        assert "Không tìm thấy tệp âm thanh" in resp.text
    assert client.get(f"/nghe/{scope['version_id']}/VIE/TC1.000000000000.opus").status_code == 404


def test_make_audio_refusals_change_nothing(scope, runner, app, monkeypatch):
    folder = Path(app.instance_path) / "audio"
    result = runner.invoke(args=["make-audio", "--lang", "xx"])
    assert result.exit_code == 1 and "không phải mã ngôn ngữ ISO 639" in result.output
    result = runner.invoke(args=["make-audio", "--lang", "tyz"])
    assert result.exit_code == 1 and "không có giọng Tiếng Tày" in result.output
    assert "tải lên bản ghi âm" in result.output
    monkeypatch.setattr(engine.shutil, "which", lambda name: None)
    result = runner.invoke(args=["make-audio", "--lang", "vi"])
    assert result.exit_code == 1 and "chưa cài espeak-ng (gói Debian espeak-ng)" in result.output
    assert "Traceback" not in result.output
    assert not folder.exists()


def test_a_missing_tool_is_named_not_a_traceback(monkeypatch):
    monkeypatch.setattr(engine.shutil, "which", lambda name: None)
    with pytest.raises(engine.SpeechError, match="apt-get install opus-tools"):
        codec.encode(tone_wav(), 10)


@needs_opus_tools
def test_another_engine_replaces_espeak(scope, runner, app, monkeypatch):
    """An engine is one class: registered under a name, chosen by SPEECH_ENGINE."""
    monkeypatch.setitem(engine.ENGINES, "tone", ToneEngine)
    app.config["SPEECH_ENGINE"] = "tone"
    result = runner.invoke(args=["make-audio", "--lang", "en"])
    assert result.exit_code == 0 and "tạo 37 tệp" in result.output, result.output
    assert "tạo 0 tệp" in runner.invoke(args=["make-audio", "--lang", "en"]).output
    # The voice is part of what a clip is made from: another one makes every clip again.
    monkeypatch.setitem(engine.ENGINES, "tone2", type("Tone2", (ToneEngine,), {"name": "tone2"}))
    app.config["SPEECH_ENGINE"] = "tone2"
    assert "tạo 37 tệp" in runner.invoke(args=["make-audio", "--lang", "en"]).output


def test_texts_read_are_the_question_then_its_answers(scope, app):
    with app.app_context():
        version = spec(scope["version_id"])
        parts = {p.name: p.text for p in texts.parts(version, "vi")}
        english = {p.name: p.text for p in texts.parts(version, "en")}
    assert list(parts)[0] == "intro" and len(parts) == 37
    assert parts["intro"].startswith("Phiếu khảo sát sự hài lòng") and "Phiếu không ghi tên" in parts["intro"]
    assert parts["TC1"] == (
        "Thông tin về thủ tục hành chính được cung cấp bằng nhiều hình thức, dễ hiểu. "
        "1 Rất không hài lòng. 2 Không hài lòng. 3 Bình thường. 4 Hài lòng. "
        "5 Rất hài lòng. Không áp dụng.")
    assert parts["GIOI_TINH"] == "Giới tính. Nam. Nữ. Khác."
    assert parts["UT1"].endswith("Rất nhiều. Nhiều. Ít.")
    assert english["TC1"].endswith("5 Very satisfied. Not applicable.")


def test_recordings_are_recognised_by_their_bytes():
    assert codec.sniff(tone_wav()) == "wav"
    assert codec.sniff(mp3_frames()) == "mp3"
    assert codec.sniff(b"fLaC\x00\x00\x00\x22") == "flac"
    vorbis = b"OggS" + b"\x00" * 22 + b"\x01\x1e" + b"\x01vorbis" + b"\x00" * 30
    assert codec.sniff(vorbis) == ""
    assert codec.sniff(b"<html>not sound</html>") == ""
    assert codec.sniff(mp3_frames(2)[:-100]) == ""  # a frame cut short is not MP3
    assert codec.sniff(b"\xff\xfb\x90\x64" + b"\x00" * 50) == ""
    with pytest.raises(engine.SpeechError, match="không phải âm thanh"):
        codec.to_stored(b"PK\x03\x04 a zip file", 10)


def test_a_process_sees_clips_another_made_after_its_recheck(tmp_path):
    web = AudioStore(tmp_path, recheck_seconds=0)
    other = AudioStore(tmp_path)  # a command run beside the web server
    assert not web.clips(1, "vi") and web.clips(1, "vi").stamp == ""
    other.write(1, "vi", "TC1.0123456789ab.opus", b"OggS")
    with other.editing(1, "vi") as parts:
        parts["TC1"] = {"file": "TC1.0123456789ab.opus", "origin": "recorded"}
    seen = web.clips(1, "vi")
    assert seen.files == {"TC1": "TC1.0123456789ab.opus"} and seen.stamp
    with other.editing(1, "vi") as parts:
        del parts["TC1"]
    assert not web.clips(1, "vi") and not (tmp_path / "1" / "vi" / "TC1.0123456789ab.opus").exists()
    slow = AudioStore(tmp_path, recheck_seconds=3600)
    assert not slow.clips(1, "vi")
    with other.editing(1, "vi") as parts:
        parts["intro"] = {"file": "intro.0123456789ab.opus", "origin": "recorded"}
    assert not slow.clips(1, "vi")  # within its recheck: no look at the disk
