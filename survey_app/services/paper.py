"""Keying returned paper forms: find a form by its printed serial, enter its answers once
(or twice, blind, when the campaign asks for double entry), and let a supervisor settle
two entries that disagree. Every entry and every response is a new row."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import Campaign, IssuedForm, Item, PaperEntry, Response, canonical_json
from ..survey_form import spec
from . import ServiceError, audit, responses
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


def normalise_serial(serial: str | None) -> str:
    return (serial or "").strip().upper()


def find_paper_form(serial: str) -> IssuedForm:
    """The paper form with this printed serial; a scanned form URL (…/f/<token>) works too."""
    raw = (serial or "").strip()
    if "/f/" in raw:
        # A QR scanner types the form's own URL: the token identifies the form exactly.
        target = responses.find_form(raw.rsplit("/f/", 1)[1].split("?", 1)[0].strip("/"))
        key = target.form.serial if target is not None else raw[:MAX_SERIAL]
        form = (db.session.scalar(select(IssuedForm).filter_by(serial=key))
                if target is not None else None)
    else:
        key = normalise_serial(raw)
        form = (db.session.scalar(select(IssuedForm).filter_by(serial=key))
                if key and len(key) <= MAX_SERIAL else None)
    if form is None:
        raise UnknownSerial(f"Không có phiếu số '{key}'. Kiểm tra lại số phiếu in ở đầu trang.")
    if form.kind != "paper":
        raise UnknownSerial(f"'{key}' là mã của một lời mời trả lời trực tuyến, không phải "
                            "phiếu giấy; không nhập được.")
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
        raise EntryRefused(f"Phiếu {serial} thuộc đợt khảo sát đã lưu trữ; không nhận thêm "
                           "phiếu.")
    if form.response is not None:
        if form.response.channel != "paper":
            raise EntryRefused(f"Phiếu {serial} đã được trả lời trực tuyến (quét mã QR); "
                               "không nhập phiếu giấy này. Hãy để riêng phiếu giấy.")
        raise EntryRefused(f"Phiếu {serial} đã được nhập và tính vào kết quả; không nhập lại.")
    if form.voided_at is not None:
        reason = f" ({form.void_reason})" if form.void_reason else ""
        raise EntryRefused(f"Phiếu {serial} đã bị hủy{reason}; không nhập được.")
    if not form.campaign.double_entry:
        return
    entries = entries_for(form)
    if any(e.clerk_id == clerk_id for e in entries):
        raise EntryRefused(f"Bạn đã nhập phiếu {serial}; lần nhập thứ hai phải do một người "
                           "khác thực hiện.")
    if len(entries) >= 2:
        raise EntryRefused(f"Phiếu {serial} đã được nhập hai lần và hai lần lệch nhau; "
                           "đang chờ quản trị viên xử lý.")


def _validated(form: IssuedForm, answers: dict) -> dict:
    clean, errors = responses.validate_answers(spec(form.campaign.version_id), answers,
                                               require=False)
    if errors:
        raise InvalidAnswers(f"Phiếu {form.serial}: có {len(errors)} câu chưa đúng; "
                             "chưa lưu gì.", errors)
    return clean


def _record(form: IssuedForm, clean: dict, user_id: int) -> Response:
    try:
        return responses.record(campaign=form.campaign, agency=form.agency,
                                channel="paper", answers=clean, form=form,
                                entered_by_id=user_id, check_window=False)
    except responses.FormAlreadyUsed as exc:
        # Answered online (or entered) a moment ago, by someone else.
        raise EntryRefused(f"Phiếu {form.serial} vừa được trả lời hoặc nhập bởi người khác; "
                           "không lưu lần nhập này.") from exc


def enter(form: IssuedForm, answers: dict, clerk_id: int) -> Response | PaperEntry:
    """Key one paper form. Returns the counted Response, or the PaperEntry when the
    campaign needs double entry and the form is not settled yet (see `stage`)."""
    check_enterable(form, clerk_id)
    clean = _validated(form, answers)
    if not form.campaign.double_entry:
        return _record(form, clean, clerk_id)
    earlier = entries_for(form)
    entry = PaperEntry(form_id=form.id, clerk_id=clerk_id, answers=canonical_json(clean))
    db.session.add(entry)
    try:
        db.session.flush()
    except IntegrityError as exc:
        db.session.rollback()
        raise EntryRefused(f"Bạn đã nhập phiếu {form.serial}; lần nhập thứ hai phải do một "
                           "người khác thực hiện.") from exc
    if earlier and earlier[0].answers == entry.answers:
        return _record(form, clean, clerk_id)
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
        raise EntryRefused(f"Phiếu {form.serial} đã được xử lý và tính vào kết quả.")
    entries = entries_for(form)
    if len(entries) < 2:
        raise EntryRefused(f"Phiếu {form.serial} chưa có hai lần nhập; không có gì để xử lý.")
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


def resolve(form: IssuedForm, answers: dict, supervisor_id: int) -> Response:
    """Record the supervisor's final answers for a form whose two entries disagree."""
    if archived_now(form.campaign) is not None:
        raise EntryRefused(f"Phiếu {form.serial} thuộc đợt khảo sát đã lưu trữ; không nhận "
                           "thêm phiếu.")
    if form.response is not None:
        raise EntryRefused(f"Phiếu {form.serial} đã được xử lý và tính vào kết quả; không "
                           "xử lý lại.")
    if form.voided_at is not None:
        raise EntryRefused(f"Phiếu {form.serial} đã bị hủy; không nhập được.")
    case_ = disagreement(form)
    clean = _validated(form, answers)
    response = _record(form, clean, supervisor_id)
    audit.record("paper.resolve", "issued_form", form.serial,
                 before={"entries": [e.id for e in case_.entries],
                         "differences": case_.differences},
                 after={"response": response.receipt_code,
                        "chosen": {code: clean.get(code) for code in case_.differences}})
    return response


STAGES = ("open", "awaiting_second", "disagreement", "paper", "online", "void")


def pending_counts(campaign: Campaign) -> dict[str, int]:
    """How many of the campaign's paper forms are in each stage (keys: STAGES, total)."""
    keyed = (select(PaperEntry.form_id, func.count(PaperEntry.id).label("n"))
             .group_by(PaperEntry.form_id).subquery())
    stage_expr = case(
        (Response.channel == "paper", "paper"),
        (Response.id.is_not(None), "online"),
        (IssuedForm.voided_at.is_not(None), "void"),
        (keyed.c.n >= 2, "disagreement"),
        (keyed.c.n == 1, "awaiting_second"),
        else_="open",
    ).label("stage")
    staged = (select(stage_expr)
              .select_from(IssuedForm)
              .outerjoin(Response, Response.form_id == IssuedForm.id)
              .outerjoin(keyed, keyed.c.form_id == IssuedForm.id)
              .where(IssuedForm.campaign_id == campaign.id, IssuedForm.kind == "paper")
              .subquery())
    counts = dict.fromkeys(STAGES, 0)
    for name, n in db.session.execute(
            select(staged.c.stage, func.count()).group_by(staged.c.stage)):
        counts[name] = n
    counts["total"] = sum(counts[s] for s in STAGES)
    return counts


def open_campaigns() -> list[Campaign]:
    """Campaigns that still take paper entries (not archived), newest first."""
    return list(db.session.scalars(
        select(Campaign).where(Campaign.archived_at.is_(None))
        .order_by(Campaign.opens_at.desc())))
