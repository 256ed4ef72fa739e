"""Results kept between computations (`DerivedResult`): bootstrap intervals per group
(`analysis.stored`) and a campaign's quality-flag counts, each under the SHA-256 digest
of everything it is computed from, so that a new process, another worker or the next
report finds them instead of computing them again.

Nothing here is a source of truth: a kept result is found only under the digest of the
inputs it was computed from, so it equals what computing would give; the auditor
recomputes every figure from the bundle without it. Writes go through a connection of
their own, committed at once, so that a page that only reads (a GET) keeps what it
computed; a write that cannot be made at once (another writer holds SQLite) is skipped,
as is a key another worker stored first.
"""

from __future__ import annotations

import hashlib
import json
import logging
import zlib
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta

from flask import g
from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from ..extensions import db
from ..models import Agency, DerivedResult, Response, ResponseCorrection, ResponseReview, utcnow

log = logging.getLogger(__name__)

#: Keys asked for in one statement.
LOOKUP_CHUNK = 500
#: How long a kept result may go unrecomputed before `flask checkpoint` removes it, unless
#: that run used it.
KEEP_FOR = timedelta(days=2)


def _pack(value) -> bytes:
    return zlib.compress(json.dumps(value, separators=(",", ":"), ensure_ascii=False)
                         .encode("utf-8"))


def _unpack(payload: bytes):
    return json.loads(zlib.decompress(payload).decode("utf-8"))


def lookup(kind: str, keys: Sequence[str]) -> dict:
    """The kept results of ``kind`` among ``keys``: ``{key: value}``."""
    found = {}
    keys = list(keys)
    g.setdefault("derived_keys", set()).update(keys)
    for start in range(0, len(keys), LOOKUP_CHUNK):
        rows = db.session.execute(select(DerivedResult.key, DerivedResult.payload).where(
            DerivedResult.kind == kind, DerivedResult.key.in_(keys[start:start + LOOKUP_CHUNK])))
        found.update((key, _unpack(payload)) for key, payload in rows)
    return found


def save(kind: str, entries: Mapping[str, object]) -> None:
    """Keep ``entries`` (``{key: JSON-able value}``) under their keys, each at most once."""
    if not entries:
        return
    rows = [{"key": k, "kind": kind, "payload": _pack(v), "created_at": utcnow()}
            for k, v in entries.items()]
    engine = db.engine
    dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(DerivedResult).on_conflict_do_nothing()
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                # Never wait on a writer (perhaps this very request's own transaction).
                conn.exec_driver_sql("PRAGMA busy_timeout=0")
            try:
                conn.execute(statement, rows)
                conn.commit()
            finally:
                if engine.dialect.name == "sqlite":
                    conn.exec_driver_sql("PRAGMA busy_timeout=10000")
    except SQLAlchemyError as error:  # kept next time; the figures are already computed
        log.info("derived results not kept (%s): %s", kind, error.__class__.__name__)


def digest(kind: str, identity) -> str:
    """The key of a result of ``kind`` computed from what ``identity`` (JSON-able) names."""
    return hashlib.sha256(json.dumps([kind, identity], default=str, ensure_ascii=False)
                          .encode("utf-8")).hexdigest()


def kept(kind: str, identity, compute):
    """The result of ``compute()`` (JSON-able) for what ``identity`` names: kept in the
    database once computed, found there while ``identity`` stays the same."""
    key = digest(kind, identity)
    found = lookup(kind, [key])
    if key in found:
        return found[key]
    value = compute()
    save(kind, {key: value})
    return value


def response_set(campaign_id: int) -> list:
    """What names a campaign's set of responses: its id, their count, the largest id and
    the last receipt (responses are append-only, so count and largest id identify the
    set; the receipt, random, tells apart two databases with the same ids)."""
    count, last = db.session.execute(
        select(func.count(Response.id), func.max(Response.id))
        .where(Response.campaign_id == campaign_id)).one()
    receipt = db.session.scalar(select(Response.receipt_code).where(Response.id == last))
    return [campaign_id, count, last, receipt]


def responses_identity(campaign_ids: Sequence[int]) -> list:
    """What names the responses of ``campaign_ids`` as they stand: each campaign's
    `response_set`, with the latest review and correction anywhere."""
    return [[response_set(c) for c in campaign_ids], db.session.scalar(select(func.max(ResponseReview.id))),
            db.session.scalar(select(func.max(ResponseCorrection.id)))]


def used_keys() -> set[str]:
    """The keys looked up in this application context (a command's run, a request)."""
    return set(g.get("derived_keys", ()))


def purge(used: Iterable[str] = (), now: datetime | None = None) -> int:
    """Remove the results created more than :data:`KEEP_FOR` ago, except ``used`` (the
    keys a run has just asked for). Returns how many were removed."""
    cutoff = (now or utcnow()) - KEEP_FOR
    used = set(used)
    old = [k for k in db.session.scalars(select(DerivedResult.key).where(
        DerivedResult.created_at < cutoff)) if k not in used]
    for start in range(0, len(old), LOOKUP_CHUNK):
        db.session.execute(delete(DerivedResult).where(
            DerivedResult.key.in_(old[start:start + LOOKUP_CHUNK])))
    return len(old)


class IntervalStore:
    """The store `analysis.report.campaign_tables` takes (`analysis.stored`), for the
    responses of ``campaign_ids`` computed with these settings."""

    def __init__(self, campaign_ids: Sequence[int], *, exclude_rejected: bool, n_boot: int,
                 seed: int, cap: int | None, version_ids: Sequence[int]):
        ids = list(campaign_ids)
        rows = db.session.execute(
            select(ResponseCorrection.response_id, func.max(ResponseCorrection.id))
            .join(Response, Response.id == ResponseCorrection.response_id)
            .where(Response.campaign_id.in_(ids))
            .group_by(ResponseCorrection.response_id))
        self.revisions = {int(rid): int(mark) for rid, mark in rows}
        tree = db.session.execute(select(Agency.id, Agency.code, Agency.parent_id)
                                  .order_by(Agency.id)).all()
        self.plan_key = digest("plan", [
            "interval-plan/1", ids, list(version_ids), bool(exclude_rejected), n_boot, seed, cap,
            responses_identity(ids), [list(row) for row in tree]])

    def lookup(self, keys: Sequence[str]) -> dict:
        return {k: [tuple(row) for row in rows] for k, rows in lookup("interval", keys).items()}

    def save(self, entries: Mapping[str, list]) -> None:
        save("interval", {k: [list(row) for row in rows] for k, rows in entries.items()})

    def lookup_plan(self):
        return lookup("plan", [self.plan_key]).get(self.plan_key)

    def save_plan(self, plan) -> None:
        save("plan", {self.plan_key: plan})
