"""Import of the completed cases exported by the one-stop system (CSV or XLSX), read
through the column map the administrator saved, into invitations waiting to be sent.

All or nothing: a file with any rejected row stores nothing and the refusal lists every
rejected row. Only cases with consent become invitations, one per person per campaign
(a keyed hash of the phone number, else of the e-mail address). The case id is kept only
as a keyed hash (a case is imported once); the contact until the invitation is sent
(`services.delivery`).
"""

from __future__ import annotations

import io
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime

from flask import current_app
from flask_babel import gettext as _
from openpyxl import load_workbook
from sqlalchemy import select

from ..extensions import db
from ..intake.store import keyed_hash
from ..models import (
    Agency,
    Campaign,
    CampaignAgency,
    CaseColumnMap,
    CaseImport,
    ImportedCase,
    Invitation,
    utcnow,
)
from . import ServiceError, audit, issuance
from .contacts import InvalidContact, normalise_phone
from .spreadsheet import csv_rows

FIELDS = ("case_id", "procedure", "agency", "completed_on", "phone", "email", "consent")
REQUIRED = ("case_id", "agency", "completed_on", "consent")
DEFAULT_COLUMNS = {
    "case_id": "Mã hồ sơ", "procedure": "Mã thủ tục", "agency": "Mã cơ quan",
    "completed_on": "Ngày hoàn thành", "phone": "Số điện thoại", "email": "Email",
    "consent": "Đồng ý khảo sát",
}
DEFAULT_CONSENT = ["có", "x", "1", "đồng ý", "yes", "true"]
CASE_ID_MAX = 100
EMAIL_MAX = 254
_EMAIL = re.compile(r"[^@\s<>(),;:\"\[\]]+@[^@\s<>(),;:\"\[\]]+\.[A-Za-z]{2,}")
_DATE_FORMATS = ("%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y", "%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S",
                 "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S")


class ImportRejected(ServiceError):
    """Rows of the file were rejected; nothing was stored. `rows`: [(row number, reason)]."""

    def __init__(self, message: str, rows: list[tuple[int, str]]):
        super().__init__(message, details=[_("Dòng %(row)d: %(reason)s", row=n, reason=r)
                                           for n, r in rows])
        self.rows = rows


@dataclass
class ImportResult:
    record: CaseImport
    invitations: list[Invitation]


def _key(text) -> str:
    return unicodedata.normalize("NFC", str(text or "")).strip().casefold()


# --- the column map ---------------------------------------------------------------------

def column_map() -> dict:
    """The saved map, or the defaults if none was saved yet."""
    saved = db.session.scalar(select(CaseColumnMap).order_by(CaseColumnMap.id).limit(1))
    if saved is None:
        return {"columns": dict(DEFAULT_COLUMNS), "consent_values": list(DEFAULT_CONSENT),
                "prefer": "sms", "saved": False}
    return {"columns": dict(saved.columns), "consent_values": list(saved.consent_values),
            "prefer": saved.prefer, "saved": True}


def save_column_map(columns: dict, consent_values: str, prefer: str) -> CaseColumnMap:
    """Replace the installation's column map; `consent_values` comma-separated."""
    columns = {f: " ".join(str(columns.get(f) or "").split()) for f in FIELDS}
    values = sorted({_key(v) for v in (consent_values or "").split(",") if _key(v)})
    errors = [_("thiếu tên cột cho %(field)s", field=f) for f in REQUIRED if not columns[f]]
    if not columns["phone"] and not columns["email"]:
        errors.append(_("cần tên cột số điện thoại hoặc e-mail (hoặc cả hai)"))
    used = [_key(h) for h in columns.values() if h]
    if len(used) != len(set(used)):
        errors.append(_("hai trường không được dùng chung một cột"))
    if not values:
        errors.append(_("cần ít nhất một giá trị nghĩa là đồng ý"))
    if prefer not in ("sms", "email"):
        errors.append(_("kênh ưu tiên phải là sms hoặc email"))
    if errors:
        raise ServiceError(_("Không lưu được bảng ánh xạ cột; không có gì thay đổi."),
                           details=errors)
    saved = db.session.scalar(select(CaseColumnMap).order_by(CaseColumnMap.id).limit(1))
    before = None if saved is None else {"columns": saved.columns,
                                         "consent_values": saved.consent_values,
                                         "prefer": saved.prefer}
    if saved is None:
        saved = CaseColumnMap()
        db.session.add(saved)
    saved.columns = {f: h for f, h in columns.items() if h}
    saved.consent_values, saved.prefer = values, prefer
    saved.updated_at, saved.updated_by = utcnow(), audit.actor_name()
    db.session.flush()
    audit.record("cases.column_map", "case_column_map", saved.id, before,
                 {"columns": saved.columns, "consent_values": values, "prefer": prefer})
    return saved


# --- reading a file ---------------------------------------------------------------------

def _cell(value) -> str | date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return "" if value is None else str(value).strip()


