"""One vocabulary on every page (issue 19): CO2e scaled one way, no nan or -0.0, the glossary's words and
tooltips for terms and stored codes, fixed colours per series, admin plurals."""

import math

import pandas as pd
import pytest
from django.template import Context, Template

from frontend import figures, glossary
from frontend.chart_colors import SCOPE_COLORS, TIER_COLORS, series_color
from frontend.templatetags.humanize_units import amount, co2e, decimal, pct, signed_pct, thousands


@pytest.mark.parametrize(
    ("kg", "unit", "shown"),
    [
        (0.005, "kg", "5.0 g CO2e"),
        (12.34, "kg", "12.3 kg CO2e"),
        (3204.0, "kg", "3.204 t CO2e"),
        (3.204, "t", "3.204 t CO2e"),
        (0.4, "t", "400.0 kg CO2e"),
        (999.96, "kg", "1.000 t CO2e"),  # rounds up into the next unit, never "1,000.0 kg"
        (0.99996, "kg", "1.0 kg CO2e"),
        (4.2e-06, "kg", "0.0042 g CO2e"),  # a laptop run keeps two significant digits
        (0.0, "kg", "0.0 kg CO2e"),
        (-0.00001, "t", "-10.0 g CO2e"),
        (-12.34, "kg", "-12.3 kg CO2e"),
        (-0.00000001, "kg", "-0.000010 g CO2e"),
        (2500, "g", "2.5 kg CO2e"),
    ],
)
def test_co2e_scales_to_g_kg_or_t(kg, unit, shown):
    assert co2e(kg, unit) == shown


@pytest.mark.parametrize("value", [None, "", "x", math.nan, math.inf, -math.inf, pd.NA])
def test_no_filter_shows_nan_or_infinity(value):
    for shown in (co2e(value), decimal(value, 2), amount(value), pct(value), signed_pct(value), thousands(value)):
        assert shown == "—"


def test_nothing_rounds_to_minus_zero_and_a_change_against_nothing_is_a_dash():
    assert pct(-0.04) == "0.0 %" and decimal(-0.004, 2) == "0.00" and thousands(-0.4) == "0"
    assert co2e(-0.0) == "0.0 kg CO2e"
    assert signed_pct(-0.04) == "0.0 %" and signed_pct(5) == "+5.0 %" and signed_pct(-2.5) == "−2.5 %"
    assert signed_pct(None) == "—"


def test_terms_carry_their_explanation_and_codes_their_words():
    html = Template('{% load glossary %}{% term "pue" %} {% term "location" "Location-based" %}').render(Context())
    assert '<abbr class="term" tabindex="0" data-term="pue" title="Power usage effectiveness' in html
    assert ">Location-based</abbr>" in html
    for key in ("wue", "pue", "sci", "location", "market", "inventory", "management"):
        assert glossary.TERMS[key][1]
    assert glossary.plain("provider_reported") == "Provider-reported"
    assert glossary.plain("grid_average") == "grid average (no residual mix on file)"
    assert glossary.plain("aws") == "Amazon Web Services"
    quality = glossary.plain_text("provider_reported 80.0%, metered 15.0%, estimated_tdp 5.0%")
    assert quality == "Provider-reported 80.0%, Metered 15.0%, Estimated from TDP 5.0%"


def _frame(*scopes):
    return pd.DataFrame(
        [{"period_start": "2026-07-01", "scope_category": s, "emissions_t_co2e_location": 1.0} for s in scopes]
    )


def test_a_series_keeps_its_colour_whatever_the_filter_leaves():
    everything = figures.emissions_over_time_figure(_frame("Scope 1", "Scope 2", "Scope 3 Cat 1", "Scope 3 Cat 2"))
    filtered = figures.emissions_over_time_figure(_frame("Scope 2", "Scope 3 Cat 2"))
    colours = {trace.name: trace.marker.color for trace in everything.data}
    assert {trace.name: trace.marker.color for trace in filtered.data} == {
        "Scope 2": colours["Scope 2"],
        "Scope 3 Cat 2": colours["Scope 3 Cat 2"],
    }
    assert colours == {name: SCOPE_COLORS[name] for name in colours}
    assert [trace.name for trace in everything.data] == ["Scope 1", "Scope 2", "Scope 3 Cat 1", "Scope 3 Cat 2"]
    assert len(set(SCOPE_COLORS.values())) == len(SCOPE_COLORS) - 1  # "Scope 3" and its Cat 1 share one


def test_quality_tiers_have_fixed_colours_in_the_donut():
    frame = pd.DataFrame({"quality": ["Metered", "Billing-based estimate"], "emissions_t_co2e_location": [1.0, 2.0]})
    pie = figures.quality_mix_figure(frame).data[0]
    assert list(pie.marker.colors) == [TIER_COLORS["Metered"], TIER_COLORS["billing_estimate"]]
    assert series_color("A team nobody listed") == series_color("A team nobody listed")  # stable, by name


def test_legends_sit_below_the_axis_title_and_titles_at_the_top():
    layout = figures.emissions_over_time_figure(_frame("Scope 2")).layout
    legend = (layout.legend.orientation, layout.legend.yref, layout.legend.y, layout.legend.yanchor)
    assert legend == ("h", "container", 0, "bottom")
    assert (layout.title.yref, layout.title.y, layout.title.yanchor) == ("container", 1, "top")


@pytest.mark.django_db
def test_the_admin_says_its_plurals(admin_client):
    index = admin_client.get("/admin/").content.decode()
    for plural in ("Grid energy mixes", "Hourly intensities", "Refrigerant losses", "API tokens"):
        assert plural in index
    for wrong in ("mixs", "intensitys", "losss"):
        assert wrong not in index
