"""Grid factors where the work runs: the shipped provincial, state and regional factors, each traceable.

Uses the shipped reference data (``load_reference_data``): a site in Québec, one in Ontario and one in
Alberta get ECCC's provincial consumption intensities, not Canada's national lifecycle average.
"""

from datetime import UTC, date, datetime

import pytest

from emissions.models import EmissionRecord, GridFactor, GridZone, MeterReading
from emissions.periods import period_parse
from emissions.services.ledger import inventory_calculate
from tests.factories import RunFactory, SiteFactory

# ECCC National Inventory Report 1990-2024, Annex 7, consumption intensity 2024 (g CO2e/kWh), as shipped.
PROVINCES = {"CA-QC": 2.565, "CA-ON": 73.313, "CA-AB": 346.102}


@pytest.mark.django_db
def test_sites_in_quebec_ontario_and_alberta_get_their_provinces_factors(reference, org_a):
    for code in PROVINCES:
        site = SiteFactory(organization=org_a, zone=GridZone.objects.get(code=code), pue=1.0, slug=code.lower())
        MeterReading.objects.create(site=site, period_start=date(2025, 3, 1), period_end=date(2025, 3, 31),
                                    energy_kwh=1000.0)  # fmt: skip
        RunFactory(organization=org_a, site=site, started_at=datetime(2025, 3, 2, tzinfo=UTC),
                   ended_at=datetime(2025, 3, 2, 2, tzinfo=UTC))  # fmt: skip
    calculation = inventory_calculate(organization=org_a, period=period_parse("2025-03"))
    by_zone = {}
    for record in EmissionRecord.objects.filter(calculation=calculation, scope=2).select_related("site__zone"):
        by_zone.setdefault(record.site.zone.code, []).append(record)
    for code, g_per_kwh in PROVINCES.items():
        records = by_zone[code]
        assert sum(r.emissions_kg_co2e_location for r in records) == pytest.approx(1000.0 * g_per_kwh / 1000)
        provenance = records[0].factors["location"]
        factor = GridFactor.objects.select_related("dataset", "zone").get(pk=provenance["id"])  # the row behind it
        assert (factor.zone.code, factor.year, factor.intensity_g_per_kwh) == (code, 2024, g_per_kwh)
        assert factor.dataset.name == "official-subnational" and "Annex 7" in factor.source
        assert "year_mismatch" in provenance["flags"] and "parent_zone" not in provenance["flags"]
    assert PROVINCES["CA-AB"] / PROVINCES["CA-QC"] > 100 and PROVINCES["CA-ON"] / PROVINCES["CA-QC"] > 10
    # Canada's lifecycle average is not subtracted from a province's direct factor as if it were upstream.
    # The gap names the kWh left out: Québec's metered 1,000.0 kWh (run and idle).
    assert "no upstream (Cat 3b) factor for zone CA-QC: upstream of 1,000.0 kWh not computed" in calculation.data_gaps
    assert not EmissionRecord.objects.filter(calculation=calculation, scope3_subcategory="3b").exists()


@pytest.mark.django_db
def test_cloud_regions_sit_in_their_subnational_zone(reference):
    from emissions.models import CloudRegion

    expected = {
        ("aws", "ca-central-1"): "CA-QC", ("gcp", "northamerica-northeast1"): "CA-QC",
        ("gcp", "northamerica-northeast2"): "CA-ON", ("aws", "ap-southeast-2"): "AU-NSW",
        ("gcp", "australia-southeast2"): "AU-VIC", ("azure", "australiacentral"): "AU-ACT",
        ("aws", "cn-north-1"): "CN-BJ", ("aws", "us-east-1"): "US-VA",
    }  # fmt: skip
    for (provider, region), zone in expected.items():
        assert CloudRegion.objects.get(provider=provider, region=region).zone.code == zone
        assert GridFactor.objects.filter(zone__code=zone, kind="location").exists()  # and it has a factor


@pytest.mark.django_db
def test_australian_states_carry_scope_2_and_their_scope_3_upstream(reference, org_a):
    from emissions.factor_book import FactorBook

    book = FactorBook(org_a)
    nsw = book.location(zone="AU-NSW", year=2025)
    upstream = book.grid(zone="AU-NSW", kind="upstream", year=2025)
    assert (nsw.value, nsw.period, upstream.value) == (640.0, "2025", 30.0)
    assert book.location(zone="AU-TAS", year=2025).value == 200.0  # hydro-heavy Tasmania, a third of NSW
