"""Public pages shared by every audience: home, language switch, health check, metrics."""

import ipaddress

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_login import current_user

from .. import metrics, observability

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
    """The database and (when the rate limits are kept there) Redis: 200 when every part
    in use answers, else 503 — for a load balancer or a monitor, never a 500."""
    try:
        report = observability.health(current_app)
    except Exception:  # a check that failed in an unforeseen way is still an answer
        current_app.logger.exception("health check")
        report = {"status": "error"}
    resp = current_app.json.response(report)
    resp.status_code = 200 if report["status"] == "ok" else 503
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.get("/metrics")
def prometheus_metrics():
    """Prometheus' scrape, only from the networks in METRICS_ALLOWED; a 404 to anyone
    else, as for a page that does not exist."""
    if not _metrics_allowed(request.remote_addr):
        abort(404)
    body, content_type = metrics.exposition()
    return body, 200, {"Content-Type": content_type, "Cache-Control": "no-store"}


def _metrics_allowed(address: str | None) -> bool:
    networks = current_app.extensions.get("metrics_allowed")
    if networks is None:
        allowed = current_app.config["METRICS_ALLOWED"]
        if isinstance(allowed, str):  # SURVEY_METRICS_ALLOWED="10.0.0.5/32,::1/128"
            allowed = [part for part in allowed.split(",") if part.strip()]
        networks = current_app.extensions["metrics_allowed"] = [
            ipaddress.ip_network(net.strip(), strict=False) for net in allowed]
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in net for net in networks)
