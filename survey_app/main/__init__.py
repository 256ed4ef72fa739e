"""Public pages shared by every audience: home, language switch, health check."""

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user

bp = Blueprint("main", __name__)

HOME_BY_ROLE = {"admin": "admin.index", "auditor": "admin.index", "clerk": "entry.index",
                "officer": "main.staff"}


@bp.get("/")
def index():
    if current_user.is_authenticated:
        return redirect(url_for(HOME_BY_ROLE.get(current_user.role, "main.staff")))
    return render_template("main/index.html")


@bp.get("/staff")
def staff():
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    return render_template("main/staff.html")


@bp.get("/lang/<code>")
def set_language(code):
    target = request.args.get("next") or url_for("main.index")
    if not target.startswith("/") or target.startswith("//"):
        target = url_for("main.index")
    return redirect(f"{target}{'&' if '?' in target else '?'}lang={code}")


@bp.get("/healthz")
def healthz():
    return {"status": "ok"}
