"""Pure chart builders: a tidy pandas DataFrame in, a ``plotly.graph_objects.Figure`` out.

Every figure has a title that names its unit, hover text with units, and the modebar's PNG
download (``CHART_CONFIG``). Text that comes from users (team and project names) is HTML-escaped
before it reaches plotly, which otherwise interprets a few tags in labels: a team called
``<script>`` is shown as that text. No Django, no ORM: test by asserting on ``fig.data`` and
``fig.layout``. The generic builders (``stacked_bar_figure``, ``lines_figure``, ``ranked_bar_figure``,
``share_figure``) serve every dashboard page; the ``*_figure`` functions name the overview's charts.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

import pandas as pd
import plotly.graph_objects as go

from frontend.chart_colors import LOCATION_COLOR, MARKET_COLOR, PALETTE, series_color, series_sorted

# plotly.js config shared by every chart: the modebar (with "Download plot as PNG") and no plotly logo.
CHART_CONFIG = {
    "displaylogo": False,
    "responsive": True,
    "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d"],
    "toImageButtonOptions": {"format": "png", "scale": 2},
    # plotly.js would fetch map outlines from its CDN for geo charts; point it at our own static files
    # (we draw no geo charts, and the Content-Security-Policy blocks other origins anyway).
    "topojsonURL": "/static/frontend/vendor/plotly/topojson/",
}


def label(text) -> str:
    """User text made safe for plotly labels: ``<``, ``>`` and ``&`` as entities, shown literally."""
    return html.escape(str(text), quote=False)


# The title at the top of the figure; charts.js wraps it on narrow screens and sizes the top margin to it.
_TITLE_AT_TOP = {"y": 1, "yref": "container", "yanchor": "top", "pad": {"t": 12}, "font": {"size": 15}}


def _figure(traces: list, *, title: str, x_title: str = "", y_title: str = "", **layout) -> go.Figure:
    """The figure in one constructor call: plotly validates a layout dict at once, far faster than
    ``update_layout`` after the fact (~4 ms instead of ~17 ms a chart)."""
    axis = {"automargin": True, "gridcolor": "#eef2ef"}
    base = {
        "title": {"text": title, "x": 0.01, "xanchor": "left", **_TITLE_AT_TOP},
        "template": "none",
        "colorway": PALETTE,
        "font": {"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "size": 12},
        "margin": {"l": 60, "r": 20, "t": 50, "b": 50},
        "height": 340,
        # The legend at the very bottom of the figure: plotly then keeps the axis title above it (a legend
        # placed in plot coordinates, y=-0.2, sat on the x-axis title).
        "legend": {"orientation": "h", "x": 0, "xanchor": "left", "y": 0, "yref": "container", "yanchor": "bottom"},
        "hoverlabel": {"namelength": -1},
        "xaxis": {**axis, "title": {"text": x_title}, **layout.pop("xaxis", {})},
        "yaxis": {**axis, "title": {"text": y_title}, "rangemode": "tozero", **layout.pop("yaxis", {})},
    }
    return go.Figure(data=traces, layout={**base, **layout})


def _bar_color(colors: dict[str, str] | None, column: str, name: str, bars: int) -> str:
    """A bar series' colour: the one given for its column, else the house green for a lone series, else its
    name's colour (chart_colors)."""
    if colors and colors.get(column):
        return colors[column]
    return PALETTE[0] if bars == 1 else series_color(name)


def stacked_bar_figure(
    frame: pd.DataFrame, *, x: str, y: str, series: str, title: str, unit: str, x_title: str = ""
) -> go.Figure:
    """One bar per ``x`` stacked by ``series`` (e.g. scope/category); ``y`` is in ``unit``."""
    traces = []
    for name in series_sorted(frame[series].unique()) if not frame.empty else []:
        part = frame[frame[series] == name]
        traces.append(
            go.Bar(
                x=part[x],
                y=part[y],
                name=label(name),
                marker={"color": series_color(name)},
                hovertemplate=f"%{{x}}<br>{label(name)}: %{{y:,.3f}} {unit}<extra></extra>",
            )
        )
    return _figure(traces, title=title, x_title=x_title, y_title=unit, barmode="stack")


def lines_figure(
    frame: pd.DataFrame, *, x: str, lines: dict[str, str], title: str, unit: str, colors: dict[str, str] | None = None
) -> go.Figure:
    """One line per entry of ``lines`` (column → legend name) over ``x``; values in ``unit``."""
    traces = [
        go.Scatter(
            x=frame[x],
            y=frame[column],
            name=name,
            mode="lines+markers",
            line={"color": (colors or {}).get(column) or series_color(name)},
            hovertemplate=f"{name}: %{{y:,.3f}} {unit}<extra></extra>",
        )
        for column, name in lines.items()
    ]
    return _figure(traces, title=title, y_title=unit, hovermode="x unified")


