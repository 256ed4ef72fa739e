"""A questionnaire version's translations on its admin page: the template to fill per
language, loading a filled file, removing a language (`services.translations`)."""

from __future__ import annotations

from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from .. import languages
from ..extensions import db
from ..security import roles_required
from ..services import ServiceError, translations
from . import READ, WRITE, _version_or_404, bp
from .forms import ConfirmForm, TranslationUploadForm


def translation_page(version, upload: TranslationUploadForm | None = None) -> dict:
    """What the version's page shows of its translations."""
    return {"translations": translations.summaries(version),
            "translation_upload": upload or TranslationUploadForm(),
            "confirm": ConfirmForm(), "known_languages": languages.NAMES_VI}


def _refused(version, exc: ServiceError, upload=None):
    db.session.rollback()
    flash(exc.message, "error")
    for detail in exc.details:
        flash(detail, "error")
    return render_template("admin/questionnaire.html", version=version,
                           **translation_page(version, upload)), 400


@bp.get("/questionnaires/<int:version_id>/translation.csv")
@roles_required(*READ)
def translation_template(version_id: int):
    """The CSV template of a translation (`?lang=`), filled with the loaded one if any."""
    version = _version_or_404(version_id)
    try:
        body = translations.export_csv(version, request.args.get("lang"))
    except ServiceError as exc:
        return _refused(version, exc)
    lang = languages.normalise(request.args.get("lang"))
    name = f"{version.questionnaire.code}-v{version.number}-{lang}.csv"
    return Response(body, mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.post("/questionnaires/<int:version_id>/translations")
@roles_required(*WRITE)
def translation_upload(version_id: int):
    version = _version_or_404(version_id)
    upload = TranslationUploadForm()
    if not upload.validate_on_submit():
        return _refused(version, ServiceError(
            _("Cần mã ngôn ngữ và tệp bản dịch (CSV); không có gì thay đổi.")), upload)
    try:
        row = translations.load(version, upload.lang.data, upload.file.data.read())
    except ServiceError as exc:
        return _refused(version, exc, upload)
    db.session.commit()
    flash(_("Đã nạp bản dịch %(lang)s của phiếu %(name)s: %(n)d phần.",
            lang=languages.name(row.lang), name=version.name, n=row.parts), "success")
    return redirect(url_for(".questionnaire_view", version_id=version.id))


@bp.post("/questionnaires/<int:version_id>/translations/<lang>/remove")
@roles_required(*WRITE)
def translation_remove(version_id: int, lang: str):
    version = _version_or_404(version_id)
    if not ConfirmForm().validate_on_submit():
        return _refused(version, ServiceError(_("Phiên làm việc đã hết hạn; hãy thử lại.")))
    try:
        translations.remove(version, lang)
    except ServiceError as exc:
        return _refused(version, exc)
    db.session.commit()
    flash(_("Đã xóa bản dịch %(lang)s của phiếu %(name)s.", lang=languages.name(lang),
            name=version.name), "success")
    return redirect(url_for(".questionnaire_view", version_id=version.id))
