"""Operator commands for a questionnaire version's translations (registered on the
admin blueprint's CLI without a group: `flask --app survey_app export-translation`)."""

from __future__ import annotations

from pathlib import Path

import click

from .. import languages
from ..cli import _output_path, transactional
from ..services import ServiceError, questionnaires, translations
from . import bp


@bp.cli.command("export-translation")
@click.option("--questionnaire", "version_ref", required=True,
              help="Questionnaire code, optionally with version: sipas or sipas:2.")
@click.option("--lang", required=True, help="ISO 639 code, e.g. tyz (Tày), ium (Dao).")
@click.option("--out", required=True, help="CSV file to write (UTF-8 with BOM, for Excel).")
@transactional
def export_translation(version_ref, lang, out):
    """Write the template of a translation: one row per part (item, part, Vietnamese,
    translation), the translation filled where the language is loaded already."""
    path = _output_path(out, ("csv",), "--out")
    version = questionnaires.get_version(version_ref)
    body = translations.export_csv(version, lang)
    try:
        path.write_bytes(body)
    except OSError as exc:
        raise ServiceError(f"Không ghi được tệp '{path}': {exc.strerror}.") from exc
    rows = body.count(b"\n") - 1
    click.echo(f"Đã ghi mẫu bản dịch {languages.name(lang)} của phiếu {version.name} vào "
               f"{path}: {rows} phần.")


@bp.cli.command("load-translation")
@click.argument("file")
@click.option("--questionnaire", "version_ref", required=True,
              help="Questionnaire code, optionally with version: sipas or sipas:2.")
@click.option("--lang", required=True, help="ISO 639 code, e.g. tyz (Tày), ium (Dao).")
@transactional
def load_translation(file, version_ref, lang):
    """Load a filled translation file (CSV), replacing the language's previous one; a file
    with unknown items or parts, or without a mandatory part, is refused whole."""
    version = questionnaires.get_version(version_ref)
    try:
        data = Path(file).read_bytes()
    except OSError as exc:
        raise ServiceError(f"Không đọc được tệp '{file}': {exc.strerror}.") from exc
    row = translations.load(version, lang, data)
    click.echo(f"Đã nạp bản dịch {languages.name(row.lang)} của phiếu {version.name}: "
               f"{row.parts} phần.")


@bp.cli.command("remove-translation")
@click.option("--questionnaire", "version_ref", required=True,
              help="Questionnaire code, optionally with version: sipas or sipas:2.")
@click.option("--lang", required=True, help="ISO 639 code.")
@transactional
def remove_translation(version_ref, lang):
    """Remove a version's translation into a language (its pages are Vietnamese again)."""
    version = questionnaires.get_version(version_ref)
    translations.remove(version, lang)
    click.echo(f"Đã xóa bản dịch {languages.name(lang)} của phiếu {version.name}.")
