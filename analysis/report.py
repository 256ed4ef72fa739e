"""Building blocks for indices over a whole campaign: tallies summed over rounds and
groups, a bounded and reproducible sample of respondents per group for the bootstrap
(:mod:`analysis.samples`), breakdown groups, and the wide per-agency summary that
tables and reports show.

Pure pandas like the rest of the package. The application streams export-format
chunks (``analysis.load.iter_responses``) through :class:`RespondentSample`; a
notebook can do the same with ``pd.read_csv(..., chunksize=...)``.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from .bootstrap import bootstrap_batches
from .compare import breakdown_groups
from .counts import _ancestor_pairs, _check_tree
from .indices import SERVICE_CODE, indices_table
from .io import TALLY_COLUMNS, satisfaction_items
from .samples import IdSample, RespondentSample, export_seq, sample_keys
from .stored import group_key

__all__ = [
    "IdSample",
    "RespondentSample",
    "ancestor_lists",
    "blank_to_missing",
    "breakdown_groups",
    "empty_tally",
    "export_seq",
    "family_intervals",
    "own_intervals",
    "recentre",
    "relabel_tally",
    "sample_keys",
    "sum_tallies",
    "summary_table",
    "with_agencies",
]


def blank_to_missing(responses: pd.DataFrame) -> pd.DataFrame:
    """Empty strings as missing values, as :func:`analysis.read_responses` reads an
    empty cell (``analysis.load.iter_responses`` writes unanswered items as "")."""
    text = [c for c in responses.columns if responses[c].dtype == object
            or pd.api.types.is_string_dtype(responses[c])]
    if not text:
        return responses
    return responses.assign(**{c: responses[c].where(responses[c] != "") for c in text})


def empty_tally() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "agency_code": pd.Series([], dtype="str"),
            "item_code": pd.Series([], dtype="str"),
            "score": pd.Series([], dtype="int64"),
            "n": pd.Series([], dtype="int64"),
        }
    )


def sum_tallies(tallies: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """Add tallies up (several rounds of a year, or chunks of one round): one row per
    ``agency_code, item_code, score`` with the summed ``n``, sorted."""
    frames = [t[TALLY_COLUMNS] for t in tallies if len(t)]
    if not frames:
        return empty_tally()
    summed = (
        pd.concat(frames, ignore_index=True)
        .groupby(["agency_code", "item_code", "score"], as_index=False)["n"]
        .sum()
    )
    return summed.astype({"agency_code": "str", "item_code": "str", "score": "int64", "n": "int64"})


def relabel_tally(tally: pd.DataFrame, code: str) -> pd.DataFrame:
    """The tally with every agency counted under one code (e.g. a whole campaign)."""
    return sum_tallies([tally.assign(agency_code=str(code))])


def with_agencies(tally: pd.DataFrame, codes: Iterable[str], codebook: pd.DataFrame) -> pd.DataFrame:
    """The tally with a zero row for each of ``codes`` it lacks, so that an agency whose
    responses left every satisfaction item empty still gets (empty) index rows, as
    :func:`analysis.tally_from_responses` gives it from an export."""
    items = satisfaction_items(codebook)["item_code"]
    missing = sorted(set(map(str, codes)) - set(tally["agency_code"]))
    if not missing or items.empty:
        return tally
    zeros = pd.DataFrame({"agency_code": missing, "item_code": items.iloc[0], "score": 1, "n": 0})
    return sum_tallies([tally, zeros])


def ancestor_lists(agencies: pd.DataFrame) -> dict[str, list[str]]:
    """``{code: [code, parent, grandparent, ..., root]}`` for every agency of the tree."""
    pairs = _ancestor_pairs(_check_tree(agencies))
    return {code: list(group["ancestor"]) for code, group in pairs.groupby("agency_code", sort=False)}


INTERVAL_COLUMNS = ["agency_code", "level", "code", "index", "ci_low", "ci_high"]


def _interval_frame(rows) -> pd.DataFrame:
    """Interval rows ``(group, level, code, index, ci_low, ci_high)`` as a family's table."""
    return pd.DataFrame(rows, columns=INTERVAL_COLUMNS).astype(
        {"index": "float64", "ci_low": "float64", "ci_high": "float64"})


