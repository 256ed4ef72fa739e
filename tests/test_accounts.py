"""Accounts and sign-in: the owner's own password, the second factor of admins and
auditors, one-time links, and what an admin can never do to an auditor's account."""

import json
import re

import pyotp
import pytest
from sqlalchemy import select
from web_helpers import PASSWORD, csrf_token, hidden_fields

from survey_app.models import AccountLink, AuditLog, RecoveryCode, User
from survey_app.services import twofactor

NEW_PASSWORD = "a brand new passphrase"


def _user(db, username) -> User:
    db.session.expire_all()
    return db.session.scalar(select(User).filter_by(username=username))


def _password_step(client, username, password=PASSWORD):
    """Only the first step, to look at what comes between it and the second."""
    page = client.get("/auth/login")
    return client.post("/auth/login", data={"csrf_token": csrf_token(page.text),
                                            "username": username, "password": password})


def _code_step(client, code, path="/auth/two-factor"):
    page = client.get(path)
    return client.post(path, data={"csrf_token": csrf_token(page.text), "code": code})


def _secret_on(html: str) -> str:
    return re.search(r'data-secret="([A-Z2-7]+)"', html).group(1)


def _recovery_codes(html: str) -> list[str]:
    return re.findall(r"<li><code>([0-9a-f-]{19})</code></li>", html)


def _logout(client):
    client.post("/auth/logout", data={"csrf_token": csrf_token(client.get("/staff").text)})
    assert client.get("/staff").status_code == 302


def _audit(db, action=None) -> list[AuditLog]:
    db.session.expire_all()
    query = select(AuditLog).order_by(AuditLog.id)
    if action:
        query = query.filter_by(action=action)
    return list(db.session.scalars(query))


def _admin_form(client, path, **data):
    page = client.get(path)
    fields = hidden_fields(page.text)
    fields.update(data)
    return client.post(path, data=fields)


# --- own password -----------------------------------------------------------------------

def test_own_password_change(demo, client, login, db, app):
    login("sonduong")
    other = app.test_client()  # a session opened earlier with the old password
    from web_helpers import sign_in

    sign_in(other, "sonduong")
    page = client.get("/auth/password")
    assert page.status_code == 200 and "Mật khẩu hiện tại" in page.text
    assert 'href="/auth/password"' in client.get("/results/").text  # linked from staff pages
    before = _user(db, "sonduong").password_hash

    def change(current, new, confirm):
        return client.post("/auth/password", data={
            "csrf_token": csrf_token(client.get("/auth/password").text),
            "current": current, "new": new, "confirm": confirm})

    resp = change("not my password", NEW_PASSWORD, NEW_PASSWORD)
    assert resp.status_code == 400 and "Mật khẩu hiện tại không đúng" in resp.text
    assert change(PASSWORD, NEW_PASSWORD, NEW_PASSWORD + "x").status_code == 400
    resp = change(PASSWORD, "short", "short")
    assert resp.status_code == 400 and "ít nhất 10 ký tự" in resp.text
    assert _user(db, "sonduong").password_hash == before
    assert not _audit(db, "user.password_change")

    resp = change(PASSWORD, NEW_PASSWORD, NEW_PASSWORD)
    assert resp.status_code == 302
    assert client.get("/results/").status_code == 200  # this session goes on
    assert other.get("/results/").status_code == 302  # the other one ends
    _logout(client)
    assert _password_step(client, "sonduong", PASSWORD).status_code == 401
    login("sonduong", NEW_PASSWORD)
    assert [r.object_id for r in _audit(db, "user.password_change")] == ["sonduong"]


