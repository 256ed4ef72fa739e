"""What an operator watches: /healthz, the Prometheus metrics (and who may read them), the
JSON logs with the request's id — and that no link's token ever reaches a log."""

import io
import json
import logging
import os
import re
import socket
import subprocess
import sys

import pytest
from prometheus_client.parser import text_string_to_metric_families
from test_idempotent_submit import BOTH_PATHS
from web_helpers import answer_form, full_answers, hidden_fields, redis_up, signed_in

from survey_app import create_app
from survey_app.observability import JsonHandler

REDIS_URL = "redis://127.0.0.1:6379/5"  # a PING only: nothing is written


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _scrape(client) -> dict:
    """The metrics as a Prometheus server reads them: {(sample, labels): value}."""
    resp = client.get("/metrics")
    assert resp.status_code == 200
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(resp.text) for s in family.samples}


def _delta(before: dict, after: dict, name: str, **labels) -> float:
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0.0) - before.get(key, 0.0)


@pytest.fixture
def single_use(demo):
    """single_use() issues a numbered paper form: (serial, the token of its link)."""
    from survey_app.extensions import db as _db
    from survey_app.services import issuance

    def _make():
        with demo.app_context():
            campaign, agency, _ = issuance.get_scope("demo", "X-SONDUONG")
            _, [(serial, url)] = issuance.issue_batch(campaign, agency, 1, "Người phát thử")
            _db.session.commit()
        return serial, url.rsplit("/f/", 1)[1]

    return _make


@pytest.fixture
def json_log():
    """The JSON log's lines of the app made in the test (LOG_FORMAT = "json")."""
    stream = io.StringIO()

    def lines() -> list[dict]:
        for handler in logging.getLogger().handlers:
            if isinstance(handler, JsonHandler):
                handler.setStream(stream)
        return [json.loads(line) for line in stream.getvalue().splitlines()]

    yield lines
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, JsonHandler)]:
        root.removeHandler(handler)
    root.setLevel(logging.WARNING)
    logging.getLogger("survey_app.request").setLevel(logging.NOTSET)


# -- /healthz -----------------------------------------------------------------------------

def test_health_ok_without_redis(client):
    resp = client.get("/healthz")
    assert resp.status_code == 200
    assert resp.json == {"status": "ok", "database": "ok", "redis": "not used"}
    assert resp.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in resp.headers


@pytest.mark.skipif(not redis_up(), reason="no Redis at 127.0.0.1:6379")
@pytest.mark.parametrize("app", [{"RATELIMIT_STORAGE_URI": REDIS_URL}], indirect=True)
def test_health_ok_with_redis(client):
    resp = client.get("/healthz")
    assert resp.status_code == 200
    assert resp.json == {"status": "ok", "database": "ok", "redis": "ok"}


def test_health_503_when_redis_is_unreachable(tmp_path):
    app = create_app({"TESTING": True, "SECRET_KEY": "t",
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'h.sqlite'}",
                      "RATELIMIT_STORAGE_URI": f"redis://:s3cret@127.0.0.1:{_closed_port()}/5"})
    resp = app.test_client().get("/healthz")
    assert resp.status_code == 503
    assert resp.json["status"] == "error" and resp.json["database"] == "ok"
    assert resp.json["redis"].startswith("error: ")
    assert "s3cret" not in resp.text


@pytest.mark.parametrize("url", [
    "sqlite:////nonexistent-folder/survey.sqlite",
    f"postgresql://postgres:s3cret@127.0.0.1:{_closed_port()}/observe",
], ids=["sqlite-no-folder", "postgresql-closed-port"])
def test_health_503_when_the_database_is_unreachable(url):
    app = create_app({"TESTING": True, "SECRET_KEY": "t", "SQLALCHEMY_DATABASE_URI": url})
    resp = app.test_client().get("/healthz")
    assert resp.status_code == 503
    assert resp.json == {"status": "error", "database": "error: OperationalError",
                         "redis": "not used"}
    assert "s3cret" not in resp.text and "nonexistent" not in resp.text


# -- /metrics: who may read them -------------------------------------------------------

def test_metrics_only_from_allowed_addresses(client):
    refused = client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert refused.status_code == 404
    assert "survey_" not in refused.text
    for address in ("127.0.0.1", "::1"):
        served = client.get("/metrics", environ_base={"REMOTE_ADDR": address})
        assert served.status_code == 200
        assert served.headers["Content-Type"].startswith("text/plain")
        assert "# TYPE survey_submissions_total counter" in served.text


@pytest.mark.parametrize("app", [{"PROXY_COUNT": 1, "METRICS_ALLOWED": ["10.0.0.0/8"]}],
                         indirect=True)
def test_metrics_address_is_the_one_behind_the_proxy(client):
    """Behind nginx every connection comes from 127.0.0.1: the address checked is the one
    nginx forwards."""
    def get(forwarded):
        return client.get("/metrics", headers={"X-Forwarded-For": forwarded},
                          environ_base={"REMOTE_ADDR": "127.0.0.1"}).status_code

    assert get("203.0.113.9") == 404
    assert get("10.1.2.3") == 200


