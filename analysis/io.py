"""The export format: read ``responses.csv`` and ``codebook.csv``, check them, and
turn responses into the (agency, item, score) tally the index functions work on.

This is the only module of the package that touches files; everything else takes
and returns DataFrames.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from . import kinds
from .errors import InputError
from .kinds import PRIORITY, SCALES, SCORED
from .messages import say

__all__ = [
    "CHANNELS",
    "CODEBOOK_COLUMNS",
    "ExportFormatError",
    "META_COLUMNS",
    "REVIEW_STATES",
    "SCALE_MAX",
    "SCALE_MIN",
    "TALLY_COLUMNS",
    "as_text",
    "choice_labels",
    "read_codebook",
    "read_export",
    "read_indices",
    "read_responses",
    "satisfaction_items",
    "satisfaction_scores",
    "tally_from_responses",
]

META_COLUMNS = ["response_id", "campaign", "agency_code", "channel", "submitted_at", "review_state"]
CODEBOOK_COLUMNS = [
    "item_code",
    "element_code",
    "element_name",
    "type",
    "scale_min",
    "scale_max",
    "text_vi",
    "text_en",
    "choices",
]
TALLY_COLUMNS = ["agency_code", "item_code", "score", "n"]
CHANNELS = frozenset(kinds.CHANNELS)
REVIEW_STATES = frozenset({"received", "approved", "has_issues", "rejected"})
# The SIPAS answer scale; the index definition ("4 or 5 is satisfied") depends on it,
# so a codebook announcing another scale is refused rather than silently misread.
SCALE_MIN, SCALE_MAX = SCALES[SCORED]
PRIORITY_MIN, PRIORITY_MAX = SCALES[PRIORITY]


class ExportFormatError(InputError):
    """An export file or frame does not follow the documented format."""


def as_text(values: pd.Series) -> pd.Series:
    """Values as strings with missing values kept missing (codes read as numbers, say).

    ``astype(str)`` alone is not enough: pandas 2 turns a missing value into "nan".
    """
    return values.astype("str").where(values.notna())


def _read_csv(path: str | os.PathLike) -> pd.DataFrame:
    # Everything is read as text and only the empty cell counts as missing: a comment
    # reading "NA" or an agency code "NULL" must survive as written.
    try:
        return pd.read_csv(
            path,
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            encoding="utf-8-sig",  # tolerate the BOM that spreadsheet programs add
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ExportFormatError(say("io.unreadable_csv", path=path, reason=exc)) from exc


def _require_columns(frame: pd.DataFrame, columns, what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ExportFormatError(say("io.missing_columns", what=what, columns=", ".join(missing)))


def _check_codebook(codebook: pd.DataFrame, what: str = "codebook") -> pd.DataFrame:
    _require_columns(codebook, CODEBOOK_COLUMNS, what)
    out = codebook.copy()
    for column in ("scale_min", "scale_max"):
        numbers = pd.to_numeric(out[column], errors="coerce")
        bad = out[column].notna() & (numbers.isna() | (numbers % 1 != 0))
        if bad.any():
            raise ExportFormatError(say("io.item_not_integer", what=what, column=column,
                                        item=out.loc[bad, "item_code"].iloc[0]))
        out[column] = numbers.astype("Int64")
    if out["item_code"].isna().any():
        raise ExportFormatError(say("io.empty_item", what=what))
    duplicated = out["item_code"][out["item_code"].duplicated()]
    if not duplicated.empty:
        raise ExportFormatError(say("io.duplicate_item", what=what, item=duplicated.iloc[0]))
    sat = out[out["type"] == SCORED]
    if sat["element_code"].isna().any():
        raise ExportFormatError(say("io.no_element", what=what))
    wrong_scale = sat[(sat["scale_min"] != SCALE_MIN) | (sat["scale_max"] != SCALE_MAX)]
    if not wrong_scale.empty:
        raise ExportFormatError(say("io.scale", what=what, item=wrong_scale["item_code"].iloc[0],
                                    low=SCALE_MIN, high=SCALE_MAX))
    return out


def read_codebook(path: str | os.PathLike) -> pd.DataFrame:
    """Read ``codebook.csv``: text columns as strings, scale bounds as ``Int64``."""
    return _check_codebook(_read_csv(path), what=str(path))


def satisfaction_items(codebook: pd.DataFrame) -> pd.DataFrame:
    """The satisfaction items of a codebook, in codebook order, with their element.

    Only these items count in indices.
    """
    items = codebook.loc[
        codebook["type"] == SCORED, ["item_code", "element_code", "element_name"]
    ]
    return items.reset_index(drop=True)


def _coerce_integers(
    values: pd.Series, low: int, high: int, column: str, ids: pd.Series
) -> pd.Series:
    """Integer answers in [low, high] as ``Int64``; empty stays missing, anything else is an error."""
    numbers = pd.to_numeric(values, errors="coerce")
    given = values.notna()
    bad = given & (numbers.isna() | (numbers % 1 != 0) | (numbers < low) | (numbers > high))
    if bad.any():
        where = bad.to_numpy().nonzero()[0][0]
        raise ExportFormatError(say("io.value", column=column, value=values.iloc[where],
                                    rid=ids.iloc[where], low=low, high=high))
    return numbers.astype("Int64")


def satisfaction_scores(responses: pd.DataFrame, codebook: pd.DataFrame) -> pd.DataFrame:
    """One float column per satisfaction item (NaN = not answered), checked to be 1..5.

    Accepts responses read with or without a codebook (text or numbers).
    """
    items = satisfaction_items(codebook)["item_code"].tolist()
    _require_columns(responses, items, "responses")
    ids = responses["response_id"] if "response_id" in responses else pd.Series(responses.index)
    scores = {
        code: _coerce_integers(responses[code], SCALE_MIN, SCALE_MAX, code, ids).astype("float64")
        for code in items
    }
    return pd.DataFrame(scores, index=responses.index, columns=items)


def _parse_times(values: pd.Series) -> pd.Series:
    try:
        return pd.to_datetime(values, format="ISO8601")
    except ValueError:
        # Mixed UTC offsets (e.g. a server change) cannot share one naive column.
        try:
            return pd.to_datetime(values, format="ISO8601", utc=True)
        except ValueError as exc:
            raise ExportFormatError(say("io.times", reason=exc)) from exc


def _type_responses(responses: pd.DataFrame, codebook: pd.DataFrame, what: str) -> pd.DataFrame:
    _require_columns(responses, META_COLUMNS, what)
    if responses["response_id"].isna().any() or responses["response_id"].duplicated().any():
        raise ExportFormatError(say("io.ids", what=what))
    if responses["agency_code"].isna().any():
        raise ExportFormatError(say("io.empty_agency", what=what))
    for column, allowed in (("channel", CHANNELS), ("review_state", REVIEW_STATES)):
        unknown = set(responses[column].dropna()) - allowed
        if unknown or responses[column].isna().any():
            shown = ", ".join(sorted(unknown)) or say("report.empty")
            raise ExportFormatError(say("io.unknown_values", what=what, column=column,
                                        shown=shown))
    items = satisfaction_items(codebook)["item_code"].tolist()
    _require_columns(responses, items, what)

    out = responses.copy()
    out["submitted_at"] = _parse_times(out["submitted_at"])
    out[items] = satisfaction_scores(out, codebook).astype("Int64")
    ids = out["response_id"]
    for code in codebook.loc[codebook["type"] == PRIORITY, "item_code"]:
        if code in out:
            out[code] = _coerce_integers(out[code], PRIORITY_MIN, PRIORITY_MAX, code, ids)
    return out


def read_responses(path: str | os.PathLike, codebook: pd.DataFrame | None = None) -> pd.DataFrame:
    """Read ``responses.csv``.

    Without a codebook every column stays text (agency codes, choice codes and
    answers as written). With one, the file is checked against it and typed:
    satisfaction and priority answers become ``Int64`` (missing = ``<NA>``),
    ``submitted_at`` a datetime.
    """
    responses = _read_csv(path)
    if codebook is None:
        _require_columns(responses, META_COLUMNS, str(path))
        return responses
    return _type_responses(responses, codebook, str(path))


def read_export(directory: str | os.PathLike) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read an export directory: ``(responses, codebook)``, responses typed by the codebook."""
    directory = Path(directory)
    codebook = read_codebook(directory / "codebook.csv")
    return read_responses(directory / "responses.csv", codebook), codebook


