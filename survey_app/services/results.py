"""Satisfaction results: SIPAS indices with their intervals per agency, per agency subtree
and per campaign; rankings, comparisons, breakdowns, trends, charts and exports. The
results pages, the reports and the command line all call these functions.

Where the numbers come from:

- point estimates (every level) from the answer tally the database keeps
  (:func:`analysis.load.tally_counts`), so their cost does not grow with the responses;
- criterion intervals are Wilson intervals of the same counts;
- element and service intervals are a seeded respondent bootstrap
  (:func:`analysis.bootstrap_indices`) on respondent-level data. To keep that bounded,
  a group (an agency, a subtree, a channel…) of more than ``cap`` respondents is
  bootstrapped on a seeded random sample of ``cap`` of them: its interval is then
  somewhat wider than the full data would give (conservative), and the results say
  which groups were sampled. Up to ``cap`` the intervals are exactly those of
  ``python -m analysis indices --bootstrap N --seed S`` on the export. The samples are
  chosen from the responses' ids and agencies alone (an index read), and only the
  chosen respondents' answers are read (:func:`_respondent_bootstrap`); breakdowns by
  channel or profile still read every response of the scope once.

Results are cached per application, keyed by the campaign(s), the options and a
fingerprint of the data (responses, reviews and corrections are append-only, so their
count and largest id identify them), so pages, charts and downloads of one view compute once.
"""

from __future__ import annotations

import io
import threading
import zlib
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import pandas as pd
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select

import analysis
from analysis import disclosure, load
from analysis import report as rep
from analysis.io import META_COLUMNS
from analysis.statement import HEADING as STATEMENT_HEADING
from analysis.statement import Checkpoint, Statement

from .. import ledger
from ..extensions import db
from ..models import (
    Agency,
    AnswerTally,
    Campaign,
    Response,
    ResponseCorrection,
    ResponseReview,
)
from . import ServiceError, audit, tally
from .campaigns import get_campaign

DEFAULT_BOOTSTRAP = 1000
DEFAULT_CAP = 2000
#: Above this many responses the pages skip the bootstrap; `flask report` always
#: computes it. At a million responses the first view takes a few seconds (docs/operator.md,
#: How the figures are computed), most of it the bootstrap of the sampled respondents;
#: beyond, choosing the samples adds just under a second a million responses.
DEFAULT_MAX_RESPONSES = 1_000_000
CHUNK_SIZE = 20_000
CACHE_SIZE = 16
#: The code under which a whole campaign is counted when its agencies have several roots.
ALL_CODE = rep.ALL_CODE
ALL_NAME = "Toàn bộ đợt khảo sát"

CHANNEL_LABELS = {
    "open": "Đường dẫn mở (mã QR)",
    "single_use": "Đường dẫn dùng một lần",
    "paper": "Phiếu giấy",
    "api": "Kiosk / hệ thống một cửa (API)",
}
CHART_KINDS = ("ranking", "heatmap", "likert", "trend")
BREAKDOWN_TYPES = ("single_choice", "multiple_choice")
#: openpyxl's limit: a worksheet has at most 1,048,576 rows (one is the header).
XLSX_MAX_ROWS = 1_048_575


# --- options --------------------------------------------------------------------------------

def default_options() -> dict:
    """Bootstrap settings from the configuration (RESULTS_BOOTSTRAP, RESULTS_SEED,
    RESULTS_BOOTSTRAP_CAP, RESULTS_BOOTSTRAP_MAX_RESPONSES), as keyword arguments for
    the functions below."""
    config = current_app.config
    cap = config.get("RESULTS_BOOTSTRAP_CAP", DEFAULT_CAP)
    most = config.get("RESULTS_BOOTSTRAP_MAX_RESPONSES", DEFAULT_MAX_RESPONSES)
    return {"bootstrap": int(config.get("RESULTS_BOOTSTRAP", DEFAULT_BOOTSTRAP)),
            "seed": int(config.get("RESULTS_SEED", 0)),
            "cap": int(cap) if cap else None,
            "max_responses": int(most) if most else None}


