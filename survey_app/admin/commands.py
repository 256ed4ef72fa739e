"""Operator commands of Sở Nội vụ's administration: agencies, questionnaires, campaigns,
accounts and API keys (registered on the admin blueprint's CLI without a group, so they are
`flask --app survey_app COMMAND`)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask_babel import gettext as _
from sqlalchemy import select

from ..cli import _date, _read_text, transactional
from ..extensions import db
from ..models import ROLES, Agency
from ..services import (
    ServiceError,
    agencies,
    api_keys,
    audio,
    campaigns,
    questionnaires,
    twofactor,
    users,
)
from . import bp

# --- agencies and questionnaires ----------------------------------------------------------

@bp.cli.command("import-agencies")
@click.argument("file")
@transactional
def import_agencies(file):
    """Create or update agencies from a CSV file (code,name,kind,parent_code,valid_from,valid_to)."""
    counts = agencies.import_csv(_read_text(file))
    click.echo(f"Đã nhập: {counts['created']} cơ quan mới, {counts['updated']} cập nhật.")


@bp.cli.command("export-agencies")
@click.argument("file")
def export_agencies(file):
    """Write all agencies as CSV to FILE ('-' for standard output)."""
    text = agencies.export_csv()
    if file == "-":
        click.echo(text, nl=False)
    else:
        Path(file).write_text(text, encoding="utf-8")
        click.echo(f"Đã ghi {text.count(chr(10)) - 1} cơ quan vào {file}.")


@bp.cli.command("load-questionnaire")
@click.argument("file")
@transactional
def load_questionnaire(file):
    """Store a questionnaire definition (JSON) as a new version."""
    version = questionnaires.load_file(file)
    click.echo(f"Đã nạp phiếu {version.name}: {len(version.items)} câu hỏi, "
               f"{len(version.satisfaction_items())} câu hài lòng.")


@bp.cli.command("make-audio")
@click.option("--questionnaire", "version_ref", default="sipas",
              help="Questionnaire code, optionally with version: sipas or sipas:2.")
@click.option("--lang", default="vi", help="ISO 639 code of the language to voice (vi, en).")
@transactional
def make_audio(version_ref, lang):
    """Make the read-aloud clips of a questionnaire version in a language with the speech
    engine (once per version and language; later runs remake only what changed)."""
    version = questionnaires.get_version(version_ref)
    made = audio.make_audio(version, lang)
    click.echo(_("Âm thanh %(version)s (%(lang)s): tạo %(made)d tệp, giữ nguyên %(kept)d, "
                 "%(recorded)d phần dùng bản ghi âm; tổng %(kb)d KB, tệp lớn nhất %(largest)d "
                 "byte.", version=version.name, lang=made.lang, made=made.made,
                 kept=made.kept, recorded=made.recorded, kb=made.total_bytes // 1024,
                 largest=made.largest))


# --- campaigns ---------------------------------------------------------------------------

@bp.cli.command("create-campaign")
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


@bp.cli.command("archive-campaign")
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


# --- accounts ----------------------------------------------------------------------------

@bp.cli.command("create-user")
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


@bp.cli.command("reset-user")
@click.argument("username")
@transactional
def reset_user(username):
    """Issue a one-time reset link (24 h): the owner sets a new password and, for admins
    and auditors, a new second factor; the old ones stop working when it is used."""
    user = users.get_by_username(username)
    token = users.issue_link(user, purpose="reset")
    click.echo(f"Đã cấp đường dẫn đặt lại cho tài khoản '{user.username}'.")
    _echo_link(user, token)


# --- API keys ----------------------------------------------------------------------------

@bp.cli.command("create-api-key")
@click.argument("name")
@click.option("--agency", "agency_code", help="Limit the key to this agency and its subtree.")
@transactional
def create_api_key(name, agency_code):
    """Create a key for an integration; it is printed once and stored only hashed."""
    row, key = api_keys.create_key(name, agency_code)
    click.echo(f"Khóa API cho '{row.name}' (tiền tố {row.prefix}); chỉ hiện một lần:")
    click.echo(key)


@bp.cli.command("revoke-api-key")
@click.argument("prefix")
@transactional
def revoke_api_key(prefix):
    """Revoke a key by its prefix (the 8 characters after sk_)."""
    row = api_keys.revoke(prefix)
    click.echo(f"Đã thu hồi khóa {row.prefix} ({row.name}).")


@bp.cli.command("list-api-keys")
def list_api_keys():
    """List keys: prefix, name, agency, created, last used, revoked."""
    for row in api_keys.all_keys():
        state = "thu hồi " + row.revoked_at.isoformat(timespec="minutes") \
            if row.revoked_at else "hoạt động"
        click.echo(f"{row.prefix}  {row.name}  {row.agency.code if row.agency else '-'}  "
                   f"{row.created_at:%Y-%m-%d}  {state}")
