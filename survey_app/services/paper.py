"""Keying returned paper forms: find a form by its printed serial, enter its answers once
(or twice, blind, when the campaign asks for double entry), and let a supervisor settle
two entries that disagree. Every entry and every response is a new row."""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from .. import intake
from ..extensions import db
from ..models import Campaign, IssuedForm, Item, PaperEntry, Response, canonical_json
from ..survey_form import spec
from . import ServiceError, audit, contacts
from .campaigns import archived_now

MAX_SERIAL = 60


class UnknownSerial(ServiceError):
    """No paper form has this serial (or it names an invitation, not a paper form)."""


class EntryRefused(ServiceError):
    """The form cannot take this entry in its present state; nothing was stored."""


class InvalidAnswers(ServiceError):
    """Some keyed values are not valid answers; `errors` maps item codes to reasons."""

    def __init__(self, message: str, errors: dict[str, str]):
        super().__init__(message, details=[f"{code}: {text}" for code, text in errors.items()])
        self.errors = errors


@dataclass
class Disagreement:
    """A form keyed twice with different answers, waiting for a supervisor."""

    form: IssuedForm
    entries: list[PaperEntry]
    # item code -> the value in each entry (None when left blank), in questionnaire order
    differences: dict[str, list]

    @property
    def answers(self) -> list[dict]:
        """Each entry's answers, in the order the entries were made."""
        return [entry_answers(e) for e in self.entries]

    @property
    def contact_differs(self) -> bool:
        """Whether the entries differ about the re-check phone number (or its consent)."""
        return len({e.contact_digest for e in self.entries}) > 1

    @property
    def with_contact(self) -> bool:
        """Whether any entry has a re-check phone number."""
        return any(e.contact_digest for e in self.entries)


def normalise_serial(serial: str | None) -> str:
    return (serial or "").strip().upper()


def find_paper_form(serial: str) -> IssuedForm:
    """The paper form with this printed serial; a scanned form URL (…/f/<token>) works too."""
    raw = (serial or "").strip()
    if "/f/" in raw:
        # A QR scanner types the form's own URL: the token identifies the form exactly.
        target = intake.find_form(raw.rsplit("/f/", 1)[1].split("?", 1)[0].strip("/"))
        key = target.form.serial if target is not None else raw[:MAX_SERIAL]
        form = (db.session.scalar(select(IssuedForm).filter_by(serial=key))
                if target is not None else None)
    else:
        key = normalise_serial(raw)
        form = (db.session.scalar(select(IssuedForm).filter_by(serial=key))
                if key and len(key) <= MAX_SERIAL else None)
    if form is None:
        raise UnknownSerial(_("Không có phiếu số '%(serial)s'. Kiểm tra lại số phiếu in ở đầu "
                              "trang.", serial=key))
    if form.kind != "paper":
        raise UnknownSerial(_("'%(serial)s' là mã của một lời mời trả lời trực tuyến, không "
                              "phải phiếu giấy; không nhập được.", serial=key))
    return form


def entries_for(form: IssuedForm) -> list[PaperEntry]:
    return list(db.session.scalars(
        select(PaperEntry).filter_by(form_id=form.id).order_by(PaperEntry.id)))


def stage(form: IssuedForm) -> str:
    """Where a paper form is: online | paper | void | disagreement | awaiting_second | open."""
    if form.response is not None:
        return "online" if form.response.channel != "paper" else "paper"
    if form.voided_at is not None:
        return "void"
    n = len(entries_for(form))
    if n >= 2:
        return "disagreement"
    return "awaiting_second" if n == 1 else "open"


