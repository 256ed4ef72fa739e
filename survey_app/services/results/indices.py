""":class:`Results`: the indices of one campaign (or several summed) as seen from one
scope (the whole province or an agency's subtree), as pages, reports and files show them."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
from flask_babel import gettext as _

import analysis
from analysis import report as rep
from analysis.kinds import CHANNEL_NAMES
from analysis.statement import Statement

from ...questions import names_where
from .. import ServiceError
from .compute import _Full

#: The code under which a whole campaign is counted when its agencies have several roots.
ALL_CODE = rep.ALL_CODE
ALL_NAME = "Toàn bộ đợt khảo sát"

#: The report's channel columns (Vietnamese, like the whole report).
CHANNEL_LABELS = CHANNEL_NAMES


# --- the results as a page or a report shows them -------------------------------------------

def _empty_table() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series([], dtype="float64") for c in analysis.TABLE_COLUMNS}) \
        .astype({"agency_code": "str", "level": "str", "code": "str", "n": "int64"})


@dataclass
class Results:
    """Indices of one campaign (or several summed) as seen from one scope.

    ``agencies`` is the per-agency table of :func:`analysis.indices_table` (each
    agency's own responses): exactly what ``python -m analysis indices`` computes
    from the export. ``subtrees`` rolls each agency's subtree up (for agencies with
    responding units below them); ``overall`` is the whole scope, under the scope's
    code (or ``*`` for a campaign whose agencies have several roots).
    """

    campaigns: tuple
    scope: str | None
    scope_name: str
    exclude_rejected: bool
    bootstrap: int
    seed: int
    cap: int | None
    bootstrap_skipped: bool
    codebook: pd.DataFrame
    names: dict
    agencies: pd.DataFrame
    subtrees: pd.DataFrame
    overall: pd.DataFrame
    ranking: pd.DataFrame
    channels: pd.DataFrame
    tally: pd.DataFrame
    capped: pd.DataFrame
    summary: pd.DataFrame = field(default=None)
    subtree_summary: pd.DataFrame = field(default=None)
    overall_summary: pd.DataFrame = field(default=None)
    #: the ledger state of each campaign the figures were computed at
    checkpoints: tuple = ()

    def __post_init__(self):
        self.summary = rep.summary_table(self.agencies, self.codebook, self.ranking)
        self.subtree_summary = rep.summary_table(self.subtrees, self.codebook)
        self.overall_summary = rep.summary_table(self.overall, self.codebook)

    @property
    def combined(self) -> bool:
        return len(self.campaigns) > 1

    @property
    def title(self) -> str:
        if self.combined:
            return "Tổng hợp " + ", ".join(c["name"] for c in self.campaigns)
        return self.campaigns[0]["name"]

    @property
    def elements(self) -> list[tuple[str, str]]:
        items = analysis.satisfaction_items(self.codebook)
        return list(dict.fromkeys(zip(items["element_code"], items["element_name"],
                                      strict=True)))

    @property
    def items(self) -> list[dict]:
        book = self.codebook[self.codebook["type"].isin(names_where("scored"))]
        return [{"code": r.item_code, "element": r.element_code, "text": r.text_vi}
                for r in book.itertuples()]

    @property
    def responses(self) -> int:
        return int(self.channels["n"].sum())

    @property
    def rejected(self) -> int:
        return int(self.channels["rejected"].sum())

    @property
    def counted(self) -> int:
        return self.responses - (self.rejected if self.exclude_rejected else 0)

    def channel_table(self) -> pd.DataFrame:
        """Responses per agency (rows, ranked order first) and channel (columns), with
        a total column; counts include rejected responses (shown separately)."""
        if self.channels.empty:
            return pd.DataFrame(columns=["agency_code", *CHANNEL_LABELS, "total", "rejected"])
        wide = self.channels.pivot_table(index="agency_code", columns="channel", values="n",
                                         aggfunc="sum", fill_value=0)
        wide = wide.reindex(columns=list(CHANNEL_LABELS), fill_value=0)
        wide = wide.assign(total=wide.sum(axis=1),
                           rejected=self.channels.groupby("agency_code")["rejected"].sum())
        return wide.reset_index()

    def channel_totals(self) -> dict[str, int]:
        """Responses received per channel over the scope (rejected ones included)."""
        totals = self.channels.groupby("channel")["n"].sum()
        return {code: int(totals.get(code, 0)) for code in CHANNEL_LABELS}

    def criteria(self, agency_code: str | None = None) -> pd.DataFrame:
        """Criterion rows (with item text) of one agency's own table, or of the whole scope."""
        table = self.overall if agency_code is None else \
            self.agencies[self.agencies["agency_code"] == agency_code]
        rows = table[table["level"] == "criterion"]
        book = self.codebook.reset_index(drop=True)
        position = pd.Series(book.index, index=book["item_code"])
        rows = rows.assign(
            text=rows["code"].map(book.set_index("item_code")["text_vi"]),
            element=rows["code"].map(book.set_index("item_code")["element_code"]),
            _order=rows["code"].map(position))
        return rows.sort_values("_order", kind="stable").drop(columns="_order")

    def element_rows(self, table: pd.DataFrame | None = None) -> pd.DataFrame:
        """Element rows (questionnaire order) and the service row of a table (the scope's
        by default), with the element names."""
        table = self.overall if table is None else table
        names = dict(self.elements)
        order = {code: i for i, code in enumerate([*names, analysis.SERVICE_CODE])}
        rows = table[table["level"].isin(("element", "service"))]
        return rows.assign(
            name=rows["code"].map(lambda c: names.get(c, "Chỉ số chung (SIPAS)")),
            _order=rows["code"].map(order)).sort_values("_order", kind="stable").drop(
                columns="_order")

    def distribution(self) -> pd.DataFrame:
        """Answers 1..5 per item over the scope: counts and shares (percent)."""
        counts = self.tally[self.tally["score"] >= 0].pivot_table(
            index="item_code", columns="score", values="n", aggfunc="sum", fill_value=0)
        items = analysis.satisfaction_items(self.codebook)["item_code"]
        return counts.reindex(index=items, columns=range(0, 6), fill_value=0)

    def name(self, code: str) -> str:
        return self.names.get(code, code)

    @property
    def statement(self) -> Statement:
        """The ledger checkpoint(s) and the method settings every published form of these
        results states (:mod:`analysis.statement`)."""
        return Statement(checkpoints=tuple(self.checkpoints), bootstrap=self.bootstrap,
                         seed=self.seed, cap=self.cap, exclude_rejected=self.exclude_rejected)

    def statement_lines(self) -> list[str]:
        return self.statement.lines()


