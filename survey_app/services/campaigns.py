"""Survey rounds: creation, scope, and the open link each agency in scope gets."""

from __future__ import annotations

import re
import secrets
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from ..extensions import db
from ..models import Agency, Campaign, CampaignAgency
from . import ServiceError, audit
from .questionnaires import get_version

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
CODE_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
# No 0/o, 1/l/i: the poster's short URL is typed by hand.
OPEN_CODE_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"


def local_day_start(day: date) -> datetime:
    """00:00 on `day` in Vietnam, as naive UTC."""
    aware = datetime.combine(day, time.min, tzinfo=LOCAL_TZ)
    return aware.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


def to_local(moment: datetime) -> datetime:
    return moment.replace(tzinfo=ZoneInfo("UTC")).astimezone(LOCAL_TZ)


def new_open_code() -> str:
    while True:
        code = "".join(secrets.choice(OPEN_CODE_ALPHABET) for _ in range(7))
        if db.session.scalar(select(CampaignAgency.id).filter_by(open_code=code)) is None:
            return code


def create_campaign(*, code: str, name: str, period: str, version_ref: str, opens: date,
                    closes: date, agency_codes: list[str], double_entry: bool = False,
                    min_seconds: int = 40) -> Campaign:
    """Create a round open from `opens` to the end of `closes` (Vietnam time)."""
    errors: list[str] = []
    code = (code or "").strip()
    if not CODE_RE.match(code):
        errors.append(f"mã đợt '{code}' không hợp lệ (chữ thường, số, - _; tối đa 40 ký tự)")
    elif db.session.scalar(select(Campaign.id).filter_by(code=code)) is not None:
        errors.append(f"mã đợt '{code}' đã tồn tại")
    if not (name or "").strip():
        errors.append("thiếu tên đợt khảo sát")
    if not (period or "").strip():
        errors.append("thiếu kỳ khảo sát (ví dụ 2026-H2 hoặc 2026)")
    if closes < opens:
        errors.append("ngày đóng trước ngày mở")
    version = None
    try:
        version = get_version(version_ref)
    except ServiceError as exc:
        errors.append(exc.message)
    agencies: list[Agency] = []
    codes = list(dict.fromkeys(c.strip() for c in agency_codes if c.strip()))
    if not codes:
        errors.append("cần ít nhất một cơ quan trong phạm vi khảo sát")
    known = {a.code: a for a in db.session.scalars(select(Agency).where(Agency.code.in_(codes)))}
    for c in codes:
        if c not in known:
            errors.append(f"không có cơ quan mã '{c}'")
        else:
            agencies.append(known[c])
    if errors:
        raise ServiceError("Không tạo được đợt khảo sát; không có gì thay đổi.", details=errors)
    campaign = Campaign(
        code=code, name=name.strip(), period=period.strip(), version=version,
        opens_at=local_day_start(opens), closes_at=local_day_start(closes + timedelta(days=1)),
        double_entry=double_entry, min_seconds=min_seconds,
    )
    db.session.add(campaign)
    db.session.flush()
    for agency in agencies:
        db.session.add(CampaignAgency(campaign=campaign, agency=agency, open_code=new_open_code()))
    db.session.flush()
    audit.record("campaign.create", "campaign", code, None, campaign_summary(campaign))
    return campaign


def campaign_summary(campaign: Campaign) -> dict:
    return {
        "code": campaign.code, "name": campaign.name, "period": campaign.period,
        "questionnaire": campaign.version.name,
        "opens_at": campaign.opens_at.isoformat(), "closes_at": campaign.closes_at.isoformat(),
        "agencies": [s.agency.code for s in campaign.scope],
        "double_entry": campaign.double_entry,
    }


def get_campaign(code: str) -> Campaign:
    campaign = db.session.scalar(select(Campaign).filter_by(code=code))
    if campaign is None:
        raise ServiceError(f"Không có đợt khảo sát mã '{code}'.")
    return campaign


def update_window(campaign: Campaign, *, name: str, opens: date, closes: date) -> Campaign:
    if closes < opens:
        raise ServiceError("Ngày đóng trước ngày mở.")
    before = campaign_summary(campaign)
    campaign.name = name.strip() or campaign.name
    campaign.opens_at = local_day_start(opens)
    campaign.closes_at = local_day_start(closes + timedelta(days=1))
    db.session.flush()
    audit.record("campaign.update", "campaign", campaign.code, before, campaign_summary(campaign))
    return campaign
