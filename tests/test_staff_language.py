"""What MTTQ and Sở Nội vụ read is Vietnamese, with no raw values and one number format:
every audit and admin page (reached by following their links) on a campaign with paper
forms, flags and several channels; the reconciliation workbook; the flag details; the
charts' numbers. English with ?lang=en."""

import html
import io
import re
from dataclasses import fields
from datetime import date, timedelta

import pytest
from audit_helpers import answer_open, answer_single_use, issue, user, varied
from openpyxl import load_workbook
from sqlalchemy import func, select
from web_helpers import full_answers

from analysis import charts, quality
from analysis.load_audit import QUALITY_COLUMNS
from survey_app.audit import forms as audit_forms
from survey_app.models import CHANNELS, Response
from survey_app.services import reports
from survey_app.services.reconciliation import AGENCY_SHEET, FORM_COUNTS

BURST_ADDRESS = "203.0.113.7"
SKIPPED = (".zip", ".xlsx", ".csv", ".pdf", ".json", ".png", ".svg", "/preview")


@pytest.fixture
def mixed(demo, db):
    """X-SONDUONG: numbered forms to Chị Lan (two answered online, one entered from paper),
    a burst of five straight-lined answers from one address, two identical answers (near
    duplicates), plain open-link answers, an API response and a planned sample; STP: one
    open-link answer. A re-verification sample is drawn."""
    from survey_app import intake
    from survey_app.services import issuance, paper, reverify

    lan = issue(demo, "X-SONDUONG", 4, "Chị Lan", date.today() + timedelta(days=5))
    answer_single_use(demo, lan[0][1], varied(11))
    answer_single_use(demo, lan[1][1], varied(12))
    for _ in range(5):
        answer_open(demo, full_answers(5), address=BURST_ADDRESS)
    answer_open(demo, varied(13))
    answer_open(demo, varied(13))
    for k in range(14, 20):
        answer_open(demo, varied(k))
    answer_open(demo, varied(20), agency="STP")
    with demo.app_context():
        paper.enter(paper.find_paper_form(lan[2][0]), {"TC1": 4, "TC2": 5},
                    user(db, "nhaplieu").id)
        campaign, agency, scope = issuance.get_scope("demo", "X-SONDUONG")
        scope.planned = 16
        intake.record(campaign=campaign, agency=agency, channel="api",
                         answers={"TC1": 5, "TC2": 2}, client="10.0.0.9")
        db.session.commit()
        reverify.draw_sample(campaign, 0.5, 7, user=user(db, "mttq"))
        db.session.commit()
    return demo