# -- the counters, moved by each channel ------------------------------------------------

@BOTH_PATHS
def test_open_link_submission_and_its_repeat_are_counted(app, scope_path, client):
    before = _scrape(client)
    browser = app.test_client()
    page = browser.get(scope_path)
    body = {**hidden_fields(page.text), **full_answers()}
    assert browser.post(scope_path, data=body).status_code == 303
    middle = _scrape(client)
    assert _delta(before, middle, "survey_submissions_total", channel="open") == 1
    assert _delta(before, middle, "survey_submission_repeats_total", channel="open") == 0
    assert _delta(before, middle, "survey_http_request_duration_seconds_count",
                  route="citizen_page", status="2xx") == 1
    assert _delta(before, middle, "survey_http_request_duration_seconds_count",
                  route="citizen_submit", status="3xx") == 1
    # The phone sends it again (no answer came back): the same receipt, counted a repeat.
    assert browser.post(scope_path, data=body).status_code == 303
    after = _scrape(client)
    assert _delta(middle, after, "survey_submissions_total", channel="open") == 0
    assert _delta(middle, after, "survey_submission_repeats_total", channel="open") == 1


@BOTH_PATHS
def test_a_refusal_is_counted_once_by_reason(app, scope_path, single_use, client):
    before = _scrape(client)
    answers = full_answers()
    del answers["CC2"]  # a required answer missing
    assert answer_form(app.test_client(), scope_path, answers).status_code == 400
    after = _scrape(client)
    assert _delta(before, after, "survey_submission_refusals_total", channel="open",
                  reason="invalid_answers") == 1
    assert _delta(before, after, "survey_submissions_total", channel="open") == 0

    _serial, token = single_use()
    path = f"/f/{token}"
    assert answer_form(app.test_client(), path).status_code == 303
    page = app.test_client().get(path)  # another browser, the link used meanwhile
    assert page.status_code == 409
    late = app.test_client().post(path, data=full_answers())
    assert late.status_code == 409
    last = _scrape(client)
    assert _delta(after, last, "survey_submissions_total", channel="single_use") == 1
    # Showing the used link's page refuses nothing; posting to it is the refusal.
    assert _delta(after, last, "survey_submission_refusals_total", channel="single_use",
                  reason="form_already_used") == 1


def test_api_submissions_and_refusals_are_counted(demo, db, client):
    from survey_app.services import api_keys

    _row, key = api_keys.create_key("Ki-ốt", None)
    db.session.commit()
    headers = {"Authorization": f"Bearer {key}"}
    answers = {code: int(v) for code, v in full_answers().items()}
    before = _scrape(client)
    ok = client.post("/api/v1/responses", headers=headers, json={
        "campaign": "demo", "agency": "X-SONDUONG", "answers": answers})
    assert ok.status_code == 201
    bad = client.post("/api/v1/responses", headers=headers, json={
        "campaign": "demo", "agency": "X-SONDUONG", "answers": {**answers, "TC1": 9}})
    assert bad.status_code == 422
    after = _scrape(client)
    assert _delta(before, after, "survey_submissions_total", channel="api") == 1
    assert _delta(before, after, "survey_submission_refusals_total", channel="api",
                  reason="invalid_answers") == 1
    assert _delta(before, after, "survey_http_request_duration_seconds_count",
                  route="api", status="2xx") == 1
    assert _delta(before, after, "survey_http_request_duration_seconds_count",
                  route="api", status="4xx") == 1


def test_paper_entry_is_counted(demo, single_use, client):
    from web_helpers import csrf_token

    serial, _token = single_use()
    clerk = signed_in(demo, "nhaplieu")
    before = _scrape(client)
    page = clerk.get(f"/entry/form/{serial}")
    resp = clerk.post(f"/entry/form/{serial}",
                      data={"csrf_token": csrf_token(page.text), **full_answers()})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/entry/")
    after = _scrape(client)
    assert _delta(before, after, "survey_submissions_total", channel="paper") == 1
    assert _delta(before, after, "survey_submissions_total", channel="single_use") == 0
    assert _delta(before, after, "survey_http_request_duration_seconds_count",
                  route="staff", status="3xx") == 1


