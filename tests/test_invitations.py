"""Invitations after a one-stop case: a file of completed cases imported (CSV by the
command, XLSX through the admin page), invitations sent to a local fake SMTP server and a
local fake SMS gateway started here (nothing leaves the machine), a link followed and
answered as channel `invitation`, contacts erased once sent, retries, the rate limit,
bad rows reported with nothing stored, and the auditor's reconciliation and bundle."""

from __future__ import annotations

import csv
import email
import email.policy
import io
import re
import socketserver
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from audit_helpers import citizen, export_bundle, run_analysis
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select, text
from web_helpers import answer_form, csrf_token, full_answers

from survey_app.models import (
    AuditLog,
    Campaign,
    CaseImport,
    ImportedCase,
    Invitation,
    InvitationDelivery,
    IssuedForm,
    Response,
    utcnow,
)

HEADER = ["Mã hồ sơ", "Mã thủ tục", "Mã cơ quan", "Ngày hoàn thành", "Số điện thoại", "Email",
          "Đồng ý khảo sát"]
PHONE = "0912 345 678"
MAIL = "nguyen.van.a@example.vn"


# --- the fake servers -------------------------------------------------------------------

class _SMTPHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP for smtplib: every command accepted, each message kept."""

    def handle(self):
        self.wfile.write(b"220 fake ESMTP\r\n")
        lines, data = [], False
        while line := self.rfile.readline():
            if data:
                if line.rstrip(b"\r\n") == b".":
                    self.server.messages.append(email.message_from_bytes(
                        b"".join(lines), policy=email.policy.default))
                    lines, data = [], False
                    self.wfile.write(b"250 2.0.0 queued\r\n")
                else:
                    lines.append(line[1:] if line.startswith(b"..") else line)
                continue
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                self.wfile.write(b"250 fake\r\n")
            elif verb == b"DATA":
                data = True
                self.wfile.write(b"354 go on\r\n")
            elif verb == b"QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"250 OK\r\n")


class _GatewayHandler(BaseHTTPRequestHandler):
    """An SMS gateway: answers 503 (quoting the number, as some do) while `fail` > 0."""

    def do_GET(self):
        server = self.server
        query = parse_qs(urlsplit(self.path).query)
        server.calls.append((time.monotonic(), query, self.headers.get("Authorization")))
        if server.fail > 0:
            server.fail -= 1
            body, status = f"busy, retry later to={query['to'][0]}".encode(), 503
        else:
            server.sms.append((time.monotonic(), query))
            body, status = b'{"status": "queued"}', 200
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Servers:
    def __init__(self):
        self.smtp = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SMTPHandler)
        self.smtp.daemon_threads = True
        self.smtp.messages = []
        self.http = ThreadingHTTPServer(("127.0.0.1", 0), _GatewayHandler)
        self.http.daemon_threads = True
        self.http.calls, self.http.sms, self.http.fail = [], [], 0
        self.threads = [threading.Thread(target=s.serve_forever, daemon=True)
                        for s in (self.smtp, self.http)]
        for thread in self.threads:
            thread.start()

    @property
    def mails(self):
        return self.smtp.messages

    @property
    def sms(self):
        return self.http.sms

    def close(self):
        for server in (self.smtp, self.http):
            server.shutdown()
            server.server_close()


@pytest.fixture
def servers(demo):
    running = Servers()
    demo.config.update(
        MAIL_SERVER="127.0.0.1", MAIL_PORT=running.smtp.server_address[1],
        MAIL_FROM="khaosat@example.vn", MAIL_TIMEOUT=5,
        INVITE_SMS_URL=(f"http://127.0.0.1:{running.http.server_address[1]}/send"
                        "?to={phone84}&text={message}"),
        INVITE_SMS_USERNAME="sonoivu", INVITE_SMS_PASSWORD="bi-mat", INVITE_SMS_TIMEOUT=5,
        INVITE_RATE_PER_SECOND=1000, INVITE_RETRY_SECONDS=0, INVITE_MAX_ATTEMPTS=3)
    yield running
    running.close()


# --- helpers ----------------------------------------------------------------------------

def _csv(tmp_path, rows, name="cases.csv"):
    path = tmp_path / name
    lines = [",".join(HEADER)] + [",".join(r) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _row(case, agency="X-SONDUONG", phone="", mail="", consent="Có", day="01/12/2026",
         procedure="1.00309"):
    return [case, procedure, agency, day, phone, mail, consent]


def _import(runner, path, campaign="demo"):
    return runner.invoke(args=["import-cases", "--campaign", campaign, str(path)])


def _send(runner):
    result = runner.invoke(args=["send-invitations", "--campaign", "demo"])
    assert result.exit_code == 0, result.output
    return result.output


def _link(text_with_link: str) -> str:
    return "/f/" + re.search(r"http://localhost/f/([A-Za-z0-9_\-]+)", text_with_link).group(1)


def _counts(db):
    return {model.__name__: db.session.scalar(select(func.count()).select_from(model))
            for model in (CaseImport, ImportedCase, Invitation, IssuedForm)}


# --- import, send, answer ---------------------------------------------------------------

def test_csv_import_sends_links_that_answer_as_invitation(servers, runner, db, app, tmp_path,
                                                          login, client):
    path = _csv(tmp_path, [
        _row("HS-001", phone=PHONE),
        _row("HS-002", agency="STP", mail=MAIL),
        _row("HS-003", phone="0987654321", consent="Không"),
        _row("HS-004", phone="+84 912-345-678"),        # the same person as HS-001
        _row("HS-005"),                                   # consent, no way to reach them
    ])
    result = _import(runner, path)
    assert result.exit_code == 0, result.output
    assert "Đã nhập 5 hồ sơ" in result.output and "2 thư mời chờ gửi" in result.output
    assert "không đồng ý: 1" in result.output and "người đã được mời: 1" in result.output
    assert "không có cách liên hệ: 1" in result.output
    waiting = db.session.scalars(select(Invitation).order_by(Invitation.id)).all()
    assert [(i.channel, i.phone, i.email) for i in waiting] == [
        ("sms", "0912345678", None), ("email", None, MAIL)]

    out = _send(runner)
    assert "Đã gửi 2 thư mời" in out
    [(_, sms)] = servers.sms
    assert sms["to"] == ["84912345678"]
    assert sms["text"][0].startswith("X-SONDUONG") or "moi Ong/Ba" in sms["text"][0]
    assert servers.http.calls[0][2].startswith("Basic ")
    [mail] = servers.mails
    assert mail["To"] == MAIL and "Sở Tư pháp" in mail["Subject"]
    body = mail.get_content()
    assert "Sở Tư pháp" in body

    # Contacts and tokens are gone from the database once sent.
    db.session.expire_all()
    assert [(i.status, i.phone, i.email, i.token) for i in
            db.session.scalars(select(Invitation))] == [("sent", None, None, None)] * 2
    dump = " ".join(str(v) for table in ("invitation", "invitation_delivery", "audit_log")
                    for row in db.session.execute(text(f"SELECT * FROM {table}")) for v in row)
    for secret in ("0912345678", "84912345678", MAIL):
        assert secret not in dump

    # The SMS link answers once, as channel invitation.
    link = _link(sms["text"][0])
    assert answer_form(citizen(app), link, full_answers(4)).status_code == 303
    response = db.session.scalar(select(Response))
    assert response.channel == "invitation"
    assert citizen(app).get(link).status_code != 200
    # The e-mail's link works too.
    assert answer_form(citizen(app), _link(body), full_answers(3)).status_code == 303

    login("mttq")
    page = client.get("/audit/demo/reconciliation")
    assert page.status_code == 200 and "Thư mời sau hồ sơ một cửa" in page.text
    book = load_workbook(io.BytesIO(client.get("/audit/demo/reconciliation.xlsx").data))
    sheet = list(book["Theo cơ quan"].values)
    rows = {r[0]: dict(zip(sheet[0], r, strict=True)) for r in sheet[1:]}
    invited = ("Thư mời sau hồ sơ: đã mời", "Thư mời: đã gửi được",
               "Thư mời: gửi không được", "Thư mời: đã trả lời")
    assert [rows["X-SONDUONG"][k] for k in invited] == [1, 1, 0, 1]
    assert [rows["STP"][k] for k in invited] == [1, 1, 0, 1]
    assert [rows["Tổng"][k] for k in invited] == [2, 2, 0, 2]

    bundle = export_bundle(runner, tmp_path)
    code, output = run_analysis("verify", bundle)
    assert code == 0, output


def _xlsx(rows) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _post_page(client, action, data, **kwargs):
    token = csrf_token(client.get("/admin/campaigns/demo/invitations").text)
    return client.post(action, data={"csrf_token": token, **data}, **kwargs)


def test_xlsx_import_and_send_from_the_admin_page(servers, client, login, db, app):
    from datetime import date

    data = _xlsx([
        # A number stored as a number (its leading 0 lost) and a date stored as a date.
        ["HS-101", "2.001", "X-SONDUONG", date(2026, 11, 30), 912000111, None, "x"],
        ["HS-102", None, "STP", "30/11/2026", None, MAIL, "Đồng ý"],
    ])
    login("admin")
    resp = _post_page(client, "/admin/campaigns/demo/invitations/import",
                      {"file": (io.BytesIO(data), "cases.xlsx")},
                      content_type="multipart/form-data")
    assert resp.status_code == 302, resp.text
    page = client.get("/admin/campaigns/demo/invitations").text
    assert "cases.xlsx" in page and "Đã nhập 2 hồ sơ" in page
    resp = _post_page(client, "/admin/campaigns/demo/invitations/send", {})
    assert resp.status_code == 302
    assert "Đã gửi 2 thư mời" in client.get("/admin/campaigns/demo/invitations").text
    assert [q["to"] for _t, q in servers.sms] == [["84912000111"]]
    assert len(servers.mails) == 1
    assert answer_form(citizen(app), _link(servers.mails[0].get_content()),
                       full_answers(5)).status_code == 303
    assert db.session.scalar(select(Response.channel)) == "invitation"
    actions = set(db.session.scalars(select(AuditLog.action)))
    assert {"cases.import", "invitations.send"} <= actions


# --- retries, rate limit ----------------------------------------------------------------

def test_failing_gateway_is_retried_then_given_up_and_logged(servers, runner, db, tmp_path):
    _import(runner, _csv(tmp_path, [_row("HS-201", phone="0912000201")]))
    servers.http.fail = 2       # its first two attempts
    _send(runner)
    logs = db.session.execute(select(InvitationDelivery.invitation_id, InvitationDelivery.attempt,
                                     InvitationDelivery.outcome, InvitationDelivery.detail)
                              .order_by(InvitationDelivery.id)).all()
    first = [(a, o) for i, a, o, _d in logs if i == 1]
    assert first == [(1, "error"), (2, "error"), (3, "sent")]
    failed = [d for _i, _a, o, d in logs if o == "error"]
    assert all(d.startswith("HTTP 503") and "0912000201" not in d and "84912000201" not in d
               for d in failed), failed
    assert len(servers.sms) == 1

    servers.http.fail = 100     # the gateway is down: given up after the last attempt
    _import(runner, _csv(tmp_path, [_row("HS-203", phone="0912000203")], "more.csv"))
    out = _send(runner)
    assert "không gửi được: 1" in out
    db.session.expire_all()
    given_up = db.session.scalar(select(Invitation).filter_by(status="failed"))
    assert (given_up.attempts, given_up.phone, given_up.token) == (3, None, None)
    assert given_up.form.voided_at is not None
    assert db.session.scalar(select(func.count()).select_from(InvitationDelivery).where(
        InvitationDelivery.invitation_id == given_up.id)) == 3


def test_later_retry_waits_for_its_time(servers, runner, db, tmp_path, app):
    app.config["INVITE_RETRY_SECONDS"] = 3600
    _import(runner, _csv(tmp_path, [_row("HS-301", phone="0912000301")]))
    servers.http.fail = 1
    assert "sẽ thử lại: 1" in _send(runner)
    assert "Đã gửi 0 thư mời; sẽ thử lại: 0" in _send(runner)   # not due yet
    invitation = db.session.scalar(select(Invitation))
    assert invitation.status == "pending" and invitation.phone == "0912000301"


def test_rate_limit_spaces_sends(servers, runner, tmp_path, app):
    app.config["INVITE_RATE_PER_SECOND"] = 4
    _import(runner, _csv(tmp_path, [_row(f"HS-40{k}", phone=f"091200040{k}")
                                    for k in range(3)]))
    _send(runner)
    times = [t for t, _q in servers.sms]
    assert len(times) == 3
    assert all(b - a >= 0.2 for a, b in zip(times, times[1:], strict=False)), times


def test_unconfigured_channel_sends_nothing(servers, runner, db, tmp_path, app):
    app.config["INVITE_SMS_URL"] = ""
    _import(runner, _csv(tmp_path, [_row("HS-501", phone="0912000501"),
                                    _row("HS-502", mail=MAIL)]))
    result = runner.invoke(args=["send-invitations"])
    assert result.exit_code == 1 and "chưa được cấu hình" in result.output
    assert servers.mails == [] and db.session.scalar(
        select(func.count()).select_from(InvitationDelivery)) == 0


# --- bad input --------------------------------------------------------------------------

def test_every_bad_row_is_reported_and_nothing_stored(servers, runner, db, tmp_path):
    before = _counts(db)
    path = _csv(tmp_path, [
        _row("HS-601", phone="0912000601"),                 # 2: good
        _row("HS-602", agency="KHONG-CO"),                  # 3: unknown agency
        _row("HS-603", agency="TQ"),                        # 4: agency not in the campaign
        _row("HS-601", phone="0912000604"),                 # 5: duplicate case id
        _row("HS-605", phone="12345"),                      # 6: malformed phone
        _row("HS-606", mail="khong-phai-email"),            # 7: malformed e-mail
        _row("", phone="0912000607"),                       # 8: no case id
        _row("HS-608", phone="0912000608", day="31/02/2026"),  # 9: bad date
    ])
    result = _import(runner, path)
    assert result.exit_code == 1
    out = result.output
    assert "có 7 dòng bị từ chối; không nhập dòng nào" in out
    for row, reason in [(3, "không có cơ quan mã 'KHONG-CO'"),
                        (4, "cơ quan 'TQ' không thuộc đợt khảo sát này"),
                        (5, "mã hồ sơ 'HS-601' trùng với dòng 2"),
                        (6, "số điện thoại không hợp lệ"), (7, "địa chỉ e-mail không hợp lệ"),
                        (8, "thiếu mã hồ sơ"), (9, "ngày hoàn thành '31/02/2026' không hợp lệ")]:
        assert f"Dòng {row}: {reason}" in out, (row, out)
    assert "Dòng 2:" not in out and "12345" not in out
    assert _counts(db) == before


def test_bad_file_through_the_page_lists_rows(servers, client, login, db):
    login("admin")
    data = _xlsx([["HS-701", None, "KHONG-CO", "01/12/2026", "0912000701", None, "có"]])
    resp = _post_page(client, "/admin/campaigns/demo/invitations/import",
                      {"file": (io.BytesIO(data), "cases.xlsx")},
                      content_type="multipart/form-data")
    assert resp.status_code == 400
    assert "không có cơ quan mã" in resp.text and "<td>2</td>" in resp.text
    resp = _post_page(client, "/admin/campaigns/demo/invitations/import",
                      {"file": (io.BytesIO(b"a,b\n1,2\n"), "cases.txt")},
                      content_type="multipart/form-data")
    assert resp.status_code == 400 and "Chỉ nhận tệp .csv hoặc .xlsx" in resp.text
    assert _counts(db)["CaseImport"] == 0


def test_file_bounds_and_missing_columns(servers, runner, db, tmp_path, app):
    app.config["INVITE_IMPORT_MAX_ROWS"] = 2
    result = _import(runner, _csv(tmp_path, [_row(f"HS-80{k}") for k in range(3)]))
    assert result.exit_code == 1 and "quá 2 dòng" in result.output
    (tmp_path / "cols.csv").write_text("Mã hồ sơ,Mã cơ quan\nHS-1,STP\n", encoding="utf-8")
    result = _import(runner, tmp_path / "cols.csv")
    assert result.exit_code == 1 and "Tệp thiếu cột" in result.output
    # Files a spreadsheet saves wrongly, or that no CSV reader takes, are refused as such.
    text = "\n".join([",".join(HEADER), ",".join(_row("HS-811", phone="0912000811"))])
    unreadable = {"utf16.csv": text.encode("utf-16"), "cp1252.csv": text.encode("cp1252", "replace"),
                  "long.csv": (",".join(HEADER) + '\n"' + "x" * 200_000 + '"\n').encode()}
    # The csv module's field limit is process-wide (the auditor's tools raise it when they
    # are imported): the import is tried at the module's default.
    before = csv.field_size_limit(131_072)
    try:
        for name, data in unreadable.items():
            (tmp_path / name).write_bytes(data)
            result = _import(runner, tmp_path / name)
            assert result.exit_code == 1 and "Traceback" not in result.output, (name, result.output)
            assert "không có gì thay đổi" in result.output, (name, result.output)
    finally:
        csv.field_size_limit(before)
    assert _counts(db)["CaseImport"] == 0


def test_a_case_is_imported_once_and_a_person_invited_once(servers, runner, db, tmp_path):
    first = _csv(tmp_path, [_row("HS-901", phone="0912000901")])
    assert _import(runner, first).exit_code == 0
    again = _import(runner, first)
    assert again.exit_code == 1
    assert "Dòng 2: hồ sơ này đã được nhập trong đợt khảo sát" in again.output
    other_case = _csv(tmp_path, [_row("HS-902", phone="+84912000901")], "second.csv")
    result = _import(runner, other_case)
    assert result.exit_code == 0 and "0 thư mời chờ gửi" in result.output
    assert "người đã được mời: 1" in result.output
    _send(runner)
    assert len(servers.sms) == 1    # the person's hash outlives the erased number
    third = _csv(tmp_path, [_row("HS-903", phone="0912000901")], "third.csv")
    assert "người đã được mời: 1" in _import(runner, third).output


def test_column_map_saved_by_the_admin(servers, client, login, runner, db, tmp_path):
    login("admin")
    fields = {"case_id": "So ho so", "procedure": "", "agency": "Don vi",
              "completed_on": "Ngay tra", "phone": "Dien thoai", "email": "",
              "consent": "Dong y", "consent_values": "Y, 1", "prefer": "sms"}
    bad = _post_page(client, "/admin/campaigns/demo/invitations/column-map",
                     {**fields, "case_id": ""})
    assert bad.status_code == 400 and "thiếu tên cột cho case_id" in bad.text
    resp = _post_page(client, "/admin/campaigns/demo/invitations/column-map", fields)
    assert resp.status_code == 302
    (tmp_path / "own.csv").write_text(
        "So ho so;Don vi;Ngay tra;Dien thoai;Dong y\nA-1;STP;2026-12-01;0912000991;y\n"
        "A-2;STP;2026-12-01;0912000992;N\n", encoding="utf-8")
    result = _import(runner, tmp_path / "own.csv")
    assert result.exit_code == 0, result.output
    assert "1 thư mời chờ gửi" in result.output and "không đồng ý: 1" in result.output
    assert db.session.scalar(select(AuditLog.action).filter_by(action="cases.column_map"))


def test_contacts_of_invitations_never_sent_are_erased_when_the_campaign_closes(
        servers, runner, db, tmp_path, app):
    """An invitation still waiting when its campaign closes is never sent: the daily
    purge erases its contact and token, logs why and voids its form."""
    _import(runner, _csv(tmp_path, [_row("HS-301", phone="0912000301"),
                                    _row("HS-302", mail="dan@example.vn")]))
    kept = runner.invoke(args=["purge-contacts"])
    assert kept.exit_code == 0, kept.output
    db.session.expire_all()
    assert {i.status for i in db.session.scalars(select(Invitation))} == {"pending"}

    campaign = db.session.scalar(select(Campaign).filter_by(code="demo"))
    campaign.closes_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    done = runner.invoke(args=["purge-contacts"])
    assert done.exit_code == 0, done.output
    assert "2 thư mời" in done.output
    db.session.expire_all()
    for invitation in db.session.scalars(select(Invitation)):
        assert (invitation.status, invitation.phone, invitation.email, invitation.token) == \
            ("failed", None, None, None)
        assert invitation.form.voided_at is not None
    assert set(db.session.scalars(select(InvitationDelivery.detail))) == {"campaign closed"}
    assert servers.mails == [] and servers.sms == []
