"""Operator commands for counter tablets (kiosk mode), calling the same service as the
admin pages (registered on the admin blueprint's CLI without a group:
`flask --app survey_app kiosk-add …`)."""

from __future__ import annotations

import click

from ..cli import transactional
from ..services import kiosks
from . import bp


def _echo_link(kiosk, token: str) -> None:
    click.echo(f"Đường dẫn đăng ký máy tại quầy {kiosk.id} ({kiosk.name}, {kiosk.agency.code}); "
               f"chỉ hiện một lần, hết hạn {kiosk.enrol_expires_at:%Y-%m-%d %H:%M} (UTC):")
    click.echo(kiosks.enrol_url(token))


@bp.cli.command("kiosk-add")
@click.option("--agency", "agency_code", required=True, help="Agency code.")
@click.argument("name")
@transactional
def kiosk_add(agency_code, name):
    """Register a counter tablet for an agency; prints its single-use enrolment link."""
    kiosk, token = kiosks.register(agency_code, name)
    _echo_link(kiosk, token)


@bp.cli.command("kiosk-link")
@click.argument("kiosk_id")
@transactional
def kiosk_link(kiosk_id):
    """A new enrolment link for a kiosk (its tablet replaced); the old one stops working."""
    kiosk, token = kiosks.new_link(kiosk_id)
    _echo_link(kiosk, token)


@bp.cli.command("kiosk-revoke")
@click.argument("kiosk_id")
@transactional
def kiosk_revoke(kiosk_id):
    """Revoke a kiosk: its tablet is refused from now on."""
    kiosk = kiosks.revoke(kiosk_id)
    click.echo(f"Đã thu hồi máy tại quầy {kiosk.id} ({kiosk.name}).")


@bp.cli.command("kiosk-list")
def kiosk_list():
    """List kiosks: id, agency, name, state, last submission."""
    for kiosk in kiosks.all_kiosks():
        used = f"{kiosk.last_used_at:%Y-%m-%d %H:%M}" if kiosk.last_used_at else "-"
        click.echo(f"{kiosk.id}  {kiosk.agency.code}  {kiosk.name}  {kiosk.state}  {used}")
