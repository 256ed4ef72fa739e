"""Verify an audit bundle without the application: recompute the hash chain, match every
response against its ledger entry (with the corrections recorded after it replayed in
order), and check the checkpoints — including one the auditor kept outside the system —
and the audit log's own chain (audit_log.csv), listing its account and setting events.

    python -m analysis verify BUNDLE.zip [--checkpoint 'demo#1234:3f2a-91bc-07de-55aa-c0e1-d'] [--report FILE]
"""

from __future__ import annotations

import binascii
import csv
import gc
import hashlib
import io
import itertools
import json
import multiprocessing
import queue
import threading
import zipfile
from dataclasses import dataclass, field

from .errors import InputError
from .kinds import export_value
from .ledger import (
    AUDIT_COLUMNS,
    GENESIS,
    RESPONSE_FIELDS,
    RS,
    US,
    audit_payload_text,
    entry_hash,
    merkle_join,
    merkle_split,
    merkle_subtree,
    read_digest,
)
from .messages import os_reason, say

META = ["response_id", "campaign", "agency_code", "channel", "submitted_at", "review_state"]


class BundleError(InputError):
    """The file is not a readable audit bundle."""


@dataclass
class Report:
    campaign: str = ""
    ledger_entries: int = 0
    responses: int = 0
    events: int = 0
    checkpoints: int = 0
    #: how responses.csv was matched with the ledger: "whole file" (it is byte for byte
    #: the file the ledger implies) or "row by row" (it is not: each row is compared)
    responses_compared: str = ""
    findings: list[tuple[str, str]] = field(default_factory=list)
    #: remarks that are not findings (a digest without its check character, say)
    notes: list[str] = field(default_factory=list)
    #: rows of the audit log's chain (audit_log.csv); None: the bundle has none
    audit_entries: int | None = None
    #: the account, role, reset, disabling and setting events of the audit log, one line each
    account_events: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    def add(self, kind: str, message: str) -> None:
        self.findings.append((kind, message))

    def lines(self, limit: int = 200) -> list[str]:
        # Each line starts with an English keyword, the same in every language, for scripts.
        notes = [f"Note: {note}" for note in self.notes]
        if self.ok:
            out = notes + ["OK: " + say("verify.ok", campaign=self.campaign,
                                        entries=self.ledger_entries, responses=self.responses,
                                        events=self.events, checkpoints=self.checkpoints)]
        else:
            out = notes + ["FAILED: " + say("verify.failed", campaign=self.campaign,
                                            count=len(self.findings))]
            out += [f"{kind.upper()}: {message}" for kind, message in self.findings[:limit]]
            if len(self.findings) > limit:
                out.append(say("more", count=len(self.findings) - limit))
        return out + self.audit_lines()

    def audit_lines(self) -> list[str]:
        """The audit log's part: how many rows were checked, and its account and setting
        events (an auditor sees offline, say, that a reset was issued for their account)."""
        if self.audit_entries is None:
            return ["AUDIT LOG: " + say("audit.none")]
        out = ["AUDIT LOG: " + say("audit.summary", entries=self.audit_entries,
                                   events=len(self.account_events))]
        return out + [f"  {line}" for line in self.account_events]


def _reader(zf: zipfile.ZipFile, name: str):
    try:
        raw = zf.open(name)
    except KeyError as exc:
        raise BundleError(say("bundle.no_member", name=name)) from exc
    return csv.reader(io.TextIOWrapper(raw, encoding="utf-8", newline=""))


# --- reading a million lines ---------------------------------------------------------------
# ledger.csv and responses.csv are read as bytes, in large blocks, and a line is split on
# commas directly when it holds no quote and no carriage return: then the csv module would
# split it the same way, and a response's ledger line hashes as the bytes it is written
# in. A ledger record whose only quoted field is the last (a JSON event, an answer with a
# comma or a line break) is split with bytes operations too (`_last_quoted`); any other
# record (a file saved with CRLF, say) goes through the csv module.

BLOCK = 1 << 23


def _lines(zf: zipfile.ZipFile, name: str, forward=None):
    """Every line of a member as bytes without its "\\n", as one iterator (C-level chain
    over blocks) that a caller may also advance to complete a quoted record. `forward`:
    a connection to which each decompressed block is also sent, ending with b""."""
    try:
        raw = zf.open(name)
    except KeyError as exc:
        raise BundleError(say("bundle.no_member", name=name)) from exc
    return _split_lines(_prefetch(raw, forward))


def _split_lines(blocks):
    return itertools.chain.from_iterable(_split_blocks(blocks))