def _check_options(bootstrap: int, seed: int, cap: int | None) -> None:
    if bootstrap < 0 or seed < 0 or (cap is not None and cap < 1):
        raise ServiceError(_("Số lần lặp bootstrap, hạt giống và giới hạn mẫu phải là số không "
                             "âm."))


# --- the cache ------------------------------------------------------------------------------

class _Cache:
    def __init__(self, size: int):
        self.size = size
        self.lock = threading.Lock()
        self.entries: OrderedDict = OrderedDict()

    def get_or_compute(self, key, compute):
        with self.lock:
            if key in self.entries:
                self.entries.move_to_end(key)
                return self.entries[key]
        # Computed outside the lock: two requests may both compute, never block each other.
        value = compute()
        with self.lock:
            self.entries[key] = value
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)
        return value


def _cache() -> _Cache:
    return current_app.extensions.setdefault("results_cache", _Cache(CACHE_SIZE))


def _fingerprint(campaign_ids: Sequence[int]) -> tuple:
    count, last = db.session.execute(
        select(func.count(Response.id), func.max(Response.id))
        .where(Response.campaign_id.in_(campaign_ids))).one()
    review = db.session.scalar(select(func.max(ResponseReview.id)))
    correction = db.session.scalar(select(func.max(ResponseCorrection.id)))
    tree = db.session.execute(
        select(Agency.id, Agency.code, Agency.parent_id, Agency.name).order_by(Agency.id)).all()
    # The tally is not append-only: a count changed in place must not be served from the
    # cache as the figures of before (a few sums over a table of agencies x items x scores).
    tally = db.session.execute(
        select(func.count(), func.sum(AnswerTally.n), func.sum(AnswerTally.n * AnswerTally.score),
               func.sum(AnswerTally.n * AnswerTally.item_id),
               func.sum(AnswerTally.n * AnswerTally.agency_id))
        .where(AnswerTally.campaign_id.in_(campaign_ids))).one()
    return (count, last, review, correction, zlib.crc32(repr(tree).encode("utf-8")),
            tuple(tally))


# --- campaigns and scope --------------------------------------------------------------------

def get(code: str) -> Campaign:
    """The campaign with this code (ServiceError in Vietnamese if there is none)."""
    return get_campaign(code)


def _summary(campaign: Campaign) -> dict:
    return {"id": campaign.id, "code": campaign.code, "name": campaign.name,
            "period": campaign.period, "version_id": campaign.version_id,
            "opens_at": campaign.opens_at, "closes_at": campaign.closes_at}


def _codebook(conn, campaigns: Sequence[dict]) -> pd.DataFrame:
    """The first campaign's codebook; the others must ask the same satisfaction items."""
    book = load.codebook(conn, campaigns[0]["version_id"])

    def shape(b):
        items = analysis.satisfaction_items(b)
        return list(zip(items["item_code"], items["element_code"], strict=True))

    for other in campaigns[1:]:
        if other["version_id"] != campaigns[0]["version_id"] and \
                shape(load.codebook(conn, other["version_id"])) != shape(book):
            raise ServiceError(_(
                "Đợt '%(other)s' dùng bộ tiêu chí khác đợt '%(first)s'; không cộng dồn được.",
                other=other["code"], first=campaigns[0]["code"]))
    return book


def _response_counts(conn, campaign_ids: Sequence[int]) -> pd.DataFrame:
    """Responses per agency and channel, and how many of them are rejected, summed over
    the campaigns (:func:`analysis.load.channel_counts`: read from an index, not the rows)."""
    frame = pd.concat([load.channel_counts(conn, c) for c in campaign_ids], ignore_index=True)
    frame = frame.groupby(["agency_code", "channel"], as_index=False, sort=True)[
        ["n", "rejected"]].sum()
    return frame.astype({"agency_code": "str", "channel": "str", "n": "int64",
                         "rejected": "int64"})


def _chunks(conn, campaigns: Sequence[dict], book: pd.DataFrame, *, exclude_rejected: bool,
            agency_codes: set[str] | None = None,
            chunk_size: int = CHUNK_SIZE) -> Iterator[pd.DataFrame]:
    for campaign in campaigns:
        for chunk in load.iter_responses(conn, campaign["id"], book, chunk_size):
            if exclude_rejected:
                chunk = analysis.exclude_rejected(chunk)
            if agency_codes is not None:
                chunk = chunk[chunk["agency_code"].isin(agency_codes)]
            if len(chunk):
                yield rep.blank_to_missing(chunk)


