"""Helpers shared by the web tests (importable by name; conftest.py is not)."""

import re
import socket
from urllib.parse import urlsplit

PASSWORD = "correct horse battery"


def redis_up() -> bool:
    """Whether the shared Redis answers at 127.0.0.1:6379 (its tests skip otherwise)."""
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


def counted(db, campaign_id: int | None = None) -> dict[tuple[str, str, int], int]:
    """The answers the indices count, as they read them (the tally and the responses after
    its mark): {(agency code, item code, score): n}, of one campaign or of all."""
    from sqlalchemy import select

    from analysis import load
    from survey_app.models import Campaign

    ids = [campaign_id] if campaign_id is not None else db.session.scalars(select(Campaign.id))
    conn = db.session.connection()
    out = {}
    for cid in list(ids):
        for agency, item, score, n in load.tally(conn, cid).itertuples(index=False):
            out[agency, item, score] = out.get((agency, item, score), 0) + n
    return out


def in_tally(db) -> dict[tuple[str, str, int], int]:
    """The tally table's own rows (what its steps have counted so far)."""
    from sqlalchemy import text

    return {(a, i, score): n for a, i, score, n in db.session.execute(text(
        "SELECT a.code, i.code, t.score, t.n FROM answer_tally t JOIN agency a ON "
        "a.id = t.agency_id JOIN item i ON i.id = t.item_id WHERE t.n <> 0"))}


def counted_from_responses(db, upto: int | None = None) -> dict[tuple[str, str, int], int]:
    """The same counted afresh from every stored response's effective answers (those with
    ids up to `upto`)."""
    from sqlalchemy import select

    from survey_app.models import Item, Response

    scored = set(db.session.scalars(select(Item.code).filter_by(type="satisfaction")))
    out = {}
    for response in db.session.scalars(select(Response)):
        if upto is not None and response.id > upto:
            continue
        for item, score in response.effective_answers.items():
            if item in scored:
                key = (response.agency.code, item, score)
                out[key] = out.get(key, 0) + 1
    return out


def csrf_token(html: str) -> str:
    m = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html)
    assert m, "page has no CSRF token"
    return m.group(1)


SATISFACTION_CODES = [
    "TC1", "TC2", "TC3", "TC4", "TT1", "TT2", "TT3", "TT4", "CC1", "CC2", "CC3", "CC4", "CC5",
    "KQ1", "KQ2", "KQ3", "PA1", "PA2", "PA3",
]


def hidden_fields(html: str) -> dict:
    """The form's hidden inputs (CSRF token, start time) as a browser would send them."""
    out = {}
    for tag in re.findall(r"<input[^>]*type=\"hidden\"[^>]*>", html):
        name = re.search(r'name="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if name:
            out[name.group(1)] = value.group(1) if value else ""
    return out


def full_answers(score: int = 4, **extra) -> dict:
    data = {code: str(score) for code in SATISFACTION_CODES}
    data.update(extra)
    return data


def answer_form(client, path: str, answers: dict | None = None):
    """GET a survey page and POST it back with answers, as a citizen's browser does."""
    page = client.get(path)
    assert page.status_code == 200, page.status_code
    data = hidden_fields(page.text)
    data.update(full_answers() if answers is None else answers)
    return client.post(path, data=data)


def sign_in(client, username: str, password: str = PASSWORD, next: str | None = None):
    """Sign `client` in through the real forms, the second step included: an admin or
    auditor without a second factor enrols one (the secret read from the enrolment page,
    as an authenticator app reads it), one with a factor gives the current code. The
    clock of the codes (`twofactor.now`, a test clock here) moves on a step first, so that
    signing in twice never replays a code. Returns the last answer."""
    import pyotp
    from sqlalchemy import select

    from survey_app.extensions import db
    from survey_app.models import User
    from survey_app.services import twofactor

    path = "/auth/login" + (f"?next={next}" if next else "")
    page = client.get(path)
    resp = client.post(path, data={"csrf_token": csrf_token(page.text),
                                   "username": username, "password": password})
    assert resp.status_code == 302, f"login as {username} failed: {resp.status_code}"
    step = urlsplit(resp.headers["Location"]).path
    if step not in ("/auth/two-factor", "/auth/two-factor/setup"):
        return resp
    twofactor.now.advance(twofactor.STEP)
    page = client.get(step)
    if step.endswith("/setup"):
        secret = re.search(r'data-secret="([A-Z2-7]+)"', page.text).group(1)
    else:
        with client.application.app_context():
            secret = db.session.scalar(select(User.totp_secret).filter_by(username=username))
    code = pyotp.TOTP(secret).at(twofactor.now())
    resp = client.post(step, data={"csrf_token": csrf_token(page.text), "code": code})
    expected = 200 if step.endswith("/setup") else 302
    assert resp.status_code == expected, f"second step as {username} failed: {resp.status_code}"
    return resp


def signed_in(app, username: str, password: str = PASSWORD):
    """A separate browser signed in as `username` through the real login form."""
    client = app.test_client()
    sign_in(client, username, password)
    return client
