"""Operator commands (`flask --app survey_app ...`). Each calls the same services as the
web pages, commits once, and on bad input prints why, exits non-zero and changes nothing."""

from __future__ import annotations

import functools
import os
import sys
import tempfile
from datetime import date
from pathlib import Path

import click
from flask import Flask, current_app
from flask_babel import gettext as _
from flask_migrate import upgrade
from sqlalchemy import select

from .extensions import db
from .models import ROLES, Agency, Campaign
from .services import (
    ServiceError,
    agencies,
    api_keys,
    campaigns,
    issuance,
    questionnaires,
    twofactor,
    users,
)


def transactional(fn):
    """Run a command in one transaction: commit on success, roll back and exit 1 on refusal."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            result = fn(*args, **kwargs)
            db.session.commit()
            return result
        except ServiceError as exc:
            db.session.rollback()
            click.echo(f"Lỗi: {exc}", err=True)
            sys.exit(1)
        except Exception:
            db.session.rollback()
            raise

    return wrapper


def _read_text(path: str) -> str:
    try:
        if path == "-":
            return sys.stdin.read()
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ServiceError(f"Không tìm thấy tệp '{path}'.") from exc
    except UnicodeDecodeError as exc:
        raise ServiceError(f"Tệp '{path}' không phải văn bản UTF-8.") from exc


def _date(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise ServiceError(f"{name} '{value}' không phải ngày dạng YYYY-MM-DD.") from exc


def _output_path(value: str, allowed: tuple[str, ...], option: str) -> Path:
    """An output file's path, refused before any work when its type or folder is wrong."""
    path = Path(value)
    suffix = path.suffix.lower().lstrip(".")
    if suffix not in allowed:
        raise ServiceError(f"{option} '{value}': phần mở rộng phải là "
                           + " hoặc ".join(f".{a}" for a in allowed) + ".")
    if not path.parent.is_dir():
        raise ServiceError(f"{option} '{value}': thư mục '{path.parent}' không tồn tại.")
    if path.is_dir():
        raise ServiceError(f"{option} '{value}' là một thư mục.")
    return path


def _stage(path: Path, data: bytes) -> Path:
    """Write `data` beside `path` under a temporary name (readable by the owner only: it may
    hold single-use links); the caller renames it into place once the work is committed."""
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    except OSError as exc:
        raise ServiceError(f"Không ghi được tệp '{path}': {exc.strerror}.") from exc
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise ServiceError(f"Không ghi được tệp '{path}': {exc.strerror}.") from exc
    return Path(tmp)


ALLOW_LOCAL_HELP = ("Print even though PUBLIC_BASE_URL is not a public https address "
                    "(a test print: its QR codes open nowhere else).")
ALLOW_LOCAL_HOW = "thêm --allow-local-url"