def _prefetch(raw, forward=None, depth: int = 4):
    """The member's decompressed blocks, read ahead by a thread: zlib releases the GIL,
    so on a second core inflating overlaps with checking. Closes ``raw`` (and
    ``forward``) when done."""
    blocks: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def read():
        nonlocal forward
        try:
            with raw:
                while not stop.is_set():
                    block = raw.read(BLOCK)
                    if forward is not None:
                        try:
                            forward.send_bytes(block)
                        except OSError:  # the other process ended: it reports why
                            forward = None
                    blocks.put(block)
                    if not block:
                        return
        except Exception as exc:  # handed to the reader, raised there
            blocks.put(exc)
        finally:
            if forward is not None:
                forward.close()

    worker = threading.Thread(target=read, name=f"verify-read-{raw.name}", daemon=True)
    worker.start()
    try:
        while True:
            block = blocks.get()
            if isinstance(block, Exception):
                raise block
            if not block:
                return
            yield block
    finally:
        stop.set()
        while worker.is_alive():  # unblock a reader waiting on a full queue
            try:
                blocks.get_nowait()
            except queue.Empty:
                worker.join(0.01)


def _split_blocks(blocks):
    tail = b""
    for block in blocks:
        lines = (tail + block).split(b"\n")
        tail = lines.pop()
        yield lines
    if tail:
        yield [tail]


def _parse(line: bytes, lines) -> list[list[bytes]]:
    """The csv module's rows for the record starting at ``line`` (taking the following
    lines while a quoted field is open), each field back in UTF-8 bytes. Undecodable
    bytes survive the round trip, so they are hashed as written."""
    return _rows(_record(line, lines))


def _record(line: bytes, lines) -> bytes:
    """``line`` and the lines after it while a quoted field is open."""
    record = line
    while record.count(b'"') % 2:
        more = next(lines, None)
        if more is None:
            break
        record += b"\n" + more
    return record


def _rows(record: bytes) -> list[list[bytes]]:
    text = record.decode("utf-8", "surrogateescape")
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error:
        rows = [[text]]  # reported as malformed by the caller: it has the wrong width
    return [[f.encode("utf-8", "surrogateescape") for f in row] for row in rows]


def _last_quoted(line: bytes) -> list[bytes] | None:
    """The seven fields of a ledger line whose only quoted field is the last (a JSON
    event, an answer with a comma), split without the csv module — as it would split
    them — or None for any other line."""
    head = line.split(b",", 6)
    if len(head) != 7:
        return None
    last = head[6]
    inner = last[1:-1]
    if len(last) < 2 or last[0] != 34 or last[-1] != 34 or line.index(b'"') != \
            len(line) - len(last) or b'"' in inner.replace(b'""', b"") or b"\r" in line:
        return None
    head[6] = inner.replace(b'""', b'"')
    return head


def _text(value: bytes) -> str:
    return value.decode("utf-8", "replace")


def open_bundle(path) -> zipfile.ZipFile:
    """The bundle's ZIP, or BundleError saying it is not one."""
    try:
        return zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        reason = say("bundle.not_zip") if isinstance(exc, zipfile.BadZipFile) else (
            os_reason(exc) if isinstance(exc, OSError) and exc.filename else str(exc))
        raise BundleError(say("bundle.cannot_open", path=path, reason=reason)) from exc


def verify_bundle(path, checkpoint: str | None = None) -> Report:
    csv.field_size_limit(1 << 26)
    with open_bundle(path) as zf:
        try:
            manifest = json.loads(zf.read("manifest.json"))
        except (KeyError, ValueError) as exc:
            raise BundleError(say("bundle.no_manifest")) from exc
        report = Report(campaign=str(manifest.get("campaign", "")))
        book = _codebook(zf)
        codes = [code for code, _ in book]
        # A million payloads kept by id are millions of small objects and none is in a
        # cycle: the cyclic collector would rescan them again and again (a third of the
        # time) for nothing.
        collecting = gc.isenabled()
        gc.disable()
        checkpoints = _checkpoints(zf)
        last = int(checkpoints[-1][1]) if checkpoints else 0  # the Merkle root's entries
        hashing = _hash_elsewhere(zf, book, last)
        try:
            chain = _ChainFindings()
            # the digest of responses.csv is worked out meanwhile, in a thread
            actual = _Digest(zf, "responses.csv")
            lines = _lines(zf, "ledger.csv", forward=hashing and hashing.blocks)
            recorded, hashes, reviews = _check_chain(lines, chain, book,
                                                     hashing=hashing is None)
            report.ledger_entries, report.events = len(hashes), chain.events
            upto = min(last, len(hashes))
            # With two processes, the left subtree under the Merkle root is worked out here
            # while the other one works out the right one.
            split = hashing is not None and upto > 1
            left = _subtree(hashes[:merkle_split(upto)]) if split else None
            if hashing is not None:
                found, reviews, right = hashing.result()
                chain.found += found
            if not split:
                merkle = _merkle(hashes[:upto])
            else:
                merkle = merkle_join(left, right) if left and right else None
            # The responses file is first compared whole with the one the ledger implies;
            # row by row, to name what differs, only if it is not the same.
            same = _responses_as_recorded(actual, codes, recorded, reviews)
            report.responses_compared = "whole file" if same is not None else "row by row"
            if same is not None:
                report.responses = same
            else:
                _check_responses(zf, report, codes, recorded.by_id(), reviews)
            # The chain's findings first, in the order of its entries in the file,
            # whichever process found them.
            report.findings[:0] = [(k, m) for _, _, k, m in sorted(
                chain.found, key=lambda f: (f[0], f[1]))]
        finally:
            if hashing is not None:
                hashing.close()
            if collecting:
                gc.enable()
        _check_checkpoints(report, checkpoints, hashes, checkpoint, merkle)
        _check_audit_log(zf, report)
    return report


