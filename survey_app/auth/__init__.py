"""Staff sign-in (password, then a second factor for admins and auditors), sign-out, the
owner's own password, and the one-time links with which an owner sets their credentials.

Between the password and the second factor nobody is signed in: the half-finished
sign-in is only a note in the session (`PENDING`), which no other page honours.
"""


from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import InputRequired, Length

from ..extensions import db, limiter
from ..models import User
from ..security import events
from ..services import ServiceError, twofactor, users

bp = Blueprint("auth", __name__, url_prefix="/auth")

PENDING = "pending_sign_in"
PENDING_MAX_AGE = 600  # seconds between the password and the second factor
MAX_CODE_FAILURES = 5  # wrong codes before the password must be entered again


class LoginForm(FlaskForm):
    username = StringField(_l("Tên đăng nhập"), validators=[InputRequired()])
    password = PasswordField(_l("Mật khẩu"), validators=[InputRequired()])


class CodeForm(FlaskForm):
    code = StringField(_l("Mã xác thực"), validators=[InputRequired(), Length(max=40)])


class PasswordChangeForm(FlaskForm):
    current = PasswordField(_l("Mật khẩu hiện tại"), validators=[InputRequired()])
    new = PasswordField(_l("Mật khẩu mới"), validators=[InputRequired()])
    confirm = PasswordField(_l("Nhập lại mật khẩu mới"), validators=[InputRequired()])


class LinkForm(FlaskForm):
    new = PasswordField(_l("Mật khẩu mới"), validators=[InputRequired()])
    confirm = PasswordField(_l("Nhập lại mật khẩu mới"), validators=[InputRequired()])
    code = StringField(_l("Mã xác thực"), validators=[Length(max=40)])


@bp.after_request
def _no_store(response):
    # Secrets, recovery codes and one-time links are shown on these pages: never cached.
    response.headers["Cache-Control"] = "no-store"
    return response


def _login_limit():
    return current_app.config["LOGIN_RATE_LIMIT"]


def _failed(response) -> bool:
    return response.status_code >= 400


def _is_safe(target: str | None) -> bool:
    return bool(target) and target.startswith("/") and not target.startswith("//")


def _target(target: str | None) -> str:
    return target if _is_safe(target) else url_for("main.index")


def _sign_in(user: User, target: str | None, notice: str | None = None):
    # A fresh session at sign-in: nothing from before authentication carries over.
    session.clear()
    login_user(user)
    events.info("signed in user=%r", user.username)
    if notice:
        flash(notice, "warning")
    return redirect(_target(target))


@bp.route("/login", methods=["GET", "POST"])
# Only failed attempts count against an address: a successful login redirects.
@limiter.limit(_login_limit, methods=["POST"], deduct_when=lambda r: r.status_code != 302)
def login():
    form = LoginForm()
    if form.validate_on_submit():
        user = users.authenticate(form.username.data, form.password.data)
        events.info("sign-in %s user=%r", "password ok" if user else "refused",
                    form.username.data[:64])
        if user is not None:
            target = request.args.get("next")
            if not twofactor.required(user):
                db.session.commit()  # the time of this sign-in
                return _sign_in(user, target)
            # Not signed in yet: the time is recorded after the second step.
            session.clear()
            session[PENDING] = {"user": user.id, "tag": user.credentials_tag,
                                "at": twofactor.now(), "next": target, "failures": 0}
            return redirect(url_for(".second_step" if user.totp_secret else ".enrol"))
        flash(_("Sai tên đăng nhập hoặc mật khẩu."), "error")
        return render_template("auth/login.html", form=form), 401
    return render_template("auth/login.html", form=form)


def _pending() -> tuple[dict, User] | None:
    """The half-finished sign-in of this session, if it is still good."""
    state = session.get(PENDING)
    if not isinstance(state, dict):
        return None
    user = db.session.get(User, state.get("user") or 0)
    if (user is None or not user.active or state.get("tag") != user.credentials_tag
            or twofactor.now() - state.get("at", 0) > PENDING_MAX_AGE):
        session.pop(PENDING, None)
        return None
    return state, user


def _restart():
    flash(_("Phiên đăng nhập đã hết hạn hoặc chưa bắt đầu. Vui lòng đăng nhập lại."), "warning")
    return redirect(url_for(".login"))


def _count_failure(state: dict, message: str):
    state["failures"] = state.get("failures", 0) + 1
    events.info("sign-in code refused user_id=%s failures=%d", state.get("user"),
                state["failures"])
    if state["failures"] >= MAX_CODE_FAILURES:
        session.pop(PENDING, None)
        flash(_("Nhập sai mã quá nhiều lần. Vui lòng đăng nhập lại từ đầu."), "error")
        return None
    session[PENDING] = state
    flash(message, "error")
    return state


