"""The chart builders added for the team, project, run, hardware and cloud pages (asserted on fig.data/layout)."""

from datetime import date

import pandas as pd

from frontend import figures
from frontend.pages.cloud import CLOUD_CHARTS
from frontend.pages.hardware import HARDWARE_CHARTS
from frontend.pages.project import PROJECT_CHARTS
from frontend.pages.run import RUN_CHARTS
from frontend.pages.team import team_charts

TEAM_CHARTS = team_charts(view="inventory", budget_method="location-based")


def test_timeline_is_a_gantt_on_a_date_axis_in_frame_order():
    frame = pd.DataFrame(
        {
            "asset": ["old", "<b>new</b>"],
            "start": [date(2022, 1, 1), date(2026, 1, 1)],
            "end": [date(2022, 1, 11), date(2026, 1, 2)],
            "status": ["retired", "in service"],
        }
    )
    fig = figures.timeline_figure(frame, task="asset", start="start", end="end", series="status", title="t (dates)")
    assert fig.layout.xaxis.type == "date" and fig.layout.yaxis.autorange == "reversed"
    assert list(fig.layout.yaxis.categoryarray) == ["old", "&lt;b&gt;new&lt;/b&gt;"]  # frame order, escaped
    retired = next(trace for trace in fig.data if trace.name == "retired")
    assert list(retired.base) == ["2022-01-01"] and list(retired.x) == [10 * 86_400_000]  # 10 days in ms
    assert retired.orientation == "h"


def test_waterfall_starts_and_ends_with_balances():
    frame = pd.DataFrame({"step": ["Opening", "Additions", "Amortized", "Closing"], "kg": [10.0, 5.0, -3.0, 12.0]})
    fig = figures.waterfall_figure(frame, step="step", value="kg", title="Roll-forward (tCO2e)", unit="tCO2e")
    assert list(fig.data[0].measure) == ["absolute", "relative", "relative", "total"]
    assert "tCO2e" in fig.data[0].hovertemplate


def test_scatter_and_grouped_bars_name_their_units_and_escape_labels():
    frame = pd.DataFrame({"spend": [1.0, 2.0], "t": [0.1, 0.2], "line": ["<i>x</i>", "y"], "provider": ["aws", "gcp"]})
    fig = figures.scatter_figure(frame, x="spend", y="t", text="line", series="provider", title="s (tCO2e)",
                                 x_unit="USD", y_unit="tCO2e")  # fmt: skip
    assert [trace.name for trace in fig.data] == ["aws", "gcp"]
    assert list(fig.data[0].text) == ["&lt;i&gt;x&lt;/i&gt;"] and "USD" in fig.data[0].hovertemplate
    bars = figures.grouped_bar_figure(frame, x="line", bars={"t": "T"}, title="b (tCO2e)", unit="tCO2e")
    assert bars.layout.barmode == "group" and "tCO2e" in bars.data[0].hovertemplate
    assert list(bars.data[0].x) == ["&lt;i&gt;x&lt;/i&gt;", "y"]


def test_every_page_chart_names_its_unit_and_empty_frames_give_no_figure():
    for builders in (TEAM_CHARTS, PROJECT_CHARTS, RUN_CHARTS, HARDWARE_CHARTS, CLOUD_CHARTS):
        charts = figures.page_figures({}, builders)
        assert [chart["name"] for chart in charts] == list(builders)
        assert all(chart["figure"] is None for chart in charts)
    titles = {
        "trend": figures.page_figures(
            {"trend": pd.DataFrame({"period_start": [date(2026, 7, 1)], "emissions_t_co2e_location": [1.0],
                                    "emissions_t_co2e_market": [0.5]})}, TEAM_CHARTS)[0]["figure"].layout.title.text,
    }  # fmt: skip
    assert "(tCO2e, inventory view, Scope 2 location- and market-based)" in titles["trend"]