# --- the audit log's chain ---------------------------------------------------------------
AUDIT_HEADER = list(AUDIT_COLUMNS)
#: (what the summary calls it, test on (action, object type, before, after))
_ACCOUNT_KINDS = (
    ("setting", lambda a, t, b, f: t == "setting" or a.startswith(("setting", "settings"))),
    ("reset", lambda a, t, b, f: "reset" in a),
    ("disabled", lambda a, t, b, f: "disable" in a or (
        isinstance(b, dict) and isinstance(f, dict) and b.get("active") is True
        and f.get("active") is False)),
    ("enabled", lambda a, t, b, f: "enable" in a or (
        isinstance(b, dict) and isinstance(f, dict) and b.get("active") is False
        and f.get("active") is True)),
    ("role", lambda a, t, b, f: isinstance(b, dict) and isinstance(f, dict)
     and "role" in f and b.get("role") != f.get("role")),
    ("created", lambda a, t, b, f: t == "user" and a.endswith(".create")),
    ("password", lambda a, t, b, f: isinstance(f, dict) and "password" in f),
    ("account", lambda a, t, b, f: t in ("user", "account") or a.startswith(
        ("user.", "account.", "auth."))),
)


def _account_event(action: str, object_type: str, before, after) -> list[str]:
    """What kinds of account or setting event a row is (empty: none)."""
    kinds = [name for name, test in _ACCOUNT_KINDS if test(action, object_type, before, after)]
    return [k for k in kinds if k != "account"] or kinds


#: What an account or setting event's before or after may hold (else not parsed).
_ACCOUNT_WORDS = ('"role"', '"active"', '"password"')


def _values(action: str, object_type: str, before: str, after: str) -> tuple:
    """before and after parsed, for the rows that may be account or setting events (most
    rows are not: reviews, plans…); (None, None) for the others or unreadable JSON."""
    if not (object_type in ("user", "account", "setting") or any(
            w in before or w in after for w in _ACCOUNT_WORDS) or any(
            w in action for w in ("user", "account", "auth", "setting", "reset", "able"))):
        return None, None
    try:
        return json.loads(before), json.loads(after)
    except ValueError:
        return None, None


def _check_audit_log(zf, report: Report) -> None:
    """Recompute the audit log's chain: each row's hash over its content, its place (seq)
    and the hash of the row before it. A changed row is `altered`, a gap `removed`, a row
    out of place or added `reordered`/`inserted`, each named by its seq."""
    try:
        raw = zf.open("audit_log.csv")
    except KeyError:
        return
    with raw:
        rows = csv.reader(io.TextIOWrapper(raw, encoding="utf-8", newline=""))
        if next(rows, None) != AUDIT_HEADER:
            report.add("audit log", say("audit.columns"))
            report.audit_entries = 0
            return
        prev, expected, count = GENESIS, 1, 0
        for row in rows:
            count += 1
            if len(row) != len(AUDIT_HEADER) or not row[0].isdigit():
                report.add("audit log", say("audit.malformed", seq=expected - 1))
                continue
            seq_text, at, actor, action, object_type, object_id, before_text, after_text, \
                prev_hash, digest = row
            seq = int(seq_text)
            if seq != expected:
                if seq > expected:
                    missing = (f"{expected}" if seq == expected + 1
                               else f"{expected}–{seq - 1}")
                    report.add("removed", say("audit.jump", before=expected - 1, seq=seq,
                                              missing=missing))
                else:
                    report.add("reordered", say("audit.out_of_place", seq=seq, action=action,
                                                object=object_id, before=expected - 1))
            if prev_hash != prev:
                report.add("reordered", say("audit.not_following", seq=seq, action=action,
                                            object=object_id, before=seq - 1))
            # before and after are hashed as written (canonical JSON): any change is one
            content = audit_payload_text(at=at, actor=actor, action=action,
                                         object_type=object_type, object_id=object_id,
                                         before=before_text, after=after_text)
            if entry_hash(prev_hash, seq, content) != digest:
                report.add("altered", say("audit.hash", seq=seq, action=action,
                                          object=object_id, at=at))
            kinds = _account_event(action, object_type, *_values(
                action, object_type, before_text, after_text))
            if kinds:
                report.account_events.append(
                    f"#{seq} {at} {actor}: {action} {object_type} {object_id} "
                    f"({', '.join(kinds)})")
            prev, expected = digest, max(expected, seq + 1)
        report.audit_entries = count


