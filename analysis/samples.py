"""A bounded and reproducible sample of respondents per group for the bootstrap: kept
from streamed answers (:class:`RespondentSample`) or chosen from ids alone
(:class:`IdSample`), both ranking respondents by the same keyed hash."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

import numpy as np
import pandas as pd

from .bootstrap import bootstrap_indices
from .io import as_text, satisfaction_items, satisfaction_scores


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
