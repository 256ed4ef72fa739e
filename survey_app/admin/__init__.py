"""Sở Nội vụ administration: agencies, questionnaires, campaigns, users, the audit log.

Admins change things; auditors (MTTQ) may read every page here but change nothing.
"""

from __future__ import annotations

import json
from datetime import timedelta

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select
from wtforms import SelectChoice

from ..citizen import language_choices, page_language
from ..extensions import db
from ..models import (
    Agency,
    AuditLog,
    Campaign,
    Questionnaire,
    QuestionnaireVersion,
    User,
)
from ..models import (
    Response as SurveyResponse,
)
from ..security import roles_required
from ..services import ServiceError, agencies, campaigns, questionnaires, translations, users
from ..speech.store import store_of
from ..speech.texts import INTRO
from ..survey_form import sections, spec, survey_form_class
from .forms import (
    KIND_LABELS,
    ROLE_LABELS,
    AgencyForm,
    ArchiveForm,
    CampaignEditForm,
    CampaignForm,
    QuestionnaireEditForm,
    UploadForm,
    UserForm,
)

bp = Blueprint("admin", __name__, url_prefix="/admin", cli_group=None)

READ = ("admin", "auditor")
WRITE = ("admin",)


@bp.context_processor
def _labels():
    return {"KIND_LABELS": KIND_LABELS, "ROLE_LABELS": ROLE_LABELS}


def _flash_refusal(exc: ServiceError) -> None:
    """Roll back and flash the service's reasons."""
    db.session.rollback()
    flash(exc.message, "error")
    for detail in exc.details:
        flash(detail, "error")


def _refused(exc: ServiceError, template: str, status: int = 400, **ctx):
    """Roll back, show the service's reasons on the same page, answer 4xx."""
    _flash_refusal(exc)
    return render_template(template, **ctx), status


@bp.get("/")
@roles_required(*READ)
def index():
    counts = {
        "agencies": db.session.scalar(select(func.count(Agency.id))),
        "questionnaires": db.session.scalar(select(func.count(QuestionnaireVersion.id))),
        "campaigns": db.session.scalar(select(func.count(Campaign.id))),
        "users": db.session.scalar(select(func.count(User.id))),
        "responses": db.session.scalar(select(func.count(SurveyResponse.id))),
    }
    recent = db.session.scalars(select(Campaign).order_by(Campaign.opens_at.desc()).limit(5))
    return render_template("admin/index.html", counts=counts, campaigns=list(recent))


# --- agencies -------------------------------------------------------------------------

@bp.get("/agencies")
@roles_required(*READ)
def agency_list():
    return render_template("admin/agencies.html", agencies=agencies.tree_order(),
                           form=AgencyForm(), upload=UploadForm())


