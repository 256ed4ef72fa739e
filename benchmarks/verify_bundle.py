"""Time `python -m analysis verify` on an audit bundle of 1 million responses, against a
plain SHA-256 pass over the same bytes measured in the same run.

Like a real campaign's, the bundle has comments that need csv quoting (one response in
50: a comma, quotes, a line break) and review decisions recorded after the responses
(one response in 20 approved, flagged or rejected), which the verifier must replay. The
script measures a bundle of the responses alone, then that one (`--plain`: the first only).

The bundle is synthesised in the exact format `flask export-audit` writes (responses.csv
and codebook.csv of the export, ledger.csv with the application's payloads and hash
chain, checkpoints.csv, audit_log.csv with 20,000 rows, manifest.json), using the
application's own payload and hash functions, so the verifier does the same work as on a
real bundle.

    .venv/bin/python benchmarks/verify_bundle.py [--responses 1000000] [--plain]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from analysis.ledger import (  # noqa: E402
    AUDIT_COLUMNS,
    GENESIS,
    audit_payload,
    canonical_json,
    entry_hash,
    export_value,  # noqa: E402
    format_digest,
    merkle_root,
    response_payload,
)

#: the review states of responses 0, 1 and 2 of every 20
REVIEWS = ("approved", "has_issues", "rejected")
SIPAS = ROOT / "survey_app" / "data" / "sipas-2023.json"


def codebook_rows(definition: dict) -> list[list]:
    groups = {g["code"]: g for g in definition["groups"]}
    rows = []
    for item in definition["items"]:
        scale = {"satisfaction": (1, 5), "priority": (1, 3)}.get(item["type"], ("", ""))
        choices = "|".join(f"{c['code']}={c['label']['vi']}" for c in item.get("choices", []))
        rows.append([item["code"], item["group"], groups[item["group"]]["name"]["vi"],
                     item["type"], *scale, item["text"]["vi"], item["text"]["en"], choices])
    return rows


def build(path: Path, n: int, plain: bool = False) -> str:
    definition = json.loads(SIPAS.read_text(encoding="utf-8"))
    book = codebook_rows(definition)
    kinds = [(r[0], r[3]) for r in book]
    sat = [code for code, kind in kinds if kind == "satisfaction"]
    rng = np.random.default_rng(7)
    scores = rng.choice(6, size=(n, len(sat)), p=[0.03, 0.05, 0.04, 0.15, 0.45, 0.28])
    agencies = [f"X{k:03d}" for k in range(150)]
    agency_of = rng.integers(0, len(agencies), n)
    start = datetime(2026, 6, 1, 8, 0, 0)
    hashes = []
    resp_path, led_path = path.with_name("responses.csv"), path.with_name("ledger.csv")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        with resp_path.open("w", encoding="utf-8", newline="") as resp, \
                led_path.open("w", encoding="utf-8", newline="") as led:
            rw, lw = csv.writer(resp, lineterminator="\n"), csv.writer(led, lineterminator="\n")
            rw.writerow(["response_id", "campaign", "agency_code", "channel", "submitted_at",
                         "review_state", *[c for c, _ in kinds]])
            lw.writerow(["seq", "kind", "ref", "at", "prev_hash", "hash", "payload"])
            prev = GENESIS
            for i in range(n):
                answers = {code: int(s) for code, s in zip(sat, scores[i], strict=True)}
                answers["GIOI_TINH"] = "1" if i % 2 else "2"
                answers["KENH_TT"] = ["1", "3"]
                if i % 50 == 7 and not plain:
                    answers["Y_KIEN"] = 'Thủ tục nhanh, cán bộ "nhiệt tình"\nCảm ơn'
                when = start + timedelta(seconds=i)
                receipt = f"R{i:09d}X"
                iso = when.strftime("%Y-%m-%dT%H:%M:%SZ")
                cells = [export_value(kind, answers.get(code)) for code, kind in kinds]
                payload = response_payload(
                    response_id=i + 1, receipt=receipt, campaign="bench",
                    agency_code=agencies[agency_of[i]], channel="open", submitted_at=iso,
                    form=None, export_cells=cells,
                    not_applicable=[c for c in sat if answers[c] == 0])
                digest = entry_hash(prev, i + 1, payload)
                hashes.append(digest)
                lw.writerow([i + 1, "response", receipt, iso, prev, digest, payload])
                rw.writerow([i + 1, "bench", agencies[agency_of[i]], "open", iso,
                             REVIEWS[i % 20] if i % 20 < len(REVIEWS) and not plain
                             else "received", *cells])
                prev = digest
            # the review decisions, in bulk after collection, as the application records them
            seq = n
            for i in range(0 if plain else n):
                if i % 20 < len(REVIEWS):
                    seq += 1
                    payload = json.dumps(
                        {"kind": "review", "response_id": i + 1, "receipt": f"R{i:09d}X",
                         "state": REVIEWS[i % 20], "reason": "Kiểm tra, đối chiếu",
                         "by": "mttq", "at": "2026-12-20T08:00:00Z"},
                        ensure_ascii=False, sort_keys=True, separators=(",", ":"))
                    digest = entry_hash(prev, seq, payload)
                    hashes.append(digest)
                    lw.writerow([seq, "review", f"R{i:09d}X", "2026-12-20T08:00:00Z", prev,
                                 digest, payload])
                    prev = digest
        zf.write(resp_path, "responses.csv")
        zf.write(led_path, "ledger.csv")
        resp_path.unlink()
        led_path.unlink()
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["item_code", "element_code", "element_name", "type", "scale_min",
                         "scale_max", "text_vi", "text_en", "choices"])
        writer.writerows(book)
        zf.writestr("codebook.csv", out.getvalue())
        zf.writestr("checkpoints.csv",
                    "at,seq,head_hash,merkle_root,reason,digest\n"
                    f"2026-12-31T00:00:00Z,{len(hashes)},{prev},{merkle_root(hashes)},close,"
                    f"{format_digest('bench', len(hashes), prev)}\n")
        zf.writestr("audit_log.csv", audit_log(AUDIT_ROWS))
        zf.writestr("manifest.json", json.dumps({"campaign": "bench", "responses": n}))
    return format_digest("bench", len(hashes), prev)


#: An installation's audit log over a round: a row per administrative change (accounts,
#: agencies, plans, reviews, checkpoints…), far fewer than responses.
AUDIT_ROWS = 20_000


def audit_log(rows: int) -> str:
    """audit_log.csv as the application writes it: `rows` chained rows."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(AUDIT_COLUMNS)
    prev = GENESIS
    for seq in range(1, rows + 1):
        at = f"2026-06-{1 + seq % 28:02d}T08:00:00Z"
        before = {"role": "auditor", "active": True} if seq % 200 == 0 else None
        after = ({"role": "auditor", "active": seq % 400 != 0, "password": "changed"}
                 if before else {"state": "approved", "reason": "Kiểm tra, đối chiếu"})
        action = "user.update" if before else "response.review"
        row = [seq, at, "admin", action, "user" if before else "response", str(seq),
               canonical_json(before), canonical_json(after)]
        digest = entry_hash(prev, seq, audit_payload(
            at=at, actor="admin", action=action, object_type=row[4], object_id=row[5],
            before=before, after=after))
        writer.writerow([*row, prev, digest])
        prev = digest
    return out.getvalue()


