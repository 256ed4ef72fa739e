"""Re-verification ("phúc tra"): sample draws, their outcomes, and the contacts kept for
rechecking."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import utcnow
from .users import User

REVERIFY_OUTCOMES = ("confirmed", "not_confirmed", "unreachable", "answers_differ")


class ReverifyDraw(db.Model):
    """A re-verification ("phúc tra") sample drawn from a seed the auditor chose.

    The draw is a pure function of the population (responses chained up to `as_of_seq`),
    their strata, the flagged records, the seed and the rate (analysis.sampling_audit), so
    anyone holding the audit bundle can recompute it.
    """

    __tablename__ = "reverify_draw"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), index=True)
    seed: Mapped[int] = mapped_column(BigInteger)
    rate: Mapped[float] = mapped_column(Float)
    oversample_flagged: Mapped[float] = mapped_column(Float)
    as_of_seq: Mapped[int] = mapped_column(Integer)
    population: Mapped[int] = mapped_column(Integer)
    # Canonical JSON list of the drawn response ids (also in the ledger event).
    selected: Mapped[str] = mapped_column(Text)
    drawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    drawn_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    drawn_by: Mapped[User | None] = relationship()

    @property
    def selected_ids(self) -> list[int]:
        return json.loads(self.selected)


class Reverification(db.Model):
    """The outcome of re-contacting one sampled respondent; a later row supersedes."""

    __tablename__ = "reverification"

    id: Mapped[int] = mapped_column(primary_key=True)
    draw_id: Mapped[int] = mapped_column(ForeignKey("reverify_draw.id"))
    response_id: Mapped[int] = mapped_column(ForeignKey("response.id"), index=True)
    outcome: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    recorded_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    recorded_by: Mapped[User | None] = relationship()

    __table_args__ = (CheckConstraint(f"outcome IN {REVERIFY_OUTCOMES!r}", name="outcome"),)


class RecheckContact(db.Model):
    """A phone number a citizen left, with explicit consent, for a re-check.

    Personal data: kept apart from the answers, shown to auditors only, never exported,
    and deleted once the check is recorded or the campaign is archived.
    """

    __tablename__ = "recheck_contact"

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("response.id"), unique=True)
    phone: Mapped[str] = mapped_column(String(16))
    consented_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
