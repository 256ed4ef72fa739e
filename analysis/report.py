"""Building blocks for indices over a whole campaign: tallies summed over rounds and
groups, a bounded and reproducible sample of respondents per group for the bootstrap,
breakdown groups, and the wide per-agency summary that tables and reports show.

Pure pandas like the rest of the package. The application streams export-format
chunks (``analysis.load.iter_responses``) through :class:`RespondentSample`; a
notebook can do the same with ``pd.read_csv(..., chunksize=...)``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from .bootstrap import bootstrap_groups, bootstrap_indices
from .compare import breakdown_groups
from .counts import _ancestor_pairs, _check_tree
from .indices import SERVICE_CODE, indices_table
from .io import TALLY_COLUMNS, as_text, satisfaction_items, satisfaction_scores

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


class RespondentSample:
    """Respondents' satisfaction answers per group, at most ``cap`` per group, read a
    chunk at a time, for :func:`analysis.bootstrap_indices`.

    Groups belong to families (say "agency", "subtree", "channel") so that one pass
    over the responses serves several tables. A group of at most ``cap`` respondents is
    kept whole, in arrival order, so its bootstrap is exactly the one computed from an
    export. A larger group keeps the ``cap`` respondents with the smallest keyed hash
    of their ``response_id``: a simple random sample that depends only on the seed and
    the respondents, not on the chunking or on the other groups. Memory is bounded by
    the number of groups times ``cap``, whatever the number of responses.
    """

    def __init__(self, codebook: pd.DataFrame, cap: int | None = None, seed: int = 0):
        if cap is not None and cap < 1:
            raise ValueError("cap must be at least 1")
        self.codebook = codebook
        self.items = satisfaction_items(codebook)["item_code"].tolist()
        self.cap = cap
        self.seed = seed
        self._parts: list[pd.DataFrame] = []
        self._kept = 0
        self._buffered = 0
        self._seq = 0
        self._sizes: list[pd.Series] = []

    def add(self, responses: pd.DataFrame, groups: Mapping[str, pd.Series]) -> None:
        """Add a chunk. ``groups`` maps a family to a Series on the chunk's index giving
        each response's group: a value, a list of values, or missing (not in any)."""
        if responses.empty:
            return
        scores = satisfaction_scores(responses, self.codebook).astype("float32")
        base = scores.assign(
            _seq=np.arange(self._seq, self._seq + len(responses), dtype="int64"),
            _hash=sample_keys(responses["response_id"], self.seed),
        )
        self._seq += len(responses)
        for family, values in groups.items():
            frame = base.assign(group=values.reindex(responses.index)).explode("group")
            frame = frame.dropna(subset=["group"]).astype({"group": "str"})
            frame = frame[frame["group"].str.strip() != ""]
            if frame.empty:
                continue
            frame.insert(0, "family", family)
            self._sizes.append(frame.groupby(["family", "group"]).size())
            self._parts.append(frame)
            self._buffered += len(frame)
        if self.cap is not None and self._buffered > max(200_000, 2 * self._kept):
            self._trim()

    def _trim(self) -> None:
        if not self._parts:
            return
        frame = pd.concat(self._parts, ignore_index=True)
        if self.cap is not None:
            frame = (
                frame.sort_values(["family", "group", "_hash", "_seq"], kind="stable")
                .groupby(["family", "group"], sort=False)
                .head(self.cap)
            )
        self._parts = [frame]
        self._kept = self._buffered = len(frame)

    def sizes(self) -> pd.Series:
        """Respondents seen per (family, group), before any sampling."""
        if not self._sizes:
            return pd.Series([], dtype="int64")
        return pd.concat(self._sizes).groupby(level=[0, 1]).sum()

    def frame(self, family: str) -> pd.DataFrame:
        """The kept respondents of a family: ``group`` and the satisfaction items, each
        group's respondents in arrival order."""
        self._trim()
        columns = ["group", *self.items]
        if not self._parts:
            return pd.DataFrame(columns=columns)
        frame = self._parts[0]
        frame = frame[frame["family"] == family].sort_values(["group", "_seq"], kind="stable")
        return frame[columns].reset_index(drop=True)

    def capped(self) -> pd.DataFrame:
        """Groups that were sampled: ``family, group, sampled, total``."""
        sizes = self.sizes()
        if self.cap is None or sizes.empty:
            return pd.DataFrame(columns=["family", "group", "sampled", "total"])
        over = sizes[sizes > self.cap]
        return pd.DataFrame(
            {
                "family": [f for f, _ in over.index],
                "group": [g for _, g in over.index],
                "sampled": self.cap,
                "total": over.to_numpy(),
            }
        )

    def bootstrap(self, family: str, n_boot: int, seed: int = 0) -> pd.DataFrame | None:
        """:func:`analysis.bootstrap_indices` of the family's groups, keyed by
        ``agency_code`` for :func:`analysis.indices_table`; None if it has no respondents."""
        frame = self.frame(family)
        if frame.empty:
            return None
        boot = bootstrap_indices(frame, self.codebook, n_boot=n_boot, seed=seed, by="group")
        return boot.rename(columns={"group": "agency_code"})