#: From this size of ledger.csv (uncompressed), a second process recomputes the entry
#: hashes, checks their order, reads the review decisions and works out half the Merkle
#: tree while this one reads the payloads and the other events and matches the responses.
PARALLEL_FROM = 32 << 20


def _hash_elsewhere(zf, book, last: int) -> _HashingProcess | None:
    """The second process, started (forked); None to do its part here (a small bundle,
    no fork). `last`: the entries under the Merkle root, those of the last checkpoint."""
    try:
        size = zf.getinfo("ledger.csv").file_size
    except KeyError:
        return None
    if size < PARALLEL_FROM or "fork" not in multiprocessing.get_all_start_methods():
        return None
    return _HashingProcess(book, last)


class _HashingProcess:
    """`_hashes_and_merkle` in a forked daemon process. It is not given the bundle's
    ledger to read: this process sends it the blocks it decompresses (`blocks`), so
    the ledger is inflated once. If this process fails first (a bundle that cannot be
    read, say), the other one ends with it instead of being waited for."""

    def __init__(self, book, last: int):
        context = multiprocessing.get_context("fork")
        self._results, sender = context.Pipe(duplex=False)
        received, self.blocks = context.Pipe(duplex=False)
        self._process = context.Process(
            target=_run_and_send, args=(sender, self.blocks, book, last, received), daemon=True)
        self._process.start()
        sender.close()
        received.close()

    def result(self):
        try:
            failed, value = self._results.recv()
        except EOFError:
            failed, value = True, say("hashing.no_result")
        if failed:
            raise BundleError(say("hashing.failed", reason=value))
        return value

    def close(self) -> None:
        """Once the result is in, or when this process gives up first."""
        self.blocks.close()
        if self._process.is_alive():
            self._process.terminate()
        self._process.join()
        self._results.close()


def _run_and_send(sender, unused, book, last, received) -> None:
    unused.close()  # this process's copy of the other end: else the blocks never end
    try:
        sender.send((False, _hashes_and_merkle(book, last, received)))
    except Exception as exc:  # handed to the first process, which reports it
        sender.send((True, f"{type(exc).__name__}: {exc}"))
    finally:
        sender.close()


class _Received:
    """The ledger's blocks as the first process sends them, read like a member."""

    name = "ledger.csv from the first process"

    def __init__(self, connection):
        self._connection = connection

    def read(self, _size: int) -> bytes:
        try:
            return self._connection.recv_bytes()
        except EOFError:
            raise BundleError(say("hashing.stopped")) from None

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self._connection.close()


def _hashes_and_merkle(book, last: int, received):
    """In the second process: the findings of the hash and order checks and of the review
    decisions, the latest review state by response id, and the Merkle subtree (root,
    height) right of the root's left one over the first `last` entries."""
    chain = _ChainFindings()
    _, hashes, reviews = _check_chain(_split_lines(_prefetch(_Received(received))), chain,
                                      book, recording=False)
    upto = min(last, len(hashes))
    return chain.found, reviews, (_subtree(hashes[merkle_split(upto):upto]) if upto > 1
                                  else None)


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
    header = next(lines, b"")
    if header.rstrip(b"\r") != LEDGER_HEADER:
        raise BundleError(say("bundle.columns", name="ledger.csv"))
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
                record = _record(line, lines)  # an answer with a line break: several lines
                row = _last_quoted(record) if record is not line else None
                if row is None:
                    pending = _rows(record)
                    if not pending:
                        continue
                    row = pending.pop(0)
        else:
            row, plain = line.split(b","), True
        while True:
            if len(row) == 7 and row[0].isdigit():
                seq_b, kind, ref, _at, prev_hash, digest, payload = row
                seq = int(seq_b)
                if hashing and seq != expected:
                    what = "removed" if seq > expected else "reordered"
                    chain.note(len(hashes), chain.SEQ, what, say(
                        "ledger.jump_missing", before=expected - 1, seq=seq, first=expected,
                        last=seq - 1) if seq > expected else say(
                        "ledger.jump", before=expected - 1, seq=seq))
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


