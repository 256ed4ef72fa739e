"""What verifying an audit bundle found, and how it is printed: counts, findings, notes
and the audit log's account and setting events."""

from __future__ import annotations

from dataclasses import dataclass, field

from .messages import say


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
