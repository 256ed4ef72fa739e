"""Sending invitations: e-mail over SMTP, SMS through the provider's HTTP gateway, each
attempt written to the delivery log, retried with a growing wait up to
INVITE_MAX_ATTEMPTS, no faster than INVITE_RATE_PER_SECOND.

Once an invitation is sent, or finally fails, its phone number or e-mail address and its
link's token are erased (Law 91/2025/QH15); a failed one's form is voided, so that the
reconciliation accounts for it. The log keeps the server's answer in short, with
anything that looks like an address or a number masked, never the contact.
"""

from __future__ import annotations

import base64
import re
import smtplib
import ssl
import time
import unicodedata
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from urllib.parse import quote

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select, update

from ..extensions import db
from ..models import (
    Agency,
    Campaign,
    CaseImport,
    Invitation,
    InvitationDelivery,
    IssuedForm,
    utcnow,
)
from . import ServiceError, audit, issuance

#: How long a claimed attempt stays claimed: a sender that dies mid-send leaves its
#: invitation to be tried again after this.
CLAIM = timedelta(minutes=10)
DETAIL_MAX = 200
_MASK = re.compile(r"[^\s<>@]+@[^\s<>@]+|\+?\d[\d .\-]{7,}\d")

SMS_TEXT = ("{agency}: moi Ong/Ba danh gia muc do hai long ve ho so vua giai quyet "
            "(phieu khong ghi ten, dung 1 lan): {url}")
MAIL_SUBJECT = "Mời đánh giá mức độ hài lòng — {agency}"
MAIL_TEXT = (
    "Kính gửi Ông/Bà,\n\n"
    "{agency} vừa giải quyết xong hồ sơ của Ông/Bà. Xin mời Ông/Bà dành vài phút đánh "
    "giá mức độ hài lòng tại đường dẫn dưới đây. Phiếu không ghi tên; đường dẫn chỉ dùng "
    "được một lần.\n\n{url}\n\n"
    "Địa chỉ e-mail của Ông/Bà được xóa khỏi hệ thống khảo sát ngay sau khi gửi thư này.\n")


class DeliveryError(Exception):
    """One attempt failed; the message is the short summary for the log."""


@dataclass
class SendReport:
    sent: int = 0
    retry: int = 0
    failed: int = 0


def masked(text: str) -> str:
    """`text` shortened for the log, with what looks like an e-mail address or a phone
    number replaced (an SMTP server's refusal often quotes the address)."""
    return _MASK.sub("***", " ".join(str(text).split()))[:DETAIL_MAX]


def plain(text: str) -> str:
    """Vietnamese without diacritics: what a brandname SMS template takes, and 160
    characters a segment instead of 70."""
    text = text.replace("đ", "d").replace("Đ", "D")
    return "".join(c for c in unicodedata.normalize("NFD", text)
                   if not unicodedata.combining(c))


def sms_text(agency_name: str, url: str) -> str:
    return SMS_TEXT.format(agency=plain(agency_name)[:60], url=url)


# --- channels ---------------------------------------------------------------------------

def _send_email(config, to: str, agency_name: str, url: str) -> str:
    message = EmailMessage()
    message["From"] = config["MAIL_FROM"]
    message["To"] = to
    message["Subject"] = MAIL_SUBJECT.format(agency=agency_name)
    message["Message-ID"] = make_msgid()
    message.set_content(MAIL_TEXT.format(agency=agency_name, url=url))
    kind = smtplib.SMTP_SSL if config["MAIL_USE_SSL"] else smtplib.SMTP
    try:
        with kind(config["MAIL_SERVER"], config["MAIL_PORT"],
                  timeout=config["MAIL_TIMEOUT"]) as smtp:
            if config["MAIL_USE_TLS"]:
                smtp.starttls(context=ssl.create_default_context())
            if config["MAIL_USERNAME"]:
                smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
            smtp.send_message(message)
    except smtplib.SMTPResponseException as exc:
        raise DeliveryError(f"SMTP {exc.smtp_code} {exc.smtp_error!r}") from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(f"SMTP {type(exc).__name__}: {exc}") from exc
    return "SMTP accepted"


