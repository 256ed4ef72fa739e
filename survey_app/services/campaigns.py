"""Survey rounds: creation, scope, the open link each agency in scope gets, and archiving,
which ends a round: read-only from then on, its re-check phone numbers erased."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import case, func, select, update

from .. import ledger
from ..extensions import db
from ..models import (
    Agency,
    Campaign,
    CampaignAgency,
    IssuedForm,
    LedgerCheckpoint,
    PaperEntry,
    RecheckContact,
    Response,
    utcnow,
)
from . import ServiceError, audit, contacts
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
    ensure_writable(campaign, _("Không sửa được đợt khảo sát"), lock=False)
    if closes < opens:
        raise ServiceError("Ngày đóng trước ngày mở.")
    before = campaign_summary(campaign)
    campaign.name = name.strip() or campaign.name
    campaign.opens_at = local_day_start(opens)
    campaign.closes_at = local_day_start(closes + timedelta(days=1))
    db.session.flush()
    audit.record("campaign.update", "campaign", campaign.code, before, campaign_summary(campaign))
    return campaign


# --- archiving --------------------------------------------------------------------------

class CampaignArchived(ServiceError):
    """A change refused because the campaign is archived (read-only); nothing changed."""


def _local(moment: datetime) -> str:
    return to_local(moment).strftime("%d/%m/%Y %H:%M")


def archived_now(campaign: Campaign, *, lock: bool = True) -> datetime | None:
    """When the campaign was archived (None: it is not), read afresh from the database.

    With `lock`, the campaign's row is share-locked until the transaction ends (PostgreSQL;
    SQLite serialises writers anyway): archiving, which updates that row, waits for a write
    in progress, and a write that starts meanwhile waits and then sees it archived, so
    nothing is added to a campaign after its final checkpoint. Not for a transaction that
    goes on to update the campaign row itself (two such would deadlock).
    """
    if campaign.archived_at is not None or not lock:
        return campaign.archived_at
    return db.session.execute(select(Campaign.archived_at).where(Campaign.id == campaign.id)
                              .with_for_update(read=True)).scalar_one()


def ensure_writable(campaign: Campaign, refused: str, *, lock: bool = True) -> None:
    """Refuse (CampaignArchived) any change to an archived campaign.

    `refused` says what could not be done ("Không ghi được quyết định duyệt phiếu"); every
    write path of a campaign calls this before it changes anything (see `archived_now` for
    `lock`).
    """
    archived_at = archived_now(campaign, lock=lock)
    if archived_at is not None:
        raise CampaignArchived(_(
            "%(refused)s: đợt khảo sát '%(code)s' đã được lưu trữ lúc %(at)s và chỉ còn để "
            "xem (kết quả, báo cáo, tệp xuất, gói kiểm toán, đối soát); không có gì thay đổi.",
            refused=refused, code=campaign.code, at=_local(archived_at)))


@dataclass(frozen=True)
class ArchivePreview:
    """What archiving a campaign will do, shown before the admin confirms."""

    archivable: bool
    reason: str
    contacts: int
    paper_pending: int


@dataclass(frozen=True)
class Archived:
    campaign: Campaign
    checkpoint: LedgerCheckpoint
    digest: str
    contacts_erased: int


def _check_archivable(campaign: Campaign, now: datetime) -> None:
    if campaign.archived_at is not None:
        raise CampaignArchived(_(
            "Đợt khảo sát '%(code)s' đã được lưu trữ lúc %(at)s (bởi %(by)s); không lưu trữ "
            "lại.", code=campaign.code, at=_local(campaign.archived_at),
            by=campaign.archived_by or "?"))
    if now < campaign.opens_at:
        raise ServiceError(_(
            "Đợt khảo sát '%(code)s' chưa bắt đầu (mở từ %(opens)s); chỉ lưu trữ được đợt đã "
            "đóng.", code=campaign.code, opens=_local(campaign.opens_at)))
    if now < campaign.closes_at:
        raise ServiceError(_(
            "Đợt khảo sát '%(code)s' đang mở đến %(closes)s; chỉ lưu trữ được đợt đã đóng.",
            code=campaign.code, closes=_local(campaign.closes_at)))


def archive_preview(campaign: Campaign) -> ArchivePreview:
    """Whether the campaign can be archived now, how many phone numbers that erases and how
    many paper forms are still waiting to be entered (they never will be)."""
    try:
        _check_archivable(campaign, utcnow())
        archivable, reason = True, ""
    except ServiceError as exc:
        archivable, reason = False, exc.message
    kept = db.session.scalar(
        select(func.count(RecheckContact.id)).join(Response,
                                                   Response.id == RecheckContact.response_id)
        .where(Response.campaign_id == campaign.id)) or 0
    counts = pending_counts(campaign)
    pending = counts["open"] + counts["awaiting_second"] + counts["disagreement"]
    return ArchivePreview(archivable, reason, kept, pending)


# Holding the campaign's chain (ledger.lock_chain: the head row's lock on PostgreSQL, the
# write lock on SQLite) waits for anything being chained right now and holds off what
# comes next until the archive commits, so the final checkpoint is the
# chain's true end. (Writes after the close take the campaign's share lock, `archived_now`,
# so they either finish before the archive marks the campaign or see it archived.)


def archive_campaign(campaign: Campaign) -> Archived:
    """Archive a closed campaign, in the caller's transaction: mark it archived (when, by
    whom), erase every re-check phone number of its responses, record the final ledger
    checkpoint (reason 'archive') and an audit-log row.

    Refused (ServiceError, nothing changed) when the campaign has not closed yet or is
    archived already. From then on the campaign is read-only (see `ensure_writable`).
    """
    now = utcnow()
    _check_archivable(campaign, now)
    actor = audit.actor_name()
    # One conditional UPDATE: of two archivers at the same moment only one marks it (on
    # PostgreSQL the second waits for the row lock, then matches nothing).
    marked = db.session.execute(
        update(Campaign).where(Campaign.id == campaign.id, Campaign.archived_at.is_(None))
        .values(archived_at=now, archived_by=actor)
        .execution_options(synchronize_session="fetch")).rowcount
    if not marked:
        raise CampaignArchived(_("Đợt khảo sát '%(code)s' vừa được lưu trữ bởi người khác; "
                                 "không có gì thay đổi.", code=campaign.code))
    ledger.lock_chain(campaign.id)
    erased = contacts.purge_contacts(campaign)
    cp = ledger.checkpoint(campaign, "archive")
    digest = ledger.digest(campaign, cp)
    audit.record("campaign.archive", "campaign", campaign.code, {"archived_at": None}, {
        "archived_at": now.isoformat(), "archived_by": actor, "contacts_erased": erased,
        "checkpoint": {"seq": cp.seq, "head_hash": cp.head_hash,
                       "merkle_root": cp.merkle_root, "digest": digest}})
    db.session.flush()
    return Archived(campaign, cp, digest, erased)


STAGES = ("open", "awaiting_second", "disagreement", "paper", "online", "void")


def pending_counts(campaign: Campaign) -> dict[str, int]:
    """How many of the campaign's paper forms are in each stage (keys: STAGES, total)."""
    keyed = (select(PaperEntry.form_id, func.count(PaperEntry.id).label("n"))
             .group_by(PaperEntry.form_id).subquery())
    stage_expr = case(
        (Response.channel == "paper", "paper"),
        (Response.id.is_not(None), "online"),
        (IssuedForm.voided_at.is_not(None), "void"),
        (keyed.c.n >= 2, "disagreement"),
        (keyed.c.n == 1, "awaiting_second"),
        else_="open",
    ).label("stage")
    staged = (select(stage_expr)
              .select_from(IssuedForm)
              .outerjoin(Response, Response.form_id == IssuedForm.id)
              .outerjoin(keyed, keyed.c.form_id == IssuedForm.id)
              .where(IssuedForm.campaign_id == campaign.id, IssuedForm.kind == "paper")
              .subquery())
    counts = dict.fromkeys(STAGES, 0)
    for name, n in db.session.execute(
            select(staged.c.stage, func.count()).group_by(staged.c.stage)):
        counts[name] = n
    counts["total"] = sum(counts[s] for s in STAGES)
    return counts
