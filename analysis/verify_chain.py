"""The walk of a bundle's ledger chain: each entry's hash and place, the response entries
with the corrections recorded after them replayed, and the latest review decisions."""

from __future__ import annotations

import binascii
import hashlib
import itertools
import json

from .bundle import BundleError, _last_quoted, _record, _rows, _text
from .kinds import export_value
from .ledger import GENESIS, RESPONSE_FIELDS, RS, US
from .messages import say

LEDGER_HEADER = b"seq,kind,ref,at,prev_hash,hash,payload"


class _ChainFindings:
    """What the walk of the chain finds, each finding with the position in ledger.csv of
    the entry it concerns and its place among that entry's checks, so that two processes'
    findings merge into the order of one. `add` (for the event checks) files a finding
    under the entry at position `at`."""

    LINE, SEQ, PREVIOUS, HASH, CONTENT = range(5)

    def __init__(self):
        self.found: list[tuple[int, int, str, str]] = []
        self.events = 0
        self.at = 0

    def note(self, at: int, check: int, kind: str, message: str) -> None:
        self.found.append((at, check, kind, message))

    def add(self, kind: str, message: str) -> None:
        self.found.append((self.at, self.CONTENT, kind, message))


def _check_chain(lines, chain: _ChainFindings, book: list[tuple[str, str]], *,
                 hashing: bool = True, recording: bool = True):
    """Walk the chain; returns the response entries (`_Recorded`: with the corrections
    recorded after them replayed, and the rows they imply), the recorded entry hashes
    (hex, as bytes), and the latest review state (bytes) by response id. Two roles, which
    one process may each take: `hashing` recomputes each entry's hash, checks the order
    and reads the review decisions; `recording` reads the payloads and the other events.
    `lines`: ledger.csv's, from `_lines`."""
    _check_ledger_header(next(lines, b""))
    recorded = _Recorded(len(book))
    add_response, add_row, add_id = (recorded.entries.append, recorded.rows.append,
                                     recorded.ids.append)
    reviews: dict[int, bytes] = {}
    hashes: list[bytes] = []
    add_hash = hashes.append
    position = {code: (i, kind) for i, (code, kind) in enumerate(book)}  # for corrections
    prev, expected = GENESIS.encode(), 1
    n_fields = len(RESPONSE_FIELDS)
    sha256, hexlify, rs, quote, cr = hashlib.sha256, binascii.hexlify, RS.encode(), b'"', b"\r"
    us, comma, received, separators = US.encode(), b",", b"received", len(book) - 1
    pending: list[list[bytes]] = []
    # The loop runs once per record of a million-response bundle: plain locals only.
    for line in lines:
        if quote in line or cr in line:
            row, plain = _last_quoted(line), False
            if row is None:
                row, pending = _whole_record(line, lines)
                if row is None:
                    continue
        else:
            row, plain = line.split(b","), True
        while True:
            if len(row) == 7 and row[0].isdigit():
                seq_b, kind, ref, _at, prev_hash, digest, payload = row
                seq = int(seq_b)
                if hashing and seq != expected:
                    _out_of_sequence(chain, len(hashes), seq, expected)
                if hashing and prev_hash != prev:
                    chain.note(len(hashes), chain.PREVIOUS, "reordered", say(
                        "ledger.not_following", seq=seq, ref=_text(ref), before=seq - 1))
                if hashing and hexlify(sha256(b"\n".join((prev_hash, seq_b, payload))).digest()) \
                        != digest and (seq_b == str(seq).encode() or hexlify(sha256(b"\n".join(
                            (prev_hash, str(seq).encode(), payload))).digest()) != digest):
                    chain.note(len(hashes), chain.HASH, "altered", say(
                        "ledger.hash", seq=seq, kind=_text(kind), ref=_text(ref)))
                add_hash(digest)
                prev = digest
                # after an entry moved back, the ones that follow it are in sequence again
                expected = seq + 1 if seq >= expected else expected
                if kind == b"response":
                    if recording:
                        parts = payload.split(rs)
                        if len(parts) != n_fields or not parts[1].isdigit():
                            chain.at = len(hashes) - 1
                            chain.add("altered", say("ledger.unreadable_payload", seq=seq))
                        else:
                            add_response((seq, payload))
                            add_id(int(parts[1]))
                            # its row in responses.csv, as long as nothing is recorded
                            # about it later; a plain line holds no character to quote
                            add_row(comma.join((parts[1], parts[3], parts[4], parts[5],
                                                parts[6], received, parts[8].replace(us, comma)))
                                    if plain and parts[8].count(us) == separators
                                    else _Recorded.row(parts, received, len(book)))
                else:
                    chain.at = len(hashes) - 1
                    if recording:
                        chain.events += 1
                    # review decisions are read with the hashes, the rest with the payloads
                    if kind == b"review" and hashing:
                        _review(chain, seq, payload, reviews)
                    elif kind != b"review" and recording:
                        _event(chain, seq, kind, payload, recorded, position)
            elif recording:
                chain.note(len(hashes), chain.LINE, "ledger",
                           say("ledger.malformed", seq=expected - 1))
            if not pending:
                break
            row = pending.pop(0)
    return recorded, hashes, reviews


