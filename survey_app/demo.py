"""Demo data: post-2025 Tuyên Quang agencies, the SIPAS questionnaire, a campaign, accounts.

Everything created here is marked as demo data (agencies carry is_demo; the campaign is
named as a demo) so it is never mistaken for a real round.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from .extensions import db
from .models import Agency, Campaign
from .services import agencies, campaigns, questionnaires, users

DEMO_AGENCIES = Path(__file__).resolve().parent / "data" / "demo-agencies.csv"
DEMO_ACCOUNTS = [
    ("admin", "admin", None, "Quản trị Sở Nội vụ (mẫu)"),
    ("mttq", "auditor", None, "Giám sát viên MTTQ (mẫu)"),
    ("nhaplieu", "clerk", None, "Nhập liệu phiếu giấy (mẫu)"),
    ("sonduong", "officer", "X-SONDUONG", "Cán bộ UBND xã Sơn Dương (mẫu)"),
]


def is_seeded() -> bool:
    return db.session.scalar(select(Campaign.id).filter_by(code="demo")) is not None


def seed(password: str | None = None) -> dict:
    """Create the demo data; returns {'password': ..., 'accounts': [...]}. Caller commits."""
    password = password or secrets.token_urlsafe(9)
    agencies.import_csv(DEMO_AGENCIES.read_text(encoding="utf-8"), is_demo=True)
    version = questionnaires.load_file(questionnaires.SIPAS_FILE)
    today = datetime.now(campaigns.LOCAL_TZ).date()
    in_scope = [a.code for a in db.session.scalars(
        select(Agency).where(Agency.kind.in_(("department", "commune", "ward", "one_stop")),
                             Agency.valid_to.is_(None)).order_by(Agency.code))]
    campaigns.create_campaign(
        code="demo", name="Đợt khảo sát mẫu (dữ liệu demo)", period=f"{today.year}-demo",
        version_ref=f"{version.questionnaire.code}:{version.number}",
        opens=today - timedelta(days=30), closes=today + timedelta(days=60),
        agency_codes=in_scope,
    )
    for username, role, agency, full_name in DEMO_ACCOUNTS:
        users.create_user(username, password, role, agency, full_name)
    return {"password": password, "accounts": [(u, r, a) for u, r, a, _ in DEMO_ACCOUNTS]}
