"""The results pages, the export command and the numbers behind them, on a small campaign
answered through the real citizen pages.

Five responses to the demo campaign (19 satisfaction items each):

=====  ==============  ==============================  ==========
resp.  agency          answers                         GIOI_TINH
=====  ==============  ==============================  ==========
r1     X-SONDUONG      all 5                           1 (Nam)
r2     X-SONDUONG      all 2, TC1 not applicable (0)   2 (Nữ)
r3     X-SONDUONG-1C   all 4 (a unit below X-SONDUONG) 2
r4     P-MYLAM         all 3                           1
r5     P-MYLAM         all 4, PA1-PA3 = 1              –
=====  ==============  ==============================  ==========

By hand (criterion = % of 4-5 among 1-5; element = mean of criteria; service = mean of
elements):

- X-SONDUONG: TC1 1/1 = 100, every other item 1/2 = 50; TC = 62.5, others 50;
  service 52.5.
- X-SONDUONG-1C: everything 100.
- P-MYLAM: every item 1/2 = 50 except PA1-3 0/2 = 0; service (4 x 50 + 0) / 5 = 40.
- Subtree X-SONDUONG (r1-r3): TC1 2/2 = 100, others 2/3; TC 75, others 66.67;
  service 68.33.
- Province (all five): TC1 3/4 = 75, TC2-4 3/5 = 60, TC 63.75; TT, CC, KQ 60;
  PA 2/5 = 40; service 56.75.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from results_helpers import ANSWERS, answer, cell, reject, today, vi
from sqlalchemy import select, text
from web_helpers import csrf_token, full_answers

import analysis
from survey_app.models import (
    AuditLog,
    CampaignAgency,
    Response,
)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
@pytest.fixture
def answered(demo, db):
    for agency, answers in ANSWERS:
        answer(demo, db, "demo", agency, answers)
    assert len(db.session.scalars(select(Response)).all()) == 5
    return demo


# --- the dashboard ------------------------------------------------------------------------

def test_dashboard_shows_hand_computed_indices(answered, client, login):
    login("admin")
    page = client.get("/results/demo")
    assert page.status_code == 200
    html = page.text
    # Ranking table: columns rank, agency, n, service, interval, TC, TT, CC, KQ, PA.
    assert cell(html, "data-agency", "X-SONDUONG", 3) == vi(52.5)
    assert cell(html, "data-agency", "X-SONDUONG", 5) == vi(62.5)
    assert cell(html, "data-agency", "X-SONDUONG", 2) == "2"
    assert cell(html, "data-agency", "X-SONDUONG-1C", 3) == vi(100)
    assert cell(html, "data-agency", "P-MYLAM", 3) == vi(40)
    assert cell(html, "data-agency", "P-MYLAM", 9) == vi(0)
    # n below the ranking minimum: shown, not ranked.
    assert cell(html, "data-agency", "P-MYLAM", 0) == "–"
    assert 'class="unranked"' in html
    # Roll-up through the tree (subtree table has no rank column).
    subtree = html.split("Cộng dồn theo đơn vị cấp trên", 1)[1]
    assert cell(subtree, "data-agency", "X-SONDUONG", 2) == vi(68.333)
    assert cell(subtree, "data-agency", "TQ", 2) == vi(56.75)
    # The whole campaign, its criteria (with Wilson intervals) and channels.
    assert re.search(r'id="service-index">([^<]+)<', html).group(1) == vi(56.75)
    assert f'data-code="TC1">{vi(75)}<' in html and f'data-code="PA1">{vi(40)}<' in html
    low, high = analysis.wilson_interval(3, 4)
    assert f"{vi(100 * low)}–{vi(100 * high)}" in html
    assert "Đường dẫn mở (mã QR)" in html and "UBND xã Sơn Dương" in html


def test_export_and_analysis_cli_agree_with_the_page(answered, client, login, runner, tmp_path):
    out = tmp_path / "export"
    result = runner.invoke(args=["export-responses", "--campaign", "demo", "--out", str(out)])
    assert result.exit_code == 0, result.output
    responses, codebook = analysis.read_export(out)
    assert len(responses) == 5
    assert list(responses.columns[:6]) == ["response_id", "campaign", "agency_code", "channel",
                                           "submitted_at", "review_state"]
    assert list(responses.columns[6:]) == list(codebook["item_code"])
    assert set(codebook.columns) >= {"item_code", "element_code", "element_name", "type",
                                     "scale_min", "scale_max", "text_vi", "text_en", "choices"}
    first = responses.iloc[1]  # r2: not applicable is empty
    assert pd.isna(first["TC1"]) and first["TC2"] == 2 and first["GIOI_TINH"] == "2"
    assert (out / "responses.csv").read_text(encoding="utf-8").count("Z,") == 5  # ISO 8601 UTC

    login("admin")
    for rejected, flags in ((None, ["--exclude-rejected"]), ("include", [])):
        reject_flag = {"rejected": rejected} if rejected else {}
        page = client.get("/results/demo/indices.csv", query_string=reject_flag)
        assert page.status_code == 200
        target = tmp_path / f"indices-{rejected}.csv"
        cli = subprocess.run(
            [sys.executable, "-W", "error", "-m", "analysis", "indices", out / "responses.csv",
             "--codebook", out / "codebook.csv", "--out", target, "--bootstrap", "1000",
             "--seed", "0", *flags],
            cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
        assert cli.returncode == 0, cli.stderr
        # To the last digit: the same table, byte for byte, after the statement of the
        # ledger checkpoint and method (comment lines, which pandas skips).
        statement, table = re.match(r"((?:#[^\n]*\n)+)(.*)", page.data.decode("utf-8"),
                                    re.S).groups()
        assert table == target.read_text(encoding="utf-8")
        assert "# Mốc sổ cái: demo#" in statement and "# Hạt giống: 0" in statement
        pd.testing.assert_frame_equal(
            pd.read_csv(io.StringIO(page.data.decode("utf-8")), comment="#"),
            pd.read_csv(target))

    table = pd.read_csv(tmp_path / "indices-include.csv")
    service = table[(table["level"] == "service")].set_index("agency_code")["index"]
    assert service["X-SONDUONG"] == pytest.approx(52.5)
    assert service["P-MYLAM"] == pytest.approx(40)


def test_cli_agrees_with_rejected_responses_too(answered, client, login, runner, db, tmp_path):
    reject(db, 4)
    out = tmp_path / "export"
    assert runner.invoke(args=["export-responses", "--campaign", "demo", "--out",
                               str(out)]).exit_code == 0
    responses, _ = analysis.read_export(out)
    assert list(responses["review_state"]).count("rejected") == 1
    login("admin")
    for query, flags in (({}, ["--exclude-rejected"]), ({"rejected": "include"}, [])):
        target = tmp_path / "cli.csv"
        cli = subprocess.run(
            [sys.executable, "-m", "analysis", "indices", out / "responses.csv", "--codebook",
             out / "codebook.csv", "--out", target, "--bootstrap", "1000", "--seed", "0",
             *flags], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
        assert cli.returncode == 0, cli.stderr
        page = client.get("/results/demo/indices.csv", query_string=query)
        table = "".join(line for line in page.data.decode("utf-8").splitlines(True)
                        if not line.startswith("#"))  # the statement's comment lines
        assert table == target.read_text(encoding="utf-8")


def test_excluding_rejected_changes_the_numbers(answered, client, login, db):
    login("admin")
    before = client.get("/results/demo").text
    assert cell(before, "data-agency", "P-MYLAM", 3) == vi(40)
    reject(db, 4)  # r5: P-MYLAM, all 4 but PA = 1
    after = client.get("/results/demo").text
    assert cell(after, "data-agency", "P-MYLAM", 3) == vi(0)  # only r4 (all 3) is left
    assert cell(after, "data-agency", "P-MYLAM", 2) == "1"
    assert "bị loại 1" in after
    included = client.get("/results/demo?rejected=include").text
    assert cell(included, "data-agency", "P-MYLAM", 3) == vi(40)


def test_new_responses_show_up_at_once(answered, client, login, db, app):
    login("admin")
    assert cell(client.get("/results/demo").text, "data-agency", "P-MYLAM", 2) == "2"
    answer(app, db, "demo", "P-MYLAM", full_answers(5))
    assert cell(client.get("/results/demo").text, "data-agency", "P-MYLAM", 2) == "3"


def test_officer_sees_only_own_subtree(answered, client, login):
    login("sonduong")  # demo officer of X-SONDUONG
    page = client.get("/results/demo")
    assert page.status_code == 200
    html = page.text
    assert "UBND xã Sơn Dương" in html and "Bộ phận một cửa xã Sơn Dương" in html
    assert "Mỹ Lâm" not in html and "P-MYLAM" not in html
    assert re.search(r'id="service-index">([^<]+)<', html).group(1) == vi(68.333)
    assert "Toàn tỉnh" not in html
    for path in ("/results/demo?agency=P-MYLAM", "/results/demo?agency=TQ",
                 "/results/demo/chart/ranking.png?agency=P-MYLAM",
                 "/results/demo/responses.csv?agency=TQ", "/results/demo/report.pdf?agency=TQ",
                 "/results/demo/indices.csv?agency=P-MYLAM", "/results/demo/plan"):
        assert client.get(path).status_code == 403, path
    below = client.get("/results/demo?agency=X-SONDUONG-1C")
    assert below.status_code == 200 and "Mỹ Lâm" not in below.text
    # Aggregates only: no response rows for an agency's own officer.
    assert client.get("/results/demo/responses.csv").status_code == 403
    assert client.get("/results/demo/export.xlsx").status_code == 403
    indices = client.get("/results/demo/indices.csv").text
    assert "X-SONDUONG-1C" in indices and "P-MYLAM" not in indices
    assert client.get("/results/demo/chart/heatmap.svg").status_code == 200


def test_clerk_and_anonymous_are_refused(answered, client, login):
    assert client.get("/results/demo").status_code == 302
    login("nhaplieu")
    for path in ("/results/", "/results/demo", "/results/demo/responses.csv",
                 "/results/demo/chart/ranking.png"):
        assert client.get(path).status_code == 403, path


def test_bad_campaign_codes(answered, client, login, runner, tmp_path):
    login("mttq")
    for path in ("/results/nope", "/results/nope/chart/ranking.png", "/results/nope/indices.csv",
                 "/results/nope/responses.csv", "/results/nope/report.pdf", "/results/nope/plan",
                 "/results/demo?compare=nope", "/results/demo/report?also=nope",
                 "/results/demo?agency=NOPE"):
        assert client.get(path).status_code == 404, path
    assert client.get("/results/demo?by=Y_KIEN").status_code == 400
    out = tmp_path / "export"
    result = runner.invoke(args=["export-responses", "--campaign", "nope", "--out", str(out)])
    assert result.exit_code == 1
    assert "Không có đợt khảo sát mã 'nope'" in result.output
    assert not out.exists()


# --- comparisons ---------------------------------------------------------------------------

def test_breakdown_by_profile_and_channel(answered, client, login, runner, tmp_path):
    login("admin")
    html = client.get("/results/demo?by=GIOI_TINH").text
    # Nam: r1 (all 5) and r4 (all 3): every item 50. Nữ: r2 and r3: TC1 100, others 50.
    assert cell(html, "data-group", "1", 0) == "Nam"
    assert cell(html, "data-group", "1", 2) == vi(50)
    assert cell(html, "data-group", "2", 2) == vi(52.5)
    assert 'data-group="3"' not in html  # nobody answered "Khác"
    # The same numbers as analysis.breakdown on the export, intervals included.
    out = tmp_path / "export"
    assert runner.invoke(args=["export-responses", "--campaign", "demo", "--out",
                               str(out)]).exit_code == 0
    responses, codebook = analysis.read_export(out)
    expected = analysis.breakdown(analysis.exclude_rejected(responses), codebook, "GIOI_TINH",
                                  n_boot=1000, seed=0)
    service = expected[expected["level"] == "service"].set_index("GIOI_TINH")
    assert cell(html, "data-group", "2", 3) == \
        f"{vi(service.loc['2', 'ci_low'])}–{vi(service.loc['2', 'ci_high'])}"
    channel = client.get("/results/demo?by=channel").text
    assert cell(channel, "data-group", "open", 0) == "Đường dẫn mở (mã QR)"
    assert cell(channel, "data-group", "open", 2) == vi(56.75)


def test_change_between_two_campaigns(answered, client, login, db, app):
    from results_helpers import second_round

    second_round(app, db)
    login("admin")
    html = client.get("/results/dot2?compare=demo").text
    assert "So sánh với đợt" in html
    section = html.split("So sánh với đợt", 1)[1]
    # Whole scope's service index: 100 now, 56.75 before.
    row = re.search(r"<tr><td>Toàn bộ đợt khảo sát</td><td>Chỉ số chung</td>(.*?)</tr>", section, re.S)
    assert row, section[:2000]
    cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td>(.*?)</td>", row.group(1))]
    assert cells[1] == vi(56.75) and cells[3] == vi(100) and cells[4] == vi(43.25)
    assert cells[5] == "Có"
    # The trend chart has both campaigns.
    assert client.get("/results/dot2/chart/trend.png").data.startswith(b"\x89PNG")


# --- charts --------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["ranking", "heatmap", "likert", "trend"])
def test_charts_are_png_and_svg(answered, client, login, kind):
    login("admin")
    png = client.get(f"/results/demo/chart/{kind}.png")
    assert png.status_code == 200 and png.mimetype == "image/png"
    assert png.data.startswith(b"\x89PNG")
    svg = client.get(f"/results/demo/chart/{kind}.svg")
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
    assert b"<svg" in svg.data


def test_charts_without_answers_say_so(demo, client, login):
    login("admin")
    for kind in ("ranking", "heatmap", "likert", "trend"):
        assert client.get(f"/results/demo/chart/{kind}.png").data.startswith(b"\x89PNG")
    assert client.get("/results/demo").status_code == 200


def test_the_app_never_imports_pyplot(tmp_path):
    script = textwrap.dedent(f"""
        import sys
        from survey_app import create_app
        from survey_app.extensions import db
        app = create_app({{"TESTING": True, "SECRET_KEY": "x",
                          "SQLALCHEMY_DATABASE_URI": "sqlite:///{tmp_path / 'p.sqlite'}",
                          "PASSWORD_HASH_METHOD": "scrypt:1024:8:1"}})
        with app.app_context():
            db.create_all()
            from survey_app import demo
            from survey_app.models import Campaign
            from survey_app import intake
            from survey_app.services import results
            demo.seed("correct horse battery")
            campaign = db.session.query(Campaign).filter_by(code="demo").one()
            for scope, score in zip(campaign.scope[:3], (5, 3, 4)):
                answers = {{i.code: score for i in campaign.version.satisfaction_items()}}
                intake.record(campaign=campaign, agency=scope.agency, channel="open",
                                 answers=answers)
            db.session.commit()
            computed = results.campaign_indices(campaign, bootstrap=50)
            trend = results.trend(bootstrap=50)
            for kind in results.CHART_KINDS:
                for fmt in ("png", "svg"):
                    results.chart(kind, computed, fmt, trend_data=trend)
        assert "matplotlib" in sys.modules
        assert "matplotlib.pyplot" not in sys.modules, "pyplot was imported"
        print("ok")
        """)
    result = subprocess.run([sys.executable, "-c", script], cwd=PROJECT_ROOT,
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("ok")


# --- the service ---------------------------------------------------------------------------

def test_bootstrap_cap_samples_and_keeps_the_estimate(answered, app):
    from survey_app.services import results

    with app.app_context():
        campaign = results.get("demo")
        full = results.campaign_indices(campaign, bootstrap=200, cap=None)
        capped = results.campaign_indices(campaign, bootstrap=200, cap=1)
        again = results.campaign_indices(campaign, bootstrap=200, cap=1)
    # Point estimates never depend on the sampling; intervals sit around them.
    pd.testing.assert_series_equal(full.agencies["index"], capped.agencies["index"])
    assert set(capped.capped["group"]) >= {"X-SONDUONG", "P-MYLAM", "TQ"}
    rows = capped.agencies[capped.agencies["level"] != "criterion"].dropna(subset=["ci_low"])
    assert ((rows["ci_low"] <= rows["index"] + 1e-9) & (rows["index"] <= rows["ci_high"] + 1e-9)).all()
    pd.testing.assert_frame_equal(capped.agencies, again.agencies)  # seeded: reproducible


def test_combined_campaigns_sum_their_tallies(answered, app, db):
    from survey_app.services import campaigns, results

    with app.app_context():
        campaigns.create_campaign(code="dot2", name="Đợt 2", period="2026-H2",
                                  version_ref="sipas", opens=today(), closes=today() + timedelta(days=30),
                                  agency_codes=["P-MYLAM"])
        db.session.commit()
    answer(app, db, "dot2", "P-MYLAM", full_answers(5))
    with app.app_context():
        both = results.combined_indices([results.get("demo"), results.get("dot2")], bootstrap=0)
    service = both.summary.set_index("agency_code")["index"]
    # P-MYLAM: r4 (3), r5 (4, PA 1), new (5): items 2/3, PA 1/3; service (4 x 66.67 + 33.33) / 5
    assert service["P-MYLAM"] == pytest.approx((4 * 200 / 3 + 100 / 3) / 5)
    assert both.responses == 6 and both.combined


# --- sample planning -----------------------------------------------------------------------

def test_sample_plan_page_computes_and_saves(demo, client, login, db):
    login("admin")
    page = client.get("/results/demo/plan", query_string={
        "method": "yamane", "basis": "agency", "margin": "0,05", "minimum": "30",
        "pop_X-SONDUONG": "400", "pop_P-MYLAM": "20"})
    assert page.status_code == 200
    assert cell(page.text, "data-agency", "X-SONDUONG", 3) == "200"  # 400 / (1 + 400 x 0.0025)
    assert cell(page.text, "data-agency", "P-MYLAM", 3) == "20"  # never more than N
    assert "Lưu cỡ mẫu đề xuất" in page.text
    allocated = client.get("/results/demo/plan", query_string={
        "method": "yamane", "basis": "total", "total": "100", "minimum": "30",
        "pop_X-SONDUONG": "900", "pop_P-MYLAM": "100"})
    assert cell(allocated.text, "data-agency", "X-SONDUONG", 3) == "70"
    assert cell(allocated.text, "data-agency", "P-MYLAM", 3) == "30"

    resp = client.post("/results/demo/plan", data={
        "csrf_token": csrf_token(page.text), "method": "yamane", "basis": "agency",
        "margin": "0.05", "minimum": "30", "total": "", "pop_X-SONDUONG": "400",
        "pop_P-MYLAM": "20"})
    assert resp.status_code == 302
    planned = {s.agency.code: (s.population, s.planned)
               for s in db.session.scalars(select(CampaignAgency))}
    assert planned["X-SONDUONG"] == (400, 200) and planned["P-MYLAM"] == (20, 20)
    assert planned["X-SONDUONG-1C"] == (None, None)
    entry = db.session.scalars(select(AuditLog).filter_by(action="campaign.plan")).one()
    assert entry.after["agencies"]["X-SONDUONG"] == {"population": 400, "planned": 200}

    bad = client.get("/results/demo/plan", query_string={"method": "yamane", "margin": "2"})
    assert bad.status_code == 400 and "sai số" in bad.text


def test_auditor_may_compute_but_not_save_a_plan(demo, client, login, make_user, db):
    login("mttq")
    page = client.get("/results/demo/plan?method=cochran&pop_X-SONDUONG=1000")
    assert page.status_code == 200 and "Lưu cỡ mẫu" not in page.text
    assert cell(page.text, "data-agency", "X-SONDUONG", 3) == str(analysis.cochran(1000))
    resp = client.post("/results/demo/plan", data={"csrf_token": csrf_token(page.text),
                                                   "pop_X-SONDUONG": "1000"})
    assert resp.status_code == 403
    assert all(s.planned is None for s in db.session.scalars(select(CampaignAgency)))


@pytest.mark.parametrize("app", [{"RESULTS_BOOTSTRAP_MAX_RESPONSES": 4}], indirect=True)
def test_pages_skip_the_bootstrap_of_large_campaigns(answered, client, login, runner, tmp_path):
    login("admin")
    html = client.get("/results/demo").text
    assert cell(html, "data-agency", "X-SONDUONG", 3) == vi(52.5)
    assert cell(html, "data-agency", "X-SONDUONG", 4) == "–"  # no element/service interval
    assert "trang web không tính khoảng tin cậy bootstrap" in html
    # The command-line report always has them.
    out = tmp_path / "r.xlsx"
    assert runner.invoke(args=["report", "--campaign", "demo", "--out", str(out),
                               "--bootstrap", "100"]).exit_code == 0
    from openpyxl import load_workbook

    ranking = {r[1]: r for r in load_workbook(out)["Xếp hạng"].iter_rows(values_only=True)}
    assert ranking["UBND xã Sơn Dương"][4] is not None


def test_campaign_over_several_trees_has_a_whole_campaign_row(demo, db, app):
    from survey_app.services import agencies, campaigns, results

    agencies.save_agency(None, code="HG", name="UBND tỉnh Hà Giang (cũ)", kind="province",
                         parent_code="", valid_from=None, valid_to=None)
    campaigns.create_campaign(code="hai-cay", name="Hai cây", period="2026", version_ref="sipas",
                              opens=today(), closes=today() + timedelta(days=30),
                              agency_codes=["HG", "P-MYLAM"])
    db.session.commit()
    answer(app, db, "hai-cay", "HG", full_answers(5))
    answer(app, db, "hai-cay", "P-MYLAM", full_answers(2))
    with app.app_context():
        computed = results.campaign_indices(results.get("hai-cay"), bootstrap=100)
    service = computed.overall[computed.overall["level"] == "service"].iloc[0]
    assert service["agency_code"] == "*" and service["index"] == pytest.approx(50)
    assert service["ci_low"] <= 50 <= service["ci_high"]
    assert computed.name("*") == "Toàn bộ đợt khảo sát"


# --- reading for the indices and the bootstrap ---------------------------------------------

def test_tally_counts_are_the_tally_with_and_without_rejected(answered, app, db):
    import numpy as np

    from analysis import load

    reject(db, 4)
    with app.app_context():
        from survey_app.services import results

        campaign = results.get("demo")
        conn = db.session.connection()
        book = load.codebook(conn, campaign.version_id)
        for exclude in (False, True):
            counts = load.tally_counts(conn, campaign.id, book, exclude_rejected=exclude)
            expected = analysis.TallyCounts.from_frame(
                load.tally(conn, campaign.id, exclude_rejected=exclude), book)
            assert list(counts.agencies) == list(expected.agencies)
            assert list(counts.items) == list(expected.items)
            assert np.array_equal(counts.counts, expected.counts)
        kept = load.tally_counts(conn, campaign.id, book, exclude_rejected=True)
        everything = load.tally_counts(conn, campaign.id, book)
        assert kept.counts.sum() < everything.counts.sum()


def test_answers_read_by_id_are_the_exported_ones(answered, app, db):
    import numpy as np

    from analysis import load
    from analysis import report as rep

    with app.app_context():
        from survey_app.services import results

        campaign = results.get("demo")
        conn = db.session.connection()
        book = load.codebook(conn, campaign.version_id)
        export = rep.blank_to_missing(load.responses(conn, campaign.id, book))
        ids = export["response_id"].astype("int64").to_numpy()
        wanted = np.sort(ids)[::2]
        got = load.satisfaction_answers(conn, wanted, book, chunk_size=3)
        expected = analysis.satisfaction_scores(export, book).set_index(ids).loc[wanted]
        assert np.array_equal(got, expected.to_numpy(), equal_nan=True)
        assert len(got) == len(wanted) > 1
        pairs = [p for chunk in load.response_agencies(conn, campaign.id, chunk_size=2)
                 for p in zip(*chunk, strict=True)]
        assert sorted(pairs) == sorted(zip(ids, export["agency_code"], strict=True))



def test_answers_read_by_id_fall_back_to_the_stored_answers_parsed_whole(answered, app, db):
    """The database picks the scored answers out of the stored JSON and numpy decodes them
    when each is a digit or null; any other value (a stored 4.0, a text) makes the chunk
    parsed as before, so the matrix never depends on which way it was read."""
    import numpy as np

    from analysis import load
    from analysis.load_responses import _decoded_block, _digits

    assert _digits("[4,null][0,5]", 2, 2, 2).tolist()[1][1] == 5
    assert np.isnan(_digits("[4,null][0,5]", 2, 2, 2)[1][0])
    assert _digits("[4.0,null][0,5]", 2, 2, 2) is None
    assert _digits('["4",null]', 1, 2, 2) is None
    with app.app_context():
        from survey_app.services import results

        campaign = results.get("demo")
        conn = db.session.connection()
        book = load.codebook(conn, campaign.version_id)
        items = [str(c) for c in analysis.satisfaction_items(book)["item_code"]]
        ids = np.array(sorted(r.id for r in db.session.scalars(select(Response))))
        before = load.satisfaction_answers(conn, ids, book)
        first = db.session.get(Response, int(ids[0]))
        stored = json.loads(first.answers)
        # A value of another form than the application writes, in a response of its own.
        odd = Response(campaign_id=first.campaign_id, agency_id=first.agency_id,
                       channel=first.channel, receipt_code="ODD-ANSWERS",
                       answers=json.dumps({**stored, items[0]: 4.0, items[1]: "x"}))
        db.session.add(odd)
        db.session.flush()
        ids = np.append(ids, odd.id)
        after = load.satisfaction_answers(conn, ids, book)
        assert after[-1, 0] == 4 and np.isnan(after[-1, 1])
        assert np.array_equal(after[:-1], before, equal_nan=True)
        got, block = _decoded_block(conn, ids, items)
        assert np.array_equal(block[np.argsort(got)], after, equal_nan=True)
        db.session.rollback()


# --- counting responses per agency and channel -----------------------------------------------

def test_channel_counts_count_the_latest_rejections(answered, app, db):
    from analysis import load
    from survey_app.models import ResponseReview

    reject(db, 4)
    # r2 was rejected, then approved on a second look: it no longer counts as rejected.
    reject(db, 1)
    second = db.session.scalars(select(Response).order_by(Response.id)).all()[1]
    db.session.add(ResponseReview(response_id=second.id, state="approved", reason=""))
    db.session.commit()
    with app.app_context():
        from survey_app.services import results

        conn = db.session.connection()
        counts = load.channel_counts(conn, results.get("demo").id)
        assert counts.to_dict("records") == [
            {"agency_code": "P-MYLAM", "channel": "open", "n": 2, "rejected": 1},
            {"agency_code": "X-SONDUONG", "channel": "open", "n": 2, "rejected": 0},
            {"agency_code": "X-SONDUONG-1C", "channel": "open", "n": 1, "rejected": 0}]
        table = results.campaign_indices(results.get("demo"), bootstrap=0).channel_table()
        mylam = table[table["agency_code"] == "P-MYLAM"].iloc[0]
        assert (mylam["open"], mylam["total"], mylam["rejected"]) == (2, 2, 1)


def _plan(conn, sql: str, campaign_id: int) -> str:
    """The query plan of ``sql`` (with :c bound), as one text."""
    if conn.dialect.name == "sqlite":
        rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql.replace(":c", "?"),
                                    (campaign_id,)).all()
        return "\n".join(row[-1] for row in rows)
    # A test table is a few rows, which PostgreSQL would rather read whole: forbid that
    # (for this transaction only) to see which index scan it has for a large campaign.
    conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
    conn.exec_driver_sql("SET LOCAL enable_bitmapscan = off")
    rows = conn.execute(text("EXPLAIN " + sql), {"c": campaign_id}).all()
    return "\n".join(row[0] for row in rows)


def test_channel_counts_and_response_agencies_read_only_the_index(answered, app, db):
    """Counting a campaign's responses per agency and channel, and reading its (id, agency)
    pairs for the bootstrap samples, must not read the response rows (their answers):
    at a million responses that is the difference between 0.05 s and 1.4 s."""
    from analysis import load

    with app.app_context():
        from survey_app.services import results

        campaign_id = results.get("demo").id
        conn = db.session.connection()
        for sql in (load.CHANNEL_COUNTS, load.response_agencies_sql(conn)):
            plan = _plan(conn, sql, campaign_id)
            if conn.dialect.name == "sqlite":
                assert "USING COVERING INDEX ix_response_campaign_agency_channel" in plan, plan
            else:
                assert "Index Only Scan using ix_response_campaign_agency_channel" in plan, plan
        db.session.rollback()


def test_reading_responses_by_chunk_walks_the_ids(answered, app, db):
    """Exports and breakdowns read a campaign's responses a chunk at a time by id: each
    chunk must be read from the id range, not by reading (and sorting) the whole
    campaign's responses again, which made a million-response export quadratic."""
    from sqlalchemy import event

    from analysis import load

    with app.app_context():
        from survey_app.services import results

        campaign = results.get("demo")
        conn = db.session.connection()
        if conn.dialect.name != "sqlite":
            pytest.skip("PostgreSQL chooses its plan from its statistics")
        seen = []

        def remember(conn_, cursor, statement, parameters, context, executemany):
            if "r.id" in statement and "response r" in statement:
                seen.append((statement, parameters))

        event.listen(db.engine, "before_cursor_execute", remember)
        try:
            book = load.codebook(conn, campaign.version_id)
            assert sum(len(c) for c in load.iter_responses(conn, campaign.id, book,
                                                           chunk_size=2)) == 5
        finally:
            event.remove(db.engine, "before_cursor_execute", remember)
        assert len(seen) >= 6  # three chunks, an empty one, and their corrections
        for statement, parameters in seen:
            plan = "\n".join(r[-1] for r in conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN " + statement, parameters).all())
            assert "ix_response_campaign_agency" not in plan, plan
            assert "TEMP B-TREE FOR ORDER BY" not in plan or "response_correction" in statement