def _check_ledger_header(header: bytes) -> None:
    if header.rstrip(b"\r") != LEDGER_HEADER:
        raise BundleError(say("bundle.columns", name="ledger.csv"))


def _whole_record(line: bytes, lines) -> tuple[list[bytes] | None, list[list[bytes]]]:
    """The fields of the record starting at a quoted ``line`` that `_last_quoted` cannot
    split alone (an answer with a line break spans several lines), and the rows after the
    first when the csv module reads several from it; (None, []) for none."""
    record = _record(line, lines)
    row = _last_quoted(record) if record is not line else None
    if row is not None:
        return row, []
    pending = _rows(record)
    return (pending.pop(0) if pending else None), pending


def _out_of_sequence(chain: _ChainFindings, at: int, seq: int, expected: int) -> None:
    if seq > expected:
        chain.note(at, chain.SEQ, "removed", say("ledger.jump_missing", before=expected - 1,
                                                 seq=seq, first=expected, last=seq - 1))
    else:
        chain.note(at, chain.SEQ, "reordered", say("ledger.jump", before=expected - 1, seq=seq))


class _Recorded:
    """The response entries of the ledger in its order, as (seq, payload), with the
    corrections recorded after them replayed, and the row each implies in responses.csv
    (None where its answers do not fit the codebook). By id on demand (for a correction,
    or to compare rows), the later of two entries with one id counting, as in a dict.
    A payload is kept whole rather than as its fields: a million responses are then two
    million objects rather than twelve."""

    def __init__(self, width: int):
        self.entries: list[tuple[int, bytes]] = []
        self.rows: list[bytes | None] = []
        self.ids: list[int] = []
        self._width = width  # answer cells in the codebook
        self._at: dict[int, int] = {}  # id -> index in entries, for entries[:_indexed]
        self._indexed = 0

    @staticmethod
    def row(parts: list[bytes], state: bytes, width: int) -> bytes | None:
        """The export's row for payload fields `parts`, no line end: a field holding a
        comma, a quote or a line break quoted, as the csv module writes it (one holding
        a lone "\r", which Python before 3.12 leaves bare, then differs from the file,
        which is compared row by row)."""
        cells = parts[8].split(US.encode())
        if len(cells) != width:
            return None
        return b",".join(b'"' + f.replace(b'"', b'""') + b'"'
                         if b"," in f or b'"' in f or b"\n" in f or b"\r" in f else f
                         for f in (parts[1], *parts[3:7], state, *cells))

    def _index(self) -> None:
        self._at.update(zip(self.ids[self._indexed:], itertools.count(self._indexed)))
        self._indexed = len(self.ids)

    def get(self, rid: int) -> tuple[int, list[bytes]] | None:
        """(seq, payload fields) of response `rid` as recorded so far."""
        self._index()
        i = self._at.get(rid)
        if i is None:
            return None
        seq, payload = self.entries[i]
        return seq, payload.split(RS.encode())

    def __setitem__(self, rid: int, entry: tuple[int, list[bytes]]) -> None:
        self._index()
        i = self._at[rid]
        seq, parts = entry
        self.entries[i] = (seq, RS.encode().join(parts))
        self.rows[i] = self.row(parts, b"received", self._width)

    def by_id(self) -> dict[int, tuple[int, list[bytes]]]:
        rs = RS.encode()
        return {int(parts[1]): (seq, parts)
                for seq, parts in ((seq, payload.split(rs)) for seq, payload in self.entries)}

    def file(self, reviews: dict[int, bytes]) -> list[bytes] | None:
        """The rows of responses.csv after its header, in ledger order, with the latest
        review states; None if one cannot be made."""
        rows = self.rows
        changed = {rid: state for rid, state in reviews.items() if state != b"received"}
        if changed:
            self._index()
            rows, at, comma = list(rows), self._at, b","
            for rid, state in changed.items():
                i = at.get(rid)
                if i is None or rows[i] is None:
                    continue
                if b'"' in rows[i] or b'"' in state or comma in state or b"\n" in state \
                        or b"\r" in state:
                    rows[i] = self.row(self.entries[i][1].split(RS.encode()), state,
                                       self._width)
                else:  # no field quoted: the state is the sixth
                    fields = rows[i].split(comma, 6)
                    fields[5] = state
                    rows[i] = comma.join(fields)
        return None if None in rows else rows


