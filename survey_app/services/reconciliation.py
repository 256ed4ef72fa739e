"""Reconciliation of forms (đối soát phiếu): every numbered form handed out is accounted
for — answered online, returned on paper and entered, void, or still outstanding — per
agency and per collector; responses through the open link and the API are counted apart,
and each agency's total is set against its planned sample."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date

from openpyxl import Workbook
from openpyxl.styles import Font
from sqlalchemy import case, func, select

from ..extensions import db
from ..models import Agency, Campaign, CampaignAgency, IssuedForm, Response, utcnow
from . import issuance

FORM_COUNTS = ("issued", "online", "paper", "void", "outstanding", "not_returned")


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
            "open": counts.get("open", 0), "api": counts.get("api", 0),
            "single_use": counts.get("single_use", 0), "paper_responses": counts.get("paper", 0),
            "achieved": achieved, "planned": plan,
            "achieved_pct": round(100 * achieved / plan, 1) if plan else None,
        })
    for row in collectors.values():
        row["agency_name"] = names.get(row["agency_code"], "")
    by_collector = sorted(collectors.values(), key=lambda r: (r["agency_code"], r["collector"]))
    totals = {k: sum(r[k] for r in by_agency) for k in
              (*FORM_COUNTS, "open", "api", "single_use", "paper_responses", "achieved")}
    totals["planned"] = sum(r["planned"] or 0 for r in by_agency)
    return Reconciliation(campaign=campaign, by_collector=by_collector, by_agency=by_agency,
                          overdue=overdue, totals=totals, on=utcnow().date())


# --- XLSX -------------------------------------------------------------------------------

AGENCY_SHEET = [
    ("agency_code", "Mã cơ quan"), ("agency_name", "Cơ quan"),
    ("issued", "Phiếu đã phát"), ("online", "Trả lời trực tuyến (QR)"),
    ("paper", "Đã nộp và nhập phiếu giấy"), ("void", "Đã hủy"),
    ("outstanding", "Chưa thu về"), ("not_returned", "Trong đó: quá hạn"),
    ("open", "Đường dẫn chung (áp phích)"), ("api", "Qua API"),
    ("achieved", "Tổng phiếu trả lời"), ("planned", "Cỡ mẫu kế hoạch"),
    ("achieved_pct", "Đạt (%)"),
]
COLLECTOR_SHEET = [
    ("agency_code", "Mã cơ quan"), ("agency_name", "Cơ quan"), ("collector", "Người phát phiếu"),
    ("batches", "Số lô"), ("issued", "Phiếu đã phát"), ("online", "Trả lời trực tuyến (QR)"),
    ("paper", "Đã nộp và nhập phiếu giấy"), ("void", "Đã hủy"),
    ("outstanding", "Chưa thu về"), ("not_returned", "Trong đó: quá hạn"),
]
OVERDUE_SHEET = [
    ("batch", "Lô"), ("agency_code", "Mã cơ quan"), ("collector", "Người phát phiếu"),
    ("first_serial", "Từ số"), ("last_serial", "Đến số"), ("deadline", "Hạn nộp lại"),
    ("count", "Số phiếu"), ("not_returned", "Quá hạn chưa nộp"),
]


def _sheet(book: Workbook, title: str, columns, rows, first: bool = False) -> None:
    sheet = book.active if first else book.create_sheet()
    sheet.title = title
    sheet.append([label for _, label in columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([row.get(key) for key, _ in columns])
    sheet.freeze_panes = "A2"


def to_xlsx(rec: Reconciliation) -> bytes:
    book = Workbook()
    _sheet(book, "Theo cơ quan", AGENCY_SHEET,
           rec.by_agency + [{"agency_code": "Tổng", **rec.totals}], first=True)
    _sheet(book, "Theo người phát", COLLECTOR_SHEET, rec.by_collector)
    _sheet(book, "Lô quá hạn", OVERDUE_SHEET, rec.overdue)
    info = book.create_sheet("Thông tin")
    for pair in (("Đợt khảo sát", rec.campaign.name), ("Mã đợt", rec.campaign.code),
                 ("Ngày đối soát (UTC)", rec.on.isoformat() if rec.on else "")):
        info.append(list(pair))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
