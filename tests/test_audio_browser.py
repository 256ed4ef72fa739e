"""The survey page with its read-aloud players in Debian's headless Chromium: still fits a
320 px phone with large targets, loads no sound until one is played, names each player
for a screen reader, and the browser can play the clips the server makes. Skips without
Chromium (see test_survey_browser) or opus-tools."""

from __future__ import annotations

import pytest
from audio_helpers import ToneEngine, needs_opus_tools
from browser_helpers import (
    NARROW_PX,
    PAGE_BUDGET_BYTES,
    TARGET_PX,
    horizontal_overflow,
    needs_browser,
)
from test_survey_browser import ax_tree, name, role

from survey_app.speech import engine


@pytest.fixture
def with_clips(demo, survey, monkeypatch):  # noqa: F811
    """Clips for every part in Vietnamese, made by a tone engine (fast, no espeak)."""
    monkeypatch.setitem(engine.ENGINES, "tone", ToneEngine)
    demo.config["SPEECH_ENGINE"] = "tone"
    result = demo.test_cli_runner().invoke(args=["make-audio", "--lang", "vi"])
    assert result.exit_code == 0, result.output
    return survey


@needs_browser
@needs_opus_tools
def test_players_fit_a_phone_load_nothing_and_play(with_clips, live_url, open_browser):  # noqa: F811
    driver = open_browser(width=NARROW_PX)
    driver.get(live_url + with_clips["path"] + "?nghe=1")
    players = driver.execute_script("""
        return [...document.querySelectorAll('audio')].map(a => {
            const r = a.getBoundingClientRect();
            return {label: a.getAttribute('aria-label'), width: r.width, height: r.height,
                    right: r.right, state: a.networkState};
        });
    """)
    assert len(players) == len(with_clips["items"]) + 1
    layout = horizontal_overflow(driver)
    assert layout["scroll"] <= layout["viewport"] == NARROW_PX, layout
    assert all(p["height"] >= TARGET_PX and p["right"] <= NARROW_PX for p in players), players[:3]
    # Nothing but the page and its stylesheet came over the wire.
    fetched = driver.execute_script("""
        return performance.getEntriesByType('navigation')
            .concat(performance.getEntriesByType('resource'))
            .map(e => ({name: e.name, bytes: e.transferSize}));
    """)
    fetched = [e for e in fetched if not e["name"].endswith("/favicon.ico")]
    assert not [e for e in fetched if "/nghe/" in e["name"]], fetched
    assert sum(e["bytes"] for e in fetched) < PAGE_BUDGET_BYTES + 8 * 1024, fetched

    # A screen reader meets each player by its name, inside its question's group.
    tree = ax_tree(driver)
    named = {name(n) for n in tree.values() if not n.get("ignored") and role(n) == "Audio"}
    assert {"Nghe phần giới thiệu", "Nghe câu hỏi TC1"} <= named, sorted(named)[:5]

    # The browser decodes a clip as served (Ogg Opus, with its caching headers).
    duration = driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        const a = document.querySelector('audio[aria-label="Nghe câu hỏi TC1"]');
        a.addEventListener('loadedmetadata', () => done(a.duration));
        a.addEventListener('error', () => done('error ' + a.error.code));
        a.preload = 'auto';
        a.load();
    """)
    assert isinstance(duration, float) and duration > 0.2, duration
