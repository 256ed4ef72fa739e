"""The auditor's overview of a campaign: the ledger and its checkpoints, review states, and
the service index of each agency with and without the rejected responses."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from flask_babel import gettext as _
from sqlalchemy import func, select

from analysis import load as loader
from analysis.indices import indices_table

from .. import ledger
from ..extensions import db
from ..models import Campaign, LedgerCheckpoint, Response, ResponseReview, utcnow
from . import audit, tally
from .campaigns import ensure_writable, get_campaign


@dataclass
class Overview:
    campaign: Campaign
    ledger_length: int
    head_hash: str
    checkpoints: list[tuple[LedgerCheckpoint, str]]
    responses: int
    states: dict[str, int]
    indices: pd.DataFrame


def review_counts(campaign: Campaign) -> dict[str, int]:
    last = (select(func.max(ResponseReview.id).label("id"))
            .join(Response, Response.id == ResponseReview.response_id)
            .where(Response.campaign_id == campaign.id)
            .group_by(ResponseReview.response_id).subquery())
    decided = dict(db.session.execute(
        select(ResponseReview.state, func.count()).join(last, last.c.id == ResponseReview.id)
        .group_by(ResponseReview.state)).all())
    total = db.session.scalar(select(func.count(Response.id))
                              .where(Response.campaign_id == campaign.id)) or 0
    return {"received": total - sum(decided.values()),
            **{state: decided.get(state, 0) for state in ("approved", "has_issues", "rejected")}}


def service_indices(campaign: Campaign) -> pd.DataFrame:
    """Per agency: n and service index with every response, and without the rejected."""
    conn = db.session.connection()
    book = loader.codebook(conn, campaign.version_id)
    columns = ["agency_code", "n_all", "index_all", "n_kept", "index_kept"]
    tables = []
    for exclude in (False, True):
        counts = loader.tally_counts(conn, campaign.id, book, exclude_rejected=exclude)
        if not len(counts):
            tables.append(pd.DataFrame(columns=["agency_code", "n", "index"]))
            continue
        table = indices_table(counts, book)
        tables.append(table.loc[table["level"] == "service", ["agency_code", "n", "index"]])
    merged = tables[0].merge(tables[1], on="agency_code", how="outer", suffixes=("_all", "_kept"))
    return merged[columns] if len(merged) else pd.DataFrame(columns=columns)


def overview(campaign: Campaign, checkpoints: int = 10) -> Overview:
    length, head_hash = ledger.head(campaign.id)
    recent = db.session.scalars(select(LedgerCheckpoint).filter_by(campaign_id=campaign.id)
                                .order_by(LedgerCheckpoint.id.desc()).limit(checkpoints)).all()
    states = review_counts(campaign)
    return Overview(campaign=campaign, ledger_length=length, head_hash=head_hash,
                    checkpoints=[(cp, ledger.digest(campaign, cp)) for cp in recent],
                    responses=sum(states.values()), states=states,
                    indices=service_indices(campaign))


def record_checkpoint(campaign: Campaign, reason: str = "manual"
                      ) -> tuple[LedgerCheckpoint, str]:
    """A checkpoint now, and its digest to keep outside the system. Refused for an
    archived campaign: its chain ended with the archive checkpoint."""
    ensure_writable(campaign, _("Không ghi thêm được mốc kiểm tra (mốc cuối cùng đã ghi khi "
                                "lưu trữ)"))
    # The tally is checked against the responses, and its digest kept with the checkpoint
    # when it matches. The ledger's checkpoint is recorded either way: the chain does not
    # depend on the tally, and a tally found wrong is when a record of the chain matters
    # most. `cp.tally_check` tells the caller what the check found. The check counts what
    # came since the last checkpoint whose check found the tally right (the whole campaign
    # when there is none, or to name what is wrong).
    check = tally.verified(campaign, digest=True)
    cp = ledger.checkpoint(campaign, reason, tally=check)
    cp.tally_check = check
    digest = ledger.digest(campaign, cp)
    audit.record("ledger.checkpoint", "campaign", campaign.code, None,
                 {"seq": cp.seq, "digest": digest, "reason": reason,
                  "tally_mark": check.mark, "tally_digest": cp.tally_digest,
                  "tally_differences": check.wrong})
    return cp, digest


def scheduled_checkpoints(campaign_code: str | None = None
                          ) -> list[tuple[Campaign, LedgerCheckpoint, str]]:
    """The daily run (`flask checkpoint`): each campaign not archived gets a checkpoint when
    its ledger grew since the last one ('daily'), and one marked 'close' once its closing
    time has passed. With `campaign_code`, that campaign gets one now ('manual', or
    'close' the first time after its close). Returns (campaign, checkpoint, digest)."""
    if campaign_code:
        targets = [get_campaign(campaign_code)]
    else:
        targets = list(db.session.scalars(select(Campaign).where(
            Campaign.archived_at.is_(None)).order_by(Campaign.code)))
    done = []
    for campaign in targets:
        last = db.session.scalar(select(LedgerCheckpoint).filter_by(campaign_id=campaign.id)
                                 .order_by(LedgerCheckpoint.id.desc()).limit(1))
        has_close = db.session.scalar(select(LedgerCheckpoint.id).filter_by(
            campaign_id=campaign.id, reason="close").limit(1)) is not None
        if utcnow() >= campaign.closes_at and not has_close:
            reason = "close"
        elif campaign_code:
            reason = "manual"
        elif last is None or last.seq != ledger.head(campaign.id)[0]:
            reason = "daily"
        else:
            continue
        done.append((campaign, *record_checkpoint(campaign, reason)))
    return done