def read_indices(path) -> pd.DataFrame:
    """Read an indices CSV (``python -m analysis indices``, or the results page's
    indices.csv) as text, skipping the comment lines ("# …") at its top that state the
    ledger checkpoint and the method (:mod:`analysis.statement`)."""
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""],
                            encoding="utf-8-sig", comment="#")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ExportFormatError(say("io.unreadable_csv", path=path, reason=exc)) from exc
    _require_columns(table, ["agency_code", "level", "code", "n", "index"], str(path))
    return table


def choice_labels(codebook: pd.DataFrame, item_code: str) -> dict[str, str]:
    """``{choice code: Vietnamese label}`` of a choice item (``"1=Nam|2=Nữ"``)."""
    row = codebook.loc[codebook["item_code"] == item_code, "choices"]
    if row.empty or pd.isna(row.iloc[0]):
        return {}
    pairs = (part.split("=", 1) for part in str(row.iloc[0]).split("|") if part)
    return {code.strip(): label.strip() for code, label in pairs}


def tally_from_responses(responses: pd.DataFrame, codebook: pd.DataFrame) -> pd.DataFrame:
    """Count answers per ``agency_code, item_code, score`` (scores 1..5).

    The tally has the same columns as the one the application keeps, and covers
    every agency present in ``responses`` and every satisfaction item, with zero
    counts included, so an agency whose forms left every item empty still shows up.
    An empty cell is not counted at all: the export cannot tell "not applicable"
    (score 0 in the application's tally) from "unanswered", and both are left out of
    the denominator, which gives the same index.
    """
    _require_columns(responses, ["agency_code"], "responses")
    if responses["agency_code"].isna().any():
        raise ExportFormatError(say("io.empty_agency", what="responses"))
    scores = satisfaction_scores(responses, codebook)
    agencies = responses["agency_code"].astype(str)
    long = (
        scores.assign(agency_code=agencies)
        .melt(id_vars="agency_code", var_name="item_code", value_name="score")
        .dropna(subset=["score"])
    )
    counts = long.groupby(["agency_code", "item_code", "score"]).size()
    grid = pd.MultiIndex.from_product(
        [
            sorted(agencies.unique()),
            scores.columns,
            np.arange(SCALE_MIN, SCALE_MAX + 1, dtype="float64"),
        ],
        names=["agency_code", "item_code", "score"],
    )
    tally = counts.reindex(grid, fill_value=0).rename("n").reset_index()
    return tally.astype({"agency_code": "str", "item_code": "str", "score": "int64", "n": "int64"})
