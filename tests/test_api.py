"""The JSON API through the HTTP client: keys, invitations, kiosk responses, status."""

import base64
import shutil
import subprocess

import pytest
from sqlalchemy import func, select
from web_helpers import answer_form, full_answers

from survey_app.models import ApiKey, IssuedForm, Response


@pytest.fixture
def key(demo, db):
    from survey_app.services import api_keys

    def _make(agency=None):
        row, plain = api_keys.create_key("Hệ thống một cửa", agency)
        db.session.commit()
        return plain

    return _make


def _auth(k):
    return {"Authorization": f"Bearer {k}"}


def _answers(**extra):
    data = {code: int(v) for code, v in full_answers().items()}
    data.update(extra)
    return data


def test_openapi_document_is_public(client, demo):
    doc = client.get("/api/v1/openapi.json").json
    assert doc["openapi"].startswith("3.")
    assert {"/invitations", "/responses", "/campaigns/{code}"} <= set(doc["paths"])


@pytest.mark.parametrize("headers", [
    {}, {"Authorization": "Bearer nope"}, {"Authorization": "Bearer sk_abcdefgh_" + "x" * 43},
    {"X-API-Key": "sk_abcdefgh_" + "y" * 43},
])
def test_missing_or_bad_key(client, demo, headers):
    resp = client.post("/api/v1/responses", json={}, headers=headers)
    assert resp.status_code == 401
    assert resp.json["error"]["code"] == "unauthorized"


def test_keys_are_hashed_and_revocable(client, key, db):
    k = key()
    row = db.session.scalars(select(ApiKey)).one()
    assert k not in row.key_hash and row.key_hash != k and len(row.key_hash) == 64
    assert client.get("/api/v1/campaigns/demo", headers=_auth(k)).status_code == 200
    from survey_app.services import api_keys

    api_keys.revoke(row.prefix)
    db.session.commit()
    resp = client.get("/api/v1/campaigns/demo", headers=_auth(k))
    assert resp.status_code == 401


def test_kiosk_submits_a_response(client, key, db):
    resp = client.post("/api/v1/responses", headers=_auth(key()), json={
        "campaign": "demo", "agency": "X-SONDUONG", "answers": _answers(KENH_TT=["2"]),
        "started_at": "2000-01-01T00:00:00Z"})
    assert resp.status_code == 201, resp.json
    stored = db.session.scalars(select(Response)).one()
    assert stored.channel == "api" and stored.receipt_code == resp.json["receipt_code"]
    assert stored.opened_at is None  # an implausible start time is not recorded
    status = client.get("/api/v1/campaigns/demo", headers=_auth(key())).json
    row = next(a for a in status["agencies"] if a["code"] == "X-SONDUONG")
    assert row["by_channel"]["api"] == 1 and status["responses"] == 1


@pytest.mark.parametrize("body, status, code", [
    ({"campaign": "demo", "agency": "X-SONDUONG", "answers": {"TC1": 9}}, 422, "validation_failed"),
    ({"campaign": "demo", "agency": "X-SONDUONG", "answers": {"NOPE": 1}}, 422, "validation_failed"),
    ({"campaign": "demo", "agency": "X-SONDUONG", "answers": "x"}, 422, "validation_failed"),
    ({"campaign": "nope", "agency": "X-SONDUONG", "answers": {}}, 404, "unknown_campaign"),
    ({"campaign": "demo", "agency": "NOPE", "answers": {}}, 404, "unknown_agency"),
    ({"campaign": "demo", "agency": "TQ", "answers": {}}, 422, "agency_not_in_scope"),
    ({"campaign": 1, "agency": "X-SONDUONG"}, 400, "validation_failed"),
    ([1, 2], 400, "invalid_json"),
])
def test_bad_submissions(client, key, db, body, status, code):
    resp = client.post("/api/v1/responses", headers=_auth(key()), json=body)
    assert resp.status_code == status, resp.json
    assert resp.json["error"]["code"] == code and resp.json["error"]["message"]
    assert db.session.scalar(select(func.count(Response.id))) == 0


def test_missing_required_lists_each_item(client, key):
    answers = _answers()
    del answers["CC2"]
    resp = client.post("/api/v1/responses", headers=_auth(key()),
                       json={"campaign": "demo", "agency": "X-SONDUONG", "answers": answers})
    assert resp.status_code == 422
    assert list(resp.json["error"]["details"]) == ["CC2"]