def sha256_pass(path: Path) -> float:
    """Read every member of the bundle and hash its bytes: the reference."""
    t0 = time.perf_counter()
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            h = hashlib.sha256()
            with zf.open(name) as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    h.update(block)
    return time.perf_counter() - t0


def measure(work: Path, n: int, plain: bool) -> int:
    """Build one bundle, time the verifier on it against the SHA-256 pass; its exit code."""
    path = work / ("plain.zip" if plain else "bundle.zip")
    t0 = time.perf_counter()
    digest = build(path, n, plain)
    what = "responses only" if plain else "with review decisions and quoted comments"
    print(f"\n== {n:,} responses, {what}: built in {time.perf_counter() - t0:.1f} s "
          f"({path.stat().st_size / 2**20:.0f} MiB compressed)")
    reference = min(sha256_pass(path) for _ in range(2))
    # As the auditor runs it: `python -m analysis verify` in a process of its own (which
    # also counts the interpreter's start and the imports).
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    run = subprocess.run([sys.executable, "-m", "analysis", "verify", str(path),
                          "--checkpoint", digest], cwd=ROOT, capture_output=True, text=True)
    took = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    print((run.stdout or run.stderr).splitlines()[0])
    print(f"verify                 {took:.2f} s   (target < 10 s)")
    # On a shared machine the wall time also counts other people's work; the ratio to the
    # reference measured alongside is the steadier figure. The CPU time is that of both
    # processes (the second recomputes the entry hashes and half the Merkle tree).
    print(f"verify CPU time        {cpu:.2f} s")
    print(f"plain SHA-256 pass     {reference:.2f} s")
    print(f"ratio verify/SHA-256   {took / reference:.1f}")
    path.unlink()
    return run.returncode


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--responses", type=int, default=1_000_000)
    ap.add_argument("--plain", action="store_true",
                    help="only the bundle of responses alone, no review decisions or "
                         "quoted comments")
    args = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="survey-verify-"))
    try:
        codes = [measure(work, args.responses, True)]
        if not args.plain:
            codes.append(measure(work, args.responses, False))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return max(codes)


if __name__ == "__main__":
    sys.exit(main())