def _body(chain: _ChainFindings, seq: int, payload: bytes) -> dict | None:
    try:
        body = json.loads(payload)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        chain.add("altered", say("ledger.unreadable_payload", seq=seq))
        return None
    return body


def _review(chain: _ChainFindings, seq: int, payload: bytes, reviews: dict) -> None:
    body = _body(chain, seq, payload)
    if body is not None and "response_id" in body:
        rid = body["response_id"]
        if isinstance(rid, int):
            reviews[rid] = str(body.get("state", "received")).encode()
        else:
            chain.add("altered", say("ledger.unreadable_payload", seq=seq))


def _event(chain: _ChainFindings, seq: int, kind: bytes, payload: bytes, ledger: _Recorded,
           position: dict[str, tuple[int, str]]) -> None:
    body = _body(chain, seq, payload)
    if body is not None and kind == b"correction":
        _replay_correction(chain, seq, body, ledger, position)


def _replay_correction(report: _ChainFindings, seq: int, body: dict, ledger: _Recorded,
                       position: dict[str, tuple[int, str]]) -> None:
    """Apply a recorded correction to the response's recorded answers, so that the bundle
    row is compared with the effective answers. Each change must start from the answer
    as recorded so far: a correction that does not is reported."""
    rid, changes = body.get("response_id"), body.get("changes")
    entry = ledger.get(rid) if isinstance(rid, int) else None
    if entry is None or not isinstance(changes, dict) or not changes:
        report.add("altered", say("correction.orphan", seq=seq, rid=rid))
        return
    response_seq, parts = entry
    us = US.encode()
    cells = parts[8].split(us)
    for code, change in changes.items():
        where = position.get(code)
        if where is None or not isinstance(change, dict) or where[0] >= len(cells):
            report.add("altered", say("correction.unknown_item", seq=seq, rid=rid, code=code))
            continue
        index, kind = where
        try:
            before = export_value(kind, change.get("from")).encode()
            after = export_value(kind, change.get("to")).encode()
        except (TypeError, ValueError):
            report.add("altered", say("ledger.unreadable_payload", seq=seq))
            continue
        if cells[index] != before:
            report.add("altered", say("correction.mismatch", seq=seq, rid=rid, code=code,
                                      before=_text(before), recorded=_text(cells[index])))
        cells[index] = after
    ledger[rid] = (response_seq, [*parts[:8], us.join(cells), *parts[9:]])
