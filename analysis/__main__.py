"""Command line: ``python -m analysis indices ...`` computes the index table from an
export, ``python -m analysis sample-size ...`` prints a sample size, ``verify`` checks an
audit bundle and ``resample`` recomputes a re-verification draw from a bundle and a seed.

Bad input ends with a one-line message on stderr and exit status 2, and no output
file is left behind.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import zipfile
from pathlib import Path

from .errors import InputError

# Each command imports what it uses when it runs: `verify` needs neither pandas nor numpy,
# whose import alone takes half a second.

EXIT_BAD_INPUT = 2
# verify: the bundle was read but does not check out (altered, inserted, removed…)
EXIT_TAMPERED = 1


def _whole_number(minimum: int, message: str):
    """An argparse type: a whole number of at least `minimum`."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{message}: {text!r}")
        return value

    return parse


_positive_int = _whole_number(1, "must be at least 1")
_non_negative_int = _whole_number(0, "must not be negative")


def _number(accept, message: str):
    """An argparse type: a number for which `accept(value)` holds."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not accept(value):
            raise argparse.ArgumentTypeError(f"{message}: {text!r}")
        return value

    return parse


_margin = _number(lambda v: 0 < v < 1, "must be between 0 and 1")
_rate = _number(lambda v: 0 < v <= 1, "must be more than 0 and at most 1")
_weight = _number(lambda v: v >= 1, "must be at least 1")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m analysis", description="Satisfaction survey analysis."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    indices = commands.add_parser(
        "indices", help="compute criterion, element and service indices from an export"
    )
    indices.add_argument("responses", type=Path, metavar="RESPONSES.csv")
    indices.add_argument("--codebook", type=Path, required=True, metavar="CODEBOOK.csv")
    indices.add_argument("--out", type=Path, required=True, metavar="INDICES.csv")
    indices.add_argument(
        "--exclude-rejected", action="store_true", help="leave out responses reviewed as rejected"
    )
    indices.add_argument(
        "--bootstrap",
        type=_positive_int,
        metavar="N",
        help="bootstrap replicates for element and service intervals",
    )
    indices.add_argument(
        "--seed", type=_non_negative_int, default=0, help="bootstrap seed (default 0)"
    )
    indices.set_defaults(run=_run_indices)

    sample = commands.add_parser("sample-size", help="print the sample size for a population")
    sample.add_argument("--population", type=_positive_int, metavar="N", help="population size")
    sample.add_argument(
        "--margin", type=_margin, default=0.05, help="margin of error (default 0.05)"
    )
    sample.add_argument(
        "--method", choices=("yamane", "cochran"), default="yamane", help="formula (default yamane)"
    )
    sample.set_defaults(run=_run_sample_size, parser=sample)

    verify = commands.add_parser(
        "verify", help="check an audit bundle: hash chain, responses, checkpoints, audit log"
    )
    verify.add_argument(
        "bundles", type=Path, nargs="+", metavar="BUNDLE",
        help="the audit bundle; for a combined report, the bundle of each of its campaigns")
    verify.add_argument(
        "--checkpoint", metavar="DIGEST",
        help="a checkpoint digest kept outside the system, e.g. "
             "demo#1234:3f2a-91bc-07de-55aa-c0e1-d (its last character checks it)",
    )
    verify.add_argument(
        "--report", type=Path, metavar="FILE",
        help="also check a published report (indices CSV, XLSX or PDF report): recompute "
             "its figures from the bundle(s) as of the ledger checkpoint(s) it states",
    )
    verify.set_defaults(run=_run_verify)

    resample = commands.add_parser(
        "resample", help="recompute a re-verification draw from an audit bundle and its seed"
    )
    resample.add_argument("bundle", type=Path, metavar="BUNDLE")
    resample.add_argument("--seed", type=_non_negative_int, required=True)
    resample.add_argument("--rate", type=_rate, required=True, help="e.g. 0.1 for 10 %%")
    resample.add_argument(
        "--oversample", type=_weight,
        help="weight of flagged records (default: as recorded, else 2)",
    )
    resample.add_argument("--out", type=Path, metavar="SAMPLE.csv",
                          help="also write the drawn response ids as CSV")
    resample.set_defaults(run=_run_resample)
    return parser


def _write_atomically(table, out: Path) -> None:
    # Written next to the target and renamed into place, so a failure never leaves a
    # truncated table where a reader expects a complete one.
    handle, temporary = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            table.to_csv(stream, index=False)
        os.replace(temporary, out)
    except BaseException:
        os.unlink(temporary)
        raise


def _run_indices(args) -> int:
    from .compare import exclude_rejected
    from .indices import bootstrap_indices, indices_table
    from .io import read_codebook, read_responses, tally_from_responses

    codebook = read_codebook(args.codebook)
    responses = read_responses(args.responses, codebook)
    if args.exclude_rejected:
        responses = exclude_rejected(responses)
    boot = None
    if args.bootstrap:
        boot = bootstrap_indices(responses, codebook, n_boot=args.bootstrap, seed=args.seed)
    table = indices_table(tally_from_responses(responses, codebook), codebook, bootstrap=boot)
    _write_atomically(table, args.out)
    return 0


def _run_sample_size(args) -> int:
    from .sampling import cochran, yamane

    if args.method == "yamane":
        if args.population is None:
            args.parser.error("--population is required for the yamane method")
        print(yamane(args.population, args.margin))
    else:
        print(cochran(args.population, args.margin))
    return 0


def _run_verify(args) -> int:
    from .verify import verify_bundle

    if args.checkpoint is not None and len(args.bundles) > 1:
        raise InputError("--checkpoint checks one bundle: give one BUNDLE with it")
    checked = published = None
    if args.report is not None:
        from .report_check import read_report

        published = read_report(args.report)  # a file that is no report: said first
    reports = [verify_bundle(bundle, args.checkpoint) for bundle in args.bundles]
    if args.report is not None:
        from .report_check import check_report

        checked = check_report(args.bundles, args.report, published)
    for report in reports:
        for line in report.lines():
            print(line)
    for line in checked.lines() if checked is not None else ():
        print(line)
    ok = all(report.ok for report in reports) and (checked is None or checked.ok)
    return 0 if ok else EXIT_TAMPERED


def _run_resample(args) -> int:
    import pandas as pd

    from .sampling_audit import resample_bundle

    result = resample_bundle(args.bundle, seed=args.seed, rate=args.rate,
                             oversample_flagged=args.oversample)
    if result.recorded is not None:
        p = result.recorded
        print(f"Draw recorded in ledger entry {result.recorded_seq}: seed {p.get('seed')}, "
              f"rate {p.get('rate')}, flagged records x{p.get('oversample_flagged')}, "
              f"{p.get('population')} re-contactable of the {result.considered} responses "
              f"chained up to entry {p.get('as_of_seq')}.")
    else:
        print(f"No draw with seed {args.seed} and rate {args.rate:g} is recorded in the "
              f"ledger: drawing from the {result.population} re-contactable of the "
              f"{result.considered} responses of the bundle ({result.flagged} flagged in "
              "audit.csv).")
    for note in result.notes:
        print(f"Note: {note}.")
    verdict = {True: " — MATCH: the same records as the ledger names",
               False: " — MISMATCH: the ledger names other records", None: ""}[result.matches]
    print(f"Recomputed: {len(result.selected)} of {result.population} records{verdict}.")
    print("selected: " + " ".join(str(i) for i in result.selected))
    if args.out:
        _write_atomically(pd.DataFrame({"response_id": result.selected}), args.out)
    return EXIT_TAMPERED if result.matches is False else 0


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except (InputError, zipfile.BadZipFile, OSError) as exc:
        message = (
            f"{exc.strerror}: {exc.filename}"
            if isinstance(exc, OSError) and exc.filename
            else str(exc)
        )
        print(f"{parser.prog} {args.command}: error: {message}", file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
