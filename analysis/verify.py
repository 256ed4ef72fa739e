"""Verify an audit bundle without the application: recompute the hash chain, match every
response against its ledger entry (with the corrections recorded after it replayed in
order), and check the checkpoints — including one the auditor kept outside the system —
and the audit log's own chain (audit_log.csv), listing its account and setting events.

    python -m analysis verify BUNDLE.zip [--checkpoint 'demo#1234:3f2a-91bc-07de-55aa-c0e1-d'] [--report FILE]
"""

from __future__ import annotations

import binascii
import gc
import json
import multiprocessing

from .bundle import (
    BundleError,
    _checkpoints,
    _codebook,
    _Digest,
    _lines,
    _prefetch,
    _split_lines,
    _text,
    open_bundle,
    wide_csv_fields,
)
from .ledger import GENESIS, merkle_join, merkle_split, merkle_subtree, read_digest
from .messages import say
from .verify_audit import _check_audit_log
from .verify_chain import _ChainFindings, _check_chain
from .verify_report import Report
from .verify_responses import _check_responses, _responses_as_recorded


def verify_bundle(path, checkpoint: str | None = None) -> Report:
    with wide_csv_fields():
        return _verify_bundle(path, checkpoint)


def _verify_bundle(path, checkpoint: str | None) -> Report:
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