# --- whole-campaign computation (cached) ----------------------------------------------------

@dataclass
class _Full:
    campaigns: tuple
    codebook: pd.DataFrame
    tree: pd.DataFrame
    ancestors: dict
    members: dict           # agency -> responding agencies in its subtree
    responding: list
    tally: pd.DataFrame
    counts: pd.DataFrame
    own: pd.DataFrame
    subtree: pd.DataFrame
    total: pd.DataFrame | None
    capped: pd.DataFrame
    #: each campaign's ledger state (entry count, head hash) the figures were computed at
    checkpoints: tuple = ()


#: Computations of results tried while the ledgers keep moving before the chains are held.
SETTLE_ATTEMPTS = 3


def _heads(campaigns: Sequence[dict]) -> tuple[Checkpoint, ...]:
    return tuple(Checkpoint(c["code"], *ledger.head(c["id"])) for c in campaigns)


def _at_checkpoint(campaigns: Sequence[dict], compute):
    """``compute()`` and the ledger states it was computed at. Every response, review and
    correction is chained in the transaction that stores it, so when the chains' heads
    are the same before and after the computation, the figures are those of the ledgers
    at those heads. If they keep moving (a campaign receiving many responses), the chains
    are held for one more computation (appends wait until this transaction ends)."""
    for _attempt in range(SETTLE_ATTEMPTS):
        before = _heads(campaigns)
        value = compute()
        if _heads(campaigns) == before:
            return value, before
    for campaign in campaigns:
        ledger.lock_chain(campaign["id"])
    before = _heads(campaigns)
    return compute(), before


def _compute(campaigns: tuple, exclude_rejected: bool, n_boot: int, seed: int,
             cap: int | None) -> _Full:
    conn = db.session.connection()
    book = _codebook(conn, campaigns)
    tree = load.agencies(conn)
    counts = _response_counts(conn, [c["id"] for c in campaigns])
    counted = counts["n"] - counts["rejected"] if exclude_rejected else counts["n"]
    responding = sorted(set(counts.loc[counted > 0, "agency_code"]))
    # Every index comes from the counts array (cells); the long tally is kept for the answer
    # distribution and its chart.
    cells = load.tally_counts(conn, campaigns[0]["id"], book, exclude_rejected=exclude_rejected)
    for campaign in campaigns[1:]:
        cells = cells + load.tally_counts(conn, campaign["id"], book,
                                            exclude_rejected=exclude_rejected)
    cells = cells.with_agencies(responding)
    tally = rep.with_agencies(cells.to_frame(), responding, book)

    def id_chunks():
        for k, campaign in enumerate(campaigns):
            for ids, agencies in load.response_agencies(conn, campaign["id"],
                                                        exclude_rejected=exclude_rejected):
                yield k, ids, agencies

    tables = rep.campaign_tables(
        cells, book, tree, responding, n_boot, seed, cap, id_chunks,
        lambda ids: load.satisfaction_answers(conn, ids, book))
    ancestors, members = tables["ancestors"], tables["members"]
    own, subtree, total, capped = (tables[k] for k in ("own", "subtree", "total", "capped"))
    return _Full(campaigns=campaigns, codebook=book, tree=tree, ancestors=ancestors,
                 members=dict(members), responding=responding, tally=tally, counts=counts,
                 own=own, subtree=subtree, total=total, capped=capped)


def _full(campaigns: Sequence[Campaign], exclude_rejected: bool, bootstrap: int, seed: int,
          cap: int | None) -> _Full:
    _check_options(bootstrap, seed, cap)
    summaries = tuple(_summary(c) for c in campaigns)
    ids = tuple(c["id"] for c in summaries)
    if len(set(ids)) != len(ids):
        raise ServiceError(_("Một đợt khảo sát được chọn hai lần."))
    key = ("full", ids, bool(exclude_rejected), bootstrap, seed, cap, _fingerprint(ids))

    def compute() -> _Full:
        full, heads = _at_checkpoint(summaries, lambda: _compute(
            summaries, bool(exclude_rejected), bootstrap, seed, cap))
        full.checkpoints = heads
        return full

    return _cache().get_or_compute(key, compute)


