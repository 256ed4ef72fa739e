"""Operator commands (`flask --app survey_app ...`). Each calls the same services as the
web pages, commits once, and on bad input prints why, exits non-zero and changes nothing.

This module holds what the commands share (one transaction per command, input and output
files) and the core commands `init-db` and `seed-demo`; the others are registered by the
blueprint of their area, on its CLI without a group (`admin.commands`,
`admin.issuance_commands`, `audit.commands`, `results.commands`)."""

from __future__ import annotations

import functools
import os
import sys
import tempfile
from datetime import date
from pathlib import Path

import click
from flask import Flask, current_app
from flask_migrate import upgrade

from .extensions import db
from .services import ServiceError


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

