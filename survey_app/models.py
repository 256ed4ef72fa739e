"""The data model: agencies, versioned questionnaires, campaigns, issued forms, responses, users.

A response is written once and never updated or deleted: reviews and corrections are
rows that refer to it. Times are stored as naive UTC.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
    select,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from analysis.ledger import PLACE, canonical_json  # noqa: F401 (canonical_json: re-exported)

from .extensions import db


def utcnow() -> datetime:
    """Current time as naive UTC (the storage convention on SQLite and PostgreSQL alike)."""
    return datetime.now(UTC).replace(tzinfo=None)




AGENCY_KINDS = ("province", "department", "commune", "ward", "one_stop", "other")
ROLES = ("admin", "officer", "clerk", "auditor")
CHANNELS = ("open", "single_use", "paper", "api")
REVIEW_STATES = ("received", "approved", "has_issues", "rejected")


class Agency(db.Model):
    __tablename__ = "agency"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"), index=True)
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)

    parent: Mapped[Agency | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Agency]] = relationship(
        back_populates="parent", order_by="Agency.code"
    )

    __table_args__ = (CheckConstraint(f"kind IN {AGENCY_KINDS!r}", name="kind"),)

    def is_valid_on(self, day: date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_to is None or day <= self.valid_to
        )

    def as_row(self) -> dict:
        return {
            "code": self.code,
            "name": self.name,
            "kind": self.kind,
            "parent_code": self.parent.code if self.parent else "",
            "valid_from": self.valid_from.isoformat() if self.valid_from else "",
            "valid_to": self.valid_to.isoformat() if self.valid_to else "",
        }

    def __repr__(self) -> str:
        return f"<Agency {self.code}>"


class Questionnaire(db.Model):
    __tablename__ = "questionnaire"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    versions: Mapped[list[QuestionnaireVersion]] = relationship(
        back_populates="questionnaire", order_by="QuestionnaireVersion.number"
    )

    @property
    def latest(self) -> QuestionnaireVersion | None:
        return self.versions[-1] if self.versions else None


class QuestionnaireVersion(db.Model):
    __tablename__ = "questionnaire_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    questionnaire_id: Mapped[int] = mapped_column(ForeignKey("questionnaire.id"))
    number: Mapped[int] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(String(200))
    title_vi: Mapped[str] = mapped_column(Text)
    title_en: Mapped[str] = mapped_column(Text, default="")
    intro_vi: Mapped[str] = mapped_column(Text, default="")
    intro_en: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    questionnaire: Mapped[Questionnaire] = relationship(back_populates="versions")
    groups: Mapped[list[QuestionGroup]] = relationship(
        back_populates="version", order_by="QuestionGroup.position"
    )
    items: Mapped[list[Item]] = relationship(back_populates="version", order_by="Item.position")

    __table_args__ = (UniqueConstraint("questionnaire_id", "number"),)

    @property
    def locked(self) -> bool:
        """A version used by any campaign is frozen: editing it makes a new version."""
        return (
            db.session.scalar(select(Campaign.id).filter_by(version_id=self.id).limit(1))
            is not None
        )

    @property
    def name(self) -> str:
        return f"{self.questionnaire.code} v{self.number}"

    def title(self, lang: str) -> str:
        return (self.title_en if lang == "en" and self.title_en else self.title_vi)

    def intro(self, lang: str) -> str:
        return (self.intro_en if lang == "en" and self.intro_en else self.intro_vi)

    def satisfaction_items(self) -> list[Item]:
        return [i for i in self.items if i.type == "satisfaction"]

    def to_definition(self) -> dict:
        """The version as a data file (the format `load-questionnaire` reads)."""
        return {
            "code": self.questionnaire.code,
            "label": self.label,
            "title": {"vi": self.title_vi, "en": self.title_en},
            "intro": {"vi": self.intro_vi, "en": self.intro_en},
            "groups": [g.to_definition() for g in self.groups],
            "items": [i.to_definition() for i in self.items],
        }


class QuestionGroup(db.Model):
    """An element of the index (kind 'element') or a plain section of the form."""

    __tablename__ = "question_group"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("questionnaire_version.id"))
    code: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(10))
    name_vi: Mapped[str] = mapped_column(Text)
    name_en: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(Integer)

    version: Mapped[QuestionnaireVersion] = relationship(back_populates="groups")
    items: Mapped[list[Item]] = relationship(back_populates="group", order_by="Item.position")

    __table_args__ = (
        UniqueConstraint("version_id", "code"),
        CheckConstraint("kind IN ('element', 'section')", name="kind"),
    )

    def name(self, lang: str) -> str:
        return self.name_en if lang == "en" and self.name_en else self.name_vi

    def to_definition(self) -> dict:
        return {"code": self.code, "kind": self.kind, "name": {"vi": self.name_vi, "en": self.name_en}}


class Item(db.Model):
    __tablename__ = "item"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("questionnaire_version.id"))
    group_id: Mapped[int] = mapped_column(ForeignKey("question_group.id"))
    code: Mapped[str] = mapped_column(String(40))
    type: Mapped[str] = mapped_column(String(20))
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer)
    text_vi: Mapped[str] = mapped_column(Text)
    text_en: Mapped[str] = mapped_column(Text, default="")
    # Type-specific settings: choices [{code, label: {vi, en}}], max_length ...
    options: Mapped[dict] = mapped_column(JSON, default=dict)

    version: Mapped[QuestionnaireVersion] = relationship(back_populates="items")
    group: Mapped[QuestionGroup] = relationship(back_populates="items")

    __table_args__ = (UniqueConstraint("version_id", "code"),)

    def text(self, lang: str) -> str:
        return self.text_en if lang == "en" and self.text_en else self.text_vi

    @property
    def choices(self) -> list[dict]:
        return list((self.options or {}).get("choices", []))

    def to_definition(self) -> dict:
        out = {
            "code": self.code,
            "group": self.group.code,
            "type": self.type,
            "required": self.required,
            "text": {"vi": self.text_vi, "en": self.text_en},
        }
        out.update(self.options or {})
        return out


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
            return "online" if self.response.channel in ("single_use", "api") else "paper"
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
    # one submission, even at the same moment, store one response (`responses.record`).
    # An open-link submission's idempotency key (`services.responses.submit_key`); other
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
    to its TallyMark, kept in steps by the submissions (`services.responses.tally_step`).

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


class User(UserMixin, db.Model):
    __tablename__ = "user"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    full_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(12))
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime)
    # The second factor (RFC 6238): the shared secret, set by the account's owner only,
    # and the last time step a code was accepted at, so that no code is accepted twice.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)

    agency: Mapped[Agency | None] = relationship()

    __table_args__ = (CheckConstraint(f"role IN {ROLES!r}", name="role"),)

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive accounts
        return self.active

    def get_id(self) -> str:
        # The session names the credentials as well as the account: a new password or
        # second factor ends every session opened with the old ones.
        return f"{self.id}.{self.credentials_tag}"

    @property
    def credentials_tag(self) -> str:
        material = f"{self.password_hash}|{self.totp_secret or ''}".encode()
        return hashlib.sha256(material).hexdigest()[:16]

    def has_role(self, *roles: str) -> bool:
        return self.role in roles


class ApiKey(db.Model):
    """A key for one integration (case system, kiosk). Only its hash is stored."""

    __tablename__ = "api_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime)

    agency: Mapped[Agency | None] = relationship()


class RecoveryCode(db.Model):
    """A single-use code that stands in for the second factor. Only its hash is stored."""

    __tablename__ = "recovery_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(DateTime)


class AccountLink(db.Model):
    """A one-time link with which an account's owner sets their password (and second
    factor): issued at creation or as a reset. Only the token's hash is stored."""

    __tablename__ = "account_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[str] = mapped_column(String(12))  # "setup" or "reset"
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    used_at: Mapped[datetime | None] = mapped_column(DateTime)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    issued_by: Mapped[str] = mapped_column(String(80))

    user: Mapped[User] = relationship(foreign_keys=[user_id])


