"""Kiosk mode: a counter tablet that shows one agency's form to citizen after citizen.

The tablet is enrolled once through a single-use link (`services.kiosks`), which leaves
its credential in an HttpOnly cookie. Its page is the agency's form in the campaign open
now, with large targets and no link away; after each submission the thank-you page shows
the receipt and returns to a fresh form by itself. Nothing of one citizen is left for the
next: the page keeps no draft (`static/offline.js` in kiosk mode), the language chosen is
forgotten, and the receipt is shown only to the kiosk that took it and only for a short
while (the back button then leads to a fresh form).
"""

from __future__ import annotations

from datetime import timedelta

from flask import current_app, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.http import dump_cookie

from .. import intake
from ..extensions import csrf, db
from ..models import utcnow
from ..services import ServiceError, kiosks
from . import (
    _answer_to_repeat,
    _device,
    _message,
    _render_form,
    _submit,
    bp,
    page_language,
)

KIOSK_COOKIE = "sv_kiosk"
#: Seconds a receipt stays reachable after the page has returned to a fresh form (a slow
#: tablet, a citizen reading it again); after that its address leads to a fresh form.
RECEIPT_GRACE_S = 30
#: Seconds between two looks of a kiosk waiting for its agency's campaign to open.
WAITING_REFRESH_S = 300


def _kiosk_cookie(credential: str) -> str:
    # The browser's longest (400 days); Lax, so that the page opened from the enrolment
    # link's redirect carries it, and no other site can post through it.
    return dump_cookie(KIOSK_COOKIE, credential, max_age=400 * 86400, path=kiosks.PAGE_PATH,
                       httponly=True, samesite="Lax",
                       secure=current_app.config["SESSION_COOKIE_SECURE"])


def _this_kiosk():
    """(the kiosk of this tablet, None) or (None, the refusal page): 403 for a tablet that
    is not a kiosk or one revoked."""
    kiosk = kiosks.by_credential(request.cookies.get(KIOSK_COOKIE))
    if kiosk is None:
        return None, _message(_("Máy này chưa được đăng ký làm máy tại quầy"),
                              _("Máy này không nhận phiếu khảo sát. Cán bộ quản trị cần mở "
                                "đường dẫn đăng ký máy tại quầy trên chính máy này."), 403, kiosk=True)
    if kiosk.revoked_at is not None:
        return None, _message(_("Máy tại quầy đã ngừng nhận phiếu"),
                              _("Máy này đã bị thu hồi và không còn nhận phiếu khảo sát; phiếu "
                                "không được lưu. Ông/Bà có thể trả lời bằng mã QR trên áp phích "
                                "tại quầy."), 403, kiosk=True)
    return kiosk, None


def _no_campaign(status: int):
    return _message(_("Chưa có đợt khảo sát"),
                    _("Hiện chưa có đợt khảo sát nào đang mở cho cơ quan này. Trang sẽ tự tải "
                      "lại khi có đợt mới."), status, kiosk=True, refresh=WAITING_REFRESH_S)


@bp.route("/kiosk", methods=["GET", "POST"])
@csrf.exempt  # the form token is the page's own check (`pages`), bound to the kiosk
def kiosk_page():
    """The kiosk's form (GET) and its submissions (POST)."""
    kiosk, refused = _this_kiosk()
    if refused is not None:
        return refused
    target = kiosks.target(kiosk)
    if target is None:
        return _no_campaign(409 if request.method == "POST" else 200)
    if request.method == "POST":
        repeat = _answer_to_repeat(target, kiosk)
        return repeat if repeat is not None else _submit(target, kiosk)
    return _render_form(target, kiosk=kiosk)


@bp.get("/kiosk/cam-on/<code>")
def kiosk_thanks(code: str):
    """The receipt, then a fresh form after KIOSK_RETURN_SECONDS; the language chosen by
    this citizen is forgotten."""
    kiosk, refused = _this_kiosk()
    if refused is not None:
        return refused
    seconds = current_app.config["KIOSK_RETURN_SECONDS"]
    response = intake.by_receipt(code) if code != "-" else None
    if response is not None:
        fresh = utcnow() - timedelta(seconds=seconds + RECEIPT_GRACE_S)
        if response.channel != "kiosk" or response.submitted_at < fresh \
                or response.device_hash != intake.keyed_hash(_device(kiosk)):
            return redirect(url_for(".kiosk_page"), 303)
        page_language(response.campaign.version_id)
    resp = make_response(render_template("survey/thanks.html", response=response, kiosk=True,
                                         refresh=seconds))
    resp.headers["Cache-Control"] = "no-store"
    resp.delete_cookie("lang")
    return resp


@bp.route("/kiosk/dang-ky/<token>", methods=["GET", "POST"])
@csrf.exempt  # the link's own token is what a POST needs
def kiosk_enrol(token: str):
    """An enrolment link opened on the tablet: a page to confirm (GET, so that a link
    preview does not spend it), then the credential in the tablet's cookie (POST)."""
    try:
        kiosk = kiosks.enrolling(token)
        if request.method == "GET":
            return render_template("survey/kiosk_enrol.html", kiosk=kiosk)
        kiosk, credential = kiosks.enrol(token)
        db.session.commit()
    except ServiceError as exc:
        db.session.rollback()
        return _message(_("Không đăng ký được máy tại quầy"), exc.message, 403, kiosk=True)
    resp = redirect(url_for(".kiosk_page"), 303)
    resp.headers.add("Set-Cookie", _kiosk_cookie(credential))
    return resp
