"""Operator commands of the audit: ledger checkpoints, the tally check, the audit bundle
and erasing re-check phone numbers (registered on the audit blueprint's CLI without a
group, so they are `flask --app survey_app COMMAND`)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from flask_babel import gettext as _
from sqlalchemy import select

from ..cli import transactional
from ..extensions import db
from ..models import Campaign
from ..services import ServiceError, auditing, campaigns, contacts, delivery, results, tally, warmup
from ..services.bundle import export_bundle
from ..services.formatting import number
from . import bp


@bp.cli.command("checkpoint")
@click.option("--campaign", "campaign_code", help="One campaign (default: every campaign).")
@transactional
def checkpoint_command(campaign_code):
    """Record ledger checkpoints: run daily (cron); also marks each campaign's close.

    A campaign gets a checkpoint when its ledger grew since the last one, and one
    marked 'close' once its closing time has passed. Prints each digest to keep. Then
    computes ahead what the next results page or report of each campaign not archived
    needs (intervals, quality-flag counts) and keeps it."""
    failed = False
    for campaign, cp, digest in auditing.scheduled_checkpoints(campaign_code):
        click.echo(f"{campaign.code}: {cp.reason}, {cp.seq} mục — {digest}")
        click.echo("  " + tally.summary(campaign, cp.tally_check),
                   err=not cp.tally_check.ok)
        for line in tally.difference_lines(campaign, cp.tally_check):
            click.echo(f"  {line}", err=True)
        failed = failed or not cp.tally_check.ok
    db.session.commit()  # the checkpoints stand whatever follows
    if not failed:
        ready = warmup.prepare(_unarchived(campaign_code))
        click.echo(_("Đã tính sẵn khoảng tin cậy và cờ chất lượng (%(s)s giây); xoá %(n)s kết "
                     "quả cũ.", s=number(ready["seconds"], 1), n=ready["removed"]))
    if failed:
        # The checkpoints stay recorded (the ledger's chain does not depend on the
        # tally); the exit status tells cron that the tally needs looking at.
        db.session.commit()
        click.echo(_("Lỗi: bảng đếm không khớp với phiếu; mốc kiểm tra của sổ cái vẫn "
                     "được ghi, nhưng không kèm mã bảng đếm."), err=True)
        sys.exit(1)


def _unarchived(campaign_code: str | None) -> list[Campaign]:
    if campaign_code:
        return [campaigns.get_campaign(campaign_code)]
    return list(db.session.scalars(select(Campaign).where(Campaign.archived_at.is_(None))
                                   .order_by(Campaign.code)))


@bp.cli.command("check-tally")
@click.option("--campaign", "campaign_code", help="One campaign (default: every campaign).")
def check_tally(campaign_code):
    """Recount the answer tally from the responses up to its mark and report every
    difference (exit 1 if any)."""
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


@bp.cli.command("export-audit")
@click.option("--campaign", "campaign_code", required=True)
@click.option("--out", "out_path", required=True, help="The bundle file to write (.zip).")
def export_audit(campaign_code, out_path):
    """Write the audit bundle: responses, codebook, ledger, checkpoints (one ZIP file)."""
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
    results.record_row_export(campaign, "export-audit")
    db.session.commit()
    click.echo(f"Đã ghi {target}: {manifest['responses']} phiếu, "
               f"{manifest['ledger_entries']} mục sổ cái, {manifest['checkpoints']} mốc.")


@bp.cli.command("purge-contacts")
@click.option("--campaign", "campaign_code",
              help="Erase every number of this campaign (its re-verification is over).")
@transactional
def purge_contacts(campaign_code):
    """Erase re-check phone numbers no longer needed: those of archived campaigns and of
    responses whose re-check is recorded; and the phone numbers and e-mail addresses of
    invitations never sent before their campaign closed (run daily, e.g. from a timer)."""
    campaign = campaigns.get_campaign(campaign_code) if campaign_code else None
    erased = contacts.purge_contacts(campaign)
    given_up = delivery.give_up_closed(campaign)
    click.echo(f"Đã xóa {erased} số điện thoại liên hệ phúc tra.")
    click.echo(f"Đã xóa liên hệ của {given_up} thư mời chưa gửi của đợt đã kết thúc.")
