"""Login, logout, throttling, session rotation, CSRF and security headers."""

from web_helpers import PASSWORD, csrf_token
from werkzeug.security import check_password_hash


def _post_login(client, username, password):
    """A password step meant to be refused (signing in goes through the `login` fixture)."""
    page = client.get("/auth/login")
    return client.post("/auth/login", data={"csrf_token": csrf_token(page.text),
                                            "username": username, "password": password})


def test_login_success_and_logout(demo, client, login):
    login("admin")
    assert client.get("/admin/").status_code == 200
    token = csrf_token(client.get("/admin/").text)
    assert client.post("/auth/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/admin/").status_code == 302


def test_wrong_password_is_refused_in_vietnamese(demo, client):
    resp = _post_login(client, "admin", "wrong password!")
    assert resp.status_code == 401
    assert "Sai tên đăng nhập hoặc mật khẩu" in resp.text
    assert client.get("/admin/").status_code == 302


def test_unknown_user_and_inactive_user_refused(demo, client, db):
    from survey_app.models import User

    assert _post_login(client, "nobody", PASSWORD).status_code == 401
    user = db.session.query(User).filter_by(username="mttq").one()
    user.active = False
    db.session.commit()
    assert _post_login(client, "mttq", PASSWORD).status_code == 401


def test_failed_logins_are_throttled(demo, client):
    for _ in range(10):
        assert _post_login(client, "admin", "wrong-password").status_code == 401
    resp = _post_login(client, "admin", PASSWORD)
    assert resp.status_code == 429
    assert "Quá nhiều yêu cầu" in resp.text


def test_successful_logins_are_not_throttled(demo, client, login):
    for _ in range(12):
        login("admin")
        login("sonduong")


def test_session_is_rotated_at_login(demo, client, login):
    client.get("/auth/login")
    before = client.get_cookie("session")
    login("admin")
    after = client.get_cookie("session")
    assert before is not None and after is not None
    assert before.value != after.value
    assert after.http_only


def test_post_without_csrf_token_is_refused(demo, client):
    resp = client.post("/auth/login", data={"username": "admin", "password": PASSWORD})
    assert resp.status_code == 400
    assert client.get("/admin/").status_code == 302


def test_passwords_are_hashed_with_scrypt(demo, db):
    from survey_app.models import User

    user = db.session.query(User).filter_by(username="admin").one()
    assert user.password_hash.startswith("scrypt:")
    assert PASSWORD not in user.password_hash
    assert check_password_hash(user.password_hash, PASSWORD)


def test_security_headers(client):
    resp = client.get("/auth/login")
    h = resp.headers
    assert "frame-ancestors 'none'" in h["Content-Security-Policy"]
    assert h["X-Content-Type-Options"] == "nosniff"
    assert h["Referrer-Policy"] == "no-referrer"
    assert h["X-Frame-Options"] == "DENY"


def test_open_redirect_after_login_is_ignored(demo, client, login):
    resp = login("sonduong", next="//evil.example/")
    assert "evil" not in resp.headers["Location"]
    login("admin")  # enrols: the recovery codes page goes on to the home page, not elsewhere
    resp = login("admin", next="//evil.example/")
    assert resp.status_code == 302 and "evil" not in resp.headers["Location"]


def test_next_page_is_kept_through_the_second_step(demo, client, login):
    login("admin")
    resp = login("admin", next="/admin/campaigns")
    assert resp.headers["Location"].endswith("/admin/campaigns")


def test_language_switch(client):
    assert "Đăng nhập cán bộ" in client.get("/auth/login").text
    resp = client.get("/lang/en?next=/auth/login")
    assert resp.status_code == 302
    page = client.get(resp.headers["Location"])
    assert 'lang="en"' in page.text
