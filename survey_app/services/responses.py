"""Accepting a response: check it against the campaign's questionnaire, store it once,
and count its answers in the tally, all in the caller's transaction."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from analysis import ledger as chain
from analysis.load import MARK_SQL, count_answers

from .. import ledger, rawsql
from ..extensions import db
from ..models import (
    Campaign,
    Response,
    canonical_json,
    utcnow,
)
from ..questions import InvalidAnswer, get_type
from ..rawsql import Cursor, Statement, as_datetime
from ..survey_form import spec
from . import ServiceError
from .issuance import hash_token

RECEIPT_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


class FormAlreadyUsed(ServiceError):
    """The single-use form was answered already (possibly a moment ago, concurrently)."""


class CampaignClosed(ServiceError):
    pass


class FormVoid(ServiceError):
    pass


class FormExpired(ServiceError):
    pass


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


def answer_rules(items) -> tuple[dict, tuple[str, ...]]:
    """(value parser by item code, codes of the required items) for a questionnaire's
    items: each question type's `parser`, built once per version."""
    return ({item.code: get_type(item.type).parser(item) for item in items},
            tuple(item.code for item in items if item.required))


def validate_answers(version, answers: dict, *, require: bool = True
                     ) -> tuple[dict, dict[str, str]]:
    """Check raw answers (from the web form, the API or a paper entry) against the
    questionnaire.

    Returns (clean answers, errors by item code). Unknown items, values a question type
    refuses (`questions.QuestionType.parser`) and (with `require`) missing required
    answers are errors. Paper forms pass require=False: a citizen may leave a printed
    question blank, and a blank is recorded as unanswered, not as "not applicable".
    """
    # A version snapshot (`survey_form.spec`) keeps its rules; an ORM version is read.
    parsers, required = getattr(version, "answer_rules", None) or answer_rules(version.items)
    clean, errors = {}, {}
    if not isinstance(answers, dict):
        return {}, {"_": _("answers phải là một đối tượng {mã câu hỏi: giá trị}")}
    for code, value in answers.items():
        parse = parsers.get(code)
        if parse is None:
            errors[str(code)] = _("không có câu hỏi mã này")
            continue
        if value is None or value == "" or value == []:
            continue
        try:
            value = parse(value)
        except InvalidAnswer as refused:
            errors[code] = str(refused.message)
            continue
        if value is not None:
            clean[code] = value
    for code in required if require else ():
        if code not in clean and code not in errors:
            errors[code] = _("câu hỏi bắt buộc chưa được trả lời")
    return clean, errors


def check_open(campaign: Campaign, at: datetime | None = None) -> None:
    at = at or utcnow()
    if campaign.archived_at is not None or at >= campaign.closes_at:
        raise CampaignClosed(_("Đợt khảo sát đã kết thúc; không nhận thêm phiếu."))
    if at < campaign.opens_at:
        raise CampaignClosed(_("Đợt khảo sát chưa bắt đầu."))


@dataclass(frozen=True)
class Target:
    """What a survey link points at, read in one query (no ORM objects on the hot path).

    Duck-types the Campaign, Agency and IssuedForm attributes that `record` and the
    citizen pages use."""

    campaign: SimpleNamespace
    agency: SimpleNamespace
    form: SimpleNamespace | None = None
    open_code: str | None = None

    @property
    def channel(self) -> str:
        """How a response through this link is marked."""
        return "open" if self.open_code else "single_use"


_TARGET_COLUMNS = """
    c.id AS c_id, c.code AS c_code, c.name AS c_name, c.version_id, c.opens_at, c.closes_at,
    c.archived_at, a.id AS a_id, a.code AS a_code, a.name AS a_name"""
_BY_OPEN_CODE = Statement(f"""
    SELECT {_TARGET_COLUMNS}, s.open_code FROM campaign_agency s
    JOIN campaign c ON c.id = s.campaign_id JOIN agency a ON a.id = s.agency_id
    WHERE s.open_code = :code""")
_BY_TOKEN = Statement(f"""
    SELECT {_TARGET_COLUMNS}, f.id AS f_id, f.serial, f.voided_at, f.expires_at,
           r.id AS answered
    FROM issued_form f JOIN campaign c ON c.id = f.campaign_id JOIN agency a ON a.id = f.agency_id
    LEFT JOIN response r ON r.form_id = f.id
    WHERE f.token_hash = :h""")