def family_intervals(sample: IdSample, answers, codebook: pd.DataFrame, n_boot: int,
                     seed: int, store=None, keys_out: dict | None = None
                     ) -> dict[str, pd.DataFrame]:
    """Element and service intervals of every family of ``sample`` by respondent
    bootstrap (:func:`analysis.bootstrap_groups`), keyed by ``agency_code``.
    ``answers(ids)`` gives the satisfaction answers of the chosen respondents (sorted ids,
    one row each, NaN = no 1..5 answer): read from the database by the application, from
    an audit bundle's ledger by the auditor. It is asked a few groups at a time, so that
    the groups already read are bootstrapped while the next ones are read.

    With a ``store`` (:mod:`analysis.stored`), a group whose result is kept under the
    digest of its inputs is taken from it, neither read nor bootstrapped; the others are
    computed and handed to the store. ``keys_out`` receives each family's group keys."""
    chosen = sample.ids()
    elements = satisfaction_items(codebook)["element_code"].astype("str").to_numpy()
    columns = INTERVAL_COLUMNS
    revised = None if store is None else \
        np.fromiter(store.revisions, dtype="int64", count=len(store.revisions))
    out = {}
    for family in sample.families():
        groups = sample.groups(family, chosen)
        if not groups:
            continue
        keys, kept = {}, {}
        if store is not None:
            keys = {g: group_key(g, chosen[p], store.revisions, seed=seed, n_boot=n_boot,
                                 elements=elements, revised=revised)
                    for g, p in groups.items()}
            found = store.lookup(list(keys.values()))
            kept = {g: found[k] for g, k in keys.items() if k in found}
            if keys_out is not None:
                keys_out[family] = keys
        todo = {g: p for g, p in groups.items() if g not in kept}
        computed = bootstrap_batches(_answer_batches(todo, chosen, answers), elements,
                                     n_boot=n_boot, seed=seed).rename(
            columns={"group": "agency_code"}) if todo else pd.DataFrame(columns=columns)
        if store is not None and todo:
            store.save({keys[g]: [tuple(r) for r in rows[columns[1:]].itertuples(index=False)]
                        for g, rows in computed.groupby("agency_code", sort=False)})
        if kept:
            computed = pd.concat([computed, _interval_frame(
                [(g, *row) for g, rows in kept.items() for row in rows])], ignore_index=True)
            order = {g: i for i, g in enumerate(sorted(groups))}
            computed = computed.sort_values("agency_code", key=lambda c: c.map(order),
                                            kind="stable").reset_index(drop=True)
        out[family] = computed.astype({"index": "float64", "ci_low": "float64",
                                       "ci_high": "float64"})
    return out


def _planned_intervals(store) -> tuple[dict, pd.DataFrame] | None:
    """The intervals and sampled groups of a computation whose plan (each family's group
    keys, the sampled groups) the store kept for data it names as unchanged, when every
    group's result is still kept; else None."""
    plan = store.lookup_plan()
    if plan is None:
        return None
    wanted = [k for keys in plan["keys"].values() for k in keys.values()]
    found = store.lookup(wanted)
    if len(found) < len(set(wanted)):
        return None
    intervals = {family: _interval_frame([(g, *row) for g in sorted(keys)
                                          for row in found[keys[g]]])
                 for family, keys in plan["keys"].items()}
    return intervals, pd.DataFrame(**plan["capped"])


#: Respondents whose answers are asked for at a time by :func:`family_intervals`.
ANSWER_BATCH = 20_000


def _answer_batches(groups: dict, chosen: np.ndarray, answers):
    """``(scores, groups)`` a few groups at a time: the answers of their respondents
    (``answers`` of their sorted ids) and each group's positions in them, in its order."""
    keys = sorted(groups)
    start = 0
    while start < len(keys):
        end, size = start, 0
        while end < len(keys) and (end == start or size + len(groups[keys[end]]) <= ANSWER_BATCH):
            size += len(groups[keys[end]])
            end += 1
        members = {key: chosen[groups[key]] for key in keys[start:end]}
        ids = np.unique(np.concatenate(list(members.values())))
        yield answers(ids), {key: np.searchsorted(ids, m) for key, m in members.items()}
        start = end


def own_intervals(cells, codebook: pd.DataFrame, intervals: pd.DataFrame | None,
                  sampled: Iterable[str]) -> pd.DataFrame | None:
    """The "agency" family's intervals for :func:`analysis.indices_table` of ``cells``
    (each agency's own answers), those of sampled agencies recentred on the full data."""
    return recentre(intervals, indices_table(cells, codebook), sampled)