def check_enterable(form: IssuedForm, clerk_id: int, *, lock: bool = True) -> None:
    """Refuse (EntryRefused) when this clerk may not key this form now. `lock`: the
    caller is about to write (see `campaigns.archived_now`); a page that only shows the
    entry screen passes False."""
    serial = form.serial
    if archived_now(form.campaign, lock=lock) is not None:
        raise EntryRefused(_("Phiếu %(serial)s thuộc đợt khảo sát đã lưu trữ; không nhận "
                             "thêm phiếu.", serial=serial))
    if form.response is not None:
        if form.response.channel != "paper":
            raise EntryRefused(_("Phiếu %(serial)s đã được trả lời trực tuyến (quét mã QR); "
                                 "không nhập phiếu giấy này. Hãy để riêng phiếu giấy.",
                                 serial=serial))
        raise EntryRefused(_("Phiếu %(serial)s đã được nhập và tính vào kết quả; không nhập "
                             "lại.", serial=serial))
    if form.voided_at is not None:
        reason = f" ({form.void_reason})" if form.void_reason else ""
        raise EntryRefused(_("Phiếu %(serial)s đã bị hủy%(reason)s; không nhập được.",
                             serial=serial, reason=reason))
    if not form.campaign.double_entry:
        return
    entries = entries_for(form)
    if any(e.clerk_id == clerk_id for e in entries):
        raise EntryRefused(_("Bạn đã nhập phiếu %(serial)s; lần nhập thứ hai phải do một "
                             "người khác thực hiện.", serial=serial))
    if len(entries) >= 2:
        raise EntryRefused(_("Phiếu %(serial)s đã được nhập hai lần và hai lần lệch nhau; "
                             "đang chờ quản trị viên xử lý.", serial=serial))


def _validated(form: IssuedForm, answers: dict, phone: str | None = None,
               consent: bool = False) -> tuple[dict, str | None]:
    """The clean answers and the re-check number to keep (None: none), checked by the
    citizen page's rule (contacts.validate_contact); InvalidAnswers names every fault, the
    number's under the key contacts.PHONE_FIELD."""
    clean, errors = intake.validate(spec(form.campaign.version_id), answers, require=False)
    number = None
    try:
        number = contacts.validate_contact(phone, consent is True)
    except contacts.InvalidContact as exc:
        errors = {**errors, contacts.PHONE_FIELD: exc.message}
    if errors:
        raise InvalidAnswers(_("Phiếu %(serial)s: có %(n)d câu chưa đúng; chưa lưu gì.",
                               serial=form.serial, n=len(errors)), errors)
    return clean, number


def contact_digest(form: IssuedForm, number: str | None) -> str | None:
    """What a paper entry keeps of the number it keyed: a hash keyed with the application's
    secret and the form (a bare hash of a phone number is easily reversed)."""
    if not number:
        return None
    secret = current_app.config["SECRET_KEY"]
    key = secret if isinstance(secret, bytes) else str(secret).encode()
    return hmac.new(key, f"{form.serial}\n{number}".encode(), "sha256").hexdigest()


def _record(form: IssuedForm, clean: dict, user_id: int, number: str | None = None
            ) -> Response:
    try:
        # The form register was checked (`check_enterable`); a paper form returned after
        # the campaign closed still counts.
        target = intake.Target(form.campaign, form.agency, form=form)
        response = intake.accept(target, clean, channel="paper", require=False,
                                 entered_by_id=user_id, refuse=False)
    except intake.FormAlreadyUsed as exc:
        # Answered online (or entered) a moment ago, by someone else.
        raise EntryRefused(_("Phiếu %(serial)s vừa được trả lời hoặc nhập bởi người khác; "
                             "không lưu lần nhập này.", serial=form.serial)) from exc
    if number:
        # Consented on the paper; kept apart from the answers, erased once checked.
        contacts.store_contact(response.id, number, True)
    # The form is settled: the entries' hashes of the number are no longer needed.
    db.session.execute(update(PaperEntry).where(PaperEntry.form_id == form.id,
                                                PaperEntry.contact_digest.is_not(None))
                       .values(contact_digest=None).execution_options(
                           synchronize_session=False))
    return response