def _visible(page: str) -> str:
    """The text a reader sees, leaving out code (commands, agency codes, digests, the
    questionnaire's JSON definition in its editor)."""
    page = re.sub(r"<(script|style|pre|code|textarea)\b.*?</\1>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def _word(token: str) -> re.Pattern:
    return re.compile(rf"(?<![\w-]){re.escape(token)}(?![\w-])")


def _forbidden() -> dict[str, re.Pattern]:
    """Raw values that must not reach a Vietnamese page, taken from the code's own
    constants: channels, flag codes, threshold names, the flag table's and the
    reconciliation's column names, ledger kinds and checkpoint reasons, the collector
    of invitations, and the English wording of every flag detail."""
    tokens = {*CHANNELS, *quality.FLAGS, *QUALITY_COLUMNS, *quality.FLAG_COLUMNS,
              *(f.name for f in fields(quality.Thresholds)), *FORM_COUNTS,
              *audit_forms.LEDGER_KIND_LABELS, *audit_forms.CHECKPOINT_REASON_LABELS,
              *audit_forms.COLLECTOR_LABELS, "nan", "NaN", "None"}
    for text in quality.DETAIL_TEXT.values():
        for fragment in re.split(r"\{[^}]*\}", text):
            words = fragment.strip(" ;:,()#%×")
            if len(words.split()) >= 2:
                tokens.add(words)
    return {token: _word(token) for token in tokens}


def _crawl(client, starts: list[str], limit: int = 120) -> dict[str, str]:
    """Every staff page reachable from `starts` by links (GET), by path."""
    seen: dict[str, str] = {}
    queue = list(starts)
    while queue and len(seen) < limit:
        path = queue.pop(0)
        if path in seen:
            continue
        resp = client.get(path)
        assert resp.status_code == 200, (path, resp.status_code)
        seen[path] = resp.text
        for href in re.findall(r'href="([^"#]+)"', resp.text):
            href = html.unescape(href)
            if href.startswith(("/audit", "/admin")) and not href.endswith(SKIPPED) \
                    and "lang=" not in href and href not in seen:
                queue.append(href)
    return seen


def _labels(app, table: dict, lang: str) -> dict[str, str]:
    from flask_babel import force_locale

    with app.test_request_context(), force_locale(lang):
        return {key: str(label) for key, label in table.items()}


@pytest.mark.parametrize("role", ["mttq", "admin"])
def test_every_staff_page_is_vietnamese_without_raw_values(mixed, client, login, db, role):
    login(role)
    pages = _crawl(client, ["/audit/", "/admin/"])
    wanted = {"/audit/demo", "/audit/demo/flags", "/audit/demo/responses",
              "/audit/demo/reconciliation", "/audit/demo/reverify", "/admin/campaigns",
              "/admin/users", "/admin/agencies"}
    assert wanted <= set(pages), sorted(wanted - set(pages))
    assert any(p.startswith("/audit/responses/") for p in pages)
    forbidden = _forbidden()
    for path, page in pages.items():
        assert 'lang="vi"' in page, path
        text = _visible(page)
        found = sorted(token for token, pattern in forbidden.items() if pattern.search(text))
        assert not found, (path, found)

    # The raw values were there to be replaced: channels, collectors and flag details.
    channels = _labels(mixed, audit_forms.CHANNEL_LABELS, "vi")
    responses = _visible(pages["/audit/demo/responses"])
    assert all(channels[c] in responses for c in ("open", "single_use", "paper", "api"))
    flags_text = _visible(pages["/audit/demo/flags"])
    assert "5 phiếu từ cùng một địa chỉ mạng" in flags_text
    assert _labels(mixed, audit_forms.COLUMN_LABELS, "vi")["collector"] in flags_text

    # One number format: decimal commas.
    share = str(quality.DEFAULTS.duplicate_share).replace(".", ",")
    assert share in flags_text
    achieved = db.session.scalar(select(func.count(Response.id)).where(
        Response.agency.has(code="X-SONDUONG")))
    pct = f"{100 * achieved / 16:.1f}".replace(".", ",")
    assert f"{pct} %" in _visible(pages["/audit/demo/reconciliation"])
    overview = _visible(pages["/audit/demo"])
    assert re.search(r"\b\d{1,3},\d{2}\b", overview)
    # No decimal point (a dot followed by three digits separates thousands: 3.000).
    for path in ("/audit/demo", "/audit/demo/flags", "/audit/demo/reconciliation"):
        points = re.findall(r"(?<![\w.:/-])\d+\.(\d+)(?![\w.:/-])", _visible(pages[path]))
        assert all(len(decimals) == 3 for decimals in points), (path, points)


def test_english_with_lang_en(mixed, client, login):
    login("mttq")
    english = client.get("/audit/demo/flags?lang=en")
    assert english.status_code == 200 and 'lang="en"' in english.text
    text = _visible(english.text)
    # Every label the English catalogue already translates is shown in English.
    vietnamese = _visible(client.get("/audit/demo/flags?lang=vi").text)
    checked = 0
    for table in (audit_forms.FLAG_LABELS, audit_forms.CHANNEL_LABELS,
                  audit_forms.COLUMN_LABELS):
        vi, en = _labels(mixed, table, "vi"), _labels(mixed, table, "en")
        for key in table:
            if en[key] != vi[key] and vi[key] in vietnamese:
                checked += 1
                assert en[key] in text, key
    assert checked >= len(audit_forms.FLAG_LABELS)
    # Figures the English way: a decimal point.
    assert str(quality.DEFAULTS.duplicate_share) in text
    reconciliation = _visible(client.get("/audit/demo/reconciliation?lang=en").text)
    assert re.search(r"\b\d+\.\d %", reconciliation)


def test_reconciliation_workbook(mixed, client, login):
    login("mttq")
    for lang in ("vi", "en"):
        resp = client.get(f"/audit/demo/reconciliation.xlsx?lang={lang}")
        assert resp.status_code == 200
        book = load_workbook(io.BytesIO(resp.data))
        cells = [c for sheet in book for row in sheet.iter_rows() for c in row]
        texts = [c.value for c in cells if isinstance(c.value, str)]
        assert not [t for t in texts if t.strip().lower() in ("nan", "none", "invitation")]
        assert not [t for t in texts if t in CHANNELS]
        first = book.worksheets[0]
        header = [c.value for c in first[1]]
        wanted = _labels(mixed, dict(AGENCY_SHEET), lang)
        assert header == list(wanted.values())
        # Numbers stay numbers, with a display format for the percentage.
        pct = [row[-1] for row in first.iter_rows(min_row=2) if row[-1].value is not None]
        assert pct and all(isinstance(c.value, float) and c.number_format == "0.0"
                           for c in pct)


def test_flag_details_are_data_worded_by_the_app(mixed, db):
    from survey_app.models import Campaign
    from survey_app.services import flags

    campaign = db.session.scalar(select(Campaign).filter_by(code="demo"))
    _, table = flags.campaign_flags(campaign)
    assert set(table["kind"]) >= {"burst_address", "straight_lining", "near_duplicate"}
    # The English sentence is the data worded by analysis' own table.
    for row in table.itertuples():
        assert row.detail == quality.describe(row.kind, row.args)
    with mixed.test_request_context("/?lang=vi"):
        worded = flags.with_details(table.to_dict("records"))
    for row in worded:
        assert not any(p.search(row["detail"]) for p in _forbidden().values()), row


def test_charts_take_the_number_format():
    import pandas as pd

    table = pd.DataFrame({"agency_code": ["A", "A"], "level": ["element", "element"],
                          "code": ["E1", "E2"], "index": [83.46, 71.0]})
    number = reports.number
    ax = charts.plot_heatmap(table, charts.new_axes(), number=number)
    written = {t.get_text() for t in ax.texts}
    assert written == {number(83.46, 1), number(71.0, 1)} == {"83,5", "71,0"}
    plain = charts.plot_heatmap(table, charts.new_axes())
    assert {t.get_text() for t in plain.texts} == {"83.5", "71.0"}
    trend = pd.DataFrame({"campaign": ["2025", "2026"], "index": [80.25, 90.0]})
    ax = charts.plot_trend(trend, charts.new_axes(), number=number)
    assert {t.get_text() for t in ax.texts} == {number(80.25, 1), number(90.0, 1)}


def test_one_number_function():
    assert reports.number(1234.56, 1) == "1.234,6"
    assert reports.number(1234.56, 1, "en") == "1,234.6"
    assert reports.number(float("nan")) == "–"
    assert reports.cell(float("nan")) == "—" and reports.cell(None, missing="") == ""
    assert reports.cell(0.85) == "0,85" and reports.cell(1234) == "1.234"


def test_results_figures_follow_the_page_language(mixed, client, login):
    login("admin")
    figures = {}
    for lang in ("vi", "en"):
        page = client.get(f"/results/demo?lang={lang}")
        assert page.status_code == 200
        figures[lang] = re.search(r'id="service-index">([^<]+)<', page.text).group(1)
    assert re.fullmatch(r"\d+,\d", figures["vi"]), figures
    assert figures["en"] == figures["vi"].replace(",", "."), figures
