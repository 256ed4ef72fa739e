"""The whole-campaign computation behind every view of the results: the campaigns'
codebook, tally and response counts read from the database, and the tables of
:func:`analysis.report.campaign_tables` (own, subtree and total indices, bootstrap)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import pandas as pd
from flask_babel import gettext as _
from sqlalchemy import func, select

import analysis
from analysis import load
from analysis import report as rep

from ...extensions import db
from ...models import Campaign, Response
from .. import ServiceError, derived
from ..campaigns import get_campaign

CHUNK_SIZE = 20_000


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

    # Groups whose respondents did not change since any earlier computation (another
    # process, worker or report) take their intervals from the store (`derived`).
    tables = rep.campaign_tables(
        cells, book, tree, responding, n_boot, seed, cap, id_chunks,
        lambda ids: load.satisfaction_answers(conn, ids, book),
        store=derived.IntervalStore(
            [c["id"] for c in campaigns], exclude_rejected=exclude_rejected, n_boot=n_boot,
            seed=seed, cap=cap, version_ids=[c["version_id"] for c in campaigns])
        if n_boot else None)
    ancestors, members = tables["ancestors"], tables["members"]
    own, subtree, total, capped = (tables[k] for k in ("own", "subtree", "total", "capped"))
    return _Full(campaigns=campaigns, codebook=book, tree=tree, ancestors=ancestors,
                 members=dict(members), responding=responding, tally=tally, counts=counts,
                 own=own, subtree=subtree, total=total, capped=capped)


def _replicates(campaigns: Sequence[Campaign], bootstrap: int,
                max_responses: int | None) -> int:
    """``bootstrap``, or 0 when the campaigns have more than ``max_responses`` responses."""
    if not bootstrap or max_responses is None:
        return bootstrap
    count = db.session.scalar(select(func.count(Response.id)).where(
        Response.campaign_id.in_([c.id for c in campaigns])))
    return bootstrap if count <= max_responses else 0
