"""Operator commands for results: `export-responses` and `report` (registered on the
results blueprint's CLI without a group, so they are `flask --app survey_app COMMAND`)."""

from __future__ import annotations

import os
from pathlib import Path

import click

from ..cli import _output_path, _stage, transactional
from ..services import ServiceError, agencies, official, reports, results
from . import bp


@bp.cli.command("export-responses")
@click.option("--campaign", "campaign_code", required=True, help="Campaign code.")
@click.option("--out", "out_dir", required=True,
              help="Directory for responses.csv and codebook.csv (created if missing).")
@click.option("--agency", "agency_code", help="Only this agency and its subtree.")
@transactional
def export_responses(campaign_code, out_dir, agency_code):
    """Write a campaign's responses and codebook as CSV (the export format)."""
    campaign = results.get(campaign_code)
    if agency_code:
        agencies.get_by_code(agency_code)
    directory = Path(out_dir)
    if directory.exists() and not directory.is_dir():
        raise ServiceError(f"--out '{out_dir}' không phải là thư mục.")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        count = results.write_export(campaign, directory, agency=agency_code)
    except OSError as exc:
        raise ServiceError(f"Không ghi được vào '{out_dir}': {exc.strerror}.") from exc
    results.record_row_export(campaign, "export-responses", agency_code)
    click.echo(f"Đã ghi {count} phiếu của đợt '{campaign.code}' vào "
               f"{directory / 'responses.csv'} và bộ mã câu hỏi vào {directory / 'codebook.csv'}.")


@bp.cli.command("report")
@click.option("--campaign", "campaign_codes", multiple=True,
              help="Campaign code; repeat to combine several campaigns (annual report).")
@click.option("--year", type=click.IntRange(2000, 2100),
              help="The annual report: every campaign opening in this year.")
@click.option("--out", required=True, help="Output file: .docx (official), .xlsx or .pdf.")
@click.option("--agency", "agency_code", help="Only this agency and its subtree (its own "
              "report).")
@click.option("--baseline", "baseline_codes", multiple=True,
              help="Campaign(s) of the earlier period to compare with (.docx).")
@click.option("--number", default="", help="The document's number, e.g. 'Số: 15/BC-SNV' "
              "(.docx; left blank to fill in by hand by default).")
@click.option("--signer", default="", help="The signer's name (.docx).")
@click.option("--official", "official_", is_flag=True, help="The official document as .pdf or .xlsx too "
              "(.docx is always the official document; without this flag .pdf and .xlsx "
              "are the results' tables).")
@click.option("--include-rejected", is_flag=True,
              help="Count responses reviewed as rejected (left out by default).")
@click.option("--bootstrap", type=click.IntRange(min=0), default=None,
              help="Bootstrap replicates for element and service intervals (0: none).")
@click.option("--seed", type=click.IntRange(min=0), default=None, help="Bootstrap seed.")
@transactional
def report(campaign_codes, year, out, agency_code, baseline_codes, number, signer, official_,
           include_rejected, bootstrap, seed):
    """Write the report of a campaign, of several combined, or of a year: the official
    document (.docx) or the tables (.xlsx, .pdf)."""
    path = _output_path(out, ("docx", "xlsx", "pdf"), "--out")
    if bool(campaign_codes) == bool(year):
        raise ServiceError("Chọn đợt khảo sát (--campaign) hoặc năm (--year), không cả hai.")
    campaigns = official.campaigns_of_year(year) if year else \
        [results.get(code) for code in campaign_codes]
    agency = agencies.get_by_code(agency_code) if agency_code else None
    fmt = path.suffix.lower().lstrip(".")
    if fmt == "docx" or official_:
        kind = "agency" if agency else ("annual" if year or len(campaigns) > 1 else "province")
        order = official.Order(kind=kind, campaigns=campaigns, agency=agency, year=year,
                               baseline=[results.get(c) for c in baseline_codes],
                               exclude_rejected=not include_rejected, bootstrap=bootstrap,
                               seed=seed, number=number, signer=signer)
        data, counted = official.render(order, fmt), None
    else:
        options = results.default_options()
        options["max_responses"] = None  # a report always has its intervals
        if bootstrap is not None:
            options["bootstrap"] = bootstrap
        if seed is not None:
            options["seed"] = seed
        computed = results.combined_indices(campaigns, agency=agency_code,
                                            exclude_rejected=not include_rejected, **options)
        data = reports.xlsx(computed) if fmt == "xlsx" else reports.pdf(computed)
        counted = computed.counted
    _publish(path, data)
    click.echo(f"Đã ghi báo cáo vào {path}"
               + (f" ({counted} phiếu được tính)." if counted is not None else "."))


def _publish(path: Path, data: bytes) -> None:
    """Write the file beside its place and rename it in: a reader never sees half of it."""
    staged = _stage(path, data)
    mask = os.umask(0o022)
    os.umask(mask)
    try:
        os.chmod(staged, 0o666 & ~mask)
        os.replace(staged, path)
    except OSError as exc:
        staged.unlink(missing_ok=True)
        raise ServiceError(f"Không ghi được tệp '{path}': {exc.strerror}.") from exc
