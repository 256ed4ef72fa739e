"""The issuance register: numbered paper forms and invitations, each with its own
single-use link, and the open link printed on an agency's poster.

A single-use link's token exists only in what this module returns (the printed form, the
CSV, the API answer); the database keeps its sha256, so a copy of the database cannot be
turned back into working links.
"""

from __future__ import annotations

import csv
import io
import ipaddress
import secrets
from datetime import date, datetime
from urllib.parse import urlsplit

from flask import current_app, has_request_context
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import case, func, select, update

from .. import ledger, printing
from ..extensions import db
from ..intake.links import hash_token
from ..models import (
    Agency,
    Campaign,
    CampaignAgency,
    FormBatch,
    IssuedForm,
    Response,
    User,
    utcnow,
)
from ..printing.poster import FORMATS as POSTER_FORMATS
from ..wording import said
from . import ServiceError, audit, translations
from .agencies import get_by_code
from .campaigns import LOCAL_TZ, ensure_writable, get_campaign

MAX_BATCH = 5000
COLLECTOR_MAX = 120
PROCEDURE_MAX = 60
STATES = ("issued", "online", "paper", "void", "not_returned")


# --- links ------------------------------------------------------------------------------

def _base() -> str:
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/")


# Names that only resolve inside a machine or a local network (RFC 6761, 6762, 8375).
LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".lan", ".home.arpa", ".intranet")


def print_url_problem(url: str | None = None) -> str | None:
    """Why links under `url` (default: PUBLIC_BASE_URL) could not be opened by a citizen's
    phone once printed — loopback, private or link-local address, a bare host name, not
    https — or None when it is a public https address.

    The one rule for every printed QR code (posters, numbered forms): a printed link
    cannot be reissued, since only its hash is kept. Names are not resolved (no network).
    """
    url = _base() if url is None else url.strip()
    reasons = []
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").rstrip(".").lower()
        parts.port  # noqa: B018 (raises ValueError on a malformed port)
    except ValueError:
        parts, host = None, ""
    if parts is None or parts.scheme not in ("http", "https") or not host:
        reasons.append(_("không phải một địa chỉ web hợp lệ"))
    else:
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            ip = None
        if ip is not None:
            ip = getattr(ip, "ipv4_mapped", None) or ip
            if ip.is_loopback:
                reasons.append(_("là địa chỉ loopback (chỉ chính máy chủ mở được)"))
            elif ip.is_link_local:
                reasons.append(_("là địa chỉ link-local"))
            elif ip.is_private:
                reasons.append(_("là địa chỉ mạng nội bộ (private)"))
            elif not ip.is_global:
                reasons.append(_("không phải địa chỉ công khai trên Internet"))
        elif host == "localhost" or host.endswith(LOCAL_SUFFIXES):
            reasons.append(_("là tên máy nội bộ"))
        elif "." not in host:
            reasons.append(_("là tên máy không có tên miền"))
        if parts.scheme != "https":
            reasons.append(_("không dùng https"))
    if not reasons:
        return None
    return _("Địa chỉ công khai PUBLIC_BASE_URL '%(url)s' %(reasons)s: mã QR in ra sẽ không "
             "mở được từ điện thoại của người dân, và đường dẫn đã in không cấp lại được "
             "(hệ thống chỉ lưu mã băm).", url=url, reasons=_(" và ").join(reasons))


def check_print_url(allow_local: bool, how_to_allow: str) -> None:
    """Refuse (ServiceError) to print under a URL citizens cannot open, unless the
    operator said they understand (`allow_local`); `how_to_allow` says how to say so."""
    problem = print_url_problem()
    if problem and not allow_local:
        raise ServiceError(_("%(problem)s Hãy đặt PUBLIC_BASE_URL là địa chỉ https công "
                             "khai (ví dụ https://khaosat.tuyenquang.gov.vn), hoặc nếu chỉ in "
                             "thử, %(how)s.", problem=problem, how=how_to_allow))


def open_url(scope: CampaignAgency) -> str:
    """The campaign×agency's open link, printed on its poster."""
    return f"{_base()}/k/{scope.open_code}"


def form_url(token: str) -> str:
    return f"{_base()}/f/{token}"


