"""The citizen's fast path: the common case of the survey links, served without the web
framework's per-request machinery — a thin adapter over the submission core.

Nearly every request a survey round receives is one of two: a phone opening a survey
link (an untouched form), or a complete, valid submission. For those two, this WSGI
layer reads the request (the link, the cookies, a URL-encoded body) and hands it to the
same functions as the Flask views: `intake` to find the link and accept the answers,
`pages` for the cached page and the form token. Anything else (a language switch, a
missing or expired token, an answer refused, the honeypot, a re-check phone number, an
unknown or used link, a closed campaign, a body that is not plain URL-encoded UTF-8, a
page not rendered yet, any error before the commit) is passed untouched to the Flask
views, which give the full answer with its Vietnamese message. Once a submission is
committed, the answer is the receipt, whatever happens next: a request is never sent on
to a second attempt after something was stored. The test suite runs every citizen test
through this layer; `CITIZEN_FAST_PATH = False` switches it off.
"""

from __future__ import annotations

import io
from urllib.parse import unquote_plus

from werkzeug.http import parse_cookie

from .. import intake, rawsql
from ..extensions import db
from ..security import security_headers
from ..services import contacts, translations
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
                # Raised before anything was committed (`_post` answers for itself once
                # it has stored): the Flask view meets the same problem and answers (and
                # logs) it properly.
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
        with rawsql.own_connection(self.engine):
            target = self._open_target(kind, code, cookies)
            if target is None:
                return None
            # The chooser lists the loaded translations: a page cached before another
            # process loaded one is not served once this one has seen it (`offered`).
            available = translations.offered(target.campaign.version_id, app)
            if lang not in app.config["LANGUAGES"]:
                lang = translations.page_code(lang, available)
            parts = pages.page_cache(app).get(pages.page_key(app, target, lang, available))
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
        if any(value and name in TRAPS for name, value in fields):
            return None
        with rawsql.own_connection(self.engine):
            target = self._open_target(kind, code, cookies)
            if target is None:
                return None
            version = loaded_spec(target.campaign.version_id)
            if version is None:  # not loaded in this process yet: the view loads it
                return None
            answers, duplicates = intake.raw_answers(version, fields)
            if duplicates:
                return None
            # Committed when the block ends; anything refused (answers, the link used or
            # closed a moment ago, the address's limit) or unexpected raises, rolls back
            # and goes to the Flask view (which counts the refusal). A repeat of a stored
            # submission gets that one's receipt.
            recorded = intake.accept(
                target, answers, opened_at=opened_at, client=address, device=device,
                submission=token, config=app.config, count_refusal=False,
                admit=(lambda: pages.allow_open_submission(app, address))
                if target.open_code else None)
        return self._receipt(environ, target, recorded)

    def _receipt(self, environ, target, recorded):
        """The answer to a committed submission: a redirect to its receipt. Never raises
        (a failure here must not send the request to a second attempt): at worst the
        redirect goes without its cookie and headers."""
        app = self.app
        location = f"{environ.get('SCRIPT_NAME', '')}/cam-on/{recorded.receipt_code}"
        headers = [("Location", location), ("Content-Length", "0")]
        try:
            extra = []
            if target.open_code:
                extra.append(("Set-Cookie", pages.answered_cookie(
                    app, target.open_code, recorded.receipt_code,
                    target.campaign.closes_at)))
            headers += extra + security_headers(app, document=False)
        except Exception:
            app.logger.exception("receipt headers of a stored submission")
        return "303 See Other", headers, b""

    @staticmethod
    def _open_target(kind: str, code: str, cookies):
        """The link's target when it can take an answer now, else None."""
        if "/" in code:
            return None
        if kind == "k":
            target = intake.find_scope(code)
            if target is None or cookies.get(pages.answered_cookie_name(code)):
                return None
        else:
            target = intake.find_form(code)
            if target is None:
                return None
        return target if intake.refusal(target) is None else None


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
