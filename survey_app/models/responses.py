"""Issued forms and the responses citizens submit, with what is recorded about them
later (reviews, corrections, released comments, paper entries) and the answer tally.

A response is written once and never updated or deleted: reviews and corrections are
rows that refer to it."""

from __future__ import annotations

import json
from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .agencies import Agency
from .base import CHANNELS, REVIEW_STATES, utcnow
from .campaigns import Campaign
from .users import User


class FormBatch(db.Model):
    """One issuance of numbered paper forms to a collector (the issuance register)."""

    __tablename__ = "form_batch"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    collector: Mapped[str] = mapped_column(String(120))
    count: Mapped[int] = mapped_column(Integer)
    first_number: Mapped[int] = mapped_column(Integer)
    last_number: Mapped[int] = mapped_column(Integer)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    issued_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    deadline: Mapped[date | None] = mapped_column(Date)

    campaign: Mapped[Campaign] = relationship()
    agency: Mapped[Agency] = relationship()
    issued_by: Mapped[User | None] = relationship()
    forms: Mapped[list[IssuedForm]] = relationship(
        back_populates="batch", order_by="IssuedForm.number"
    )


class IssuedForm(db.Model):
    """A numbered paper form or an invitation, each with its own single-use link.

    Only a hash of the link's token is kept: a database copy cannot be turned into links.
    """

    __tablename__ = "issued_form"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("form_batch.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12), default="paper")
    number: Mapped[int] = mapped_column(Integer)
    serial: Mapped[str] = mapped_column(String(60), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    procedure_code: Mapped[str | None] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime)
    voided_at: Mapped[datetime | None] = mapped_column(DateTime)
    void_reason: Mapped[str | None] = mapped_column(Text)

    campaign: Mapped[Campaign] = relationship()
    agency: Mapped[Agency] = relationship()
    batch: Mapped[FormBatch | None] = relationship(back_populates="forms")
    response: Mapped[Response | None] = relationship(back_populates="form", uselist=False)

    __table_args__ = (
        UniqueConstraint("campaign_id", "number"),
        CheckConstraint("kind IN ('paper', 'invitation')", name="kind"),
    )

    @property
    def state(self) -> str:
        """issued → online | paper | void | not_returned (issued and past the batch deadline)."""
        if self.response is not None:
            return "paper" if self.response.channel == "paper" else "online"
        if self.voided_at is not None:
            return "void"
        deadline = self.batch.deadline if self.batch else None
        if deadline is not None and utcnow().date() > deadline:
            return "not_returned"
        return "issued"


class Response(db.Model):
    """One citizen's submitted answers. Written once; never updated or deleted."""

    __tablename__ = "response"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    channel: Mapped[str] = mapped_column(String(12))
    # A form answers once: the unique constraint is what makes a single-use link single-use
    # even when the same link is submitted twice at the same moment.
    form_id: Mapped[int | None] = mapped_column(ForeignKey("issued_form.id"), unique=True)
    receipt_code: Mapped[str] = mapped_column(String(16), unique=True)
    opened_at: Mapped[datetime | None] = mapped_column(DateTime)
    submitted_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    duration_s: Mapped[int | None] = mapped_column(Integer)
    # Canonical JSON {item_code: value}; satisfaction 1..5, 0 = not applicable.
    answers: Mapped[str] = mapped_column(Text)
    # Keyed hashes (never the raw address or cookie) for burst detection.
    client_hash: Mapped[str | None] = mapped_column(String(64))
    device_hash: Mapped[str | None] = mapped_column(String(64))
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_key.id"))
    # A citizen's submission's idempotency key (keyed hash of its form token): repeats of
    # one submission, even at the same moment, store one response (`intake.accept`).
    # An open-link submission's idempotency key (`intake.store.submit_key`); other
    # channels have none, and the partial index below holds only the keys.
    submit_key: Mapped[str | None] = mapped_column(String(64))

    campaign: Mapped[Campaign] = relationship()
    agency: Mapped[Agency] = relationship()
    form: Mapped[IssuedForm | None] = relationship(back_populates="response")
    reviews: Mapped[list[ResponseReview]] = relationship(
        back_populates="response", order_by="ResponseReview.id"
    )
    corrections: Mapped[list[ResponseCorrection]] = relationship(
        back_populates="response", order_by="ResponseCorrection.id"
    )

    __table_args__ = (
        CheckConstraint(f"channel IN {CHANNELS!r}", name="channel"),
        # Holds the channel so that responses are counted per agency and channel from the
        # index alone; the id is in it too (SQLite's rowid, PostgreSQL's INCLUDE), so a
        # campaign's (id, agency) pairs are read without touching the rows (migration 0006).
        # (Alembic's comparison does not see INCLUDE: tests/test_migrations.py checks it.)
        # Only rows with a key: a single-use form's answer writes no entry here.
        Index("ix_response_submit_key", "submit_key", unique=True,
              sqlite_where=text("submit_key IS NOT NULL"),
              postgresql_where=text("submit_key IS NOT NULL")),
        Index("ix_response_campaign_agency_channel", "campaign_id", "agency_id", "channel",
              postgresql_include=["id"]),
    )

    @property
    def answer_dict(self) -> dict:
        return json.loads(self.answers)

    @property
    def review_state(self) -> str:
        return self.reviews[-1].state if self.reviews else "received"

    @property
    def effective_answers(self) -> dict:
        """The answers as submitted, with every correction applied in order."""
        from analysis.load import apply_corrections

        return apply_corrections(self.answer_dict, [c.change_dict for c in self.corrections])


class AnswerTally(db.Model):
    """Count of answers per (campaign, agency, item, score) of the campaign's responses up
    to its TallyMark, kept in steps by the submissions (`intake.store.tally_step`).

    Indices are computed from this small table and the few responses after the mark
    (`analysis.load.tally_counts`), so their cost does not grow with the number of responses.
    """

    __tablename__ = "answer_tally"
    # On SQLite one B-tree keyed by the primary key (every submission upserts ~20 rows).
    __table_args__ = {"sqlite_with_rowid": False}

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("item.id"), primary_key=True)
    score: Mapped[int] = mapped_column(Integer, primary_key=True)
    n: Mapped[int] = mapped_column(Integer, default=0)


