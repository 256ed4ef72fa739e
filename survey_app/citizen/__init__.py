"""The citizen's survey: open links (posters), single-use links (numbered forms and
invitations), the thank-you page with a receipt, and the public receipt check.

Showing a form writes nothing: the only state is in the page (a signed start time) and
the visitor's cookies.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from flask import (
    Blueprint,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError, generate_csrf
from itsdangerous import BadSignature, URLSafeTimedSerializer

from ..extensions import db, limiter
from ..models import Campaign, utcnow
from ..services import ServiceError, contacts, responses
from ..survey_form import (
    answers_from_formdata,
    bound_form_with_errors,
    pristine_questions,
    sections,
    spec,
)

bp = Blueprint("citizen", __name__)

DEVICE_COOKIE = "sv_dev"


def _open_limit():
    return current_app.config["OPEN_LINK_RATE_LIMIT"]


def _clock() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="survey-started")


def _started_token() -> str:
    return _clock().dumps(utcnow().isoformat(timespec="seconds"))


def _started_at(token: str | None) -> datetime | None:
    """When the form was shown, if the hidden field is intact (a tampered one is ignored)."""
    try:
        return datetime.fromisoformat(_clock().loads(token or "", max_age=7 * 86400))
    except (BadSignature, ValueError, TypeError):
        return None


def _message(title: str, text: str, status: int):
    return render_template("survey/message.html", title=title, text=text), status


def _answered_cookie(open_code: str) -> str:
    return f"sv_{open_code}"


def _render_form(campaign: Campaign, agency_name: str, form=None, status: int = 200,
                 notice: str | None = None, contact_error: str | None = None):
    """The survey page. Without a bound form (a first visit) no WTForms object is built:
    the questions come pre-rendered and only the two hidden values are fresh."""
    lang = str(get_locale())
    version = spec(campaign.version_id)
    started = (form.started.data if form is not None else None) or _started_token()
    if form is None:
        questions, rows = pristine_questions(version, lang), None
    else:
        questions, rows = None, sections(version, form, lang)
    html = render_template(
        "survey/form.html", version=version, form=form, preview=False, sections=rows,
        questions_html=questions, agency_name=agency_name, campaign_name=campaign.name,
        action=None, notice=notice, csrf_value=generate_csrf(), started_value=started,
        contact_error=contact_error)
    resp = make_response(html, status)
    resp.headers["Cache-Control"] = "no-store"
    if DEVICE_COOKIE not in request.cookies:
        resp.set_cookie(DEVICE_COOKIE, secrets.token_urlsafe(12), max_age=400 * 86400,
                        httponly=True, samesite="Lax",
                        secure=current_app.config["SESSION_COOKIE_SECURE"])
    return resp


def _closed_page(exc: responses.CampaignClosed):
    return _message(_("Không nhận phiếu"), _(exc.message), 410)


def _submit(campaign, agency, channel, form_obj=None, scope=None):
    """Validate and store; returns a response to send (errors, refusal or redirect)."""
    open_code = scope.open_code if scope is not None else None
    # CSRFProtect has already checked the token (before any view runs).
    version = spec(campaign.version_id)
    raw, errors = answers_from_formdata(version, request.form)
    answers, invalid = responses.validate_answers(version, raw)
    errors = {**invalid, **errors}
    contact_error = None
    try:
        phone = contacts.validate_contact(request.form.get(contacts.PHONE_FIELD),
                                          request.form.get(contacts.CONSENT_FIELD) == "y")
    except ServiceError as exc:
        phone, contact_error = None, _(exc.message)
    if errors or contact_error:
        form = bound_form_with_errors(version, str(get_locale()), errors)
        return _render_form(campaign, agency.name, form, 400, contact_error=contact_error)
    if request.form.get("website"):
        # A honeypot field was filled: a bot. Say thanks, store nothing.
        return redirect(url_for(".thanks", code="-"), 303)
    try:
        response = responses.record(
            campaign=campaign, agency=agency, channel=channel, answers=answers,
            form=form_obj, opened_at=_started_at(request.form.get("started")),
            client=request.remote_addr, device=request.cookies.get(DEVICE_COOKIE))
        if phone:
            # Consented, kept apart from the answers, erased once the check is recorded.
            contacts.store_contact(response.id, phone, True)
        receipt, closes_at = response.receipt_code, campaign.closes_at
        db.session.commit()
    except responses.FormAlreadyUsed as exc:
        db.session.rollback()
        return _message(_("Phiếu đã được sử dụng"), _(exc.message), 409)
    except responses.CampaignClosed as exc:
        db.session.rollback()
        return _closed_page(exc)
    resp = redirect(url_for(".thanks", code=receipt), 303)
    if scope is not None:
        resp.set_cookie(_answered_cookie(open_code), receipt,
                        max_age=int((closes_at - utcnow()).total_seconds()) + 86400,
                        path=f"/k/{open_code}", httponly=True, samesite="Lax",
                        secure=current_app.config["SESSION_COOKIE_SECURE"])
    return resp


@bp.route("/k/<open_code>", methods=["GET", "POST"])
@limiter.limit(_open_limit, methods=["POST"])
def open_link(open_code: str):
    """The poster's link: anyone may answer, once per browser."""
    scope = responses.find_scope(open_code)
    if scope is None:
        return _message(_("Không tìm thấy khảo sát"),
                        _("Đường dẫn không đúng. Vui lòng quét lại mã QR."), 404)
    campaign = scope.campaign
    try:
        responses.check_open(campaign)
    except responses.CampaignClosed as exc:
        return _closed_page(exc)
    previous = request.cookies.get(_answered_cookie(open_code))
    if previous:
        return _message(_("Ông/Bà đã trả lời khảo sát này"),
                        _("Cảm ơn Ông/Bà. Mã biên nhận: %(code)s", code=previous),
                        409 if request.method == "POST" else 200)
    if request.method == "POST":
        return _submit(campaign, scope.agency, "open", scope=scope)
    return _render_form(campaign, scope.agency.name)


