"""What the citizen's Flask views and the fast path (`fast.py`) share, so that both give
the same answers: the form token, the device cookie, the submission limits (open links, kiosks),
the cached survey page and the response headers.

The form token is the page's only hidden value: the time the form was shown and a random
key of this rendering, signed together with the browser's device cookie (a signed
double-submit token). It stops a cross-site page from posting answers through a visitor's
browser, as a session-bound CSRF token would, but needs no session: showing the form keeps
no server-side state. Its random key makes it the submission's idempotency key: repeats
of one submission (a double tap, a phone retrying) store one response
(`intake.accept`, `submission=`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from collections import OrderedDict
from datetime import UTC, datetime

from flask import Flask
from limits import parse
from werkzeug.http import dump_cookie

from ..extensions import limiter
from ..models import utcnow
from ..speech.store import store_of

DEVICE_COOKIE = "sv_dev"
TOKEN_FIELD = "csrf_token"
# Stands for the token while a page is rendered for the cache (never sent as such).
TOKEN_MARK = "@@FORM-TOKEN@@"


def _key(app: Flask) -> bytes:
    key = app.extensions.get("citizen_form_key")
    if key is None:
        key = hashlib.sha256(b"citizen-form\x00" + str(app.config["SECRET_KEY"]).encode()).digest()
        app.extensions["citizen_form_key"] = key
    return key


def _sign(app: Flask, stamp: str, device: str) -> str:
    mac = hmac.new(_key(app), f"{stamp}.{device}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:18]).decode()


def new_device_id() -> str:
    return secrets.token_urlsafe(12)


def issue_token(app: Flask, device: str, now: float | None = None) -> str:
    """'<unix seconds>.<random key>.<signature>': when the form was shown and which
    rendering of it, bound to this browser."""
    stamp = f"{int(time.time() if now is None else now)}.{secrets.token_urlsafe(9)}"
    return f"{stamp}.{_sign(app, stamp, device)}"


def shown_at(app: Flask, token: str | None, device: str | None,
             now: float | None = None) -> datetime | None:
    """When the form behind `token` was shown (naive UTC), or None when the token is
    missing, forged, issued to another browser, from the future or older than the
    configured limit (WTF_CSRF_TIME_LIMIT, as for the staff pages). A token that passes
    is the submission's idempotency key."""
    if not token or not device or len(token) > 64:
        return None
    stamp, _, signature = token.rpartition(".")
    seconds, _, key = stamp.partition(".")
    if not seconds.isdigit() or len(key) != 12 \
            or not hmac.compare_digest(signature, _sign(app, stamp, device)):
        return None
    age = (time.time() if now is None else now) - int(seconds)
    if not -60 <= age <= app.config["WTF_CSRF_TIME_LIMIT"]:
        return None
    return datetime.fromtimestamp(int(seconds), UTC).replace(tzinfo=None)


def device_cookie(app: Flask, device: str) -> str:
    return dump_cookie(DEVICE_COOKIE, device, max_age=400 * 86400, httponly=True,
                       samesite="Lax", secure=app.config["SESSION_COOKIE_SECURE"])


def answered_cookie_name(open_code: str) -> str:
    return f"sv_{open_code}"


def answered_cookie(app: Flask, open_code: str, receipt: str, closes_at: datetime) -> str:
    """Set on an open link once answered: one response per browser per campaign × agency,
    kept until a day after the campaign closes."""
    max_age = int((closes_at - utcnow()).total_seconds()) + 86400
    return dump_cookie(answered_cookie_name(open_code), receipt, max_age=max_age,
                       path=f"/k/{open_code}", httponly=True, samesite="Lax",
                       secure=app.config["SESSION_COOKIE_SECURE"])


def _spend(app: Flask, setting: str, scope: str, key: str) -> bool:
    """Count one submission against the limit named by the setting `setting` (a
    Flask-Limiter rate such as "30 per 10 minutes"), under `scope` and `key`; False once
    over it. Kept in Flask-Limiter's storage, shared by the workers when that is Redis."""
    wanted = app.config[setting]
    limits = app.extensions.get("submission_limits")
    if limits is None:
        limits = app.extensions["submission_limits"] = {}
    parsed = limits.get(setting)
    if parsed is None or parsed[0] != wanted:
        parsed = limits[setting] = (wanted, parse(wanted))
    return limiter.limiter.hit(parsed[1], scope, key)


def allow_open_submission(app: Flask, address: str | None) -> bool:
    """Count one submission through an open link from `address`; False once over the
    OPEN_LINK_RATE_LIMIT."""
    return _spend(app, "OPEN_LINK_RATE_LIMIT", "open-link", address or "-")


def allow_kiosk_submission(app: Flask, kiosk_id: int) -> bool:
    """Count one submission from a kiosk; False once over the KIOSK_RATE_LIMIT (a tablet
    cannot take citizens' answers faster than people can give them)."""
    return _spend(app, "KIOSK_RATE_LIMIT", "kiosk", str(kiosk_id))


class PageCache:
    """The untouched survey page of a campaign × agency in a language, as the bytes before
    and after the form token. Keyed by everything the page shows, so a renamed agency or
    campaign is simply a new entry; bounded, least recently used out first."""

    def __init__(self, size: int = 512):
        self.size = size
        self._pages: OrderedDict[tuple, tuple[bytes, bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple) -> tuple[bytes, bytes] | None:
        with self._lock:
            parts = self._pages.get(key)
            if parts is not None:
                self._pages.move_to_end(key)
            return parts

    def put(self, key: tuple, html: str) -> tuple[bytes, bytes]:
        head, mark, tail = html.partition(TOKEN_MARK)
        if not mark or TOKEN_MARK in tail:
            raise ValueError("the survey page must hold the form token exactly once")
        parts = (head.encode(), tail.encode())
        with self._lock:
            self._pages[key] = parts
            while len(self._pages) > self.size:
                self._pages.popitem(last=False)
        return parts


def page_cache(app: Flask) -> PageCache:
    """The application's cache of untouched survey pages (one per process)."""
    cache = app.extensions.get("citizen_pages")
    if cache is None:
        cache = app.extensions["citizen_pages"] = PageCache()
    return cache


def page_key(app: Flask, target, lang: str, available: tuple, listen: bool = False,
             kiosk: bool = False) -> tuple:
    """Everything the untouched page shows: the version, the language, the version's
    loaded translations with their revisions (the page offers them, and shows one of them
    in its revision), the campaign and agency names, which read-aloud clips there are
    (known in memory; see `speech.store`), whether it plays them (`?nghe=1`) and whether
    it is a kiosk's page."""
    campaign = target.campaign
    return (campaign.version_id, str(lang), available, campaign.id, campaign.name,
            target.agency.name, store_of(app).clips(campaign.version_id, lang).stamp, listen,
            kiosk)
