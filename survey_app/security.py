"""Access control and HTTP hardening: the role matrix, security headers, error pages."""

from __future__ import annotations

from functools import wraps

from flask import Flask, abort, g, jsonify, render_template, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
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
}


def security_headers(app: Flask, document: bool = True) -> list[tuple[str, str]]:
    """The headers every page gets (the citizen's fast path sets the same).

    `document=False`: for an answer with no body to show, such as the redirect after a
    submission, only those that still mean something there — the referrer policy (a
    browser applies it to the redirected request) and HSTS."""
    # Single-use links carry their token in the path: never leak it elsewhere.
    headers = [("Referrer-Policy", "no-referrer")]
    if document:
        headers += [("Content-Security-Policy", CSP), ("X-Content-Type-Options", "nosniff"),
                    ("X-Frame-Options", "DENY"),
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
        message = str(ERROR_TEXT.get(code, exc.description))
        if request.path.startswith("/api/"):
            return jsonify(error={"code": getattr(exc, "api_code", f"http_{code}"),
                                  "message": getattr(exc, "api_message", message)}), code
        return render_template("error.html", code=code, message=message), code

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        if isinstance(exc, HTTPException):
            return _http_error(exc)
        # Never a single-use link's token in the log (the request's id is in the record).
        app.logger.exception("Unhandled error on %s", loggable_path(request.path))
        db.session.rollback()
        if request.path.startswith("/api/"):
            return jsonify(error={"code": "internal", "message": str(ERROR_TEXT[500])}), 500
        return render_template("error.html", code=500, message=str(ERROR_TEXT[500])), 500

    @app.context_processor
    def _inject():
        from flask_babel import get_locale

        # A citizen's page in a loaded translation is in that language (`citizen`).
        return {"current_lang": str(g.get("survey_lang") or get_locale()), "g": g}
