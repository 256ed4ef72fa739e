"""Hash-chain arithmetic shared by the application (which writes the ledger) and the
auditor's verifier (which recomputes it): entry hashes, Merkle roots, checkpoint digests."""

from __future__ import annotations

import hashlib
import json
import re

from .digest import check_char, check_fits
from .kinds import export_value  # noqa: F401  (the application calls chain.export_value)
from .messages import say

GENESIS = "0" * 64
DIGEST_HEX = 20  # 80 bits of the head hash: short enough to read aloud, long enough to trust
DIGEST_RE = re.compile(r"^\s*([A-Za-z0-9_-]+)#(\d+):([0-9a-fA-F-]+)\s*$")


#: A ledger entry's id is its place: its campaign's id times 2**32 plus its number in that
#: campaign's chain. The table's own key then orders and finds a chain's entries, and keeps
#: each number once, with no second index to write at every append.
PLACE = 1 << 32


def entry_id(campaign_id: int, seq: int) -> int:
    return campaign_id * PLACE + seq


def chain_ids(campaign_id: int, upto: int = PLACE - 1) -> tuple[int, int]:
    """The first and last ids a campaign's chain may hold, up to entry `upto`."""
    return entry_id(campaign_id, 1), entry_id(campaign_id, upto)


def entry_hash(prev_hash: str, seq: int, payload: str) -> str:
    """sha256(prev_hash "\\n" seq "\\n" payload), hex."""
    return hashlib.sha256(f"{prev_hash}\n{seq}\n{payload}".encode()).hexdigest()


def canonical_json(value) -> str:
    """Serialise deterministically: the same value always gives the same bytes (keys
    sorted, no spaces, UTF-8 kept). What the application hashes and stores as JSON."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


# --- the audit log's chain ---------------------------------------------------------------
# The administrative audit log (who changed what, with before and after) is one global
# hash chain, apart from the campaigns' ledgers: row `seq` has
# hash = entry_hash(prev_hash, seq, audit_payload(row)). It is exported in every audit
# bundle as audit_log.csv, these columns, before and after as canonical JSON ("null" for
# none), and checked by `python -m analysis verify`.
AUDIT_COLUMNS = ("seq", "at", "actor", "action", "object_type", "object_id", "before",
                 "after", "prev_hash", "hash")


_JSON_TEXT = json.JSONEncoder(ensure_ascii=False).encode  # a string as canonical_json has it


def audit_payload(*, at: str, actor: str, action: str, object_type: str, object_id: str,
                  before, after) -> str:
    """The hashed content of an audit-log row: canonical JSON of its fields, `at` as
    2026-11-27T03:04:05Z, before and after as JSON values (null for none). Values are
    taken as JSON gives them back (keys as text), so a stored row hashes as written."""
    return audit_payload_text(
        at=at, actor=actor, action=action, object_type=object_type, object_id=object_id,
        before=canonical_json(json.loads(canonical_json(before))),
        after=canonical_json(json.loads(canonical_json(after))))


def audit_payload_text(*, at: str, actor: str, action: str, object_type: str,
                       object_id: str, before: str, after: str) -> str:
    """:func:`audit_payload` with before and after given as their canonical JSON (as
    audit_log.csv holds them): the same text, built without parsing them."""
    text = _JSON_TEXT
    return (f'{{"action":{text(action)},"actor":{text(actor)},"after":{after},'
            f'"at":{text(at)},"before":{before},"object_id":{text(object_id)},'
            f'"object_type":{text(object_type)}}}')


def merkle_root(hashes: list[str]) -> str:
    """Binary Merkle tree over hex leaf hashes (last node duplicated on odd levels)."""
    return merkle_root_raw([bytes.fromhex(h) for h in hashes])


def merkle_root_raw(leaves: list[bytes]) -> str:
    """:func:`merkle_root` over leaves already decoded to bytes (the verifier has them)."""
    if not leaves:
        return GENESIS
    return merkle_subtree(leaves)[0].hex()


def merkle_subtree(leaves: list[bytes]) -> tuple[bytes, int]:
    """The root (raw) over one or more leaves and the tree's height (levels of hashing)."""
    level, sha256, height = list(leaves), hashlib.sha256, 0
    while len(level) > 1:
        if len(level) % 2:
            level.append(level[-1])
        level = [sha256(a + b).digest() for a, b in zip(level[::2], level[1::2], strict=True)]
        height += 1
    return level[0], height