def read_table(data: bytes, filename: str) -> list[dict]:
    """The file's rows as {header key: cell} with `_row` (the row number a spreadsheet
    shows: the header is row 1). Refuses a file too large, too long or unreadable."""
    config = current_app.config
    if len(data) > config["INVITE_IMPORT_MAX_BYTES"]:
        raise ServiceError(_("Tệp quá lớn (tối đa %(n)s MB).",
                             n=config["INVITE_IMPORT_MAX_BYTES"] // (1024 * 1024)))
    suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if suffix == "xlsx":
        try:
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
            lines = ([_cell(v) for v in row] for row in book.worksheets[0].iter_rows(
                values_only=True))
        except Exception as exc:  # openpyxl raises many kinds for a damaged file
            raise ServiceError(_("Không đọc được tệp XLSX '%(name)s'.", name=filename)) from exc
    elif suffix == "csv":
        lines = ([c.strip() for c in row] for row in csv_rows(data))
    else:
        raise ServiceError(_("Chỉ nhận tệp .csv hoặc .xlsx (đã gửi: '%(name)s').",
                             name=filename))
    header = [_key(h) for h in next(lines, [])]
    rows = []
    for number, values in enumerate(lines, start=2):
        if not any(v not in ("", None) for v in values):
            continue
        if len(rows) >= config["INVITE_IMPORT_MAX_ROWS"]:
            raise ServiceError(_("Tệp có quá %(n)d dòng; hãy chia thành nhiều tệp.",
                                 n=config["INVITE_IMPORT_MAX_ROWS"]))
        rows.append({"_row": number, **dict(zip(header, values, strict=False))})
    if not header or not rows:
        raise ServiceError(_("Tệp '%(name)s' không có dòng hồ sơ nào.", name=filename))
    return rows


# --- checking rows ----------------------------------------------------------------------

def _date_of(value) -> date | None:
    if isinstance(value, date):
        return value
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    return None


def _phone_of(value: str) -> str:
    digits = value.replace(" ", "")
    # A spreadsheet that stored the number as a number has lost its leading 0 (or +).
    if digits.isdigit() and not digits.startswith(("0", "84")) and len(digits) in (9, 10):
        digits = "0" + digits
    elif digits.isdigit() and digits.startswith("84") and len(digits) in (11, 12):
        digits = "+" + digits
    return normalise_phone(digits)


class _Checker:
    """Checks the rows of one file against the campaign; collects what to store."""

    def __init__(self, campaign: Campaign, mapping: dict):
        self.campaign = campaign
        self.columns = {f: _key(h) for f, h in mapping["columns"].items()}
        self.consent = set(mapping["consent_values"])
        self.prefer = mapping["prefer"]
        self.agencies = {a.code.casefold(): a for a in db.session.scalars(select(Agency))}
        self.in_scope = set(db.session.scalars(select(CampaignAgency.agency_id).filter_by(
            campaign_id=campaign.id)))
        self.rejected: list[tuple[int, str]] = []
        self.cases: dict[str, int] = {}   # case hash → row
        self.people: set[str] = set()
        self.invite: list[dict] = []
        self.counts = {"no_consent": 0, "no_contact": 0, "already_invited": 0}

    def get(self, row: dict, field: str):
        header = self.columns.get(field)
        return row.get(header, "") if header else ""

    def row(self, row: dict) -> None:
        n = row["_row"]
        reasons = []
        case_id = str(self.get(row, "case_id"))
        case_hash = keyed_hash("case:" + case_id)
        if not case_id:
            reasons.append(_("thiếu mã hồ sơ"))
        elif len(case_id) > CASE_ID_MAX:
            reasons.append(_("mã hồ sơ dài quá %(n)d ký tự", n=CASE_ID_MAX))
        elif case_hash in self.cases:
            reasons.append(_("mã hồ sơ '%(case)s' trùng với dòng %(row)d", case=case_id,
                             row=self.cases[case_hash]))
        else:
            self.cases[case_hash] = n
        code = str(self.get(row, "agency"))
        agency = self.agencies.get(code.casefold())
        if not code:
            reasons.append(_("thiếu mã cơ quan"))
        elif agency is None:
            reasons.append(_("không có cơ quan mã '%(code)s'", code=code))
        elif agency.id not in self.in_scope:
            reasons.append(_("cơ quan '%(code)s' không thuộc đợt khảo sát này", code=code))
        procedure = str(self.get(row, "procedure"))
        if len(procedure) > issuance.PROCEDURE_MAX:
            reasons.append(_("mã thủ tục dài quá %(n)d ký tự", n=issuance.PROCEDURE_MAX))
        completed = _date_of(self.get(row, "completed_on"))
        if completed is None:
            reasons.append(_("ngày hoàn thành '%(value)s' không hợp lệ (dạng ngày/tháng/năm)",
                             value=self.get(row, "completed_on")))
        elif completed > datetime.now(issuance.LOCAL_TZ).date():
            reasons.append(_("ngày hoàn thành %(value)s ở tương lai",
                             value=completed.strftime("%d/%m/%Y")))
        contact = self.contact(row, reasons) if self.consented(row) else None
        if reasons:
            self.rejected.append((n, "; ".join(reasons)))
        elif contact is not None:
            self.keep(agency, procedure, contact)

    def consented(self, row: dict) -> bool:
        if _key(self.get(row, "consent")) in self.consent:
            return True
        self.counts["no_consent"] += 1
        return False

    def contact(self, row: dict, reasons: list[str]) -> tuple[str, str | None, str | None]:
        phone, email = str(self.get(row, "phone")), str(self.get(row, "email")).strip()
        if phone:
            try:
                phone = _phone_of(phone)
            except InvalidContact:
                # The number itself is not repeated: the report is shown and may be kept.
                reasons.append(_("số điện thoại không hợp lệ"))
        if email and (len(email) > EMAIL_MAX or not _EMAIL.fullmatch(email)):
            reasons.append(_("địa chỉ e-mail không hợp lệ"))
        if not phone and not email:
            self.counts["no_contact"] += 1
            return None
        person = keyed_hash(f"tel:{phone}" if phone else f"mail:{email.casefold()}")
        return person, phone or None, email or None

    def keep(self, agency: Agency, procedure: str, contact) -> None:
        person, phone, email = contact
        if person in self.people:
            self.counts["already_invited"] += 1
            return
        self.people.add(person)
        channel = "sms" if phone and (self.prefer == "sms" or not email) else "email"
        self.invite.append({"agency": agency, "procedure": procedure or None,
                            "person": person, "phone": phone if channel == "sms" else None,
                            "email": email if channel == "email" else None,
                            "channel": channel})

    def against_stored(self) -> None:
        """Cases already imported and people already invited in this campaign."""
        cid = self.campaign.id
        done = _stored(ImportedCase.case_hash, ImportedCase.campaign_id == cid, self.cases)
        for case_hash in sorted(done, key=self.cases.get):
            self.rejected.append((self.cases[case_hash],
                                  _("hồ sơ này đã được nhập trong đợt khảo sát")))
        invited = _stored(Invitation.contact_hash, Invitation.campaign_id == cid, self.people)
        self.counts["already_invited"] += sum(1 for i in self.invite if i["person"] in invited)
        self.invite = [i for i in self.invite if i["person"] not in invited]


def _stored(column, condition, values) -> set[str]:
    values, out = list(values), set()
    for start in range(0, len(values), 5000):
        out.update(db.session.scalars(select(column).where(
            condition, column.in_(values[start:start + 5000]))))
    return out


# --- the import -------------------------------------------------------------------------

def import_cases(campaign: Campaign, data: bytes, filename: str) -> ImportResult:
    """Check every row of the file, then store the import and its invitations (each with
    its own single-use form), or nothing: ImportRejected lists each rejected row."""
    issuance.check_issuable(campaign)
    mapping = column_map()
    rows = read_table(data, filename)
    headers = set(rows[0]) - {"_row"}
    missing = [h for f, h in mapping["columns"].items()
               if f in REQUIRED + ("phone", "email") and _key(h) not in headers]
    if missing:
        raise ServiceError(_("Tệp thiếu cột theo bảng ánh xạ: %(cols)s.",
                             cols=", ".join(missing)))
    checker = _Checker(campaign, mapping)
    for row in rows:
        checker.row(row)
    checker.against_stored()
    if checker.rejected:
        raise ImportRejected(_("Tệp '%(name)s' có %(n)d dòng bị từ chối; không nhập dòng nào. "
                               "Hãy sửa các dòng dưới đây rồi nhập lại cả tệp.",
                               name=filename, n=len(checker.rejected)),
                             sorted(checker.rejected))
    record = CaseImport(campaign_id=campaign.id, filename=filename[:200],
                        imported_by=audit.actor_name(), rows=len(rows),
                        invited=len(checker.invite), **checker.counts)
    db.session.add(record)
    db.session.flush()
    db.session.add_all([ImportedCase(campaign_id=campaign.id, import_id=record.id,
                                     case_hash=h) for h in checker.cases])
    forms = issuance.issue_invitations(
        campaign, [(i["agency"], i["procedure"]) for i in checker.invite])
    invitations = [
        Invitation(campaign_id=campaign.id, import_id=record.id, form_id=form.id,
                   contact_hash=i["person"], channel=i["channel"], phone=i["phone"],
                   email=i["email"], token=token, status="pending", attempts=0,
                   next_attempt_at=utcnow())
        for i, (form, token) in zip(checker.invite, forms, strict=True)]
    db.session.add_all(invitations)
    db.session.flush()
    audit.record("cases.import", "case_import", record.id, None, {
        "campaign": campaign.code, "file": record.filename, "rows": record.rows,
        "invited": record.invited, **checker.counts})
    return ImportResult(record=record, invitations=invitations)
