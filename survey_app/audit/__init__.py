"""MTTQ's independent audit of a campaign: the ledger and its checkpoints, the audit
bundle, reconciliation of forms, quality flags, review of responses and re-verification.

Auditors and admins read every page and may append reviews, checkpoints, draws and
re-check outcomes; admins alone may also correct answers (a correction is a row of its
own). Nothing here changes a response. Phone numbers left for a re-check are shown to
auditors only.
"""

from __future__ import annotations

import tempfile
from decimal import Decimal

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask import Response as HttpResponse
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from analysis import ledger as chain

from ..extensions import db
from ..models import Campaign, LedgerEntry, Response, Reverification
from ..questions import get_type
from ..security import roles_required
from ..services import (
    ServiceError,
    auditing,
    contacts,
    corrections,
    flags,
    reconciliation,
    reports,
    results,
    reverify,
    review,
    tally,
)
from ..services.bundle import export_bundle
from .forms import (
    CHANNEL_LABELS,
    CHECKPOINT_REASON_LABELS,
    COLLECTOR_LABELS,
    COLUMN_LABELS,
    DECISION_LABELS,
    FLAG_LABELS,
    LEDGER_KIND_LABELS,
    OUTCOME_LABELS,
    STATE_LABELS,
    THRESHOLD_LABELS,
    ActionForm,
    BulkReviewForm,
    CorrectionForm,
    DrawForm,
    OutcomeForm,
    ReviewForm,
)

bp = Blueprint("audit", __name__, url_prefix="/audit", cli_group=None)

AUDITORS = ("auditor", "admin")
PAGE_SIZE = 100


@bp.context_processor
def _labels():
    return {"STATE_LABELS": STATE_LABELS, "FLAG_LABELS": FLAG_LABELS,
            "OUTCOME_LABELS": OUTCOME_LABELS, "DECISION_LABELS": DECISION_LABELS,
            "CHANNEL_LABELS": CHANNEL_LABELS, "COLUMN_LABELS": COLUMN_LABELS,
            "THRESHOLD_LABELS": THRESHOLD_LABELS, "LEDGER_KIND_LABELS": LEDGER_KIND_LABELS,
            "CHECKPOINT_REASON_LABELS": CHECKPOINT_REASON_LABELS,
            "collector_label": collector_label}


def collector_label(collector) -> str:
    """A collector as staff read it: the person's name, or how the response came."""
    label = COLLECTOR_LABELS.get(collector)
    return str(label) if label is not None else reports.cell(collector)


def _campaign_or_404(code: str) -> Campaign:
    campaign = db.session.scalar(select(Campaign).filter_by(code=code))
    if campaign is None:
        abort(404)
    return campaign


def _response_or_404(rid: int) -> Response:
    response = db.session.get(Response, rid)
    if response is None:
        abort(404)
    return response


def _refused(exc: ServiceError) -> None:
    db.session.rollback()
    flash(exc.message, "error")
    for detail in exc.details:
        flash(detail, "error")


def _page() -> int:
    return max(request.args.get("page", 1, type=int) or 1, 1)


# --- overview ---------------------------------------------------------------------------

@bp.get("/")
@roles_required(*AUDITORS)
def index():
    campaigns = db.session.scalars(select(Campaign).order_by(Campaign.opens_at.desc())).all()
    return render_template("audit/index.html", campaigns=campaigns)


@bp.get("/<code>")
@roles_required(*AUDITORS)
def campaign(code: str):
    view = auditing.overview(_campaign_or_404(code))
    return render_template("audit/campaign.html", view=view, campaign=view.campaign,
                           form=ActionForm())


@bp.post("/<code>/checkpoint")
@roles_required(*AUDITORS)
def checkpoint(code: str):
    campaign = _campaign_or_404(code)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        cp, digest = auditing.record_checkpoint(campaign)
    except ServiceError as exc:
        _refused(exc)
        return redirect(url_for(".campaign", code=campaign.code))
    db.session.commit()
    flash(_("Đã ghi mốc kiểm tra. Hãy chép lại mã này và giữ ngoài hệ thống: %(d)s", d=digest),
          "success")
    if not cp.tally_check.ok:
        flash(tally.summary(campaign, cp.tally_check), "error")
        for line in tally.difference_lines(campaign, cp.tally_check, limit=20):
            flash(line, "error")
    return redirect(url_for(".campaign", code=campaign.code))


