"""Storing an accepted submission: the response row, the tally's step and the ledger
entry, written in the caller's transaction with plain SQL (`rawsql`) — every statement a
submission runs is in this module, except the ledger entry's own insert (`ledger.append`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from analysis import ledger as chain
from analysis.load import MARK_SQL
from analysis.load_cross import DTYPE, count_kept, decode

from .. import ledger, rawsql
from ..extensions import db
from ..models import Response, canonical_json, utcnow
from ..rawsql import Cursor, Statement, as_datetime
from ..services import ServiceError
from ..survey_form import spec
from .links import FormAlreadyUsed, Target, check_open

RECEIPT_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"

_KEYED: dict[str, hmac.HMAC] = {}


def keyed_hash(value: str | None, config=None) -> str | None:
    """An HMAC of a network address or device id: comparable, never reversible.
    `config`: the application's (default: the current application's)."""
    if not value:
        return None
    key = (current_app.config if config is None else config)["SECRET_KEY"]
    keyed = _KEYED.get(key)
    if keyed is None:  # the key's HMAC state is worked out once, then copied
        keyed = _KEYED[key] = hmac.new(key.encode(), digestmod=hashlib.sha256)
    keyed = keyed.copy()
    keyed.update(value.encode("utf-8", "surrogatepass"))
    return keyed.hexdigest()


def new_receipt_code() -> str:
    """Ten characters from a 31-letter alphabet (about 50 bits), e.g. 'K7M2Q-9XH4B'."""
    number, chars = secrets.randbelow(len(RECEIPT_ALPHABET) ** 10), []
    for _step in range(10):
        number, digit = divmod(number, len(RECEIPT_ALPHABET))
        chars.append(RECEIPT_ALPHABET[digit])
    return f"{''.join(chars[:5])}-{''.join(chars[5:])}"


def normalise_receipt(code: str) -> str:
    raw = "".join(ch for ch in (code or "").upper() if ch.isalnum())
    return f"{raw[:5]}-{raw[5:]}" if len(raw) == 10 else raw


@dataclass(frozen=True)
class Recorded:
    id: int
    receipt_code: str
    submitted_at: datetime
    #: True when this was a repeat of a submission stored before (see `record`).
    repeated: bool = False


_LOCK_FORM = Statement(
    "UPDATE issued_form SET voided_at = NULL WHERE id = :id AND voided_at IS NULL")
# RETURNING gives the new id, whether its form was voided meanwhile (SQLite: the insert
# holds the database's write lock, so no void can commit after this read), the campaign's
# tally mark and, when a ledger entry follows, the chain's end (its last entry in the
# campaign's id range, `ledger.chain_range`) read under the chain's lock: the ledger's
# append then needs no read of its own.
_INSERT_COLUMNS = """
    INSERT INTO response (campaign_id, agency_id, channel, form_id, receipt_code, opened_at,
                          submitted_at, duration_s, answers, client_hash, device_hash,
                          entered_by_id, api_key_id, submit_key)
    VALUES (:campaign_id, :agency_id, :channel, :form_id, :receipt_code, :opened_at,
            :submitted_at, :duration_s, :answers, :client_hash, :device_hash,
            :entered_by_id, :api_key_id, :submit_key)
    RETURNING id, (SELECT voided_at FROM issued_form WHERE id = :form_id),
              (SELECT response_id FROM tally_mark WHERE campaign_id = :campaign_id)"""
_INSERT = {
    False: Statement(_INSERT_COLUMNS + ", NULL, NULL", times=("opened_at", "submitted_at")),
    True: Statement(_INSERT_COLUMNS + """,
              (SELECT seq FROM ledger_entry WHERE id BETWEEN :chain_first AND :chain_last
               ORDER BY id DESC LIMIT 1),
              (SELECT hash FROM ledger_entry WHERE id BETWEEN :chain_first AND :chain_last
               ORDER BY id DESC LIMIT 1)""", times=("opened_at", "submitted_at"))}


@dataclass(frozen=True)
class Inserted:
    """What the insert's RETURNING read: the response's id, its form's void time (a void
    that raced the answer), the tally mark and the ledger chain's end."""

    id: int
    voided_at: object
    mark: int
    chain_end: ledger.ChainEnd

    @classmethod
    def of(cls, row) -> Inserted:
        return cls(row[0], row[1], row[2] or 0,
                   ledger.ChainEnd(row[3] or 0, row[4] or ledger.GENESIS))


