"""The hourly-Scope 2 inputs: Electricity Maps' hourly CSV (both header versions) loaded as reference data,
and the hourly meter and granular certificate files parsed row by row."""

from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from emissions.hourly_intensity_csv import hourly_intensity_rows
from emissions.models import HourlyIntensity
from ingest.parsers import granular_certificates, site_electricity_hourly
from ingest.records import RowIssue
from tests.factories import GridZoneFactory

FIXTURES = Path(__file__).parent / "fixtures" / "electricity_maps"


@pytest.mark.parametrize("name", ["SE_2021_hourly_new_header.csv", "SE_2021_hourly_old_header.csv"])
def test_both_electricity_maps_headers_read_alike(name):
    rows = list(hourly_intensity_rows((FIXTURES / name).read_text(encoding="utf-8")))
    assert [(r.zone_code, r.hour_start, r.intensity_g_per_kwh, r.carbon_free_share_pct) for r in rows] == [
        ("SE", datetime(2021, 1, 1, 0, tzinfo=UTC), 2.54, 99.42),
        ("SE", datetime(2021, 1, 1, 1, tzinfo=UTC), 2.6, 99.4),
    ]


def test_a_file_without_the_direct_intensity_is_refused():
    with pytest.raises(ValueError, match="no 'carbon intensity gco₂eq/kwh \\(direct\\)' column"):
        list(hourly_intensity_rows("Datetime (UTC),Zone id,Carbon intensity gCO₂eq/kWh (Life cycle)\n"))


@pytest.mark.django_db
def test_the_command_loads_hours_once_and_names_unknown_zones():
    GridZoneFactory(code="SE", name="Sweden", country_iso3="SWE")
    for _ in range(2):  # a second load replaces, never duplicates
        call_command("load_hourly_intensity", str(FIXTURES / "SE_2021_hourly_new_header.csv"), dataset_version="t")
    assert HourlyIntensity.objects.count() == 2
    first = HourlyIntensity.objects.get(hour_start=datetime(2021, 1, 1, tzinfo=UTC))
    assert (first.intensity_g_per_kwh, first.carbon_free_share_pct, first.dataset.licence[:4]) == (2.54, 99.42, "ODbL")
    HourlyIntensity.objects.all().delete()
    GridZoneFactory._meta.model.objects.filter(code="SE").delete()
    with pytest.raises(CommandError, match="unknown grid zone"):
        call_command("load_hourly_intensity", str(FIXTURES / "SE_2021_hourly_old_header.csv"), dataset_version="t")


def test_hourly_meter_rows_need_an_offset_and_a_whole_hour():
    content = (
        b"site,hour_start,energy_kwh\n"
        b"lab,2026-06-01T14:00:00Z,12.5\n"
        b"lab,2026-06-01T16:00:00+02:00,10\n"
        b"lab,2026-06-01 14:00,1\n"
        b"lab,2026-06-01T14:30:00Z,1\n"
        b"lab,2026-06-01T15:00:00Z,-1\n"
    )
    rows = list(site_electricity_hourly.parse(content))
    assert [r.record.hour_start for r in rows[:2]] == [datetime(2026, 6, 1, 14, tzinfo=UTC)] * 2
    issues = rows[2:]
    assert all(isinstance(issue, RowIssue) for issue in issues)
    reasons = [issue.reason for issue in issues]
    assert "no UTC offset" in reasons[0] and "not the start of an hour" in reasons[1]
    assert "below the minimum" in reasons[2]


def test_granular_certificates_default_carbon_free_by_source():
    content = (
        b"certificate_id,zone,hour_start,energy_kwh,energy_source,emission_factor_g_per_kwh\n"
        b"pv-1,DE,2026-06-01T12:00:00Z,20,Solar,\n"
        b"chp-1,DE,2026-06-01T12:00:00Z,5,biomass,230\n"
        b"bad-1,DE,2026-06-01T12:00:00Z,5,wind,10\n"
    )
    pv, chp, bad = list(granular_certificates.parse(content))
    pv, chp = pv.record, chp.record
    assert (pv.energy_source, pv.carbon_free, pv.emission_factor_g_per_kwh) == ("solar", True, 0.0)
    assert (chp.carbon_free, chp.emission_factor_g_per_kwh) == (False, 230.0)
    assert isinstance(bad, RowIssue) and "carbon_free" in bad.reason


@pytest.mark.django_db
def test_hourly_meter_data_and_certificates_import_through_a_batch_and_feed_the_hourly_figure(org_a, org_b):
    from datetime import date

    from emissions.choices import FactorKind
    from emissions.models import FactorDataset, GranularCertificate, GridFactor, HourlyMeterReading
    from emissions.periods import Period
    from emissions.services.hourly_scope2 import organization_hourly_scope2
    from ingest.services import import_batch_create, import_batch_process
    from tests.factories import SiteFactory

    de = GridZoneFactory(code="DE")
    GridZoneFactory(code="FR", name="France", country_iso3="FRA")
    dataset = FactorDataset.objects.create(name="g", version="1", title="t", source="t", licence="t")
    for kind, value in [(FactorKind.LOCATION, 300.0), (FactorKind.RESIDUAL_MIX, 400.0)]:
        GridFactor.objects.create(
            dataset=dataset, zone=de, kind=kind, year=2026, intensity_g_per_kwh=value, source="t", licence="t"
        )
    SiteFactory(organization=org_a, slug="lab", zone=de)
    SiteFactory(organization=org_b, slug="lab", zone=de)  # another organization's site of the same slug
    meter = "site,hour_start,energy_kwh\n" + "".join(f"lab,2026-06-01T{h:02d}:00:00Z,10\n" for h in range(24))
    certificates = "certificate_id,zone,hour_start,energy_kwh,energy_source,site\n" + "".join(
        f"pv-{h},DE,2026-06-01T{h:02d}:00:00Z,20,solar,lab\n" for h in range(6, 18)
    )
    certificates += "fr-1,FR,2026-06-01T12:00:00Z,5,nuclear,lab\n"  # FR certificate for a DE site: rejected

    def imported(source: str, content: str):
        batch = import_batch_create(
            organization=org_a, source=source, filename=f"{source}.csv", content=content.encode()
        )
        return import_batch_process(batch=batch)

    meter_batch = imported("site_electricity_hourly", meter)
    assert (meter_batch.rows_total, meter_batch.rows_loaded, meter_batch.rows_rejected) == (24, 24, 0)
    certificate_batch = imported("granular_certificates", certificates)
    assert (certificate_batch.rows_loaded, certificate_batch.rows_rejected) == (12, 1)
    again = imported("site_electricity_hourly", meter)  # a re-import stores nothing new
    assert (again.rows_loaded, again.rows_duplicate) == (0, 24)
    assert HourlyMeterReading.objects.count() == 24 and GranularCertificate.objects.count() == 12
    day = Period(label="2026-06-01", start=date(2026, 6, 1), end=date(2026, 6, 1))
    result = organization_hourly_scope2(organization=org_a, period=day)
    assert result.total("market_kg_co2e") == pytest.approx(48.0)  # the pure example, from imported files
    assert organization_hourly_scope2(organization=org_b, period=day).total("load_kwh") == 0