def new_token() -> tuple[str, str]:
    """A fresh single-use token (128 bits from the OS's CSPRNG) and its hash."""
    token = secrets.token_urlsafe(16)
    return token, hash_token(token)


def serial_for(campaign: Campaign, number: int) -> str:
    return f"{campaign.code.upper()}-{number:06d}"


# --- look-ups ---------------------------------------------------------------------------

def get_scope(campaign_code: str, agency_code: str) -> tuple[Campaign, Agency, CampaignAgency]:
    campaign = get_campaign(campaign_code)
    agency = get_by_code(agency_code)
    return campaign, agency, _scope_of(campaign, agency)


def _scope_of(campaign: Campaign, agency: Agency) -> CampaignAgency:
    scope = db.session.scalar(
        select(CampaignAgency).filter_by(campaign_id=campaign.id, agency_id=agency.id))
    if scope is None:
        raise ServiceError(_("Cơ quan '%(agency)s' không thuộc phạm vi đợt khảo sát "
                             "'%(campaign)s'.", agency=agency.code, campaign=campaign.code))
    return scope


def check_issuable(campaign: Campaign) -> None:
    if campaign.archived_at is not None:
        raise ServiceError(_("Đợt khảo sát '%(campaign)s' đã lưu trữ; không phát hành thêm "
                             "phiếu.", campaign=campaign.code))
    if utcnow() >= campaign.closes_at:
        raise ServiceError(_("Đợt khảo sát '%(campaign)s' đã đóng; không phát hành thêm phiếu.",
                             campaign=campaign.code))


def _take_numbers(campaign: Campaign, count: int) -> int:
    """Reserve `count` consecutive numbers of the campaign; returns the first.

    One atomic UPDATE … RETURNING: on PostgreSQL it locks the campaign row until the
    transaction ends, so a concurrent issuance waits and then continues after these
    numbers; on SQLite it takes the database's write lock, with the same effect. (A read
    followed by a write would let both read the same value.)
    """
    after = db.session.execute(
        update(Campaign).where(Campaign.id == campaign.id)
        .values(next_serial=Campaign.next_serial + count)
        .returning(Campaign.next_serial)
        .execution_options(synchronize_session="fetch")
    ).scalar_one()
    return after - count


def _current_user_id() -> int | None:
    if has_request_context() and current_user.is_authenticated:
        return current_user.id
    return None


# --- issuing ----------------------------------------------------------------------------

def issue_batch(campaign: Campaign, agency: Agency, count: int, collector: str,
                deadline: date | None = None) -> tuple[FormBatch, list[tuple[str, str]]]:
    """Issue `count` numbered paper forms of `agency` to `collector`.

    Returns the batch and [(serial, url)] in serial order. The urls hold the tokens and
    are returned only here: print them (or hand them over) before the caller commits.
    """
    errors: list[str] = []
    collector = " ".join((collector or "").split())
    if not collector:
        errors.append(_("thiếu người nhận phiếu (người đi phát phiếu)"))
    elif len(collector) > COLLECTOR_MAX:
        errors.append(_("tên người nhận quá dài (tối đa %(n)d ký tự)", n=COLLECTOR_MAX))
    if isinstance(count, bool) or not isinstance(count, int):
        errors.append(_("số phiếu phải là một số nguyên từ 1 đến %(n)d", n=MAX_BATCH))
    elif not 1 <= count <= MAX_BATCH:
        errors.append(_("số phiếu phải từ 1 đến %(n)d (đã nhập: %(count)d)", n=MAX_BATCH,
                         count=count))
    if deadline is not None and deadline < datetime.now(LOCAL_TZ).date():
        errors.append(_("hạn nộp lại %(date)s đã qua", date=deadline.isoformat()))
    try:
        check_issuable(campaign)
    except ServiceError as exc:
        errors.append(exc.message)
    try:
        _scope_of(campaign, agency)
    except ServiceError as exc:
        errors.append(exc.message)
    if errors:
        raise ServiceError(_("Không phát hành được phiếu; không có gì thay đổi."), details=errors)

    first = _take_numbers(campaign, count)
    last = first + count - 1
    batch = FormBatch(campaign=campaign, agency=agency, collector=collector, count=count,
                      first_number=first, last_number=last, deadline=deadline,
                      issued_by_id=_current_user_id())
    db.session.add(batch)
    db.session.flush()
    forms: list[tuple[str, str]] = []
    rows = []
    for number in range(first, last + 1):
        token, token_hash = new_token()
        serial = serial_for(campaign, number)
        rows.append(IssuedForm(campaign_id=campaign.id, agency_id=agency.id, batch_id=batch.id,
                               kind="paper", number=number, serial=serial,
                               token_hash=token_hash))
        forms.append((serial, form_url(token)))
    db.session.add_all(rows)
    db.session.flush()
    audit.record("forms.issue", "form_batch", batch.id, None, {
        "campaign": campaign.code, "agency": agency.code, "collector": collector,
        "count": count, "first": forms[0][0], "last": forms[-1][0],
        "deadline": deadline.isoformat() if deadline else None,
    })
    return batch, forms


