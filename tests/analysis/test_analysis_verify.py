"""`analysis.verify` on small hand-made bundles, no application: each kind of tampering is
named exactly, whether the line is read by the fast byte path (no quotes) or through the
csv module (quoted answers, JSON events, CRLF line ends)."""

import csv
import io
import json
import zipfile

import pytest

from analysis import bundle, verify
from analysis.ledger import GENESIS, entry_hash, format_digest, merkle_root, response_payload
from analysis.verify import verify_bundle

CODES = [("TC1", "satisfaction"), ("TC2", "satisfaction"), ("Y_KIEN", "text")]
# id, agency, TC1, TC2, comment (a comma, a quote or a line break forces csv quoting)
ROWS = [
    (1, "A01", "5", "4", ""),
    (2, "A01", "2", "", 'Chờ lâu, "quá lâu"'),
    (3, "B02", "4", "5", "dòng một\ndòng hai"),
    (4, "B02", "3", "3", "Tốt"),
    (5, "A01", "1", "2", ""),
]


def _csv(rows, terminator="\n") -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator=terminator).writerows(rows)
    return out.getvalue().encode("utf-8")


def make_files(reviews=((4, "rejected"),), rows=ROWS, events=(), shown=None
               ) -> dict[str, bytes]:
    """The members of a bundle as `flask export-audit` writes them: five responses, then
    one review event per (response id, state), then `events` (kind, ref, payload); the
    responses file shows `shown` (default: the rows as recorded)."""
    ledger, hashes, prev = [], [], GENESIS
    states = dict(reviews)
    entries = []
    for rid, agency, tc1, tc2, text in rows:
        payload = response_payload(
            response_id=rid, receipt=f"R{rid}", campaign="t", agency_code=agency,
            channel="open", submitted_at=f"2026-06-0{rid}T08:00:00Z", form=None,
            export_cells=[tc1, tc2, text], not_applicable=[])
        entries.append(("response", f"R{rid}", payload))
    for rid, state in reviews:
        entries.append(("review", f"R{rid}", json.dumps(
            {"response_id": rid, "state": state, "reason": "Thử, kiểm tra"})))
    entries += [(kind, ref, json.dumps(body)) for kind, ref, body in events]
    for seq, (kind, ref, payload) in enumerate(entries, start=1):
        digest = entry_hash(prev, seq, payload)
        ledger.append([seq, kind, ref, "2026-06-10T00:00:00Z", prev, digest, payload])
        hashes.append(digest)
        prev = digest
    responses = [["response_id", "campaign", "agency_code", "channel", "submitted_at",
                  "review_state", *[c for c, _ in CODES]]]
    responses += [[rid, "t", agency, "open", f"2026-06-0{rid}T08:00:00Z",
                   states.get(rid, "received"), tc1, tc2, text]
                  for rid, agency, tc1, tc2, text in (shown or rows)]
    book = [["item_code", "element_code", "element_name", "type", "scale_min", "scale_max",
             "text_vi", "text_en", "choices"]]
    book += [[code, "TC", "Tiếp cận", kind, "", "", code, code, ""] for code, kind in CODES]
    n = len(hashes)
    return {
        "manifest.json": json.dumps({"campaign": "t"}).encode(),
        "codebook.csv": _csv(book),
        "responses.csv": _csv(responses),
        "ledger.csv": _csv([["seq", "kind", "ref", "at", "prev_hash", "hash", "payload"],
                            *ledger]),
        "checkpoints.csv": _csv([["at", "seq", "head_hash", "merkle_root", "reason", "digest"],
                                 ["2026-06-30T00:00:00Z", n, prev, merkle_root(hashes),
                                  "close", format_digest("t", n, prev)]]),
    }


def write(tmp_path, files, name="b.zip"):
    path = tmp_path / name
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for member, data in files.items():
            zf.writestr(member, data)
    return path


@pytest.fixture(autouse=True, params=["one process", "hashes in a second process"])
def processes(request, monkeypatch):
    """Every case twice: a large bundle's entry hashes and Merkle root are worked out by a
    forked second process, which must find exactly what one process finds."""
    if request.param != "one process":
        monkeypatch.setattr(verify, "PARALLEL_FROM", 0)
    return request.param


