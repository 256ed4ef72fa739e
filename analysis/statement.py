"""The statement every published result carries: the ledger checkpoint it was computed at
(per campaign: entry count and digest, with its check character) and the method settings
(bootstrap replicates, seed, sample cap, rejected responses in or out, interval method).

It is written as ``label: value`` lines (comment lines ``# label: value`` at the top of a
CSV file, two columns of the "Thông tin" sheet of a workbook, lines on the first page of a
PDF) and read back by ``python -m analysis verify BUNDLE --report FILE``. No pandas here:
the application formats it, the auditor's readers parse it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .ledger import DIGEST_HEX, format_digest, read_digest
from .messages import say

HEADING = "Số liệu được tính tại mốc sổ cái và theo phương pháp dưới đây"
CHECKPOINT = "Mốc sổ cái"
BOOTSTRAP = "Số lần lặp bootstrap"
SEED = "Hạt giống"
CAP = "Số người tối đa mỗi nhóm khi bootstrap"
REJECTED = "Phiếu bị loại"
INTERVALS = "Khoảng tin cậy 95 %"
REJECTED_OUT, REJECTED_IN = "không tính", "có tính"
NO_CAP = "không giới hạn"
WILSON_ONLY = "Wilson (tiêu chí); yếu tố và chỉ số chung: không tính"
WILSON_BOOTSTRAP = "Wilson (tiêu chí); bootstrap phân vị theo người trả lời (yếu tố, chỉ số chung)"
_COUNT = re.compile(r"^\s*(\S+#\d+:[0-9a-fA-F-]+)")


class StatementError(ValueError):
    """A statement that is missing, incomplete or unreadable."""


@dataclass(frozen=True)
class Checkpoint:
    campaign: str
    seq: int
    #: the head hash at ``seq`` (whole, as the application has it) or the hexadecimal
    #: prefix of a digest read back from a report
    head: str

    @property
    def digest(self) -> str:
        return format_digest(self.campaign, self.seq, self.head)


@dataclass(frozen=True)
class Statement:
    checkpoints: tuple[Checkpoint, ...]
    bootstrap: int
    seed: int
    cap: int | None
    exclude_rejected: bool
    #: whether every digest read back carried a check character (always True when made)
    checked: bool = True

    def pairs(self) -> list[tuple[str, str]]:
        """(label, value) in order: one checkpoint line per campaign, then the method."""
        out = [(CHECKPOINT, f"{c.digest} (đợt {c.campaign}, {c.seq} mục)")
               for c in self.checkpoints]
        out += [(BOOTSTRAP, str(self.bootstrap)), (SEED, str(self.seed)),
                (CAP, NO_CAP if self.cap is None else str(self.cap)),
                (REJECTED, REJECTED_OUT if self.exclude_rejected else REJECTED_IN),
                (INTERVALS, WILSON_BOOTSTRAP if self.bootstrap else WILSON_ONLY)]
        return out

    def lines(self) -> list[str]:
        return [f"{label}: {value}" for label, value in self.pairs()]

    def short(self) -> str:
        """One line for a chart's footer."""
        marks = "; ".join(c.digest for c in self.checkpoints)
        rejected = REJECTED_OUT if self.exclude_rejected else REJECTED_IN
        return (f"{CHECKPOINT}: {marks} · bootstrap {self.bootstrap} lần, hạt giống "
                f"{self.seed} · phiếu bị loại: {rejected}")


def _whole(value: str, label: str) -> int:
    try:
        number = int(value.strip())
    except ValueError:
        raise StatementError(say("statement.not_whole", label=label, value=value)) from None
    if number < 0:
        raise StatementError(say("statement.negative", label=label, value=value))
    return number


def parse(pairs) -> Statement:
    """The statement from (label, value) pairs (other pairs are ignored). StatementError if
    a part is missing or unreadable; analysis.ledger.MistypedDigest if a digest's check
    character does not fit."""
    checkpoints, values, checked = [], {}, True
    for label, value in pairs:
        label, value = str(label).strip(), str(value).strip()
        if label == CHECKPOINT:
            m = _COUNT.match(value)
            if not m:
                raise StatementError(say("statement.not_digest", label=CHECKPOINT, value=value))
            try:
                campaign, seq, prefix, has_check = read_digest(m.group(1))
            except ValueError as exc:
                if type(exc) is not ValueError:
                    raise  # mistyped: the caller says so
                raise StatementError(f"{CHECKPOINT}: {exc}") from None
            checked = checked and has_check
            checkpoints.append(Checkpoint(campaign, seq, prefix[:DIGEST_HEX]))
        elif label in (BOOTSTRAP, SEED, CAP, REJECTED):
            values[label] = value
    missing = [label for label in (BOOTSTRAP, SEED, CAP, REJECTED) if label not in values]
    if not checkpoints:
        missing.insert(0, CHECKPOINT)
    if missing:
        raise StatementError(say("statement.lacks", labels=", ".join(missing)))
    if values[REJECTED] not in (REJECTED_OUT, REJECTED_IN):
        raise StatementError(say("statement.rejected", label=REJECTED, value=values[REJECTED],
                                 out=REJECTED_OUT, inside=REJECTED_IN))
    cap = None if values[CAP] == NO_CAP else _whole(values[CAP], CAP)
    if cap == 0:
        raise StatementError(say("statement.at_least_1", label=CAP))
    return Statement(checkpoints=tuple(checkpoints), bootstrap=_whole(values[BOOTSTRAP], BOOTSTRAP),
                     seed=_whole(values[SEED], SEED), cap=cap,
                     exclude_rejected=values[REJECTED] == REJECTED_OUT, checked=checked)


def parse_lines(lines) -> Statement:
    """The statement from ``label: value`` lines (a leading "#" and blanks are ignored)."""
    pairs = []
    for line in lines:
        text = line.strip().lstrip("#").strip()
        label, sep, value = text.partition(":")
        if sep:
            pairs.append((label, value))
    return parse(pairs)