class AuditLog(db.Model):
    """Append-only record of administrative changes: who, what, when, before and after.

    One global hash chain (`services.audit`): row `seq` follows row seq - 1, and
    hash = sha256(prev_hash "\n" seq "\n" content), the content being
    `analysis.ledger.audit_payload` of the row (at, actor, action, object, before, after).
    """

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Its place in the chain (1, 2, …): numbered when its transaction commits.
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(60))
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[str] = mapped_column(String(80))
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)



#: What ties a ledger entry's id to its place (migration 0010 adds it).
PLACE_CHECK = f"seq > 0 AND seq < {PLACE} AND id = campaign_id * {PLACE} + seq"


class LedgerEntry(db.Model):
    """One link of a campaign's hash chain: every accepted response and every later event
    about it (review, void, re-verification, correction, sample draw).

    hash = sha256(prev_hash + "\n" + seq + "\n" + payload), payload canonical JSON.

    The id is the entry's place, campaign_id × 2**32 + seq (`analysis.ledger.entry_id`):
    the primary key alone orders each chain and keeps each number once. On SQLite the
    column is an INTEGER PRIMARY KEY, the table's own key, so an append writes one B-tree.
    """

    __tablename__ = "ledger_entry"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True, autoincrement=False)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"))
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))
    ref: Mapped[str] = mapped_column(String(80))
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    payload: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    __table_args__ = (CheckConstraint(PLACE_CHECK, name="place"),)


