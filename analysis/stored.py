"""Intervals kept between computations: each bootstrap group's result filed under a
digest of everything it is computed from, so that a group whose respondents did not
change is not bootstrapped again (:func:`analysis.report.family_intervals`).

A group's element and service intervals are a function of its chosen respondents (their
ids in the order they are drawn from, their satisfaction answers), the items' elements,
the number of replicates, the seed and the group's own value (its random stream): nothing
else. Responses are written once; an answer changes only by a correction, so the ids and,
for each corrected respondent, its latest correction identify the answers. The digest of
all of these (:func:`group_key`) therefore names the result exactly: a result found under
it is the one the bootstrap would compute again, bit for bit, and the auditor, who
recomputes every figure from the bundle without a store, gets the same numbers.

A store is any object with ``revisions`` (a mapping of corrected response id to its
latest correction's id), ``lookup(keys) -> {key: rows}`` and ``save({key: rows})``, rows
being each group's ``(level, code, index, ci_low, ci_high)``. The application keeps them
in its database (``survey_app.services.derived``).

Choosing each group's respondents still reads every response's id and agency (about a
second at a million responses). So a store also keeps the plan of a whole computation,
each family's group keys and the sampled groups (``lookup_plan() -> plan | None``,
``save_plan(plan)``), under whatever names its data as unchanged (for the application:
the responses' count, largest id and last receipt, the latest review and correction, the
agency tree and the settings); found, with every group's result, nothing is read.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence

import numpy as np

#: Changes whenever the bootstrap's arithmetic or random streams change: every result
#: stored under an older method is then computed afresh.
METHOD = "respondent-bootstrap/1"


def group_key(group: str, ids: np.ndarray, revisions: Mapping[int, int], *, seed: int,
              n_boot: int, elements: Sequence[str], revised: np.ndarray | None = None) -> str:
    """The digest (hex SHA-256) naming one group's bootstrap result: ``ids`` are its
    chosen respondents in the order they are drawn from; ``revised`` the ids of
    ``revisions`` as an array (given when many groups are keyed at once)."""
    ids = np.ascontiguousarray(ids, dtype="<i8")
    digest = hashlib.sha256()
    digest.update(json.dumps([METHOD, str(group), int(seed), int(n_boot), list(map(str, elements))],
                             ensure_ascii=False).encode("utf-8"))
    digest.update(b"\0")
    digest.update(ids.tobytes())
    if revised is None:
        revised = np.fromiter(revisions, dtype="int64", count=len(revisions))
    fixed = ids[np.isin(ids, revised)]
    if len(fixed):  # a group without a corrected answer is named by its ids alone
        digest.update(b"\0")
        digest.update(json.dumps([[int(i), int(revisions[int(i)])] for i in np.sort(fixed)])
                      .encode("ascii"))
    return digest.hexdigest()
