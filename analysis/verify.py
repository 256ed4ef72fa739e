"""Verify an audit bundle without the application: recompute the hash chain, match every
response against its ledger entry, and check the checkpoints — including one the auditor
kept outside the system.

    python -m analysis verify BUNDLE.zip [--checkpoint 'demo#1234:3f2a-91bc-07de-55aa-c0e1']
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from dataclasses import dataclass, field

from .ledger import GENESIS, RESPONSE_FIELDS, RS, US, merkle_root, parse_digest

META = ["response_id", "campaign", "agency_code", "channel", "submitted_at", "review_state"]


class BundleError(ValueError):
    """The file is not a readable audit bundle."""


@dataclass
class Report:
    campaign: str = ""
    ledger_entries: int = 0
    responses: int = 0
    events: int = 0
    checkpoints: int = 0
    findings: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    def add(self, kind: str, message: str) -> None:
        self.findings.append((kind, message))

    def lines(self, limit: int = 200) -> list[str]:
        if self.ok:
            return [f"OK: campaign {self.campaign}: {self.ledger_entries} ledger entries "
                    f"({self.responses} responses, {self.events} later events) and "
                    f"{self.checkpoints} checkpoints verified."]
        out = [f"FAILED: campaign {self.campaign}: {len(self.findings)} problem(s)"]
        out += [f"{kind.upper()}: {message}" for kind, message in self.findings[:limit]]
        if len(self.findings) > limit:
            out.append(f"… and {len(self.findings) - limit} more")
        return out


def _reader(zf: zipfile.ZipFile, name: str):
    try:
        raw = zf.open(name)
    except KeyError as exc:
        raise BundleError(f"the bundle has no {name}") from exc
    return csv.reader(io.TextIOWrapper(raw, encoding="utf-8", newline=""))


def verify_bundle(path, checkpoint: str | None = None) -> Report:
    csv.field_size_limit(1 << 26)
    try:
        zf = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise BundleError(f"cannot open {path} as an audit bundle: {exc}") from exc
    with zf:
        try:
            manifest = json.loads(zf.read("manifest.json"))
        except (KeyError, ValueError) as exc:
            raise BundleError("the bundle has no readable manifest.json") from exc
        report = Report(campaign=str(manifest.get("campaign", "")))
        ledger, hashes, reviews = _check_chain(zf, report)
        _check_responses(zf, report, ledger, reviews)
        _check_checkpoints(zf, report, hashes, checkpoint)
    return report


def _check_chain(zf, report: Report):
    """Walk the chain; returns response payload fields by id, entry hashes, latest reviews."""
    rows = _reader(zf, "ledger.csv")
    header = next(rows, None)
    if header != ["seq", "kind", "ref", "at", "prev_hash", "hash", "payload"]:
        raise BundleError("ledger.csv does not have the expected columns")
    ledger: dict[int, tuple[int, list[str]]] = {}
    reviews: dict[int, str] = {}
    hashes: list[str] = []
    prev, expected = GENESIS, 1
    n_fields = len(RESPONSE_FIELDS)
    sha256 = hashlib.sha256
    # The loop runs once per record of a million-response bundle: plain locals only.
    for row in rows:
        if len(row) != 7 or not row[0].isdigit():
            report.add("ledger", f"malformed ledger line after seq {expected - 1}")
            continue
        seq, kind, ref, _at, prev_hash, digest, payload = row
        seq = int(seq)
        if seq != expected:
            what = "removed" if seq > expected else "reordered"
            report.add(what, f"ledger sequence jumps from {expected - 1} to {seq}"
                       + (f" (entries {expected}–{seq - 1} missing)" if seq > expected else ""))
        if prev_hash != prev:
            report.add("reordered", f"ledger entry {seq} ({ref}) does not follow entry "
                       f"{seq - 1}: an entry was inserted, removed or moved before it")
        if sha256(f"{prev_hash}\n{seq}\n{payload}".encode()).hexdigest() != digest:
            report.add("altered", f"ledger entry {seq} ({kind} {ref}) does not match its hash")
        hashes.append(digest)
        prev = digest
        expected = seq + 1 if seq >= expected else expected + 1
        if kind == "response":
            parts = payload.split(RS)
            if len(parts) != n_fields or not parts[1].isdigit():
                report.add("altered", f"ledger entry {seq} has an unreadable payload")
                continue
            ledger[int(parts[1])] = (seq, parts)
            continue
        report.events += 1
        try:
            body = json.loads(payload)
        except ValueError:
            report.add("altered", f"ledger entry {seq} has an unreadable payload")
            continue
        if kind == "review" and "response_id" in body:
            reviews[int(body["response_id"])] = body.get("state", "received")
    report.ledger_entries = len(hashes)
    return ledger, hashes, reviews


def _check_responses(zf, report: Report, ledger: dict, reviews: dict) -> None:
    book = list(_reader(zf, "codebook.csv"))
    if not book or book[0][:4] != ["item_code", "element_code", "element_name", "type"]:
        raise BundleError("codebook.csv does not have the expected columns")
    codes = [r[0] for r in book[1:]]
    rows = _reader(zf, "responses.csv")
    header = next(rows, None)
    if header is None or header[:6] != META or header[6:] != codes:
        raise BundleError("responses.csv does not match the export format and its codebook")
    width = len(header)
    for row in rows:
        report.responses += 1
        try:
            rid = int(row[0])
        except (ValueError, IndexError):
            report.add("inserted", f"a response line without a valid id: {row[:2]}")
            continue
        entry = ledger.pop(rid, None)
        if entry is None:
            report.add("inserted", f"response {rid} has no ledger entry: added after "
                       "collection or forged")
            continue
        seq, parts = entry
        # parts: kind, id, receipt, campaign, agency_code, channel, submitted_at, form,
        # export, answers — the bundle row must show exactly what was recorded.
        if row[1:5] != parts[3:7]:
            report.add("altered", f"response {rid} (receipt {parts[2]}): "
                       f"{_diff(META[1:5], parts[3:7], row[1:5])} differ from ledger entry {seq}")
        if len(row) != width or US.join(row[6:]) != parts[8]:
            recorded = parts[8].split(US)
            shown = ", ".join(f"{c}: ledger {a!r} bundle {b!r}" for c, a, b in
                              zip(codes, recorded, row[6:], strict=False) if a != b)
            report.add("altered", f"response {rid} (receipt {parts[2]}): answers differ from "
                       f"ledger entry {seq}: {shown or '(number of columns)'}")
        state = reviews.get(rid, "received")
        if row[5] != state:
            report.add("altered", f"response {rid}: review state {row[5]!r}, ledger says {state!r}")
    for rid, (seq, parts) in sorted(ledger.items()):
        report.add("removed", f"response {rid} (receipt {parts[2]}, ledger entry "
                   f"{seq}) is in the ledger but not in the responses")


def _diff(names, expected, actual) -> str:
    return ", ".join(n for n, e, a in zip(names, expected, actual, strict=False) if e != a) or "fields"


def _check_checkpoints(zf, report: Report, hashes: list[str], held: str | None) -> None:
    rows = _reader(zf, "checkpoints.csv")
    header = next(rows, None)
    if header is None or header[:4] != ["at", "seq", "head_hash", "merkle_root"]:
        raise BundleError("checkpoints.csv does not have the expected columns")
    recorded = list(rows)
    for i, row in enumerate(recorded):
        report.checkpoints += 1
        seq, head = int(row[1]), row[2]
        actual = hashes[seq - 1] if 0 < seq <= len(hashes) else (GENESIS if seq == 0 else None)
        if actual != head:
            report.add("checkpoint", f"checkpoint of {row[0]} (entry {seq}) does not match the "
                       "ledger: entries up to it were changed")
        elif i == len(recorded) - 1 and merkle_root(hashes[:seq]) != row[3]:
            report.add("checkpoint", f"Merkle root of checkpoint {row[0]} does not match")
    if held:
        try:
            campaign, seq, prefix = parse_digest(held)
        except ValueError as exc:
            raise BundleError(str(exc)) from exc
        if campaign != report.campaign:
            report.add("checkpoint", f"the checkpoint you hold is for campaign {campaign}, "
                       f"the bundle for {report.campaign}")
        elif seq > len(hashes):
            report.add("removed", f"the checkpoint you hold covers {seq} entries; the ledger "
                       f"has only {len(hashes)}")
        elif not (hashes[seq - 1] if seq else GENESIS).startswith(prefix):
            report.add("checkpoint", f"the ledger does not match the checkpoint you hold at "
                       f"entry {seq}: it was rewritten after that checkpoint")
