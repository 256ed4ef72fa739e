"""When the database cannot take a request (unreachable, restarting, read-only, disk full):
the citizen gets a clear Vietnamese "please try again" page with status 503 and
Retry-After, never a 500, and nothing is written; the fast path sends such a request on to
the views, which answer it so."""

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, InternalError, OperationalError
from web_helpers import full_answers, hidden_fields

from survey_app import create_app
from survey_app.models import CampaignAgency, Response
from survey_app.security import RETRY_AFTER_SECONDS, database_unavailable

#: A TCP port nothing listens on: PostgreSQL "down".
CLOSED = "postgresql://postgres@127.0.0.1:1/survey"


def _config(app, url: str, **extra) -> dict:
    keep = ("TESTING", "SECRET_KEY", "RATELIMIT_STORAGE_URI", "PUBLIC_BASE_URL", "TALLY_STEP")
    return {**{k: app.config[k] for k in keep}, "SQLALCHEMY_DATABASE_URI": url, **extra}


@pytest.fixture
def read_only(app, demo):
    """A second application on the same database whose connections may read, not write:
    SQLite's file opened read-only, or PostgreSQL's `default_transaction_read_only` (what
    `ALTER DATABASE … SET default_transaction_read_only = on` gives every new session)."""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if url.startswith("sqlite:///"):
        other = _config(app, f"sqlite:///file:{url.removeprefix('sqlite:///')}?mode=ro&uri=true")
    else:
        other = _config(app, url, SQLALCHEMY_ENGINE_OPTIONS={
            "connect_args": {"options": "-c default_transaction_read_only=on"}})
    ro = create_app(other)
    yield ro
    with ro.app_context():
        from survey_app.extensions import db

        db.engine.dispose()


@pytest.fixture
def scope_path(demo, db):
    s = db.session.scalar(select(CampaignAgency).where(
        CampaignAgency.agency.has(code="X-SONDUONG")))
    return f"/k/{s.open_code}"


def _count(db):
    db.session.rollback()
    return db.session.scalar(select(func.count(Response.id)))


def _is_try_again_page(resp) -> None:
    assert resp.status_code == 503
    assert resp.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert resp.headers["Cache-Control"] == "no-store"
    text = resp.get_data(as_text=True)
    assert "Vui lòng thử lại" in text and "chưa được lưu" in text


def test_submission_to_a_read_only_database_asks_to_try_again(read_only, scope_path, db):
    before = _count(db)
    client = read_only.test_client()
    page = client.get(scope_path)  # reading still works
    assert page.status_code == 200
    form = {**hidden_fields(page.text), **full_answers()}
    resp = client.post(scope_path, data=form)
    _is_try_again_page(resp)
    # twice: once through the fast path (handed on), once on the view's own page
    assert client.post(scope_path, data=form).status_code == 503
    assert _count(db) == before


def test_unreachable_database_asks_to_try_again(app):
    down = create_app(_config(app, CLOSED))
    client = down.test_client()
    _is_try_again_page(client.get("/k/ABCDEFGH"))
    resp = client.post("/k/ABCDEFGH", data=full_answers())
    assert resp.status_code in (400, 503)  # no form token: refused before any query, or 503
    assert resp.status_code != 500
    api = client.post("/api/v1/responses", json={}, headers={"Authorization": "Bearer sk_abcdefgh_" + "x" * 43})
    assert api.status_code == 503
    assert api.json["error"]["code"] == "unavailable"


def test_english_page_when_asked(app):
    down = create_app(_config(app, CLOSED))
    resp = down.test_client().get("/k/ABCDEFGH?lang=en")
    assert resp.status_code == 503
    assert "try again" in resp.get_data(as_text=True).lower()


class _Orig(Exception):
    def __init__(self, sqlstate):
        super().__init__("x")
        self.sqlstate = sqlstate


@pytest.mark.parametrize(("exc", "unavailable"), [
    (OperationalError("SELECT 1", {}, _Orig("08006")), True),   # connection lost
    (OperationalError("INSERT", {}, _Orig("53100")), True),     # disk full
    (InternalError("INSERT", {}, _Orig("25006")), True),        # read-only transaction
    (OperationalError("INSERT", {}, _Orig(None)), True),        # SQLite: readonly, locked
    (IntegrityError("INSERT", {}, _Orig("23505")), False),      # a duplicate is not an outage
    (InternalError("INSERT", {}, _Orig("XX000")), False),
    (ValueError("bug"), False),
])
def test_which_errors_mean_try_again(exc, unavailable):
    assert database_unavailable(exc) is unavailable
