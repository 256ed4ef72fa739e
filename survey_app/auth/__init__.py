"""Staff login and logout."""

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
from flask_login import login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import InputRequired

from ..extensions import db, limiter
from ..services import users

bp = Blueprint("auth", __name__, url_prefix="/auth")


class LoginForm(FlaskForm):
    username = StringField(_l("Tên đăng nhập"), validators=[InputRequired()])
    password = PasswordField(_l("Mật khẩu"), validators=[InputRequired()])


def _login_limit():
    return current_app.config["LOGIN_RATE_LIMIT"]


def _is_safe(target: str | None) -> bool:
    return bool(target) and target.startswith("/") and not target.startswith("//")


@bp.route("/login", methods=["GET", "POST"])
# Only failed attempts count against an address: a successful login redirects.
@limiter.limit(_login_limit, methods=["POST"], deduct_when=lambda r: r.status_code != 302)
def login():
    form = LoginForm()
    if form.validate_on_submit():
        user = users.authenticate(form.username.data, form.password.data)
        if user is not None:
            # A fresh session at login: nothing from before authentication carries over.
            session.clear()
            login_user(user)
            db.session.commit()
            target = request.args.get("next")
            return redirect(target if _is_safe(target) else url_for("main.index"))
        flash(_("Sai tên đăng nhập hoặc mật khẩu."), "error")
        return render_template("auth/login.html", form=form), 401
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
@login_required
def logout():
    logout_user()
    session.clear()
    flash(_("Đã đăng xuất."), "info")
    return redirect(url_for("auth.login"))