@bp.get("/agencies.csv")
@roles_required(*READ)
def agency_export():
    return Response(agencies.export_csv(), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": "attachment; filename=agencies.csv"})


@bp.post("/agencies/import")
@roles_required(*WRITE)
def agency_import():
    upload = UploadForm()
    if not upload.validate_on_submit():
        flash(_("Chưa chọn tệp CSV."), "error")
        return redirect(url_for(".agency_list"))
    try:
        text = upload.file.data.read().decode("utf-8")
        counts = agencies.import_csv(text)
    except UnicodeDecodeError:
        db.session.rollback()
        flash(_("Tệp không phải văn bản UTF-8; không có gì thay đổi."), "error")
        return render_template("admin/agencies.html", agencies=agencies.tree_order(),
                               form=AgencyForm(), upload=upload), 400
    except ServiceError as exc:
        return _refused(exc, "admin/agencies.html", agencies=agencies.tree_order(),
                        form=AgencyForm(), upload=upload)
    db.session.commit()
    flash(_("Đã nhập: %(c)d cơ quan mới, %(u)d cập nhật.", c=counts["created"],
            u=counts["updated"]), "success")
    return redirect(url_for(".agency_list"))


@bp.route("/agencies/new", methods=["GET", "POST"])
@bp.route("/agencies/<code>/edit", methods=["GET", "POST"])
@roles_required(*READ)
def agency_edit(code: str | None = None):
    agency = agencies.get_by_code(code) if code else None
    form = AgencyForm(obj=agency)
    if request.method == "GET" and agency is not None:
        form.parent_code.data = agency.parent.code if agency.parent else ""
    if request.method == "POST":
        if not _may_write():
            abort(403)
        if form.validate_on_submit():
            try:
                saved = agencies.save_agency(
                    agency, code=form.code.data.strip(), name=form.name.data,
                    kind=form.kind.data, parent_code=(form.parent_code.data or "").strip(),
                    valid_from=form.valid_from.data, valid_to=form.valid_to.data)
            except ServiceError as exc:
                return _refused(exc, "admin/agency_edit.html", form=form, agency=agency)
            db.session.commit()
            flash(_("Đã lưu cơ quan %(code)s.", code=saved.code), "success")
            return redirect(url_for(".agency_list"))
        return render_template("admin/agency_edit.html", form=form, agency=agency), 400
    return render_template("admin/agency_edit.html", form=form, agency=agency)


# --- questionnaires -------------------------------------------------------------------

@bp.get("/questionnaires")
@roles_required(*READ)
def questionnaire_list():
    qs = db.session.scalars(select(Questionnaire).order_by(Questionnaire.code))
    return render_template("admin/questionnaires.html", questionnaires=list(qs),
                           upload=UploadForm())


@bp.post("/questionnaires/upload")
@roles_required(*WRITE)
def questionnaire_upload():
    upload = UploadForm()
    if not upload.validate_on_submit():
        flash(_("Chưa chọn tệp JSON."), "error")
        return redirect(url_for(".questionnaire_list"))
    qs = list(db.session.scalars(select(Questionnaire).order_by(Questionnaire.code)))
    try:
        try:
            data = json.loads(upload.file.data.read().decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ServiceError(_("Tệp không phải JSON UTF-8 hợp lệ; không có gì thay đổi.")) from exc
        version = questionnaires.create_version(data)
    except ServiceError as exc:
        return _refused(exc, "admin/questionnaires.html", questionnaires=qs, upload=upload)
    db.session.commit()
    flash(_("Đã nạp phiếu %(name)s.", name=version.name), "success")
    return redirect(url_for(".questionnaire_view", version_id=version.id))


def _version_or_404(version_id: int) -> QuestionnaireVersion:
    version = db.session.get(QuestionnaireVersion, version_id)
    if version is None:
        abort(404)
    return version


@bp.get("/questionnaires/<int:version_id>")
@roles_required(*READ)
def questionnaire_view(version_id: int):
    version = _version_or_404(version_id)
    return render_template("admin/questionnaire.html", version=version,
                           **translation_page(version))


@bp.get("/questionnaires/<int:version_id>/preview")
@roles_required(*READ)
def questionnaire_preview(version_id: int):
    """The version exactly as a citizen's phone shows it, without a working submit."""
    version = spec(_version_or_404(version_id).id)
    lang, available = page_language(version.id)  # `?lang=` previews a translation
    form = survey_form_class(version, lang)(formdata=None, meta={"csrf": False})
    clips = store_of().clips(version.id, lang)
    return render_template("survey/form.html", version=version, form=form,
                           sections=sections(version, form, lang, clips), preview=True,
                           intro_audio=clips.url(INTRO),
                           agency_name=_("(tên cơ quan)"), campaign_name=_("(tên đợt khảo sát)"),
                           action=None, page_lang=lang,
                           languages=language_choices(version, lang, available))


@bp.get("/questionnaires/<int:version_id>/definition.json")
@roles_required(*READ)
def questionnaire_definition(version_id: int):
    version = _version_or_404(version_id)
    body = json.dumps(version.to_definition(), ensure_ascii=False, indent=2)
    return Response(body, mimetype="application/json")


@bp.route("/questionnaires/<int:version_id>/edit", methods=["GET", "POST"])
@roles_required(*READ)
def questionnaire_edit(version_id: int):
    """Edit a copy of a version; saving always stores a new version, the old one stays."""
    version = _version_or_404(version_id)
    form = QuestionnaireEditForm()
    if request.method == "GET":
        form.label.data = version.label
        form.definition.data = json.dumps(version.to_definition(), ensure_ascii=False, indent=2)
    elif not _may_write():
        abort(403)
    elif form.validate_on_submit():
        try:
            try:
                data = json.loads(form.definition.data)
            except json.JSONDecodeError as exc:
                raise ServiceError(_("Nội dung không phải JSON hợp lệ: dòng %(l)d: %(m)s",
                                     l=exc.lineno, m=exc.msg)) from exc
            if isinstance(data, dict):
                data["label"] = form.label.data
                data["code"] = version.questionnaire.code
            new = questionnaires.create_version(data)
        except ServiceError as exc:
            return _refused(exc, "admin/questionnaire_edit.html", form=form, version=version)
        db.session.commit()
        flash(_("Đã lưu thành phiên bản mới %(name)s.", name=new.name), "success")
        return redirect(url_for(".questionnaire_view", version_id=new.id))
    else:
        return render_template("admin/questionnaire_edit.html", form=form, version=version), 400
    return render_template("admin/questionnaire_edit.html", form=form, version=version)


# --- campaigns ------------------------------------------------------------------------

def _campaign_form() -> CampaignForm:
    form = CampaignForm()
    form.version.choices = [SelectChoice(f"{v.questionnaire.code}:{v.number}", f"{v.name} — {v.label}")
                            for v in db.session.scalars(select(QuestionnaireVersion)
                                                        .order_by(QuestionnaireVersion.id.desc()))]
    form.agencies.choices = [SelectChoice(a.code, f"{a.code} — {a.name}") for a in agencies.tree_order()
                             if a.valid_to is None]
    return form


@bp.get("/campaigns")
@roles_required(*READ)
def campaign_list():
    items = db.session.scalars(select(Campaign).order_by(Campaign.opens_at.desc()))
    return render_template("admin/campaigns.html", campaigns=list(items))


@bp.route("/campaigns/new", methods=["GET", "POST"])
@roles_required(*WRITE)
def campaign_new():
    form = _campaign_form()
    if form.validate_on_submit():
        try:
            campaign = campaigns.create_campaign(
                code=form.code.data, name=form.name.data, period=form.period.data,
                version_ref=form.version.data, opens=form.opens.data, closes=form.closes.data,
                agency_codes=form.agencies.data, double_entry=form.double_entry.data)
        except ServiceError as exc:
            return _refused(exc, "admin/campaign_new.html", form=form)
        db.session.commit()
        flash(_("Đã tạo đợt khảo sát %(code)s.", code=campaign.code), "success")
        return redirect(url_for(".campaign_view", code=campaign.code))
    status = 400 if request.method == "POST" else 200
    return render_template("admin/campaign_new.html", form=form), status


def _campaign_or_404(code: str) -> Campaign:
    campaign = db.session.scalar(select(Campaign).filter_by(code=code))
    if campaign is None:
        abort(404)
    return campaign


@bp.route("/campaigns/<code>", methods=["GET", "POST"])
@roles_required(*READ)
def campaign_view(code: str):
    campaign = _campaign_or_404(code)
    form = CampaignEditForm(obj=campaign)
    if request.method == "GET":
        form.opens.data = campaigns.to_local(campaign.opens_at).date()
        form.closes.data = (campaigns.to_local(campaign.closes_at) - timedelta(days=1)).date()
    else:
        if not _may_write():
            abort(403)
        if form.validate_on_submit():
            try:
                campaigns.update_window(campaign, name=form.name.data, opens=form.opens.data,
                                        closes=form.closes.data)
            except ServiceError as exc:
                return _refused(exc, "admin/campaign.html", campaign=campaign, form=form)
            db.session.commit()
            flash(_("Đã lưu đợt khảo sát."), "success")
            return redirect(url_for(".campaign_view", code=code))
        return render_template("admin/campaign.html", campaign=campaign, form=form), 400
    counts = dict(db.session.execute(
        select(SurveyResponse.agency_id, func.count(SurveyResponse.id))
        .where(SurveyResponse.campaign_id == campaign.id)
        .group_by(SurveyResponse.agency_id)).all())
    return render_template("admin/campaign.html", campaign=campaign, form=form, counts=counts,
                           to_local=campaigns.to_local,
                           poster_langs=translations.loaded(campaign.version_id))


@bp.route("/campaigns/<code>/archive", methods=["GET", "POST"])
@roles_required(*WRITE)
def campaign_archive(code: str):
    """Confirm, then archive a closed campaign (read-only from then on, re-check phone
    numbers erased, final ledger checkpoint)."""
    campaign = _campaign_or_404(code)
    form = ArchiveForm()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                done = campaigns.archive_campaign(campaign)
            except ServiceError as exc:
                db.session.rollback()
                flash(exc.message, "error")
                status = 409
            else:
                db.session.commit()
                flash(_("Đã lưu trữ đợt khảo sát %(code)s; đã xóa %(n)d số điện thoại liên hệ "
                        "phúc tra. Mốc kiểm tra cuối cùng, hãy chép lại và giữ ngoài hệ "
                        "thống: %(digest)s", code=campaign.code, n=done.contacts_erased,
                        digest=done.digest), "success")
                return redirect(url_for(".campaign_view", code=campaign.code))
        else:
            status = 400
    return render_template("admin/campaign_archive.html", campaign=campaign, form=form,
                           preview=campaigns.archive_preview(campaign)), status


# --- users ----------------------------------------------------------------------------

@bp.get("/users")
@roles_required(*READ)
def user_list():
    items = db.session.scalars(select(User).order_by(User.role, User.username))
    return render_template("admin/users.html", users=list(items))


@bp.route("/users/new", methods=["GET", "POST"])
@bp.route("/users/<int:user_id>/edit", methods=["GET", "POST"])
@roles_required(*WRITE)
def user_edit(user_id: int | None = None):
    user = db.session.get(User, user_id) if user_id else None
    if user_id and user is None:
        abort(404)
    form = UserForm(obj=user)
    ctx = {"form": form, "user": user, "owner_only": users.OWNER_SETS_PASSWORD}
    if request.method == "GET" and user is not None:
        form.agency_code.data = user.agency.code if user.agency else ""
    if form.validate_on_submit():
        try:
            agency_code = (form.agency_code.data or "").strip() or None
            if user is None:
                user, token = users.create_account(
                    form.username.data, form.role.data, agency_code,
                    form.full_name.data or "", password=form.password.data or None)
                if not form.active.data:
                    user.active = False
            else:
                token = users.update_user(
                    user, role=form.role.data, agency_code=agency_code,
                    full_name=form.full_name.data or "", active=form.active.data,
                    password=form.password.data or None)
        except ServiceError as exc:
            return _refused(exc, "admin/user_edit.html", **ctx)
        db.session.commit()
        flash(_("Đã lưu tài khoản %(u)s.", u=user.username), "success")
        if token is not None:
            return render_template("admin/user_link.html", user=user,
                                   url=users.link_url(token))
        return redirect(url_for(".user_list"))
    status = 400 if request.method == "POST" else 200
    return render_template("admin/user_edit.html", **ctx), status


@bp.post("/users/<int:user_id>/reset")
@roles_required(*WRITE)
def user_reset(user_id: int):
    """Issue a one-time link: the owner sets a new password (and second factor) with it."""
    user = db.get_or_404(User, user_id)
    token = users.issue_link(user, purpose="reset")
    db.session.commit()
    return render_template("admin/user_link.html", user=user, url=users.link_url(token))


# --- audit log ------------------------------------------------------------------------

@bp.get("/audit-log")
@roles_required(*READ)
def audit_log():
    page = max(request.args.get("page", 1, type=int), 1)
    per_page = 50
    rows = db.session.scalars(select(AuditLog).order_by(AuditLog.seq.desc())
                              .offset((page - 1) * per_page).limit(per_page + 1))
    rows = list(rows)
    return render_template("admin/audit_log.html", rows=rows[:per_page], page=page,
                           has_next=len(rows) > per_page)


def _may_write() -> bool:
    from flask_login import current_user

    return current_user.role in WRITE


# Views and CLI commands registered on `bp` from other modules; imported last because they
# import `bp`.
from . import (  # noqa: E402,F401
    audio,
    backup_commands,
    commands,
    invitation_commands,
    invitations,
    issuance,
    issuance_commands,
    kiosk_commands,
    kiosks,
    translation_commands,
    translation_pages,
)
from .translation_pages import translation_page  # noqa: E402
