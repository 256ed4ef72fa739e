"""Results pages: indices, charts, comparisons, exports, reports and sample planning.

Sở Nội vụ (admin) and MTTQ (auditor) see the whole province; an officer sees only their
own agency's subtree (asking for another agency is refused with 403). Clerks have no
access. Every computation is in services.results / services.reports / services.planning.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask import Response as HttpResponse
from flask_login import current_user
from sqlalchemy import select

import analysis

from ..extensions import db
from ..models import Agency, Campaign
from ..security import roles_required
from ..services import ServiceError, agencies, planning, reports, results, tally

bp = Blueprint("results", __name__, url_prefix="/results", cli_group=None)

VIEWERS = ("admin", "auditor", "officer")
PLANNERS = ("admin", "auditor")
WRITE = ("admin",)
FILTER_ARGS = ("agency", "rejected", "also")


@bp.context_processor
def _helpers():
    return {"num": reports.number, "ci": reports.interval,
            "CHANNEL_LABELS": results.CHANNEL_LABELS, "MIN_N": analysis.MIN_N_FOR_RANKING}


# --- request parsing ----------------------------------------------------------------------

def _campaign_or_404(code: str) -> Campaign:
    try:
        return results.get(code)
    except ServiceError:
        abort(404)


def _scope() -> str | None:
    """The agency whose subtree the request may see: an officer's own (or one below it),
    anything for Sở Nội vụ and MTTQ (None = the whole province)."""
    requested = (request.args.get("agency") or "").strip() or None
    agency = None
    if requested is not None:
        agency = db.session.scalar(select(Agency).filter_by(code=requested))
        if agency is None:
            abort(404)
    if current_user.role == "officer":
        own = current_user.agency
        if own is None:
            abort(403)
        if agency is None:
            return own.code
        if agency.id not in agencies.subtree_ids(own):
            abort(403)
    return agency.code if agency is not None else None


def _exclude_rejected() -> bool:
    return request.args.get("rejected") != "include"


def _selection(code: str) -> list[Campaign]:
    """The campaign of the URL plus any `also=` campaigns (an annual report)."""
    chosen = [_campaign_or_404(code)]
    for extra in request.args.getlist("also"):
        if extra and extra not in [c.code for c in chosen]:
            chosen.append(_campaign_or_404(extra))
    return chosen


def _query() -> dict:
    """The current filters, to carry into links (charts, downloads, reports)."""
    out = {}
    for name in FILTER_ARGS:
        values = [v for v in request.args.getlist(name) if v]
        if values:
            out[name] = values if name == "also" else values[0]
    return out


def _flash(exc: ServiceError) -> None:
    flash(exc.message, "error")
    for detail in exc.details:
        flash(detail, "error")


def _refuse(exc: ServiceError, status: int = 400):
    """Show the service's reasons on the error page (4xx)."""
    db.session.rollback()
    _flash(exc)
    abort(status)


def _tally_checked(campaigns) -> None:
    """Refuse (409, naming each fault) results computed from a tally that does not match
    the responses it counts (`services.tally.guard`)."""
    try:
        for campaign in campaigns:
            tally.guard(campaign)
    except ServiceError as exc:
        _refuse(exc, 409)


def _results(campaigns, scope):
    _tally_checked(campaigns)
    try:
        return results.combined_indices(campaigns, agency=scope,
                                        exclude_rejected=_exclude_rejected(),
                                        **results.default_options())
    except ServiceError as exc:
        _refuse(exc)


def _download(body, filename: str, mimetype: str) -> HttpResponse:
    return HttpResponse(body, mimetype=mimetype,
                        headers={"Content-Disposition": f"attachment; filename={filename}"})


def _campaign_choices() -> list[Campaign]:
    return list(db.session.scalars(select(Campaign).order_by(Campaign.opens_at.desc(),
                                                             Campaign.id.desc())))


def _agency_choices() -> list[Agency]:
    ordered = agencies.tree_order()
    if current_user.role == "officer":
        allowed = agencies.subtree_ids(current_user.agency)
        ordered = [a for a in ordered if a.id in allowed]
    return ordered


# --- pages -------------------------------------------------------------------------------

@bp.get("/")
@roles_required(*VIEWERS)
def index():
    return render_template("results/index.html", campaigns=_campaign_choices())