def _replicates(campaigns: Sequence[Campaign], bootstrap: int,
                max_responses: int | None) -> int:
    """``bootstrap``, or 0 when the campaigns have more than ``max_responses`` responses."""
    if not bootstrap or max_responses is None:
        return bootstrap
    count = db.session.scalar(select(func.count(Response.id)).where(
        Response.campaign_id.in_([c.id for c in campaigns])))
    return bootstrap if count <= max_responses else 0


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
        book = self.codebook[self.codebook["type"] == "satisfaction"]
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
        scope_name=names.get(scope, scope) if scope else "Toàn tỉnh",
        exclude_rejected=exclude_rejected, bootstrap=bootstrap, seed=seed, cap=cap,
        bootstrap_skipped=skipped, codebook=full.codebook, names=names, agencies=own, subtrees=subtree,
        overall=overall.reset_index(drop=True), ranking=analysis.rank_agencies(own),
        channels=within(full.counts).reset_index(drop=True),
        tally=within(full.tally).reset_index(drop=True), capped=capped.reset_index(drop=True),
        checkpoints=full.checkpoints)


def campaign_indices(campaign: Campaign, *, agency=None, exclude_rejected: bool = False,
                     bootstrap: int = DEFAULT_BOOTSTRAP, seed: int = 0,
                     cap: int | None = DEFAULT_CAP, max_responses: int | None = None
                     ) -> Results:
    """Indices of one campaign: per agency, per subtree, overall, with rankings.

    ``agency`` (an Agency or its code) limits everything to that agency's subtree.
    ``bootstrap`` replicates (0 for none) with ``seed`` give element and service
    intervals; ``cap`` bounds the respondents bootstrapped per group, and above
    ``max_responses`` responses the bootstrap is skipped (module docstring).
    """
    return combined_indices([campaign], agency=agency, exclude_rejected=exclude_rejected,
                            bootstrap=bootstrap, seed=seed, cap=cap,
                            max_responses=max_responses)


def combined_indices(campaigns: Sequence[Campaign], *, agency=None,
                     exclude_rejected: bool = False, bootstrap: int = DEFAULT_BOOTSTRAP,
                     seed: int = 0, cap: int | None = DEFAULT_CAP,
                     max_responses: int | None = None) -> Results:
    """Indices of several campaigns taken together (the annual report): their tallies are
    summed and their respondents pooled, as if they were one round. The campaigns must
    ask the same satisfaction items."""
    if not campaigns:
        raise ServiceError(_("Chưa chọn đợt khảo sát nào."))
    for campaign in campaigns:  # never figures from a tally its responses contradict
        tally.guard(campaign)
    used = _replicates(campaigns, bootstrap, max_responses)
    full = _full(campaigns, exclude_rejected, used, seed, cap)
    return _view(full, _scope_code(agency), bool(exclude_rejected), used, seed, cap,
                 skipped=used != bootstrap)


# --- disclosure control --------------------------------------------------------------------
# Officers and published reports see breakdowns with small cells hidden
# (analysis.disclosure); Sở Nội vụ and MTTQ see the counts on screen.

def min_cell() -> int:
    """The smallest group of respondents a published breakdown shows (MIN_CELL)."""
    return max(1, int(current_app.config.get("MIN_CELL", disclosure.DEFAULT_MIN_CELL)))


def disclosed_channel_table(results: Results, smallest: int | None = None) -> pd.DataFrame:
    """:meth:`Results.channel_table` with small counts hidden: agencies × channels with
    complementary suppression (each agency's total is shown), the rejected column on
    its own. Hidden cells hold :data:`analysis.disclosure.MARK`."""
    smallest = min_cell() if smallest is None else smallest
    table = results.channel_table()
    if table.empty:
        return table
    channels = list(CHANNEL_LABELS)
    out = table.astype(object)
    out[channels] = disclosure.suppress(table[channels], smallest)
    out[["rejected"]] = disclosure.suppress(table[["rejected"]], smallest)
    return out


