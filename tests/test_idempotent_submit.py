"""Repeats of one citizen's submission (a double tap, a phone retrying on a bad connection)
store one response and all get its receipt: the form token is the submission's
idempotency key (survey_app/citizen/pages.py, intake.record)."""

import hashlib
import secrets
import threading
import time
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select
from web_helpers import full_answers, hidden_fields

from survey_app.citizen import pages
from survey_app.models import Campaign, IssuedForm, LedgerEntry, Response

BOTH_PATHS = pytest.mark.parametrize(
    "app", [{"CITIZEN_FAST_PATH": True}, {"CITIZEN_FAST_PATH": False}],
    ids=["fast-path", "flask-views"], indirect=True)


def _stored(db) -> tuple[int, int]:
    """(responses, ledger entries of kind "response")."""
    db.session.expire_all()
    return (db.session.scalar(select(func.count(Response.id))),
            db.session.scalar(select(func.count(LedgerEntry.id)).filter_by(kind="response")))


def _device(client) -> str:
    return client.get_cookie(pages.DEVICE_COOKIE).value


def _rendered(app, path: str) -> tuple[str, dict]:
    """A browser opens the form: (its device cookie, the body it would post)."""
    browser = app.test_client()
    page = browser.get(path)
    assert page.status_code == 200
    return _device(browser), {**hidden_fields(page.text), **full_answers(score=3)}


def _same_browser(app, device: str):
    """Another connection of the same browser (its cookie, not its later cookies)."""
    client = app.test_client()
    client.set_cookie(pages.DEVICE_COOKIE, device)
    return client


