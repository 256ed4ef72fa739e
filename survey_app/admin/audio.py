"""The read-aloud audio of a questionnaire version, per language: which parts (the
introduction, each question) have a clip and which are missing, the button that makes
them with the speech engine, and a recording's upload, replacement and removal for a
language without a voice."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from .. import languages
from ..extensions import db
from ..security import roles_required
from ..services import ServiceError, audio
from . import READ, WRITE, _may_write, _version_or_404, bp
from .forms import AudioForm, AudioUploadForm

#: Room for the form's other fields around the largest recording accepted.
UPLOAD_SLACK = 1024 * 1024


@bp.url_value_preprocessor
def _upload_limit(endpoint, values):
    """Admit a recording in the upload's request: the application's limit is sized for
    survey answers. Set here because URL preprocessors run before the CSRF check, which
    reads the body."""
    if endpoint == "admin.audio_upload":
        request.max_content_length = (current_app.config["AUDIO_MAX_UPLOAD_BYTES"]
                                      + UPLOAD_SLACK)


def _page(version, lang: str, status: int = 200):
    stored = audio.stored_languages(version)
    offered = [code for code in current_app.config["LANGUAGES"] if code not in stored]
    try:
        parts = audio.overview(version, lang) if lang else []
    except ServiceError as exc:
        flash(exc.message, "error")
        parts, lang, status = [], "", 400
    return render_template(
        "admin/audio.html", version=version, lang=lang, parts=parts,
        missing=sum(1 for p in parts if p.record is None), language_name=languages.name,
        choices=stored + offered, can_voice=bool(lang) and audio.can_voice(lang),
        may_write=_may_write(), accept=AudioUploadForm.ACCEPT), status


@bp.get("/questionnaires/<int:version_id>/audio")
@roles_required(*READ)
def audio_view(version_id: int):
    version = _version_or_404(version_id)
    wanted = request.args.get("lang", "")
    return _page(version, (languages.normalise(wanted) or wanted) if wanted else "vi")


def _done(version, lang: str, message: str):
    db.session.commit()
    flash(message, "success")
    return redirect(url_for(".audio_view", version_id=version.id, lang=lang))


def _refused(version, lang: str, exc: ServiceError):
    db.session.rollback()
    flash(exc.message, "error")
    return _page(version, languages.normalise(lang), 400)


@bp.post("/questionnaires/<int:version_id>/audio/make")
@roles_required(*WRITE)
def audio_make(version_id: int):
    version = _version_or_404(version_id)
    form = AudioForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        made = audio.make_audio(version, form.lang.data)
    except ServiceError as exc:
        return _refused(version, form.lang.data, exc)
    return _done(version, made.lang, _(
        "Đã tạo %(made)d tệp âm thanh, giữ nguyên %(kept)d, %(recorded)d phần dùng bản ghi "
        "âm.", made=made.made, kept=made.kept, recorded=made.recorded))


@bp.post("/questionnaires/<int:version_id>/audio/upload")
@roles_required(*WRITE)
def audio_upload(version_id: int):
    version = _version_or_404(version_id)
    form = AudioUploadForm()
    try:
        if not form.validate_on_submit():
            raise ServiceError(str(next(iter(form.errors.get("file", ())), "")) or
                               _("Yêu cầu không hợp lệ; vui lòng tải lại trang."))
        audio.upload_recording(version, form.lang.data, form.part.data,
                               form.file.data.read())
    except ServiceError as exc:
        return _refused(version, form.lang.data, exc)
    return _done(version, languages.normalise(form.lang.data),
                 _("Đã lưu bản ghi âm của phần %(part)s.", part=form.part.data))


@bp.post("/questionnaires/<int:version_id>/audio/remove")
@roles_required(*WRITE)
def audio_remove(version_id: int):
    version = _version_or_404(version_id)
    form = AudioForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        audio.remove_clip(version, form.lang.data, form.part.data)
    except ServiceError as exc:
        return _refused(version, form.lang.data, exc)
    return _done(version, languages.normalise(form.lang.data),
                 _("Đã xóa âm thanh của phần %(part)s.", part=form.part.data))
