"""Backups of the whole database and their restore.

A backup is one tar file: `manifest.json` first (when, the schema's Alembic revision, the
database's kind, every campaign's latest ledger checkpoint, the dump's name, size and
sha256), then the dump (`services.dumps`). A restore checks the dump against the manifest
before it changes anything, and afterwards recomputes each campaign's chain up to the
manifest's checkpoint from the restored rows.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from flask_babel import gettext as _
from sqlalchemy import inspect, select, text

from analysis import ledger as chain

from ..extensions import db
from ..ledger import head, iso
from ..models import Campaign, LedgerCheckpoint, LedgerEntry, utcnow
from . import ServiceError, dumps
from .auditing import record_checkpoint

FORMAT = 1
MANIFEST = "manifest.json"
DUMP_NAMES = {"postgresql": "database.pgdump", "sqlite": "database.sqlite"}
#: A backup's name when the command chooses it (`--dir`): dated, so that names sort in time.
DATED = "survey-%Y%m%dT%H%M%SZ.tar"
DATED_GLOB = "survey-*.tar"
_CHUNK = 1 << 20


def checkpoint_changed() -> list[tuple[Campaign, LedgerCheckpoint, str]]:
    """A checkpoint (reason 'backup') for each campaign not archived whose chain grew
    since its last checkpoint (or that has none): the manifest then names, for every
    campaign, the chain's head as it stands at the backup. An unchanged campaign's last
    checkpoint already does, and a nightly backup adds no checkpoint to it."""
    done = []
    for campaign in db.session.scalars(select(Campaign).where(Campaign.archived_at.is_(None))
                                       .order_by(Campaign.code)):
        last = _latest(campaign)
        if last is None or last.seq != head(campaign.id)[0]:
            done.append((campaign, *record_checkpoint(campaign, "backup")))
    return done


def _latest(campaign: Campaign) -> LedgerCheckpoint | None:
    return db.session.scalar(select(LedgerCheckpoint).filter_by(campaign_id=campaign.id)
                             .order_by(LedgerCheckpoint.id.desc()).limit(1))


def schema_revision() -> str | None:
    """The database's Alembic revision (None for a schema not built by the migrations)."""
    if "alembic_version" not in inspect(db.engine).get_table_names():
        return None
    return db.session.scalar(text("SELECT version_num FROM alembic_version"))


def manifest_campaigns() -> list[dict]:
    """Every campaign with its latest checkpoint, as the manifest lists them."""
    out = []
    for campaign in db.session.scalars(select(Campaign).order_by(Campaign.code)):
        cp = _latest(campaign)
        out.append({"campaign": campaign.code, "checkpoint": None if cp is None else {
            "at": iso(cp.at), "reason": cp.reason, "seq": cp.seq, "head_hash": cp.head_hash,
            "merkle_root": cp.merkle_root, "tally_digest": cp.tally_digest,
            "digest": chain.format_digest(campaign.code, cp.seq, cp.head_hash)}})
    return out


def dated_path(folder: Path, now: datetime | None = None) -> Path:
    return folder / (now or utcnow()).strftime(DATED)


def write_backup(target: Path) -> dict:
    """Dump the database and write the backup file at `target` (readable by its owner
    only: it holds every account and response). Returns the manifest. What it describes
    must be committed before: the dump is read by another connection."""
    engine = db.engine
    kind = dumps.kind(engine)
    manifest = {"format": FORMAT, "created_at": iso(utcnow()), "database": kind,
                "schema_revision": schema_revision(), "campaigns": manifest_campaigns()}
    db.session.rollback()  # nothing of ours is held open during the dump
    try:
        _write(engine, kind, manifest, target)
    except OSError as exc:
        raise ServiceError(_("Không ghi được tệp '%(f)s': %(e)s.", f=target,
                             e=exc.strerror or exc)) from exc
    return manifest


def _write(engine, kind: str, manifest: dict, target: Path) -> None:
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".backup-") as work:
        dump_path = Path(work) / DUMP_NAMES[kind]
        dumps.dump(engine, dump_path)
        manifest["dump"] = {"name": dump_path.name, "bytes": dump_path.stat().st_size,
                            "sha256": _sha256(dump_path)}
        staged = Path(work) / "backup.tar"
        body = json.dumps(manifest, ensure_ascii=False, indent=2).encode("utf-8")
        with tarfile.open(staged, "w", format=tarfile.PAX_FORMAT) as tar:
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mtime, info.mode = len(body), int(utcnow().timestamp()), 0o600
            tar.addfile(info, io.BytesIO(body))
            tar.add(dump_path, arcname=dump_path.name)
        staged.chmod(0o600)
        os.replace(staged, target)


def pending_upgrade(manifest: dict, migrations: str) -> str | None:
    """The newest revision of the migrations in `migrations` when the restored schema
    (the manifest's revision) is older: `init-db` then brings it up to date."""
    from alembic.script import ScriptDirectory

    newest = ScriptDirectory(migrations).get_current_head()
    have = manifest.get("schema_revision")
    return newest if have is not None and have != newest else None


def prune(folder: Path, keep: int) -> list[Path]:
    """Delete the dated backups in `folder` but the `keep` newest; returns those deleted."""
    dated = sorted(folder.glob(DATED_GLOB))
    gone = dated[:-keep] if keep else dated
    for path in gone:
        path.unlink()
    return gone


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


# --- restore --------------------------------------------------------------------------------

