"""JSON API for the one-stop case system and kiosk tablets (`/api/v1/`).

Every call but the OpenAPI document needs an API key (`Authorization: Bearer sk_…`).
Errors are `{"error": {"code": <stable code>, "message": <Vietnamese text>}}`.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

from flask import Blueprint, current_app, g, jsonify, request
from sqlalchemy import func, select
from werkzeug.exceptions import HTTPException

from .. import intake
from ..extensions import csrf, db, limiter
from ..models import CHANNELS, Agency, Campaign, CampaignAgency, IssuedForm, Response, utcnow
from ..printing import qr_png, qr_svg
from ..services import ServiceError, agencies, api_keys, issuance
from .openapi import spec as openapi_spec

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


class ApiError(HTTPException):
    def __init__(self, status: int, code: str, message: str, details=None):
        super().__init__(description=message)
        self.code = status
        self.api_code = code
        self.api_message = message
        self.details = details


def _error(status: int, code: str, message: str, details=None):
    body = {"error": {"code": code, "message": message}}
    if details:
        body["error"]["details"] = details
    return jsonify(body), status


@bp.errorhandler(ApiError)
def _api_error(exc: ApiError):
    return _error(exc.code, exc.api_code, exc.api_message, exc.details)


def _key_id() -> str:
    return getattr(g, "api_key_prefix", None) or request.remote_addr or "-"


def _api_limit():
    return current_app.config["API_RATE_LIMIT"]


@bp.before_request
def _authenticate():
    if request.endpoint == "api.openapi":
        return None
    header = request.headers.get("Authorization", "")
    key = header[7:].strip() if header.lower().startswith("bearer ") else \
        request.headers.get("X-API-Key")
    row = api_keys.authenticate(key)
    if row is None:
        return _error(401, "unauthorized", "Thiếu khóa API hoặc khóa không hợp lệ/đã thu hồi.")
    row.last_used_at = utcnow()
    g.api_key = row
    g.api_key_prefix = row.prefix
    return None


def _json_body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_json", "Nội dung yêu cầu phải là một đối tượng JSON (UTF-8).")
    return body


def _scope(body: dict) -> tuple[Campaign, Agency]:
    campaign_code, agency_code = body.get("campaign"), body.get("agency")
    if not isinstance(campaign_code, str) or not isinstance(agency_code, str):
        raise ApiError(400, "validation_failed", "Cần 'campaign' và 'agency' (chuỗi ký tự).")
    campaign = db.session.scalar(select(Campaign).filter_by(code=campaign_code))
    if campaign is None:
        raise ApiError(404, "unknown_campaign", f"Không có đợt khảo sát '{campaign_code}'.")
    agency = db.session.scalar(select(Agency).filter_by(code=agency_code))
    if agency is None:
        raise ApiError(404, "unknown_agency", f"Không có cơ quan '{agency_code}'.")
    if db.session.scalar(select(CampaignAgency.id).filter_by(
            campaign_id=campaign.id, agency_id=agency.id)) is None:
        raise ApiError(422, "agency_not_in_scope",
                       f"Cơ quan '{agency_code}' không thuộc đợt '{campaign_code}'.")
    _check_key_agency(agency)
    return campaign, agency


def _check_key_agency(agency: Agency) -> None:
    """A key issued to one agency acts only for that agency and its subtree."""
    key = g.api_key
    if key.agency_id is not None and agency.id not in agencies.subtree_ids(key.agency):
        raise ApiError(403, "forbidden", "Khóa API này không được dùng cho cơ quan đó.")


@bp.get("/openapi.json")
def openapi():
    return jsonify(openapi_spec(request.url_root.rstrip("/") + "/api/v1"))


@bp.post("/invitations")
@limiter.limit(_api_limit, key_func=_key_id)
def create_invitation():
    """A single-use link (and its QR code) for a citizen who just received a result."""
    body = _json_body()
    campaign, agency = _scope(body)
    days = body.get("expires_in_days", 14)
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 90:
        raise ApiError(400, "validation_failed", "'expires_in_days' phải là số nguyên 1–90.")
    procedure = body.get("procedure_code")
    if procedure is not None and not isinstance(procedure, str):
        raise ApiError(400, "validation_failed", "'procedure_code' phải là chuỗi ký tự.")
    try:
        form, url = issuance.create_invitation(campaign, agency, procedure,
                                               utcnow() + timedelta(days=days))
    except ServiceError as exc:
        db.session.rollback()
        raise ApiError(409, "not_issuable", exc.message) from exc
    db.session.commit()
    return jsonify({
        "serial": form.serial, "url": url, "expires_at": form.expires_at.isoformat() + "Z",
        "campaign": campaign.code, "agency": agency.code, "procedure_code": form.procedure_code,
        "qr_png_base64": base64.b64encode(qr_png(url)).decode(),
        "qr_svg": qr_svg(url).decode(),
    }), 201


@bp.post("/responses")
@limiter.limit(_api_limit, key_func=_key_id)
def submit_response():
    """A response from a kiosk tablet at the counter."""
    body = _json_body()
    campaign, agency = _scope(body)
    opened_at = None
    started = body.get("started_at")
    if started is not None:
        try:
            opened_at = datetime.fromisoformat(str(started).replace("Z", "+00:00"))
        except ValueError as exc:
            raise ApiError(400, "validation_failed",
                           "'started_at' phải là thời điểm ISO 8601.") from exc
        if opened_at.tzinfo is not None:
            opened_at = opened_at.astimezone(UTC).replace(tzinfo=None)
        if not utcnow() - timedelta(days=1) <= opened_at <= utcnow():
            opened_at = None  # implausible: record no duration rather than a wrong one
    try:
        response = intake.accept(intake.Target(campaign, agency), body.get("answers"),
                                 channel="api", opened_at=opened_at,
                                 client=request.remote_addr, api_key_id=g.api_key.id)
    except intake.InvalidAnswers as exc:
        db.session.rollback()
        raise ApiError(422, "validation_failed", "Câu trả lời không hợp lệ.",
                       details=exc.errors) from exc
    except intake.CampaignClosed as exc:
        db.session.rollback()
        raise ApiError(409, "campaign_closed", exc.message) from exc
    db.session.commit()
    return jsonify({"receipt_code": response.receipt_code,
                    "submitted_at": response.submitted_at.isoformat() + "Z"}), 201


@bp.get("/campaigns/<code>")
@limiter.limit(_api_limit, key_func=_key_id)
def campaign_status(code: str):
    campaign = db.session.scalar(select(Campaign).filter_by(code=code))
    if campaign is None:
        raise ApiError(404, "unknown_campaign", f"Không có đợt khảo sát '{code}'.")
    key = g.api_key
    allowed = agencies.subtree_ids(key.agency) if key.agency_id is not None else None
    counts: dict[int, dict[str, int]] = {}
    for agency_id, channel, n in db.session.execute(
            select(Response.agency_id, Response.channel, func.count(Response.id))
            .where(Response.campaign_id == campaign.id)
            .group_by(Response.agency_id, Response.channel)):
        counts.setdefault(agency_id, {})[channel] = n
    issued = dict(db.session.execute(
        select(IssuedForm.agency_id, func.count(IssuedForm.id))
        .where(IssuedForm.campaign_id == campaign.id).group_by(IssuedForm.agency_id)).all())
    rows = []
    for scope in campaign.scope:
        if allowed is not None and scope.agency_id not in allowed:
            continue
        by_channel = {c: counts.get(scope.agency_id, {}).get(c, 0)
                      for c in CHANNELS}
        rows.append({"code": scope.agency.code, "name": scope.agency.name,
                     "responses": sum(by_channel.values()), "by_channel": by_channel,
                     "forms_issued": issued.get(scope.agency_id, 0), "planned": scope.planned})
    return jsonify({
        "code": campaign.code, "name": campaign.name, "period": campaign.period,
        "opens_at": campaign.opens_at.isoformat() + "Z",
        "closes_at": campaign.closes_at.isoformat() + "Z",
        "is_open": campaign.is_open(),
        "archived_at": campaign.archived_at.isoformat() + "Z" if campaign.archived_at else None,
        "questionnaire": campaign.version.name,
        "responses": sum(r["responses"] for r in rows), "agencies": rows,
    })