def sample_keys(ids, seed: int = 0) -> np.ndarray:
    """The keyed hash :class:`RespondentSample` and :class:`IdSample` rank respondents by
    (each group keeps its ``cap`` smallest): a function of the seed and the response id
    alone, as unsigned 64-bit integers.

    Whole-number ids (the application's) go through the splitmix64 finaliser, a
    bijective mix of every bit, keyed by the seed; it costs a few nanoseconds an id, so
    choosing the sample of a campaign of millions does not wait on hashing. Other ids
    (text) are hashed as text with a key derived from the seed."""
    values = ids if isinstance(ids, pd.Series) else pd.Series(np.asarray(ids))
    key = hashlib.sha256(f"respondent-sample:{seed}".encode()).digest()
    if not pd.api.types.is_integer_dtype(values):
        # Ids read from an export file are text: "123" ranks as the database's 123.
        numbers = pd.to_numeric(values, errors="coerce")
        if numbers.notna().all() and (numbers % 1 == 0).all() and len(numbers):
            values = numbers.astype("int64")
    if pd.api.types.is_integer_dtype(values) and not values.isna().any():
        z = values.to_numpy(dtype="int64").view("uint64") ^ np.frombuffer(key[:8], "<u8")[0]
        with np.errstate(over="ignore"):
            z = z + np.uint64(0x9E3779B97F4A7C15)
            z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
            z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))
    text = as_text(values).fillna("")
    return pd.util.hash_pandas_object(text, index=False, hash_key=key.hex()[:16]).to_numpy()


