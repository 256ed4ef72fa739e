"""Versioned questionnaires: a version's groups (the SIPAS elements) and its items."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..questions import get_type
from .base import utcnow


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
        # Campaigns are read through their table: the Campaign model refers to this one.
        campaign = db.metadata.tables["campaign"]
        return (
            db.session.scalar(select(campaign.c.id).where(campaign.c.version_id == self.id)
                              .limit(1))
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
        return [i for i in self.items if get_type(i.type).scored]

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
