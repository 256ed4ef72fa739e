"""The (agency, item, score) tally as a count cube (:class:`TallyCounts`), checked, and
rolled up through the agency tree: what the indices are computed from."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .io import SCALE_MAX, TALLY_COLUMNS, ExportFormatError
from .kinds import SCORED


def _check_tally(tally: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in TALLY_COLUMNS if c not in tally.columns]
    if missing:
        raise ExportFormatError(f"tally: missing columns: {', '.join(missing)}")
    out = tally[TALLY_COLUMNS].copy()
    for column, high in (("score", SCALE_MAX), ("n", np.inf)):
        values = out[column]
        if pd.api.types.is_integer_dtype(values) and not pd.api.types.is_extension_array_dtype(
            values
        ):
            # Already whole numbers (the database's tally): only the range needs checking.
            if ((values < 0) | (values > high)).any():
                raise ExportFormatError(
                    f"tally: {column} must be a whole number from 0 to {high}"
                )
            continue
        values = pd.to_numeric(out[column], errors="coerce")
        if (values.isna() | (values % 1 != 0) | (values < 0) | (values > high)).any():
            raise ExportFormatError(f"tally: {column} must be a whole number from 0 to {high}")
        out[column] = values.astype("int64")
    if out["agency_code"].isna().any() or out["item_code"].isna().any():
        raise ExportFormatError("tally: empty agency_code or item_code")
    return out.astype({"agency_code": "str", "item_code": "str"})


def _scale_items(codebook: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The satisfaction items' codes and their element codes (codebook order), as text
    arrays: what :func:`satisfaction_items` gives, without building a frame."""
    satisfaction = codebook["type"].to_numpy(dtype=object) == SCORED
    items = codebook["item_code"].to_numpy(dtype=object)[satisfaction]
    elements = codebook["element_code"].to_numpy(dtype=object)[satisfaction]
    return (np.array([str(c) for c in items], dtype=object),
            np.array([str(c) for c in elements], dtype=object))


class TallyCounts:
    """The tally as one integer array: answers per agency x satisfaction item x score
    0..5 (0 = not applicable), ``counts[agency, item, score]``.

    Agencies are sorted codes, items the codebook's satisfaction items in codebook
    order. This is the form :func:`indices_table` computes from: a campaign of 150
    agencies and 19 items is an array of 17,100 integers whatever its number of
    responses, and every index is a handful of array operations on it.
    :func:`analysis.load.tally_counts` builds it straight from the database.
    """

    __slots__ = ("agencies", "items", "counts")

    def __init__(self, agencies, items, counts):
        self.agencies = np.asarray(agencies, dtype=object)
        self.items = np.asarray(items, dtype=object)
        self.counts = np.asarray(counts, dtype="int64")
        shape = (len(self.agencies), len(self.items), SCALE_MAX + 1)
        if self.counts.shape != shape:
            raise ValueError(f"counts must have shape {shape}, not {self.counts.shape}")
        if len(self.agencies) > 1 and not (self.agencies[1:] > self.agencies[:-1]).all():
            raise ValueError("agencies must be sorted and unique")

    def __len__(self) -> int:
        return len(self.agencies)

    @classmethod
    def from_frame(cls, tally: pd.DataFrame, codebook: pd.DataFrame, agency_codes=None):
        """From a tally DataFrame (``agency_code, item_code, score, n``). Rows of items
        that are not satisfaction items of ``codebook`` are left out; agencies are those
        of the tally plus ``agency_codes``."""
        items, _ = _scale_items(codebook)
        t = _check_tally(tally)
        agency = t["agency_code"].to_numpy(dtype=object)
        extra = {str(c) for c in agency_codes} if agency_codes is not None else set()
        codes = np.array(sorted(set(agency) | extra), dtype=object)
        agency_pos = pd.Index(codes).get_indexer(agency)
        item_pos = pd.Index(items).get_indexer(t["item_code"].to_numpy(dtype=object))
        keep = item_pos >= 0
        counts = np.zeros((len(codes), len(items), SCALE_MAX + 1), dtype="int64")
        np.add.at(counts, (agency_pos[keep], item_pos[keep], t["score"].to_numpy()[keep]),
                  t["n"].to_numpy()[keep])
        return cls(codes, items, counts)

    def to_frame(self) -> pd.DataFrame:
        """The tally DataFrame: rows with n > 0, sorted by agency, item code and score."""
        order = np.argsort(self.items, kind="stable")
        cube = self.counts[:, order, :]
        a, i, s = np.nonzero(cube)
        frame = pd.DataFrame({"agency_code": self.agencies[a], "item_code": self.items[order][i],
                              "score": s.astype("int64"), "n": cube[a, i, s]})
        return frame.astype({"agency_code": "str", "item_code": "str"})

    def with_items(self, items) -> TallyCounts:
        """The counts of ``items`` in that order (items it lacks count zero)."""
        items = np.asarray(items, dtype=object)
        if len(items) == len(self.items) and (items == self.items).all():
            return self
        pos = pd.Index(self.items).get_indexer(items)
        counts = np.zeros((len(self.agencies), len(items), SCALE_MAX + 1), dtype="int64")
        counts[:, pos >= 0] = self.counts[:, pos[pos >= 0]]
        return TallyCounts(self.agencies, items, counts)

    def with_agencies(self, codes) -> TallyCounts:
        """These counts plus a row of zeros for each of ``codes`` they lack, so that an
        agency whose responses left every satisfaction item empty still gets rows."""
        codes = {str(c) for c in codes} - set(self.agencies)
        if not codes:
            return self
        return self + TallyCounts(sorted(codes), self.items,
                                  np.zeros((len(codes), *self.counts.shape[1:]), dtype="int64"))

    def __add__(self, other: TallyCounts) -> TallyCounts:
        """Both tallies' answers together (say, the rounds of a year)."""
        other = other.with_items(self.items)
        codes = np.array(sorted(set(self.agencies) | set(other.agencies)), dtype=object)
        index = pd.Index(codes)
        counts = np.zeros((len(codes), *self.counts.shape[1:]), dtype="int64")
        counts[index.get_indexer(self.agencies)] += self.counts
        counts[index.get_indexer(other.agencies)] += other.counts
        return TallyCounts(codes, self.items, counts)

    def total(self, code: str) -> TallyCounts:
        """Every agency's answers counted under one code (e.g. a whole campaign)."""
        return TallyCounts([str(code)], self.items, self.counts.sum(axis=0, keepdims=True))

    def rollup(self, agencies: pd.DataFrame) -> TallyCounts:
        """The counts of each agency's whole subtree (itself included), for every agency
        of the tree; as :func:`rollup_tally`."""
        tree = _check_tree(agencies)
        codes = tree["code"].to_numpy(dtype=object)
        unknown = sorted(set(self.agencies) - set(codes))
        if unknown:
            raise ValueError(f"tally agencies not in the agency tree: {', '.join(unknown)}")
        agency_pos, ancestor_pos = _ancestor_positions(tree)
        order = np.argsort(codes, kind="stable")
        rank = np.empty(len(codes), dtype="int64")
        rank[order] = np.arange(len(codes))
        # Each tally agency's counts go to itself and every ancestor: one product with
        # the 0/1 (ancestor x agency) matrix. Whole numbers far below 2**53 stay exact
        # in floating point, which lets the product run in BLAS.
        source = pd.Index(self.agencies).get_indexer(codes[agency_pos])
        keep = source >= 0
        membership = np.zeros((len(codes), len(self.agencies)))
        membership[rank[ancestor_pos[keep]], source[keep]] = 1.0
        cell = self.counts.shape[1:]
        flat = self.counts.reshape(len(self.agencies), cell[0] * cell[1]).astype("float64")
        counts = np.rint(membership @ flat).astype("int64").reshape(len(codes), *cell)
        return TallyCounts(codes[order], self.items, counts)