def recentre(
    bootstrap: pd.DataFrame | None, table: pd.DataFrame, groups: Iterable[str]
) -> pd.DataFrame | None:
    """Move the bootstrap intervals of the sampled ``groups`` (a
    :meth:`RespondentSample.bootstrap` result) so that each sits around the full
    data's estimate in ``table`` (an :func:`analysis.indices_table` without bootstrap)
    rather than around the sample's own estimate. The sample sets the width, which is
    wider than the full data would give (so the interval is conservative); the full
    data sets the centre, so the interval always goes with the figure it is shown with.
    Bounds stay within 0-100."""
    groups = set(map(str, groups))
    if bootstrap is None or not groups:
        return bootstrap
    keys = ["agency_code", "level", "code"]
    merged = bootstrap.merge(
        table[[*keys, "index"]], on=keys, how="left", suffixes=("", "_full")
    )
    shift = (merged["index_full"] - merged["index"]).fillna(0.0)
    shift = shift.where(merged["agency_code"].isin(groups), 0.0)
    return merged.assign(
        index=merged["index"] + shift,
        ci_low=(merged["ci_low"] + shift).clip(0.0, 100.0),
        ci_high=(merged["ci_high"] + shift).clip(0.0, 100.0),
    )[list(bootstrap.columns)]


def summary_table(
    table: pd.DataFrame, codebook: pd.DataFrame, ranking: pd.DataFrame | None = None
) -> pd.DataFrame:
    """One row per agency of an :func:`analysis.indices_table`: the service index with
    its interval and n, then for each element ``<code>``, ``<code>_low``,
    ``<code>_high``, ``<code>_n``; with a :func:`analysis.rank_agencies` result, its
    ``rank`` and ``ranked`` columns and its order."""
    elements = list(dict.fromkeys(satisfaction_items(codebook)["element_code"]))
    service = table[(table["level"] == "service") & (table["code"] == SERVICE_CODE)]
    wide = service.set_index("agency_code")[["n", "index", "ci_low", "ci_high", "mean_score"]]
    element_rows = table[table["level"] == "element"]
    for code in elements:
        rows = element_rows[element_rows["code"] == code].set_index("agency_code")
        wide = wide.assign(
            **{
                code: rows["index"],
                f"{code}_low": rows["ci_low"],
                f"{code}_high": rows["ci_high"],
                f"{code}_n": rows["n"],
            }
        )
    if ranking is not None:
        order = ranking.set_index("agency_code")
        wide = wide.reindex(order.index).assign(rank=order["rank"], ranked=order["ranked"])
    return wide.reset_index()


# --- a campaign's tables: own, roll-ups, whole ------------------------------------------------

#: The code under which a whole campaign is counted when its agencies have several roots.
ALL_CODE = "*"


