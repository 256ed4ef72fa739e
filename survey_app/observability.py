"""What an operator watches a running server by: the request id and the request's
latency (a WSGI layer around the whole application, the citizen's fast path included),
structured JSON logs, and the health check behind `/healthz`.

Every request gets an id — the incoming `X-Request-ID` when it is sane, else a new one —
returned in the response's `X-Request-ID` header and attached to every log record emitted
while serving it (`RequestContextFilter`, reading a context variable). A log never holds
a single-use link's token: paths are logged through `loggable_path`.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from time import perf_counter

from . import metrics

#: (request id, WSGI environ) of the request being served, for the log records.
_CURRENT: ContextVar[tuple[str, dict] | None] = ContextVar("survey_request", default=None)
_SANE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}\Z")
REQUEST_ID_HEADER = "X-Request-ID"
#: What LOG_FORMAT may be: plain lines (as `flask run` prints them) or one JSON object a line.
LOG_FORMATS = ("text", "json")

#: Paths whose last part is a secret or ties a log line to a citizen: a single-use link's
#: token, a one-time sign-in link's token, a kiosk's enrolment token, a receipt code.
#: Logged as the prefix and "…".
SECRET_PATHS = ("/f/", "/auth/link/", "/kiosk/dang-ky/", "/cam-on/", "/kiosk/cam-on/")
STAFF_PREFIXES = ("/admin", "/entry", "/results", "/audit", "/auth", "/staff")
CITIZEN_PAGES = ("/cam-on/", "/bien-nhan", "/nghe/", "/kiosk")

log = logging.getLogger("survey_app.request")


def current_request_id() -> str | None:
    current = _CURRENT.get()
    return current[0] if current is not None else None


def loggable_path(path: str) -> str:
    """The path as a log may show it: without the secret part of a link."""
    for prefix in SECRET_PATHS:
        if path.startswith(prefix):
            return prefix + "…"
    return path


def route_kind(method: str, path: str) -> str:
    """The latency histogram's route label: few values, whatever the path."""
    if path[:3] in ("/k/", "/f/") or path == "/kiosk":
        return "citizen_submit" if method == "POST" else "citizen_page"
    if path.startswith(CITIZEN_PAGES):
        return "citizen_page"
    if path.startswith("/api/"):
        return "api"
    if path.startswith(STAFF_PREFIXES):
        return "staff"
    return "other"


class RequestObserver:
    """The outermost WSGI layer: gives the request its id, times it into the latency
    histogram, and logs it — every 5xx always, every request when `ACCESS_LOG` is set.
    The timing ends when the application returns its answer (the body of every page but
    a clip is already in memory then)."""

    def __init__(self, app, wsgi_app):
        self.wsgi_app = wsgi_app
        self.access_log = bool(app.config["ACCESS_LOG"])

    def __call__(self, environ, start_response):
        started = perf_counter()
        rid = environ.get("HTTP_X_REQUEST_ID")
        if rid is None or not _SANE_ID.match(rid):
            rid = os.urandom(8).hex()
        token = _CURRENT.set((rid, environ))
        status = "500"

        def start(status_line, headers, exc_info=None):
            nonlocal status
            status = status_line[:3]
            headers.append((REQUEST_ID_HEADER, rid))
            return start_response(status_line, headers, exc_info)

        try:
            return self.wsgi_app(environ, start)
        finally:
            seconds = perf_counter() - started
            method, path = environ.get("REQUEST_METHOD", ""), environ.get("PATH_INFO", "")
            metrics.observe_request(route_kind(method, path), status[0] + "xx", seconds)
            if self.access_log or status[0] == "5":
                self._log(rid, method, path, status, seconds)
            _CURRENT.reset(token)

    @staticmethod
    def _log(rid, method, path, status, seconds):
        path = loggable_path(path)
        ms = round(seconds * 1000, 1)
        log.log(logging.ERROR if status[0] == "5" else logging.INFO,
                "%s %s %s %.1f ms (request %s)", method, path, status, ms, rid,
                extra={"method": method, "path": path, "status": int(status),
                       "duration_ms": ms})