def drilldown(links: Sequence[tuple[object, str | None]] | None) -> tuple[dict, dict]:
    """The trace and layout attributes that make a chart's marks open pages (static/frontend/drilldown.js):
    ``customdata`` holds each row's ``[slug or id, URL]`` (URL None: the row has no page, e.g. unallocated)
    and ``layout.meta.drilldown`` marks the figure. Nothing without ``links``."""
    if links is None:
        return {}, {}
    return {"customdata": [[key, url] for key, url in links]}, {"meta": {"drilldown": True}}


def ranked_bar_figure(
    frame: pd.DataFrame,
    *,
    category: str,
    bars: dict[str, str],
    title: str,
    unit: str,
    colors: dict[str, str] | None = None,
    links: Sequence[tuple[object, str | None]] | None = None,
) -> go.Figure:
    """Horizontal bars, largest at the top: one bar group per ``category``, one bar per entry of ``bars``;
    ``links`` (one ``(slug or id, URL)`` per row) makes a click on a row's bars open its page."""
    names = [label(value) for value in frame[category]]
    trace_links, layout_links = drilldown(links)
    traces = [
        go.Bar(
            y=names,
            x=frame[column],
            name=name,
            orientation="h",
            marker={"color": _bar_color(colors, column, name, len(bars))},
            hovertemplate=f"%{{y}}<br>{name}: %{{x:,.3f}} {unit}<extra></extra>",
            **trace_links,
        )
        for column, name in bars.items()
    ]
    return _figure(traces, title=title, x_title=unit, barmode="group", yaxis={"autorange": "reversed"}, **layout_links)


def share_figure(frame: pd.DataFrame, *, category: str, value: str, title: str, unit: str) -> go.Figure:
    """A donut of ``value`` (in ``unit``) by ``category``, with each slice's share in the hover."""
    trace = go.Pie(
        labels=[label(v) for v in frame[category]],
        values=frame[value],
        marker={"colors": [series_color(v) for v in frame[category]]},
        hole=0.45,
        sort=False,
        hovertemplate=f"%{{label}}: %{{value:,.3f}} {unit} (%{{percent}})<extra></extra>",
    )
    return _figure([trace], title=title)


# --- The overview's charts (frames from reporting.selectors.overview) ----------------------------------------


def _scope2_basis(view_label: str, method: str = "Scope 2 location-based") -> str:
    """What a title's figures are: the view (``inventory view``/``management view``) and the Scope 2 method."""
    return f"{view_label}, {method}" if view_label else method


BOTH_METHODS = "Scope 2 location- and market-based"


def emissions_over_time_figure(frame: pd.DataFrame, *, bucket: str = "month", view_label: str = "") -> go.Figure:
    """Stacked by scope/category per ``bucket``: ``emissions_over_time_frame`` columns."""
    return stacked_bar_figure(
        frame,
        x="period_start",
        y="emissions_t_co2e_location",
        series="scope_category",
        title=f"Emissions per {bucket} by scope and category (tCO2e, {_scope2_basis(view_label)})",
        unit="tCO2e",
        x_title=f"{bucket} starting",
    )


def location_vs_market_figure(frame: pd.DataFrame, *, bucket: str = "month", view_label: str = "") -> go.Figure:
    """Total location-based vs market-based per ``bucket``: ``location_vs_market_frame`` columns."""
    scopes = "all scopes"
    return lines_figure(
        frame,
        x="period_start",
        lines={"emissions_t_co2e_location": "Location-based", "emissions_t_co2e_market": "Market-based"},
        title=f"Location-based vs market-based emissions per {bucket} (tCO2e, {_scope2_basis(view_label, scopes)})",
        unit="tCO2e",
        colors={"emissions_t_co2e_location": LOCATION_COLOR, "emissions_t_co2e_market": MARKET_COLOR},
    )


def _both_bases(frame: pd.DataFrame, *, category: str, title: str, links=None) -> go.Figure:
    return ranked_bar_figure(
        frame,
        category=category,
        bars={"emissions_t_co2e_location": "Location-based", "emissions_t_co2e_market": "Market-based"},
        title=title,
        unit="tCO2e",
        colors={"emissions_t_co2e_location": LOCATION_COLOR, "emissions_t_co2e_market": MARKET_COLOR},
        links=links,
    )


