"""What the nightly `flask checkpoint` computes ahead, so that the next results page or
official report of a large campaign finds it kept (`derived`) rather than computing it
while an official waits: the results with the installation's settings (every group's
bootstrap intervals, rejected responses counted and left out) and what the province's
report gathers besides (quality-flag and comment counts)."""

from __future__ import annotations

import time

from ..models import Campaign
from . import ServiceError, derived, official, results


def prepare(campaigns: list[Campaign]) -> dict:
    """Compute and keep what the pages and the report of ``campaigns`` need, then remove
    kept results left unused for :data:`derived.KEEP_FOR`. Returns ``seconds`` and
    ``removed``."""
    start = time.perf_counter()
    options = {**results.default_options(), "max_responses": None}
    for campaign in campaigns:
        results.campaign_indices(campaign, exclude_rejected=False, **options)
        try:  # the report's own computation (rejected responses left out)
            official.gather(official.Order(kind="province", campaigns=[campaign]))
        except ServiceError:  # nothing a report could be made of yet
            continue
    removed = derived.purge(derived.used_keys())
    return {"seconds": time.perf_counter() - start, "removed": removed}
