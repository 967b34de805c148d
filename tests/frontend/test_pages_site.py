"""The site page (``/sites/<slug>/``) and the overview's 24/7 heatmap: a site's Scope 2 by the inventory's
method beside the revision's hourly one, computed by hand (flat 10 kWh/h day, solar certificates 06–18 UTC,
residual mix 400 g, location 300 g, grid half carbon-free: see tests/emissions/test_hourly_scope2_service.py)."""

import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from emissions.choices import Role
from emissions.models import GranularCertificate, HourlyMeterReading, Membership
from tests.emissions.test_hourly_scope2_service import _flat_day, _solar, grid  # noqa: F401 (a fixture)
from tests.factories import SiteFactory


def _figure(page: str, chart: str) -> dict:
    payload = re.search(rf'<script type="application/json" id="chart-{chart}-data">(.*?)</script>', page, re.S)[1]
    return json.loads(payload)["figure"]


@pytest.fixture
def viewer(org_a, django_user_model):
    user = django_user_model.objects.create_user("site-viewer", password="x")
    Membership.objects.create(organization=org_a, user=user, role=Role.VIEWER)
    return user


@pytest.mark.django_db
def test_the_site_page_shows_its_hourly_figures_beside_the_inventory(client, org_a, grid, viewer):  # noqa: F811
    lab = SiteFactory(organization=org_a, slug="lab", name="Lab")
    other = SiteFactory(organization=org_a, slug="other", name="Other", zone=lab.zone)
    _flat_day(lab)
    _flat_day(other, kwh=30.0)  # same boundary: the certificates' 240 kWh are shared 1:3 hour by hour
    _solar(org_a)
    client.force_login(viewer)
    page = client.get("/sites/lab/", {"period": "2026-06"}).content.decode()
    # Daylight: 20 kWh of certificates for 40 kWh of pooled load, Lab's quarter is 5 kWh matched, 5 kWh at
    # 400 g; night: 10 kWh at 400 g. Market = 12 × 5 × 0.4 + 12 × 10 × 0.4 = 72 kg; matched 60 kWh.
    assert 'data-kpi="hourly-market">72.0 kg CO2e<' in page
    assert "24 hours of hourly meter data (240 kWh)" in page
    assert "240 kWh of load" in page and "60 kWh matched" in page
    # CFE: day (5 + 0.5 × 5) / 10, night 0.5 → (12 × 7.5 + 12 × 5) / 240 = 62.5 %.
    assert 'data-kpi="cfe">62.5 %<' in page
    heatmap = _figure(page, "cfe_heatmap")["data"][0]
    cells = dict(zip(heatmap["x"], heatmap["z"][0], strict=True))
    assert (cells[2], cells[12]) == (pytest.approx(50.0), pytest.approx(75.0))
    csv = client.get("/sites/lab/", {"period": "2026-06", "download": "methods"}).content.decode()
    assert '"Market-based, hourly matching (revision)",0.072' in csv


@pytest.mark.django_db
def test_a_site_whose_electricity_the_operator_buys_has_no_hourly_scope2(client, org_a, grid, viewer):  # noqa: F811
    SiteFactory(organization=org_a, slug="colo", name="Colo", buys_electricity=False)
    client.force_login(viewer)
    page = client.get("/sites/colo/", {"period": "2026-06"}).content.decode()
    assert 'id="not-scope2"' in page and 'data-kpi="hourly-market"' not in page


@pytest.mark.django_db
def test_another_organizations_site_is_not_found(client, org_a, org_b, grid, charlie):  # noqa: F811
    SiteFactory(organization=org_a, slug="lab")
    client.force_login(charlie)
    assert client.get("/sites/lab/").status_code == 404


@pytest.mark.django_db
def test_the_overview_shows_the_sites_24_7_heatmap_and_links_the_hourly_page(client, ledger, grid, viewer):  # noqa: F811
    """The small ledger's 2026-07 with a flat day and solar certificates on July 1 (the same hand figures)."""
    lab = SiteFactory(organization=ledger, slug="hourly-lab", name="Hourly lab")
    july_1 = datetime(2026, 7, 1, tzinfo=UTC)
    for hour in range(24):
        HourlyMeterReading.objects.create(site=lab, hour_start=july_1 + timedelta(hours=hour), energy_kwh=10.0)
        if 6 <= hour < 18:
            GranularCertificate.objects.create(
                organization=ledger,
                certificate_id=f"pv-{hour}",
                zone=lab.zone,
                hour_start=july_1 + timedelta(hours=hour),
                energy_kwh=20.0,
                energy_source="solar",
            )
    client.force_login(viewer)
    overview = client.get("/", {"period": "2026-07"}).content.decode()
    # The page does not wait for the hourly calculation: htmx fetches the card once the page has loaded.
    assert 'hx-get="/overview/cfe-heatmap/?period=2026-07"' in overview and "chart-cfe_heatmap-data" not in overview
    page = client.get("/overview/cfe-heatmap/", {"period": "2026-07"}).content.decode()
    heatmap = _figure(page, "cfe_heatmap")["data"][0]
    cells = dict(zip(heatmap["x"], heatmap["z"][0], strict=True))
    assert (cells[2], cells[12]) == (pytest.approx(50.0), pytest.approx(100.0))
    assert 'href="/scope2-hourly/?period=2026-07"' in page
    csv = client.get("/overview/cfe-heatmap/", {"period": "2026-07", "download": "cfe_heatmap"}).content.decode()
    assert "2026-07,12,100.0,10.0" in csv.replace("\r", "")
    empty = client.get("/overview/cfe-heatmap/", {"period": "2026-08"}).content.decode()
    assert "No site electricity in this period" in empty


@pytest.mark.django_db
def test_an_unknown_24_7_score_names_the_site_without_a_carbon_free_share(client, org_a, grid, viewer):  # noqa: F811
    """FR has a location factor but no carbon-free share of any granularity: the score is unknown, not 0."""
    from emissions.choices import FactorKind
    from emissions.models import GridFactor, GridZone

    fr = GridZone.objects.get(code="FR")
    GridFactor.objects.create(
        dataset=grid, zone=fr, kind=FactorKind.LOCATION, year=2026, intensity_g_per_kwh=60.0, source="t", licence="t"
    )
    _flat_day(SiteFactory(organization=org_a, slug="paris", name="Paris", zone=fr))
    _flat_day(SiteFactory(organization=org_a, slug="lab", name="Lab"))
    client.force_login(viewer)
    page = client.get("/scope2-hourly/", {"period": "2026-06"}).content.decode()
    assert 'data-kpi="cfe">–<' in page or 'data-kpi="cfe">—<' in page
    assert "unknown, not 0, because Paris has hours with no carbon-free share" in page
    site = client.get("/sites/paris/", {"period": "2026-06"}).content.decode()
    assert "unknown, not 0: some hours have no carbon-free share" in site
