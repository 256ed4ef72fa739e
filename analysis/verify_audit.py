"""The audit log's own chain in a bundle (audit_log.csv): each row's hash recomputed, gaps
and rows out of place named, and its account and setting events listed."""

from __future__ import annotations

import csv
import io
import json

from .ledger import AUDIT_COLUMNS, GENESIS, audit_payload_text, entry_hash
from .messages import say
from .verify_report import Report

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