def disclosed_channel_totals(results: Results, smallest: int | None = None) -> dict:
    """:meth:`Results.channel_totals` with small counts hidden (the scope's total is shown)."""
    smallest = min_cell() if smallest is None else smallest
    totals = results.channel_totals()
    shown = disclosure.suppress(pd.DataFrame([totals]), smallest)
    return {code: shown.iloc[0][code] for code in totals}


def hidden_groups(split: Breakdown, smallest: int | None = None) -> set[str]:
    """The groups of a breakdown whose n (and so their indices) a published view hides."""
    smallest = min_cell() if smallest is None else smallest
    if split.summary.empty:
        return set()
    counts = split.summary[["n"]].reset_index(drop=True)
    mask = disclosure.suppression_mask(counts, smallest)["n"].to_numpy()
    return set(split.summary["agency_code"].astype(str)[mask])


def record_row_export(campaign: Campaign, what: str, agency=None) -> None:
    """Note in the audit log that row-level data left the system: who (the log's actor),
    when, which campaign, which agency scope (``*`` for the whole campaign) and what."""
    audit.record("export_rows", "campaign", campaign.code,
                 after={"what": what, "scope": _scope_code(agency) or ALL_CODE})


# --- comparisons ----------------------------------------------------------------------------

def compare(current: Results, baseline: Results) -> pd.DataFrame:
    """Change from ``baseline`` to ``current`` (percentage points) with whether it exceeds
    sampling noise (:func:`analysis.change_between`): the whole scope's service and
    element rows first (agency_code ``*``), then each agency's service index."""
    overall = analysis.change_between(baseline.overall.assign(agency_code=ALL_CODE),
                                      current.overall.assign(agency_code=ALL_CODE))
    overall = overall[overall["level"] != "criterion"]
    agencies = analysis.change_between(baseline.agencies, current.agencies)
    agencies = agencies[agencies["level"] == "service"]
    out = pd.concat([overall, agencies], ignore_index=True) if len(agencies) else overall
    names = {**current.names, ALL_CODE: current.scope_name}
    return out.assign(name=out["agency_code"].map(lambda c: names.get(c, c))).reset_index(
        drop=True)


def breakdown_options(book: pd.DataFrame) -> list[tuple[str, str]]:
    """What results can be broken down by: the channel and each choice item (profile)."""
    choice = book[book["type"].isin(BREAKDOWN_TYPES)]
    return [("channel", "Kênh trả lời")] + [(r.item_code, r.text_vi) for r in choice.itertuples()]


@dataclass
class Breakdown:
    by: str
    label: str
    table: pd.DataFrame          # indices_table with agency_code = the group value
    labels: dict
    summary: pd.DataFrame
    capped: pd.DataFrame