@bp.get("/<code>/bundle.zip")
@roles_required(*AUDITORS)
def bundle(code: str):
    """The audit bundle, built in memory (a temporary file above 64 MB); for very large
    campaigns `flask export-audit` writes it straight to disk."""
    campaign = _campaign_or_404(code)
    with tempfile.SpooledTemporaryFile(max_size=64 << 20) as handle:
        export_bundle(campaign, handle)
        handle.seek(0)
        body = handle.read()
    results.record_row_export(campaign, "bundle.zip")
    db.session.commit()
    return HttpResponse(body, mimetype="application/zip", headers={
        "Content-Disposition": f'attachment; filename="audit-{campaign.code}.zip"',
        "Cache-Control": "no-store"})


# --- reconciliation ---------------------------------------------------------------------

@bp.get("/<code>/reconciliation")
@roles_required(*AUDITORS)
def reconciliation_page(code: str):
    rec = reconciliation.reconcile(_campaign_or_404(code))
    return render_template("audit/reconciliation.html", rec=rec, campaign=rec.campaign)


@bp.get("/<code>/reconciliation.xlsx")
@roles_required(*AUDITORS)
def reconciliation_xlsx(code: str):
    rec = reconciliation.reconcile(_campaign_or_404(code))
    return HttpResponse(
        reconciliation.to_xlsx(rec, collector_label),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition":
                 f'attachment; filename="reconciliation-{rec.campaign.code}.xlsx"'})


# --- flags ------------------------------------------------------------------------------

@bp.get("/<code>/flags")
@roles_required(*AUDITORS)
def flags_page(code: str):
    campaign = _campaign_or_404(code)
    frame, table = flags.campaign_flags(campaign)
    counts = flags.summary(campaign)
    wanted = {k: (request.args.get(k) or "").strip() for k in ("agency", "collector", "flag")}
    listing = table.merge(frame[["response_id", "agency_code", "collector"]], on="response_id")
    if wanted["agency"]:
        listing = listing[listing["agency_code"] == wanted["agency"]]
    if wanted["collector"]:
        listing = listing[listing["collector"] == wanted["collector"]]
    if wanted["flag"]:
        listing = listing[listing["flag"] == wanted["flag"]]
    page = _page()
    shown = listing.iloc[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]
    return render_template(
        "audit/flags.html", campaign=campaign, counts=counts,
        rows=flags.with_details(shown.to_dict("records")),
        total=len(listing), page=page, has_next=page * PAGE_SIZE < len(listing),
        wanted=wanted, thresholds=flags.thresholds().as_dict(),
        agencies=sorted(frame["agency_code"].unique()),
        collectors=sorted(frame["collector"].unique()))


# --- responses and review ---------------------------------------------------------------

def _bulk_form(filters: review.Filters) -> BulkReviewForm:
    form = BulkReviewForm(formdata=None)
    for name, value in filters.as_dict().items():
        getattr(form, name).data = value
    return form


def _responses_page(campaign: Campaign, filters: review.Filters,
                    bulk: BulkReviewForm | None = None, status: int = 200,
                    plan: review.BulkPlan | None = None):
    table = review.response_table(campaign, filters)
    page = _page()
    rows = table.rows.iloc[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]
    return render_template(
        "audit/responses.html", campaign=campaign, filters=filters, table=table,
        rows=rows.to_dict("records"), matched=len(table.rows), page=page,
        has_next=page * PAGE_SIZE < len(table.rows),
        bulk=bulk or _bulk_form(filters), plan=plan), status


@bp.get("/<code>/responses")
@roles_required(*AUDITORS)
def responses(code: str):
    return _responses_page(_campaign_or_404(code), review.Filters.from_mapping(request.args))