def by_team_figure(frame: pd.DataFrame, *, view_label: str = "", links=None) -> go.Figure:
    """Emissions per team: ``by_team_frame`` columns; ``links`` opens each team's page."""
    title = f"Emissions by team (tCO2e, {_scope2_basis(view_label, BOTH_METHODS)})"
    return _both_bases(frame, category="team", title=title, links=links)


def top_projects_figure(frame: pd.DataFrame, *, view_label: str = "", links=None) -> go.Figure:
    """The largest projects: ``top_projects_frame`` columns; ``links`` opens each project's page."""
    title = f"Top {len(frame)} projects by emissions (tCO2e, {_scope2_basis(view_label, BOTH_METHODS)})"
    return _both_bases(frame, category="project", title=title, links=links)


def quality_mix_figure(frame: pd.DataFrame, *, view_label: str = "") -> go.Figure:
    """Share of emissions by data-quality tier: ``quality_mix_frame`` columns."""
    return share_figure(
        frame,
        category="quality",
        value="emissions_t_co2e_location",
        title=f"Data quality mix (tCO2e, {_scope2_basis(view_label)}, share of total)",
        unit="tCO2e",
    )


OVERVIEW_CHARTS = {
    "emissions_over_time": "wide",
    "location_vs_market": "half",
    "by_team": "half",
    "top_projects": "half",
    "quality_mix": "half",
}


def view_text(view: str) -> str:
    """``inventory`` → ``inventory view``: how titles and captions name the view of their figures."""
    return "inventory view" if view == "inventory" else "management view"


def overview_figures(
    frames: dict[str, pd.DataFrame], *, bucket: str, view: str, links: dict[str, list] | None = None
) -> list[dict]:
    """The overview's charts in page order: ``name``, ``figure`` (None when its frame is empty), ``width``;
    ``links`` maps a chart (``by_team``, ``top_projects``) to its rows' ``(slug, URL)`` for drill-down."""
    shown, links = view_text(view), links or {}
    build = {
        "emissions_over_time": lambda f: emissions_over_time_figure(f, bucket=bucket, view_label=shown),
        "location_vs_market": lambda f: location_vs_market_figure(f, bucket=bucket, view_label=shown),
        "by_team": lambda f: by_team_figure(f, view_label=shown, links=links.get("by_team")),
        "top_projects": lambda f: top_projects_figure(f, view_label=shown, links=links.get("top_projects")),
        "quality_mix": lambda f: quality_mix_figure(f, view_label=shown),
    }
    return [
        {"name": name, "width": width, "figure": None if frames[name].empty else build[name](frames[name])}
        for name, width in OVERVIEW_CHARTS.items()
    ]


# --- More generic builders for the team, project, run, hardware and cloud pages ------------------------


def grouped_bar_figure(
    frame: pd.DataFrame,
    *,
    x: str,
    bars: dict[str, str],
    title: str,
    unit: str,
    x_title: str = "",
    colors: dict[str, str] | None = None,
) -> go.Figure:
    """Vertical bars side by side per ``x``: one bar per entry of ``bars`` (column → legend name), in ``unit``."""
    traces = [
        go.Bar(
            x=[label(value) for value in frame[x]],
            y=frame[column],
            name=name,
            marker={"color": _bar_color(colors, column, name, len(bars))},
            hovertemplate=f"%{{x}}<br>{name}: %{{y:,.3f}} {unit}<extra></extra>",
        )
        for column, name in bars.items()
    ]
    return _figure(traces, title=title, x_title=x_title, y_title=unit, barmode="group")


def timeline_figure(
    frame: pd.DataFrame, *, task: str, start: str, end: str, series: str, title: str, hover: str = ""
) -> go.Figure:
    """A Gantt chart: one horizontal bar per row from ``start`` to ``end`` (dates), coloured by ``series``.

    Bars are durations in milliseconds on a date axis with ``base`` at the start (what plotly's own
    timeline does); ``hover`` names a column with extra hover text.
    """
    traces = []
    for name in series_sorted(frame[series].unique()) if not frame.empty else []:
        part = frame[frame[series] == name]
        starts, ends = pd.to_datetime(part[start]), pd.to_datetime(part[end])
        start_text, end_text = starts.dt.strftime("%Y-%m-%d").tolist(), ends.dt.strftime("%Y-%m-%d").tolist()
        hover_text = [label(value) for value in (part[hover] if hover else part[series])]
        traces.append(
            go.Bar(
                y=[label(value) for value in part[task]],
                x=((ends - starts).dt.total_seconds() * 1000).tolist(),
                base=start_text,
                orientation="h",
                name=label(name),
                marker={"color": series_color(name)},
                customdata=list(zip(start_text, end_text, hover_text, strict=True)),
                hovertemplate="%{y}: %{customdata[0]} to %{customdata[1]}<br>%{customdata[2]}<extra></extra>",
            )
        )
    return _figure(
        traces,
        title=title,
        x_title="date",
        barmode="overlay",
        xaxis={"type": "date"},
        # Rows in the frame's order whatever their series (plotly would otherwise group them by trace).
        yaxis={
            "autorange": "reversed",
            "rangemode": "normal",
            "categoryorder": "array",
            "categoryarray": [label(value) for value in frame[task]],
        },
        height=max(340, 90 + 24 * (len(frame) if not frame.empty else 0)),
    )


