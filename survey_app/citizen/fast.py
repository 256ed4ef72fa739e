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
from urllib.parse import unquote_plus

from werkzeug.http import parse_cookie

from .. import rawsql
from ..extensions import db
from ..questions import InvalidAnswer
from ..security import security_headers
from ..services import contacts, responses
from ..survey_form import loaded_spec
from . import pages

FORM_TYPE = "application/x-www-form-urlencoded"


class CitizenFastPath:
    def __init__(self, app, wsgi_app):
        self.app = app
        self.wsgi_app = wsgi_app
        self._engine = None

    @property
    def engine(self):
        """The application's database engine, looked up once: the two cases run outside
        Flask's application context (pushing and popping one, with its teardown, cost
        about 6 % of a submission's server time under gunicorn), so everything they call
        is handed what it needs — the engine, the configuration — rather than asking
        `current_app`."""
        if self._engine is None:
            with self.app.app_context():
                self._engine = db.engine
        return self._engine

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
        cookies = cookie_values(environ.get("HTTP_COOKIE"))
        lang = cookies.get("lang")
        if lang not in app.config["LANGUAGES"]:
            lang = app.config["BABEL_DEFAULT_LOCALE"]
        with rawsql.own_connection(self.engine):
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
        fields = split_form(body)
        if fields is None:
            return None
        cookies = cookie_values(environ.get("HTTP_COOKIE"))
        device = cookies.get(pages.DEVICE_COOKIE)
        token = first_value(fields, pages.TOKEN_FIELD)
        opened_at = pages.shown_at(app, token, device)
        if opened_at is None:
            return None
        address = environ.get("REMOTE_ADDR")
        with rawsql.own_connection(self.engine):
            target = self._open_target(kind, code, cookies)
            if target is None:
                return None
            version = loaded_spec(target.campaign.version_id)
            if version is None:  # not loaded in this process yet: the view loads it
                return None
            answers = plain_answers(version, fields)
            if answers is None:
                return None
            if target.open_code and not pages.allow_open_submission(app, address):
                return None
            # Committed when the block ends; a link used or closed a moment ago (or
            # anything unexpected) raises, rolls back and goes to the Flask view. A repeat
            # of a stored submission gets that one's receipt.
            recorded = responses.record(
                campaign=target.campaign, agency=target.agency,
                channel=target.channel, answers=answers,
                form=target.form, opened_at=opened_at, client=address, device=device,
                submission=token, config=app.config)
        location = f"{environ.get('SCRIPT_NAME', '')}/cam-on/{recorded.receipt_code}"
        headers = [("Location", location), ("Content-Length", "0")]
        if target.open_code:
            headers.append(("Set-Cookie", pages.answered_cookie(
                app, target.open_code, recorded.receipt_code, target.campaign.closes_at)))
        return "303 See Other", headers + security_headers(app, document=False), b""

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


def split_form(body: bytes) -> list[tuple[str, str]] | None:
    """A URL-encoded body as (name, value) pairs in order; None when it is not ASCII or
    does not decode to UTF-8 (the Flask view then answers). Most fields of a survey are a
    name and a digit: only a part holding % or + is unquoted."""
    fields = []
    try:
        for part in body.decode("ascii").split("&"):
            if not part:
                continue
            name, _, value = part.partition("=")
            if "%" in name or "+" in name:
                name = unquote_plus(name, errors="strict")
            if "%" in value or "+" in value:
                value = unquote_plus(value, errors="strict")
            fields.append((name, value))
    except UnicodeDecodeError:
        return None
    return fields


def first_value(fields: list[tuple[str, str]], wanted: str) -> str | None:
    return next((value for name, value in fields if name == wanted), None)


#: Fields that send a submission to the Flask view when filled: the honeypot, and the
#: re-check phone number with its consent (the view stores them apart from the answers).
TRAPS = frozenset(("website", contacts.PHONE_FIELD, contacts.CONSENT_FIELD))


def plain_answers(version, fields: list[tuple[str, str]]) -> dict | None:
    """The clean answers of a complete, valid submission, read in one pass over its fields;
    None when anything needs the Flask view's full answer: a filled trap, an answer given
    twice, a value out of range, a required answer missing.

    Accepts exactly what `survey_form.answers_from_formdata` and then
    `responses.validate_answers` accept, with the same rules (`version.answer_rules`),
    and gives the same answers (a test compares the two on many bodies)."""
    parsers, required = version.answer_rules
    multiple = version.multiple_items
    answers: dict = {}
    seen = set()
    chosen: dict[str, list[str]] = {}
    for name, value in fields:
        parse = parsers.get(name)
        if parse is None:
            if value and name in TRAPS:
                return None
            continue
        if name in multiple:
            chosen.setdefault(name, []).append(value)
            continue
        if name in seen:
            return None
        seen.add(name)
        if not value:
            continue
        try:
            value = parse(value)
        except InvalidAnswer:
            return None
        if value is not None:
            answers[name] = value
    for name, values in chosen.items():
        try:
            answers[name] = parsers[name](values)
        except InvalidAnswer:
            return None
    for code in required:
        if code not in answers:
            return None
    return answers


def cookie_values(header: str | None) -> dict[str, str]:
    """The request's cookies by name (the first of a repeated name). Survey cookies are
    plain tokens; a header with quoting goes to werkzeug's full parser."""
    if not header:
        return {}
    if '"' in header or "\\" in header:
        return dict(parse_cookie(header))
    cookies: dict[str, str] = {}
    for part in header.split(";"):
        name, _, value = part.partition("=")
        name = name.strip()
        if name:
            cookies.setdefault(name, value.strip())
    return cookies
