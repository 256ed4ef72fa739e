"""Invitations after a one-stop case: the column map of the case system's export, the
import of a file of completed cases, and sending the invitations that wait."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ..extensions import db
from ..security import roles_required
from ..services import ServiceError, case_import, delivery
from . import READ, WRITE, _campaign_or_404, _flash_refusal, bp
from .forms import CaseImportForm, ColumnMapForm, SendForm

#: Attempts one click makes (at INVITE_RATE_PER_SECOND); more wait for the next click or
#: for `flask send-invitations`.
WEB_SEND_LIMIT = 100
UPLOAD_SLACK = 64 * 1024


@bp.url_value_preprocessor
def _import_limit(endpoint, values):
    """Admit an import file in its request (the application's limit is sized for survey
    answers); set before the CSRF check reads the body."""
    if endpoint == "admin.invitations_import":
        request.max_content_length = (current_app.config["INVITE_IMPORT_MAX_BYTES"]
                                      + UPLOAD_SLACK)


def _page(campaign, status: int = 200, rejected=None, map_form=None, import_form=None):
    saved = case_import.column_map()
    if map_form is None:
        map_form = ColumnMapForm(data={**saved["columns"], "prefer": saved["prefer"],
                                       "consent_values": ", ".join(saved["consent_values"])})
    return render_template(
        "admin/invitations.html", campaign=campaign, map_saved=saved["saved"],
        map_form=map_form, import_form=import_form or CaseImportForm(), send_form=SendForm(),
        rejected=rejected or [], state=delivery.status(campaign)), status


@bp.get("/campaigns/<code>/invitations")
@roles_required(*READ)
def invitations(code: str):
    return _page(_campaign_or_404(code))


@bp.post("/campaigns/<code>/invitations/column-map")
@roles_required(*WRITE)
def invitations_column_map(code: str):
    campaign = _campaign_or_404(code)
    form = ColumnMapForm()
    if not form.validate_on_submit():
        return _page(campaign, 400, map_form=form)
    try:
        case_import.save_column_map(
            {f: getattr(form, f).data for f in case_import.FIELDS},
            form.consent_values.data or "", form.prefer.data)
    except ServiceError as exc:
        _flash_refusal(exc)
        return _page(campaign, 400, map_form=form)
    db.session.commit()
    flash(_("Đã lưu bảng ánh xạ cột."), "success")
    return redirect(url_for(".invitations", code=code))


@bp.post("/campaigns/<code>/invitations/import")
@roles_required(*WRITE)
def invitations_import(code: str):
    campaign = _campaign_or_404(code)
    form = CaseImportForm()
    if not form.validate_on_submit():
        return _page(campaign, 400, import_form=form)
    upload = form.file.data
    try:
        result = case_import.import_cases(campaign, upload.read(), upload.filename or "")
    except case_import.ImportRejected as exc:
        db.session.rollback()
        flash(exc.message, "error")  # the rows are listed in a table, not one flash each
        return _page(campaign, 400, rejected=exc.rows, import_form=form)
    except ServiceError as exc:
        _flash_refusal(exc)
        return _page(campaign, 400, import_form=form)
    db.session.commit()
    record = result.record
    flash(_("Đã nhập %(rows)d hồ sơ: %(invited)d thư mời chờ gửi; không đồng ý: %(no)d; không "
            "có cách liên hệ: %(none)d; người đã được mời: %(again)d.", rows=record.rows,
            invited=record.invited, no=record.no_consent, none=record.no_contact,
            again=record.already_invited), "success")
    return redirect(url_for(".invitations", code=code))


@bp.post("/campaigns/<code>/invitations/send")
@roles_required(*WRITE)
def invitations_send(code: str):
    campaign = _campaign_or_404(code)
    if not SendForm().validate_on_submit():
        return _page(campaign, 400)
    try:
        report = delivery.send_pending(campaign, limit=WEB_SEND_LIMIT,
                                       checkpoint=db.session.commit)
    except ServiceError as exc:
        _flash_refusal(exc)
        return _page(campaign, 400)
    db.session.commit()
    flash(_("Đã gửi %(sent)d thư mời; sẽ thử lại: %(retry)d; không gửi được: %(failed)d.",
            sent=report.sent, retry=report.retry, failed=report.failed), "success")
    return redirect(url_for(".invitations", code=code))
