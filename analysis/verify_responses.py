"""responses.csv against the ledger: compared whole with the file the ledger implies, and
row by row, naming what differs, only when it is not the same."""

from __future__ import annotations

import hashlib

from .bundle import BundleError, _Digest, _lines, _parse, _text
from .ledger import US
from .messages import say
from .verify_chain import _Recorded
from .verify_report import Report

META = ["response_id", "campaign", "agency_code", "channel", "submitted_at", "review_state"]


def _check_header(first: bytes | None, lines, codes: list[str]) -> None:
    header = _parse(first, lines)[0] if first is not None else None
    if header is None or [_text(h) for h in header] != META + codes:
        raise BundleError(say("bundle.responses_header"))


def _responses_as_recorded(actual: _Digest, codes: list[str], recorded: _Recorded,
                           reviews: dict[int, bytes]) -> int | None:
    """The number of responses if responses.csv, after its header, is byte for byte the
    file the ledger implies — each response entry's row, in ledger order, with the answers
    as corrected and the latest review state — else None. A SHA-256 of each side: a
    million rows cost two C-level passes (one in a thread, while the other side is made)
    instead of a comparison field by field."""
    rows = recorded.file(reviews)
    expected = hashlib.sha256()
    for start in range(0, len(rows) if rows is not None else 0, 1 << 16):
        chunk = rows[start:start + (1 << 16)]
        chunk.append(b"")
        expected.update(b"\n".join(chunk))
    header, digest = actual.result()
    _check_header(header, iter(()), codes)
    return len(rows) if rows is not None and expected.digest() == digest else None


def _check_responses(zf, report: Report, codes: list[str], ledger: dict,
                     reviews: dict) -> None:
    lines = _lines(zf, "responses.csv")
    _check_header(next(lines, None), lines, codes)
    width = len(META) + len(codes)
    commas = width - 7
    us, quote, cr, received = US.encode(), b'"', b"\r", b"received"
    pop, state_of = ledger.pop, reviews.get
    count = 0
    # Each line is split once; the answers are compared as one string with the ledger's
    # export field: a response that matches costs a handful of C calls.
    for line in lines:
        if quote in line or cr in line:
            for row in _parse(line, lines):
                count += 1
                _check_row(report, row, codes, width, pop, state_of)
            continue
        count += 1
        row = line.split(b",", 6)
        try:
            rid = int(row[0])
            seq, parts = pop(rid)
        except (ValueError, IndexError, KeyError):
            _check_row(report, line.split(b","), codes, width, pop, state_of)
            continue
        if (len(row) != 7 or row[1:5] != parts[3:7] or row[6].count(b",") != commas
                or row[6].replace(b",", us) != parts[8]
                or row[5] != state_of(rid, received)):
            ledger[rid] = (seq, parts)  # put back: the slow check reports what differs
            _check_row(report, line.split(b","), codes, width, pop, state_of)
    report.responses += count
    for rid, (seq, parts) in sorted(ledger.items()):
        report.add("removed", say("response.removed", rid=rid, receipt=_text(parts[2]),
                                  seq=seq))


def _check_row(report: Report, row: list[bytes], codes: list[str], width: int, pop,
               state_of) -> None:
    """Compare one bundle row with its ledger entry field by field and name what differs."""
    try:
        rid = int(row[0])
    except (ValueError, IndexError):
        report.add("inserted", say("response.no_id", cells=[_text(c) for c in row[:2]]))
        return
    entry = pop(rid, None)
    if entry is None:
        report.add("inserted", say("response.inserted", rid=rid))
        return
    seq, parts = entry
    # parts: kind, id, receipt, campaign, agency_code, channel, submitted_at, form,
    # export, answers — the bundle row must show exactly what was recorded.
    receipt = _text(parts[2])
    if row[1:5] != parts[3:7]:
        report.add("altered", say("response.fields", rid=rid, receipt=receipt,
                                  fields=_diff(META[1:5], parts[3:7], row[1:5]), seq=seq))
    if len(row) != width or US.encode().join(row[6:]) != parts[8]:
        recorded = parts[8].split(US.encode())
        shown = ", ".join(say("response.answer", code=c, ledger=_text(a), bundle=_text(b))
                          for c, a, b in zip(codes, recorded, row[6:], strict=False) if a != b)
        report.add("altered", say("response.answers", rid=rid, receipt=receipt, seq=seq,
                                  shown=shown or say("response.width")))
    state = state_of(rid, b"received")
    shown_state = row[5] if len(row) > 5 else b""
    if shown_state != state:
        report.add("altered", say("response.state", rid=rid, shown=_text(shown_state),
                                  state=_text(state)))


def _diff(names, expected, actual) -> str:
    return ", ".join(n for n, e, a in zip(names, expected, actual, strict=False) if e != a) or "fields"
