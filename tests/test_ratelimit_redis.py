"""Rate limits with the shared Redis storage that a multi-worker deployment uses."""

import pytest
from web_helpers import PASSWORD, csrf_token, redis_up

REDIS_URL = "redis://127.0.0.1:6379"

pytestmark = pytest.mark.skipif(not redis_up(), reason="no Redis at 127.0.0.1:6379")


@pytest.mark.parametrize("app", [{"RATELIMIT_STORAGE_URI": REDIS_URL,
                                  "LOGIN_RATE_LIMIT": "3 per minute"}], indirect=True)
def test_failed_logins_counted_in_redis_across_clients(app, demo):
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    statuses = []
    for _ in range(4):
        client = app.test_client()  # separate browsers, one address: one shared counter
        page = client.get("/auth/login")
        statuses.append(client.post("/auth/login", data={
            "csrf_token": csrf_token(page.text), "username": "admin",
            "password": "not " + PASSWORD}).status_code)
    assert statuses == [401, 401, 401, 429]
    assert any(k.startswith(b"LIMITS") for k in redis.Redis.from_url(REDIS_URL).keys())