def _target(row, **extra) -> Target:
    campaign = SimpleNamespace(
        id=row[0], code=row[1], name=row[2], version_id=row[3], opens_at=as_datetime(row[4]),
        closes_at=as_datetime(row[5]), archived_at=as_datetime(row[6]))
    agency = SimpleNamespace(id=row[7], code=row[8], name=row[9])
    return Target(campaign=campaign, agency=agency, **extra)


def find_form(token: str) -> Target | None:
    """The single-use link's form, campaign and agency, or None for an unknown token."""
    if not token or len(token) > 100:
        return None
    rows = _BY_TOKEN.execute({"h": hash_token(token)}).fetchall()
    if not rows:
        return None
    row = rows[0]
    form = SimpleNamespace(id=row[10], serial=row[11], answered=row[14] is not None,
                           voided_at=as_datetime(row[12]), expires_at=as_datetime(row[13]))
    return _target(row, form=form)


def find_scope(open_code: str) -> Target | None:
    """The open link's campaign and agency, or None for an unknown code."""
    if not open_code or len(open_code) > 16:
        return None
    rows = _BY_OPEN_CODE.execute({"code": open_code}).fetchall()
    return _target(rows[0], open_code=rows[0][10]) if rows else None


def refusal(target: Target, at: datetime | None = None) -> ServiceError | None:
    """Why this link cannot take an answer now (a FormAlreadyUsed, a CampaignClosed or a
    plain ServiceError for a void or expired form), or None when it can."""
    form = target.form
    if form is not None:
        if form.answered:
            return FormAlreadyUsed(_("Phiếu này đã được trả lời; mỗi phiếu chỉ dùng một lần."))
        if form.voided_at is not None:
            return FormVoid(_("Phiếu này đã bị hủy và không dùng được."))
        if form.expires_at is not None and (at or utcnow()) >= form.expires_at:
            return FormExpired(_("Lời mời trả lời khảo sát này đã hết hạn."))
    try:
        check_open(target.campaign, at)
    except CampaignClosed as exc:
        return exc
    return None


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
# tally mark and, when a ledger entry follows, the chain's end read under the chain's lock
# (`ledger.HEAD_COLUMNS`, with the parameters of `ledger.chain_range`).
_INSERT_RESPONSE = """
    INSERT INTO response (campaign_id, agency_id, channel, form_id, receipt_code, opened_at,
                          submitted_at, duration_s, answers, client_hash, device_hash,
                          entered_by_id, api_key_id, submit_key)
    VALUES (:campaign_id, :agency_id, :channel, :form_id, :receipt_code, :opened_at,
            :submitted_at, :duration_s, :answers, :client_hash, :device_hash,
            :entered_by_id, :api_key_id, :submit_key)
    RETURNING id, (SELECT voided_at FROM issued_form WHERE id = :form_id),
              (SELECT response_id FROM tally_mark WHERE campaign_id = :campaign_id)"""
_INSERT = {
    False: Statement(_INSERT_RESPONSE, times=("opened_at", "submitted_at")),
    True: Statement(_INSERT_RESPONSE + ledger.HEAD_COLUMNS, times=("opened_at", "submitted_at"))}
_BY_SUBMIT_KEY = Statement(
    "SELECT id, receipt_code, submitted_at FROM response WHERE submit_key = :k")