class CrossTally(db.Model):
    """The answers of a campaign's responses per agency and group, the group being the
    channel (``group_by`` "channel") or an answer to a profile question (``group_by`` its
    code): what breakdowns and the report's profile and priority tables read. ``counts``
    is a vector of 32-bit integers laid out from the questionnaire
    (`analysis.load_cross.CrossPlan`: each scored item's answers per score, the group's
    respondents, each priority item's answers per value), so a submission touches a few
    rows. Kept with AnswerTally, in the same steps and up to the same mark
    (`intake.store.tally_step`), and checked with it (`analysis.load.check_tally`).
    """

    __tablename__ = "cross_tally"
    __table_args__ = {"sqlite_with_rowid": False}

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), primary_key=True)
    group_by: Mapped[str] = mapped_column(String(40), primary_key=True)
    group_value: Mapped[str] = mapped_column(Text, primary_key=True)
    counts: Mapped[bytes] = mapped_column(LargeBinary)


class TallyMark(db.Model):
    """The last response id of the campaign that AnswerTally counts (none: 0)."""

    __tablename__ = "tally_mark"

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), primary_key=True)
    response_id: Mapped[int] = mapped_column(Integer)


class ResponseReview(db.Model):
    """A review decision about a response (received → approved / has issues / rejected)."""

    __tablename__ = "response_review"

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("response.id"), index=True)
    state: Mapped[str] = mapped_column(String(12))
    reason: Mapped[str] = mapped_column(Text, default="")
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    decided_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    response: Mapped[Response] = relationship(back_populates="reviews")
    decided_by: Mapped[User | None] = relationship()

    __table_args__ = (CheckConstraint(f"state IN {REVIEW_STATES!r}", name="state"),)


class ResponseCorrection(db.Model):
    """An administrator's correction of one or more answers of a response (typically a
    paper-entry typo), with the reason. The response stays as submitted: its effective
    answers are the original ones updated by its corrections in id order."""

    __tablename__ = "response_correction"

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("response.id"), index=True)
    # Canonical JSON {item_code: value} as answers are stored; null: left unanswered.
    changes: Mapped[str] = mapped_column(Text)
    # The same items' effective values just before this correction.
    previous: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    corrected_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    corrected_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    response: Mapped[Response] = relationship(back_populates="corrections")
    corrected_by: Mapped[User | None] = relationship()

    @property
    def change_dict(self) -> dict:
        return json.loads(self.changes)

    @property
    def previous_dict(self) -> dict:
        return json.loads(self.previous)


class CommentRelease(db.Model):
    """A free-text answer released to the agency's officers, as released: masked
    automatically (analysis.redact) and possibly edited further by the person releasing
    it. The response itself is never changed; a later release of the same answer is a
    new row, and the latest one is shown."""

    __tablename__ = "comment_release"

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("response.id"), index=True)
    item_code: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(Text)
    released_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    released_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    #: the element (group code of the questionnaire) the comment speaks of, if filed
    element_code: Mapped[str | None] = mapped_column(String(16))

    response: Mapped[Response] = relationship()
    released_by: Mapped[User | None] = relationship()


class PaperEntry(db.Model):
    """One clerk's keying of a returned paper form; with double entry two must agree."""

    __tablename__ = "paper_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    form_id: Mapped[int] = mapped_column(ForeignKey("issued_form.id"), index=True)
    clerk_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    answers: Mapped[str] = mapped_column(Text)
    entered_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # A keyed hash of the re-check phone number keyed with this entry (None: none), for
    # comparing double entries; the number itself goes to RecheckContact once the form
    # counts, and this is cleared then.
    contact_digest: Mapped[str | None] = mapped_column(String(64))

    form: Mapped[IssuedForm] = relationship()
    clerk: Mapped[User] = relationship()

    __table_args__ = (UniqueConstraint("form_id", "clerk_id"),)