def enter(form: IssuedForm, answers: dict, clerk_id: int, *, phone: str | None = None,
          consent: bool = False) -> Response | PaperEntry:
    """Key one paper form, with the re-check phone number the citizen may have written
    (`consent`: the box is ticked). Returns the counted Response, or the PaperEntry when
    the campaign needs double entry and the form is not settled yet (see `stage`): two
    entries settle a form when they agree on the answers and on the number."""
    check_enterable(form, clerk_id)
    clean, number = _validated(form, answers, phone, consent)
    if not form.campaign.double_entry:
        return _record(form, clean, clerk_id, number)
    earlier = entries_for(form)
    entry = PaperEntry(form_id=form.id, clerk_id=clerk_id, answers=canonical_json(clean),
                       contact_digest=contact_digest(form, number))
    db.session.add(entry)
    try:
        db.session.flush()
    except IntegrityError as exc:
        db.session.rollback()
        raise EntryRefused(_("Bạn đã nhập phiếu %(serial)s; lần nhập thứ hai phải do một "
                             "người khác thực hiện.", serial=form.serial)) from exc
    if earlier and earlier[0].answers == entry.answers \
            and earlier[0].contact_digest == entry.contact_digest:
        return _record(form, clean, clerk_id, number)
    return entry


def entry_answers(entry: PaperEntry) -> dict:
    return json.loads(entry.answers)


def _differences(items: list[Item], entries: list[PaperEntry]) -> dict[str, list]:
    values = [entry_answers(e) for e in entries]
    out = {}
    for item in items:
        row = [v.get(item.code) for v in values]
        if any(r != row[0] for r in row[1:]):
            out[item.code] = row
    return out


def disagreement(form: IssuedForm) -> Disagreement:
    """The two (or more) entries of an unsettled form; EntryRefused if there is none."""
    if form.response is not None:
        raise EntryRefused(_("Phiếu %(serial)s đã được xử lý và tính vào kết quả.",
                             serial=form.serial))
    entries = entries_for(form)
    if len(entries) < 2:
        raise EntryRefused(_("Phiếu %(serial)s chưa có hai lần nhập; không có gì để xử lý.",
                             serial=form.serial))
    return Disagreement(form, entries, _differences(form.campaign.version.items, entries))


def disagreements(campaign: Campaign) -> list[Disagreement]:
    """Forms of the campaign keyed at least twice, differently, and not yet counted."""
    keyed = (select(PaperEntry.form_id)
             .group_by(PaperEntry.form_id).having(func.count(PaperEntry.id) >= 2))
    forms = db.session.scalars(
        select(IssuedForm)
        .outerjoin(Response, Response.form_id == IssuedForm.id)
        .where(IssuedForm.campaign_id == campaign.id, Response.id.is_(None),
               IssuedForm.id.in_(keyed))
        .order_by(IssuedForm.number))
    items = campaign.version.items
    out = []
    for form in forms:
        entries = entries_for(form)
        out.append(Disagreement(form, entries, _differences(items, entries)))
    return out


def resolve(form: IssuedForm, answers: dict, supervisor_id: int, *,
            phone: str | None = None, consent: bool = False) -> Response:
    """Record the supervisor's final answers (and re-check number, read from the paper)
    for a form whose two entries disagree."""
    if archived_now(form.campaign) is not None:
        raise EntryRefused(_("Phiếu %(serial)s thuộc đợt khảo sát đã lưu trữ; không nhận "
                             "thêm phiếu.", serial=form.serial))
    if form.response is not None:
        raise EntryRefused(_("Phiếu %(serial)s đã được xử lý và tính vào kết quả; không "
                             "xử lý lại.", serial=form.serial))
    if form.voided_at is not None:
        raise EntryRefused(_("Phiếu %(serial)s đã bị hủy; không nhập được.", serial=form.serial))
    case_ = disagreement(form)
    clean, number = _validated(form, answers, phone, consent)
    response = _record(form, clean, supervisor_id, number)
    audit.record("paper.resolve", "issued_form", form.serial,
                 before={"entries": [e.id for e in case_.entries],
                         "differences": case_.differences},
                 after={"response": response.receipt_code,
                        "chosen": {code: clean.get(code) for code in case_.differences},
                        "contact_differed": case_.contact_differs})
    return response


def open_campaigns() -> list[Campaign]:
    """Campaigns that still take paper entries (not archived), newest first."""
    return list(db.session.scalars(
        select(Campaign).where(Campaign.archived_at.is_(None))
        .order_by(Campaign.opens_at.desc())))