class RequestContextFilter(logging.Filter):
    """Adds the request being served (its id, method and path) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        current = _CURRENT.get()
        if current is not None:
            rid, environ = current
            record.request_id = rid
            if not hasattr(record, "path"):
                record.method = environ.get("REQUEST_METHOD")
                record.path = loggable_path(environ.get("PATH_INFO", ""))
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (ISO 8601, UTC), level, logger, message, and the
    request's id, method, path, status and duration where they apply."""

    FIELDS = ("request_id", "method", "path", "status", "duration_ms")

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in self.FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class JsonHandler(logging.StreamHandler):
    """The handler `LOG_FORMAT = "json"` puts on the root logger (standard error, where
    gunicorn and systemd collect it)."""

    def __init__(self):
        super().__init__(sys.stderr)
        self.setFormatter(JsonFormatter())
        self.addFilter(RequestContextFilter())


def init_app(app) -> None:
    """Logging as the configuration asks (no I/O: handlers only), and the request layer
    around the whole application."""
    if app.config["LOG_FORMAT"] not in LOG_FORMATS:
        raise ValueError(f"LOG_FORMAT must be one of {LOG_FORMATS}, not "
                         f"{app.config['LOG_FORMAT']!r}")
    if app.config["LOG_FORMAT"] == "json":
        root = logging.getLogger()
        for handler in [h for h in root.handlers if isinstance(h, JsonHandler)]:
            root.removeHandler(handler)  # an application made again in the same process
        root.addHandler(JsonHandler())
        if root.level > logging.INFO:
            root.setLevel(logging.INFO)
    if app.config["ACCESS_LOG"]:
        log.setLevel(logging.INFO)
    app.wsgi_app = RequestObserver(app, app.wsgi_app)


# -- Health ------------------------------------------------------------------------------

#: Seconds a health check waits for Redis.
REDIS_TIMEOUT = 0.5


def health(app) -> dict:
    """The state of each part the application needs: "ok", "not used" or "error: …"
    (the exception's class, never its text: that may name hosts or users)."""
    report = {"database": _check("database", _database_ok),
              "redis": _check("redis", lambda: _redis_ok(app)) if _uses_redis(app)
              else "not used"}
    healthy = all(v in ("ok", "not used") for v in report.values())
    return {"status": "ok" if healthy else "error", **report}


def _check(part: str, probe) -> str:
    try:
        probe()
        return "ok"
    except Exception as exc:
        logging.getLogger("survey_app.health").warning("%s check failed: %s: %s", part,
                                                       type(exc).__name__, exc)
        return f"error: {type(exc).__name__}"


def _database_ok() -> None:
    from sqlalchemy import text

    from .extensions import db

    try:
        db.session.execute(text("SELECT 1"))
    finally:
        db.session.rollback()


def _uses_redis(app) -> bool:
    # redis://, rediss://, redis+unix://, redis+sentinel://, redis+cluster://
    return str(app.config.get("RATELIMIT_STORAGE_URI") or "").startswith("redis")


def _redis_ok(app) -> None:
    uri = app.config["RATELIMIT_STORAGE_URI"]
    if uri.startswith(("redis+sentinel", "redis+cluster")):
        # The rate limiter's own storage knows how to reach those.
        from .extensions import limiter

        if not limiter.storage.check():
            raise ConnectionError("rate limit storage check failed")
        return
    client = app.extensions.get("health_redis")
    if client is None:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        client = app.extensions["health_redis"] = redis.Redis.from_url(
            uri.replace("redis+unix://", "unix://", 1), socket_timeout=REDIS_TIMEOUT, socket_connect_timeout=REDIS_TIMEOUT,
            retry=Retry(NoBackoff(), 0))
    client.ping()
