"""`python -m analysis` speaks Vietnamese by default and English with --lang en: bad input
ends with a Vietnamese message and exit 2, and verify's lines keep an English keyword
first whatever the language, so that scripts read them the same way."""

import os
import string
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from test_analysis_verify import _csv, make_files, rows_of, write

from analysis import messages
from analysis.__main__ import main
from analysis.ledger import format_digest

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def run(*args, env_lang=None):
    """The command as an auditor runs it, without --lang: the environment decides
    (``env_lang``; none: the default)."""
    env = {k: v for k, v in os.environ.items() if k != messages.ENV}
    if env_lang is not None:
        env[messages.ENV] = env_lang
    return subprocess.run([sys.executable, "-W", "error", "-m", "analysis", *map(str, args)],
                          cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120,
                          env=env)


@pytest.fixture
def run_here(capsys, monkeypatch):
    """The same entry point in-process, with no language in the environment."""
    monkeypatch.delenv(messages.ENV, raising=False)

    def call(*args):
        try:
            code = main([str(a) for a in args])
        except SystemExit as exit_:
            code = exit_.code
        captured = capsys.readouterr()
        return subprocess.CompletedProcess(args, code, captured.out, captured.err)

    return call


def _fields(template: str) -> set[tuple[str, str | None]]:
    return {(name, conversion) for _, name, _, conversion in string.Formatter().parse(template)
            if name is not None}


def test_every_message_is_in_both_languages_with_the_same_fields():
    assert messages.MESSAGES
    for key, texts in messages.MESSAGES.items():
        assert set(texts) == set(messages.LANGUAGES), key
        assert all(texts.values()), key
        assert _fields(texts["vi"]) == _fields(texts["en"]), key
        with messages.using("vi"):  # every template formats with its own fields
            messages.say(key, **{name: "x" for name, _ in _fields(texts["vi"])})


def test_say_uses_the_current_language():
    with messages.using("vi"):
        assert messages.say("more", count=3) == "… và 3 mục nữa"
    with messages.using("en"):
        assert messages.say("more", count=3) == "… and 3 more"
    with pytest.raises(ValueError):
        messages.set_language("fr")


def test_clean_bundle_in_vietnamese_and_english(tmp_path):
    bundle = write(tmp_path, make_files())
    done = run("verify", bundle)
    assert done.returncode == 0, done.stderr
    ok = done.stdout.splitlines()[0]
    assert ok == ("OK: đợt khảo sát t: đã kiểm tra 6 mục sổ cái (5 phiếu trả lời, 1 sự kiện "
                  "sau đó) và 1 mốc kiểm tra, tất cả đều khớp.")
    assert done.stdout.splitlines()[1].startswith("AUDIT LOG: gói kiểm toán không có "
                                                  "audit_log.csv")
    english = run("--lang", "en", "verify", bundle)
    assert english.stdout.splitlines()[0] == (
        "OK: campaign t: 6 ledger entries (5 responses, 1 later events) and 1 checkpoints "
        "verified.")
    assert run("verify", bundle, env_lang="en").stdout == english.stdout
    # --lang wins over the environment
    assert run("--lang", "vi", "verify", bundle, env_lang="en").stdout == done.stdout


def test_tampered_bundle_names_the_response_in_vietnamese(tmp_path):
    files = make_files()
    rows = rows_of(files["responses.csv"])
    rows[2][rows[0].index("TC1")] = "5"
    files["responses.csv"] = _csv(rows)
    done = run("verify", write(tmp_path, files))
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "FAILED: đợt khảo sát t: 1 vấn đề"
    assert lines[1] == ("ALTERED: phiếu trả lời 2 (mã biên nhận R2): câu trả lời khác với mục "
                        "sổ cái 2: TC1: sổ cái '2', gói '5'")
    # the same keywords in English, only the prose differs
    english = run("--lang", "en", "verify", write(tmp_path, files, "again.zip")).stdout
    assert [line.split(":")[0] for line in english.splitlines()] == \
        [line.split(":")[0] for line in lines]


def test_mistyped_digest_is_bad_input_in_vietnamese(tmp_path):
    files = make_files()
    head = rows_of(files["ledger.csv"])[-1][5]
    digest = format_digest("t", 6, head)
    check = digest[-1]
    mistyped = digest[:-1] + ("0" if check != "0" else "1")
    done = run("verify", write(tmp_path, files), "--checkpoint", mistyped)
    assert done.returncode == 2
    assert done.stdout == ""  # no verdict printed for a bundle half checked
    assert done.stderr.strip() == (
        f"python -m analysis verify: lỗi: chuỗi mốc kiểm tra {mistyped!r} bị gõ sai: ký tự "
        "kiểm tra không khớp; hãy chép lại từ nơi đã lưu")