_BY_FORM_REPEAT = Statement(
    "SELECT id, receipt_code, submitted_at FROM response "
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


def earlier_submission(*, form_id: int | None, key: str | None, device_hash: str | None,
                       opened_at: datetime | None, on: Cursor | None = None
                       ) -> Recorded | None:
    """The stored response that a submission repeats, if any. An open-link submission is
    known by its key; a single-use form's answer, which its form already makes unique, by
    the form, the browser and the moment the form was shown (its signed token's)."""
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
    return Recorded(rows[0][0], rows[0][1], as_datetime(rows[0][2]), repeated=True)


def repeated_submission(target: Target, token: str | None, device: str | None,
                        opened_at: datetime | None, config=None) -> Recorded | None:
    """The response stored before from the same signed form token, if this is a repeat."""
    form = target.form
    return earlier_submission(
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
_TAIL = Statement("SELECT id, agency_id, answers FROM response "
                  "WHERE id > :mark AND +campaign_id = :c ORDER BY id")
_TAIL_CORRECTIONS = Statement("SELECT response_id, changes FROM response_correction "
                              "WHERE response_id > :mark ORDER BY id")
_ADD_TALLY = Statement("""
    INSERT INTO answer_tally (campaign_id, agency_id, item_id, score, n)
    VALUES (:campaign_id, :agency_id, :item_id, :score, :n)
    ON CONFLICT (campaign_id, agency_id, item_id, score) DO UPDATE
    SET n = answer_tally.n + excluded.n""")
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
    counts = count_answers(rows, fixes, dict(version.scored_items))
    _ADD_TALLY.executemany([
        {"campaign_id": campaign_id, "agency_id": a, "item_id": i, "score": v, "n": n}
        for (a, i, v), n in sorted(counts.items())], on=sql)
    _SET_MARK.execute({"c": campaign_id, "m": rows[-1][0]}, on=sql)
    return len(rows)


def record(*, campaign, agency, channel: str, answers: dict, form=None,
           opened_at: datetime | None = None, client: str | None = None,
           device: str | None = None, entered_by_id: int | None = None,
           api_key_id: int | None = None, check_window: bool = True,
           submission: str | None = None, config=None) -> Recorded:
    """Store one response (answers already validated), count the tally's step when one is
    due (see `tally_step`) and append it to the campaign's ledger — all in the caller's
    transaction.

    A single-use form answers once: a second submission, even one racing the first,
    raises FormAlreadyUsed and leaves the session rolled back with nothing stored.
    This is the path every citizen's submission takes: everything is prepared before the
    first write, so the database's write lock is held for the statements alone.

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
    duration = None
    if opened_at is not None and opened_at <= now:
        duration = int((now - opened_at).total_seconds())
    receipt = new_receipt_code()
    row = {"campaign_id": campaign.id, "agency_id": agency.id, "channel": channel,
           "form_id": form.id if form is not None else None, "receipt_code": receipt,
           "opened_at": opened_at, "submitted_at": now, "duration_s": duration,
           "answers": canonical_json(answers), "client_hash": keyed_hash(client, config),
           "device_hash": keyed_hash(device, config), "entered_by_id": entered_by_id,
           "api_key_id": api_key_id,
           "submit_key": None if form is not None else submit_key(
               campaign.id, agency.id, submission, config)}
    in_ledger = config["LEDGER_ENABLED"]
    if in_ledger:
        cells, not_applicable = ledger.answer_cells(version, answers)
        row.update(ledger.chain_range(campaign.id))

    sql = Cursor(write=True)
    if form is not None and not sql.sqlite:
        # Takes the form's row lock, as voiding does: a form voided at this very moment is
        # either void before this answer (refused here) or answered before the void.
        if not _LOCK_FORM.execute({"id": form.id}, on=sql).rowcount:
            raise FormAlreadyUsed(_("Phiếu này đã bị hủy."))
    if not sql.sqlite:
        # The chain's end and the tally mark are read by the insert below: under the head
        # row's lock here (so a campaign's responses also commit in id order); on SQLite
        # the insert itself takes the database's write lock before it reads.
        ledger.lock_chain(campaign.id, sql)
    try:
        inserted = _INSERT[in_ledger].execute(row, on=sql).fetchall()
    except IntegrityError as exc:
        rawsql.rollback()
        # The unique index stopped a repeat of a submission (committed first: the other
        # transaction's end is awaited before the index reports it) — or a second answer
        # to a single-use form.
        earlier = earlier_submission(
            form_id=row["form_id"], key=row["submit_key"], device_hash=row["device_hash"],
            opened_at=opened_at) if submission else None
        if earlier is not None:
            return earlier
        raise FormAlreadyUsed(_("Phiếu này đã được trả lời; mỗi phiếu chỉ dùng một lần.")) from exc
    response_id, voided_at, mark = inserted[0][:3]
    if voided_at is not None:
        rawsql.rollback()
        raise FormAlreadyUsed(_("Phiếu này đã bị hủy."))
    if response_id - (mark or 0) >= config["TALLY_STEP"]:
        tally_step(campaign.id, version, mark or 0, on=sql)
    if in_ledger:
        ledger.append(campaign.id, "response", receipt, chain.response_payload(
            response_id=response_id, receipt=receipt, campaign=campaign.code,
            agency_code=agency.code, channel=channel, submitted_at=ledger.iso(now),
            form=form.serial if form is not None else None, export_cells=cells,
            not_applicable=not_applicable), on=sql, at=now, after=inserted[0][3:])
    return Recorded(response_id, receipt, now)


def by_receipt(code: str) -> Response | None:
    code = normalise_receipt(code)
    if len(code) != 11:
        return None
    return db.session.scalar(select(Response).filter_by(receipt_code=code))