_BY_SUBMIT_KEY = Statement(
    "SELECT id, receipt_code, submitted_at, answers FROM response WHERE submit_key = :k")
_BY_FORM_REPEAT = Statement(
    "SELECT id, receipt_code, submitted_at, answers FROM response "
    "WHERE form_id = :f AND device_hash = :d AND opened_at = :o", times=("o",))


def submit_key(campaign_id: int, agency_id: int, token: str | None,
               config=None) -> str | None:
    """The stored (keyed) idempotency key of an open-link submission to a campaign ×
    agency made with the form token `token` (`citizen.pages.issue_token`: a random key per
    rendering of the form, signed with the browser's device cookie)."""
    if not token:
        return None
    # 128 bits are plenty against collisions, and half the index of a full digest.
    return keyed_hash(f"{campaign_id}.{agency_id}.{token}", config)[:32]


class SubmissionConflict(ServiceError):
    """A submission's idempotency key (its form token) came again with other answers than
    the response stored under it: nothing of the second is stored. `receipt_code`: the
    stored response's, which stands."""

    def __init__(self, receipt_code: str):
        super().__init__(_("Phiếu này đã được gửi trước đó với câu trả lời khác (mã biên "
                           "nhận %(code)s). Lần gửi đầu được giữ; câu trả lời mới không "
                           "được lưu.", code=receipt_code))
        self.receipt_code = receipt_code


def earlier_submission(*, form_id: int | None, key: str | None, device_hash: str | None,
                       opened_at: datetime | None, answers,
                       on: Cursor | None = None) -> Recorded | None:
    """The stored response that a submission repeats, if any. An open-link submission is
    known by its key; a single-use form's answer, which its form already makes unique, by
    the form, the browser and the moment the form was shown (its signed token's).

    `answers`: the submission's clean answers as stored (canonical JSON), or a function
    giving them (None for answers that are not valid), called only when a response is
    stored under the key. A repeat is the same body sent again; the same key with other
    answers raises SubmissionConflict."""
    if form_id is not None:
        if device_hash is None or opened_at is None:
            return None
        rows = _BY_FORM_REPEAT.execute({"f": form_id, "d": device_hash, "o": opened_at},
                                       on=on).fetchall()
    elif key is not None:
        rows = _BY_SUBMIT_KEY.execute({"k": key}, on=on).fetchall()
    else:
        return None
    if not rows:
        return None
    if rows[0][3] != (answers() if callable(answers) else answers):
        raise SubmissionConflict(rows[0][1])
    return Recorded(rows[0][0], rows[0][1], as_datetime(rows[0][2]), repeated=True)


def repeated_submission(target: Target, token: str | None, device: str | None,
                        opened_at: datetime | None, answers_of,
                        config=None) -> Recorded | None:
    """The response stored before from the same signed form token, if this is a repeat
    (SubmissionConflict if that one's answers differ from `answers_of()`: the clean
    answers of this submission, or None for answers that are not valid; worked out only
    when there is a stored response to compare with)."""
    form = target.form

    def answers() -> str | None:
        clean = answers_of()
        return None if clean is None else canonical_json(clean)

    return earlier_submission(
        answers=answers,
        form_id=form.id if form is not None else None,
        key=None if form is not None else submit_key(target.campaign.id, target.agency.id,
                                                     token, config),
        device_hash=keyed_hash(device, config), opened_at=opened_at)


# -- The answer tally, kept in steps -------------------------------------------------------
# `answer_tally` counts the effective satisfaction answers of a campaign's responses up to
# its mark (`tally_mark.response_id`). A submission does not touch the tally until the
# responses after the mark span TALLY_STEP ids; that one counts them all in one upsert and
# moves the mark. The tally's pages are written once a step instead of at every
# submission, and readers (`analysis.load.tally_counts`) count the few responses after the
# mark from their answers. Responses commit in id order within a campaign (SQLite: one
# writer; PostgreSQL: under the campaign's chain lock), so no response is left behind the
# mark; a step and a correction hold the same lock.
_MARK = Statement(MARK_SQL)
_TAIL = Statement("SELECT id, agency_id, channel, answers FROM response "
                  "WHERE id > :mark AND +campaign_id = :c ORDER BY id")
_TAIL_CORRECTIONS = Statement("SELECT response_id, changes FROM response_correction "
                              "WHERE response_id > :mark ORDER BY id")
ADD_TALLY = Statement("""
    INSERT INTO answer_tally (campaign_id, agency_id, item_id, score, n)
    VALUES (:campaign_id, :agency_id, :item_id, :score, :n)
    ON CONFLICT (campaign_id, agency_id, item_id, score) DO UPDATE
    SET n = answer_tally.n + excluded.n""")