def _post_at_once(app, path: str, device: str, body: dict | list[dict], n: int = 5) -> list:
    """`n` copies of `body` posted at the same moment, or each of a list of bodies."""
    bodies = body if isinstance(body, list) else [body] * n
    n = len(bodies)
    clients = [_same_browser(app, device) for _ in range(n)]
    barrier = threading.Barrier(n)
    answers = [None] * n

    def post(i):
        barrier.wait()
        answers[i] = clients[i].post(path, data=bodies[i])

    threads = [threading.Thread(target=post, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return answers


@BOTH_PATHS
def test_five_copies_at_once_store_one_response_with_one_receipt(app, scope_path, db,
                                                                  monkeypatch):
    device, body = _rendered(app, scope_path)
    answers = _post_at_once(app, scope_path, device, body)
    assert [a.status_code for a in answers] == [303] * 5, [a.text for a in answers]
    receipts = {a.headers["Location"] for a in answers}
    assert len(receipts) == 1
    assert _stored(db) == (1, 1)
    stored = db.session.scalars(select(Response)).one()
    assert receipts == {f"/cam-on/{stored.receipt_code}"}
    # Each answer sets the "answered" cookie with that receipt.
    assert all(stored.receipt_code in a.headers["Set-Cookie"] for a in answers)

    # A minute later the phone sends it again: once without the cookie it never received,
    # once with it (the same browser's "already answered" refusal must not apply).
    real = time.time
    monkeypatch.setattr(pages, "time", SimpleNamespace(time=lambda: real() + 60))
    later = _same_browser(app, device).post(scope_path, data=body)
    assert later.status_code == 303 and later.headers["Location"] in receipts
    answered = _same_browser(app, device)
    answered.set_cookie(pages.answered_cookie_name(scope_path[3:]), stored.receipt_code,
                        path=scope_path)
    again = answered.post(scope_path, data=body)
    assert again.status_code == 303 and again.headers["Location"] in receipts
    assert _stored(db) == (1, 1)
    thanks = _same_browser(app, device).get(later.headers["Location"])
    assert thanks.status_code == 200 and stored.receipt_code in thanks.text


@pytest.mark.parametrize("app", [{"OPEN_LINK_RATE_LIMIT": "2 per minute"}], indirect=True)
def test_repeats_get_the_receipt_past_the_address_limit(app, scope_path, db):
    device, body = _rendered(app, scope_path)
    answers = [_same_browser(app, device).post(scope_path, data=body) for _ in range(4)]
    assert [a.status_code for a in answers] == [303] * 4
    assert len({a.headers["Location"] for a in answers}) == 1
    assert _stored(db) == (1, 1)
    # A new submission from the same address is still over the limit.
    other_device, other = _rendered(app, scope_path)
    assert _same_browser(app, other_device).post(scope_path, data=other).status_code == 429
    assert _stored(db) == (1, 1)


@BOTH_PATHS
def test_two_renders_are_two_submissions(app, scope_path, db):
    browser = app.test_client()
    bodies = [{**hidden_fields(browser.get(scope_path).text), **full_answers()}
              for _ in range(2)]
    assert bodies[0]["csrf_token"] != bodies[1]["csrf_token"]
    device = _device(browser)
    first = _same_browser(app, device).post(scope_path, data=bodies[0])
    second = _same_browser(app, device).post(scope_path, data=bodies[1])
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] != second.headers["Location"]
    assert _stored(db) == (2, 2)


@BOTH_PATHS
def test_a_tampered_key_is_a_forged_token(app, scope_path, db):
    device, body = _rendered(app, scope_path)
    seconds, key, signature = body["csrf_token"].split(".")
    changed = ("A" if key[0] != "A" else "B") + key[1:]
    for token in (f"{seconds}.{changed}.{signature}", f"{seconds}.{signature}",
                  f"{seconds}..{signature}"):
        refused = _same_browser(app, device).post(scope_path,
                                                  data={**body, "csrf_token": token})
        assert refused.status_code == 400 and "hết hạn" in refused.text
    assert _stored(db) == (0, 0)
    # The untouched token still goes through, once.
    assert _same_browser(app, device).post(scope_path, data=body).status_code == 303
    assert _stored(db) == (1, 1)


def _single_use_link(db, kind: str) -> str:
    """The path of a new single-use link of X-SONDUONG in campaign `demo`: a numbered
    paper form's (kind "paper") or an invitation's."""
    campaign = db.session.scalar(select(Campaign).filter_by(code="demo"))
    agency = next(a for a in campaign.agencies if a.code == "X-SONDUONG")
    token = secrets.token_urlsafe(16)
    db.session.add(IssuedForm(campaign=campaign, agency=agency, kind=kind, number=1,
                              serial="DEMO-000001",
                              token_hash=hashlib.sha256(token.encode()).hexdigest()))
    db.session.commit()
    return f"/f/{token}"


def test_a_repeat_on_a_single_use_link_gets_its_receipt(demo, app, db):
    path = _single_use_link(db, "paper")
    device, body = _rendered(app, path)
    answers = _post_at_once(app, path, device, body, n=3)
    assert [a.status_code for a in answers] == [303] * 3
    assert len({a.headers["Location"] for a in answers}) == 1
    later = _same_browser(app, device).post(path, data=body)
    assert later.status_code == 303 and later.headers["Location"] == answers[0].headers["Location"]
    # Another render of the used form is still refused.
    assert _same_browser(app, device).get(path).status_code == 409
    assert _stored(db) == (1, 1)
    # The form itself keys its answer: no idempotency key is stored (nor indexed) for it.
    assert db.session.scalar(select(Response.submit_key)) is None


def _other_answers(body: dict) -> dict:
    """The same form token with one answer changed."""
    assert body["TC1"] == "3"
    return {**body, "TC1": "5"}


@BOTH_PATHS
def test_the_same_key_with_other_answers_is_refused(app, scope_path, db):
    """A form token is the key of one body: sent again with other answers (a citizen who
    changed an answer after a send that seemed to fail), nothing is stored and the page
    names the receipt of the answers that stand."""
    device, body = _rendered(app, scope_path)
    first = _same_browser(app, device).post(scope_path, data=body)
    assert first.status_code == 303
    stored = db.session.scalars(select(Response)).one()
    # Other answers, or answers that are not valid at all.
    for other in (_other_answers(body), {**body, "TC1": "9"}):
        refused = _same_browser(app, device).post(scope_path, data=other)
        assert refused.status_code == 409, refused.text
        assert "câu trả lời khác" in refused.text and stored.receipt_code in refused.text
    assert _stored(db) == (1, 1)
    assert db.session.scalars(select(Response)).one().answers == stored.answers
    # The first body still gets its receipt.
    again = _same_browser(app, device).post(scope_path, data=body)
    assert again.status_code == 303 and again.headers["Location"] == first.headers["Location"]


@BOTH_PATHS
def test_concurrent_repeats_with_two_bodies_store_one(app, scope_path, db):
    """Copies of two bodies under one key at the same moment: one response, whichever
    came first; its copies get its receipt, the other body's copies are refused (409)."""
    device, body = _rendered(app, scope_path)
    other = _other_answers(body)
    answers = _post_at_once(app, scope_path, device, [body, other] * 3)
    assert _stored(db) == (1, 1)
    stored = db.session.scalars(select(Response)).one()
    won = other if stored.answer_dict["TC1"] == 5 else body
    for sent, answer in zip([body, other] * 3, answers, strict=True):
        if sent is won:
            assert answer.status_code == 303, answer.text
            assert answer.headers["Location"] == f"/cam-on/{stored.receipt_code}"
        else:
            assert answer.status_code == 409, answer.text
            assert stored.receipt_code in answer.text


def test_a_single_use_form_resent_with_other_answers_is_refused(demo, app, db):
    path = _single_use_link(db, "invitation")
    device, body = _rendered(app, path)
    assert _same_browser(app, device).post(path, data=body).status_code == 303
    refused = _same_browser(app, device).post(path, data=_other_answers(body))
    assert refused.status_code == 409 and "câu trả lời khác" in refused.text
    stored = db.session.scalars(select(Response)).one()
    assert stored.channel == "invitation"
    assert _stored(db) == (1, 1)
