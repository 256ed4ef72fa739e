"""Survey rounds: a questionnaire version, the agencies in scope and the answering window."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .agencies import Agency
from .base import utcnow
from .questionnaires import QuestionnaireVersion


class Campaign(db.Model):
    """A survey round: one questionnaire version, a set of agencies, an answering window."""

    __tablename__ = "campaign"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    period: Mapped[str] = mapped_column(String(20))
    version_id: Mapped[int] = mapped_column(ForeignKey("questionnaire_version.id"))
    opens_at: Mapped[datetime] = mapped_column(DateTime)
    closes_at: Mapped[datetime] = mapped_column(DateTime)
    # Paper forms need two independent entries that agree before they count.
    double_entry: Mapped[bool] = mapped_column(Boolean, default=False)
    # Completion faster than this is recorded as implausible (a speeder signal).
    min_seconds: Mapped[int] = mapped_column(Integer, default=40)
    next_serial: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # Archiving ends the round: read-only from then on, re-check contacts erased.
    archived_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Who archived it, as the audit log names actors (a username, or cli:<os user>).
    archived_by: Mapped[str | None] = mapped_column(String(80))

    version: Mapped[QuestionnaireVersion] = relationship()
    scope: Mapped[list[CampaignAgency]] = relationship(
        back_populates="campaign", order_by="CampaignAgency.id"
    )

    __table_args__ = (CheckConstraint("closes_at > opens_at", name="window"),)

    def is_open(self, at: datetime | None = None) -> bool:
        at = at or utcnow()
        return self.archived_at is None and self.opens_at <= at < self.closes_at

    @property
    def agencies(self) -> list[Agency]:
        return [s.agency for s in self.scope]


class CampaignAgency(db.Model):
    """An agency in a campaign's scope, with its open-link code and sample plan."""

    __tablename__ = "campaign_agency"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    # Opaque, short, typeable: the poster's URL is /k/<open_code>.
    open_code: Mapped[str] = mapped_column(String(16), unique=True)
    planned: Mapped[int | None] = mapped_column(Integer)
    population: Mapped[int | None] = mapped_column(Integer)

    campaign: Mapped[Campaign] = relationship(back_populates="scope")
    agency: Mapped[Agency] = relationship()

    __table_args__ = (UniqueConstraint("campaign_id", "agency_id"),)
