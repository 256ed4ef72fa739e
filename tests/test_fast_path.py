"""The citizen's fast path (survey_app/citizen/fast.py): the common case answered without
the Flask views, everything else handed to them, the same page either way; the form
token; and SQLite's queue of writers."""

import fcntl
import os
import re
import time
from datetime import UTC

import pytest
from sqlalchemy import func, select
from web_helpers import answer_form, full_answers, hidden_fields

from survey_app.citizen import pages
from survey_app.citizen.fast import CitizenFastPath
from survey_app.models import Response


@pytest.fixture
def views(app):
    """The paths that reached the Flask views (behind the fast path)."""
    seen = []
    fast = app.wsgi_app
    while not isinstance(fast, CitizenFastPath):  # under the request layer (observability)
        fast = fast.wsgi_app
    inner = fast.wsgi_app

    def spy(environ, start_response):
        seen.append((environ["REQUEST_METHOD"], environ["PATH_INFO"]))
        return inner(environ, start_response)

    fast.wsgi_app = spy
    return seen


def _count(db):
    return db.session.scalar(select(func.count(Response.id)))


def _without_token(html: str) -> str:
    return re.sub(r'name="csrf_token" type="hidden" value="[^"]*"', "TOKEN", html)


def test_valid_visits_never_reach_the_views(app, scope_path, views, db):
    first = app.test_client().get(scope_path)  # renders the page once, through the view
    assert first.status_code == 200 and views == [("GET", scope_path)]
    views.clear()
    client = app.test_client()
    resp = answer_form(client, scope_path)
    assert resp.status_code == 303 and resp.headers["Location"].startswith("/cam-on/")
    assert views == []
    assert _count(db) == 1
    # the browser got both cookies: the device, and "answered" for this link only
    cookies = {c.key: c for c in client._cookies.values()}
    assert pages.DEVICE_COOKIE in cookies
    answered = cookies[pages.answered_cookie_name(scope_path[3:])]
    assert answered.path == scope_path and answered.value in resp.headers["Location"]
    # and the thank-you page shows that receipt
    receipt = resp.headers["Location"].rsplit("/", 1)[1]
    assert f'class="rc">{receipt}<' in client.get(resp.headers["Location"]).text


def test_the_fast_path_runs_without_an_application_context(app, scope_path, views, db,
                                                           monkeypatch):
    """An untouched page and a valid submission push no Flask application context (each
    one costs about 6 % of a submission's server time under gunicorn); a submission to a
    questionnaire version this process has not loaded yet is left to the views, which
    load it."""
    import contextvars

    from flask import appcontext_pushed
    from werkzeug.test import Client

    from survey_app import survey_form

    pushed = []

    def seen(sender, **extra):
        pushed.append(sender)

    def outside(call, *args):
        """As a server calls the application: no context of any kind active (the test
        holds one open, and Flask's test client pushes one for each request)."""
        return contextvars.Context().run(call, *args)

    app.test_client().get(scope_path)  # renders the page once, through the view
    client = Client(app)
    with appcontext_pushed.connected_to(seen, app):
        views.clear()
        assert outside(client.get, scope_path).status_code == 200
        assert outside(answer_form, client, scope_path).status_code == 303
        assert views == [] and pushed == []
        monkeypatch.setattr(survey_form, "_SPECS", {})
        assert outside(answer_form, Client(app), scope_path).status_code == 303
        # the page came from its cache; the view loaded the version, in its own context
        assert views == [("POST", scope_path)] and pushed == [app]
    assert _count(db) == 2


def test_a_used_form_reached_twice_is_refused_by_the_views(app, demo, views, db):
    """Two browsers opened the same numbered form before either answered, and both send
    valid answers: the first is stored by the fast path, the second refused with the views'
    page, and nothing else is written. The redirect carries the referrer policy and none of
    the headers of a page (it has none)."""
    from urllib.parse import urlsplit

    from survey_app.models import Campaign, LedgerEntry
    from survey_app.services import issuance

    campaign = db.session.scalar(select(Campaign).filter_by(code="demo"))
    _, forms = issuance.issue_batch(campaign, campaign.agencies[0], 1, "Tổ thu phiếu 1")
    db.session.commit()
    path = urlsplit(forms[0][1]).path
    first, second = app.test_client(), app.test_client()
    bodies = [{**hidden_fields(c.get(path).text), **full_answers()} for c in (first, second)]
    entries = db.session.scalar(select(func.count(LedgerEntry.id)))
    views.clear()
    done = first.post(path, data=bodies[0])
    assert done.status_code == 303 and views == []
    assert done.headers["Referrer-Policy"] == "no-referrer"
    assert done.headers["X-Content-Type-Options"] == "nosniff"
    assert "Content-Security-Policy" not in done.headers
    again = second.post(path, data=bodies[1])
    assert again.status_code == 409 and "đã được trả lời" in again.text
    assert views == [("POST", path)]
    assert _count(db) == 1
    assert db.session.scalar(select(func.count(LedgerEntry.id))) == entries + 1


