"""What a survey link points at, and whether it can take an answer now: the look-up and
refusal step of accepting a submission (`survey_app.intake`)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace

from flask_babel import gettext as _

from ..models import Campaign, utcnow
from ..rawsql import Statement, as_datetime
from ..services import ServiceError


class FormAlreadyUsed(ServiceError):
    """The single-use form was answered already (possibly a moment ago, concurrently)."""


class CampaignClosed(ServiceError):
    pass


class FormVoid(ServiceError):
    pass


class FormExpired(ServiceError):
    pass


def hash_token(token: str) -> str:
    """What IssuedForm.token_hash holds for a link's token (sha256, hex)."""
    # Any text a URL may carry hashes (and then matches nothing): never an encoding error.
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def check_open(campaign: Campaign, at: datetime | None = None) -> None:
    at = at or utcnow()
    if campaign.archived_at is not None or at >= campaign.closes_at:
        raise CampaignClosed(_("Đợt khảo sát đã kết thúc; không nhận thêm phiếu."))
    if at < campaign.opens_at:
        raise CampaignClosed(_("Đợt khảo sát chưa bắt đầu."))


@dataclass(frozen=True)
class Target:
    """What a survey link points at, read in one query (no ORM objects on the hot path).

    Duck-types the Campaign, Agency and IssuedForm attributes that `record` and the
    citizen pages use."""

    campaign: SimpleNamespace
    agency: SimpleNamespace
    form: SimpleNamespace | None = None
    open_code: str | None = None

    @property
    def channel(self) -> str:
        """How a response through this link is marked."""
        if self.open_code:
            return "open"
        return "invitation" if self.form.kind == "invitation" else "single_use"


_TARGET_COLUMNS = """
    c.id AS c_id, c.code AS c_code, c.name AS c_name, c.version_id, c.opens_at, c.closes_at,
    c.archived_at, a.id AS a_id, a.code AS a_code, a.name AS a_name"""
_BY_OPEN_CODE = Statement(f"""
    SELECT {_TARGET_COLUMNS}, s.open_code FROM campaign_agency s
    JOIN campaign c ON c.id = s.campaign_id JOIN agency a ON a.id = s.agency_id
    WHERE s.open_code = :code""")
_BY_TOKEN = Statement(f"""
    SELECT {_TARGET_COLUMNS}, f.id AS f_id, f.serial, f.voided_at, f.expires_at,
           r.id AS answered, f.kind
    FROM issued_form f JOIN campaign c ON c.id = f.campaign_id JOIN agency a ON a.id = f.agency_id
    LEFT JOIN response r ON r.form_id = f.id
    WHERE f.token_hash = :h""")


def _target(row, **extra) -> Target:
    campaign = SimpleNamespace(
        id=row[0], code=row[1], name=row[2], version_id=row[3], opens_at=as_datetime(row[4]),
        closes_at=as_datetime(row[5]), archived_at=as_datetime(row[6]))
    agency = SimpleNamespace(id=row[7], code=row[8], name=row[9])
    return Target(campaign=campaign, agency=agency, **extra)


def find_form(token: str) -> Target | None:
    """The single-use link's form, campaign and agency, or None for an unknown token."""
    if not token or len(token) > 100:
        return None
    rows = _BY_TOKEN.execute({"h": hash_token(token)}).fetchall()
    if not rows:
        return None
    row = rows[0]
    form = SimpleNamespace(id=row[10], serial=row[11], answered=row[14] is not None,
                           voided_at=as_datetime(row[12]), expires_at=as_datetime(row[13]),
                           kind=row[15])
    return _target(row, form=form)


def find_scope(open_code: str) -> Target | None:
    """The open link's campaign and agency, or None for an unknown code."""
    if not open_code or len(open_code) > 16:
        return None
    rows = _BY_OPEN_CODE.execute({"code": open_code}).fetchall()
    return _target(rows[0], open_code=rows[0][10]) if rows else None


def refusal(target: Target, at: datetime | None = None) -> ServiceError | None:
    """Why this link cannot take an answer now (a FormAlreadyUsed, a CampaignClosed or a
    plain ServiceError for a void or expired form), or None when it can."""
    form = target.form
    if form is not None:
        if form.answered:
            return FormAlreadyUsed(_("Phiếu này đã được trả lời; mỗi phiếu chỉ dùng một lần."))
        if form.voided_at is not None:
            return FormVoid(_("Phiếu này đã bị hủy và không dùng được."))
        if form.expires_at is not None and (at or utcnow()) >= form.expires_at:
            return FormExpired(_("Lời mời trả lời khảo sát này đã hết hạn."))
    try:
        check_open(target.campaign, at)
    except CampaignClosed as exc:
        return exc
    return None
