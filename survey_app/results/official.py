"""The official report from the UI: a form to pick the kind (province, an agency's own,
annual), the rounds or the year, the agency and the earlier period; the answer is the
document (.docx). An agency's officer makes only their own agency's report."""

from __future__ import annotations

from flask import render_template, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from ..extensions import db
from ..models import Agency, Campaign
from ..security import roles_required
from ..services import ServiceError, official
from . import VIEWERS, _agency_choices, _campaign_choices, _download, bp

MIMETYPES = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _campaigns(codes: list[str]) -> list[Campaign]:
    found = {c.code: c for c in db.session.scalars(select(Campaign).where(
        Campaign.code.in_(codes)))}
    missing = [c for c in codes if c not in found]
    if missing:
        raise ServiceError(_("Không có đợt khảo sát mã %(c)s.", c=", ".join(missing)))
    return [found[c] for c in codes]


def _order(form) -> official.Order:
    """The request read from the form; refused (ServiceError) before any work."""
    kind = form.get("kind", "")
    if current_user.role == "officer":
        kind = "agency"
    if kind not in official.KINDS:
        raise ServiceError(_("Chọn loại báo cáo."))
    year = None
    if kind == "annual":
        text = (form.get("year") or "").strip()
        if not text.isdigit() or not 2000 <= int(text) <= 2100:
            raise ServiceError(_("Nhập năm của báo cáo năm (ví dụ 2026)."))
        year = int(text)
        campaigns = official.campaigns_of_year(year)
    else:
        codes = [c for c in form.getlist("campaign") if c]
        if not codes:
            raise ServiceError(_("Chọn ít nhất một đợt khảo sát."))
        campaigns = _campaigns(codes)
    agency = None
    code = (form.get("agency") or "").strip()
    if current_user.role == "officer":
        own = current_user.agency
        code = code or (own.code if own else "")
        if own is None or code not in {a.code for a in _agency_choices()}:
            raise ServiceError(_("Cán bộ chỉ lập được báo cáo của cơ quan mình."))
    if kind == "agency" and not code:
        raise ServiceError(_("Báo cáo của cơ quan cần chọn cơ quan."))
    if code:
        agency = db.session.scalar(select(Agency).filter_by(code=code))
        if agency is None:
            raise ServiceError(_("Không có cơ quan mã '%(c)s'.", c=code))
    return official.Order(
        kind=kind, campaigns=campaigns, agency=agency if kind == "agency" else None,
        year=year, baseline=_campaigns([c for c in form.getlist("baseline") if c]),
        exclude_rejected=form.get("rejected") != "include",
        number=(form.get("number") or "").strip()[:80],
        signer=(form.get("signer") or "").strip()[:120])


@bp.route("/official", methods=["GET", "POST"])
@roles_required(*VIEWERS)
def official_report():
    error = None
    if request.method == "POST":
        try:
            order = _order(request.form)
            fmt = request.form.get("format", "docx")
            if fmt not in MIMETYPES:
                raise ServiceError(_("Chọn định dạng tệp: Word, PDF hoặc Excel."))
            body = official.render(order, fmt)
            name = {"province": "bao-cao-tinh", "annual": f"bao-cao-nam-{order.year}",
                    "agency": f"bao-cao-{order.agency.code if order.agency else ''}"}
            name = name[order.kind]
            return _download(body, f"{name}.{fmt}", MIMETYPES[fmt])
        except ServiceError as exc:
            db.session.rollback()
            error = str(exc)
    officer = current_user.role == "officer"
    return render_template(
        "results/official.html", error=error, form=request.form, officer=officer,
        kinds=official.KIND_LABELS, campaigns=_campaign_choices(),
        agencies=_agency_choices(), own=current_user.agency if officer else None,
    ), 400 if error else 200