def test_the_same_page_either_way(app, scope_path):
    fast = app.test_client()
    fast.get(scope_path)
    for lang in ("vi", "en"):
        fast.set_cookie("lang", lang)
        served_fast = fast.get(scope_path)
        app.config["CITIZEN_FAST_PATH"] = False
        slow = app.test_client()
        slow.set_cookie("lang", lang)
        served_slow = slow.get(scope_path)
        app.config["CITIZEN_FAST_PATH"] = True
        assert served_fast.status_code == served_slow.status_code == 200
        assert f'lang="{lang}"' in served_fast.text
        assert _without_token(served_fast.text) == _without_token(served_slow.text)
        for header in ("Content-Security-Policy", "X-Frame-Options", "Referrer-Policy",
                       "Cache-Control", "Content-Type"):
            assert served_fast.headers[header] == served_slow.headers[header], header


@pytest.mark.parametrize("case, status, stored", [
    ("missing answer", 400, 0),
    ("honeypot", 303, 0),
    ("consented phone", 303, 1),
    ("token of another browser", 400, 0),
    ("no token", 400, 0),
    ("invalid utf-8", None, None),
    ("duplicate answer", 400, 0),
])
def test_anything_else_goes_to_the_views(app, scope_path, views, db, case, status, stored):
    app.test_client().get(scope_path)
    client = app.test_client()
    page = client.get(scope_path)
    data = {**hidden_fields(page.text), **full_answers()}
    body = None
    if case == "missing answer":
        del data["TC2"]
    elif case == "honeypot":
        data["website"] = "http://spam.example"
    elif case == "consented phone":
        data.update(recheck_consent="y", recheck_phone="0912345678")
    elif case == "token of another browser":
        other = app.test_client()
        data.update(hidden_fields(other.get(scope_path).text))
    elif case == "no token":
        del data["csrf_token"]
    elif case == "invalid utf-8":
        body = "&".join(f"{k}={v}" for k, v in data.items()).encode() + b"&Y_KIEN=%ff%fe"
    elif case == "duplicate answer":
        data["TC1"] = ["4", "5"]
    views.clear()
    if body is not None:
        resp = client.post(scope_path, data=body,
                           content_type="application/x-www-form-urlencoded")
    else:
        resp = client.post(scope_path, data=data)
    assert views == [("POST", scope_path)], "the view must answer this case"
    if status is None:  # replaced or refused, but cleanly
        assert resp.status_code in (303, 400)
    else:
        assert resp.status_code == status
        assert _count(db) == stored
    if resp.status_code == 400:
        assert 'name="TC1"' in resp.text  # the form again, answers kept


def test_used_and_unknown_links_go_to_the_views(app, scope_path, views, db):
    client = app.test_client()
    assert answer_form(client, scope_path).status_code == 303
    views.clear()
    again = client.get(scope_path)  # this browser has answered
    assert again.status_code == 200 and "đã trả lời" in again.text
    assert client.get("/k/nosuchcode").status_code == 404
    assert client.get(scope_path + "?lang=en").status_code == 200
    assert [p for _, p in views] == [scope_path, "/k/nosuchcode", scope_path]


def test_form_token(app):
    with app.app_context():
        now = time.time()
        token = pages.issue_token(app, "device-a", now)
        shown = pages.shown_at(app, token, "device-a", now + 90)
        assert shown is not None
        assert shown.replace(tzinfo=UTC).timestamp() == int(now)
        assert pages.shown_at(app, token, "device-b", now) is None  # another browser
        stamp, key, sig = token.split(".")
        assert pages.shown_at(app, f"{int(stamp) + 1}.{key}.{sig}", "device-a", now) is None
        assert pages.shown_at(app, f"{stamp}.{key[::-1]}.{sig}", "device-a", now) is None
        assert pages.shown_at(app, f"{stamp}.{sig}", "device-a", now) is None
        # Each rendering has a key of its own (the submission's idempotency key).
        assert pages.issue_token(app, "device-a", now) != token
        assert pages.shown_at(app, token[:-2] + "AA", "device-a", now) is None
        limit = app.config["WTF_CSRF_TIME_LIMIT"]
        assert pages.shown_at(app, token, "device-a", now + limit + 5) is None  # too old
        assert pages.shown_at(app, token, "device-a", now - 3600) is None  # from the future
        assert pages.shown_at(app, None, "device-a", now) is None
        assert pages.shown_at(app, token, None, now) is None