@bp.route("/two-factor", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"], deduct_when=_failed)
def second_step():
    pending = _pending()
    if pending is None:
        return _restart()
    state, user = pending
    if user.totp_secret is None:
        return redirect(url_for(".enrol"))
    form = CodeForm()
    if form.validate_on_submit():
        try:
            used = twofactor.verify(user, form.code.data)
        except ServiceError as exc:
            db.session.rollback()
            if _count_failure(state, exc.message) is None:
                return redirect(url_for(".login"))
            return render_template("auth/code.html", form=form), 401
        user.last_login_at = twofactor.utcnow()
        db.session.commit()
        notice = None
        if used == "recovery":
            notice = _("Đã dùng một mã khôi phục; còn lại %(n)d mã.",
                       n=twofactor.recovery_codes_left(user))
        return _sign_in(user, state.get("next"), notice)
    return render_template("auth/code.html", form=form)


@bp.route("/two-factor/setup", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"], deduct_when=_failed)
def enrol():
    pending = _pending()
    if pending is None:
        return _restart()
    state, user = pending
    if user.totp_secret is not None:
        return redirect(url_for(".second_step"))
    if not state.get("secret"):
        state["secret"] = twofactor.new_secret()
        session[PENDING] = state
    secret = state["secret"]
    form = CodeForm()
    status = 200
    if form.validate_on_submit():
        try:
            codes = twofactor.enrol(user, secret, form.code.data)
        except ServiceError as exc:
            db.session.rollback()
            if _count_failure(state, exc.message) is None:
                return redirect(url_for(".login"))
            status = 401
        else:
            user.last_login_at = twofactor.utcnow()
            db.session.commit()
            next_url = _target(state.get("next"))
            session.clear()
            login_user(user)
            return render_template("auth/recovery_codes.html", codes=codes, next_url=next_url)
    return render_template("auth/enrol.html", form=form, user=user, secret=secret,
                           **_enrolment(user, secret)), status


def _enrolment(user: User, secret: str) -> dict:
    uri = twofactor.provisioning_uri(user, secret)
    return {"qr": twofactor.qr_data_uri(uri), "grouped": " ".join(
        secret[i:i + 4] for i in range(0, len(secret), 4))}


@bp.post("/logout")
@login_required
def logout():
    events.info("signed out user=%r", current_user.username)
    logout_user()
    session.clear()
    flash(_("Đã đăng xuất."), "info")
    resp = redirect(url_for("auth.login"))
    # What this browser kept of the staff's pages goes too (a shared computer).
    resp.headers["Clear-Site-Data"] = '"cache", "storage"'
    return resp


@bp.route("/password", methods=["GET", "POST"])
@login_required
@limiter.limit(_login_limit, methods=["POST"], deduct_when=_failed)
def password():
    form = PasswordChangeForm()
    if form.validate_on_submit():
        try:
            users.change_password(current_user, form.current.data, form.new.data,
                                  form.confirm.data)
        except ServiceError as exc:
            db.session.rollback()
            flash(exc.message, "error")
            return render_template("auth/password.html", form=form), 400
        user = current_user._get_current_object()
        db.session.commit()
        login_user(user)  # this session goes on; those opened with the old password end
        flash(_("Đã đổi mật khẩu."), "success")
        return redirect(url_for("main.index"))
    return render_template("auth/password.html", form=form)


@bp.route("/link/<token>", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"], deduct_when=_failed)
def link(token: str):
    try:
        found = users.find_link(token)
    except ServiceError as exc:
        return render_template("error.html", code=410, message=exc.message), 410
    user = found.user
    needs_factor = twofactor.required(user)
    form = LinkForm()
    secret = None
    if needs_factor:
        # The secret being enrolled stays in this browser's session until it is confirmed.
        kept = session.get("link_secret")
        if not isinstance(kept, dict) or kept.get("link") != found.id:
            kept = {"link": found.id, "secret": twofactor.new_secret()}
            session["link_secret"] = kept
        secret = kept["secret"]
    status = 200
    if form.validate_on_submit():
        try:
            codes = users.use_link(found, form.new.data, form.confirm.data, secret,
                                   form.code.data)
        except ServiceError as exc:
            db.session.rollback()
            flash(exc.message, "error")
            for detail in exc.details:
                flash(detail, "error")
            status = 400
        else:
            db.session.commit()
            session.clear()
            login_user(user)
            flash(_("Đã đặt mật khẩu mới."), "success")
            if codes:
                return render_template("auth/recovery_codes.html", codes=codes,
                                       next_url=url_for("main.index"))
            return redirect(url_for("main.index"))
    elif request.method == "POST":
        status = 400
    extra = _enrolment(user, secret) if needs_factor else {}
    return render_template("auth/link.html", form=form, user=user, link=found,
                           needs_factor=needs_factor, secret=secret, **extra), status

