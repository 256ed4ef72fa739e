"""Quality flags of a campaign for the auditor's pages: analysis.quality on the campaign's
responses, with the thresholds of the installation (QUALITY_THRESHOLDS), cached while the
set of responses is unchanged."""

from __future__ import annotations

import threading
from dataclasses import fields

import pandas as pd
from flask import current_app
from sqlalchemy import func, select

from analysis import load_audit, quality

from ..extensions import db
from ..models import Campaign, Response

_CACHE: dict[tuple, tuple[pd.DataFrame, pd.DataFrame]] = {}
_CACHE_SIZE = 4
_LOCK = threading.Lock()


def thresholds() -> quality.Thresholds:
    overrides = dict(current_app.config.get("QUALITY_THRESHOLDS") or {})
    known = {f.name for f in fields(quality.Thresholds)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ValueError(f"QUALITY_THRESHOLDS: unknown setting(s) {', '.join(unknown)}; "
                         f"known: {', '.join(sorted(known))}")
    return quality.Thresholds(**overrides)


def campaign_flags(campaign: Campaign, *, cached: bool = True
                   ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(quality frame, flag table) of the campaign. Responses are append-only, so their
    count and largest id identify the set: the result is reused until one arrives.
    Callers must not modify the returned frames."""
    limits = thresholds()
    count, last = db.session.execute(
        select(func.count(Response.id), func.max(Response.id))
        .where(Response.campaign_id == campaign.id)).one()
    # The last receipt (random) tells apart two databases with the same ids (tests, copies).
    receipt = db.session.scalar(select(Response.receipt_code).where(Response.id == last))
    key = (str(db.engine.url), campaign.id, count, last, receipt, limits)
    if cached:
        with _LOCK:
            hit = _CACHE.get(key)
        if hit is not None:
            return hit
    result = load_audit.flags(db.session.connection(), campaign.id, limits)
    with _LOCK:
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = result
    return result


def flagged_ids(campaign: Campaign) -> set[int]:
    _, table = campaign_flags(campaign)
    return {int(i) for i in table["response_id"]}


def summary(campaign: Campaign) -> dict[str, pd.DataFrame]:
    """Flag counts per agency, per collector, and per agency × collector."""
    frame, table = campaign_flags(campaign)
    return {
        "agency": quality.flag_counts(table, frame, by=["agency_code"]),
        "collector": quality.flag_counts(table, frame, by=["collector"]),
        "agency_collector": quality.flag_counts(table, frame, by=["agency_code", "collector"]),
    }