def rows_of(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


def findings(report) -> list[str]:
    return [f"{kind.upper()}: {message}" for kind, message in report.findings]


def test_untouched_bundle(tmp_path):
    files = make_files()
    ledger = rows_of(files["ledger.csv"])
    head = ledger[-1][5]
    report = verify_bundle(write(tmp_path, files), format_digest("t", 6, head))
    assert report.ok, report.findings
    assert (report.ledger_entries, report.responses, report.events) == (6, 5, 1)
    assert report.responses_compared == "whole file"


def test_small_blocks_split_records_anywhere(tmp_path, monkeypatch):
    """Read a few bytes at a time, a quoted multi-line answer straddles block edges."""
    from analysis import bundle

    monkeypatch.setattr(bundle, "BLOCK", 7)
    report = verify_bundle(write(tmp_path, make_files()))
    assert report.ok, report.findings
    assert report.responses == 5 and report.responses_compared == "whole file"


@pytest.mark.parametrize("rid, col, value, expected", [
    (1, "TC2", "5", "TC2: ledger '4' bundle '5'"),          # a plain line
    (3, "TC1", "5", "TC1: ledger '4' bundle '5'"),          # a quoted multi-line record
    (2, "Y_KIEN", "Chờ lâu", "Y_KIEN: ledger 'Chờ lâu, \"quá lâu\"' bundle 'Chờ lâu'"),
    (4, "Y_KIEN", "Tốt, rất tốt", "Y_KIEN: ledger 'Tốt' bundle 'Tốt, rất tốt'"),
])
def test_altered_answer_is_named(tmp_path, rid, col, value, expected):
    files = make_files()
    rows = rows_of(files["responses.csv"])
    rows[rid][rows[0].index(col)] = value
    files["responses.csv"] = _csv(rows)
    report = verify_bundle(write(tmp_path, files))
    assert report.responses_compared == "row by row"
    assert findings(report) == [
        f"ALTERED: response {rid} (receipt R{rid}): answers differ from ledger entry {rid}: "
        f"{expected}"]


def test_agency_and_review_state_edited(tmp_path):
    files = make_files()
    rows = rows_of(files["responses.csv"])
    rows[5][2] = "B02"
    rows[4][5] = "approved"  # un-reject response 4
    files["responses.csv"] = _csv(rows)
    assert findings(verify_bundle(write(tmp_path, files))) == [
        "ALTERED: response 4: review state 'approved', ledger says 'rejected'",
        "ALTERED: response 5 (receipt R5): agency_code differ from ledger entry 5"]


def test_deleted_and_inserted_responses(tmp_path):
    files = make_files()
    rows = rows_of(files["responses.csv"])
    forged = list(rows[1])
    forged[0] = "9"
    files["responses.csv"] = _csv([rows[0], rows[1], rows[3], rows[4], rows[5], forged])
    assert findings(verify_bundle(write(tmp_path, files))) == [
        "INSERTED: response 9 has no ledger entry: added after collection or forged",
        "REMOVED: response 2 (receipt R2, ledger entry 2) is in the ledger but not in the "
        "responses"]


def test_reordered_ledger_entries(tmp_path):
    files = make_files()
    rows = rows_of(files["ledger.csv"])
    rows[4], rows[5] = rows[5], rows[4]  # entries 4 and 5 swapped
    files["ledger.csv"] = _csv(rows)
    assert findings(verify_bundle(write(tmp_path, files))) == [
        "REMOVED: ledger sequence jumps from 3 to 5 (entries 4–4 missing)",
        "REORDERED: ledger entry 5 (R5) does not follow entry 4: an entry was inserted, "
        "removed or moved before it",
        "REORDERED: ledger sequence jumps from 5 to 4",
        "REORDERED: ledger entry 4 (R4) does not follow entry 3: an entry was inserted, "
        "removed or moved before it",
        "REORDERED: ledger entry 6 (R4) does not follow entry 5: an entry was inserted, "
        "removed or moved before it",
        "CHECKPOINT: Merkle root of checkpoint 2026-06-30T00:00:00Z does not match"]


@pytest.mark.parametrize("seq", [1, 3, 6])  # plain, quoted response, JSON event
def test_edited_ledger_payload(tmp_path, seq):
    files = make_files()
    rows = rows_of(files["ledger.csv"])
    rows[seq][6] = rows[seq][6].replace("R", "Q", 1) if seq != 6 else \
        rows[seq][6].replace("rejected", "approved")
    files["ledger.csv"] = _csv(rows)
    out = findings(verify_bundle(write(tmp_path, files)))
    kind = "review" if seq == 6 else "response"
    assert f"ALTERED: ledger entry {seq} ({kind} R{min(seq, 4)}) does not match its hash" in out


def test_crlf_bundle_reads_like_the_csv_module(tmp_path):
    """A bundle re-saved with Windows line ends still verifies: those lines go through the
    csv module, which reads CRLF as a line end."""
    files = make_files()
    for member in ("responses.csv", "ledger.csv"):
        files[member] = _csv(rows_of(files[member]), terminator="\r\n")
    report = verify_bundle(write(tmp_path, files))
    assert report.ok, report.findings
    assert report.responses == 5 and report.ledger_entries == 6
    assert report.responses_compared == "row by row"


def test_rows_in_another_order_are_matched_one_by_one(tmp_path):
    """responses.csv in another order than the ledger is not the file the ledger implies,
    but nothing in it was changed: compared row by row, it verifies."""
    files = make_files()
    rows = rows_of(files["responses.csv"])
    files["responses.csv"] = _csv([rows[0], *reversed(rows[1:])])
    report = verify_bundle(write(tmp_path, files))
    assert report.ok, report.findings
    assert report.responses == 5 and report.responses_compared == "row by row"


@pytest.mark.parametrize("member, expected", [
    ("responses.csv", "responses.csv does not match the export format and its codebook"),
    ("ledger.csv", "ledger.csv does not have the expected columns")])
def test_empty_member(tmp_path, member, expected):
    files = make_files()
    files[member] = b""
    with pytest.raises(verify.BundleError, match=expected):
        verify_bundle(write(tmp_path, files))


def test_held_checkpoint_after_rewrite(tmp_path):
    """A ledger rebuilt consistently after an answer was changed passes on its own, and is
    caught by the digest held outside the system."""
    held = format_digest("t", 6, rows_of(make_files()["ledger.csv"])[-1][5])
    files = make_files(rows=[(1, "A01", "1", "4", ""), *ROWS[1:]])
    path = write(tmp_path, files)
    assert verify_bundle(path).ok
    assert findings(verify_bundle(path, held)) == [
        "CHECKPOINT: the ledger does not match the checkpoint you hold at entry 6: it was "
        "rewritten after that checkpoint"]


def test_unquoted_payload_with_commas_is_malformed(tmp_path):
    """A ledger line whose quoting was stripped has more than seven fields, as the csv
    module would read it."""
    files = make_files()
    lines = files["ledger.csv"].split(b"\n")
    lines[2] = lines[2].replace(b'"', b"")  # entry 2's payload holds a comma
    files["ledger.csv"] = b"\n".join(lines)
    out = findings(verify_bundle(write(tmp_path, files)))
    assert out[0] == "LEDGER: malformed ledger line after seq 1"
    assert "REMOVED: response 2 (receipt R2, ledger entry 2) is in the ledger but not in the " \
           "responses" not in out  # response 2 still has no ledger entry, so it is inserted
    assert "INSERTED: response 2 has no ledger entry: added after collection or forged" in out


def correction(rid: int, **changes) -> tuple[str, str, dict]:
    return ("correction", f"R{rid}", {"kind": "correction", "response_id": rid,
                                      "changes": {code: {"from": before, "to": after}
                                                  for code, (before, after) in changes.items()},
                                      "reason": "Nhập nhầm"})


def test_corrections_are_replayed(tmp_path):
    """Response 1: TC1 5 → 3 → 2 and TC2 4 → not applicable; response 3's comment cleared."""
    shown = [(1, "A01", "2", "", ""), *ROWS[1:2], (3, "B02", "4", "5", ""), *ROWS[3:]]
    files = make_files(events=[correction(1, TC1=(5, 3)), correction(1, TC1=(3, 2), TC2=(4, 0)),
                               correction(3, Y_KIEN=("dòng một\ndòng hai", None))],
                       shown=shown)
    report = verify_bundle(write(tmp_path, files))
    assert report.ok, report.findings
    assert report.events == 4 and report.responses_compared == "whole file"


def test_correction_not_in_the_ledger_is_caught(tmp_path):
    shown = [(1, "A01", "3", "4", ""), *ROWS[1:]]
    assert findings(verify_bundle(write(tmp_path, make_files(shown=shown)))) == [
        "ALTERED: response 1 (receipt R1): answers differ from ledger entry 1: "
        "TC1: ledger '5' bundle '3'"]


@pytest.mark.parametrize("event, expected", [
    (correction(1, TC1=(4, 3)), "ALTERED: ledger entry 7: correction of response 1 changes "
                                "TC1 from '4', but the recorded answer is '5'"),
    (correction(9, TC1=(5, 3)), "ALTERED: ledger entry 7: a correction of response 9, which "
                                "has no earlier response entry in the ledger"),
    (correction(1, XX=(5, 3)), "ALTERED: ledger entry 7: correction of response 1 names an "
                               "item not in the codebook: 'XX'"),
])
def test_inconsistent_correction_event(tmp_path, event, expected):
    """A correction event that does not start from the recorded answer, or names no
    recorded response or item, is reported even when the chain is intact."""
    assert expected in findings(verify_bundle(write(tmp_path, make_files(events=[event]))))


def test_recorded_hash_must_be_written_as_computed(tmp_path):
    """The same hash in capitals is not the recorded hash (the chain is over the text)."""
    files = make_files()
    rows = rows_of(files["ledger.csv"])
    rows[1][5] = rows[1][5].upper()
    files["ledger.csv"] = _csv(rows)
    out = findings(verify_bundle(write(tmp_path, files)))
    assert out[:2] == [
        "ALTERED: ledger entry 1 (response R1) does not match its hash",
        "REORDERED: ledger entry 2 (R2) does not follow entry 1: an entry was inserted, "
        "removed or moved before it"]


def test_verifier_needs_no_database_library_and_no_pandas(tmp_path):
    """An auditor runs `python -m analysis verify` on a bundle alone: the verifier must
    not pull in the application's database layer, nor pandas, whose import alone would
    be a twentieth of the time to verify a million responses."""
    import subprocess
    import sys

    bundle = write(tmp_path, make_files())
    out = subprocess.run([sys.executable, "-c", "import sys; from analysis.__main__ import main; "
                          f"code = main(['verify', {str(bundle)!r}]); "
                          "print(code, 'sqlalchemy' in sys.modules, 'pandas' in sys.modules)"],
                         capture_output=True, text=True, check=True).stdout.splitlines()
    assert out[-1] == "0 False False"


def test_failure_of_the_hashing_process_is_reported(tmp_path, monkeypatch):
    """When the second process cannot finish, the auditor gets a clear error, not a
    report that silently skipped the hashes."""
    monkeypatch.setattr(verify, "PARALLEL_FROM", 0)

    def broken(book, last, received):
        raise OSError("disk read error")

    monkeypatch.setattr(verify, "_hashes_and_merkle", broken)
    with pytest.raises(verify.BundleError, match="hashes failed: OSError: disk read error"):
        verify_bundle(write(tmp_path, make_files()))


def test_lines_quoted_only_at_the_end_split_as_the_csv_module_does():
    """The verifier splits a ledger record whose last field alone is quoted without the csv
    module; on any record it takes that path for, it must get the csv module's fields."""
    import random

    rng = random.Random(5)
    alphabet = ['a', 'b', ',', '"', '""', '\r', '\n', ' ', 'ờ', '{', ':']
    taken = 0
    for _ in range(3000):
        fields = ["".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 6)))
                  for _ in range(rng.choice((6, 7, 7, 7, 8)))]
        if rng.random() < 0.6:  # mostly the usual shape: plain fields, then a payload
            fields[:-1] = [f.replace(",", "").replace('"', "").replace("\r", "")
                           .replace("\n", "") for f in fields[:-1]]
        line = _csv([fields])[:-1]  # a record, which may span lines (joined by _record)
        split = bundle._last_quoted(line)
        if split is not None:
            taken += 1
            assert [f.decode() for f in split] == rows_of(line)[0], line
    assert taken > 200


