"""The campaigns' hash chains: their entries, heads and checkpoints."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from analysis.ledger import PLACE

from ..extensions import db
from .base import utcnow

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