def create_invitation(campaign: Campaign, agency: Agency, procedure_code: str | None = None,
                      expires_at: datetime | None = None) -> tuple[IssuedForm, str]:
    """One single-use link for one case (e.g. sent by the case system when a file is
    returned). Numbered with the paper forms; not part of a batch."""
    [(form, token)] = issue_invitations(campaign, [(agency, procedure_code)], expires_at)
    return form, form_url(token)


def issue_invitations(campaign: Campaign, cases: list[tuple[Agency, str | None]],
                      expires_at: datetime | None = None) -> list[tuple[IssuedForm, str]]:
    """An invitation form for each (agency, procedure code): [(form, token)] in order.
    Their numbers are taken in one step, with the paper forms'."""
    check_issuable(campaign)
    codes = []
    for agency, procedure_code in cases:
        _scope_of(campaign, agency)
        procedure_code = (procedure_code or "").strip() or None
        if procedure_code is not None and len(procedure_code) > PROCEDURE_MAX:
            raise ServiceError(_("Mã thủ tục quá dài (tối đa 60 ký tự)."))
        codes.append(procedure_code)
    if not cases:
        return []
    first = _take_numbers(campaign, len(cases))
    out = []
    for number, (agency, _code), procedure_code in zip(
            range(first, first + len(cases)), cases, codes, strict=True):
        token, token_hash = new_token()
        form = IssuedForm(campaign_id=campaign.id, agency_id=agency.id, kind="invitation",
                          number=number, serial=serial_for(campaign, number),
                          token_hash=token_hash, procedure_code=procedure_code,
                          expires_at=expires_at)
        out.append((form, token))
    db.session.add_all([form for form, _token in out])
    db.session.flush()
    return out


def void_form(serial: str, reason: str) -> IssuedForm:
    """Mark an unanswered form void (lost, spoilt, never handed out)."""
    serial = (serial or "").strip()
    reason = " ".join((reason or "").split())
    # Locked so that voiding and an answer arriving for the same form are serialised.
    form = db.session.scalar(select(IssuedForm).filter_by(serial=serial).with_for_update())
    if form is None:
        raise ServiceError(_("Không có phiếu số '%(serial)s'.", serial=serial))
    ensure_writable(form.campaign, _("Không hủy được phiếu %(serial)s", serial=serial))
    if not reason:
        raise ServiceError(_("Cần ghi lý do hủy phiếu %(serial)s.", serial=serial))
    if form.response is not None:
        raise ServiceError(_("Phiếu %(serial)s đã có câu trả lời; không thể hủy.", serial=serial))
    if form.voided_at is not None:
        raise ServiceError(_("Phiếu %(serial)s đã bị hủy trước đó.", serial=serial))
    before = form.state
    form.voided_at = utcnow()
    form.void_reason = reason
    db.session.flush()
    audit.record("forms.void", "issued_form", serial, {"state": before},
                 {"state": "void", "reason": reason})
    # The void is part of the collection record MTTQ checks: chained like a response.
    ledger.append(form.campaign_id, "void", serial, {
        "kind": "void", "serial": serial, "agency_code": form.agency.code,
        "reason": reason, "at": ledger.iso(form.voided_at)})
    return form


# --- the register -----------------------------------------------------------------------

def count_where(condition):
    """SQL: how many rows of the group meet `condition`."""
    return func.count(case((condition, 1)))


