"""Helpers for the results and report tests: the small campaign of test_results.py,
answered through the citizen pages, and readers for the pages' tables."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select
from web_helpers import answer_form, full_answers

from survey_app.models import Campaign, CampaignAgency, Response, ResponseReview

PA = ("PA1", "PA2", "PA3")

ANSWERS = [
    ("X-SONDUONG", full_answers(5, GIOI_TINH="1")),
    ("X-SONDUONG", full_answers(2, TC1="0", GIOI_TINH="2")),
    ("X-SONDUONG-1C", full_answers(4, GIOI_TINH="2")),
    ("P-MYLAM", full_answers(3, GIOI_TINH="1")),
    ("P-MYLAM", full_answers(4, **{code: "1" for code in PA})),
]


def today():
    from survey_app.services.campaigns import LOCAL_TZ

    return datetime.now(LOCAL_TZ).date()


def vi(value: float) -> str:
    """A figure as the pages show it (one decimal, decimal comma)."""
    return f"{value:.1f}".replace(".", ",")


def open_path(db, campaign_code: str, agency_code: str) -> str:
    scope = db.session.scalar(
        select(CampaignAgency).join(CampaignAgency.campaign).join(CampaignAgency.agency)
        .where(Campaign.code == campaign_code,
               CampaignAgency.agency.has(code=agency_code)))
    return f"/k/{scope.open_code}"


def answer(app, db, campaign_code: str, agency_code: str, answers: dict) -> None:
    """One citizen: a fresh browser answering the agency's poster link."""
    resp = answer_form(app.test_client(), open_path(db, campaign_code, agency_code), answers)
    assert resp.status_code == 303, resp.status_code


def cell(html: str, attribute: str, value: str, column: int) -> str:
    """Text of the column-th <td> of the table row carrying attribute="value"."""
    row = re.search(rf'<tr {attribute}="{re.escape(value)}"[^>]*>(.*?)</tr>', html, re.S)
    assert row, f"no row {attribute}={value}"
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)
    return re.sub(r"<[^>]+>", "", cells[column]).strip()


def reject(db, response_number: int, reason: str = "phiếu giả") -> None:
    response = db.session.scalars(select(Response).order_by(Response.id)).all()[response_number]
    db.session.add(ResponseReview(response_id=response.id, state="rejected", reason=reason))
    db.session.commit()


def second_round(app, db) -> None:
    """Campaign `dot2` over X-SONDUONG and P-MYLAM, each answered twice with every item 5."""
    from datetime import timedelta

    from web_helpers import full_answers

    from survey_app.services import campaigns

    campaigns.create_campaign(code="dot2", name="Đợt 2", period="2026-H2", version_ref="sipas",
                              opens=today(), closes=today() + timedelta(days=30),
                              agency_codes=["X-SONDUONG", "P-MYLAM"])
    db.session.commit()
    for agency in ("X-SONDUONG", "P-MYLAM"):
        for _ in range(2):
            answer(app, db, "dot2", agency, full_answers(5))