def waterfall_figure(frame: pd.DataFrame, *, step: str, value: str, title: str, unit: str) -> go.Figure:
    """A roll-forward: the first and last rows are balances, the rows between add to or take from them."""
    measure = ["absolute", *["relative"] * (len(frame) - 2), "total"] if len(frame) >= 2 else ["absolute"] * len(frame)
    trace = go.Waterfall(
        x=list(frame[step]),
        y=list(frame[value]),
        measure=measure,
        connector={"line": {"color": "#999999"}},
        increasing={"marker": {"color": PALETTE[1]}},
        decreasing={"marker": {"color": PALETTE[0]}},
        totals={"marker": {"color": PALETTE[4]}},
        hovertemplate=f"%{{x}}: %{{y:,.3f}} {unit}<extra></extra>",
    )
    return _figure([trace], title=title, y_title=unit, showlegend=False)


def scatter_figure(
    frame: pd.DataFrame, *, x: str, y: str, text: str, series: str, title: str, x_unit: str, y_unit: str
) -> go.Figure:
    """One marker per row at (``x`` in ``x_unit``, ``y`` in ``y_unit``), named by ``text``, coloured by ``series``."""
    traces = []
    for name in series_sorted(frame[series].unique()) if not frame.empty else []:
        part = frame[frame[series] == name]
        traces.append(
            go.Scatter(
                x=part[x],
                y=part[y],
                mode="markers",
                name=label(name),
                text=[label(value) for value in part[text]],
                marker={"size": 11, "color": series_color(name)},
                hovertemplate=f"%{{text}}<br>%{{x:,.2f}} {x_unit}<br>%{{y:,.3f}} {y_unit}<extra></extra>",
            )
        )
    return _figure(traces, title=title, x_title=x_unit, y_title=y_unit)


def heatmap_figure(frame: pd.DataFrame, *, x: str, y: str, z: str, title: str, unit: str) -> go.Figure:
    """``z`` over ``x`` (columns) and ``y`` (rows), 0–100 on a green scale: e.g. the 24/7 carbon-free share per
    hour of day and month."""
    pivot = frame.pivot(index=y, columns=x, values=z)
    trace = go.Heatmap(
        x=[int(value) if isinstance(value, (int, float)) else value for value in pivot.columns],
        y=[str(value) for value in pivot.index],
        z=pivot.to_numpy().tolist(),
        colorscale="Greens",
        zmin=0,
        zmax=100,
        colorbar={"title": {"text": unit}},
        hovertemplate=f"%{{y}}, %{{x}}:00 UTC: %{{z:.1f}} {unit}<extra></extra>",
    )
    # Categories, not dates: plotly would read "2026-07" as a date axis and label it with arbitrary days.
    return _figure(
        [trace],
        title=title,
        x_title=f"hour of day ({x.split('_')[-1].upper()})",
        y_title="",
        yaxis={"type": "category"},
    )


def sites_cfe_heatmap_figure(frame: pd.DataFrame) -> go.Figure:
    """The overview's heatmap of every site's 24/7 carbon-free share (sites, not teams: whatever the team
    or scope filter, the grid supplies the organization's sites)."""
    return heatmap_figure(
        frame,
        x="hour_utc",
        y="month",
        z="cfe_pct",
        unit="%",
        title="24/7 carbon-free share of the sites' load by hour of day and month (%, all sites)",
    )


def page_figures(frames: Mapping[str, pd.DataFrame], builders: Mapping[str, tuple[str, object]]) -> list[dict]:
    """A page's charts in ``builders`` order (name → (width, frame → Figure)): ``name``, ``width`` and
    ``figure`` (None when its frame is missing or empty, so the page shows how to get data in)."""
    charts = []
    for name, (width, build) in builders.items():
        frame = frames.get(name)
        charts.append({"name": name, "width": width, "figure": None if frame is None or frame.empty else build(frame)})
    return charts
