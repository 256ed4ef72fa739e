"""The package's names load on first use: every documented name is there, an unknown one
is an AttributeError, and importing the package alone does not import pandas."""

import subprocess
import sys

import pytest

import analysis


def test_every_documented_name_is_there():
    for name in analysis.__all__:
        assert getattr(analysis, name) is not None, name
    assert set(analysis.__all__) <= set(dir(analysis))
    from analysis import indices_table, read_export  # noqa: F401  (the usual spelling)


def test_unknown_name():
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        analysis.nope  # noqa: B018


def test_importing_the_package_imports_no_pandas():
    out = subprocess.run([sys.executable, "-c", "import sys, analysis, analysis.verify; "
                          "print('pandas' in sys.modules, 'numpy' in sys.modules)"],
                         capture_output=True, text=True, check=True).stdout.strip()
    assert out == "False False"
