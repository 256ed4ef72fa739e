"""Counter tablets (kiosk mode): register one for an agency and hand its enrolment link to
the tablet (shown once, with its QR code), list them, give a new link, revoke."""

from __future__ import annotations

import base64

from flask import flash, make_response, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from wtforms import SelectChoice

from .. import printing
from ..extensions import db
from ..models import Agency
from ..security import roles_required
from ..services import ServiceError, kiosks
from . import READ, WRITE, _refused, bp
from .forms import ConfirmForm, KioskForm

STATE_LABELS = {
    "active": _l("đang hoạt động"), "waiting": _l("chờ đăng ký trên máy"),
    "unenrolled": _l("chưa đăng ký (đường dẫn hết hạn)"), "revoked": _l("đã thu hồi"),
}


def _kiosk_form() -> KioskForm:
    form = KioskForm()
    form.agency.choices = [SelectChoice("", "—")] + [
        SelectChoice(code, f"{code} — {name}") for code, name in db.session.execute(
            select(Agency.code, Agency.name).order_by(Agency.code))]
    return form


def _list_page(form: KioskForm | None = None):
    return {"kiosks": kiosks.all_kiosks(), "form": form or _kiosk_form(),
            "confirm": ConfirmForm(), "labels": STATE_LABELS}


def _link_page(kiosk, token: str):
    """The enrolment link, shown this once, with its QR code to scan on the tablet."""
    url = kiosks.enrol_url(token)
    qr = "data:image/png;base64," + base64.b64encode(printing.qr_png(url, box_size=6)).decode()
    resp = make_response(render_template("admin/kiosk_link.html", kiosk=kiosk, url=url, qr=qr))
    resp.headers["Cache-Control"] = "no-store"  # holds the link: no copy in any cache
    return resp


@bp.get("/kiosks")
@roles_required(*READ)
def kiosk_list():
    return render_template("admin/kiosks.html", **_list_page())


@bp.post("/kiosks")
@roles_required(*WRITE)
def kiosk_register():
    form = _kiosk_form()
    if not form.validate_on_submit():
        return render_template("admin/kiosks.html", **_list_page(form)), 400
    try:
        kiosk, token = kiosks.register(form.agency.data, form.name.data)
    except ServiceError as exc:
        return _refused(exc, "admin/kiosks.html", **_list_page(form))
    db.session.commit()
    return _link_page(kiosk, token)


def _change(kiosk_id: int, change):
    """A kiosk's button: `change(kiosk_id)` (a `services.kiosks` function) committed, as
    (its result, None), or (None, the list page refusing it)."""
    if not ConfirmForm().validate_on_submit():
        return None, (render_template("admin/kiosks.html", **_list_page()), 400)
    try:
        result = change(kiosk_id)
    except ServiceError as exc:
        return None, _refused(exc, "admin/kiosks.html", **_list_page())
    db.session.commit()
    return result, None


@bp.post("/kiosks/<int:kiosk_id>/link")
@roles_required(*WRITE)
def kiosk_new_link(kiosk_id: int):
    result, refused = _change(kiosk_id, kiosks.new_link)
    return refused or _link_page(*result)


@bp.post("/kiosks/<int:kiosk_id>/revoke")
@roles_required(*WRITE)
def kiosk_revoke(kiosk_id: int):
    kiosk, refused = _change(kiosk_id, kiosks.revoke)
    if refused:
        return refused
    flash(_("Đã thu hồi máy tại quầy %(id)s (%(name)s): máy không còn nhận phiếu.",
            id=kiosk.id, name=kiosk.name), "success")
    return redirect(url_for(".kiosk_list"))
