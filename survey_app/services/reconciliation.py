"""Reconciliation of forms (đối soát phiếu): every numbered form handed out is accounted
for — answered online, returned on paper and entered, void, or still outstanding — per
agency and per collector; responses through the open link and the API are counted apart,
and each agency's total is set against its planned sample."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from openpyxl import Workbook
from openpyxl.styles import Font
from sqlalchemy import case, func, select

from ..extensions import db
from ..models import (
    Agency,
    Campaign,
    CampaignAgency,
    Invitation,
    IssuedForm,
    Response,
    utcnow,
)
from . import issuance

FORM_COUNTS = ("issued", "online", "paper", "void", "outstanding", "not_returned")
#: Invitations imported from the one-stop system's cases: sent to a person, delivered
#: (the SMTP server or SMS gateway accepted it), failed (given up after the last retry,
#: its form void) and answered (a response came through its link, channel invitation).
INVITED_COUNTS = ("invited", "delivered", "failed", "answered")


@dataclass
class Reconciliation:
    campaign: Campaign
    by_collector: list[dict] = field(default_factory=list)
    by_agency: list[dict] = field(default_factory=list)
    overdue: list[dict] = field(default_factory=list)
    totals: dict = field(default_factory=dict)
    on: date | None = None


def _blank(**keys) -> dict:
    return {**keys, **dict.fromkeys(FORM_COUNTS, 0)}


def reconcile(campaign: Campaign) -> Reconciliation:
    """Forms by (agency, collector) from the issuance register; invitations sent through
    the API as the collector "invitation"; responses per agency and channel."""
    names = dict(db.session.execute(
        select(Agency.code, Agency.name).join(CampaignAgency, CampaignAgency.agency_id == Agency.id)
        .where(CampaignAgency.campaign_id == campaign.id)).all())
    collectors: dict[tuple[str, str], dict] = {}
    overdue = []
    for batch in issuance.register(campaign):
        key = (batch["agency_code"], batch["collector"])
        row = collectors.setdefault(key, _blank(agency_code=key[0], collector=key[1],
                                                 batches=0))
        names.setdefault(batch["agency_code"], batch["agency_name"])
        row["batches"] += 1
        row["issued"] += batch["count"]
        for state in ("online", "paper", "void", "not_returned"):
            row[state] += batch[state]
        row["outstanding"] += batch["issued"] + batch["not_returned"]
        if batch["not_returned"]:
            overdue.append(batch)

    answered = Response.id.is_not(None)
    invitations = db.session.execute(
        select(Agency.code, func.count(IssuedForm.id),
               func.count(case((answered, 1))),
               func.count(case((~answered & IssuedForm.voided_at.is_not(None), 1))))
        .join(Agency, Agency.id == IssuedForm.agency_id)
        .outerjoin(Response, Response.form_id == IssuedForm.id)
        .where(IssuedForm.campaign_id == campaign.id, IssuedForm.kind == "invitation")
        .group_by(Agency.code)).all()
    for code, count, done, void in invitations:
        row = collectors.setdefault((code, "invitation"),
                                    _blank(agency_code=code, collector="invitation", batches=0))
        row.update(issued=count, online=done, void=void, outstanding=count - done - void)

    channels: dict[str, dict[str, int]] = {}
    for code, channel, n in db.session.execute(
            select(Agency.code, Response.channel, func.count(Response.id))
            .join(Agency, Agency.id == Response.agency_id)
            .where(Response.campaign_id == campaign.id)
            .group_by(Agency.code, Response.channel)):
        channels.setdefault(code, {})[channel] = n
    invited = _invited(campaign)
    planned = dict(db.session.execute(
        select(Agency.code, CampaignAgency.planned).join(Agency, Agency.id == CampaignAgency.agency_id)
        .where(CampaignAgency.campaign_id == campaign.id)).all())

    by_agency = []
    for code in sorted(set(names) | set(channels)):
        rows = [r for (a, _), r in collectors.items() if a == code]
        counts = channels.get(code, {})
        achieved = sum(counts.values())
        plan = planned.get(code)
        by_agency.append({
            "agency_code": code, "agency_name": names.get(code, ""),
            **{k: sum(r[k] for r in rows) for k in FORM_COUNTS},
            "open": counts.get("open", 0), "kiosk": counts.get("kiosk", 0),
            "api": counts.get("api", 0),
            "single_use": counts.get("single_use", 0), "paper_responses": counts.get("paper", 0),
            **invited.get(code, dict.fromkeys(INVITED_COUNTS, 0)),
            "achieved": achieved, "planned": plan,
            "achieved_pct": round(100 * achieved / plan, 1) if plan else None,
        })
    for row in collectors.values():
        row["agency_name"] = names.get(row["agency_code"], "")
    by_collector = sorted(collectors.values(), key=lambda r: (r["agency_code"], r["collector"]))
    totals = {k: sum(r[k] for r in by_agency) for k in
              (*FORM_COUNTS, "open", "kiosk", "api", "single_use", "paper_responses",
               *INVITED_COUNTS, "achieved")}
    totals["planned"] = sum(r["planned"] or 0 for r in by_agency)
    return Reconciliation(campaign=campaign, by_collector=by_collector, by_agency=by_agency,
                          overdue=overdue, totals=totals, on=utcnow().date())


def _invited(campaign: Campaign) -> dict[str, dict[str, int]]:
    """INVITED_COUNTS per agency code, counted by the database."""
    n = issuance.count_where
    rows = db.session.execute(
        select(Agency.code, func.count(Invitation.id),
               n(Invitation.status == "sent"), n(Invitation.status == "failed"),
               n(Response.id.is_not(None)))
        .join(IssuedForm, IssuedForm.id == Invitation.form_id)
        .join(Agency, Agency.id == IssuedForm.agency_id)
        .outerjoin(Response, Response.form_id == IssuedForm.id)
        .where(Invitation.campaign_id == campaign.id)
        .group_by(Agency.code))
    return {code: dict(zip(INVITED_COUNTS, counts, strict=True))
            for code, *counts in rows}


# --- XLSX -------------------------------------------------------------------------------

AGENCY_SHEET = [
    ("agency_code", _l("Mã cơ quan")), ("agency_name", _l("Cơ quan")),
    ("issued", _l("Phiếu đã phát")), ("online", _l("Trả lời trực tuyến (QR)")),
    ("paper", _l("Đã nộp và nhập phiếu giấy")), ("void", _l("Đã hủy")),
    ("outstanding", _l("Chưa thu về")), ("not_returned", _l("Trong đó: quá hạn")),
    ("open", _l("Đường dẫn chung (áp phích)")), ("kiosk", _l("Máy tại quầy (kiosk)")),
    ("api", _l("Qua API")),
    ("invited", _l("Thư mời sau hồ sơ: đã mời")), ("delivered", _l("Thư mời: đã gửi được")),
    ("failed", _l("Thư mời: gửi không được")), ("answered", _l("Thư mời: đã trả lời")),
    ("achieved", _l("Tổng phiếu trả lời")), ("planned", _l("Cỡ mẫu kế hoạch")),
    ("achieved_pct", _l("Đạt (%)")),
]
COLLECTOR_SHEET = [
    ("agency_code", _l("Mã cơ quan")), ("agency_name", _l("Cơ quan")),
    ("collector", _l("Người phát phiếu")), ("batches", _l("Số lô")),
    ("issued", _l("Phiếu đã phát")), ("online", _l("Trả lời trực tuyến (QR)")),
    ("paper", _l("Đã nộp và nhập phiếu giấy")), ("void", _l("Đã hủy")),
    ("outstanding", _l("Chưa thu về")), ("not_returned", _l("Trong đó: quá hạn")),
]
OVERDUE_SHEET = [
    ("batch", _l("Lô")), ("agency_code", _l("Mã cơ quan")),
    ("collector", _l("Người phát phiếu")), ("first_serial", _l("Từ số")),
    ("last_serial", _l("Đến số")), ("deadline", _l("Hạn nộp lại")),
    ("count", _l("Số phiếu")), ("not_returned", _l("Quá hạn chưa nộp")),
]
#: Display formats of the numeric columns (each reader's spreadsheet shows its own
#: decimal mark); the others are whole numbers or text.
NUMBER_FORMATS = {"achieved_pct": "0.0"}


def _sheet(book: Workbook, title: str, columns, rows, first: bool = False,
           collector_label=str) -> None:
    sheet = book.active if first else book.create_sheet()
    sheet.title = title
    sheet.append([str(label) for _, label in columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        # Numbers stay numbers (with a display format); no value is an empty cell.
        sheet.append([collector_label(row.get(key)) if key == "collector" and row.get(key)
                      else row.get(key) for key, _ in columns])
        for (key, _label), cell in zip(columns, sheet[sheet.max_row], strict=True):
            if key in NUMBER_FORMATS:
                cell.number_format = NUMBER_FORMATS[key]
    sheet.freeze_panes = "A2"


def to_xlsx(rec: Reconciliation, collector_label=str) -> bytes:
    """The reconciliation as a workbook, in the request's language; `collector_label`
    words a collector (a person's name, or how a response came)."""
    book = Workbook()
    _sheet(book, _("Theo cơ quan"), AGENCY_SHEET,
           rec.by_agency + [{"agency_code": _("Tổng"), **rec.totals}], first=True)
    _sheet(book, _("Theo người phát"), COLLECTOR_SHEET, rec.by_collector,
           collector_label=collector_label)
    _sheet(book, _("Lô quá hạn"), OVERDUE_SHEET, rec.overdue,
           collector_label=collector_label)
    info = book.create_sheet(_("Thông tin"))
    for pair in ((_("Đợt khảo sát"), rec.campaign.name), (_("Mã đợt"), rec.campaign.code),
                 (_("Ngày đối soát (UTC)"), rec.on.isoformat() if rec.on else "")):
        info.append(list(pair))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
