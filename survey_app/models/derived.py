"""Results computed from the data and kept to save computing them again: never a source
of any figure's truth, always named by a digest of everything they were computed from
(`survey_app.services.derived`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import utcnow


class DerivedResult(db.Model):
    """One kept result: ``kind`` "interval" (a bootstrap group's element and service
    intervals, `analysis.stored`), "flags" (a campaign's quality-flag counts per agency)
    "plan" (which groups' intervals make up a campaign's results, `analysis.stored`) or
    "comments" (its responses with a written comment per agency), under
    the SHA-256 digest of its inputs; ``payload`` is zlib-compressed JSON. A row whose
    inputs changed is simply never asked for again; ``flask checkpoint`` removes rows
    left unused."""

    __tablename__ = "derived_result"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
