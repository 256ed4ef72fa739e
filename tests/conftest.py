"""Fixtures: an app on a fresh database per test (SQLite file, or PostgreSQL when
SURVEY_TEST_DATABASE_URL is set), the HTTP client, the CLI runner, and small factories."""

from __future__ import annotations

import os
import time

import pytest
from browser_helpers import live_url, open_browser, survey  # noqa: F401  (browser tests' fixtures)
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import select, text
from web_helpers import PASSWORD, sign_in

from survey_app import create_app
from survey_app.extensions import db as _db

PG_URL = os.environ.get("SURVEY_TEST_DATABASE_URL")


def pytest_collection_modifyitems(config, items):
    # Tests that touch the database carry the `db` marker: the PostgreSQL pass runs them.
    for item in items:
        if "app" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.db)


def pytest_report_header(config):
    return f"database: {'PostgreSQL ' + PG_URL if PG_URL else 'SQLite (per-test file)'}"


class FreshContextClient(FlaskClient):
    """Each request gets its own app context, as in a real server, even while a test holds
    one open to inspect the database (otherwise `g` would leak between requests)."""

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


class FreshContextRunner(FlaskCliRunner):
    def invoke(self, *args, **kwargs):
        with self.app.app_context():
            return super().invoke(*args, **kwargs)


@pytest.fixture(scope="session")
def pg_schema_ready():
    """On PostgreSQL, build the schema once; each test then empties every table."""
    if not PG_URL:
        return None
    app = create_app({"TESTING": True, "SECRET_KEY": "t", "SQLALCHEMY_DATABASE_URI": PG_URL})
    with app.app_context():
        _db.drop_all()
        with _db.engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
        _db.create_all()
        _db.engine.dispose()
    return True


@pytest.fixture
def app(tmp_path, pg_schema_ready, request):
    url = PG_URL or f"sqlite:///{tmp_path / 'test.sqlite'}"
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": url,
        "RATELIMIT_STORAGE_URI": "memory://",
        "PUBLIC_BASE_URL": "http://localhost",
        # Cheap hashing keeps the suite fast; production uses werkzeug's default scrypt cost.
        "PASSWORD_HASH_METHOD": "scrypt:1024:8:1",
        # A short step, so that the suite's few responses go both ways: counted in the
        # tally by a step, and after the mark, counted from their answers when read.
        "TALLY_STEP": 3,
    }
    config.update(getattr(request, "param", {}) or {})
    app = create_app(config)
    app.test_client_class = FreshContextClient
    app.test_cli_runner_class = FreshContextRunner
    app.instance_path = str(tmp_path / "instance")
    with app.app_context():
        if PG_URL:
            tables = ", ".join(f'"{t.name}"' for t in _db.metadata.sorted_tables)
            with _db.engine.begin() as conn:
                conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        else:
            _db.create_all()
    yield app
    with app.app_context():
        _db.session.remove()
        _db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def db(app):
    with app.app_context():
        yield _db


@pytest.fixture
def demo(app):
    """The demo data set (agencies, SIPAS, campaign `demo`, accounts with PASSWORD)."""
    from survey_app import demo as demo_module

    with app.app_context():
        demo_module.seed(PASSWORD)
        _db.session.commit()
    return app


@pytest.fixture
def scope_path(demo, db):
    """The open link (poster) of the demo campaign at X-SONDUONG: `/k/<code>`."""
    from survey_app.models import CampaignAgency

    s = db.session.scalar(select(CampaignAgency).where(
        CampaignAgency.agency.has(code="X-SONDUONG")))
    return f"/k/{s.open_code}"


class Clock:
    """The clock of second-factor codes and one-time links in tests: real time to start
    with, moved on explicitly (a sign-in moves it a step, so no code is ever replayed)."""

    def __init__(self):
        self.t = time.time()

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


@pytest.fixture(autouse=True)
def analysis_in_english():
    """The `analysis` functions called in a test speak English, the wording the tests
    assert; the Vietnamese default is tested through ``python -m analysis``."""
    from analysis import messages

    with messages.using("en"):
        yield


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    from survey_app.services import twofactor

    fake = Clock()
    monkeypatch.setattr(twofactor, "now", fake)
    return fake


@pytest.fixture
def login(client):
    """login(username) signs the test client in through the real forms, the second step
    (TOTP) of admins and auditors included; returns the last answer."""

    def _login(username: str, password: str = PASSWORD, next: str | None = None):
        return sign_in(client, username, password, next)

    return _login


@pytest.fixture
def make_user(app):
    def _make(username: str, role: str, agency: str | None = None):
        from survey_app.services import users

        with app.app_context():
            users.create_user(username, PASSWORD, role, agency)
            _db.session.commit()

    return _make