def _scope_code(agency) -> str | None:
    if agency is None:
        return None
    return agency if isinstance(agency, str) else agency.code


def _view(full: _Full, scope: str | None, exclude_rejected: bool, bootstrap: int, seed: int,
          cap: int | None, skipped: bool = False) -> Results:
    names = dict(zip(full.tree["code"], full.tree["name"], strict=True))
    names[ALL_CODE] = ALL_NAME
    if scope is not None and scope not in full.ancestors:
        raise ServiceError(_("Không có cơ quan mã '%(code)s'.", code=scope))
    view = rep.scope_tables({"ancestors": full.ancestors, "members": full.members,
                             "own": full.own, "subtree": full.subtree, "total": full.total},
                            full.responding, scope)
    visible, own, subtree = view["visible"], view["own"], view["subtrees"]
    overall = _empty_table() if view["overall"] is None else view["overall"]

    def within(frame, column="agency_code"):
        return frame if visible is None else frame[frame[column].isin(visible)]

    capped = full.capped
    if visible is not None and len(capped):
        capped = capped[capped["group"].isin(visible | {ALL_CODE})]
    return Results(
        campaigns=full.campaigns, scope=scope,
        scope_name=names.get(scope, scope) if scope else ALL_NAME,
        exclude_rejected=exclude_rejected, bootstrap=bootstrap, seed=seed, cap=cap,
        bootstrap_skipped=skipped, codebook=full.codebook, names=names, agencies=own, subtrees=subtree,
        overall=overall.reset_index(drop=True), ranking=analysis.rank_agencies(own),
        channels=within(full.counts).reset_index(drop=True),
        tally=within(full.tally).reset_index(drop=True), capped=capped.reset_index(drop=True),
        checkpoints=full.checkpoints)
