import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import analysis
from analysis import charts

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def table(app_tally, codebook):
    return analysis.indices_table(app_tally, codebook)


def _texts(ax):
    return [t.get_text() for t in ax.texts] + [t.get_text() for t in ax.get_yticklabels()]


def test_ranking_chart(table):
    ax = charts.plot_ranking(
        analysis.rank_agencies(table, min_n=2),
        charts.new_axes(),
        names={"A01": "UBND xã Hồng Thái"},
        title="Xếp hạng chỉ số hài lòng",
    )
    labels = [t.get_text() for t in ax.get_yticklabels()]
    # A01 (60.8, n = 5) above B02 (50, n = 1, too few to rank); C03 has no index.
    assert labels[0] == "UBND xã Hồng Thái"
    assert labels[1] == "B02 (ít phiếu)"
    assert charts.render(ax.figure).startswith(b"\x89PNG")


def test_heatmap_annotates_values(table):
    ax = charts.plot_heatmap(
        table, charts.new_axes(), elements={"TC": "Tiếp cận dịch vụ", "TT": "Thủ tục hành chính"}
    )
    texts = _texts(ax)
    assert "55.0" in texts and "66.7" in texts and "100.0" in texts
    assert texts.count("–") == 2  # C03 has no element index
    assert [t.get_text() for t in ax.get_xticklabels()] == [
        "Tiếp cận dịch vụ",
        "Thủ tục hành chính",
    ]
    assert charts.render(ax.figure, "svg").lstrip().startswith(b"<?xml")


def test_trend_chart_puts_campaigns_on_x():
    trend = pd.DataFrame(
        {
            "campaign": ["2024-H1", "2024", "2025-H1"],
            "index": [78.0, 81.5, 84.0],
            "ci_low": [74.0, 78.0, np.nan],
            "ci_high": [82.0, 85.0, np.nan],
        }
    )
    ax = charts.plot_trend(trend, charts.new_axes(), title="Sở Nội vụ")
    assert [t.get_text() for t in ax.get_xticklabels()] == ["2024-H1", "2024", "2025-H1"]
    assert "81.5" in _texts(ax)
    assert charts.render(ax.figure).startswith(b"\x89PNG")


def test_likert_chart_diverges_around_neutral(app_tally, codebook):
    shares = analysis.answer_distribution(app_tally, codebook, agency_code="A01")
    ax = charts.plot_likert(shares, charts.new_axes(), title="Mức độ hài lòng")
    assert [t.get_text() for t in ax.get_legend().get_texts()] == list(charts.LIKERT_LABELS_VI)
    # TC2 (row 1) answers 20/20/0/40/20 %: the bar starts at -(20 + 20 + 0/2) = -40.
    first_segment_tc2 = ax.containers[0].patches[1]
    assert first_segment_tc2.get_x() == pytest.approx(-40.0)
    # TC1 0/25/25/25/25: the neutral segment is centred on zero.
    neutral_tc1 = ax.containers[2].patches[0]
    assert neutral_tc1.get_x() == pytest.approx(-12.5)
    assert neutral_tc1.get_width() == pytest.approx(25.0)
    assert charts.render(ax.figure).startswith(b"\x89PNG")


def test_missing_glyphs_would_be_caught():
    # Control for the other chart tests: a character DejaVu Sans lacks does warn, so
    # rendering Vietnamese under -W error without a failure means its glyphs exist.
    ax = charts.new_axes()
    ax.set_title("漢")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        charts.render(ax.figure)
    assert any("missing from font" in str(w.message) for w in caught)


def test_render_refuses_unknown_format():
    with pytest.raises(ValueError):
        charts.render(charts.new_axes().figure, "gif")


def test_charts_never_import_pyplot():
    # Also checks the package's other promises about imports: computing indices does
    # not load matplotlib, and nothing pulls in the web application.
    script = textwrap.dedent(
        """
        import sys
        import numpy as np, pandas as pd
        import analysis
        assert "matplotlib" not in sys.modules, "import analysis loaded matplotlib"
        from analysis import charts

        table = pd.DataFrame({
            "agency_code": ["A", "A", "B", "B"], "level": "element", "code": ["TC", "TT", "TC", "TT"],
            "n": [40, 40, 35, 35], "index": [80.0, 70.0, np.nan, 90.0], "ci_low": np.nan, "ci_high": np.nan,
        })
        service = table.assign(level="service", code="SERVICE")
        shares = pd.DataFrame([[10.0, 10, 20, 40, 20]], index=["TC1"], columns=range(1, 6))
        trend = pd.DataFrame({"campaign": ["2024", "2025"], "index": [80.0, 82.0]})
        outputs = []
        for draw, data in [(charts.plot_ranking, analysis.rank_agencies(service)), (charts.plot_heatmap, table),
                           (charts.plot_trend, trend), (charts.plot_likert, shares)]:
            ax = draw(data, charts.new_axes(), title="Chỉ số hài lòng về sự phục vụ hành chính")
            outputs += [charts.render(ax.figure, "png"), charts.render(ax.figure, "svg")]
        assert all(out.startswith(b"\\x89PNG") for out in outputs[::2])
        assert all(b"<svg" in out for out in outputs[1::2])
        assert "matplotlib.pyplot" not in sys.modules, "pyplot was imported"
        assert not {"flask", "survey_app"} & set(sys.modules), "the web application was imported"
        print("ok")
        """
    )
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", script],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
