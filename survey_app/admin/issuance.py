"""Posters, numbered paper forms and the issuance register of a campaign.

Issuing answers with a ZIP of the printable forms and their links: the links exist only
in that download (the database keeps their hashes), so the page never shows them again.
"""

from __future__ import annotations

import io
import zipfile

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from wtforms import SelectChoice

from .. import languages
from ..extensions import db
from ..models import Agency, CampaignAgency, IssuedForm
from ..security import roles_required
from ..services import ServiceError, agencies, issuance, translations
from . import READ, WRITE, _campaign_or_404, _refused, bp
from .forms import ALLOW_LOCAL_LABEL, IssueForm, VoidForm

MIMETYPES = {"pdf": "application/pdf", "png": "image/png", "svg": "image/svg+xml"}
STATE_LABELS = {
    "issued": _l("đang phát"), "online": _l("đã trả lời trực tuyến"),
    "paper": _l("đã nhập phiếu giấy"), "void": _l("đã hủy"),
    "not_returned": _l("quá hạn chưa nộp"),
}


ALLOW_LOCAL_HOW = _l("đánh dấu ô xác nhận bên dưới")


@bp.context_processor
def _state_labels():
    return {"STATE_LABELS": STATE_LABELS, "print_url_problem": issuance.print_url_problem}


def _download(body: bytes | str, mimetype: str, filename: str, *, private: bool = False):
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    if private:  # holds single-use links: no copy in any cache
        headers["Cache-Control"] = "no-store"
    return Response(body, mimetype=mimetype, headers=headers)


@bp.get("/campaigns/<code>/poster/<agency_code>.<any(pdf, png, svg):fmt>")
@roles_required(*READ)
def poster(code: str, agency_code: str, fmt: str):
    try:
        _campaign, _agency, scope = issuance.get_scope(code, agency_code)
    except ServiceError:
        abort(404)
    try:
        issuance.check_print_url(request.args.get("allow_local_url") == "y", ALLOW_LOCAL_HOW)
    except ServiceError as exc:
        # Nothing is stored: the page asks for the tick, and the same link with it downloads.
        flash(exc.message, "error")
        return render_template("admin/poster_confirm.html", campaign=scope.campaign,
                               scope=scope, fmt=fmt, url=issuance.open_url(scope),
                               label=ALLOW_LOCAL_LABEL), 400
    try:
        body = issuance.poster(scope, fmt, request.args.get("lang"))
    except ServiceError as exc:
        flash(exc.message, "error")
        return redirect(url_for(".campaign_view", code=code))
    return _download(body, MIMETYPES[fmt], f"poster-{code}-{agency_code}.{fmt}")


def _issue_form(campaign) -> IssueForm:
    form = IssueForm()
    scope = db.session.execute(
        select(Agency.code, Agency.name).join(CampaignAgency, CampaignAgency.agency_id == Agency.id)
        .where(CampaignAgency.campaign_id == campaign.id).order_by(Agency.code)).all()
    form.agency.choices = [SelectChoice("", "—")] + [
        SelectChoice(c, f"{c} — {n}") for c, n in scope]
    if request.method == "GET" and request.args.get("agency"):
        form.agency.data = request.args["agency"]
    form.lang.choices = [SelectChoice("", languages.name("vi"))] + [
        SelectChoice(code, languages.name(code))
        for code, _rev in translations.loaded(campaign.version_id)]
    return form


WEB_BATCH_LIMIT = 500


@bp.route("/campaigns/<code>/issue", methods=["GET", "POST"])
@roles_required(*WRITE)
def issue(code: str):
    campaign = _campaign_or_404(code)
    form = _issue_form(campaign)
    if request.method == "GET":
        return render_template("admin/issue.html", campaign=campaign, form=form)
    if not form.validate_on_submit():
        return render_template("admin/issue.html", campaign=campaign, form=form), 400
    try:
        if not form.agency.data:
            raise ServiceError(_("Chưa chọn cơ quan."))
        if (form.count.data or 0) > WEB_BATCH_LIMIT:
            # Rendering takes ~20 ms a form: larger batches would outlive a web request.
            raise ServiceError(_("Trên trang web phát tối đa %(n)d phiếu một lần; lô lớn hơn "
                                 "dùng lệnh flask issue-forms.", n=WEB_BATCH_LIMIT))
        agency = agencies.get_by_code(form.agency.data)
        batch, forms = issuance.issue_batch(campaign, agency, form.count.data,
                                            form.collector.data or "", form.deadline.data)
        # Refused here, the whole issuance is rolled back (no batch, no numbers taken).
        issuance.check_print_url(form.allow_local_url.data, ALLOW_LOCAL_HOW)
        lang = translations.for_print(campaign.version, form.lang.data)
    except ServiceError as exc:
        return _refused(exc, "admin/issue.html", campaign=campaign, form=form)
    pdf, csv_text = issuance.forms_files(batch, forms, lang)
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("forms.pdf", pdf)
        zf.writestr("forms.csv", csv_text)
    # Committed only once the download is built: a failure above stores nothing.
    db.session.commit()
    return _download(archive.getvalue(), "application/zip",
                     f"forms-{forms[0][0]}-{forms[-1][0]}.zip", private=True)


@bp.get("/campaigns/<code>/register")
@roles_required(*READ)
def register(code: str):
    campaign = _campaign_or_404(code)
    rows = issuance.register(campaign)
    totals = {key: sum(r[key] for r in rows) for key in ("count", *issuance.STATES)}
    return render_template("admin/register.html", campaign=campaign, rows=rows, totals=totals,
                           states=issuance.STATES)


@bp.get("/campaigns/<code>/register.csv")
@roles_required(*READ)
def register_csv(code: str):
    campaign = _campaign_or_404(code)
    return _download(issuance.register_csv(campaign), "text/csv; charset=utf-8",
                     f"register-{campaign.code}.csv")


@bp.get("/forms")
@roles_required(*READ)
def form_lookup():
    """Find a form by the serial printed on it (the register's search box)."""
    serial = (request.args.get("serial") or "").strip().upper()
    if serial:
        return redirect(url_for(".form_view", serial=serial))
    return render_template("admin/issued_form.html", issued=None, void_form=None)


def _form_by_serial(serial: str) -> IssuedForm | None:
    return db.session.scalar(select(IssuedForm).filter_by(serial=serial))


@bp.get("/forms/<serial>")
@roles_required(*READ)
def form_view(serial: str):
    issued = _form_by_serial(serial)
    if issued is None:
        abort(404)
    return render_template("admin/issued_form.html", issued=issued, void_form=VoidForm())


@bp.post("/forms/<serial>/void")
@roles_required(*WRITE)
def form_void(serial: str):
    void_form = VoidForm()
    issued = _form_by_serial(serial)
    if not void_form.validate_on_submit():
        return render_template("admin/issued_form.html", issued=issued,
                               void_form=void_form), 400
    try:
        issuance.void_form(serial, void_form.reason.data or "")
    except ServiceError as exc:
        return _refused(exc, "admin/issued_form.html", issued=issued, void_form=void_form)
    db.session.commit()
    flash(_("Đã hủy phiếu %(serial)s.", serial=serial), "success")
    return redirect(url_for(".form_view", serial=serial))