def campaign_tables(cells, codebook: pd.DataFrame, tree: pd.DataFrame, responding: list,
                    n_boot: int, seed: int, cap: int | None, id_chunks, answers,
                    store=None) -> dict:
    """Every indices table of a campaign (or several taken together) from its counts:
    each agency's own (``own``), each agency's subtree rolled up (``subtree``) and, when
    the responding agencies have several roots, the whole under :data:`ALL_CODE`
    (``total``, else None); with ``ancestors``, ``members`` (agency -> responding agencies
    of its subtree) and ``capped`` (the sampled bootstrap groups).

    ``cells`` is the :class:`analysis.TallyCounts` of the counted answers, ``responding``
    the agencies with counted responses. With ``n_boot`` replicates, ``id_chunks()``
    yields ``(campaign_index, ids, agency_codes)`` of the counted responses (by id, one
    campaign after another) and ``answers(ids)`` their satisfaction answers
    (:func:`family_intervals`). The application reads both from the database, the
    auditor's ``verify --report`` from an audit bundle's ledger: one computation. The
    application passes its ``store`` of intervals kept (:mod:`analysis.stored`)."""
    ancestors = ancestor_lists(tree)
    cells = cells.with_agencies(responding)
    members: dict[str, set] = {}
    for code in responding:
        for ancestor in ancestors[code]:
            members.setdefault(ancestor, set()).add(code)
    pooled = {a for a, m in members.items() if len(m) > 1}
    several_roots = len({ancestors[code][-1] for code in responding}) > 1

    boot_own = boot_subtree = boot_all = None
    capped = pd.DataFrame(columns=["family", "group", "sampled", "total"])
    if n_boot and responding:
        planned = _planned_intervals(store) if store is not None else None
        if planned is None:
            pooled_of = {c: [a for a in ancestors[c] if a in pooled] for c in responding}
            sample = IdSample(cap=cap, seed=seed)
            for k, ids, agencies in id_chunks():
                _add_families(sample, ids, export_seq(ids, k), agencies,
                              pooled_of if pooled else None, several_roots)
            keys: dict = {}
            intervals = family_intervals(sample, answers, codebook, n_boot, seed, store, keys)
            capped = sample.capped()
            if store is not None:
                store.save_plan({"keys": keys,
                                 "capped": capped.to_dict(orient="split", index=False)})
        else:  # nothing changed since a computation the store kept: no respondent read
            intervals, capped = planned

        def sampled(family):
            return set(capped.loc[capped["family"] == family, "group"])

        boot_own = own_intervals(cells, codebook, intervals.get("agency"), sampled("agency"))
        # A subtree with one responding agency holds exactly that agency's respondents:
        # it shows that agency's interval rather than a second draw on the same data.
        single = {a: next(iter(m)) for a, m in members.items() if len(m) == 1}
        parts = []
        if pooled:
            parts.append(recentre(intervals.get("subtree"),
                                  indices_table(cells, codebook, agencies=tree),
                                  sampled("subtree")))
        if boot_own is not None and single:
            parts += [boot_own[boot_own["agency_code"] == code].assign(agency_code=ancestor)
                      for ancestor, code in single.items()]
        parts = [p for p in parts if p is not None and len(p)]
        boot_subtree = pd.concat(parts, ignore_index=True) if parts else None
        if several_roots:
            boot_all = recentre(intervals.get("all"),
                                indices_table(cells.total(ALL_CODE), codebook), sampled("all"))

    own = indices_table(cells, codebook, bootstrap=boot_own)
    subtree = indices_table(cells, codebook, agencies=tree, bootstrap=boot_subtree)
    total = None
    if several_roots:
        total = indices_table(cells.total(ALL_CODE), codebook, bootstrap=boot_all)
    return {"cells": cells, "ancestors": ancestors, "members": members, "own": own,
            "subtree": subtree, "total": total, "capped": capped}


def _add_families(sample: IdSample, ids, seq, agencies, pooled_of: dict | None,
                  several_roots: bool) -> None:
    """One chunk of respondents into their groups: their agency ("agency"), each pooled
    subtree above it ("subtree"), the whole campaign ("all") when it has several roots."""
    sample.add(ids, seq, "agency", agencies)
    if pooled_of:
        inverse, values = pd.factorize(np.asarray(agencies, dtype=object))
        lists = [pooled_of.get(v, []) for v in values]
        lengths = np.array([len(x) for x in lists], dtype="int64")
        flat = np.array([g for x in lists for g in x], dtype=object)
        starts = np.cumsum(lengths) - lengths
        per_row = lengths[inverse]
        rows = np.repeat(np.arange(len(ids)), per_row)
        within = np.arange(len(rows)) - np.repeat(np.cumsum(per_row) - per_row, per_row)
        if len(rows):
            sample.add(ids, seq, "subtree", flat[starts[inverse][rows] + within], rows)
    if several_roots:
        sample.add(ids, seq, "all", np.full(len(ids), ALL_CODE, dtype=object))


def scope_tables(tables: dict, responding: list, scope: str | None) -> dict:
    """What a view of :func:`campaign_tables` shows from ``scope`` (an agency code, or None
    for the whole campaign): ``own`` (the agencies of the scope), ``subtrees`` (roll-ups of
    the agencies with responding units below them), ``overall`` (the scope's roll-up, or
    the whole), ``visible`` (the scope's agencies, None for all)."""
    ancestors, members = tables["ancestors"], tables["members"]
    visible = None if scope is None else {
        code for code, chain in ancestors.items() if scope in chain}

    def within(frame):
        return frame if visible is None else frame[frame["agency_code"].isin(visible)]

    own = within(tables["own"]).reset_index(drop=True)
    rolled = {a for a, m in members.items() if m - {a}}
    full = tables["subtree"]
    subtrees = within(full[full["agency_code"].isin(rolled)]).reset_index(drop=True)
    if scope is not None:
        overall = full[full["agency_code"] == scope]
    elif tables["total"] is not None:
        overall = tables["total"]
    elif responding:
        overall = full[full["agency_code"] == ancestors[responding[0]][-1]]
    else:
        overall = None
    return {"own": own, "subtrees": subtrees, "visible": visible,
            "overall": None if overall is None else overall.reset_index(drop=True)}