def _send_sms(config, phone: str, text: str) -> str:
    values = {"{phone}": quote(phone, safe=""), "{phone84}": quote("84" + phone[1:], safe=""),
              "{message}": quote(text, safe="")}

    def fill(template: str) -> str:
        for placeholder, value in values.items():
            template = template.replace(placeholder, value)
        return template

    method = config["INVITE_SMS_METHOD"].upper()
    body = fill(config["INVITE_SMS_BODY"]).encode() if method == "POST" else None
    request = urllib.request.Request(fill(config["INVITE_SMS_URL"]), data=body, method=method,
                                     headers=dict(config["INVITE_SMS_HEADERS"]))
    if body is not None:
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
    if config["INVITE_SMS_USERNAME"]:
        pair = f"{config['INVITE_SMS_USERNAME']}:{config['INVITE_SMS_PASSWORD']}"
        request.add_header("Authorization", "Basic " + base64.b64encode(pair.encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=config["INVITE_SMS_TIMEOUT"]) as answer:
            status, said = answer.status, answer.read(200).decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        raise DeliveryError(f"HTTP {exc.code} {exc.read(200).decode('utf-8', 'replace')}") \
            from exc
    except (urllib.error.URLError, OSError) as exc:
        raise DeliveryError(f"HTTP {type(exc).__name__}: {getattr(exc, 'reason', exc)}") \
            from exc
    if not 200 <= status < 300:
        raise DeliveryError(f"HTTP {status} {said}")
    return f"HTTP {status} {said}"


def configured(channel: str, config) -> bool:
    return bool(config["INVITE_SMS_URL"] if channel == "sms"
                else config["MAIL_SERVER"] and config["MAIL_FROM"])


class Pacer:
    """At most `rate` sends a second: each waits until 1/rate after the one before."""

    def __init__(self, rate: float, clock=time.monotonic, sleep=time.sleep):
        self.gap = 1 / rate if rate and rate > 0 else 0
        self.clock, self.sleep, self.last = clock, sleep, None

    def wait(self) -> None:
        if self.last is not None:
            left = self.last + self.gap - self.clock()
            if left > 0:
                self.sleep(left)
        self.last = self.clock()


# --- the send loop ----------------------------------------------------------------------

def _due(campaign: Campaign | None):
    stmt = select(Invitation).where(Invitation.status == "pending",
                                    Invitation.next_attempt_at <= utcnow())
    if campaign is not None:
        stmt = stmt.where(Invitation.campaign_id == campaign.id)
    return stmt.order_by(Invitation.next_attempt_at, Invitation.id)


def pending_counts(campaign: Campaign | None = None) -> dict[str, int]:
    """Invitations waiting to be sent, by channel (whether due now or later)."""
    stmt = select(Invitation.channel, func.count()).where(Invitation.status == "pending")
    if campaign is not None:
        stmt = stmt.where(Invitation.campaign_id == campaign.id)
    return dict(db.session.execute(stmt.group_by(Invitation.channel)).all())


def _check_channels(campaign: Campaign | None, config) -> None:
    missing = [c for c in pending_counts(campaign) if not configured(c, config)]
    if missing:
        raise ServiceError(_("Có thư mời chờ gửi qua %(channels)s nhưng kênh này chưa được "
                             "cấu hình (MAIL_SERVER và MAIL_FROM cho e-mail, INVITE_SMS_URL "
                             "cho SMS); chưa gửi thư nào.", channels=", ".join(missing)))


def _claim(invitation: Invitation) -> bool:
    """Take this attempt (counted before it is made), unless another sender did."""
    done = db.session.execute(
        update(Invitation).where(Invitation.id == invitation.id,
                                 Invitation.status == "pending",
                                 Invitation.attempts == invitation.attempts)
        .values(attempts=invitation.attempts + 1, next_attempt_at=utcnow() + CLAIM)
        .execution_options(synchronize_session=False)).rowcount
    db.session.refresh(invitation)
    return bool(done)


def _erase(invitation: Invitation, status: str) -> None:
    invitation.status = status
    invitation.phone = invitation.email = invitation.token = None
    invitation.erased_at = utcnow()


def _give_up(invitation: Invitation, form: IssuedForm) -> None:
    """Never to be sent: contact and token erased, the form voided (an archived campaign's
    register is closed: its form stays unanswered)."""
    _erase(invitation, "failed")
    if invitation.campaign.archived_at is None:
        issuance.void_form(form.serial, "Không gửi được thư mời")


def give_up_closed(campaign: Campaign | None = None) -> int:
    """Give up the invitations still waiting in a campaign that has closed or is archived
    (of `campaign`, or all): they can no longer be answered, so their phone numbers and
    e-mail addresses must not wait for a send run that may never come. Each gets a line
    "campaign closed" in the delivery log. Returns how many; run by `purge-contacts`."""
    now = utcnow()
    stmt = select(Invitation).join(Campaign, Campaign.id == Invitation.campaign_id).where(
        Invitation.status == "pending",
        (Campaign.closes_at <= now) | Campaign.archived_at.is_not(None))
    if campaign is not None:
        stmt = stmt.where(Invitation.campaign_id == campaign.id)
    given_up = 0
    for invitation in db.session.scalars(stmt.order_by(Invitation.id)).all():
        db.session.add(InvitationDelivery(
            invitation_id=invitation.id, attempt=invitation.attempts, at=now,
            channel=invitation.channel, outcome="error", detail="campaign closed"))
        _give_up(invitation, invitation.form)
        given_up += 1
    db.session.flush()
    return given_up


def _attempt(invitation: Invitation, config, report: SendReport) -> None:
    form = db.session.get(IssuedForm, invitation.form_id)
    agency_name = db.session.scalar(select(Agency.name).where(Agency.id == form.agency_id))
    url = issuance.form_url(invitation.token)
    ok, detail = False, ""
    if utcnow() >= invitation.campaign.closes_at:
        detail = "campaign closed"
    else:
        try:
            if invitation.channel == "sms":
                detail = _send_sms(config, invitation.phone, sms_text(agency_name, url))
            else:
                detail = _send_email(config, invitation.email, agency_name, url)
            ok = True
        except DeliveryError as exc:
            detail = str(exc)
    db.session.add(InvitationDelivery(
        invitation_id=invitation.id, attempt=invitation.attempts, at=utcnow(),
        channel=invitation.channel, outcome="sent" if ok else "error", detail=masked(detail)))
    if ok:
        invitation.sent_at = utcnow()
        _erase(invitation, "sent")
        report.sent += 1
    elif invitation.attempts >= config["INVITE_MAX_ATTEMPTS"] or detail == "campaign closed":
        _give_up(invitation, form)
        report.failed += 1
    else:
        wait = config["INVITE_RETRY_SECONDS"] * 2 ** (invitation.attempts - 1)
        invitation.next_attempt_at = utcnow() + timedelta(seconds=wait)
        report.retry += 1
    db.session.flush()


def send_pending(campaign: Campaign | None = None, *, limit: int | None = None,
                 checkpoint=None) -> SendReport:
    """Send the invitations that are due (of `campaign`, or all), at most `limit` attempts.

    `checkpoint` is called after each claim and each outcome: the command and the page
    pass the session's commit, since a message once sent cannot be taken back, and a
    crash must not leave it unrecorded with its contact kept.
    """
    config = current_app.config
    checkpoint = checkpoint or db.session.flush
    _check_channels(campaign, config)
    pacer = Pacer(config["INVITE_RATE_PER_SECOND"])
    report, tried = SendReport(), 0
    while limit is None or tried < limit:
        invitation = db.session.scalar(_due(campaign).limit(1))
        if invitation is None:
            break
        if not _claim(invitation):
            continue
        checkpoint()
        tried += 1
        pacer.wait()
        _attempt(invitation, config, report)
        checkpoint()
    audit.record("invitations.send", "campaign", campaign.code if campaign else "*", None,
                 {"sent": report.sent, "retry": report.retry, "failed": report.failed})
    db.session.flush()
    return report


def status(campaign: Campaign) -> dict:
    """The campaign's imports (newest first) and its invitations counted by status."""
    counts = dict(db.session.execute(
        select(Invitation.status, func.count()).where(Invitation.campaign_id == campaign.id)
        .group_by(Invitation.status)).all())
    imports = db.session.scalars(select(CaseImport).filter_by(campaign_id=campaign.id)
                                 .order_by(CaseImport.id.desc())).all()
    return {"counts": {s: counts.get(s, 0) for s in ("pending", "sent", "failed")},
            "imports": imports, "pending": pending_counts(campaign)}
