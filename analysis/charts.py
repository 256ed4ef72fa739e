"""Charts of satisfaction indices, drawn on a matplotlib ``Axes`` the caller owns.

Only the object-oriented ``Figure`` API is used, never ``pyplot``: pyplot keeps
global state and a GUI backend, which a web server must not have. Each plotting
function takes data and an ``Axes`` and returns the ``Axes``; :func:`new_axes` and
:func:`render` make a figure and turn it into PNG or SVG bytes.

Labels are Vietnamese. Matplotlib's default font, DejaVu Sans, has every
precomposed Vietnamese letter; text is normalised to that precomposed form (NFC) so
that decomposed input does not render as stacked combining marks.

Numbers (tick labels, values written on the chart) are written by ``number``, a
function ``(value, digits) -> str`` every plotting function takes: the application
passes its own, Vietnamese with a decimal comma; the default writes a decimal point.
"""

from __future__ import annotations

import io
import textwrap
import unicodedata
from collections.abc import Callable

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

__all__ = [
    "LIKERT_LABELS_VI",
    "plain_number",
    "new_axes",
    "plot_heatmap",
    "plot_likert",
    "plot_ranking",
    "plot_trend",
    "render",
]

LIKERT_LABELS_VI = (
    "Rất không hài lòng",
    "Không hài lòng",
    "Bình thường",
    "Hài lòng",
    "Rất hài lòng",
)
INDEX_LABEL = "Chỉ số hài lòng (%)"
_RANKED_COLOR = "#2b6cb0"

#: How a chart writes a number: (value, decimals) -> text.
NumberFormat = Callable[[float, int], str]


def plain_number(value: float, digits: int) -> str:
    """The default ``number``: a decimal point, no thousands separator."""
    return f"{value:.{digits}f}"


def _ticks(number: NumberFormat, suffix: str = "", absolute: bool = False) -> FuncFormatter:
    return FuncFormatter(lambda value, _: number(abs(value) if absolute else value, 0) + suffix)
_UNRANKED_COLOR = "#a0aec0"


def _text(value, width: int | None = None) -> str:
    text = unicodedata.normalize("NFC", str(value))
    return textwrap.fill(text, width) if width else text


def _names(codes, names) -> list[str]:
    names = names or {}
    return [_text(names.get(code, code), 40) for code in codes]


def new_axes(figsize=(8, 5)) -> Axes:
    """A fresh ``Axes`` on its own ``Figure`` (reach the figure as ``ax.figure``)."""
    return Figure(figsize=figsize, layout="constrained").add_subplot()


def render(fig: Figure, fmt: str = "png", dpi: int = 100, footer: str | None = None) -> bytes:
    """The figure as PNG or SVG bytes. ``footer``: a small line under the chart, also kept
    as the file's description (its text, where a program can read it)."""
    if fmt not in ("png", "svg"):
        raise ValueError(f"unsupported format {fmt!r}: use 'png' or 'svg'")
    # No creation time in the file: a published chart carries no time finer than a day,
    # and the same figure gives the same bytes.
    metadata = {"Date": None} if fmt == "svg" else {}
    if footer:
        fig.supxlabel(footer, fontsize=6, color="#555555")
        metadata["Description"] = footer
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, dpi=dpi, metadata=metadata)
    return buffer.getvalue()


def plot_ranking(
    ranking: pd.DataFrame,
    ax: Axes,
    *,
    names: dict | None = None,
    title: str | None = None,
    number: NumberFormat = plain_number,
) -> Axes:
    """Horizontal bars of an index per agency with their interval, first row on top.

    ``ranking`` has ``agency_code, index, ci_low, ci_high`` and optionally ``ranked``
    (a :func:`analysis.rank_agencies` result): unranked agencies are greyed and
    marked, since their index rests on too few answers. ``names`` maps codes to the
    labels to show.
    """
    y = np.arange(len(ranking))
    index = ranking["index"].to_numpy(dtype="float64", na_value=np.nan)
    ranked = (
        ranking["ranked"].to_numpy(dtype=bool)
        if "ranked" in ranking
        else np.ones(len(ranking), bool)
    )
    ax.barh(y, np.nan_to_num(index), color=np.where(ranked, _RANKED_COLOR, _UNRANKED_COLOR))
    low = ranking["ci_low"].to_numpy(dtype="float64", na_value=np.nan)
    high = ranking["ci_high"].to_numpy(dtype="float64", na_value=np.nan)
    shown = ~np.isnan(index) & ~np.isnan(low) & ~np.isnan(high)
    if shown.any():
        ax.errorbar(
            index[shown],
            y[shown],
            # A one-respondent group's bootstrap interval is its index, computed by other
            # arithmetic: rounding residue must not make a bar negative (matplotlib refuses).
            xerr=[np.maximum(index[shown] - low[shown], 0.0),
                  np.maximum(high[shown] - index[shown], 0.0)],
            fmt="none",
            ecolor="black",
            capsize=3,
        )
    labels = _names(ranking["agency_code"], names)
    labels = [
        label if ok else f"{label} (ít phiếu)" for label, ok in zip(labels, ranked, strict=True)
    ]
    ax.set_yticks(y, labels=labels)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.xaxis.set_major_formatter(_ticks(number))
    ax.set_xlabel(INDEX_LABEL)
    if title:
        ax.set_title(_text(title))
    return ax


