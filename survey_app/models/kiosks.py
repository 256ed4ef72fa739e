"""Counter tablets registered as kiosks: one agency's survey form, answered in turn by the
citizens at a one-stop counter (`survey_app.services.kiosks`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .agencies import Agency
from .base import utcnow


class Kiosk(db.Model):
    """A tablet that takes one agency's answers (channel `kiosk`).

    Registering it gives a single-use enrolment link (`enrol_hash`, until
    `enrol_expires_at`); opening that link on the tablet gives it its credential, kept in
    a cookie there and only as a SHA-256 digest here (`credential_hash`). A new link
    replaces both; revoking ends the kiosk for good. Only digests are stored, so a copy
    of the database enrols no tablet."""

    __tablename__ = "kiosk"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    name: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(120), default="")
    enrol_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    enrol_expires_at: Mapped[datetime | None] = mapped_column(DateTime)
    credential_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    enrolled_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)

    agency: Mapped[Agency] = relationship()

    @property
    def state(self) -> str:
        """revoked, active (enrolled), waiting (a link not yet used) or unenrolled."""
        if self.revoked_at is not None:
            return "revoked"
        if self.credential_hash is not None:
            return "active"
        if self.enrol_hash is not None and self.enrol_expires_at > utcnow():
            return "waiting"
        return "unenrolled"