def register(campaign: Campaign) -> list[dict]:
    """One row per batch with its forms counted by state (the same rules as
    IssuedForm.state), counted by the database."""
    online = Response.channel != "paper"
    answered = Response.id.is_not(None)
    unanswered_live = (~answered) & IssuedForm.voided_at.is_(None)
    today = utcnow().date()  # IssuedForm.state compares with the UTC date too
    late = FormBatch.deadline.is_not(None) & (FormBatch.deadline < today)

    stmt = (
        select(FormBatch, Agency.code.label("agency_code"), Agency.name.label("agency_name"),
               User.username.label("issued_by"),
               func.count(IssuedForm.id).label("forms"),
               count_where(answered & online).label("online"),
               count_where(answered & ~online).label("paper"),
               count_where(~answered & IssuedForm.voided_at.is_not(None)).label("void"),
               count_where(unanswered_live & late).label("not_returned"),
               count_where(unanswered_live & ~late).label("issued"))
        .join(Agency, Agency.id == FormBatch.agency_id)
        .outerjoin(User, User.id == FormBatch.issued_by_id)
        .outerjoin(IssuedForm, IssuedForm.batch_id == FormBatch.id)
        .outerjoin(Response, Response.form_id == IssuedForm.id)
        .where(FormBatch.campaign_id == campaign.id)
        .group_by(FormBatch.id, Agency.code, Agency.name, User.username)
        .order_by(FormBatch.id)
    )
    rows = []
    for r in db.session.execute(stmt):
        batch = r[0]
        rows.append({
            "batch": batch.id,
            "agency_code": r.agency_code,
            "agency_name": r.agency_name,
            "collector": batch.collector,
            "issued_by": r.issued_by,
            "issued_at": batch.issued_at,
            "count": batch.count,
            "first_serial": serial_for(campaign, batch.first_number),
            "last_serial": serial_for(campaign, batch.last_number),
            "deadline": batch.deadline,
            **{state: getattr(r, state) for state in STATES},
        })
    return rows


REGISTER_COLUMNS = ["batch", "agency_code", "agency_name", "collector", "issued_by",
                    "issued_at", "count", "first_serial", "last_serial", "deadline", *STATES]


def register_csv(campaign: Campaign) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=REGISTER_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in register(campaign):
        row = dict(row)
        row["issued_by"] = row["issued_by"] or "cli"
        row["issued_at"] = row["issued_at"].isoformat(timespec="seconds") + "Z"
        row["deadline"] = row["deadline"].isoformat() if row["deadline"] else ""
        writer.writerow(row)
    return out.getvalue()


# --- printed matter ---------------------------------------------------------------------

def poster(scope: CampaignAgency, fmt: str, lang: str | None = None) -> bytes:
    """The A4 poster of a campaign×agency's open link as pdf, png or svg; in a language
    the questionnaire is translated into, its QR code opens the form in that language."""
    if fmt not in POSTER_FORMATS:
        raise ServiceError(_("Định dạng áp phích '%(fmt)s' không hỗ trợ (chỉ: %(choices)s).",
                             fmt=fmt, choices=", ".join(POSTER_FORMATS)))
    language = translations.for_print(scope.campaign.version, lang)
    url = in_language(open_url(scope), language)
    words = {key: said(language, "", f"poster.{key}") or text
             for key, text in printing.poster.WORDS.items()}
    return printing.render_poster(agency_name=scope.agency.name,
                                  campaign_name=scope.campaign.name,
                                  url=url, short_url=url, fmt=fmt, words=words)


def in_language(url: str, lang: str) -> str:
    """A survey link that opens the form in `lang` (as is for Vietnamese)."""
    return url if lang == "vi" else f"{url}?lang={lang}"


def forms_files(batch: FormBatch, forms: list[tuple[str, str]],
                lang: str = "vi") -> tuple[bytes, str]:
    """The printable PDF (one questionnaire per serial, each with its QR) and the
    serial,url CSV of a batch just issued; `lang` as `translations.for_print` gives it
    (the QR codes open the form in that language)."""
    forms = [(serial, in_language(url, lang)) for serial, url in forms]
    pdf = printing.render_forms_pdf(batch.campaign.version.to_definition(), forms,
                                    agency_name=batch.agency.name,
                                    campaign_name=batch.campaign.name, lang=lang)
    return pdf, printing.forms_csv(forms)
