"""Command line: ``python -m analysis indices ...`` computes the index table from an
export, ``python -m analysis sample-size ...`` prints a sample size, ``verify`` checks an
audit bundle and ``resample`` recomputes a re-verification draw from a bundle and a seed.

Bad input ends with a one-line message on stderr and exit status 2, and no output
file is left behind.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import zipfile
from pathlib import Path

from . import messages
from .errors import InputError
from .messages import say

# Each command imports what it uses when it runs: `verify` needs neither pandas nor numpy,
# whose import alone takes half a second.

EXIT_BAD_INPUT = 2
# verify: the bundle was read but does not check out (altered, inserted, removed…)
EXIT_TAMPERED = 1


def _whole_number(minimum: int, message: str):
    """An argparse type: a whole number of at least `minimum` (`message`: the key of what
    is said otherwise)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(say("arg.not_whole", text=text)) from None
        if value < minimum:
            raise argparse.ArgumentTypeError(say(message, text=text))
        return value

    return parse


_positive_int = _whole_number(1, "arg.at_least_1")
_non_negative_int = _whole_number(0, "arg.not_negative")


def _number(accept, message: str):
    """An argparse type: a number for which `accept(value)` holds."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(say("arg.not_number", text=text)) from None
        if not accept(value):
            raise argparse.ArgumentTypeError(say(message, text=text))
        return value

    return parse


_margin = _number(lambda v: 0 < v < 1, "arg.margin")
_rate = _number(lambda v: 0 < v <= 1, "arg.rate")
_weight = _number(lambda v: v >= 1, "arg.at_least_1")

# argparse's own messages (its gettext catalogue is English only), said in the current
# language; any other is shown as argparse words it.
_ARGPARSE = (
    (re.compile(r"^argument (?P<name>\S+): (?P<message>.*)$", re.S), "argparse.argument"),
    (re.compile(r"^the following arguments are required: (?P<names>.*)$", re.S),
     "argparse.required"),
    (re.compile(r"^invalid choice: (?P<value>.*) \(choose from (?P<choices>.*)\)$", re.S),
     "argparse.choice"),
    (re.compile(r"^unrecognized arguments: (?P<args>.*)$", re.S), "argparse.unrecognized"),
    (re.compile(r"^expected one argument$"), "argparse.one_value"),
)


def _argparse_message(message: str) -> str:
    for pattern, key in _ARGPARSE:
        m = pattern.match(message)
        if m:
            fields = m.groupdict()
            if "message" in fields:
                fields["message"] = _argparse_message(fields["message"])
            return say(key, **fields)
    return message


class _Formatter(argparse.HelpFormatter):
    def add_usage(self, usage, actions, groups, prefix=None):
        super().add_usage(usage, actions, groups, say("cli.usage") if prefix is None else prefix)


class _Parser(argparse.ArgumentParser):
    """Says its errors in the current language, "lỗi:" for "error:"."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, add_help=False, **kwargs)
        self._positionals.title = say("cli.positionals")
        self._optionals.title = say("cli.options")
        self.add_argument("-h", "--help", action="help", help=say("cli.help"))

    def error(self, message):
        self.print_usage(sys.stderr)
        self.exit(EXIT_BAD_INPUT, say("cli.error", prog=self.prog,
                                      message=_argparse_message(message)) + "\n")