@contextmanager
def opened(path: Path) -> Iterator[tuple[dict, Path]]:
    """The manifest of the backup at `path` and its dump, extracted to a temporary folder
    and found to match the manifest's sha256. Refused (ServiceError) when the file is not
    a backup, or is tampered with or truncated."""
    bad = _("Tệp '%(f)s' không phải bản sao lưu đọc được (hỏng hoặc bị cắt cụt)", f=path)
    if not path.is_file():
        raise ServiceError(_("Không tìm thấy tệp '%(f)s'.", f=path))
    with tempfile.TemporaryDirectory(prefix="survey-restore-") as work:
        try:
            with tarfile.open(path, "r:") as tar:
                manifest = _read_manifest(tar, bad)
                member = tar.getmember(manifest["dump"]["name"])
                dump_path = Path(work) / "dump"
                digest = hashlib.sha256()
                with tar.extractfile(member) as src, open(dump_path, "wb") as out:
                    while block := src.read(_CHUNK):
                        digest.update(block)
                        out.write(block)
        except (tarfile.TarError, KeyError, OSError, EOFError) as exc:
            raise ServiceError(f"{bad}: {exc}.") from exc
        if digest.hexdigest() != manifest["dump"]["sha256"]:
            raise ServiceError(_("Bản sao lưu '%(f)s' đã bị sửa hoặc bị cắt cụt: mã sha256 "
                                 "của bản kết xuất không khớp với bản kê. Không phục hồi.",
                                 f=path))
        yield manifest, dump_path


def _read_manifest(tar: tarfile.TarFile, bad: str) -> dict:
    member = tar.extractfile(MANIFEST)
    try:
        manifest = json.loads(member.read().decode("utf-8"))
        ok = (manifest.get("format") == FORMAT and manifest.get("database") in dumps.KINDS
              and isinstance(manifest.get("campaigns"), list)
              and {"name", "sha256"} <= set(manifest.get("dump", {})))
    except (ValueError, AttributeError) as exc:
        raise ServiceError(_("%(bad)s: bản kê manifest.json hỏng.", bad=bad)) from exc
    if not ok:
        raise ServiceError(_("%(bad)s: bản kê manifest.json thiếu mục cần có.", bad=bad))
    return manifest


def restore_backup(path: Path, replace: bool = False) -> tuple[dict, list[CampaignCheck]]:
    """Restore the backup at `path` into the configured database, then check every
    campaign's chain against the manifest. Refused, with nothing changed, when the file
    is not a sound backup, when it was made from the other kind of database, or when the
    database holds tables (unless `replace`)."""
    engine = db.engine
    target = dumps.kind(engine)
    with opened(path) as (manifest, dump_path):
        if manifest["database"] != target:
            raise ServiceError(_("Bản sao lưu này lấy từ %(src)s, không phục hồi được vào "
                                 "%(dst)s: chỉ phục hồi vào cùng loại cơ sở dữ liệu.",
                                 src=manifest["database"], dst=target))
        held = dumps.tables(engine)
        if held and not replace:
            raise ServiceError(_("Cơ sở dữ liệu đích không trống (có %(n)d bảng, ví dụ "
                                 "%(t)s): chỉ phục hồi vào cơ sở dữ liệu trống, hoặc thêm "
                                 "--replace-existing để thay nội dung của nó.", n=len(held),
                                 t=sorted(held)[0]))
        db.session.remove()
        dumps.restore(engine, dump_path, replace=replace)
    return manifest, [check_campaign(entry) for entry in manifest["campaigns"]]


@dataclass
class CampaignCheck:
    """One campaign of the manifest, recomputed from the restored database."""

    campaign: str
    seq: int
    digest: str
    chain_ok: bool  # the entries 1..seq are there, each linked and hashing as recorded
    head_ok: bool
    root_ok: bool
    checkpoint_ok: bool  # the restored database holds the checkpoint, tally digest and all

    @property
    def ok(self) -> bool:
        return self.chain_ok and self.head_ok and self.root_ok and self.checkpoint_ok


def check_campaign(entry: dict) -> CampaignCheck:
    """Recompute the campaign's chain up to the manifest's checkpoint (a campaign the
    manifest names without a checkpoint must be there with an empty chain)."""
    cp = entry["checkpoint"] or {"seq": 0, "head_hash": chain.GENESIS,
                                 "merkle_root": chain.GENESIS, "tally_digest": None,
                                 "digest": ""}
    campaign = db.session.scalar(select(Campaign).filter_by(code=entry["campaign"]))
    if campaign is None:
        return CampaignCheck(entry["campaign"], cp["seq"], cp["digest"], False, False, False,
                             False)
    leaves, prev, linked = [], chain.GENESIS, True
    rows = db.session.execute(
        select(LedgerEntry.seq, LedgerEntry.prev_hash, LedgerEntry.hash, LedgerEntry.payload)
        .where(LedgerEntry.id.between(*chain.chain_ids(campaign.id, max(cp["seq"], 1))))
        .order_by(LedgerEntry.id).execution_options(yield_per=10_000))
    for seq, prev_hash, hash_, payload in rows:
        linked = linked and seq == len(leaves) + 1 and prev_hash == prev \
            and chain.entry_hash(prev, seq, payload) == hash_
        leaves.append(bytes.fromhex(hash_))
        prev = hash_
    if cp["seq"] == 0:
        leaves, prev = [], chain.GENESIS
    kept = db.session.scalar(select(LedgerCheckpoint.id).filter_by(
        campaign_id=campaign.id, seq=cp["seq"], head_hash=cp["head_hash"],
        merkle_root=cp["merkle_root"], tally_digest=cp["tally_digest"]).limit(1))
    return CampaignCheck(campaign.code, cp["seq"], cp["digest"],
                         chain_ok=linked and len(leaves) == cp["seq"],
                         head_ok=prev == cp["head_hash"],
                         root_ok=chain.merkle_root_raw(leaves) == cp["merkle_root"],
                         checkpoint_ok=entry["checkpoint"] is None or kept is not None)
