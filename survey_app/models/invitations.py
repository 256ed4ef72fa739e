"""Invitations after a one-stop case: the column map of the case system's export, each
import, each invited case with its contact (kept only until it is sent) and the delivery
log.

Personal data (Law 91/2025/QH15): a phone number or e-mail address and the link's token
live in `invitation` only while the invitation waits to be sent; they are set to NULL
once it is sent or finally fails. What stays is a keyed hash of the contact (one
invitation per person per campaign) and of the case id (a case is imported once).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import utcnow
from .campaigns import Campaign
from .responses import IssuedForm

INVITATION_STATES = ("pending", "sent", "failed")
DELIVERY_CHANNELS = ("sms", "email")


class CaseColumnMap(db.Model):
    """Which header of the case system's export holds what (one row per installation).

    `columns` maps a field (case_id, procedure, agency, completed_on, phone, email,
    consent) to a header; `consent_values` are the cell values that mean "yes"."""

    __tablename__ = "case_column_map"

    id: Mapped[int] = mapped_column(primary_key=True)
    columns: Mapped[dict] = mapped_column(JSON, default=dict)
    consent_values: Mapped[list] = mapped_column(JSON, default=list)
    prefer: Mapped[str] = mapped_column(String(8), default="sms")
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(120))

    __table_args__ = (CheckConstraint("prefer IN ('sms', 'email')", name="prefer"),)


class CaseImport(db.Model):
    """One accepted file of completed cases, with what became of its rows."""

    __tablename__ = "case_import"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    imported_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    imported_by: Mapped[str] = mapped_column(String(120))
    rows: Mapped[int] = mapped_column(Integer)
    invited: Mapped[int] = mapped_column(Integer)
    no_consent: Mapped[int] = mapped_column(Integer)
    no_contact: Mapped[int] = mapped_column(Integer)
    already_invited: Mapped[int] = mapped_column(Integer)

    campaign: Mapped[Campaign] = relationship()


class ImportedCase(db.Model):
    """A case id seen in an accepted import (as a keyed hash): a case is imported once."""

    __tablename__ = "imported_case"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"))
    import_id: Mapped[int] = mapped_column(ForeignKey("case_import.id"), index=True)
    case_hash: Mapped[str] = mapped_column(String(64))

    __table_args__ = (UniqueConstraint("campaign_id", "case_hash"),)


class Invitation(db.Model):
    """One person invited after one case: its single-use form and, until sent, how to
    reach them and the link's token."""

    __tablename__ = "invitation"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"))
    import_id: Mapped[int] = mapped_column(ForeignKey("case_import.id"), index=True)
    form_id: Mapped[int] = mapped_column(ForeignKey("issued_form.id"), unique=True)
    contact_hash: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(8))
    phone: Mapped[str | None] = mapped_column(String(16))
    email: Mapped[str | None] = mapped_column(String(254))
    token: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(8), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    erased_at: Mapped[datetime | None] = mapped_column(DateTime)

    campaign: Mapped[Campaign] = relationship()
    form: Mapped[IssuedForm] = relationship()

    __table_args__ = (
        UniqueConstraint("campaign_id", "contact_hash"),
        CheckConstraint("status IN ('pending', 'sent', 'failed')", name="status"),
        CheckConstraint("channel IN ('sms', 'email')", name="channel"),
        # Nothing to reach a person by is kept once the invitation is settled.
        CheckConstraint("status = 'pending' OR (phone IS NULL AND email IS NULL "
                        "AND token IS NULL)", name="erased"),
    )


class InvitationDelivery(db.Model):
    """The delivery log: one row per attempt, with the gateway's or SMTP server's answer
    in short; never the contact."""

    __tablename__ = "invitation_delivery"

    id: Mapped[int] = mapped_column(primary_key=True)
    invitation_id: Mapped[int] = mapped_column(ForeignKey("invitation.id"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    channel: Mapped[str] = mapped_column(String(8))
    outcome: Mapped[str] = mapped_column(String(8))
    detail: Mapped[str] = mapped_column(String(200))

    __table_args__ = (CheckConstraint("outcome IN ('sent', 'error')", name="outcome"),)