def _codebook(zf) -> list[tuple[str, str]]:
    """(item code, type) in codebook order."""
    book = list(_reader(zf, "codebook.csv"))
    if not book or book[0][:4] != ["item_code", "element_code", "element_name", "type"]:
        raise BundleError(say("bundle.columns", name="codebook.csv"))
    return [(r[0], r[3]) for r in book[1:]]


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


class _Digest(threading.Thread):
    """A member's first line and the SHA-256 of the rest, worked out in a thread (zlib and
    hashlib release the GIL on large blocks)."""

    def __init__(self, zf, name: str):
        super().__init__(name=f"verify-digest-{name}", daemon=True)
        self._zf, self._name, self._out = zf, name, None
        self.start()

    def run(self) -> None:
        try:
            with self._zf.open(self._name) as raw:
                head = b""
                while b"\n" not in head:
                    block = raw.read(BLOCK)
                    if not block:
                        break
                    head += block
                first, _, rest = head.partition(b"\n")
                digest = hashlib.sha256(rest)
                for block in iter(lambda: raw.read(BLOCK), b""):
                    digest.update(block)
            self._out = (first if head else None, digest.digest())
        except KeyError:
            self._out = BundleError(say("bundle.no_member", name=self._name))
        except Exception as exc:  # handed to the caller, raised there
            self._out = exc

    def result(self) -> tuple[bytes | None, bytes]:
        self.join()
        if isinstance(self._out, Exception):
            raise self._out
        return self._out


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


def _subtree(hashes: list[bytes]) -> tuple[bytes, int] | None:
    """`merkle_subtree` over recorded hex hashes; None when one is not hexadecimal."""
    try:
        return merkle_subtree([binascii.unhexlify(h) for h in hashes])
    except ValueError:
        return None


def _merkle(hashes: list[bytes]) -> str | None:
    """The Merkle root over recorded hex hashes; None when one is not hexadecimal."""
    if not hashes:
        return GENESIS
    tree = _subtree(hashes)
    return tree[0].hex() if tree else None


def _checkpoints(zf) -> list[list[str]]:
    """The rows of checkpoints.csv: at, seq, head hash, Merkle root, …"""
    rows = _reader(zf, "checkpoints.csv")
    header = next(rows, None)
    if header is None or header[:4] != ["at", "seq", "head_hash", "merkle_root"]:
        raise BundleError(say("bundle.columns", name="checkpoints.csv"))
    recorded = list(rows)
    if any(len(row) < 4 or not row[1].isdigit() for row in recorded):
        raise BundleError(say("bundle.checkpoint_seq"))
    return recorded


def _check_checkpoints(report: Report, recorded: list[list[str]], hashes: list[bytes],
                       held: str | None, merkle: str | None) -> None:
    """`merkle`: the root over the entries up to the last checkpoint."""
    for i, row in enumerate(recorded):
        report.checkpoints += 1
        seq, head = int(row[1]), row[2]
        actual = (_text(hashes[seq - 1]) if 0 < seq <= len(hashes)
                  else (GENESIS if seq == 0 else None))
        if actual != head:
            report.add("checkpoint", say("checkpoint.mismatch", at=row[0], seq=seq))
        elif i == len(recorded) - 1 and merkle != row[3]:
            report.add("checkpoint", say("checkpoint.merkle", at=row[0]))
    if held:
        try:
            campaign, seq, prefix, checked = read_digest(held)
        except ValueError as exc:  # MistypedDigest too: bad input, not a rewritten ledger
            raise BundleError(str(exc)) from exc
        if not checked:
            report.notes.append(say("digest.unchecked"))
        if campaign != report.campaign:
            report.add("checkpoint", say("checkpoint.other_campaign", held=campaign,
                                         campaign=report.campaign))
        elif seq > len(hashes):
            report.add("removed", say("checkpoint.beyond", seq=seq, entries=len(hashes)))
        elif not (_text(hashes[seq - 1]) if seq else GENESIS).startswith(prefix):
            report.add("checkpoint", say("checkpoint.rewritten", seq=seq))