def _check_tree(agencies: pd.DataFrame) -> pd.DataFrame:
    """The tree's ``code`` and ``parent_code`` as text (a missing parent marks a root and
    stays missing rather than becoming "nan"), checked: codes present and unique, every
    parent a code of the tree."""
    missing = [c for c in ("code", "parent_code") if c not in agencies.columns]
    if missing:
        raise ValueError(f"agencies: missing columns: {', '.join(missing)}")
    # Plain Python over a few hundred agencies: cheaper than a dozen pandas operations.
    codes = [None if pd.isna(c) else str(c) for c in agencies["code"].tolist()]
    parents = [None if pd.isna(c) else str(c) for c in agencies["parent_code"].tolist()]
    known = set(codes)
    if None in known or len(known) != len(codes):
        raise ValueError("agencies: code is empty or repeated")
    orphans = {p for p in parents if p is not None} - known
    if orphans:
        raise ValueError(f"agencies: unknown parent_code: {', '.join(sorted(orphans))}")
    return pd.DataFrame(
        {"code": np.array(codes, dtype=object), "parent_code": np.array(parents, dtype=object)}
    )


def _ancestor_positions(tree: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """``(agency, ancestor)`` row positions in ``tree`` for every agency and each of its
    ancestors, itself included: first every agency with itself, then with its parent,
    and so on up (so each agency's ancestors come nearest first)."""
    codes = tree["code"].to_numpy(dtype=object)
    parent = pd.Index(codes).get_indexer(tree["parent_code"].to_numpy(dtype=object))
    agency = np.arange(len(codes))
    current = agency
    agencies, ancestors = [agency], [current]
    # One step up the tree per pass for all agencies at once; a chain cannot be longer
    # than the number of agencies, so more passes than that means a cycle.
    for _ in range(len(codes) + 1):
        step = parent[current]
        keep = step >= 0
        agency, current = agency[keep], step[keep]
        if not len(current):
            break
        agencies.append(agency)
        ancestors.append(current)
    else:
        raise ValueError("agencies: parent_code links form a cycle")
    return np.concatenate(agencies), np.concatenate(ancestors)


def _ancestor_pairs(tree: pd.DataFrame) -> pd.DataFrame:
    """``(agency_code, ancestor)`` for every agency and each ancestor, itself included."""
    codes = tree["code"].to_numpy(dtype=object)
    agency, ancestor = _ancestor_positions(tree)
    return pd.DataFrame({"agency_code": codes[agency], "ancestor": codes[ancestor]})


def rollup_tally(tally: pd.DataFrame, agencies: pd.DataFrame) -> pd.DataFrame:
    """The tally summed over each agency's whole subtree (the agency itself included).

    Rows are keyed by the ancestor's code, so the root's rows count every answer in
    the province. Agencies of the tree without answers get no rows; tally agencies
    missing from the tree are an error (their answers would silently vanish).
    """
    tree = _check_tree(agencies)
    t = _check_tally(tally)
    unknown = set(t["agency_code"]) - set(tree["code"])
    if unknown:
        raise ValueError(f"tally agencies not in the agency tree: {', '.join(sorted(unknown))}")
    rolled = (
        t.merge(_ancestor_pairs(tree), on="agency_code")
        .groupby(["ancestor", "item_code", "score"], as_index=False)["n"]
        .sum()
        .rename(columns={"ancestor": "agency_code"})
    )
    return rolled[TALLY_COLUMNS]
