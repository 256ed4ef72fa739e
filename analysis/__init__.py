"""Satisfaction-survey analysis without the web application: read an export, compute
SIPAS indices with their intervals, compare rounds, size samples, draw charts.

Pure pandas/numpy/matplotlib, so an auditor can reproduce the platform's figures in
a notebook::

    import analysis
    responses, codebook = analysis.read_export("export/")
    table = analysis.indices_table(analysis.tally_from_responses(responses, codebook), codebook)

Charts live in :mod:`analysis.charts`, imported on demand so that computing indices
does not load matplotlib.
"""

import importlib

# The names below are loaded from their module on first use (PEP 562), so that
# `python -m analysis verify`, which needs neither pandas nor numpy, does not pay for them.
_WHERE = {
    "ExportFormatError": "io",
    "MIN_N_FOR_RANKING": "indices",
    "SERVICE_CODE": "indices",
    "TABLE_COLUMNS": "indices",
    "TallyCounts": "counts",
    "allocate": "sampling",
    "answer_distribution": "indices",
    "bootstrap_groups": "bootstrap",
    "bootstrap_indices": "bootstrap",
    "breakdown": "compare",
    "change_between": "compare",
    "choice_labels": "io",
    "cochran": "sampling",
    "criterion_indices": "indices",
    "element_indices": "indices",
    "exclude_rejected": "compare",
    "indices_table": "indices",
    "rank_agencies": "indices",
    "read_codebook": "io",
    "read_export": "io",
    "read_indices": "io",
    "read_responses": "io",
    "rollup_tally": "counts",
    "satisfaction_items": "io",
    "satisfaction_scores": "io",
    "service_indices": "indices",
    "tally_from_responses": "io",
    "wilson_interval": "indices",
    "yamane": "sampling",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str):
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE))