@bp.post("/<code>/responses/review")
@roles_required(*AUDITORS)
def bulk_review(code: str):
    """A bulk decision in two steps: without a fingerprint, the preview (what it would
    change, nothing written); with the preview's fingerprint, the decision itself."""
    campaign = _campaign_or_404(code)
    form = BulkReviewForm()
    filters = review.Filters.from_mapping(request.form)
    if not form.validate_on_submit():
        flash(_("Biểu mẫu không hợp lệ; chưa có quyết định nào."), "error")
        return _responses_page(campaign, filters, form, 400)
    args = (campaign, filters, form.decision.data or "", form.reason.data or "",
            bool(form.overwrite.data))
    try:
        if not form.fingerprint.data:
            plan = review.plan_bulk(*args, current_user)
            form.fingerprint.data = plan.fingerprint
            return _responses_page(campaign, filters, form, plan=plan)
        plan, rows = review.apply_bulk(*args, form.fingerprint.data, current_user)
    except ServiceError as exc:
        _refused(exc)
        form.fingerprint.data = ""
        return _responses_page(campaign, filters, form, 400)
    db.session.commit()
    flash(_("Đã ghi %(n)d quyết định (lật lại %(o)d quyết định trước đó); %(k)d phiếu đã có "
            "quyết định được giữ nguyên.", n=len(rows), o=plan.overturned, k=plan.kept),
          "success")
    return redirect(url_for(".responses", code=campaign.code, **filters.as_dict()))


def _shown(item, value, lang: str) -> str:
    if value is None:
        return ""
    return get_type(item.type).display(item, value, lang)


def _answer_rows(response: Response, lang: str) -> list[dict]:
    """Each item's effective answer, and the answer as submitted when a correction
    changed it."""
    original = response.answer_dict
    answers = response.effective_answers
    out = []
    for item in response.campaign.version.items:
        value = answers.get(item.code)
        before = original.get(item.code)
        out.append({"code": item.code, "text": item.text(lang), "type": item.type,
                    "value": _shown(item, value, lang),
                    "original": _shown(item, before, lang) if before != value else None})
    return out


def _correction_rows(response: Response, lang: str) -> list[dict]:
    items = {item.code: item for item in response.campaign.version.items}
    # `correct` refuses a code the questionnaire lacks, and a campaign's version is fixed.
    return [{"row": c, "changes": [
        (code, _shown(items[code], before, lang), _shown(items[code], c.change_dict[code], lang))
        for code, before in c.previous_dict.items()]}
        for c in response.corrections]


@bp.get("/responses/<int:rid>")
@roles_required(*AUDITORS)
def response_detail(rid: int, review_form: ReviewForm | None = None,
                    outcome_form: OutcomeForm | None = None,
                    correction_form: CorrectionForm | None = None, typed: dict | None = None,
                    status: int = 200):
    response = _response_or_404(rid)
    lang = "en" if str(get_locale()) == "en" else "vi"
    _, table = flags.campaign_flags(response.campaign)
    own_flags = flags.with_details(table[table["response_id"] == rid].to_dict("records"))
    events = db.session.scalars(select(LedgerEntry).where(
        LedgerEntry.id.between(*chain.chain_ids(response.campaign_id)),
        LedgerEntry.ref == response.receipt_code).order_by(LedgerEntry.id)).all()
    checks = db.session.scalars(select(Reverification).filter_by(response_id=rid)
                                .order_by(Reverification.id)).all()
    in_sample = any(rid in d.selected_ids for d in reverify.draws(response.campaign))
    phone = (contacts.phones([rid]).get(rid) if current_user.role == "auditor" else None)
    has_contact = bool(contacts.with_contact([rid]))
    return render_template(
        "audit/response.html", response=response, campaign=response.campaign,
        answers=_answer_rows(response, lang), flags=own_flags,
        reviews=review.history(response), events=events, checks=checks, in_sample=in_sample,
        phone=phone, has_contact=has_contact, collector=_collector(response),
        corrections=_correction_rows(response, lang),
        may_correct=corrections.may_correct(current_user)
        and response.campaign.archived_at is None, typed=typed or {},
        correction_form=correction_form or CorrectionForm(formdata=None),
        review_form=review_form or ReviewForm(formdata=None),
        outcome_form=outcome_form or OutcomeForm(formdata=None)), status


