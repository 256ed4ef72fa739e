"""Citizen-satisfaction survey platform: the Flask application factory."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import Flask, has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine

from .config import Defaults
from .extensions import babel, csrf, db, limiter, login_manager, migrate

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app: defaults, then instance/config.py, then SURVEY_* variables, then tests.

    Touches nothing but the instance folder's secret key, which it creates on first run
    when no key is configured: no migrations, no seeding, no network.
    """
    app = Flask(
        __name__,
        instance_path=os.environ.get("SURVEY_INSTANCE_PATH") or str(PROJECT_ROOT / "instance"),
        instance_relative_config=True,
        template_folder=str(PROJECT_ROOT / "templates"),
    )
    app.config.from_object(Defaults)
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env("SURVEY")
    if test_config:
        app.config.update(test_config)
    _database_config(app.config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret(Path(app.instance_path))

    # Compact HTML: the citizen's page is weighed in bytes on 3G.
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    # Vietnamese stays readable in JSON answers and in the audit log's before/after.
    app.json.ensure_ascii = False

    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS_DIR), render_as_batch=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    babel.init_app(app, locale_selector=_select_locale)
    limiter.init_app(app)

    from . import security

    security.init_app(app)
    _number_filters(app)

    from .admin import bp as admin_bp
    from .api import bp as api_bp
    from .audit import bp as audit_bp
    from .auth import bp as auth_bp
    from .citizen import bp as citizen_bp
    from .entry import bp as entry_bp
    from .main import bp as main_bp
    from .results import bp as results_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(citizen_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(entry_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(audit_bp)
    app.register_blueprint(results_bp)

    from .citizen.fast import CitizenFastPath

    app.wsgi_app = CitizenFastPath(app, app.wsgi_app)
    if app.config["PROXY_COUNT"]:
        # Behind nginx every request comes from 127.0.0.1: take the citizen's address (for
        # the open links' per-address limit and the burst flags) and scheme from the
        # headers set by that many trusted proxies, before anything reads them.
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = int(app.config["PROXY_COUNT"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    # Outermost, so that the request id and the latency cover the fast path too.
    from . import observability

    observability.init_app(app)

    from .cli import register_commands

    register_commands(app)
    return app


def _number_filters(app: Flask) -> None:
    """`number` and `cell` in templates: the one number format (`reports.number`) in the
    page's language."""
    from flask_babel import get_locale

    from .services import reports

    @app.template_filter("number")
    def _number(value, digits: int = 1) -> str:
        return reports.number(value, digits, str(get_locale()))

    @app.template_filter("cell")
    def _cell(value, missing: str = "—") -> str:
        return reports.cell(value, str(get_locale()), missing)


def _database_config(config) -> None:
    """The database's URL (DATABASE_URL wins) in the dialect of the driver we ship, and
    its engine's options."""
    if config.get("DATABASE_URL"):
        config["SQLALCHEMY_DATABASE_URI"] = _normalise_db_url(config["DATABASE_URL"])
    config["SQLALCHEMY_DATABASE_URI"] = _normalise_db_url(config["SQLALCHEMY_DATABASE_URI"])
    # A database error's text would otherwise carry the statement's values (a citizen's
    # answers) into the log.
    config["SQLALCHEMY_ENGINE_OPTIONS"] = {
        "hide_parameters": True, **config["SQLALCHEMY_ENGINE_OPTIONS"]}


def _normalise_db_url(url: str) -> str:
    # Heroku-style URLs name the dialect "postgres"; psycopg 3 is the driver we ship.
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def _instance_secret(instance: Path) -> str:
    path = instance / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


def _select_locale() -> str:
    from flask import current_app

    languages = current_app.config["LANGUAGES"]
    if not has_request_context():
        # Operator commands: service messages come out in the default language.
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    wanted = request.args.get("lang") or request.cookies.get("lang")
    return wanted if wanted in languages else current_app.config["BABEL_DEFAULT_LOCALE"]


#: Pages the write-ahead log may hold before a commit copies them into the database file
#: (SQLite's default: 1,000). A submission dirties about seven pages, and the index pages
#: among them are written again and again: over a longer log, a checkpoint copies each
#: page's last version once for many submissions, and its two fsyncs come less often.
#: The log then grows to about 32 MB before it is reused.
SQLITE_WAL_AUTOCHECKPOINT = 8000


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):
    # SQLite needs foreign keys switched on per connection; WAL lets readers run while
    # a submission is being written, and a busy timeout queues concurrent writers.
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA wal_autocheckpoint={SQLITE_WAL_AUTOCHECKPOINT}")
        cursor.close()
