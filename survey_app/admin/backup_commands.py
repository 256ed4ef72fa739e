"""Operator commands that back up the whole database and restore it (registered on the
admin blueprint's CLI without a group: `flask --app survey_app backup|restore`)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from flask_babel import gettext as _

from ..cli import _output_path, transactional
from ..extensions import db
from ..services import ServiceError, backup, dumps
from . import bp


@bp.cli.command("backup")
@click.option("--out", help="The backup file to write (.tar).")
@click.option("--dir", "folder",
              help="Write DIR/survey-YYYYMMDDTHHMMSSZ.tar instead (for a timer or cron).")
@click.option("--keep", type=click.IntRange(min=1),
              help="With --dir: then delete all but the N newest dated backups there.")
@transactional
def backup_command(out, folder, keep):
    """Back up the whole database into one file: a manifest (every campaign's latest
    ledger checkpoint, the dump's sha256) and the dump (pg_dump -Fc, or SQLite's backup
    API). Campaigns whose ledger grew get a checkpoint ('backup') first."""
    target = _target(out, folder, keep)
    dumps.kind(db.engine)
    for campaign, cp, digest in backup.checkpoint_changed():
        click.echo(f"{campaign.code}: {cp.reason}, {cp.seq} mục — {digest}")
    db.session.commit()  # the dump, read by another connection, holds them
    manifest = backup.write_backup(target)
    click.echo(_("Đã ghi bản sao lưu %(f)s (%(k)s, %(n)d đợt khảo sát), sha256 của bản kết "
                 "xuất: %(h)s", f=target, k=manifest["database"],
                 n=len(manifest["campaigns"]), h=manifest["dump"]["sha256"]))
    for old in backup.prune(target.parent, keep) if keep else ():
        click.echo(_("Đã xoá bản sao lưu cũ %(f)s", f=old))


def _target(out: str | None, folder: str | None, keep: int | None) -> Path:
    if (out is None) == (folder is None):
        raise ServiceError(_("Cần đúng một trong hai: --out TỆP.tar hoặc --dir THƯ_MỤC."))
    if keep and not folder:
        raise ServiceError(_("--keep chỉ dùng cùng --dir (các bản sao lưu có tên theo ngày)."))
    if out is not None:
        return _output_path(out, ("tar",), "--out")
    if not Path(folder).is_dir():
        raise ServiceError(_("--dir '%(d)s': thư mục không tồn tại.", d=folder))
    return backup.dated_path(Path(folder))


@bp.cli.command("restore")
@click.argument("file")
@click.option("--replace-existing", is_flag=True,
              help="Restore even though the database holds tables (replacing theirs).")
@transactional
def restore_command(file, replace_existing):
    """Restore a backup into the configured database, which must be empty; then
    recompute every campaign's ledger up to the manifest's checkpoint and compare (exit 1:
    refused, nothing changed; exit 2: restored, but something does not match)."""
    manifest, checks = backup.restore_backup(Path(file), replace_existing)
    click.echo(_("Đã phục hồi %(f)s (sao lưu lúc %(t)s từ %(k)s).", f=file,
                 t=manifest["created_at"], k=manifest["database"]))
    yes, no = _("khớp"), _("SAI")
    header = (_("Đợt"), _("Số mục"), _("Chuỗi"), _("Đầu chuỗi"), _("Gốc Merkle"),
              _("Mốc"), _("Mã mốc"))
    rows = [(c.campaign, str(c.seq), *(yes if ok else no for ok in (
        c.chain_ok, c.head_ok, c.root_ok, c.checkpoint_ok)), c.digest) for c in checks]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True))
                   .rstrip())
    newer = backup.pending_upgrade(manifest, current_app.extensions["migrate"].directory)
    if newer:
        click.echo(_("Lược đồ phục hồi ở phiên bản %(old)s, mã nguồn ở %(new)s: chạy init-db "
                     "để nâng cấp.", old=manifest["schema_revision"], new=newer))
    wrong = [c.campaign for c in checks if not c.ok]
    if wrong:
        click.echo(_("Lỗi: sổ cái phục hồi không khớp với bản kê ở %(n)d đợt: %(c)s.",
                     n=len(wrong), c=", ".join(wrong)), err=True)
        sys.exit(2)