def register_commands(app: Flask) -> None:
    @app.cli.command("init-db")
    def init_db():
        """Create or upgrade the database schema (Alembic migrations)."""
        upgrade(directory=current_app.extensions["migrate"].directory)
        click.echo("Cơ sở dữ liệu đã ở phiên bản mới nhất.")

    @app.cli.command("seed-demo")
    @click.option("--if-empty", is_flag=True, help="Do nothing if the demo is already loaded.")
    @click.option("--password", help="Password for the demo accounts (random if omitted).")
    @transactional
    def seed_demo(if_empty, password):
        """Load demo agencies, the SIPAS questionnaire, campaign `demo` and demo accounts."""
        from . import demo

        if demo.is_seeded():
            if if_empty:
                click.echo("Dữ liệu mẫu đã có sẵn; bỏ qua.")
                return
            raise ServiceError("Dữ liệu mẫu đã được nạp (đợt 'demo' đã tồn tại).")
        result = demo.seed(password)
        db.session.flush()
        cred = Path(current_app.instance_path) / "demo-accounts.txt"
        cred.parent.mkdir(parents=True, exist_ok=True)
        lines = [f"{u}\t{r}\t{a or ''}" for u, r, a in result["accounts"]]
        cred.write_text("password\t" + result["password"] + "\n" + "\n".join(lines) + "\n")
        cred.chmod(0o600)
        click.echo("Đã nạp dữ liệu mẫu (demo). Tài khoản mẫu:")
        for u, r, a in result["accounts"]:
            click.echo(f"  {u:10s} vai trò {r:8s} {a or ''}")
        click.echo(f"  mật khẩu chung: {result['password']}  (lưu tại {cred})")
        click.echo("  admin và mttq đăng ký xác thực hai bước (ứng dụng xác thực) "
                   "ở lần đăng nhập đầu.")

    @app.cli.command("import-agencies")
    @click.argument("file")
    @transactional
    def import_agencies(file):
        """Create or update agencies from a CSV file (code,name,kind,parent_code,valid_from,valid_to)."""
        counts = agencies.import_csv(_read_text(file))
        click.echo(f"Đã nhập: {counts['created']} cơ quan mới, {counts['updated']} cập nhật.")

    @app.cli.command("export-agencies")
    @click.argument("file")
    def export_agencies(file):
        """Write all agencies as CSV to FILE ('-' for standard output)."""
        text = agencies.export_csv()
        if file == "-":
            click.echo(text, nl=False)
        else:
            Path(file).write_text(text, encoding="utf-8")
            click.echo(f"Đã ghi {text.count(chr(10)) - 1} cơ quan vào {file}.")

    @app.cli.command("load-questionnaire")
    @click.argument("file")
    @transactional
    def load_questionnaire(file):
        """Store a questionnaire definition (JSON) as a new version."""
        version = questionnaires.load_file(file)
        click.echo(f"Đã nạp phiếu {version.name}: {len(version.items)} câu hỏi, "
                   f"{len(version.satisfaction_items())} câu hài lòng.")

    @app.cli.command("create-campaign")
    @click.option("--code", required=True, help="Short code, e.g. 2026-h2.")
    @click.option("--name", required=True)
    @click.option("--period", required=True, help="e.g. 2026-H2 or 2026.")
    @click.option("--questionnaire", "version_ref", default="sipas",
                  help="Questionnaire code, optionally with version: sipas or sipas:2.")
    @click.option("--opens", required=True, help="First day, YYYY-MM-DD (Vietnam time).")
    @click.option("--closes", required=True, help="Last day, YYYY-MM-DD (Vietnam time).")
    @click.option("--agency", "agency_codes", multiple=True,
                  help="Agency code in scope (repeat, or comma-separated).")
    @click.option("--all-serving", is_flag=True,
                  help="Every currently valid department, commune, ward and one-stop counter.")
    @click.option("--double-entry", is_flag=True, help="Paper forms must be keyed twice.")
    @transactional
    def create_campaign(code, name, period, version_ref, opens, closes, agency_codes,
                        all_serving, double_entry):
        """Create a survey round."""
        codes = [c for part in agency_codes for c in part.split(",")]
        if all_serving:
            codes += [a.code for a in db.session.scalars(select(Agency).where(
                Agency.kind.in_(("department", "commune", "ward", "one_stop")),
                Agency.valid_to.is_(None)))]
        campaign = campaigns.create_campaign(
            code=code, name=name, period=period, version_ref=version_ref,
            opens=_date(opens, "--opens"), closes=_date(closes, "--closes"),
            agency_codes=codes, double_entry=double_entry)
        click.echo(f"Đã tạo đợt '{campaign.code}' với {len(campaign.scope)} cơ quan.")

    @app.cli.command("create-user")
    @click.argument("username")
    @click.option("--role", required=True, help="One of: " + ", ".join(ROLES) + ".")
    @click.option("--agency", "agency_code", help="Agency code (required for officers).")
    @click.option("--full-name", default="")
    @click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
    @transactional
    def create_user(username, role, agency_code, full_name, password_stdin):
        """Create an account; the password is asked for (or read from stdin). An auditor's
        account gets a one-time link instead: only the auditor sets their password."""
        if role in users.OWNER_SETS_PASSWORD:
            if password_stdin:
                raise ServiceError(str(users.OWNER_ONLY_MESSAGE))
            password = None
        elif password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
        else:
            password = click.prompt("Mật khẩu", hide_input=True, confirmation_prompt=True)
        user, token = users.create_account(username, role, agency_code, full_name, password)
        click.echo(f"Đã tạo tài khoản '{user.username}' ({user.role}).")
        if token is not None:
            _echo_link(user, token)

    def _echo_link(user, token):
        click.echo("Đường dẫn một lần (hiệu lực 24 giờ) để người dùng tự đặt mật khẩu"
                   + (" và đăng ký xác thực hai bước" if twofactor.required(user) else "")
                   + ". Trao tận tay, không hiện lại:")
        click.echo(users.link_url(token))

    @app.cli.command("reset-user")
    @click.argument("username")
    @transactional
    def reset_user(username):
        """Issue a one-time reset link (24 h): the owner sets a new password and, for admins
        and auditors, a new second factor; the old ones stop working when it is used."""
        user = users.get_by_username(username)
        token = users.issue_link(user, purpose="reset")
        click.echo(f"Đã cấp đường dẫn đặt lại cho tài khoản '{user.username}'.")
        _echo_link(user, token)

    @app.cli.command("poster")
    @click.option("--campaign", "campaign_code", required=True, help="Campaign code.")
    @click.option("--agency", "agency_code", required=True, help="Agency code (in scope).")
    @click.option("--out", required=True, help="Output file: .pdf, .png or .svg.")
    @click.option("--allow-local-url", is_flag=True, help=ALLOW_LOCAL_HELP)
    @transactional
    def poster(campaign_code, agency_code, out, allow_local_url):
        """Write the A4 poster (QR code and short link) of an agency's open link."""
        path = _output_path(out, issuance.POSTER_FORMATS, "--out")
        _, agency, scope = issuance.get_scope(campaign_code, agency_code)
        issuance.check_print_url(allow_local_url, ALLOW_LOCAL_HOW)
        staged = _stage(path, issuance.poster(scope, path.suffix.lower().lstrip(".")))
        mask = os.umask(0o022)
        os.umask(mask)
        try:
            os.chmod(staged, 0o666 & ~mask)  # a poster is public: the usual permissions
            os.replace(staged, path)
        except OSError as exc:
            staged.unlink(missing_ok=True)
            raise ServiceError(f"Không ghi được tệp '{path}': {exc.strerror}.") from exc
        click.echo(f"Đã ghi áp phích của {agency.name} vào {path}: {issuance.open_url(scope)}")

    @app.cli.command("issue-forms")
    @click.option("--campaign", "campaign_code", required=True, help="Campaign code.")
    @click.option("--agency", "agency_code", required=True, help="Agency code (in scope).")
    @click.option("--count", required=True, help=f"Number of forms, 1–{issuance.MAX_BATCH}.")
    @click.option("--collector", required=True, help="Who takes the forms out to citizens.")
    @click.option("--out", required=True, help="PDF to print: one numbered form per serial.")
    @click.option("--csv", "csv_out", help="Also write serial,url as CSV (the links are secret).")
    @click.option("--deadline", help="Day the forms are due back, YYYY-MM-DD.")
    @click.option("--allow-local-url", is_flag=True, help=ALLOW_LOCAL_HELP)
    @transactional
    def issue_forms(campaign_code, agency_code, count, collector, out, csv_out, deadline,
                    allow_local_url):
        """Issue numbered paper forms, each with its own single-use link."""
        pdf_path = _output_path(out, ("pdf",), "--out")
        csv_path = _output_path(csv_out, ("csv",), "--csv") if csv_out else None
        if csv_path is not None and csv_path.resolve() == pdf_path.resolve():
            raise ServiceError("--out và --csv phải là hai tệp khác nhau.")
        due = _date(deadline, "--deadline") if deadline else None
        try:
            count = int(count)
        except ValueError:
            raise ServiceError(f"--count '{count}' không phải số nguyên.") from None
        campaign, agency, _ = issuance.get_scope(campaign_code, agency_code)
        batch, forms = issuance.issue_batch(campaign, agency, count, collector, due)
        # After the batch's own checks (so that their reasons come first); refused, the
        # transaction is rolled back: no batch, no form, the numbering untouched.
        issuance.check_print_url(allow_local_url, ALLOW_LOCAL_HOW)
        pdf, csv_text = issuance.forms_files(batch, forms)
        # The links exist only in these files: the batch is committed only once both are
        # written, and the files appear under their names only once it is committed.
        staged = [(_stage(pdf_path, pdf), pdf_path)]
        try:
            if csv_path is not None:
                staged.append((_stage(csv_path, csv_text.encode("utf-8")), csv_path))
            db.session.commit()
        except BaseException:
            for tmp, _ in staged:
                tmp.unlink(missing_ok=True)
            raise
        for tmp, final in staged:
            try:
                os.replace(tmp, final)
            except OSError as exc:
                raise ServiceError(
                    f"Các phiếu ĐÃ được phát hành nhưng không đổi được tên tệp '{tmp}' thành "
                    f"'{final}' ({exc.strerror}); hãy đổi tên bằng tay.") from exc
        click.echo(f"Đã phát hành {count} phiếu {forms[0][0]} – {forms[-1][0]} "
                   f"({agency.name}, người nhận: {batch.collector}).")
        click.echo(f"Tệp in: {pdf_path}" + (f"; danh sách đường dẫn: {csv_path}" if csv_path else ""))

    @app.cli.command("create-api-key")
    @click.argument("name")
    @click.option("--agency", "agency_code", help="Limit the key to this agency and its subtree.")
    @transactional
    def create_api_key(name, agency_code):
        """Create a key for an integration; it is printed once and stored only hashed."""
        row, key = api_keys.create_key(name, agency_code)
        click.echo(f"Khóa API cho '{row.name}' (tiền tố {row.prefix}); chỉ hiện một lần:")
        click.echo(key)

    @app.cli.command("revoke-api-key")
    @click.argument("prefix")
    @transactional
    def revoke_api_key(prefix):
        """Revoke a key by its prefix (the 8 characters after sk_)."""
        row = api_keys.revoke(prefix)
        click.echo(f"Đã thu hồi khóa {row.prefix} ({row.name}).")

    @app.cli.command("list-api-keys")
    def list_api_keys():
        """List keys: prefix, name, agency, created, last used, revoked."""
        for row in api_keys.all_keys():
            state = "thu hồi " + row.revoked_at.isoformat(timespec="minutes") \
                if row.revoked_at else "hoạt động"
            click.echo(f"{row.prefix}  {row.name}  {row.agency.code if row.agency else '-'}  "
                       f"{row.created_at:%Y-%m-%d}  {state}")

    @app.cli.command("checkpoint")
    @click.option("--campaign", "campaign_code", help="One campaign (default: every campaign).")
    @transactional
    def checkpoint_command(campaign_code):
        """Record ledger checkpoints: run daily (cron); also marks each campaign's close.

        A campaign gets a checkpoint when its ledger grew since the last one, and one
        marked 'close' once its closing time has passed. Prints each digest to keep."""
        from .services import auditing, tally

        failed = False
        for campaign, cp, digest in auditing.scheduled_checkpoints(campaign_code):
            click.echo(f"{campaign.code}: {cp.reason}, {cp.seq} mục — {digest}")
            click.echo("  " + tally.summary(campaign, cp.tally_check),
                       err=not cp.tally_check.ok)
            for line in tally.difference_lines(campaign, cp.tally_check):
                click.echo(f"  {line}", err=True)
            failed = failed or not cp.tally_check.ok
        if failed:
            # The checkpoints stay recorded (the ledger's chain does not depend on the
            # tally); the exit status tells cron that the tally needs looking at.
            db.session.commit()
            click.echo(_("Lỗi: bảng đếm không khớp với phiếu; mốc kiểm tra của sổ cái vẫn "
                         "được ghi, nhưng không kèm mã bảng đếm."), err=True)
            sys.exit(1)

    @app.cli.command("check-tally")
    @click.option("--campaign", "campaign_code", help="One campaign (default: every campaign).")
    def check_tally(campaign_code):
        """Recount the answer tally from the responses up to its mark and report every
        difference (exit 1 if any)."""
        from .services import tally

        try:
            if campaign_code:
                targets = [campaigns.get_campaign(campaign_code)]
            else:
                targets = list(db.session.scalars(select(Campaign).order_by(Campaign.code)))
        except ServiceError as exc:
            click.echo(f"Lỗi: {exc}", err=True)
            sys.exit(1)
        failed, cells = 0, 0
        for campaign in targets:
            result = tally.check(campaign)
            cells += result.cells
            if not result.ok:
                failed += 1
                click.echo(tally.summary(campaign, result), err=True)
                for line in tally.difference_lines(campaign, result):
                    click.echo(f"  {line}", err=True)
        db.session.rollback()  # read only
        if failed:
            click.echo(_("Lỗi: bảng đếm không khớp ở %(n)d/%(total)d đợt.", n=failed,
                         total=len(targets)), err=True)
            sys.exit(1)
        click.echo(_("Bảng đếm khớp với phiếu: %(n)d đợt, %(cells)d ô.", n=len(targets),
                     cells=cells))

    @app.cli.command("archive-campaign")
    @click.option("--campaign", "campaign_code", required=True, help="Campaign code.")
    @transactional
    def archive_campaign(campaign_code):
        """Archive a closed campaign: read-only from now on, its re-check phone numbers
        erased, a final ledger checkpoint recorded (print its digest and keep it)."""
        done = campaigns.archive_campaign(campaigns.get_campaign(campaign_code))
        click.echo(_("Đã lưu trữ đợt '%(code)s'; đã xóa %(n)d số điện thoại liên hệ phúc tra.",
                     code=done.campaign.code, n=done.contacts_erased))
        click.echo(_("Mốc kiểm tra cuối cùng (%(seq)d mục), hãy chép lại và giữ ngoài hệ "
                     "thống: %(digest)s", seq=done.checkpoint.seq, digest=done.digest))

    @app.cli.command("export-audit")
    @click.option("--campaign", "campaign_code", required=True)
    @click.option("--out", "out_path", required=True, help="The bundle file to write (.zip).")
    def export_audit(campaign_code, out_path):
        """Write the audit bundle: responses, codebook, ledger, checkpoints (one ZIP file)."""
        from .services.bundle import export_bundle

        try:
            campaign = campaigns.get_campaign(campaign_code)
        except ServiceError as exc:
            click.echo(f"Lỗi: {exc}", err=True)
            sys.exit(1)
        target = Path(out_path)
        tmp = target.with_name(f".{target.name}.tmp")
        try:
            manifest = export_bundle(campaign, tmp)
            os.replace(tmp, target)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            click.echo(f"Lỗi: không ghi được '{out_path}': {exc.strerror}", err=True)
            sys.exit(1)
        from .services import results

        results.record_row_export(campaign, "export-audit")
        db.session.commit()
        click.echo(f"Đã ghi {target}: {manifest['responses']} phiếu, "
                   f"{manifest['ledger_entries']} mục sổ cái, {manifest['checkpoints']} mốc.")

    @app.cli.command("purge-contacts")
    @click.option("--campaign", "campaign_code",
                  help="Erase every number of this campaign (its re-verification is over).")
    @transactional
    def purge_contacts(campaign_code):
        """Erase re-check phone numbers no longer needed: those of archived campaigns and of
        responses whose re-check is recorded (run daily, e.g. from cron)."""
        from .services import contacts

        campaign = campaigns.get_campaign(campaign_code) if campaign_code else None
        erased = contacts.purge_contacts(campaign)
        click.echo(f"Đã xóa {erased} số điện thoại liên hệ phúc tra.")