def plot_heatmap(
    indices: pd.DataFrame,
    ax: Axes,
    *,
    elements=None,
    names: dict | None = None,
    title: str | None = None,
    number: NumberFormat = plain_number,
) -> Axes:
    """Element x agency grid of element indices with the values written in the cells.

    ``indices`` is an :func:`analysis.indices_table` (its element rows are used).
    ``elements`` gives the column order, as a list of codes or a dict code -> label
    (default: order of appearance); ``names`` maps agency codes to row labels.
    """
    rows = indices[indices["level"] == "element"]
    grid = rows.pivot(index="agency_code", columns="code", values="index")
    order = list(elements) if elements is not None else list(dict.fromkeys(rows["code"]))
    grid = grid.reindex(columns=order)
    values = grid.to_numpy(dtype="float64", na_value=np.nan)
    finite = values[~np.isnan(values)]
    low = min(50.0, float(finite.min())) if finite.size else 50.0
    cmap = matplotlib.colormaps["RdYlGn"]
    image = ax.imshow(np.ma.masked_invalid(values), cmap=cmap, vmin=low, vmax=100, aspect="auto")
    for (i, j), value in np.ndenumerate(values):
        if np.isnan(value):
            ax.text(j, i, "–", ha="center", va="center", color="black")
            continue
        red, green, blue, _ = cmap((value - low) / (100 - low))
        dark = 0.299 * red + 0.587 * green + 0.114 * blue < 0.5
        ax.text(j, i, number(value, 1), ha="center", va="center",
                color="white" if dark else "black")
    column_labels = [elements[c] for c in order] if isinstance(elements, dict) else order
    ax.set_xticks(np.arange(len(order)), labels=[_text(c, 20) for c in column_labels])
    ax.set_yticks(np.arange(len(grid.index)), labels=_names(grid.index, names))
    ax.figure.colorbar(image, ax=ax, label=INDEX_LABEL, format=_ticks(number))
    if title:
        ax.set_title(_text(title))
    return ax


def plot_trend(
    trend: pd.DataFrame,
    ax: Axes,
    *,
    title: str | None = None,
    number: NumberFormat = plain_number,
) -> Axes:
    """One agency's index across campaigns, in the order of the rows.

    ``trend`` has ``campaign`` and ``index`` and optionally ``ci_low, ci_high``,
    drawn as a band. Campaign labels go on the x axis.
    """
    x = np.arange(len(trend))
    index = trend["index"].to_numpy(dtype="float64", na_value=np.nan)
    if {"ci_low", "ci_high"} <= set(trend.columns):
        low = trend["ci_low"].to_numpy(dtype="float64", na_value=np.nan)
        high = trend["ci_high"].to_numpy(dtype="float64", na_value=np.nan)
        band = ~np.isnan(low) & ~np.isnan(high)
        if band.any():
            # where= rather than dropping rows, so a campaign without an interval
            # leaves a gap instead of being bridged.
            ax.fill_between(
                x,
                np.where(band, low, 0),
                np.where(band, high, 0),
                where=band,
                alpha=0.2,
                color=_RANKED_COLOR,
                linewidth=0,
            )
    ax.plot(x, index, marker="o", color=_RANKED_COLOR)
    for xi, value in zip(x, index, strict=True):
        if not np.isnan(value):
            ax.annotate(
                number(value, 1), (xi, value), textcoords="offset points", xytext=(0, 7),
                ha="center"
            )
    ax.set_xticks(x, labels=[_text(c, 15) for c in trend["campaign"]])
    ax.set_ylim(0, 100)
    ax.yaxis.set_major_formatter(_ticks(number))
    ax.set_ylabel(INDEX_LABEL)
    if title:
        ax.set_title(_text(title))
    return ax


def plot_likert(
    distribution: pd.DataFrame,
    ax: Axes,
    *,
    labels: dict | None = None,
    title: str | None = None,
    number: NumberFormat = plain_number,
) -> Axes:
    """Diverging stacked bars of the answers per item, the usual Likert chart.

    ``distribution`` has items as rows and scores 1..5 as columns, in percent (an
    :func:`analysis.answer_distribution`). Answers 1-2 extend left of zero, 3 is
    centred on zero and 4-5 extend right, so an item's bar sits as far right as
    its satisfaction. ``labels`` maps item codes to the text to show.
    """
    shares = distribution.reindex(columns=range(1, 6)).fillna(0.0).to_numpy(dtype="float64")
    y = np.arange(len(shares))
    left = -(shares[:, 0] + shares[:, 1] + shares[:, 2] / 2)
    colors = matplotlib.colormaps["RdBu"](np.linspace(0.1, 0.9, 5))
    colors[2] = (0.82, 0.82, 0.82, 1.0)  # the palette's own midpoint is near-white
    for k in range(5):
        ax.barh(
            y,
            shares[:, k],
            left=left,
            color=colors[k],
            label=LIKERT_LABELS_VI[k],
            edgecolor="white",
        )
        left = left + shares[:, k]
    ax.axvline(0, color="black", linewidth=0.8)
    # Symmetric axis, so that zero (the middle of "Bình thường") stays in the centre.
    reach = float(np.abs(np.concatenate([left, left - shares.sum(axis=1)])).max(initial=0))
    extent = max(50.0, 10 * np.ceil(reach / 10 + 0.05))
    ax.set_xlim(-extent, extent)
    ax.xaxis.set_major_formatter(_ticks(number, "%", absolute=True))
    ax.set_yticks(y, labels=_names(distribution.index, labels))
    ax.invert_yaxis()
    ax.legend(
        ncols=3, loc="upper center", bbox_to_anchor=(0.5, -0.08), frameon=False, fontsize="small"
    )
    if title:
        ax.set_title(_text(title))
    return ax