def test_completion_time_is_recorded_from_the_token(app, scope_path, db):
    client = app.test_client()
    page = client.get(scope_path)
    data = {**hidden_fields(page.text), **full_answers()}
    stamp = int(data["csrf_token"].split(".")[0])
    device = next(c.value for c in client._cookies.values() if c.key == pages.DEVICE_COOKIE)
    data["csrf_token"] = pages.issue_token(app, device, stamp - 95)  # shown 95 s earlier
    assert client.post(scope_path, data=data).status_code == 303
    assert 94 <= db.session.scalars(select(Response)).one().duration_s <= 200


@pytest.mark.skipif(bool(os.environ.get("SURVEY_TEST_DATABASE_URL")),
                    reason="the writers' queue is for SQLite only")
def test_sqlite_writers_queue_is_held_until_commit_or_rollback(app, demo, db):
    from survey_app import intake
    from survey_app.models import Campaign

    path = db.engine.url.database + "-writers"

    def held() -> bool:
        fd = os.open(path, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)
        return False

    campaign = db.session.scalar(select(Campaign).filter_by(code="demo"))
    agency = campaign.agencies[0]
    db.session.commit()
    for end in (db.session.commit, db.session.rollback):
        intake.record(campaign=campaign, agency=agency, channel="api",
                         answers={"TC1": 4})
        assert held(), "a submission holds its turn until its transaction ends"
        end()
        assert not held(), f"the turn is released at {end.__name__}"
    assert _count(db) == 1


def test_kept_connections_are_reused_unless_broken(app, scope_path, db):
    """The fast path keeps its DBAPI connection for the next request, also after a
    failed block that rolled back; one that cannot roll back is closed, never reused."""
    from survey_app import rawsql

    with app.app_context():
        with rawsql.own_connection(db.engine) as first:
            pass
        with pytest.raises(ValueError), rawsql.own_connection(db.engine) as again:
            raise ValueError("a refusal after a rollback")
        assert again is first
        with pytest.raises(ValueError), rawsql.own_connection(db.engine) as broken:
            dbapi = broken.dbapi_connection
            dbapi.close()
            raise ValueError("the database went away")
        assert broken is first
        with rawsql.own_connection(db.engine) as fresh:
            pass
        assert fresh is not first
    # and the page still works on the new connection
    assert answer_form(app.test_client(), scope_path).status_code == 303
    assert _count(db) == 1


@pytest.mark.parametrize("broken", ["answered_cookie", "security_headers"])
def test_nothing_after_the_commit_sends_a_submission_on(app, scope_path, views, db,
                                                        monkeypatch, broken):
    """A failure once the answer is stored (building its cookie or headers) still answers
    with the receipt: the request never reaches the views for a second attempt, and one
    response is stored."""
    from survey_app import security
    from survey_app.citizen import fast

    app.test_client().get(scope_path)  # the page rendered once, through the view
    views.clear()

    def boom(*args, **kwargs):
        raise RuntimeError("after the commit")

    if broken == "answered_cookie":
        monkeypatch.setattr(pages, "answered_cookie", boom)
    else:
        monkeypatch.setattr(fast, "security_headers", boom)
        assert fast.security_headers is not security.security_headers
    client = app.test_client()
    resp = answer_form(client, scope_path)
    assert resp.status_code == 303 and resp.headers["Location"].startswith("/cam-on/")
    assert views == [("GET", scope_path)] or views == []  # the form's GET only
    assert not [v for v in views if v[0] == "POST"]
    assert _count(db) == 1
    receipt = resp.headers["Location"].rsplit("/", 1)[1]
    assert db.session.scalar(select(Response.receipt_code)) == receipt


@pytest.mark.parametrize("header", [
    "sv_dev=abc123; lang=en", "lang=vi;sv_dev=x-y_z", "  sv_dev = a ;lang=en  ", "a=1; a=2",
    "sv_dev=abc; broken; lang=en", 'sv_dev="quoted value"; lang=en', "x=a\\b; lang=vi", "", "lang=en;", ";;a=1; =2",
])
def test_cookie_values_match_werkzeug(header):
    from werkzeug.http import parse_cookie

    from survey_app.citizen.fast import cookie_values

    assert cookie_values(header) == dict(parse_cookie(header))