@bp.route("/f/<token>", methods=["GET", "POST"])
def single_use(token: str):
    """A numbered paper form's or an invitation's own link: accepted exactly once."""
    target = responses.find_form(token)
    if target is None:
        return _message(_("Đường dẫn không hợp lệ"),
                        _("Không tìm thấy phiếu này. Vui lòng kiểm tra lại mã QR."), 404)
    form = target.form
    if form.answered:
        return _message(_("Phiếu đã được sử dụng"),
                        _("Phiếu này đã được trả lời; mỗi phiếu chỉ dùng một lần."), 409)
    if form.voided_at is not None:
        return _message(_("Phiếu đã bị hủy"), _("Phiếu này đã bị hủy và không dùng được."), 410)
    if form.expires_at is not None and utcnow() >= form.expires_at:
        return _message(_("Đường dẫn đã hết hạn"),
                        _("Lời mời trả lời khảo sát này đã hết hạn."), 410)
    try:
        responses.check_open(target.campaign)
    except responses.CampaignClosed as exc:
        return _closed_page(exc)
    if request.method == "POST":
        return _submit(target.campaign, target.agency, "single_use", form_obj=form)
    return _render_form(target.campaign, target.agency.name)


@bp.get("/cam-on/<code>")
def thanks(code: str):
    response = responses.by_receipt(code) if code != "-" else None
    return render_template("survey/thanks.html", response=response)


@bp.get("/bien-nhan")
def receipt():
    """Public check of a receipt code: counted or not, where and when — never the answers."""
    code = (request.args.get("code") or "").strip()[:40]
    response = responses.by_receipt(code) if code else None
    status = 404 if code and response is None else 200
    return render_template("survey/receipt.html", code=code, response=response), status


@bp.app_errorhandler(CSRFError)
def _csrf_error(exc):
    """An expired or missing form token: show the form again with the answers kept."""
    view_args = request.view_args or {}
    if request.endpoint in ("citizen.open_link", "citizen.single_use"):
        if request.endpoint == "citizen.open_link":
            scope = responses.find_scope(view_args.get("open_code", ""))
            campaign, agency = (scope.campaign, scope.agency) if scope else (None, None)
        else:
            target = responses.find_form(view_args.get("token", ""))
            campaign, agency = ((target.campaign, target.agency) if target
                                else (None, None))
        if campaign is not None:
            lang = str(get_locale())
            form = bound_form_with_errors(spec(campaign.version_id), lang, {})
            return _render_form(campaign, agency.name, form, 400, notice=_(
                "Phiên trả lời đã hết hạn. Các câu trả lời vẫn được giữ; vui lòng bấm "
                "\"Gửi phiếu\" lần nữa."))
    from ..security import ERROR_TEXT

    return render_template("error.html", code=400, message=str(ERROR_TEXT[400])), 400