@bp.get("/<code>")
@roles_required(*VIEWERS)
def dashboard(code: str):
    switch = (request.args.get("campaign") or "").strip()
    if switch and switch != code:
        # The filter form's campaign selector: same filters, other campaign.
        args = {k: v for k, v in request.args.items() if k not in ("campaign", "compare")}
        return redirect(url_for(".dashboard", code=switch, **args))
    campaign = _campaign_or_404(code)
    scope = _scope()
    current = _results([campaign], scope)
    change = baseline = split = None
    compare_code = (request.args.get("compare") or "").strip()
    if compare_code:
        baseline = _campaign_or_404(compare_code)
        change = results.compare(current, _results([baseline], scope))
    by = (request.args.get("by") or "").strip()
    if by:
        try:
            split = results.breakdown([campaign], by, agency=scope,
                                      exclude_rejected=_exclude_rejected(),
                                      **results.default_options())
        except ServiceError as exc:
            _refuse(exc)
    return render_template(
        "results/dashboard.html", campaign=campaign, r=current, change=change,
        baseline=baseline, split=split, by=by, query=_query(),
        campaigns=_campaign_choices(), agency_choices=_agency_choices(),
        breakdown_options=results.breakdown_options(current.codebook),
        method=reports.method_lines(current))


@bp.get("/<code>/chart/<any(ranking, heatmap, likert, trend):kind>.<any(png, svg):fmt>")
@roles_required(*VIEWERS)
def chart(code: str, kind: str, fmt: str):
    chosen = _selection(code)
    scope = _scope()
    current = _results(chosen, scope)
    trend = None
    if kind == "trend":
        trend = results.trend(scope, exclude_rejected=_exclude_rejected(),
                              **results.default_options())
    body = results.chart(kind, current, fmt, trend_data=trend)
    mimetype = "image/png" if fmt == "png" else "image/svg+xml"
    return HttpResponse(body, mimetype=mimetype, headers={"Cache-Control": "private, max-age=60"})


@bp.get("/<code>/indices.csv")
@roles_required(*VIEWERS)
def indices_csv(code: str):
    current = _results(_selection(code), _scope())
    return _download(results.indices_csv(current), f"{code}-indices.csv",
                     "text/csv; charset=utf-8")


@bp.get("/<code>/responses.csv")
@roles_required(*VIEWERS)
def responses_csv(code: str):
    campaign = _campaign_or_404(code)
    pieces = results.iter_responses_csv(campaign, agency=_scope())
    return _download(stream_with_context(pieces), "responses.csv", "text/csv; charset=utf-8")


@bp.get("/<code>/codebook.csv")
@roles_required(*VIEWERS)
def codebook_csv(code: str):
    campaign = _campaign_or_404(code)
    return _download(results.csv_text(results.export_codebook(campaign)), "codebook.csv",
                     "text/csv; charset=utf-8")


@bp.get("/<code>/export.xlsx")
@roles_required(*VIEWERS)
def export_xlsx(code: str):
    campaign = _campaign_or_404(code)
    try:
        body = results.export_xlsx(campaign, agency=_scope())
    except ServiceError as exc:
        _refuse(exc)
    return _download(body, f"{code}-export.xlsx",
                     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@bp.get("/<code>/report")
@roles_required(*VIEWERS)
def report(code: str):
    current = _results(_selection(code), _scope())
    return render_template("results/report.html", r=current, code=code, query=_query(),
                           reports=reports)


@bp.get("/<code>/report.<any(xlsx, pdf):fmt>")
@roles_required(*VIEWERS)
def report_file(code: str, fmt: str):
    current = _results(_selection(code), _scope())
    if fmt == "xlsx":
        return _download(reports.xlsx(current), f"bao-cao-{code}.xlsx",
                         "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    return _download(reports.pdf(current), f"bao-cao-{code}.pdf", "application/pdf")


# --- sample planning ---------------------------------------------------------------------

@bp.route("/<code>/plan", methods=["GET", "POST"])
@roles_required(*PLANNERS)
def plan(code: str):
    campaign = _campaign_or_404(code)
    if request.method == "POST":
        if current_user.role not in WRITE:
            abort(403)
        plan_ = planning.Plan()
        try:
            plan_ = planning.parse(campaign, request.form)
            _, total = planning.save(campaign, plan_)
        except ServiceError as exc:
            db.session.rollback()
            _flash(exc)
            return _plan_page(campaign, plan_, computed=False, status=400)
        db.session.commit()
        flash(f"Đã lưu kế hoạch mẫu: tổng {total} phiếu.", "success")
        return redirect(url_for(".plan", code=code))
    computed = "method" in request.args
    try:
        plan_ = planning.parse(campaign, request.args)
    except ServiceError as exc:
        _flash(exc)
        return _plan_page(campaign, planning.Plan(), computed=False, status=400)
    return _plan_page(campaign, plan_, computed=computed)


def _plan_page(campaign: Campaign, plan_: planning.Plan, *, computed: bool, status: int = 200):
    if not plan_.populations:
        plan_.populations = {s.agency.code: s.population for s in campaign.scope}
    rows, total = planning.propose(campaign, plan_)
    return render_template("results/plan.html", campaign=campaign, plan=plan_, rows=rows,
                           total=total, computed=computed, methods=planning.METHODS,
                           bases=planning.BASES), status


from . import commands  # noqa: E402,F401  (registers the CLI commands on bp.cli)
