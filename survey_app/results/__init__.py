"""Results pages: indices, charts, comparisons, exports, reports and sample planning.

Sở Nội vụ (admin) and MTTQ (auditor) see the whole province; an officer sees only their
own agency's subtree (asking for another agency is refused with 403), and aggregates
only: no response rows, breakdowns with small cells hidden, comments once released.
Clerks have no access. Every computation is in services.results / services.reports /
services.planning / services.comments.
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
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

import analysis

from ..extensions import db
from ..models import Agency, Campaign
from ..security import roles_required
from ..services import ServiceError, agencies, comments, planning, reports, results, tally

bp = Blueprint("results", __name__, url_prefix="/results", cli_group=None)

VIEWERS = ("admin", "auditor", "officer")
PLANNERS = ("admin", "auditor")
#: Who may take response rows away (CSV, XLSX): never an agency's own officer.
ROW_READERS = ("admin", "auditor")
WRITE = ("admin",)
FILTER_ARGS = ("agency", "rejected", "also")


@bp.context_processor
def _helpers():
    lang = str(get_locale())  # the one number format, in the page's language
    return {"num": lambda value, digits=1: reports.number(value, digits, lang),
            "ci": lambda low, high: reports.interval(low, high, lang),
            # The channels' names in the page's language (the report keeps them Vietnamese).
            "CHANNEL_LABELS": {code: _(label) for code, label in results.CHANNEL_LABELS.items()},
            "MIN_N": analysis.MIN_N_FOR_RANKING, "ROW_READERS": ROW_READERS}


def _is_officer() -> bool:
    return current_user.role == "officer"


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


def _results(campaigns, scope):
    try:
        return results.combined_indices(campaigns, agency=scope,
                                        exclude_rejected=_exclude_rejected(),
                                        **results.default_options())
    except tally.TallyMismatch as exc:
        _refuse(exc, 409)
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
    hide = _is_officer()
    return render_template(
        "results/dashboard.html", campaign=campaign, r=current, change=change,
        baseline=baseline, split=split, by=by, query=_query(), suppressed=hide,
        channel_rows=_channel_rows(current, hide),
        by_channel=results.disclosed_channel_totals(current) if hide
        else current.channel_totals(),
        hidden=results.hidden_groups(split) if hide and split else set(),
        legend=reports.suppression_legend(),
        campaigns=_campaign_choices(), agency_choices=_agency_choices(),
        breakdown_options=results.breakdown_options(current.codebook),
        method=reports.method_lines(current))


def _channel_rows(current, hide: bool) -> list[dict]:
    table = results.disclosed_channel_table(current) if hide else current.channel_table()
    return table.to_dict("records")


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
@roles_required(*ROW_READERS)
def responses_csv(code: str):
    campaign = _campaign_or_404(code)
    scope = _scope()
    results.record_row_export(campaign, "responses.csv", scope)
    db.session.commit()
    pieces = results.iter_responses_csv(campaign, agency=scope)
    return _download(stream_with_context(pieces), "responses.csv", "text/csv; charset=utf-8")


@bp.get("/<code>/codebook.csv")
@roles_required(*VIEWERS)
def codebook_csv(code: str):
    campaign = _campaign_or_404(code)
    return _download(results.csv_text(results.export_codebook(campaign)), "codebook.csv",
                     "text/csv; charset=utf-8")


@bp.get("/<code>/export.xlsx")
@roles_required(*ROW_READERS)
def export_xlsx(code: str):
    campaign = _campaign_or_404(code)
    scope = _scope()
    try:
        body = results.export_xlsx(campaign, agency=scope)
    except ServiceError as exc:
        _refuse(exc)
    results.record_row_export(campaign, "export.xlsx", scope)
    db.session.commit()
    return _download(body, f"{code}-export.xlsx",
                     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@bp.get("/<code>/report")
@roles_required(*VIEWERS)
def report(code: str):
    current = _results(_selection(code), _scope())
    # The print view is the published report: small cells hidden for every reader.
    return render_template("results/report.html", r=current, code=code, query=_query(),
                           reports=reports, channel_rows=_channel_rows(current, True),
                           suppressed=True, legend=reports.suppression_legend())


@bp.get("/<code>/report.<any(xlsx, pdf):fmt>")
@roles_required(*VIEWERS)
def report_file(code: str, fmt: str):
    current = _results(_selection(code), _scope())
    if fmt == "xlsx":
        return _download(reports.xlsx(current), f"bao-cao-{code}.xlsx",
                         "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    return _download(reports.pdf(current), f"bao-cao-{code}.pdf", "application/pdf")


# --- free-text comments ------------------------------------------------------------------

def _agency_ids(scope: str | None) -> set[int] | None:
    if scope is None:
        return None
    return agencies.subtree_ids(agencies.get_by_code(scope))


@bp.get("/<code>/comments")
@roles_required(*VIEWERS)
def comments_page(code: str):
    """Officers: the released comments of their subtree. Sở Nội vụ and MTTQ: every
    comment with its masked text, to release."""
    campaign = _campaign_or_404(code)
    scope = _scope()
    if _is_officer():
        return render_template("results/comments.html", campaign=campaign,
                               released=comments.released_comments(campaign, _agency_ids(scope)))
    page = request.args.get("page", "1")
    page = int(page) if page.isdigit() and int(page) > 0 else 1
    shown, total = comments.campaign_comments(campaign, _agency_ids(scope), page)
    return render_template("results/comments_release.html", campaign=campaign, shown=shown,
                           total=total, page=page, page_size=comments.PAGE_SIZE,
                           scope=scope, agency_choices=_agency_choices(),
                           elements=comments.elements(campaign))


@bp.post("/<code>/comments")
@roles_required(*PLANNERS)
def comments_release(code: str):
    campaign = _campaign_or_404(code)
    chosen = request.form.getlist("shown") if "all" in request.form \
        else request.form.getlist("release")
    texts = {key: request.form.get(f"text-{key}", "") for key in chosen}
    filed = {key: request.form.get(f"element-{key}", "") for key in chosen}
    try:
        count = comments.release(campaign, chosen, texts, current_user.id, filed)
    except ServiceError as exc:
        _refuse(exc)
    db.session.commit()
    flash(_("Đã công bố %(n)d ý kiến cho cơ quan được đánh giá.", n=count), "success")
    return redirect(url_for(".comments_page", code=code, **_query()))


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
            _saved, total = planning.save(campaign, plan_)
        except ServiceError as exc:
            db.session.rollback()
            _flash(exc)
            return _plan_page(campaign, plan_, computed=False, status=400)
        db.session.commit()
        flash(_("Đã lưu kế hoạch mẫu: tổng %(n)d phiếu.", n=total), "success")
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


from . import commands, official  # noqa: E402,F401  (the CLI commands; the official report)