def _language_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--lang", choices=messages.LANGUAGES,
                        default=messages.default_language(), help=say("cli.lang"))


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m analysis", description=say("cli.description"))
    _language_option(parser)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                     parser_class=_Parser)

    indices = commands.add_parser("indices", help=say("help.indices"))
    indices.add_argument("responses", type=Path, metavar="RESPONSES.csv")
    indices.add_argument("--codebook", type=Path, required=True, metavar="CODEBOOK.csv")
    indices.add_argument("--out", type=Path, required=True, metavar="INDICES.csv")
    indices.add_argument(
        "--exclude-rejected", action="store_true", help=say("help.exclude_rejected")
    )
    indices.add_argument(
        "--bootstrap", type=_positive_int, metavar="N", help=say("help.bootstrap")
    )
    indices.add_argument(
        "--seed", type=_non_negative_int, default=0, help=say("help.bootstrap_seed")
    )
    indices.set_defaults(run=_run_indices)

    sample = commands.add_parser("sample-size", help=say("help.sample_size"))
    sample.add_argument("--population", type=_positive_int, metavar="N",
                        help=say("help.population"))
    sample.add_argument("--margin", type=_margin, default=0.05, help=say("help.margin"))
    sample.add_argument(
        "--method", choices=("yamane", "cochran"), default="yamane", help=say("help.method")
    )
    sample.set_defaults(run=_run_sample_size, parser=sample)

    verify = commands.add_parser("verify", help=say("help.verify"))
    verify.add_argument("bundles", type=Path, nargs="+", metavar="BUNDLE",
                        help=say("help.bundles"))
    verify.add_argument("--checkpoint", metavar="DIGEST", help=say("help.checkpoint"))
    verify.add_argument("--report", type=Path, metavar="FILE", help=say("help.report"))
    verify.set_defaults(run=_run_verify)

    resample = commands.add_parser("resample", help=say("help.resample"))
    resample.add_argument("bundle", type=Path, metavar="BUNDLE")
    resample.add_argument("--seed", type=_non_negative_int, required=True,
                          help=say("help.draw_seed"))
    resample.add_argument("--rate", type=_rate, required=True, help=say("help.rate"))
    resample.add_argument("--oversample", type=_weight, help=say("help.oversample"))
    resample.add_argument("--out", type=Path, metavar="SAMPLE.csv", help=say("help.sample_out"))
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
    from .bootstrap import bootstrap_indices
    from .compare import exclude_rejected
    from .indices import indices_table
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
            args.parser.error(say("sample.population_required"))
        print(yamane(args.population, args.margin))
    else:
        print(cochran(args.population, args.margin))
    return 0


def _run_verify(args) -> int:
    from .verify import verify_bundle

    if args.checkpoint is not None and len(args.bundles) > 1:
        raise InputError(say("verify.one_bundle"))
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
        print(say("resample.recorded", seq=result.recorded_seq, seed=p.get("seed"),
                  rate=p.get("rate"), oversample=p.get("oversample_flagged"),
                  population=p.get("population"), considered=result.considered,
                  as_of=p.get("as_of_seq")))
    else:
        print(say("resample.unrecorded", seed=args.seed, rate=f"{args.rate:g}",
                  population=result.population, considered=result.considered,
                  flagged=result.flagged))
    for note in result.notes:
        print(f"Note: {note}.")
    verdict = {True: say("resample.match"), False: say("resample.mismatch"),
               None: ""}[result.matches]
    print(say("resample.recomputed", selected=len(result.selected),
              population=result.population, verdict=verdict))
    print("selected: " + " ".join(str(i) for i in result.selected))
    if args.out:
        _write_atomically(pd.DataFrame({"response_id": result.selected}), args.out)
    return EXIT_TAMPERED if result.matches is False else 0


def _language(argv) -> str:
    """The language asked for, read before the other arguments so that what is said about
    them (a mistyped number, say) is in it too; a wrong one is reported by the parser."""
    first = argparse.ArgumentParser(add_help=False)
    first.add_argument("--lang")
    known, _ = first.parse_known_args(argv)
    return known.lang if known.lang in messages.LANGUAGES else messages.default_language()


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    with messages.using(_language(argv)):
        parser = build_parser()
        args = parser.parse_args(argv)
        try:
            return args.run(args)
        except (InputError, zipfile.BadZipFile, OSError) as exc:
            if isinstance(exc, OSError) and exc.filename:
                message = messages.os_reason(exc)
            elif isinstance(exc, zipfile.BadZipFile):
                message = say("bundle.not_zip")
            else:
                message = str(exc)
            print(say("cli.error", prog=f"{parser.prog} {args.command}", message=message),
                  file=sys.stderr)
            return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