def breakdown(campaigns: Sequence[Campaign], by: str, *, agency=None,
              exclude_rejected: bool = False, bootstrap: int = DEFAULT_BOOTSTRAP, seed: int = 0,
              cap: int | None = DEFAULT_CAP, max_responses: int | None = None) -> Breakdown:
    """Indices per channel or per answer to a profile item, over the scope: exact counts,
    and the bootstrap as :func:`analysis.breakdown` draws it (sampled above ``cap``,
    skipped above ``max_responses``). Reads every response of the scope once."""
    _check_options(bootstrap, seed, cap)
    bootstrap = _replicates(campaigns, bootstrap, max_responses)
    summaries = tuple(_summary(c) for c in campaigns)
    ids = tuple(c["id"] for c in summaries)
    scope = _scope_code(agency)
    key = ("breakdown", ids, by, scope, bool(exclude_rejected), bootstrap, seed, cap,
           _fingerprint(ids))

    def compute() -> Breakdown:
        conn = db.session.connection()
        book = _codebook(conn, summaries)
        options = dict(breakdown_options(book))
        if by not in options:
            raise ServiceError(_("Không phân tích theo '%(by)s' được: chọn kênh trả lời "
                                 "hoặc một câu hỏi về người trả lời.", by=by))
        visible = None
        if scope is not None:
            ancestors = rep.ancestor_lists(load.agencies(conn))
            visible = {code for code, chain in ancestors.items() if scope in chain}
        # Only the items a breakdown uses: the satisfaction items and the one broken down
        # by (the channel is a response column). Converting every other answer (comments,
        # priorities, the other profile questions) to the export's text took a third of
        # the time.
        needed = book[(book["type"] == "satisfaction") | (book["item_code"] == by)]
        tallies = []
        sample = rep.RespondentSample(book, cap=cap, seed=seed)
        for chunk in _chunks(conn, summaries, needed, exclude_rejected=exclude_rejected,
                             agency_codes=visible):
            grouped = rep.breakdown_groups(chunk, book, by)
            if grouped.empty:
                continue
            tallies.append(analysis.tally_from_responses(grouped, book))
            if bootstrap:
                sample.add(grouped, {"by": grouped["agency_code"]})
        tally = rep.sum_tallies(tallies)
        capped = sample.capped()
        boot = None
        if bootstrap and len(tally):
            boot = rep.recentre(sample.bootstrap("by", bootstrap, seed),
                                analysis.indices_table(tally, book), set(capped["group"]))
        table = analysis.indices_table(tally, book, bootstrap=boot) if len(tally) \
            else _empty_table()
        labels = CHANNEL_LABELS if by == "channel" else analysis.choice_labels(book, by)
        return Breakdown(by=by, label=options[by], table=table, labels=dict(labels),
                         summary=rep.summary_table(table, book), capped=capped)

    return _cache().get_or_compute(key, compute)


def trend(agency=None, *, exclude_rejected: bool = False, bootstrap: int = DEFAULT_BOOTSTRAP,
          seed: int = 0, cap: int | None = DEFAULT_CAP,
          max_responses: int | None = None) -> pd.DataFrame:
    """The scope's service index in every campaign with answers, oldest first:
    ``campaign, name, period, n, index, ci_low, ci_high``."""
    rows = []
    for campaign in db.session.scalars(select(Campaign).order_by(Campaign.opens_at,
                                                                 Campaign.id)):
        results = campaign_indices(campaign, agency=agency, exclude_rejected=exclude_rejected,
                                   bootstrap=bootstrap, seed=seed, cap=cap,
                                   max_responses=max_responses)
        service = results.overall[results.overall["level"] == "service"]
        if service.empty or int(service["n"].iloc[0]) == 0:
            continue
        row = service.iloc[0]
        rows.append({"campaign": campaign.code, "name": campaign.name, "period": campaign.period,
                     "n": int(row["n"]), "index": row["index"], "ci_low": row["ci_low"],
                     "ci_high": row["ci_high"]})
    return pd.DataFrame(rows, columns=["campaign", "name", "period", "n", "index", "ci_low",
                                       "ci_high"])


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

    from .formatting import number  # the one number format (decimal comma)

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


# --- exports --------------------------------------------------------------------------------

def export_codebook(campaign: Campaign) -> pd.DataFrame:
    return load.codebook(db.session.connection(), campaign.version_id)


def _agency_filter(agency) -> set[str] | None:
    scope = _scope_code(agency)
    if scope is None:
        return None
    ancestors = rep.ancestor_lists(load.agencies(db.session.connection()))
    if scope not in ancestors:
        raise ServiceError(_("Không có cơ quan mã '%(code)s'.", code=scope))
    return {code for code, chain in ancestors.items() if scope in chain}


def export_chunks(campaign: Campaign, *, agency=None, chunk_size: int = CHUNK_SIZE
                  ) -> tuple[pd.DataFrame, Iterator[pd.DataFrame]]:
    """The codebook and the responses (export format) a chunk at a time, optionally only
    those of an agency's subtree. Rejected responses are included: ``review_state`` says
    so, and the reader decides."""
    book = export_codebook(campaign)
    visible = _agency_filter(agency)
    conn = db.session.connection()

    def chunks():
        for chunk in load.iter_responses(conn, campaign.id, book, chunk_size):
            if visible is not None:
                chunk = chunk[chunk["agency_code"].isin(visible)]
            if len(chunk):
                yield chunk

    return book, chunks()