class IdSample:
    """The respondents a :class:`RespondentSample` would keep, chosen from their ids and
    groups alone, so that only the chosen ones' answers need to be read.

    Fed a chunk of response ids at a time (any order), with each family's group of every
    response; ``seq`` gives the order in which a group's respondents are drawn from
    (their order in the export). A group of at most ``cap`` respondents keeps them all;
    a larger one the ``cap`` with the smallest :func:`sample_keys`. The same ids, groups
    and seed give the same respondents as :class:`RespondentSample`, whatever the
    chunking. Memory is bounded by the number of groups times ``cap``.
    """

    #: Candidates held per family before the groups are cut back to ``cap``.
    buffer = 200_000

    def __init__(self, cap: int | None = None, seed: int = 0):
        if cap is not None and cap < 1:
            raise ValueError("cap must be at least 1")
        self.cap = cap
        self.seed = seed
        self._labels: dict[str, dict] = {}
        self._parts: dict[str, list] = {}
        self._buffered: dict[str, int] = {}
        self._kept: dict[str, int] = {}
        self._sizes: dict[str, np.ndarray] = {}
        self._bound: dict[str, np.ndarray] = {}
        self._keyed: tuple | None = None  # (ids, their keys): a chunk is added per family
        self._untrimmed: set[str] = set()  # families added to since they were last cut

    def add(self, ids, seq, family: str, groups, rows=None) -> None:
        """Add a chunk: ``ids`` and ``seq`` (integers, one per response), and for the
        family, ``groups`` (one value per entry of ``rows``, positions in ``ids``; a
        response may be in several groups of a family or none)."""
        ids = np.asarray(ids, dtype="int64")
        seq = np.asarray(seq, dtype="int64")
        rows = np.arange(len(ids)) if rows is None else np.asarray(rows, dtype="int64")
        if not len(rows):
            return
        inverse, values = pd.factorize(np.asarray(groups, dtype=object))
        labels = self._labels.setdefault(family, {})
        known = np.array([labels.setdefault(str(v), len(labels)) for v in values], dtype="int64")
        label = known[inverse]
        sizes = np.bincount(label, minlength=len(labels))
        previous = self._sizes.get(family, np.zeros(0, dtype="int64"))
        sizes[: len(previous)] += previous
        self._sizes[family] = sizes
        if self._keyed is None or self._keyed[0] is not ids:
            self._keyed = (ids, sample_keys(ids, self.seed))
        keys = self._keyed[1][rows]
        seq, ids = seq[rows], ids[rows]
        # A group that already keeps cap respondents takes a newcomer only if its key is
        # no larger than the largest kept one: most of a big campaign stops here.
        bound = self._bound.get(family)
        if bound is not None:
            known = label < len(bound)
            room = ~known
            room[known] = keys[known] <= bound[label[known]]
            label, keys, seq, ids = label[room], keys[room], seq[room], ids[room]
        self._parts.setdefault(family, []).append((label, keys, seq, ids))
        self._untrimmed.add(family)
        self._buffered[family] = self._buffered.get(family, 0) + len(label)
        if self.cap is not None and self._buffered[family] > max(
            self.buffer, 2 * self._kept.get(family, 0)
        ):
            self._trim(family)

    def _settle(self, family: str) -> None:
        if family in self._untrimmed:
            self._trim(family)

    def _trim(self, family: str) -> None:
        self._untrimmed.discard(family)
        label, keys, seq, ids = (np.concatenate(p) for p in zip(*self._parts[family], strict=True))
        if self.cap is not None and len(label):
            order = np.lexsort((seq, keys, label))
            ranked = label[order]
            rank = np.arange(len(ranked)) - np.searchsorted(ranked, ranked, side="left")
            keep = order[rank < self.cap]
            label, keys, seq, ids = label[keep], keys[keep], seq[keep], ids[keep]
            groups = len(self._labels[family])
            full = np.bincount(label, minlength=groups) >= self.cap
            largest = np.zeros(groups, dtype="uint64")
            np.maximum.at(largest, label, keys)
            self._bound[family] = np.where(full, largest, np.iinfo("uint64").max)
        self._parts[family] = [(label, keys, seq, ids)]
        self._kept[family] = self._buffered[family] = len(label)

    def families(self) -> list[str]:
        return list(self._parts)

    def ids(self) -> np.ndarray:
        """Every kept respondent's id, sorted, once."""
        for family in self._parts:
            self._settle(family)
        kept = [self._parts[f][0][3] for f in self._parts]
        return np.unique(np.concatenate(kept)) if kept else np.zeros(0, dtype="int64")

    def groups(self, family: str, ids: np.ndarray) -> dict[str, np.ndarray]:
        """Each group's kept respondents as positions in ``ids`` (:meth:`ids`), in
        ``seq`` order."""
        if family not in self._parts:
            return {}
        self._settle(family)
        label, _, seq, chosen = self._parts[family][0]
        names = np.array(list(self._labels[family]), dtype=object)
        order = np.lexsort((seq, label))
        label, positions = label[order], np.searchsorted(ids, chosen[order])
        starts = np.flatnonzero(np.r_[True, label[1:] != label[:-1]]) if len(label) else []
        ends = [*starts[1:], len(label)]
        return {names[label[a]]: positions[a:b] for a, b in zip(starts, ends, strict=True)}

    def capped(self) -> pd.DataFrame:
        """Groups that were sampled: ``family, group, sampled, total``, as
        :meth:`RespondentSample.capped`."""
        rows = []
        if self.cap is not None:
            for family in sorted(self._sizes):
                names = list(self._labels[family])
                rows += [(family, names[k], self.cap, int(n))
                         for k, n in enumerate(self._sizes[family]) if n > self.cap]
        rows.sort()
        return pd.DataFrame(rows, columns=["family", "group", "sampled", "total"])


def export_seq(ids, campaign_index: int) -> np.ndarray:
    """The order in which respondents are drawn from (:class:`IdSample`'s ``seq``): the
    export's, a campaign's responses by id, one campaign of a selection after another."""
    return np.asarray(ids, dtype="int64") + (int(campaign_index) << 40)


def family_intervals(sample: IdSample, answers, codebook: pd.DataFrame, n_boot: int,
                     seed: int) -> dict[str, pd.DataFrame]:
    """Element and service intervals of every family of ``sample`` by respondent
    bootstrap (:func:`analysis.bootstrap_groups`), keyed by ``agency_code``.
    ``answers(ids)`` gives the satisfaction answers of the chosen respondents (sorted ids,
    one row each, NaN = no 1..5 answer): read from the database by the application, from
    an audit bundle's ledger by the auditor."""
    chosen = sample.ids()
    scores = answers(chosen)
    elements = satisfaction_items(codebook)["element_code"].astype("str").to_numpy()
    out = {}
    for family in sample.families():
        groups = sample.groups(family, chosen)
        if groups:
            out[family] = bootstrap_groups(scores, groups, elements, n_boot=n_boot,
                                           seed=seed).rename(columns={"group": "agency_code"})
    return out


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
                    n_boot: int, seed: int, cap: int | None, id_chunks, answers) -> dict:
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
    auditor's ``verify --report`` from an audit bundle's ledger: one computation."""
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
        pooled_of = {c: [a for a in ancestors[c] if a in pooled] for c in responding}
        sample = IdSample(cap=cap, seed=seed)
        for k, ids, agencies in id_chunks():
            _add_families(sample, ids, export_seq(ids, k), agencies,
                          pooled_of if pooled else None, several_roots)
        intervals = family_intervals(sample, answers, codebook, n_boot, seed)
        capped = sample.capped()

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
