"""Hash-chain arithmetic shared by the application (which writes the ledger) and the
auditor's verifier (which recomputes it): entry hashes, Merkle roots, checkpoint digests."""

from __future__ import annotations

import hashlib
import re

GENESIS = "0" * 64
DIGEST_HEX = 20  # 80 bits of the head hash: short enough to read aloud, long enough to trust
DIGEST_RE = re.compile(r"^\s*([A-Za-z0-9_-]+)#(\d+):([0-9a-fA-F-]+)\s*$")


def entry_hash(prev_hash: str, seq: int, payload: str) -> str:
    """sha256(prev_hash "\\n" seq "\\n" payload), hex."""
    return hashlib.sha256(f"{prev_hash}\n{seq}\n{payload}".encode()).hexdigest()


def merkle_root(hashes: list[str]) -> str:
    """Binary Merkle tree over hex leaf hashes (last node duplicated on odd levels)."""
    if not hashes:
        return GENESIS
    level = [bytes.fromhex(h) for h in hashes]
    while len(level) > 1:
        if len(level) % 2:
            level.append(level[-1])
        level = [hashlib.sha256(level[i] + level[i + 1]).digest()
                 for i in range(0, len(level), 2)]
    return level[0].hex()


def format_digest(campaign: str, seq: int, head_hash: str) -> str:
    """e.g. 'demo#1234:3f2a-91bc-07de-55aa-c0e1' — written on paper or read aloud."""
    short = head_hash[:DIGEST_HEX]
    return f"{campaign}#{seq}:" + "-".join(short[i:i + 4] for i in range(0, DIGEST_HEX, 4))


def parse_digest(digest: str) -> tuple[str, int, str]:
    """(campaign, seq, hash prefix) from a digest; ValueError if it is not one."""
    m = DIGEST_RE.match(digest or "")
    if not m:
        raise ValueError(f"not a checkpoint digest: {digest!r} (expected campaign#seq:hex-hex-…)")
    prefix = m.group(3).replace("-", "").lower()
    if len(prefix) < 16:
        raise ValueError("a checkpoint digest needs at least 16 hexadecimal digits")
    return m.group(1), int(m.group(2)), prefix
