"""The tamper-evident ledger: a hash chain per campaign, checkpoints, and the audit bundle.

Every accepted response and every later event about one is appended in the same
transaction as what it records. An auditor keeps a checkpoint digest outside the system
and later checks an exported bundle with `python -m analysis verify`, without this
application or its database.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import select, text

from analysis import ledger as chain
from analysis import load as loader
from analysis import load_audit, quality, sampling_audit

from .extensions import db
from .models import AuditLog, Campaign, LedgerCheckpoint, LedgerEntry, canonical_json, utcnow
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


def _csv_bytes(header: list[str] | None, rows) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if header:
        writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def _json_cell(value) -> str:
    return canonical_json(json.loads(canonical_json(value)))


def _write_audit_log(zf: zipfile.ZipFile, conn) -> int:
    """audit_log.csv: the whole audit log's chain (global, not one campaign's: account and
    setting events are what an auditor looks for), in seq order. Returns its rows."""
    n, last = 0, 0
    with zf.open("audit_log.csv", "w") as fh:
        fh.write((",".join(chain.AUDIT_COLUMNS) + "\n").encode())
        while True:
            rows = conn.execute(
                select(AuditLog.seq, AuditLog.at, AuditLog.actor, AuditLog.action,
                       AuditLog.object_type, AuditLog.object_id, AuditLog.before,
                       AuditLog.after, AuditLog.prev_hash, AuditLog.hash)
                .where(AuditLog.seq > last).order_by(AuditLog.seq).limit(10_000)).all()
            if not rows:
                return n
            fh.write(_csv_bytes(None, [
                (r[0], iso(r[1]), r[2], r[3], r[4], r[5],
                 _json_cell(r[6]), _json_cell(r[7]), r[8], r[9]) for r in rows]))
            n, last = n + len(rows), rows[-1][0]


#: agencies.csv of an audit bundle: the agency tree the roll-ups are computed over.
AGENCY_COLUMNS = ["code", "name", "kind", "parent_code", "valid_from", "valid_to"]


def _agency_rows(campaign: Campaign) -> list[tuple]:
    """The agencies of the campaign's scope and of its responses, with their ancestors, as
    of now: what `verify --report` needs to recompute the roll-ups."""
    from .models import Agency, CampaignAgency, Response

    ids = set(db.session.scalars(select(CampaignAgency.agency_id).filter_by(
        campaign_id=campaign.id)))
    ids |= set(db.session.scalars(select(Response.agency_id).filter_by(
        campaign_id=campaign.id).distinct()))
    chosen: dict[str, Agency] = {}
    for agency in db.session.scalars(select(Agency).where(Agency.id.in_(ids))):
        while agency is not None and agency.code not in chosen:
            chosen[agency.code] = agency
            agency = agency.parent
    return [(a.code, a.name, a.kind, a.parent.code if a.parent else "",
             a.valid_from.isoformat() if a.valid_from else "",
             a.valid_to.isoformat() if a.valid_to else "") for _, a in sorted(chosen.items())]


def export_bundle(campaign: Campaign, path) -> dict:
    """Write the audit bundle (a ZIP): responses.csv and codebook.csv in the export format,
    audit.csv (each response's collector and quality flags), ledger.csv, checkpoints.csv,
    audit_log.csv (the audit log's chain), agencies.csv (the agency tree of the campaign)
    and manifest.json. Returns the manifest."""
    conn = db.session.connection()
    book = loader.codebook(conn, campaign.version_id)
    counts = {"responses": 0}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        with zf.open("responses.csv", "w") as fh:
            first = True
            for frame in loader.iter_responses(conn, campaign.id, book, chunk_size=50_000):
                fh.write(frame.to_csv(index=False, header=first, lineterminator="\n")
                         .encode("utf-8"))
                first = False
                counts["responses"] += len(frame)
            if first:
                fh.write((",".join(loader.META_COLUMNS + list(book["item_code"])) + "\n")
                         .encode("utf-8"))
        zf.writestr("codebook.csv", book.to_csv(index=False, lineterminator="\n"))
        # Not covered by the chain: collectors come from the issuance register and flags are
        # recomputed; `python -m analysis resample` needs both to redo a draw.
        from .services.flags import campaign_flags

        audited, flags = campaign_flags(campaign, cached=False)
        per = quality.flags_per_response(flags)
        # How each respondent could be re-contacted (never the phone number itself).
        reach = load_audit.recontact(conn, campaign.id).set_index("response_id")
        zf.writestr("audit.csv", _csv_bytes(sampling_audit.AUDIT_COLUMNS, [
            (rid, collector, per.get(rid, ""), int(reach.at[rid, "paper_form"]),
             int(reach.at[rid, "phone_kept"])) for rid, collector in
            zip(audited["response_id"], audited["collector"], strict=True)]))
        with zf.open("ledger.csv", "w") as fh:
            fh.write(b"seq,kind,ref,at,prev_hash,hash,payload\n")
            n, (first, last) = 0, chain.chain_ids(campaign.id)
            while True:
                rows = conn.execute(text(
                    "SELECT seq, kind, ref, at, prev_hash, hash, payload FROM ledger_entry "
                    "WHERE id BETWEEN :first AND :last ORDER BY id LIMIT 50000"),
                    {"first": first, "last": last}).all()
                if not rows:
                    break
                fh.write(_csv_bytes(None, [
                    (r[0], r[1], r[2], iso(r[3]) if isinstance(r[3], datetime) else r[3],
                     r[4], r[5], r[6]) for r in rows]))
                first, n = chain.entry_id(campaign.id, rows[-1][0] + 1), n + len(rows)
            counts["ledger_entries"] = n
        cps = db.session.scalars(select(LedgerCheckpoint).filter_by(campaign_id=campaign.id)
                                 .order_by(LedgerCheckpoint.id)).all()
        zf.writestr("checkpoints.csv", _csv_bytes(
            ["at", "seq", "head_hash", "merkle_root", "reason", "digest"],
            [(iso(c.at), c.seq, c.head_hash, c.merkle_root, c.reason, digest(campaign, c))
             for c in cps]))
        counts["audit_log_entries"] = _write_audit_log(zf, conn)
        zf.writestr("agencies.csv", _csv_bytes(AGENCY_COLUMNS, _agency_rows(campaign)))
        manifest = {"campaign": campaign.code, "name": campaign.name,
                    "created_at": iso(utcnow()), **counts, "checkpoints": len(cps),
                    "format": "survey-audit-bundle/1"}
        zf.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2))
    return manifest