def test_review_of_a_quoted_row_is_matched_whole(tmp_path):
    report = verify_bundle(write(tmp_path, make_files(reviews=((2, "approved"), (4, "rejected"),
                                                             (2, "has_issues")))))
    assert report.ok, report.findings
    assert report.responses_compared == "whole file" and report.events == 3


def test_checkpoint_row_without_a_number(tmp_path):
    files = make_files()
    files["checkpoints.csv"] = files["checkpoints.csv"].replace(b",6,", b",six,")
    with pytest.raises(verify.BundleError, match="checkpoints.csv has a row without an entry"):
        verify_bundle(write(tmp_path, files))


@pytest.mark.parametrize("body", [{"response_id": "4", "state": "approved"}, ["4", "approved"]])
def test_review_event_of_the_wrong_shape(tmp_path, body):
    """An event the application could not have written is reported, not a crash."""
    report = verify_bundle(write(tmp_path, make_files(events=[("review", "R4", body)])))
    assert findings(report) == ["ALTERED: ledger entry 7 has an unreadable payload"]


def test_merkle_root_from_two_subtrees():
    """The verifier's two processes each work out one subtree under the root; joined, they
    give the root of the whole tree for any number of leaves (odd levels included)."""
    import hashlib

    from analysis.ledger import merkle_join, merkle_root_raw, merkle_split, merkle_subtree

    for n in range(2, 130):
        leaves = [hashlib.sha256(str(i).encode()).digest() for i in range(n)]
        m = merkle_split(n)
        assert m < n <= 2 * m and m & (m - 1) == 0
        assert merkle_join(merkle_subtree(leaves[:m]), merkle_subtree(leaves[m:])) \
            == merkle_root_raw(leaves), n


def test_bundle_given_as_an_open_file(tmp_path):
    """A bundle handed over as a file object (not a path) verifies the same way: the
    second process reads the ledger from the first, not from the file."""
    with open(write(tmp_path, make_files()), "rb") as fh:
        report = verify_bundle(fh)
    assert report.ok, report.findings
    assert (report.ledger_entries, report.responses, report.checkpoints) == (6, 5, 1)