@pytest.mark.parametrize("name, content, expected", [
    ("report.csv", "agency_code,level,code,n,index\nA01,service,SIPAS,5,60\n",
     "tệp không ghi mốc kiểm tra sổ cái nào: đây không phải báo cáo của nền tảng khảo sát"),
    ("report.xlsx", "not a workbook", "không phải bảng tính XLSX đọc được"),
    ("report.csv", "# Mốc sổ cái: abc\nagency_code\n",
     "phần ghi mốc kiểm tra sổ cái và phương pháp không đọc được"),
    ("report.odt", "", "không phải tệp báo cáo mà lệnh này đọc được (.csv, .docx, .pdf, .xlsx)"),
])
def test_malformed_report_file_is_bad_input_in_vietnamese(tmp_path, run_here, name, content,
                                                          expected):
    bundle = write(tmp_path, make_files())
    report = tmp_path / name
    report.write_text(content, encoding="utf-8")
    before = sorted(tmp_path.iterdir())
    done = run_here("verify", bundle, "--report", report)
    assert done.returncode == 2
    assert done.stdout == ""  # not the bundle's verdict alone, as if the report were checked
    assert done.stderr.startswith(f"python -m analysis verify: lỗi: {report}: {expected}"), \
        done.stderr
    assert sorted(tmp_path.iterdir()) == before


def test_malformed_report_file_as_the_auditor_runs_it(tmp_path):
    bundle = write(tmp_path, make_files())
    report = tmp_path / "report.xlsx"
    report.write_bytes(b"PK\x03\x04 broken")
    done = run("verify", bundle, "--report", report)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.startswith(f"python -m analysis verify: lỗi: {report}: không phải bảng "
                                  "tính XLSX đọc được")
    assert "Traceback" not in done.stderr


def test_missing_and_broken_bundles(tmp_path, run_here):
    done = run_here("verify", tmp_path / "none.zip")
    assert done.returncode == 2
    assert "lỗi: không mở được" in done.stderr and "như một gói kiểm toán" in done.stderr
    assert "không có tệp hoặc thư mục này" in done.stderr
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"junk")
    done = run_here("verify", junk)
    assert done.stderr.strip().endswith("như một gói kiểm toán: không phải tệp ZIP")
    files = make_files()
    del files["ledger.csv"]
    done = run_here("verify", write(tmp_path, files))
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.strip().endswith("lỗi: gói kiểm toán không có ledger.csv")


@pytest.mark.parametrize("args, expected", [
    (["sample-size", "--population", "abc"],
     "lỗi: tham số --population: không phải số nguyên: 'abc'"),
    (["sample-size", "--population", "100", "--margin", "2"],
     "lỗi: tham số --margin: phải nằm giữa 0 và 1: '2'"),
    (["sample-size", "--margin", "0.05"], "lỗi: phương pháp yamane cần --population"),
    (["sample-size", "--method", "other"], "lỗi: tham số --method: lựa chọn không hợp lệ"),
    (["indices", "r.csv", "--codebook", "c.csv", "--out", "o.csv", "--bootstrap", "0"],
     "lỗi: tham số --bootstrap: phải từ 1 trở lên: '0'"),
    (["indices", "r.csv", "--codebook", "c.csv", "--out", "o.csv", "--seed", "-1"],
     "lỗi: tham số --seed: không được là số âm: '-1'"),
    (["indices", "r.csv", "--out", "o.csv"], "lỗi: thiếu các tham số bắt buộc: --codebook"),
    (["resample", "b.zip", "--seed", "1", "--rate", "0"],
     "lỗi: tham số --rate: phải lớn hơn 0 và không quá 1: '0'"),
    (["--lang", "fr", "verify", "b.zip"], "lỗi: tham số --lang: lựa chọn không hợp lệ"),
])
def test_bad_arguments_in_vietnamese(tmp_path, run_here, monkeypatch, args, expected):
    monkeypatch.chdir(tmp_path)
    done = run_here(*args)
    assert done.returncode == 2
    assert expected in done.stderr, done.stderr
    assert "cách dùng: python -m analysis" in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_bad_indices_input_in_vietnamese(make_export, codebook, responses, tmp_path):
    export = make_export(
        codebook, responses.assign(TC1=pd.array([5, 4, 2, None, 3, 9, None], dtype="Int64")))
    out = tmp_path / "indices.csv"
    done = run("indices", export / "responses.csv", "--codebook", export / "codebook.csv",
               "--out", out)
    assert done.returncode == 2
    assert "python -m analysis indices: lỗi: cột TC1: giá trị '9' (phiếu trả lời" in \
        done.stderr and "không phải số nguyên từ 1 đến 5" in done.stderr, done.stderr
    assert not out.exists()
