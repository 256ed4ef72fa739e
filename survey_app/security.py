"""Access control and HTTP hardening: the role matrix, security headers, error pages."""

from __future__ import annotations

import logging
from functools import wraps

from flask import Flask, abort, g, jsonify, render_template, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from .extensions import db, login_manager
from .models import User
from .observability import loggable_path

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def roles_required(*roles: str):
    """Allow the view to logged-in users holding one of `roles`; others get 401/403."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        wrapped.allowed_roles = roles
        return wrapped

    return decorator


@login_manager.user_loader
def _load_user(session_id: str) -> User | None:
    user_id, _, tag = session_id.partition(".")
    if not user_id.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or tag != user.credentials_tag:
        return None
    return user


login_manager.login_view = "auth.login"
login_manager.login_message = _l("Vui lòng đăng nhập để tiếp tục.")
login_manager.login_message_category = "warning"
# "strong" protection drops the session when the client's fingerprint changes.
login_manager.session_protection = "strong"

ERROR_TEXT = {
    400: _l("Yêu cầu không hợp lệ."),
    401: _l("Cần đăng nhập."),
    403: _l("Bạn không có quyền xem trang này."),
    404: _l("Không tìm thấy trang."),
    405: _l("Phương thức không được phép."),
    409: _l("Xung đột dữ liệu."),
    413: _l("Dữ liệu gửi lên quá lớn."),
    429: _l("Quá nhiều yêu cầu, vui lòng thử lại sau."),
    500: _l("Lỗi hệ thống. Vui lòng thử lại sau."),
    503: _l("Hệ thống đang tạm thời gián đoạn, câu trả lời của bạn chưa được lưu. "
            "Vui lòng thử lại sau ít phút."),
}

#: Seconds a client is asked to wait (Retry-After) when the database cannot take a request:
#: a restarted PostgreSQL answers again within seconds.
RETRY_AFTER_SECONDS = 10

#: SQLSTATEs besides SQLAlchemy's OperationalError that mean "not now" rather than "wrong":
#: a read-only transaction (25006: the database set read-only, a standby) and the classes of
#: lost connections (08), exhausted resources such as a full disk (53) and an operator's
#: intervention such as a shutdown (57).
UNAVAILABLE_STATES = ("25006",)
UNAVAILABLE_CLASSES = ("08", "53", "57")


def database_unavailable(exc: BaseException) -> bool:
    """Whether `exc` says the database cannot take requests now (unreachable, restarting,
    read-only, disk full, SQLite's file read-only or locked), so the request may be sent
    again as it is; a constraint or programming error is not such a case."""
    if isinstance(exc, PoolTimeout):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated or isinstance(exc, OperationalError):
        return True
    state = getattr(exc.orig, "sqlstate", None) or ""
    return state in UNAVAILABLE_STATES or state[:2] in UNAVAILABLE_CLASSES


#: Sign-ins, refusals and rate-limit hits, for whoever watches the logs (ASVS V16.3): one
#: line each, with the path's token hidden and never a password or an answer.
events = logging.getLogger("survey_app.security")
#: The staff's blueprints: their pages are never kept by a browser or a proxy (results,
#: exports and the audit log are not for the next user of a shared computer).
STAFF_BLUEPRINTS = frozenset({"admin", "entry", "results", "audit", "auth"})


def security_headers(app: Flask, document: bool = True) -> list[tuple[str, str]]:
    """The headers every page gets (the citizen's fast path sets the same).

    `document=False`: for an answer with no body to show, such as the redirect after a
    submission, only those that still mean something there — the referrer policy (a
    browser applies it to the redirected request), nosniff and HSTS."""
    # Single-use links carry their token in the path: never leak it elsewhere.
    headers = [("Referrer-Policy", "no-referrer"), ("X-Content-Type-Options", "nosniff")]
    if document:
        headers += [("Content-Security-Policy", CSP), ("X-Frame-Options", "DENY"),
                    ("Permissions-Policy", "camera=(), microphone=(), geolocation=()")]
    if app.config.get("SESSION_COOKIE_SECURE"):
        headers.append(("Strict-Transport-Security", "max-age=31536000"))
    return headers


def init_app(app: Flask) -> None:
    @app.after_request
    def _headers(response):
        h = response.headers
        for name, value in security_headers(app):
            h.setdefault(name, value)
        if request.blueprint in STAFF_BLUEPRINTS:
            h.setdefault("Cache-Control", "no-store")
        wanted = request.args.get("lang")
        if wanted in app.config["LANGUAGES"] and request.cookies.get("lang") != wanted:
            response.set_cookie(
                "lang", wanted, max_age=365 * 86400, samesite="Lax",
                secure=app.config.get("SESSION_COOKIE_SECURE", False), httponly=True,
            )
        return response

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        code = exc.code or 500
        if code in (400, 401, 403, 429):  # refused: a CSRF or form failure, access, a limit
            events.warning("refused %d %s %s user=%s", code, request.method,
                           loggable_path(request.path),
                           current_user.get_id() if current_user else None)
        message = str(ERROR_TEXT.get(code, exc.description))
        if request.path.startswith("/api/"):
            return jsonify(error={"code": getattr(exc, "api_code", f"http_{code}"),
                                  "message": getattr(exc, "api_message", message)}), code
        return render_template("error.html", code=code, message=message), code

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        if isinstance(exc, HTTPException):
            return _http_error(exc)
        if database_unavailable(exc):
            return _unavailable(exc)
        # Never a single-use link's token in the log (the request's id is in the record).
        app.logger.exception("Unhandled error on %s", loggable_path(request.path))
        db.session.rollback()
        if request.path.startswith("/api/"):
            return jsonify(error={"code": "internal", "message": str(ERROR_TEXT[500])}), 500
        return render_template("error.html", code=500, message=str(ERROR_TEXT[500])), 500

    def _unavailable(exc: Exception):
        # Nothing was committed (the request's one commit is what failed, or never came):
        # the citizen is asked to send the same answers again, and an operator reads one
        # line per request rather than a traceback for each during an outage.
        reason = str(getattr(exc, "orig", None) or exc).strip().split("\n", 1)[0]
        app.logger.warning("Database unavailable on %s: %s", loggable_path(request.path), reason)
        try:
            db.session.rollback()
        except Exception:  # the connection is gone: the pool replaces it
            pass
        message = str(ERROR_TEXT[503])
        headers = {"Retry-After": str(RETRY_AFTER_SECONDS), "Cache-Control": "no-store"}
        if request.path.startswith("/api/"):
            return jsonify(error={"code": "unavailable", "message": message}), 503, headers
        # Its own page, not error.html: the site's header asks the database about a
        # signed-in user, which is what just failed.
        return render_template("unavailable.html", message=message), 503, headers

    @app.context_processor
    def _inject():
        from flask_babel import get_locale

        # A citizen's page in a loaded translation is in that language (`citizen`).
        return {"current_lang": str(g.get("survey_lang") or get_locale()), "g": g}