_SET_CROSS = Statement("""
    INSERT INTO cross_tally (campaign_id, agency_id, group_by, group_value, counts)
    VALUES (:c, :a, :b, :v, :n)
    ON CONFLICT (campaign_id, agency_id, group_by, group_value) DO UPDATE
    SET counts = excluded.counts""")


def add_cross(campaign_id: int, keys: list, counts: np.ndarray, on: Cursor) -> None:
    """Add count vectors (the rows of `counts`, keyed (agency_id, group_by, group_value)
    by `keys`; see `analysis.load_cross`) to the campaign's cross counts: the rows of
    those agencies are read, added to and written back — a handful a response. The caller
    holds the campaign's chain lock (a step or a correction)."""
    if not keys:
        return
    size = counts.shape[1]
    agencies = sorted({a for a, _, _ in keys})
    stored = {(a, b, v): counts for a, b, v, counts in on.execute(Statement(
        "SELECT agency_id, group_by, group_value, counts FROM cross_tally "
        "WHERE campaign_id = :c AND agency_id IN (" + ",".join(map(str, agencies)) + ")"),
        {"c": campaign_id}).fetchall()}
    counts = counts.copy()
    for k, key in enumerate(keys):
        if key in stored:
            counts[k] += decode(stored[key], size)
    encoded = counts.astype(DTYPE)
    rows = [{"c": campaign_id, "a": a, "b": b, "v": v, "n": encoded[k].tobytes()}
            for k, (a, b, v) in enumerate(keys)]
    _SET_CROSS.executemany(rows, on=on)
_SET_MARK = Statement("""
    INSERT INTO tally_mark (campaign_id, response_id) VALUES (:c, :m)
    ON CONFLICT (campaign_id) DO UPDATE SET response_id = excluded.response_id""")


def tally_mark(campaign_id: int, on: Cursor | None = None) -> int:
    """The last response id the campaign's `answer_tally` counts (0: none yet)."""
    rows = _MARK.execute({"c": campaign_id}, on=on).fetchall()
    return rows[0][0] if rows else 0


def tally_step(campaign_id: int, version, mark: int | None = None,
               on: Cursor | None = None) -> int:
    """Count the responses after the campaign's tally mark in the tally and move the mark
    past them; returns how many. The caller holds the campaign's chain lock
    (`ledger.lock_chain`) and commits. `mark`: as the caller read it under that lock."""
    sql = on or Cursor()
    if mark is None:
        mark = tally_mark(campaign_id, sql)
    rows = _TAIL.execute({"c": campaign_id, "mark": mark}, on=sql).fetchall()
    if not rows:
        return 0
    fixes: dict[int, list] = {}
    for rid, changes in _TAIL_CORRECTIONS.execute({"mark": mark}, on=sql).fetchall():
        fixes.setdefault(rid, []).append(json.loads(changes))
    counts, cross = count_kept(rows, fixes, dict(version.scored_items), version.cross_plan)
    ADD_TALLY.executemany([
        {"campaign_id": campaign_id, "agency_id": a, "item_id": i, "score": v, "n": n}
        for (a, i, v), n in sorted(counts.items())], on=sql)
    add_cross(campaign_id, list(cross.keys), cross.matrix(), sql)
    _SET_MARK.execute({"c": campaign_id, "m": rows[-1][0]}, on=sql)
    return len(rows)


