"""The citizen's fast path: the common case of the survey links, served without the web
framework's per-request machinery.

Nearly every request a survey round receives is one of two: a phone opening a survey
link (an untouched form), or a complete, valid submission. For those two, this WSGI
layer does only what the answer needs — one lookup, the cached page with a fresh form
token, or validation and the same `responses.record` as every other channel — and
answers directly. Anything else (a language switch, a missing or expired token, an
answer missing, the honeypot, a re-check phone number, an unknown or used link, a closed
campaign, a body that is not plain URL-encoded UTF-8, a page not rendered yet, any
error) is passed untouched to the Flask views, which give the full answer with its
Vietnamese message. Both use the same helpers (`pages`), and the test suite runs every
citizen test through this layer; `CITIZEN_FAST_PATH = False` switches it off.
"""

from __future__ import annotations

import io
from urllib.parse import parse_qsl

from werkzeug.datastructures import MultiDict
from werkzeug.http import parse_cookie

from ..extensions import db
from ..security import security_headers
from ..services import contacts, responses
from ..survey_form import answers_from_formdata, spec
from . import pages

FORM_TYPE = "application/x-www-form-urlencoded"


class CitizenFastPath:
    def __init__(self, app, wsgi_app):
        self.app = app
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path[:3] in ("/k/", "/f/") and self.app.config["CITIZEN_FAST_PATH"] \
                and not environ.get("QUERY_STRING"):
            method = environ.get("REQUEST_METHOD")
            answer = None
            try:
                if method == "GET":
                    answer = self._get(environ, path[1], path[3:])
                elif method == "POST":
                    answer = self._post(environ, path[1], path[3:])
            except Exception:
                # Nothing is stored before the commit, the last step that can fail: the
                # Flask view meets the same problem and answers (and logs) it properly.
                answer = None
            if answer is not None:
                status, headers, body = answer
                start_response(status, headers)
                return [body]
        return self.wsgi_app(environ, start_response)

    # -- the two cases ------------------------------------------------------------------

    def _get(self, environ, kind: str, code: str):
        app = self.app
        cookies = parse_cookie(environ.get("HTTP_COOKIE"))
        lang = cookies.get("lang")
        if lang not in app.config["LANGUAGES"]:
            lang = app.config["BABEL_DEFAULT_LOCALE"]
        with app.app_context():
            target = self._open_target(kind, code, cookies)
            if target is None:
                return None
            parts = pages.page_cache(app).get(pages.page_key(target, lang))
            if parts is None:
                return None
        headers = [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store")]
        device = cookies.get(pages.DEVICE_COOKIE)
        if not device:
            device = pages.new_device_id()
            headers.append(("Set-Cookie", pages.device_cookie(app, device)))
        body = parts[0] + pages.issue_token(app, device).encode() + parts[1]
        headers.append(("Content-Length", str(len(body))))
        return "200 OK", headers + security_headers(app), body

    def _post(self, environ, kind: str, code: str):
        app = self.app
        if not environ.get("CONTENT_TYPE", "").startswith(FORM_TYPE):
            return None
        try:
            length = int(environ.get("CONTENT_LENGTH") or -1)
        except ValueError:
            return None
        if not 0 <= length <= (app.config.get("MAX_CONTENT_LENGTH") or 0):
            return None
        body = environ["wsgi.input"].read(length)
        environ["wsgi.input"] = io.BytesIO(body)  # the Flask views read it again if need be
        environ["CONTENT_LENGTH"] = str(len(body))
        try:
            form = MultiDict(parse_qsl(body.decode("ascii"), keep_blank_values=True,
                                       encoding="utf-8", errors="strict"))
        except (UnicodeDecodeError, ValueError):
            return None
        if form.get("website") or form.get(contacts.PHONE_FIELD) \
                or form.get(contacts.CONSENT_FIELD):
            return None
        cookies = parse_cookie(environ.get("HTTP_COOKIE"))
        device = cookies.get(pages.DEVICE_COOKIE)
        opened_at = pages.shown_at(app, form.get(pages.TOKEN_FIELD), device)
        if opened_at is None:
            return None
        address = environ.get("REMOTE_ADDR")
        with app.app_context():
            target = self._open_target(kind, code, cookies)
            if target is None:
                return None
            version = spec(target.campaign.version_id)
            raw, duplicates = answers_from_formdata(version, form)
            answers, errors = responses.validate_answers(version, raw)
            if duplicates or errors:
                return None
            if target.open_code and not pages.allow_open_submission(app, address):
                return None
            try:
                recorded = responses.record(
                    campaign=target.campaign, agency=target.agency,
                    channel="open" if target.open_code else "single_use", answers=answers,
                    form=target.form, opened_at=opened_at, client=address, device=device)
                db.session.commit()
            except Exception:
                # A link used or closed a moment ago, or anything unexpected: the Flask
                # view checks again and answers properly. Nothing was stored.
                db.session.rollback()
                return None
        location = f"{environ.get('SCRIPT_NAME', '')}/cam-on/{recorded.receipt_code}"
        headers = [("Location", location), ("Content-Length", "0")]
        if target.open_code:
            headers.append(("Set-Cookie", pages.answered_cookie(
                app, target.open_code, recorded.receipt_code, target.campaign.closes_at)))
        return "303 See Other", headers + security_headers(app), b""

    @staticmethod
    def _open_target(kind: str, code: str, cookies):
        """The link's target when it can take an answer now, else None."""
        if "/" in code:
            return None
        if kind == "k":
            target = responses.find_scope(code)
            if target is None or cookies.get(pages.answered_cookie_name(code)):
                return None
        else:
            target = responses.find_form(code)
            if target is None:
                return None
        return target if responses.refusal(target) is None else None