def test_auditor_changes_own_password_after_second_step(demo, client, login, db):
    login("mttq")
    resp = client.post("/auth/password", data={
        "csrf_token": csrf_token(client.get("/auth/password").text),
        "current": PASSWORD, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert resp.status_code == 302
    _logout(client)
    login("mttq", NEW_PASSWORD)
    assert client.get("/audit/").status_code == 200


# --- the second factor ------------------------------------------------------------------

def test_second_factor_is_required_and_nothing_is_reachable_before_it(demo, client, db):
    resp = _password_step(client, "mttq")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/auth/two-factor/setup")
    for path in ("/admin/", "/audit/", "/results/", "/staff", "/auth/password",
                 "/auth/two-factor"):
        resp = client.get(path)
        assert resp.status_code == 302, path
        assert "/auth/two-factor" not in path or resp.headers["Location"].endswith("/setup")
    page = client.get("/auth/two-factor/setup")
    assert page.status_code == 200 and 'src="data:image/png;base64,' in page.text
    assert page.headers["Cache-Control"] == "no-store"
    secret = _secret_on(page.text)
    assert _user(db, "mttq").totp_secret is None

    resp = _code_step(client, "000000", "/auth/two-factor/setup")
    if resp.status_code != 200:  # 000000 could be right once in a million
        assert resp.status_code == 401 and "Mã xác thực không đúng" in resp.text
        assert _user(db, "mttq").totp_secret is None
        assert client.get("/audit/").status_code == 302
        resp = _code_step(client, pyotp.TOTP(secret).at(twofactor.now()),
                          "/auth/two-factor/setup")
    assert resp.status_code == 200
    codes = _recovery_codes(resp.text)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert client.get("/audit/").status_code == 200
    user = _user(db, "mttq")
    assert user.totp_secret == secret
    stored = db.session.scalars(select(RecoveryCode.code_hash).filter_by(user_id=user.id))
    assert not {c.replace("-", "") for c in codes} & set(stored)  # hashes only

    # Enrolled: the password leads to the code page, and again to nothing else.
    _logout(client)
    resp = _password_step(client, "mttq")
    assert resp.headers["Location"].endswith("/auth/two-factor")
    assert client.get("/audit/").status_code == 302
    assert client.get("/auth/two-factor/setup").headers["Location"].endswith("/auth/two-factor")


def test_wrong_and_replayed_codes_are_refused(demo, client, login, db, clock):
    login("admin")  # enrols
    secret = _user(db, "admin").totp_secret
    _logout(client)

    clock.advance(twofactor.STEP)
    code = pyotp.TOTP(secret).at(clock())
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    _password_step(client, "admin")
    resp = _code_step(client, wrong)
    assert resp.status_code == 401 and "Mã xác thực không đúng" in resp.text
    assert client.get("/admin/").status_code == 302
    assert _code_step(client, code).status_code == 302
    assert client.get("/admin/").status_code == 200
    _logout(client)

    # The same code again, within its time step: refused, whoever sends it.
    _password_step(client, "admin")
    resp = _code_step(client, code)
    assert resp.status_code == 401 and "Mã này đã được dùng" in resp.text
    assert client.get("/admin/").status_code == 302
    # Nor is the previous step's code good any more (one step of drift is allowed).
    earlier = pyotp.TOTP(secret).at(clock() - twofactor.STEP)
    assert _code_step(client, earlier).status_code == 401
    clock.advance(twofactor.STEP)
    assert _code_step(client, pyotp.TOTP(secret).at(clock())).status_code == 302


def test_too_many_wrong_codes_end_the_half_finished_sign_in(demo, client, login, db):
    login("admin")
    _logout(client)
    _password_step(client, "admin")
    for _ in range(4):
        assert _code_step(client, "12345x").status_code == 401
    resp = _code_step(client, "12345x")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/auth/login")
    resp = client.get("/auth/two-factor")
    assert resp.headers["Location"].endswith("/auth/login")


def test_half_finished_sign_in_expires(demo, client, login, clock):
    login("admin")
    _logout(client)
    _password_step(client, "admin")
    clock.advance(11 * 60)
    assert client.get("/auth/two-factor").headers["Location"].endswith("/auth/login")


def test_recovery_code_works_once(demo, client, db):
    _password_step(client, "mttq")
    page = client.get("/auth/two-factor/setup")
    codes = _recovery_codes(_code_step(
        client, pyotp.TOTP(_secret_on(page.text)).at(twofactor.now()),
        "/auth/two-factor/setup").text)
    _logout(client)

    _password_step(client, "mttq")
    resp = _code_step(client, codes[3].upper())  # as typed from paper
    assert resp.status_code == 302
    assert "còn lại 9 mã" in client.get("/audit/").text
    _logout(client)
    _password_step(client, "mttq")
    resp = _code_step(client, codes[3])
    assert resp.status_code == 401 and "chỉ dùng được một lần" in resp.text
    assert client.get("/audit/").status_code == 302
    assert [r.after["codes_left"] for r in _audit(db, "user.recovery_code_used")] == [9]


def test_officer_signs_in_with_a_password_only(demo, client, login):
    resp = login("sonduong")
    assert resp.status_code == 302 and "/auth/" not in resp.headers["Location"]
    assert client.get("/results/").status_code == 200


# --- what an admin cannot do to an auditor ----------------------------------------------

def test_admin_cannot_set_an_auditors_password(demo, client, login, db):
    login("admin")
    listing = client.get("/admin/users").text
    assert "đã đăng ký" in listing and "chưa đăng ký" in listing  # admin yes, mttq not yet
    auditor = _user(db, "mttq")
    before = auditor.password_hash
    page = client.get(f"/admin/users/{auditor.id}/edit")
    assert page.status_code == 200
    assert 'name="password"' not in page.text
    assert "Cấp đường dẫn đặt lại" in page.text
    resp = _admin_form(client, f"/admin/users/{auditor.id}/edit", role="auditor",
                       full_name="Giám sát viên", agency_code="", active="y",
                       password="the admin knows this")
    assert resp.status_code == 400 and "chỉ do chính người giám sát đặt" in resp.text
    after = _user(db, "mttq")
    assert after.password_hash == before and after.full_name != "Giám sát viên"
    # Nor at creation.
    resp = _admin_form(client, "/admin/users/new", username="mttq2", role="auditor",
                       agency_code="", active="y", password="the admin knows this")
    assert resp.status_code == 400 and _user(db, "mttq2") is None


def test_officers_password_may_still_be_set_by_an_admin(demo, client, login, db):
    login("admin")
    officer = _user(db, "sonduong")
    resp = _admin_form(client, f"/admin/users/{officer.id}/edit", role="officer",
                       agency_code="X-SONDUONG", full_name="Cán bộ", active="y",
                       password=NEW_PASSWORD)
    assert resp.status_code == 302
    assert [r.object_id for r in _audit(db, "user.password_set")] == ["sonduong"]


def _link_from(html: str) -> str:
    url = re.search(r'<code class="one-time-link">([^<]+)</code>', html).group(1)
    return "/auth/link/" + url.rsplit("/auth/link/", 1)[1]


def _use_link(client, path, password=NEW_PASSWORD, confirm=None, code=None):
    page = client.get(path)
    assert page.status_code == 200, page.status_code
    data = {"csrf_token": csrf_token(page.text), "new": password,
            "confirm": password if confirm is None else confirm}
    if 'data-secret="' in page.text:
        secret = _secret_on(page.text)
        data["code"] = code if code is not None else pyotp.TOTP(secret).at(twofactor.now())
    else:
        secret = None
    return client.post(path, data=data), secret


def test_new_auditor_sets_own_credentials_by_a_one_time_link(demo, client, login, db, app):
    login("admin")
    resp = _admin_form(client, "/admin/users/new", username="giamsat2", role="auditor",
                       full_name="Giám sát viên mới", agency_code="", active="y")
    assert resp.status_code == 200
    path = _link_from(resp.text)
    token = path.rsplit("/", 1)[1]
    user = _user(db, "giamsat2")
    assert user.totp_secret is None
    assert not db.session.scalars(select(AccountLink.token_hash)).all().count(token)
    _logout(client)

    auditor = app.test_client()
    resp, secret = _use_link(auditor, path)
    assert resp.status_code == 200 and len(_recovery_codes(resp.text)) == 10
    assert auditor.get("/audit/").status_code == 200
    assert _user(db, "giamsat2").totp_secret == secret
    # The link is spent.
    assert auditor.get(path).status_code == 410
    assert "đã được dùng" in client.get(path).text


def test_reset_link_replaces_password_and_second_factor(demo, client, login, db, app, clock):
    auditor = app.test_client()
    from web_helpers import sign_in

    sign_in(auditor, "mttq")  # enrols the first factor
    old_secret = _user(db, "mttq").totp_secret
    old_codes = set(db.session.scalars(select(RecoveryCode.code_hash)))
    login("admin")
    user = _user(db, "mttq")
    resp = client.post(f"/admin/users/{user.id}/reset", data={
        "csrf_token": csrf_token(client.get(f"/admin/users/{user.id}/edit").text)})
    assert resp.status_code == 200
    path = _link_from(resp.text)
    assert "/auth/link/" in path
    # Issuing changes nothing yet: the auditor still signs in as before.
    assert auditor.get("/audit/").status_code == 200

    # Bad input changes nothing: two different passwords, a wrong code.
    fresh = app.test_client()
    resp, _ = _use_link(fresh, path, confirm=NEW_PASSWORD + "!")
    assert resp.status_code == 400 and "không khớp" in resp.text
    resp, _ = _use_link(fresh, path, code="000000")
    assert resp.status_code == 400
    assert _user(db, "mttq").totp_secret == old_secret

    resp, secret = _use_link(fresh, path)
    assert resp.status_code == 200
    assert secret != old_secret and _user(db, "mttq").totp_secret == secret
    assert not old_codes & set(db.session.scalars(select(RecoveryCode.code_hash)))
    assert auditor.get("/audit/").status_code == 302  # the old session has ended
    assert fresh.get(path).status_code == 410

    # The old password is refused; with the new one, the old factor's code is refused.
    other = app.test_client()
    assert _password_step(other, "mttq", PASSWORD).status_code == 401
    clock.advance(twofactor.STEP)
    assert _password_step(other, "mttq", NEW_PASSWORD).status_code == 302
    assert _code_step(other, pyotp.TOTP(old_secret).at(clock())).status_code == 401
    assert _code_step(other, pyotp.TOTP(secret).at(clock())).status_code == 302


def test_reset_link_expires_after_24_hours(demo, client, login, db, app, clock):
    login("admin")
    user = _user(db, "sonduong")
    token_page = client.post(f"/admin/users/{user.id}/reset", data={
        "csrf_token": csrf_token(client.get(f"/admin/users/{user.id}/edit").text)})
    path = _link_from(token_page.text)
    clock.advance(23 * 3600)
    assert app.test_client().get(path).status_code == 200
    clock.advance(3600)
    resp = app.test_client().get(path)
    assert resp.status_code == 410 and "hết hạn" in resp.text
    assert app.test_client().post(path, data={"new": NEW_PASSWORD}).status_code in (400, 410)
    assert _user(db, "sonduong").password_hash == user.password_hash
    assert app.test_client().get("/auth/link/not-a-token").status_code == 410


def test_a_new_link_voids_the_previous_one(demo, client, login, db, app):
    login("admin")
    user = _user(db, "sonduong")

    def issue():
        return _link_from(client.post(f"/admin/users/{user.id}/reset", data={
            "csrf_token": csrf_token(client.get(f"/admin/users/{user.id}/edit").text)}).text)

    first, second = issue(), issue()
    assert app.test_client().get(first).status_code == 410
    resp, _ = _use_link(app.test_client(), second)
    assert resp.status_code == 302  # an officer: a password only, then signed in


def test_disabled_auditor_cannot_sign_in_nor_use_a_link(demo, client, login, db, app):
    login("admin")
    user = _user(db, "mttq")
    path = _link_from(client.post(f"/admin/users/{user.id}/reset", data={
        "csrf_token": csrf_token(client.get(f"/admin/users/{user.id}/edit").text)}).text)
    resp = _admin_form(client, f"/admin/users/{user.id}/edit", role="auditor",
                       full_name=user.full_name, agency_code="")  # `active` unticked
    assert resp.status_code == 302
    assert _user(db, "mttq").active is False
    assert _password_step(app.test_client(), "mttq").status_code == 401
    assert app.test_client().get(path).status_code == 410
    assert [r.object_id for r in _audit(db, "user.disable")] == ["mttq"]


def test_officer_made_auditor_loses_the_password_the_admin_knew(demo, client, login, db):
    login("admin")
    user = _user(db, "sonduong")
    resp = _admin_form(client, f"/admin/users/{user.id}/edit", role="auditor",
                       full_name=user.full_name, agency_code="", active="y")
    assert resp.status_code == 200 and "/auth/link/" in resp.text
    assert _password_step(client.application.test_client(), "sonduong").status_code == 401
    assert [(r.before, r.after) for r in _audit(db, "user.role_change")] == [
        ({"role": "officer"}, {"role": "auditor"})]


# --- command line -----------------------------------------------------------------------

def test_cli_create_auditor_prints_a_link_and_asks_no_password(runner, db, app):
    result = runner.invoke(args=["create-user", "giamsat", "--role", "auditor"])
    assert result.exit_code == 0, result.output
    path = re.search(r"http://localhost(/auth/link/\S+)", result.output).group(1)
    assert "Mật khẩu" not in result.output.split("\n")[0]
    resp, secret = _use_link(app.test_client(), path)
    assert resp.status_code == 200 and secret

    result = runner.invoke(args=["create-user", "giamsat3", "--role", "auditor",
                                 "--password-stdin"], input="a-long-password\n")
    assert result.exit_code == 1 and "chỉ do chính người giám sát đặt" in result.output
    assert _user(db, "giamsat3") is None


def test_cli_reset_user(runner, demo, db, app):
    result = runner.invoke(args=["reset-user", "mttq"])
    assert result.exit_code == 0, result.output
    assert "xác thực hai bước" in result.output
    path = re.search(r"http://localhost(/auth/link/\S+)", result.output).group(1)
    assert app.test_client().get(path).status_code == 200
    result = runner.invoke(args=["reset-user", "nobody"])
    assert result.exit_code == 1 and "Không có tài khoản 'nobody'" in result.output
    assert [r.actor.startswith("cli") for r in _audit(db, "user.reset_issue")] == [True]


# --- the audit log ----------------------------------------------------------------------

def test_account_events_are_logged_without_secrets(demo, client, login, db, app):
    login("admin")
    resp = _admin_form(client, "/admin/users/new", username="giamsat2", role="auditor",
                       agency_code="", active="y")
    path = _link_from(resp.text)
    resp, secret = _use_link(app.test_client(), path)
    codes = _recovery_codes(resp.text)
    user = _user(db, "giamsat2")
    reset = _link_from(client.post(f"/admin/users/{user.id}/reset", data={
        "csrf_token": csrf_token(client.get(f"/admin/users/{user.id}/edit").text)}).text)
    resp, secret2 = _use_link(app.test_client(), reset)
    codes += _recovery_codes(resp.text)
    _admin_form(client, f"/admin/users/{user.id}/edit", role="auditor", agency_code="",
                full_name="")
    client.post("/auth/password", data={
        "csrf_token": csrf_token(client.get("/auth/password").text),
        "current": PASSWORD, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD})

    rows = _audit(db)
    actions = [(r.action, r.object_id, r.actor) for r in rows if r.object_type == "user"]
    for event in [("user.create", "giamsat2", "admin"), ("user.link_issue", "giamsat2", "admin"),
                  ("user.link_use", "giamsat2", "giamsat2"),
                  ("user.2fa_enrol", "giamsat2", "giamsat2"),
                  ("user.reset_issue", "giamsat2", "admin"),
                  ("user.reset_use", "giamsat2", "giamsat2"),
                  ("user.disable", "giamsat2", "admin"),
                  ("user.password_change", "admin", "admin"),
                  ("user.2fa_enrol", "admin", "admin")]:
        assert event in actions, event
    text = json.dumps([[r.before, r.after, r.object_id, r.action] for r in rows],
                      ensure_ascii=False, default=str)
    users = db.session.scalars(select(User)).all()
    secrets = [secret, secret2, path.rsplit("/", 1)[1], reset.rsplit("/", 1)[1], PASSWORD,
               NEW_PASSWORD, *codes, *(c.replace("-", "") for c in codes)]
    secrets += [u.password_hash for u in users] + [u.totp_secret for u in users if u.totp_secret]
    secrets += db.session.scalars(select(AccountLink.token_hash)).all()
    secrets += db.session.scalars(select(RecoveryCode.code_hash)).all()
    for value in secrets:
        assert value not in text


@pytest.mark.parametrize("field, value, message", [
    ("new", "short", "ít nhất 10 ký tự"),
    ("confirm", "something else!", "không khớp"),
])
def test_link_refuses_bad_passwords_and_stays_usable(demo, runner, app, db, field, value,
                                                    message):
    result = runner.invoke(args=["reset-user", "sonduong"])
    path = re.search(r"http://localhost(/auth/link/\S+)", result.output).group(1)
    browser = app.test_client()
    before = _user(db, "sonduong").password_hash
    page = browser.get(path)
    data = {"csrf_token": csrf_token(page.text), "new": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    data.update({"new": value, "confirm": value} if field == "new" else {field: value})
    resp = browser.post(path, data=data)
    assert resp.status_code == 400 and message in resp.text
    assert _user(db, "sonduong").password_hash == before
    assert browser.get(path).status_code == 200
