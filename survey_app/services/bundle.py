"""The audit bundle of a campaign: one ZIP file holding everything an auditor needs to check
the figures with `python -m analysis verify`, without this application or its database —
the responses and codebook (export format), the ledger and its checkpoints, the audit
log's chain, the agency tree, each response's collector and quality flags."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import datetime

from sqlalchemy import select, text

from analysis import ledger as chain
from analysis import load as loader
from analysis import load_audit, quality, sampling_audit

from ..extensions import db
from ..ledger import digest, iso
from ..models import (
    Agency,
    AuditLog,
    Campaign,
    CampaignAgency,
    LedgerCheckpoint,
    Response,
    canonical_json,
    utcnow,
)
from .flags import campaign_flags

#: agencies.csv of an audit bundle: the agency tree the roll-ups are computed over.
AGENCY_COLUMNS = ["code", "name", "kind", "parent_code", "valid_from", "valid_to"]


def _csv_bytes(header: list[str] | None, rows) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if header:
        writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def _json_cell(value) -> str:
    return canonical_json(json.loads(canonical_json(value)))


def _write_responses(zf: zipfile.ZipFile, conn, campaign: Campaign, book) -> int:
    """responses.csv in the export format, a chunk at a time. Returns its rows."""
    n = 0
    with zf.open("responses.csv", "w") as fh:
        first = True
        for frame in loader.iter_responses(conn, campaign.id, book, chunk_size=50_000):
            fh.write(frame.to_csv(index=False, header=first, lineterminator="\n")
                     .encode("utf-8"))
            first = False
            n += len(frame)
        if first:
            fh.write((",".join(loader.META_COLUMNS + list(book["item_code"])) + "\n")
                     .encode("utf-8"))
    return n


def _write_audit(zf: zipfile.ZipFile, conn, campaign: Campaign) -> None:
    """audit.csv: each response's collector, quality flags and how it could be re-contacted.
    Not covered by the chain: collectors come from the issuance register and flags are
    recomputed; `python -m analysis resample` needs both to redo a draw."""
    audited, flags = campaign_flags(campaign, cached=False)
    per = quality.flags_per_response(flags)
    # How each respondent could be re-contacted (never the phone number itself).
    reach = load_audit.recontact(conn, campaign.id).set_index("response_id")
    zf.writestr("audit.csv", _csv_bytes(sampling_audit.AUDIT_COLUMNS, [
        (rid, collector, per.get(rid, ""), int(reach.at[rid, "paper_form"]),
         int(reach.at[rid, "phone_kept"])) for rid, collector in
        zip(audited["response_id"], audited["collector"], strict=True)]))


def _write_ledger(zf: zipfile.ZipFile, conn, campaign: Campaign) -> int:
    """ledger.csv: the campaign's chain in order. Returns its entries."""
    with zf.open("ledger.csv", "w") as fh:
        fh.write(b"seq,kind,ref,at,prev_hash,hash,payload\n")
        n, (first, last) = 0, chain.chain_ids(campaign.id)
        while True:
            rows = conn.execute(text(
                "SELECT seq, kind, ref, at, prev_hash, hash, payload FROM ledger_entry "
                "WHERE id BETWEEN :first AND :last ORDER BY id LIMIT 50000"),
                {"first": first, "last": last}).all()
            if not rows:
                return n
            fh.write(_csv_bytes(None, [
                (r[0], r[1], r[2], iso(r[3]) if isinstance(r[3], datetime) else r[3],
                 r[4], r[5], r[6]) for r in rows]))
            first, n = chain.entry_id(campaign.id, rows[-1][0] + 1), n + len(rows)


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


def _agency_rows(campaign: Campaign) -> list[tuple]:
    """The agencies of the campaign's scope and of its responses, with their ancestors, as
    of now: what `verify --report` needs to recompute the roll-ups."""
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
    counts = {}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        counts["responses"] = _write_responses(zf, conn, campaign, book)
        zf.writestr("codebook.csv", book.to_csv(index=False, lineterminator="\n"))
        _write_audit(zf, conn, campaign)
        counts["ledger_entries"] = _write_ledger(zf, conn, campaign)
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
