"""Operator commands that print for a campaign: an agency's poster and numbered paper
forms (registered on the admin blueprint's CLI, beside the issuance pages of
`admin.issuance`, without a group: `flask --app survey_app COMMAND`)."""

from __future__ import annotations

import os

import click

from ..cli import ALLOW_LOCAL_HELP, ALLOW_LOCAL_HOW, _date, _output_path, _stage, transactional
from ..extensions import db
from ..services import ServiceError, issuance, translations
from . import bp

LANG_HELP = ("Print in a language the questionnaire is translated into (ISO 639 code, "
             "e.g. tyz); its QR code opens the form in that language.")


@bp.cli.command("poster")
@click.option("--campaign", "campaign_code", required=True, help="Campaign code.")
@click.option("--agency", "agency_code", required=True, help="Agency code (in scope).")
@click.option("--out", required=True, help="Output file: .pdf, .png or .svg.")
@click.option("--lang", help=LANG_HELP)
@click.option("--allow-local-url", is_flag=True, help=ALLOW_LOCAL_HELP)
@transactional
def poster(campaign_code, agency_code, out, lang, allow_local_url):
    """Write the A4 poster (QR code and short link) of an agency's open link."""
    path = _output_path(out, issuance.POSTER_FORMATS, "--out")
    _, agency, scope = issuance.get_scope(campaign_code, agency_code)
    issuance.check_print_url(allow_local_url, ALLOW_LOCAL_HOW)
    staged = _stage(path, issuance.poster(scope, path.suffix.lower().lstrip("."), lang))
    mask = os.umask(0o022)
    os.umask(mask)
    try:
        os.chmod(staged, 0o666 & ~mask)  # a poster is public: the usual permissions
        os.replace(staged, path)
    except OSError as exc:
        staged.unlink(missing_ok=True)
        raise ServiceError(f"Không ghi được tệp '{path}': {exc.strerror}.") from exc
    click.echo(f"Đã ghi áp phích của {agency.name} vào {path}: {issuance.open_url(scope)}")


@bp.cli.command("issue-forms")
@click.option("--campaign", "campaign_code", required=True, help="Campaign code.")
@click.option("--agency", "agency_code", required=True, help="Agency code (in scope).")
@click.option("--count", required=True, help=f"Number of forms, 1–{issuance.MAX_BATCH}.")
@click.option("--collector", required=True, help="Who takes the forms out to citizens.")
@click.option("--out", required=True, help="PDF to print: one numbered form per serial.")
@click.option("--csv", "csv_out", help="Also write serial,url as CSV (the links are secret).")
@click.option("--deadline", help="Day the forms are due back, YYYY-MM-DD.")
@click.option("--lang", help=LANG_HELP)
@click.option("--allow-local-url", is_flag=True, help=ALLOW_LOCAL_HELP)
@transactional
def issue_forms(campaign_code, agency_code, count, collector, out, csv_out, deadline, lang,
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
    pdf, csv_text = issuance.forms_files(
        batch, forms, translations.for_print(campaign.version, lang))
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
