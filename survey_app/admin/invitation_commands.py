"""Operator commands for invitations after a one-stop case (registered on the admin
blueprint's CLI, beside the pages of `admin.invitations`): import a file of completed
cases, send the invitations that wait."""

from __future__ import annotations

from pathlib import Path

import click

from ..cli import transactional
from ..extensions import db
from ..services import ServiceError, case_import, delivery
from ..services.campaigns import get_campaign
from . import bp


@bp.cli.command("import-cases")
@click.option("--campaign", "campaign_code", required=True, help="Campaign code.")
@click.argument("file")
@transactional
def import_cases(campaign_code, file):
    """Import completed cases (CSV or XLSX, read by the saved column map): an invitation
    for each person who consented. Any rejected row: nothing is imported."""
    path = Path(file)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ServiceError(f"Không đọc được tệp '{file}': {exc.strerror}.") from exc
    result = case_import.import_cases(get_campaign(campaign_code), data, path.name)
    r = result.record
    click.echo(f"Đã nhập {r.rows} hồ sơ từ {path.name}: {r.invited} thư mời chờ gửi; "
               f"không đồng ý: {r.no_consent}; không có cách liên hệ: {r.no_contact}; "
               f"người đã được mời: {r.already_invited}.")


@bp.cli.command("send-invitations")
@click.option("--campaign", "campaign_code", help="Only this campaign (default: all).")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many attempts.")
@transactional
def send_invitations(campaign_code, limit):
    """Send the invitations that are due (e-mail or SMS), retrying failed ones later;
    each sent or finally failed invitation's contact is erased."""
    campaign = get_campaign(campaign_code) if campaign_code else None
    report = delivery.send_pending(campaign, limit=limit, checkpoint=db.session.commit)
    click.echo(f"Đã gửi {report.sent} thư mời; sẽ thử lại: {report.retry}; "
               f"không gửi được: {report.failed}.")