class LedgerHead(db.Model):
    """One row per campaign with a ledger: its row lock serialises appends on PostgreSQL
    (SQLite's write lock does it there). The chain's end is its last entry
    (`survey_app.ledger.head`)."""

    __tablename__ = "ledger_head"

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), primary_key=True)


class LedgerCheckpoint(db.Model):
    """The chain's head, length and Merkle root at a moment, for auditors to keep outside."""

    __tablename__ = "ledger_checkpoint"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    seq: Mapped[int] = mapped_column(Integer)
    head_hash: Mapped[str] = mapped_column(String(64))
    merkle_root: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(20))
    # The answer tally when the checkpoint was taken, checked against the responses
    # (`analysis.load.check_tally`): sha256 of its rows, its mark and the last correction
    # it reflects. None when the check failed, and on checkpoints older than the check.
    tally_digest: Mapped[str | None] = mapped_column(String(64))
    tally_mark: Mapped[int | None] = mapped_column(Integer)
    tally_last_correction: Mapped[int | None] = mapped_column(Integer)


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


# --- append-only guard ------------------------------------------------------------------
# Rows a citizen submitted, and the records about them, are never updated or deleted by
# the application; the database refuses it too, so a slip in code cannot do it silently.
APPEND_ONLY_TABLES = ("response", "response_review", "audit_log", "ledger_entry",
                      "ledger_checkpoint", "reverify_draw", "reverification",
                      "response_correction", "comment_release")


def append_only_ddl(dialect: str, table: str) -> list[str]:
    if dialect == "sqlite":
        return [
            f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END",
            f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END",
        ]
    if dialect == "postgresql":
        return [
            "CREATE OR REPLACE FUNCTION forbid_change() RETURNS trigger AS $$ BEGIN "
            "RAISE EXCEPTION USING MESSAGE = TG_TABLE_NAME || ' is append-only'; END; $$ "
            "LANGUAGE plpgsql",
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION forbid_change()",
        ]
    return []


def _install_append_only(table, connection, **kw):
    for statement in append_only_ddl(connection.dialect.name, table.name):
        connection.exec_driver_sql(statement)


for _name in APPEND_ONLY_TABLES:
    event.listen(db.metadata.tables[_name], "after_create", _install_append_only)
