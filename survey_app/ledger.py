"""The tamper-evident ledger: a hash chain per campaign and its checkpoints.

Every accepted response and every later event about one is appended in the same
transaction as what it records. An auditor keeps a checkpoint digest outside the system
and later checks an exported bundle (`services.bundle`) with `python -m analysis verify`,
without this application or its database.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from sqlalchemy import select

from analysis import ledger as chain

from .extensions import db
from .models import Campaign, LedgerCheckpoint, LedgerEntry, canonical_json, utcnow
from .rawsql import Cursor, Statement

GENESIS = chain.GENESIS


def iso(moment: datetime) -> str:
    """A naive UTC time as 2026-11-27T03:04:05Z."""
    return moment.isoformat("T", "seconds") + "Z"


_HEAD_ROW = Statement("INSERT INTO ledger_head (campaign_id) VALUES (:c) "
                      "ON CONFLICT (campaign_id) DO NOTHING")
_LOCK_HEAD_ROW = Statement("SELECT campaign_id FROM ledger_head WHERE campaign_id = :c "
                           "FOR UPDATE")
# The chain's last entry: the highest id in the campaign's range (`chain.entry_id`).
_LAST_OF = "FROM ledger_entry WHERE id BETWEEN :chain_first AND :chain_last ORDER BY id DESC LIMIT 1"
_LAST = Statement("SELECT seq, hash " + _LAST_OF)
_ENTRY = Statement("INSERT INTO ledger_entry (id, campaign_id, seq, kind, ref, at, payload, "
                   "prev_hash, hash) VALUES (:id, :c, :seq, :kind, :ref, :at, :payload, :prev, "
                   ":hash)", times=("at",))


def lock_chain(campaign_id: int, on: Cursor | None = None) -> Cursor:
    """Hold the campaign's chain until the caller's transaction ends: on PostgreSQL the
    head row's lock, on SQLite the database's write lock (taken now if this transaction
    has not written yet). Appends, the archive's final checkpoint and a re-verification
    draw's population all read the chain's end under it."""
    sql = on or Cursor()
    if sql.sqlite:
        sql.begin_write()
    elif not _LOCK_HEAD_ROW.execute({"c": campaign_id}, on=sql).fetchall():
        _HEAD_ROW.execute({"c": campaign_id}, on=sql)
        _LOCK_HEAD_ROW.execute({"c": campaign_id}, on=sql).fetchall()
    return sql


class ChainEnd(NamedTuple):
    """A chain's last entry: its sequence number and hash ((0, GENESIS) when empty)."""

    seq: int
    hash: str


def chain_range(campaign_id: int) -> dict[str, int]:
    """The id range of the campaign's entries (`chain_first`, `chain_last`): the chain's
    end is the highest id in it (a submission's insert reads it so, `intake.store`)."""
    first, last = chain.chain_ids(campaign_id)
    return {"chain_first": first, "chain_last": last}


def head(campaign_id: int, on: Cursor | None = None) -> tuple[int, str]:
    """(length, hash) of the campaign's chain: its last entry, (0, GENESIS) when empty."""
    last = _LAST.execute(chain_range(campaign_id), on=on).fetchall()
    return (last[0][0], last[0][1]) if last else (0, GENESIS)


def append(campaign_id: int, kind: str, ref: str, payload: dict | str,
           on: Cursor | None = None, at: datetime | None = None,
           after: ChainEnd | None = None) -> str:
    """Append one event to the campaign's chain; returns its hash. Caller commits.

    Under `lock_chain`, the last entry is the chain's end: the new entry follows it.
    `after`: that end, as the caller already read it under the lock — a submission's
    insert does, and then this is one statement.
    """
    body = payload if isinstance(payload, str) else canonical_json(payload)
    if after is None:
        sql = lock_chain(campaign_id, on)
        seq, prev = head(campaign_id, on=sql)
    else:
        sql, (seq, prev) = on, after
    digest = chain.entry_hash(prev, seq + 1, body)
    _ENTRY.execute({"id": chain.entry_id(campaign_id, seq + 1), "c": campaign_id,
                    "seq": seq + 1, "kind": kind, "ref": ref,
                    "at": at or utcnow(), "payload": body, "prev": prev, "hash": digest}, on=sql)
    return digest


def answer_cells(version, answers: dict) -> tuple[list[str], list[str]]:
    """A response's answers as the export writes them (`analysis.ledger.export_value`),
    and the scored items answered "not applicable" (0) — the answer part of its ledger
    payload. `version` is a snapshot (`survey_form.spec`): every submission passes here."""
    cells, not_applicable = [], []
    for code, kind, scored in version.item_kinds:
        value = answers.get(code)
        if value is None:
            cells.append("")
            continue
        cells.append(chain.export_value(kind, value))
        if scored and value == 0:
            not_applicable.append(code)
    return cells, not_applicable


def checkpoint(campaign: Campaign, reason: str = "manual", tally=None) -> LedgerCheckpoint:
    """Record the head, the length and the Merkle root of the campaign's chain now (and,
    given `tally`, a check of the answer tally that found it right
    (`analysis.load.TallyCheck`), its digest, mark and last correction)."""
    hashes = list(db.session.scalars(
        select(LedgerEntry.hash).where(LedgerEntry.id.between(*chain.chain_ids(campaign.id)))
        .order_by(LedgerEntry.id)))
    row = LedgerCheckpoint(campaign_id=campaign.id, seq=len(hashes),
                           head_hash=hashes[-1] if hashes else GENESIS,
                           merkle_root=chain.merkle_root(hashes), reason=reason)
    if tally is not None and tally.ok:
        row.tally_digest, row.tally_mark = tally.digest, tally.mark
        row.tally_last_correction = tally.last_fix
    db.session.add(row)
    db.session.flush()
    return row


def digest(campaign: Campaign, cp: LedgerCheckpoint) -> str:
    return chain.format_digest(campaign.code, cp.seq, cp.head_hash)
