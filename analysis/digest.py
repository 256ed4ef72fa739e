"""The check character of a checkpoint digest: one hexadecimal character appended to a
digest written down or read aloud, so that a digest copied wrongly is told apart from a
ledger that no longer matches it.

It is ISO/IEC 7064 MOD 17,16 (the "hybrid" system over the 16 hexadecimal values): every
single substituted character and every swap of two adjacent characters of the hash part
changes it. The campaign code (as UTF-8 bytes, two hexadecimal values each) and the entry
count (its decimal digits) are covered too.
"""

from __future__ import annotations

HEX = "0123456789abcdef"


def _values(campaign: str, seq: int, hex_digits: str) -> list[int]:
    values = [v for byte in campaign.encode("utf-8") for v in (byte >> 4, byte & 15)]
    values += [int(d) for d in str(int(seq))]
    values += [int(c, 16) for c in hex_digits]
    return values


def _remainder(values: list[int]) -> int:
    p = 16
    for value in values:
        s = (p + value) % 16 or 16
        p = (2 * s) % 17
    return p


def check_char(campaign: str, seq: int, hex_digits: str) -> str:
    """The check character of a digest's campaign, entry count and hexadecimal digits
    (without dashes)."""
    return HEX[(17 - _remainder(_values(campaign, seq, hex_digits.lower()))) % 16]


def check_fits(campaign: str, seq: int, hex_digits: str, check: str) -> bool:
    """Whether `check` is the check character of the rest of the digest."""
    values = _values(campaign, seq, hex_digits.lower()) + [int(check, 16)]
    return (_remainder(values[:-1]) + values[-1]) % 16 == 1
