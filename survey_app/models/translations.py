"""Translations of a questionnaire version into any ISO 639 language, kept as data beside
the version (which never changes): one row per loaded language, one row per translated
part (`services.translations` says which parts there are and which are mandatory)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import utcnow


class QuestionnaireTranslation(db.Model):
    """A version's translation into `lang` (ISO 639 as `languages.normalise` keeps it).
    Loading a language again replaces the row and its texts; `revision` is the digest of
    the texts, so a page cached for another revision is never served for this one."""

    __tablename__ = "questionnaire_translation"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("questionnaire_version.id"))
    lang: Mapped[str] = mapped_column(String(8))
    revision: Mapped[str] = mapped_column(String(64))
    parts: Mapped[int] = mapped_column(Integer)
    loaded_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    loaded_by: Mapped[str] = mapped_column(String(120), default="")

    texts: Mapped[list[TranslationText]] = relationship(
        back_populates="translation", cascade="all, delete-orphan", passive_deletes=True)

    __table_args__ = (UniqueConstraint("version_id", "lang"),)


class TranslationText(db.Model):
    """One translated part: `item_code` empty for the version's own parts (title, intro,
    group names, the form's fixed words, the question types' words)."""

    __tablename__ = "translation_text"

    id: Mapped[int] = mapped_column(primary_key=True)
    translation_id: Mapped[int] = mapped_column(
        ForeignKey("questionnaire_translation.id", ondelete="CASCADE"), index=True)
    item_code: Mapped[str] = mapped_column(String(40), default="")
    part: Mapped[str] = mapped_column(String(120))
    text: Mapped[str] = mapped_column(Text)

    translation: Mapped[QuestionnaireTranslation] = relationship(back_populates="texts")

    __table_args__ = (UniqueConstraint("translation_id", "item_code", "part"),)