def merkle_split(n: int) -> int:
    """For n ≥ 2 leaves: how many the left subtree under the root holds (the largest power
    of two below n). Its root and that of the leaves after it (`merkle_subtree` of each,
    worked out apart, in two processes say) give the whole root with `merkle_join`."""
    return 1 << ((n - 1).bit_length() - 1)


def merkle_join(left: tuple[bytes, int], right: tuple[bytes, int]) -> str:
    """The root of n leaves from its two subtrees (see `merkle_split`). A right subtree
    lower than the left one was the odd last node of each level above its own root, so
    it was paired with itself on the way up."""
    (left_root, height), (node, right_height) = left, right
    for _ in range(height - right_height):
        node = hashlib.sha256(node + node).digest()
    return hashlib.sha256(left_root + node).hexdigest()


def format_digest(campaign: str, seq: int, head_hash: str) -> str:
    """e.g. 'demo#1234:3f2a-91bc-07de-55aa-c0e1-d' — written on paper or read aloud; the
    last character is a check character (:mod:`analysis.digest`)."""
    short = head_hash[:DIGEST_HEX].lower()
    groups = "-".join(short[i:i + 4] for i in range(0, DIGEST_HEX, 4))
    return f"{campaign}#{seq}:{groups}-{check_char(campaign, seq, short)}"


class MistypedDigest(ValueError):
    """A digest whose check character does not fit: it was copied or typed wrongly."""


def read_digest(digest: str) -> tuple[str, int, str, bool]:
    """(campaign, seq, hash prefix, whether a check character was there and fits) from a
    digest; MistypedDigest if its check character does not fit, ValueError if it is not a
    digest at all. A check character is a last group of one character after a dash
    (digests written before check characters have none)."""
    m = DIGEST_RE.match(digest or "")
    if not m:
        raise ValueError(say("digest.not_digest", digest=digest))
    campaign, seq, groups = m.group(1), int(m.group(2)), m.group(3).lower().split("-")
    check = groups.pop() if len(groups) > 1 and len(groups[-1]) == 1 else None
    prefix = "".join(groups)
    if len(prefix) < 16:
        raise ValueError(say("digest.short"))
    if check is not None and not check_fits(campaign, seq, prefix, check):
        raise MistypedDigest(say("digest.mistyped", digest=digest.strip()))
    return campaign, seq, prefix, check is not None


def parse_digest(digest: str) -> tuple[str, int, str]:
    """(campaign, seq, hash prefix) from a digest; ValueError if it is not one
    (MistypedDigest if its check character does not fit)."""
    return read_digest(digest)[:3]


# --- response payloads -------------------------------------------------------------------
# A response's ledger payload is a line of fields separated by RS (\x1e): its identity,
# where and when it was submitted, its answers exactly as the export writes them (cells
# joined by US, \x1f), and the codes of the items answered "not applicable" (which the
# export, like an unanswered item, leaves empty) — together the stored answers, losslessly.
# The verifier compares a bundle's CSV row with the export field as one string, with no
# parsing per record: what keeps verifying a million responses within seconds.
RS, US = "\x1e", "\x1f"
RESPONSE_FIELDS = ("kind", "response_id", "receipt", "campaign", "agency_code", "channel",
                   "submitted_at", "form", "export", "not_applicable")


def response_payload(*, response_id: int, receipt: str, campaign: str, agency_code: str,
                     channel: str, submitted_at: str, form: str | None, export_cells: list[str],
                     not_applicable: list[str]) -> str:
    return RS.join(["response", str(response_id), receipt, campaign, agency_code, channel,
                    submitted_at, form or "", US.join(export_cells), ";".join(not_applicable)])


def parse_payload(kind: str, payload: str) -> dict:
    """Any ledger payload as a dict (response payloads by their fields, others as JSON)."""
    import json

    if kind == "response":
        parts = payload.split(RS)
        if len(parts) != len(RESPONSE_FIELDS) or parts[0] != "response":
            raise ValueError("malformed response payload")
        body = dict(zip(RESPONSE_FIELDS, parts, strict=True))
        body["response_id"] = int(body["response_id"])
        body["export"] = body["export"].split(US)
        body["not_applicable"] = [c for c in body["not_applicable"].split(";") if c]
        return body
    return json.loads(payload)