def test_multiprocess_mode_adds_up_the_workers(tmp_path):
    """Under gunicorn, with PROMETHEUS_MULTIPROC_DIR: each worker's counts in files, a
    scrape of any worker adds them up; the master's hooks clear and mark dead workers."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prom"),
           "PYTHONPATH": os.pathsep.join(sys.path)}

    def run(code: str) -> str:
        return subprocess.run([sys.executable, "-c", code], env=env, check=True,
                              capture_output=True, text=True).stdout

    run("from survey_app import metrics; metrics.on_starting(None)")
    for _worker in range(2):
        run("from survey_app import metrics; metrics.submitted('kiosk', False)")
    out = run("from types import SimpleNamespace\n"
              "from survey_app import metrics\n"
              "metrics.child_exit(None, SimpleNamespace(pid=1))\n"
              "print(metrics.exposition()[0].decode())")
    assert 'survey_submissions_total{channel="kiosk"} 2.0' in out
    run("from survey_app import metrics; metrics.on_starting(None)")  # a new run
    out = run("from survey_app import metrics; print(metrics.exposition()[0].decode())")
    assert 'channel="kiosk"' not in out


# -- logs -------------------------------------------------------------------------------

@pytest.mark.parametrize("app", [{"LOG_FORMAT": "json", "ACCESS_LOG": True}], indirect=True)
def test_json_log_lines_carry_the_request_id(app, json_log):
    def boom():
        raise RuntimeError("broken on purpose")

    app.add_url_rule("/boom", "boom", boom)
    json_log()  # the handler now writes where the test reads
    client = app.test_client()
    resp = client.get("/healthz", headers={"X-Request-ID": "lb-42.a_b"})
    assert resp.headers["X-Request-ID"] == "lb-42.a_b"
    # An id that is not sane (too long, other characters) is replaced by a new one.
    for bad in ("x" * 65, "a b", "<script>"):
        other = client.get("/healthz", headers={"X-Request-ID": bad}).headers["X-Request-ID"]
        assert other != bad and len(other) == 16
    failed = client.get("/boom", headers={"X-Request-ID": "req-500"})
    assert failed.status_code == 500 and failed.headers["X-Request-ID"] == "req-500"

    lines = json_log()
    access = next(line for line in lines if line.get("request_id") == "lb-42.a_b")
    assert access["logger"] == "survey_app.request" and access["level"] == "INFO"
    assert (access["method"], access["path"], access["status"]) == ("GET", "/healthz", 200)
    assert access["duration_ms"] >= 0 and access["time"].endswith("Z")
    # The error's traceback and the 500's own line both carry the request's id.
    errors = [line for line in lines if line.get("request_id") == "req-500"]
    assert any("broken on purpose" in line.get("exception", "") for line in errors)
    assert any(line.get("status") == 500 and line["level"] == "ERROR" for line in errors)
    assert all(line["path"] == "/boom" for line in errors)


@pytest.mark.parametrize("app", [{"LOG_FORMAT": "json", "ACCESS_LOG": True}], indirect=True)
def test_no_token_in_the_log(app, single_use, json_log):
    json_log()
    _serial, token = single_use()
    browser = app.test_client()
    resp = answer_form(browser, f"/f/{token}")
    assert resp.status_code == 303
    browser.get(resp.headers["Location"])  # the thank-you page, its receipt in the path
    receipt = resp.headers["Location"].rsplit("/", 1)[1]
    app.test_client().post(f"/f/{token}", data=full_answers())  # refused: used

    lines = json_log()
    paths = [line["path"] for line in lines if "path" in line]
    assert paths.count("/f/…") == 3 and "/cam-on/…" in paths
    text = "\n".join(json.dumps(line, ensure_ascii=False) for line in lines)
    assert token not in text and receipt not in text


@pytest.mark.parametrize("app", [{"LOG_FORMAT": "json", "ACCESS_LOG": True}], indirect=True)
def test_kiosk_counted_as_kiosk_and_its_enrolment_token_never_logged(app, demo, runner,
                                                                     client, json_log):
    json_log()
    added = runner.invoke(args=["kiosk-add", "--agency", "X-SONDUONG", "Quầy 1"])
    enrol = re.search(r"http://localhost(/kiosk/dang-ky/[A-Za-z0-9_-]+)", added.output).group(1)
    tablet = app.test_client()
    assert tablet.post(enrol).status_code == 303
    before = _scrape(client)
    page = tablet.get("/kiosk")
    body = {**hidden_fields(page.text), **full_answers()}
    first, again = tablet.post("/kiosk", data=body), tablet.post("/kiosk", data=body)
    assert first.status_code == again.status_code == 303
    assert tablet.get(first.headers["Location"]).status_code == 200
    after = _scrape(client)
    assert _delta(before, after, "survey_submissions_total", channel="kiosk") == 1
    assert _delta(before, after, "survey_submission_repeats_total", channel="kiosk") == 1
    assert _delta(before, after, "survey_submissions_total", channel="open") == 0
    assert _delta(before, after, "survey_http_request_duration_seconds_count",
                  route="citizen_submit", status="3xx") == 2

    lines = json_log()
    paths = [line["path"] for line in lines if "path" in line]
    assert "/kiosk/dang-ky/…" in paths and "/kiosk/cam-on/…" in paths
    text = "\n".join(json.dumps(line, ensure_ascii=False) for line in lines)
    assert enrol.rsplit("/", 1)[1] not in text
    assert first.headers["Location"].rsplit("/", 1)[1] not in text
