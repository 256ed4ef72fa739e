"""Bootstrap settings and the per-application cache of results, keyed by a fingerprint
of the data (responses, reviews and corrections are append-only, so their count and
largest id identify them; the tally and the agency tree are summed up)."""

from __future__ import annotations

import threading
import zlib
from collections import OrderedDict
from collections.abc import Sequence

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select

from ...extensions import db
from ...models import Agency, AnswerTally, Response, ResponseCorrection, ResponseReview
from .. import ServiceError

DEFAULT_BOOTSTRAP = 1000
DEFAULT_CAP = 2000
#: Above this many responses the pages skip the bootstrap; `flask report` always
#: computes it. At a million responses the first view takes a few seconds (docs/operator.md,
#: How the figures are computed), most of it the bootstrap of the sampled respondents;
#: beyond, choosing the samples adds just under a second a million responses.
DEFAULT_MAX_RESPONSES = 1_000_000
CACHE_SIZE = 16


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
