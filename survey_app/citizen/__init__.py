"""The citizen's survey: open links (posters), single-use links (numbered forms and
invitations), the thank-you page with a receipt, and the public receipt check.

Showing a form writes nothing: the only state is in the page (a signed start time) and
the visitor's cookies.
"""

from __future__ import annotations

import io

from flask import (
    Blueprint,
    current_app,
    g,
    make_response,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _

from .. import intake, wording
from ..extensions import csrf, db
from ..security import ERROR_TEXT
from ..services import ServiceError, contacts, kiosks, translations
from ..speech.store import store_of
from ..speech.texts import INTRO
from ..survey_form import (
    bound_form_with_errors,
    pristine_questions,
    sections,
    spec,
)
from . import pages

bp = Blueprint("citizen", __name__)


def page_language(version_id: int):
    """The language of a citizen's page of the version: `?lang=` or the `lang` cookie —
    Vietnamese, English or a translation loaded for the version (a `wording.Wording`);
    anything else gives Vietnamese. Kept in `g.survey_lang` for the templates' `word` and
    `in_lang`; returns (language, the version's loaded translations)."""
    available = translations.offered(version_id, current_app)
    wanted = request.args.get("lang") or request.cookies.get("lang")
    if wanted in current_app.config["LANGUAGES"]:
        lang = str(get_locale())
    else:
        lang = translations.page_language(version_id, wanted, available)
    g.survey_lang = lang
    return lang, available


def language_choices(version, lang: str, available) -> list[dict]:
    """The languages the page is offered in, by their own names, but the page's own."""
    offered = [("vi", "Tiếng Việt")] + ([("en", "English")] if version.has_english else [])
    offered += [(code, translations.own_name(version.id, code, rev)) for code, rev in available]
    return [{"code": code, "name": name} for code, name in offered if code != str(lang)]


@bp.app_template_global("word")
def _word(key: str, plain: bool = False):
    """A fixed word of the citizen's pages in the page's language (`wording.word`)."""
    return wording.word(key, g.get("survey_lang") or str(get_locale()), plain)


@bp.app_template_global("in_lang")
def _in_lang(text: str, text_lang: str):
    """A text marked when it is not in the page's language (`wording.in_lang`)."""
    return wording.in_lang(text, text_lang, g.get("survey_lang") or str(get_locale()))


@bp.after_request
def _keep_language(response):
    """A translation chosen with `?lang=` is kept in the `lang` cookie, as Vietnamese and
    English are (`security`): the answer's POST and the thank-you page keep it."""
    lang = g.get("survey_lang")
    if isinstance(lang, wording.Wording) and request.args.get("lang") \
            and request.cookies.get("lang") != lang:
        response.set_cookie("lang", lang.code, max_age=365 * 86400, samesite="Lax",
                            secure=current_app.config.get("SESSION_COOKIE_SECURE", False),
                            httponly=True)
    return response


#: A year: a clip's address changes with its content (`speech.store`).
AUDIO_MAX_AGE = 365 * 86400
#: `?nghe=1`: the page with a read-aloud player for each question (when its clips are
#: made). The page without them stays light; it links to this one.
LISTEN_PARAM = "nghe"


def _clips(version_id: int, lang: str):
    """(the clips the page plays, the clips there are): the first only when the citizen
    asked to listen (`?nghe=1`)."""
    clips = store_of().clips(version_id, lang)
    return (clips if clips and request.args.get(LISTEN_PARAM) == "1" else None), clips


def _message(title: str, text: str, status: int, *, kiosk: bool = False,
             refresh: int | None = None):
    """A citizen's page with one message; on a kiosk without links away, and reloaded
    after `refresh` seconds when set (a kiosk waiting for its campaign)."""
    return render_template("survey/message.html", title=title, text=text, kiosk=kiosk,
                           refresh=refresh), status


def _refused(exc: ServiceError):
    """The page for a link that cannot take an answer (see intake.refusal)."""
    if isinstance(exc, intake.TooMany):
        return _message(_("Quá nhiều phiếu"), str(ERROR_TEXT[429]), 429)
    if isinstance(exc, intake.FormAlreadyUsed):
        return _message(_("Phiếu đã được sử dụng"),
                        _("Phiếu này đã được trả lời; mỗi phiếu chỉ dùng một lần."), 409)
    if isinstance(exc, intake.SubmissionConflict):
        return _message(_("Phiếu đã được gửi trước đó"), _(exc.message), 409)
    if isinstance(exc, intake.FormVoid):
        return _message(_("Phiếu đã bị hủy"), _("Phiếu này đã bị hủy và không dùng được."), 410)
    if isinstance(exc, intake.FormExpired):
        return _message(_("Đường dẫn đã hết hạn"),
                        _("Lời mời trả lời khảo sát này đã hết hạn."), 410)
    return _message(_("Không nhận phiếu"), _(exc.message), 410)


def _untouched_page(target, lang: str, available, kiosk: bool = False
                    ) -> tuple[bytes, bytes]:
    """The survey page before any answer, as bytes around the form token (cached)."""
    app = current_app._get_current_object()
    cache = pages.page_cache(app)
    audio, clips = _clips(target.campaign.version_id, lang)
    key = pages.page_key(app, target, lang, available, listen=audio is not None, kiosk=kiosk)
    parts = cache.get(key)
    if parts is None:
        version = spec(target.campaign.version_id)
        parts = cache.put(key, render_template(
            "survey/form.html", version=version, form=None, preview=False, sections=None,
            questions_html=pristine_questions(version, lang, audio),
            intro_audio=audio.url(INTRO) if audio else None, listen=bool(clips),
            agency_name=target.agency.name,
            campaign_name=target.campaign.name, csrf_value=pages.TOKEN_MARK, page_lang=lang,
            languages=language_choices(version, lang, available), kiosk=kiosk))
    return parts


def _channel(kiosk) -> str | None:
    """The response's channel when it is not the link's own: `kiosk` on a kiosk."""
    return "kiosk" if kiosk is not None else None


def _device(kiosk) -> str | None:
    """What the form token is bound to and the response's device: the kiosk's id on a
    kiosk (`services.kiosks`), else the browser's device cookie."""
    if kiosk is not None:
        return kiosks.device_of(kiosk.id)
    return request.cookies.get(pages.DEVICE_COOKIE)


def _render_form(target, form=None, status: int = 200, notice: str | None = None,
                 contact_error: str | None = None, token: str | None = None, kiosk=None):
    """The survey page: untouched (from the cache, only the token fresh) or, after a
    refused submission, with the answers kept and each error beside its question.
    `kiosk`: the kiosk it is shown on (its page: large targets, nothing kept)."""
    app = current_app._get_current_object()
    lang, available = page_language(target.campaign.version_id)
    device = _device(kiosk)
    new_device = None if device else pages.new_device_id()
    token = token or pages.issue_token(app, device or new_device)
    if form is None:
        head, tail = _untouched_page(target, lang, available, kiosk is not None)
        resp = make_response(head + token.encode() + tail, status)
    else:
        version = spec(target.campaign.version_id)
        audio, clips = _clips(version.id, lang)
        resp = make_response(render_template(
            "survey/form.html", version=version, form=form, preview=False,
            sections=sections(version, form, lang, audio), listen=bool(clips),
            intro_audio=audio.url(INTRO) if audio else None,
            agency_name=target.agency.name, page_lang=lang,
            languages=language_choices(version, lang, available),
            campaign_name=target.campaign.name, notice=notice, csrf_value=token,
            contact_error=contact_error, kiosk=kiosk is not None,
            recheck_consent=request.form.get(contacts.CONSENT_FIELD) == "y",
            recheck_phone=request.form.get(contacts.PHONE_FIELD, "")), status)
    resp.headers["Cache-Control"] = "no-store"
    if new_device:
        resp.headers.add("Set-Cookie", pages.device_cookie(app, new_device))
    return resp


def _submit(target, kiosk=None):
    """Accept the answers (`intake.accept`); returns the page to send: errors, refusal or
    the receipt's redirect. `kiosk`: the kiosk they come from (channel `kiosk`, its own
    limit)."""
    app = current_app._get_current_object()
    version = spec(target.campaign.version_id)
    lang, _available = page_language(version.id)
    token = request.form.get(pages.TOKEN_FIELD)
    device = _device(kiosk)
    opened_at = pages.shown_at(app, token, device)
    if opened_at is None:
        # No token, a forged one, another browser's, or too old: the answers are kept.
        form = bound_form_with_errors(version, lang, {})
        return _render_form(target, form, 400, notice=wording.word("expired", lang),
                            kiosk=kiosk)
    raw, duplicates = intake.raw_answers(version, request.form.items(multi=True))
    contact_error = None
    try:
        phone = contacts.validate_contact(request.form.get(contacts.PHONE_FIELD),
                                          request.form.get(contacts.CONSENT_FIELD) == "y")
    except ServiceError as exc:
        phone, contact_error = None, _(exc.message)
    if duplicates or contact_error:
        # Every fault at once: the answers' too, though the number alone stops it.
        _clean, invalid = intake.validate(version, raw)
        return _with_errors(target, {**invalid, **duplicates}, contact_error, token, kiosk)
    if request.form.get("website"):
        # A honeypot field was filled: a bot. Say thanks, store nothing.
        return redirect(url_for(".kiosk_thanks" if kiosk else ".thanks", code="-"), 303)
    address = request.remote_addr
    if kiosk is not None:
        admit = lambda: pages.allow_kiosk_submission(app, kiosk.id)  # noqa: E731
    elif target.open_code:
        admit = lambda: pages.allow_open_submission(app, address)  # noqa: E731
    else:
        admit = None
    try:
        response = intake.accept(
            target, raw, channel=_channel(kiosk), opened_at=opened_at,
            client=address, device=device, submission=token, admit=admit)
        if phone and not response.repeated:
            # Consented, kept apart from the answers, erased once the check is recorded.
            contacts.store_contact(response.id, phone, True)
        if kiosk is not None and not response.repeated:
            kiosks.note_use(kiosk)
        db.session.commit()
    except intake.InvalidAnswers as exc:
        db.session.rollback()
        return _with_errors(target, exc.errors, None, token, kiosk)
    except intake.TooMany as exc:
        db.session.rollback()
        if kiosk is None:
            return _refused(exc)
        # The citizen's answers stay on the page: the same button sends them once the
        # kiosk's pause is over.
        form = bound_form_with_errors(version, lang, {})
        return _render_form(target, form, 429, token=token, kiosk=kiosk, notice=_(
            "Xin vui lòng chờ một chút rồi bấm Gửi lại: máy chưa nhận phiếu tiếp theo "
            "ngay được. Phiếu chưa được lưu."))
    except (intake.FormAlreadyUsed, intake.CampaignClosed, intake.FormVoid,
            intake.FormExpired, intake.SubmissionConflict) as exc:
        db.session.rollback()
        return _refused(exc)
    return _receipt(target, response, kiosk)


def _with_errors(target, errors: dict, contact_error: str | None, token: str, kiosk=None):
    """The posted form again, answers kept, each error beside its question."""
    version = spec(target.campaign.version_id)
    lang, _available = page_language(version.id)
    form = bound_form_with_errors(version, lang, errors)
    return _render_form(target, form, 400, contact_error=contact_error, token=token,
                        kiosk=kiosk)


def _receipt(target, response, kiosk=None):
    """The answer to a stored submission (or a repeat of one): its thank-you page (in
    the page's translation, if it was in one; a kiosk's own, which clears the language)."""
    if kiosk is not None:
        return redirect(url_for(".kiosk_thanks", code=response.receipt_code), 303)
    lang = g.get("survey_lang")
    resp = redirect(url_for(".thanks", code=response.receipt_code,
                            lang=lang.code if isinstance(lang, wording.Wording) else None), 303)
    if target.open_code:
        resp.headers.add("Set-Cookie", pages.answered_cookie(
            current_app, target.open_code, response.receipt_code, target.campaign.closes_at))
    return resp


def _answer_to_repeat(target, kiosk=None):
    """The answer to a POST that repeats a stored submission: that one's receipt, or the
    refusal of its key sent with other answers; None for a new submission."""
    try:
        earlier = _stored_before(target, kiosk)
    except intake.SubmissionConflict as exc:
        return _refused(exc)
    return None if earlier is None else _receipt(target, earlier, kiosk)


def _stored_before(target, kiosk=None):
    """The response a POST repeats (same signed form token, sent again), or None."""
    token = request.form.get(pages.TOKEN_FIELD)
    device = _device(kiosk)
    opened_at = pages.shown_at(current_app, token, device)
    if opened_at is None:
        return None
    return intake.repeat_of(target, request.form.items(multi=True), token, device, opened_at,
                            channel=_channel(kiosk))


def _serve(target):
    """A link that was found: refused, answers taken (POST) or the form shown (GET)."""
    # A repeat of a stored submission gets its receipt, before the refusals that the
    # first one brought about (link used, "already answered" cookie, the address's limit).
    repeat = _answer_to_repeat(target) if request.method == "POST" else None
    if repeat is not None:
        return repeat
    refused = (intake.submission_refusal if request.method == "POST" else intake.refusal)(
        target)
    if refused is not None:
        return _refused(refused)
    previous = target.open_code and request.cookies.get(
        pages.answered_cookie_name(target.open_code))
    if previous:
        return _message(_("Ông/Bà đã trả lời khảo sát này"),
                        _("Cảm ơn Ông/Bà. Mã biên nhận: %(code)s", code=previous),
                        409 if request.method == "POST" else 200)
    if request.method == "POST":
        return _submit(target)
    return _render_form(target)


@bp.route("/k/<open_code>", methods=["GET", "POST"])
@csrf.exempt
def open_link(open_code: str):
    """The poster's link: anyone may answer, once per browser."""
    scope = intake.find_scope(open_code)
    if scope is None:
        return _message(_("Không tìm thấy khảo sát"),
                        _("Đường dẫn không đúng. Vui lòng quét lại mã QR."), 404)
    return _serve(scope)


@bp.route("/f/<token>", methods=["GET", "POST"])
@csrf.exempt
def single_use(token: str):
    """A numbered paper form's or an invitation's own link: accepted exactly once."""
    target = intake.find_form(token)
    if target is None:
        return _message(_("Đường dẫn không hợp lệ"),
                        _("Không tìm thấy phiếu này. Vui lòng kiểm tra lại mã QR."), 404)
    return _serve(target)


@bp.get("/cam-on/<code>")
def thanks(code: str):
    response = intake.by_receipt(code) if code != "-" else None
    if response is not None:
        page_language(response.campaign.version_id)
    return render_template("survey/thanks.html", response=response)


@bp.get("/nghe/<int:version_id>/<lang>/<name>")
def audio(version_id: int, lang: str, name: str):
    """A read-aloud clip. Its name holds its content's digest, so it never changes: the
    browser may keep it for a year without asking again."""
    clip = store_of(current_app).read(version_id, lang, name)
    if clip is None:
        return _message(_("Không tìm thấy tệp âm thanh"),
                        _("Tệp âm thanh này không có hoặc đã được thay bằng tệp mới; vui "
                          "lòng tải lại trang khảo sát."), 404)
    # Sent from memory (a clip is a few KB): no file stays open when a phone stops
    # listening half-way through.
    resp = send_file(io.BytesIO(clip.data), mimetype=clip.mimetype, conditional=True,
                     etag=clip.digest, max_age=AUDIO_MAX_AGE, download_name=name,
                     last_modified=clip.modified)
    resp.cache_control.public = True
    resp.cache_control.immutable = True
    return resp


@bp.get("/bien-nhan")
def receipt():
    """Public check of a receipt code: counted or not, where and when — never the answers."""
    code = (request.args.get("code") or "").strip()[:40]
    response = intake.by_receipt(code) if code else None
    status = 404 if code and response is None else 200
    return render_template("survey/receipt.html", code=code, response=response), status


# The kiosk's pages (registered on `bp`); imported last because they import from here.
from . import kiosk_mode  # noqa: E402,F401