def _collector(response: Response) -> str:
    if response.form is not None:
        return response.form.batch.collector if response.form.batch else "invitation"
    return response.channel


@bp.post("/responses/<int:rid>/review")
@roles_required(*AUDITORS)
def response_review(rid: int):
    _response_or_404(rid)
    form = ReviewForm()
    if not form.validate_on_submit():
        return response_detail(rid, review_form=form, status=400)
    try:
        review.decide([rid], form.decision.data, form.reason.data, current_user)
    except ServiceError as exc:
        _refused(exc)
        return response_detail(rid, review_form=form, status=400)
    db.session.commit()
    flash(_("Đã ghi quyết định."), "success")
    return redirect(url_for(".response_detail", rid=rid))


@bp.post("/responses/<int:rid>/correct")
@roles_required(*corrections.CORRECTORS)
def response_correct(rid: int):
    _response_or_404(rid)
    form = CorrectionForm()
    typed = {key.removeprefix("new-"): value for key, value in request.form.items()
             if key.startswith("new-") and value.strip()}
    if not form.validate_on_submit():
        return response_detail(rid, correction_form=form, typed=typed, status=400)
    try:
        corrections.correct(rid, typed, form.reason.data, current_user)
    except ServiceError as exc:
        _refused(exc)
        return response_detail(rid, correction_form=form, typed=typed, status=400)
    db.session.commit()
    flash(_("Đã ghi đính chính phiếu %(id)d: %(items)s.", id=rid, items=", ".join(typed)),
          "success")
    return redirect(url_for(".response_detail", rid=rid))


# --- re-verification --------------------------------------------------------------------

@bp.get("/<code>/reverify")
@roles_required(*AUDITORS)
def reverify_page(code: str, form: DrawForm | None = None, status: int = 200):
    campaign = _campaign_or_404(code)
    rows = reverify.sampled(campaign)
    ids = [int(i) for i in rows["response_id"]]
    # Numbers are personal data: only the auditor sees them (the admin sees that one exists).
    phones = contacts.phones(ids) if current_user.role == "auditor" else {}
    if form is None:
        form = DrawForm(formdata=None)
        form.seed.data = None
    return render_template(
        "audit/reverify.html", campaign=campaign, draws=reverify.draws(campaign),
        rows=rows.to_dict("records"), phones=phones, with_contact=contacts.with_contact(ids),
        report=reverify.falsification(campaign), form=form,
        outcome_form=OutcomeForm(formdata=None)), status


@bp.post("/<code>/reverify/draw")
@roles_required(*AUDITORS)
def reverify_draw(code: str):
    campaign = _campaign_or_404(code)
    form = DrawForm()
    if not form.validate_on_submit():
        return reverify_page(code, form=form, status=400)
    try:
        draw = reverify.draw_sample(campaign, float(form.rate_pct.data / Decimal(100)),
                                    form.seed.data, float(form.oversample.data),
                                    user=current_user)
    except ServiceError as exc:
        _refused(exc)
        return reverify_page(code, form=form, status=400)
    db.session.commit()
    flash(_("Đã rút mẫu phúc tra: %(n)d phiếu trong %(p)d.", n=len(draw.selected_ids),
            p=draw.population), "success")
    return redirect(url_for(".reverify_page", code=campaign.code))


@bp.post("/responses/<int:rid>/outcome")
@roles_required(*AUDITORS)
def reverify_outcome(rid: int):
    response = _response_or_404(rid)
    form = OutcomeForm()
    back = request.form.get("next") == "list"
    if not form.validate_on_submit():
        return response_detail(rid, outcome_form=form, status=400)
    try:
        reverify.record_outcome(rid, form.outcome.data, form.note.data, user=current_user)
    except ServiceError as exc:
        _refused(exc)
        return response_detail(rid, outcome_form=form, status=400)
    db.session.commit()
    flash(_("Đã ghi kết quả phúc tra phiếu %(id)d; số điện thoại (nếu có) đã được xóa.", id=rid),
          "success")
    if back:
        return redirect(url_for(".reverify_page", code=response.campaign.code))
    return redirect(url_for(".response_detail", rid=rid))


from . import commands  # noqa: E402,F401  (registers the CLI commands on bp.cli)
