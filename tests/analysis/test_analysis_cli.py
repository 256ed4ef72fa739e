import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import analysis
from analysis.__main__ import main

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def run(*args, lang="en"):
    """The command as a user runs it: a separate ``python -m analysis`` process; in
    English, which these tests assert (``lang=None``: the tool's default, Vietnamese)."""
    env = {k: v for k, v in os.environ.items() if k != "SURVEY_ANALYSIS_LANG"}
    return subprocess.run(
        [sys.executable, "-W", "error", "-m", "analysis", *(["--lang", lang] if lang else []),
         *map(str, args)],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def run_here(capsys):
    """The same entry point in-process (``main``), for the many variations where a
    new interpreter per case would only add start-up time."""

    def call(*args, lang="en"):
        try:
            code = main([*(["--lang", lang] if lang else []), *map(str, args)])
        except SystemExit as exit_:
            code = exit_.code
        captured = capsys.readouterr()
        return subprocess.CompletedProcess(args, code, captured.out, captured.err)

    return call


def indices_args(export_dir, out, *extra):
    return (
        "indices",
        export_dir / "responses.csv",
        "--codebook",
        export_dir / "codebook.csv",
        "--out",
        out,
        *extra,
    )


def indices(export_dir, out, *extra):
    return run(*indices_args(export_dir, out, *extra))


def read_table(path):
    return pd.read_csv(
        path, dtype={"agency_code": str, "code": str}, keep_default_na=False, na_values=[""]
    )


def test_indices_writes_the_long_table(export_dir, tmp_path):
    out = tmp_path / "indices.csv"
    result = indices(export_dir, out)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""

    table = read_table(out)
    assert list(table.columns) == [
        "agency_code",
        "level",
        "code",
        "n",
        "satisfied",
        "index",
        "ci_low",
        "ci_high",
        "mean_score",
    ]
    assert list(zip(table["agency_code"], table["level"], table["code"], strict=True))[:6] == [
        ("A01", "criterion", "TC1"),
        ("A01", "criterion", "TC2"),
        ("A01", "criterion", "TT1"),
        ("A01", "element", "TC"),
        ("A01", "element", "TT"),
        ("A01", "service", "SERVICE"),
    ]
    a01 = table[table["agency_code"] == "A01"].set_index("code")
    assert a01.loc["TC2", "index"] == pytest.approx(60.0)
    assert a01.loc["SERVICE", "index"] == pytest.approx((55 + 200 / 3) / 2)
    assert set(table["agency_code"]) == {"A01", "B02", "C03"}
    # The same numbers as the library, as an auditor's notebook would get them.
    responses, codebook = analysis.read_export(export_dir)
    expected = analysis.indices_table(analysis.tally_from_responses(responses, codebook), codebook)
    pd.testing.assert_series_equal(table["index"], expected["index"])


def test_indices_exclude_rejected(export_dir, tmp_path, run_here):
    out = tmp_path / "indices.csv"
    assert run_here(*indices_args(export_dir, out, "--exclude-rejected")).returncode == 0
    # C03's only form was rejected, so C03 disappears.
    assert set(read_table(out)["agency_code"]) == {"A01", "B02"}


def test_indices_bootstrap_is_reproducible(export_dir, tmp_path):
    first, second, other = tmp_path / "1.csv", tmp_path / "2.csv", tmp_path / "3.csv"
    for path, seed in ((first, 5), (second, 5), (other, 6)):
        result = indices(export_dir, path, "--bootstrap", 200, "--seed", seed)
        assert result.returncode == 0, result.stderr
    assert first.read_bytes() == second.read_bytes()
    assert first.read_bytes() != other.read_bytes()
    table = read_table(first)
    a01 = table[(table["agency_code"] == "A01") & (table["level"] != "criterion")]
    assert a01["ci_low"].notna().all() and a01["ci_high"].notna().all()


@pytest.mark.parametrize(
    ("method", "margin", "expected"),
    [("yamane", None, "286"), ("cochran", None, "278"), ("yamane", "0.03", "910")],
)
def test_sample_size(method, margin, expected, run_here):
    population = "1000" if expected != "910" else "5000"
    args = ["sample-size", "--population", population, "--method", method]
    if margin:
        args += ["--margin", margin]
    result = run_here(*args)
    assert result.returncode == 0, result.stderr
    assert result.stdout == expected + "\n"


def test_sample_size_subprocess():
    result = run("sample-size", "--method", "cochran")
    assert (result.returncode, result.stdout) == (0, "385\n")


def _assert_bad_input(result, out, message):
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    assert not out.exists()
    assert not list(out.parent.glob(f".{out.name}.*"))


def test_missing_file(export_dir, tmp_path):
    out = tmp_path / "indices.csv"
    result = run(
        "indices", tmp_path / "nope.csv", "--codebook", export_dir / "codebook.csv", "--out", out
    )
    _assert_bad_input(result, out, "nope.csv")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: r.drop(columns="TC2"), "missing columns: TC2"),
        (lambda r: r.drop(columns="agency_code"), "missing columns: agency_code"),
        (
            lambda r: r.astype({"TT1": "str"}).assign(TT1=["3", "", "rất tốt", "5", "", "1", ""]),
            "'rất tốt'",
        ),
        (lambda r: r.assign(TC1=pd.array([5, 4, 2, None, 3, 9, None], dtype="Int64")), "'9'"),
    ],
    ids=["missing-item", "missing-meta", "non-numeric", "out-of-range"],
)
def test_bad_responses(make_export, codebook, responses, tmp_path, change, message, run_here):
    directory = make_export(codebook, change(responses))
    out = tmp_path / "indices.csv"
    _assert_bad_input(run_here(*indices_args(directory, out)), out, message)


def test_bad_value_subprocess(make_export, codebook, responses, tmp_path):
    directory = make_export(
        codebook, responses.assign(TC1=pd.array([5, 4, 2, None, 3, 9, None], dtype="Int64"))
    )
    out = tmp_path / "indices.csv"
    _assert_bad_input(indices(directory, out), out, "'9'")


def test_bad_codebook(make_export, codebook, responses, tmp_path, run_here):
    directory = make_export(codebook.drop(columns="type"), responses)
    out = tmp_path / "indices.csv"
    _assert_bad_input(run_here(*indices_args(directory, out)), out, "missing columns: type")


def test_not_utf8(export_dir, tmp_path, run_here):
    (export_dir / "responses.csv").write_bytes("response_id,agency_code\nr1,Xã\n".encode("latin-1"))
    out = tmp_path / "indices.csv"
    _assert_bad_input(run_here(*indices_args(export_dir, out)), out, "UTF-8")


def test_existing_output_untouched_on_error(make_export, codebook, responses, tmp_path, run_here):
    directory = make_export(codebook, responses.drop(columns="TT1"))
    out = tmp_path / "indices.csv"
    out.write_text("previous\n")
    assert run_here(*indices_args(directory, out)).returncode == 2
    assert out.read_text() == "previous\n"


def test_usage_errors_exit_2(run_here):
    assert run_here().returncode == 2
    assert run_here("sample-size", "--population", "abc").returncode == 2
    result = run("sample-size")
    assert result.returncode == 2 and "--population is required" in result.stderr
