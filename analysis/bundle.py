"""Reading an audit bundle for the verifier: the ZIP, its CSV members, and ledger.csv and
responses.csv as byte lines read in large blocks (a million lines in seconds). The
underscored names are the verifier's own (`analysis.verify` and its `verify_*` modules)."""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import queue
import threading
import zipfile
from contextlib import contextmanager

from .errors import InputError
from .messages import os_reason, say

#: A bundle's CSV field may be long (a comment, a ledger payload): the csv module's limit
#: (128 KiB) is raised while a bundle is read.
BUNDLE_FIELD_LIMIT = 1 << 26


@contextmanager
def wide_csv_fields():
    """The csv module's field limit raised for a bundle's reading only: the limit is the
    whole process's, and an application that imports `analysis` keeps its own."""
    before = csv.field_size_limit(BUNDLE_FIELD_LIMIT)
    try:
        yield
    finally:
        csv.field_size_limit(before)


class BundleError(InputError):
    """The file is not a readable audit bundle."""


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


def _codebook(zf) -> list[tuple[str, str]]:
    """(item code, type) in codebook order."""
    book = list(_reader(zf, "codebook.csv"))
    if not book or book[0][:4] != ["item_code", "element_code", "element_name", "type"]:
        raise BundleError(say("bundle.columns", name="codebook.csv"))
    return [(r[0], r[3]) for r in book[1:]]


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