def test_invalid_json_and_utf8_and_size(client, key, db):
    headers = {**_auth(key()), "Content-Type": "application/json"}
    assert client.post("/api/v1/responses", data=b"{bad", headers=headers).json["error"][
        "code"] == "invalid_json"
    resp = client.post("/api/v1/responses", data=b'{"campaign": "\xff\xfe"}', headers=headers)
    assert resp.status_code == 400 and resp.json["error"]["code"] == "invalid_json"
    resp = client.post("/api/v1/responses", data=b"[" + b"1," * 200_000 + b"1]",
                       headers=headers)
    assert resp.status_code == 413 and resp.json["error"]["code"] == "http_413"
    assert db.session.scalar(select(func.count(Response.id))) == 0


def test_agency_key_is_limited_to_its_subtree(client, key):
    k = key("X-SONDUONG")
    ok = client.post("/api/v1/responses", headers=_auth(k), json={
        "campaign": "demo", "agency": "X-SONDUONG-1C", "answers": _answers()})
    assert ok.status_code == 201
    other = client.post("/api/v1/responses", headers=_auth(k), json={
        "campaign": "demo", "agency": "X-HAMYEN", "answers": _answers()})
    assert other.status_code == 403 and other.json["error"]["code"] == "forbidden"
    status = client.get("/api/v1/campaigns/demo", headers=_auth(k)).json
    assert {a["code"] for a in status["agencies"]} == {"X-SONDUONG", "X-SONDUONG-1C"}


def test_invitation_link_and_qr_work_once(client, key, db, app):
    resp = client.post("/api/v1/invitations", headers=_auth(key()), json={
        "campaign": "demo", "agency": "X-SONDUONG", "procedure_code": "1.001234"})
    assert resp.status_code == 201, resp.json
    body = resp.json
    form = db.session.scalars(select(IssuedForm)).one()
    assert form.kind == "invitation" and form.procedure_code == "1.001234"
    token = body["url"].rsplit("/", 1)[1]
    assert len(token) >= 22 and token not in form.token_hash
    png = base64.b64decode(body["qr_png_base64"])
    assert png.startswith(b"\x89PNG") and body["qr_svg"].lstrip().startswith("<?xml")
    if shutil.which("zbarimg"):
        out = subprocess.run(["zbarimg", "--raw", "-q", "-"], input=png,
                             capture_output=True, check=True).stdout.decode().strip()
        assert out == body["url"]
    path = "/f/" + token
    assert answer_form(client, path).status_code == 303
    assert client.get(path).status_code == 409
    assert db.session.scalars(select(Response)).one().form_id == form.id


def test_invitation_bad_input(client, key, db):
    k = key()
    resp = client.post("/api/v1/invitations", headers=_auth(k), json={
        "campaign": "demo", "agency": "X-SONDUONG", "expires_in_days": 0})
    assert resp.status_code == 400
    assert db.session.scalar(select(func.count(IssuedForm.id))) == 0


def test_unknown_campaign_status(client, key):
    resp = client.get("/api/v1/campaigns/none", headers=_auth(key()))
    assert resp.status_code == 404 and resp.json["error"]["code"] == "unknown_campaign"


def test_unknown_api_path_is_json(client, key):
    resp = client.get("/api/v1/nothing", headers=_auth(key()))
    assert resp.status_code == 404 and resp.json["error"]["code"] == "http_404"


def test_api_key_commands(runner, demo, db, client):
    result = runner.invoke(args=["create-api-key", "Kiosk Sơn Dương", "--agency", "X-SONDUONG"])
    assert result.exit_code == 0, result.output
    key = result.output.strip().splitlines()[-1]
    assert key.startswith("sk_")
    assert client.get("/api/v1/campaigns/demo", headers=_auth(key)).status_code == 200
    listing = runner.invoke(args=["list-api-keys"]).output
    assert "Kiosk Sơn Dương" in listing and key not in listing
    prefix = key.split("_")[1]
    assert runner.invoke(args=["revoke-api-key", prefix]).exit_code == 0
    assert client.get("/api/v1/campaigns/demo", headers=_auth(key)).status_code == 401
    again = runner.invoke(args=["revoke-api-key", prefix])
    assert again.exit_code == 1 and "đã bị thu hồi" in again.output
    bad = runner.invoke(args=["create-api-key", "x", "--agency", "NOPE"])
    assert bad.exit_code == 1 and "Không có cơ quan" in bad.output
