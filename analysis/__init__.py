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

from .compare import breakdown, change_between, exclude_rejected
from .indices import (
    MIN_N_FOR_RANKING,
    SERVICE_CODE,
    TABLE_COLUMNS,
    TallyCounts,
    answer_distribution,
    bootstrap_groups,
    bootstrap_indices,
    criterion_indices,
    element_indices,
    indices_table,
    rank_agencies,
    rollup_tally,
    service_indices,
    wilson_interval,
)
from .io import (
    ExportFormatError,
    choice_labels,
    read_codebook,
    read_export,
    read_responses,
    satisfaction_items,
    satisfaction_scores,
    tally_from_responses,
)
from .sampling import allocate, cochran, yamane

__all__ = [
    "MIN_N_FOR_RANKING",
    "SERVICE_CODE",
    "TABLE_COLUMNS",
    "ExportFormatError",
    "TallyCounts",
    "allocate",
    "answer_distribution",
    "bootstrap_groups",
    "bootstrap_indices",
    "breakdown",
    "change_between",
    "choice_labels",
    "cochran",
    "criterion_indices",
    "element_indices",
    "exclude_rejected",
    "indices_table",
    "rank_agencies",
    "read_codebook",
    "read_export",
    "read_responses",
    "rollup_tally",
    "satisfaction_items",
    "satisfaction_scores",
    "service_indices",
    "tally_from_responses",
    "wilson_interval",
    "yamane",
]