def response_columns(book: pd.DataFrame) -> list[str]:
    return META_COLUMNS + list(book["item_code"])


def csv_text(frame: pd.DataFrame, header: bool = True) -> str:
    return frame.to_csv(index=False, header=header, lineterminator="\n")


def iter_responses_csv(campaign: Campaign, *, agency=None) -> Iterator[str]:
    """``responses.csv`` as text pieces, a chunk at a time (for streaming and files)."""
    book, chunks = export_chunks(campaign, agency=agency)
    yield csv_text(pd.DataFrame(columns=response_columns(book)))
    for chunk in chunks:
        yield csv_text(chunk, header=False)


def write_export(campaign: Campaign, directory, *, agency=None) -> int:
    """Write ``responses.csv`` and ``codebook.csv`` into ``directory`` (incrementally,
    under temporary names renamed into place at the end). Returns the response count."""
    import os
    import tempfile
    from pathlib import Path

    directory = Path(directory)
    book = export_codebook(campaign)
    staged = []
    count = 0
    try:
        for name in ("responses.csv", "codebook.csv"):
            fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{name}.", suffix=".part")
            staged.append((Path(tmp), directory / name))
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
                if name == "codebook.csv":
                    fh.write(csv_text(book))
                    continue
                for piece in iter_responses_csv(campaign, agency=agency):
                    fh.write(piece)
                    count += piece.count("\n")
        mask = os.umask(0o022)
        os.umask(mask)
        for tmp, final in staged:
            os.chmod(tmp, 0o666 & ~mask)
            os.replace(tmp, final)
    except BaseException:
        for tmp, _final in staged:
            tmp.unlink(missing_ok=True)
        raise
    return count - 1  # the header line


def cell_value(value):
    """A value openpyxl can store: no missing markers, no control characters."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA:
        return None
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("", value) if value != "" else None
    return value


def text_cells(sheet, values: list) -> list:
    """``values`` for ``sheet.append`` with text that starts with "=" kept as text: a
    citizen's comment must never become a spreadsheet formula."""
    from openpyxl.cell import WriteOnlyCell

    out = []
    for value in values:
        if isinstance(value, str) and value.startswith("="):
            cell = WriteOnlyCell(sheet, value=value)
            cell.data_type = "s"
            value = cell
        out.append(value)
    return out


def export_xlsx(campaign: Campaign, *, agency=None) -> bytes:
    """The export as one workbook: sheets ``responses`` and ``codebook`` (same columns as
    the CSV files; scale answers as numbers)."""
    from openpyxl import Workbook

    book, chunks = export_chunks(campaign, agency=agency)
    numeric = set(book.loc[book["type"].isin(("satisfaction", "priority")), "item_code"])
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("responses")
    columns = response_columns(book)
    sheet.append(columns)
    rows = 0
    for chunk in chunks:
        rows += len(chunk)
        if rows > XLSX_MAX_ROWS:
            raise ServiceError(_("Quá nhiều phiếu cho một trang tính Excel; hãy tải tệp CSV."))
        for record in chunk.itertuples(index=False):
            values = []
            for column, value in zip(columns, record, strict=True):
                if column in numeric or column == "response_id":
                    values.append(int(value) if value not in ("", None) else None)
                else:
                    values.append(cell_value(value))
            sheet.append(text_cells(sheet, values))
    codebook_sheet = workbook.create_sheet("codebook")
    codebook_sheet.append(list(book.columns))
    for record in book.itertuples(index=False):
        codebook_sheet.append(text_cells(codebook_sheet, [cell_value(v) for v in record]))
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def indices_csv(results: Results) -> str:
    """The per-agency table as ``python -m analysis indices`` writes it, after comment
    lines ("# label: value") stating the ledger checkpoint and the method, which
    ``pandas.read_csv(..., comment="#")`` and ``analysis.read_indices`` skip."""
    buffer = io.StringIO()
    buffer.write(f"# {STATEMENT_HEADING}\n")
    for line in results.statement_lines():
        buffer.write(f"# {line}\n")
    results.agencies.to_csv(buffer, index=False)
    return buffer.getvalue()
