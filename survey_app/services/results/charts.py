"""The results' charts as PNG or SVG bytes, with Vietnamese labels (Figure API, never
pyplot)."""

from __future__ import annotations

import pandas as pd
from flask_babel import gettext as _

import analysis

from .. import ServiceError
from ..formatting import number  # the one number format (decimal comma)
from .indices import Results

CHART_KINDS = ("ranking", "heatmap", "likert", "trend")


# --- charts ---------------------------------------------------------------------------------

CHART_TITLES = {
    "ranking": "Chỉ số hài lòng về sự phục vụ hành chính theo cơ quan",
    "heatmap": "Chỉ số theo yếu tố và cơ quan (%)",
    "likert": "Tỷ lệ các mức đánh giá theo tiêu chí",
    "trend": "Diễn biến chỉ số hài lòng qua các đợt",
}


def _placeholder(text: str = "Chưa có dữ liệu"):
    from analysis import charts

    ax = charts.new_axes((6, 1.2))
    ax.text(0.5, 0.5, text, ha="center", va="center", fontsize=12, color="#555555")
    ax.set_axis_off()
    return ax


def chart(kind: str, results: Results, fmt: str = "png", *,
          trend_data: pd.DataFrame | None = None, dpi: int = 100) -> bytes:
    """One chart as PNG or SVG bytes, with Vietnamese labels (Figure API, never pyplot)."""
    from analysis import charts

    if kind not in CHART_KINDS:
        raise ServiceError(_("Không có biểu đồ '%(kind)s'.", kind=kind))
    elements = {code: name for code, name in results.elements}
    if kind == "ranking":
        data = results.ranking
        if data.empty:
            ax = _placeholder()
        else:
            names = {row.agency_code: f"{results.name(row.agency_code)} (n={row.n})"
                     for row in data.itertuples()}
            ax = charts.plot_ranking(data, charts.new_axes((8, 1.4 + 0.32 * len(data))),
                                     names=names, title=CHART_TITLES[kind], number=number)
    elif kind == "heatmap":
        table = results.agencies[results.agencies["agency_code"].isin(
            results.ranking["agency_code"])]
        if results.ranking.empty or not table["index"].notna().any():
            ax = _placeholder()
        else:
            rows = len(results.ranking)
            ax = charts.plot_heatmap(table, charts.new_axes((12, 1.8 + 0.34 * rows)),
                                     elements=elements, names=results.names,
                                     title=CHART_TITLES[kind], number=number)
    elif kind == "likert":
        shares = analysis.answer_distribution(results.tally, results.codebook)
        if results.tally.empty or not shares.notna().any().any():
            ax = _placeholder()
        else:
            labels = {i["code"]: f"{i['code']}. {i['text']}" for i in results.items}
            ax = charts.plot_likert(shares, charts.new_axes((9, 2.2 + 0.42 * len(shares))),
                                    labels=labels, title=CHART_TITLES[kind], number=number)
    else:
        data = trend_data if trend_data is not None else pd.DataFrame()
        if data.empty:
            ax = _placeholder()
        else:
            ax = charts.plot_trend(data, charts.new_axes((8, 4)),
                                   title=f"{CHART_TITLES[kind]} — {results.scope_name}", number=number)
    footer = results.statement.short() if results.checkpoints else None
    return charts.render(ax.figure, fmt, dpi=dpi, footer=footer)
