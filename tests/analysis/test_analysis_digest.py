"""The check character of checkpoint digests and the statement of published results, without
the application."""

import hashlib

import pytest

from analysis.digest import HEX, check_char
from analysis.ledger import MistypedDigest, format_digest, parse_digest, read_digest
from analysis.statement import Checkpoint, Statement, StatementError, parse_lines

HEAD = hashlib.sha256(b"head").hexdigest()


def test_a_digest_reads_back_with_its_check_character():
    digest = format_digest("demo", 1234, HEAD)
    body, check = digest.rsplit("-", 1)
    assert check == check_char("demo", 1234, HEAD[:20]) and len(check) == 1
    assert read_digest(digest) == ("demo", 1234, HEAD[:20], True)
    assert parse_digest(f"  {digest.upper().replace('DEMO', 'demo')} ") == ("demo", 1234,
                                                                              HEAD[:20])


@pytest.mark.parametrize("head", [HEAD, "0" * 64, "f" * 64, hashlib.sha256(b"x").hexdigest()])
def test_every_single_substitution_and_adjacent_swap_is_mistyped(head):
    digest = format_digest("demo", 907, head)
    start = digest.index("#") + 1
    positions = [i for i in range(start, len(digest)) if digest[i] not in ":-"]
    for i in positions:
        alphabet = "0123456789" if i < digest.index(":") else HEX
        for c in alphabet:
            if c != digest[i]:
                with pytest.raises(MistypedDigest, match="mistyped"):
                    read_digest(digest[:i] + c + digest[i + 1:])
    for i, j in zip(positions, positions[1:], strict=False):
        if j == i + 1 and digest[i] != digest[j] and i > digest.index(":"):
            swapped = digest[:i] + digest[j] + digest[i] + digest[j + 1:]
            with pytest.raises(MistypedDigest):
                read_digest(swapped)


def test_a_digest_without_check_character_is_accepted_unchecked():
    old = format_digest("demo", 12, HEAD).rsplit("-", 1)[0]
    assert read_digest(old) == ("demo", 12, HEAD[:20], False)
    assert read_digest(old[:old.index(":") + 20])[3] is False  # a 16-digit prefix
    with pytest.raises(ValueError, match="at least 16"):
        read_digest("demo#12:3f2a-91bc")
    with pytest.raises(ValueError, match="not a checkpoint digest"):
        read_digest("demo 12 3f2a")


def test_statement_round_trip_and_bad_statements():
    made = Statement(checkpoints=(Checkpoint("demo", 57, HEAD), Checkpoint("dot2", 3, HEAD)),
                     bootstrap=1000, seed=7, cap=None, exclude_rejected=False)
    lines = made.lines()
    assert lines[0] == f"Mốc sổ cái: {format_digest('demo', 57, HEAD)} (đợt demo, 57 mục)"
    read = parse_lines([f"# {line}\n" for line in lines])
    assert [(c.campaign, c.seq, c.head) for c in read.checkpoints] == [
        ("demo", 57, HEAD[:20]), ("dot2", 3, HEAD[:20])]
    assert (read.bootstrap, read.seed, read.cap, read.exclude_rejected, read.checked) == (
        1000, 7, None, False, True)
    assert parse_lines(line.replace(made.checkpoints[0].digest,
                                    made.checkpoints[0].digest[:-2]) for line in lines
                       ).checked is False
    with pytest.raises(StatementError, match="lacks: Hạt giống"):
        parse_lines(line for line in lines if not line.startswith("Hạt giống"))
    with pytest.raises(StatementError, match="lacks: Mốc sổ cái"):
        parse_lines(line for line in lines if not line.startswith("Mốc sổ cái"))
    with pytest.raises(StatementError, match="whole number"):
        parse_lines(line.replace("1000", "nhiều") for line in lines)
    digest = made.checkpoints[0].digest
    wrong = digest[:-4] + ("1" if digest[-4] == "0" else "0") + digest[-3:]
    with pytest.raises(MistypedDigest):
        parse_lines(line.replace(digest, wrong) for line in lines)