def record(*, campaign, agency, channel: str, answers: dict, form=None,
           opened_at: datetime | None = None, client: str | None = None,
           device: str | None = None, entered_by_id: int | None = None,
           api_key_id: int | None = None, check_window: bool = True,
           submission: str | None = None, config=None) -> Recorded:
    """Store one response (answers already validated by `intake.validate`), count the
    tally's step when one is due (see `tally_step`) and append it to the campaign's ledger
    — all in the caller's transaction.

    A single-use form answers once: a second submission, even one racing the first,
    raises FormAlreadyUsed and leaves the transaction rolled back with nothing stored.
    Everything is prepared before the first write, so the database's write lock is held
    for the statements alone.

    `submission`: the form token the citizen's page carried. On an open link it is the
    submission's idempotency key (stored hashed, `submit_key`, under a unique index); a
    single-use form is unique already, and its repeat is the same browser's answer to the
    form shown at the same moment (`earlier_submission`). A repeat of a stored submission —
    sent again later, or at the same moment and stopped by the unique index — stores
    nothing (no response, tally count or ledger entry) and returns the stored response,
    marked `repeated`.
    `config`: the application's configuration, for a caller outside Flask's application
    context (the citizen's fast path); by default the current application's.
    """
    config = current_app.config if config is None else config
    now = utcnow()
    if check_window:
        check_open(campaign, now)
    version = spec(campaign.version_id)
    row = _response_row(campaign, agency, channel, answers, form, opened_at, now, client,
                        device, entered_by_id, api_key_id, submission, config)
    in_ledger = config["LEDGER_ENABLED"]
    if in_ledger:
        cells, not_applicable = ledger.answer_cells(version, answers)
        row.update(ledger.chain_range(campaign.id))
    sql = Cursor(write=True)
    inserted = _insert(sql, row, form, campaign.id, in_ledger, opened_at, submission)
    if isinstance(inserted, Recorded):  # a repeat: nothing stored
        return inserted
    if inserted.id - inserted.mark >= config["TALLY_STEP"]:
        tally_step(campaign.id, version, inserted.mark, on=sql)
    if in_ledger:
        ledger.append(campaign.id, "response", row["receipt_code"], chain.response_payload(
            response_id=inserted.id, receipt=row["receipt_code"], campaign=campaign.code,
            agency_code=agency.code, channel=channel, submitted_at=ledger.iso(now),
            form=form.serial if form is not None else None, export_cells=cells,
            not_applicable=not_applicable), on=sql, at=now, after=inserted.chain_end)
    return Recorded(inserted.id, row["receipt_code"], now)


def _response_row(campaign, agency, channel, answers, form, opened_at, now, client, device,
                  entered_by_id, api_key_id, submission, config) -> dict:
    """The response's columns, worked out before the transaction writes anything."""
    duration = None
    if opened_at is not None and opened_at <= now:
        duration = int((now - opened_at).total_seconds())
    return {"campaign_id": campaign.id, "agency_id": agency.id, "channel": channel,
            "form_id": form.id if form is not None else None,
            "receipt_code": new_receipt_code(), "opened_at": opened_at, "submitted_at": now,
            "duration_s": duration, "answers": canonical_json(answers),
            "client_hash": keyed_hash(client, config),
            "device_hash": keyed_hash(device, config), "entered_by_id": entered_by_id,
            "api_key_id": api_key_id,
            "submit_key": None if form is not None else submit_key(
                campaign.id, agency.id, submission, config)}


def _insert(sql: Cursor, row: dict, form, campaign_id: int, in_ledger: bool, opened_at,
            submission) -> Inserted | Recorded:
    """Insert the response under the form's and the chain's locks: what the insert read,
    or the earlier response a repeat returns. Raises FormAlreadyUsed (rolled back) for a
    second answer to a single-use form or one voided meanwhile."""
    if form is not None and not sql.sqlite:
        # Takes the form's row lock, as voiding does: a form voided at this very moment is
        # either void before this answer (refused here) or answered before the void.
        if not _LOCK_FORM.execute({"id": form.id}, on=sql).rowcount:
            raise FormAlreadyUsed(_("Phiếu này đã bị hủy."))
    if not sql.sqlite:
        # The chain's end and the tally mark are read by the insert below: under the head
        # row's lock here (so a campaign's responses also commit in id order); on SQLite
        # the insert itself takes the database's write lock before it reads.
        ledger.lock_chain(campaign_id, sql)
    try:
        inserted = Inserted.of(_INSERT[in_ledger].execute(row, on=sql).fetchall()[0])
    except IntegrityError as exc:
        rawsql.rollback()
        # The unique index stopped a repeat of a submission (committed first: the other
        # transaction's end is awaited before the index reports it) — or a second answer
        # to a single-use form.
        earlier = earlier_submission(
            form_id=row["form_id"], key=row["submit_key"], device_hash=row["device_hash"],
            opened_at=opened_at, answers=row["answers"]) if submission else None
        if earlier is not None:
            return earlier
        raise FormAlreadyUsed(_("Phiếu này đã được trả lời; mỗi phiếu chỉ dùng một lần.")) from exc
    if inserted.voided_at is not None:
        rawsql.rollback()
        raise FormAlreadyUsed(_("Phiếu này đã bị hủy."))
    return inserted


def by_receipt(code: str) -> Response | None:
    code = normalise_receipt(code)
    if len(code) != 11:
        return None
    return db.session.scalar(select(Response).filter_by(receipt_code=code))
