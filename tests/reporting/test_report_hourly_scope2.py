"""The reports' supplementary hourly-matched Scope 2 (GHG Protocol Scope 2 revision), computed by hand, kept with
the report when it is pinned, shown beside the inventory's figures in every format and never tagged.

Zone DE 2026: location 300 g, residual mix 400 g, generation mix 50 % fossil (half carbon-free). Site ``lab``
(buys its electricity): a flat 10 kWh/h on 2026-06-01 (240 kWh), metered hour by hour. Solar certificates of
20 kWh/h from 06:00 to 18:00 UTC (240 kWh). Hourly intensities for the 12 night hours only: 100 g and 20 %
carbon-free. An annual GO of 5 MWh (vintage 2026).

- Hourly market-based: the day's 120 kWh matched (0 g), 120 kWh of surplus never carried; the night's 120 kWh
  at the residual mix, 400 g = 48 kg.
- Hourly location-based: 12 × 10 kWh × 300 g (no hourly factor: the year's) + 12 × 10 × 100 g = 36 + 12 = 48 kg.
- 24/7 score: (120 matched + 0.2 × 120 of night grid) / 240 = 60 %.
- The inventory (2015 method): location 240 kWh × 300 g = 72 kg (hourly factors only where every hour is
  loaded); market 0 kg (the GO covers the 240 kWh), and the GO's 5 MWh cannot be used hour by hour.
"""

import csv
import io
import json
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from emissions.choices import FactorKind, InstrumentKind
from emissions.models import (
    EnergyInstrument,
    FactorDataset,
    GranularCertificate,
    GridEnergyMix,
    GridFactor,
    HourlyIntensity,
    HourlyMeterReading,
)
from emissions.selectors import inventory_summary
from reporting.generation import report_generate
from reporting.models import Report
from reporting.reports.datapoints import report_content_build
from reporting.reports.hourly_scope2 import TITLE
from tests.factories import GridZoneFactory, SiteFactory
from tests.reporting.report_helpers import report_generated, report_json, report_values

DAY = datetime(2026, 6, 1, tzinfo=UTC)
SHEET = "Scope 2 hourly (revision)"


@pytest.fixture
def hourly_org(org_a):
    de = GridZoneFactory(code="DE")
    grid = FactorDataset.objects.create(name="grid", version="1", title="t", source="t", licence="t")
    for kind, value in [(FactorKind.LOCATION, 300.0), (FactorKind.RESIDUAL_MIX, 400.0)]:
        GridFactor.objects.create(
            dataset=grid, zone=de, kind=kind, year=2026, intensity_g_per_kwh=value, source="t", licence="t"
        )
    GridEnergyMix.objects.create(
        dataset=grid, zone=de, year=2026, fossil_share_pct=50, nuclear_share_pct=10, renewable_share_pct=40,
        source="t", licence="t",
    )  # fmt: skip
    lab = SiteFactory(organization=org_a, zone=de, slug="lab", name="Lab")
    for h in range(24):
        hour = DAY + timedelta(hours=h)
        HourlyMeterReading.objects.create(site=lab, hour_start=hour, energy_kwh=10.0)
        if 6 <= h < 18:
            GranularCertificate.objects.create(
                organization=org_a, certificate_id=f"pv-{h}", zone=de, hour_start=hour, energy_kwh=20.0,
                energy_source="solar",
            )  # fmt: skip
        else:
            HourlyIntensity.objects.create(
                dataset=grid, zone=de, hour_start=hour, intensity_g_per_kwh=100.0, carbon_free_share_pct=20
            )
    EnergyInstrument.objects.create(
        organization=org_a, instrument_id="go-2026", kind=InstrumentKind.GO, zone=de, vintage_start=date(2026, 1, 1),
        vintage_end=date(2026, 12, 31), energy_mwh=5.0, bundled=False,
    )  # fmt: skip
    return org_a


def _section(body: dict) -> dict:
    """The JSON section's rows by ref: (hourly, inventory)."""
    return {row["ref"]: (row["hourly"], row["inventory"]) for row in body["hourly_scope2"]["rows"]}


def _file(report: Report, file_format: str) -> bytes:
    return bytes(report.files.get(file_format=file_format).content)


def _csv_section(report: Report) -> dict:
    rows = csv.DictReader(io.StringIO(_file(report, "csv").decode("utf-8-sig")))
    return {row["ref"]: row for row in rows if row["section"] == "scope2_hourly"}


def _pdf_text(report: Report) -> str:
    reader = PdfReader(io.BytesIO(_file(report, "pdf")))
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


@pytest.mark.django_db
def test_the_hourly_section_is_computed_by_hand_beside_the_inventory_figures(hourly_org):
    report = report_generated(hourly_org, "2026-06")
    body = report_json(report)
    section = _section(body)
    assert body["hourly_scope2"]["title"] == TITLE
    assert section["S2H.market"] == (pytest.approx(0.048), 0.0)  # hourly 48 kg beside the inventory's 0
    assert section["S2H.location"] == (pytest.approx(0.048), pytest.approx(0.072))
    assert section["S2H.load"] == (pytest.approx(0.24), None)
    assert section["S2H.matched"] == (pytest.approx(0.12), None)  # 120 kWh, in MWh
    assert section["S2H.cfe"] == (pytest.approx(60.0), None)
    assert section["S2H.profiled_hours"] == (0, None)
    assert section["S2H.hours_without_hourly_factor"] == (12, None)
    assert section["S2H.annual_instruments"] == (pytest.approx(5.0), None)
    assert section["S2H.site.lab.market"] == (pytest.approx(0.048), 0.0)
    assert section["S2H.site.lab.location"] == (pytest.approx(0.048), pytest.approx(0.072))
    assert section["S2H.site.lab.cfe"] == (pytest.approx(60.0), None)
    # The inventory's Scope 2 is the 2015 method's, unchanged: the section's inventory column is E1-6.49a/b.
    values = report_values(body)
    summary = inventory_summary(calculation=report.calculation)
    assert values["E1-6.49a"] == pytest.approx(0.072) == pytest.approx(summary["scope_2_location_kg"] / 1000)
    assert values["E1-6.49b"] == 0.0 == summary["scope_2_market_kg"]
    assert not any(ref.startswith("S2H") for ref in values)  # never an ESRS datapoint or management row
    assert all("xbrl_concept" not in row for row in body["hourly_scope2"]["rows"])

    rows = _csv_section(report)
    assert rows["title"]["label"] == TITLE
    assert (rows["S2H.market"]["value"], rows["S2H.market.inventory"]["value"]) == ("0.048000", "0.000000")
    assert (rows["S2H.location"]["value"], rows["S2H.location.inventory"]["value"]) == ("0.048000", "0.072000")
    assert rows["S2H.matched"]["value"] == "0.120000" and rows["S2H.cfe"]["value"] == "60.0000"
    assert rows["S2H.hours_without_hourly_factor"]["value"] == "12" and rows["S2H.annual_instruments"]["unit"] == "MWh"
    assert all(row["xbrl_concept"] == "" for row in rows.values())

    sheet = load_workbook(io.BytesIO(_file(report, "xlsx")))[SHEET]
    cells = {row[0]: row for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert cells["title"][1] == TITLE
    assert cells["S2H.market"][2:5] == ("tCO2e", pytest.approx(0.048), 0.0)
    assert cells["S2H.cfe"][3] == pytest.approx(60.0) and cells["S2H.site.lab.location"][4] == pytest.approx(0.072)

    text = _pdf_text(report)
    assert TITLE in text
    for expected in ("S2H.market", "0.048", "0.072", "0.120", "60.00", "5.000"):
        assert expected in text, expected


@pytest.mark.django_db
def test_the_inline_xbrl_shows_the_section_as_untagged_text(hourly_org):
    report = report_generated(hourly_org, "2026-06")
    root = ET.fromstring(_file(report, "xhtml"))  # noqa: S314 -- our own generated file, not untrusted input
    xhtml = "{http://www.w3.org/1999/xhtml}"
    body = list(root.find(f"{xhtml}body"))
    [heading] = [i for i, element in enumerate(body) if element.tag == f"{xhtml}h2" and element.text == TITLE]
    table = next(element for element in body[heading:] if element.tag == f"{xhtml}table")
    assert not [element for element in table.iter() if element.tag.startswith("{http://www.xbrl.org/2013/inlineXBRL}")]
    cells = {row[0].text: [cell.text for cell in row] for row in table if row[0].text != "Ref"}
    assert cells["S2H.market"][3:5] == ["0.048000", "0.000000"]
    assert cells["S2H.cfe"][3] == "60.0000"
    assert "S2H" not in " ".join(element.get("name", "") for element in root.iter())


@pytest.mark.django_db
def test_regenerating_after_meter_data_changes_shows_the_same_hourly_figures(hourly_org):
    report = report_generated(hourly_org, "2026-06")
    before = {file_format: _file(report, file_format) for file_format in ("csv", "json", "pdf", "xhtml")}
    # New meter data for the same day, and no more certificates: a new report would see 480 kWh at 400 g.
    HourlyMeterReading.objects.filter(site__slug="lab").update(energy_kwh=20.0)
    GranularCertificate.objects.filter(organization=hourly_org).delete()
    report = report_generate(report=report)
    assert report.status == Report.Status.DONE, report.error
    for file_format, data in before.items():
        assert _file(report, file_format) == data, file_format
    assert _section(report_json(report))["S2H.market"] == (pytest.approx(0.048), 0.0)
    fresh = _section(report_json(report_generated(hourly_org, "2026-06")))
    assert fresh["S2H.market"][0] == pytest.approx(0.192)  # 480 kWh at 400 g: the new data, in a new report only
    assert fresh["S2H.matched"][0] == 0.0


@pytest.mark.django_db
def test_a_report_pinned_before_the_snapshot_existed_takes_it_at_its_next_generation(hourly_org):
    report = report_generated(hourly_org, "2026-06")
    Report.objects.filter(pk=report.pk).update(hourly_scope2=None)
    report.refresh_from_db()
    content = report_content_build(report=report)
    assert content.hourly_scope2 is None and content.as_dict()["hourly_scope2"] is None  # built without it
    report = report_generate(report=report)
    assert report.status == Report.Status.DONE, report.error
    assert Report.objects.get(pk=report.pk).hourly_scope2["sites"][0]["slug"] == "lab"
    assert _section(report_json(report))["S2H.market"] == (pytest.approx(0.048), 0.0)


@pytest.mark.django_db
def test_a_24_7_score_without_any_carbon_free_share_is_unknown_never_0(org_a):
    fr = GridZoneFactory(code="FR", name="France", country_iso3="FRA")
    grid = FactorDataset.objects.create(name="grid", version="1", title="t", source="t", licence="t")
    GridFactor.objects.create(
        dataset=grid, zone=fr, kind=FactorKind.LOCATION, year=2026, intensity_g_per_kwh=60.0, source="t", licence="t"
    )  # no generation mix and no hourly carbon-free share: the hours' carbon-free supply is unknown
    paris = SiteFactory(organization=org_a, zone=fr, slug="paris", name="Paris")
    for h in range(24):
        HourlyMeterReading.objects.create(site=paris, hour_start=DAY + timedelta(hours=h), energy_kwh=10.0)
    report = report_generated(org_a, "2026-06")
    body = report_json(report)
    section = _section(body)
    assert section["S2H.cfe"] == ("unknown", None) and section["S2H.site.paris.cfe"] == ("unknown", None)
    assert section["S2H.market"][0] == pytest.approx(240 * 0.060 / 1000)  # no residual mix: the location factor
    assert Report.objects.get(pk=report.pk).hourly_scope2["cfe_score"] is None
    rows = _csv_section(report)
    assert rows["S2H.cfe"]["value"] == rows["S2H.site.paris.cfe"]["value"] == "unknown"
    sheet = load_workbook(io.BytesIO(_file(report, "xlsx")))[SHEET]
    cells = {row[0]: row for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert cells["S2H.cfe"][3] == "unknown"
    text = _pdf_text(report)
    assert "24/7 carbon-free energy score % unknown" in text
    assert "unknown" in _file(report, "xhtml").decode() and json.dumps(body).count('"hourly": "unknown"') == 2


@pytest.mark.django_db
def test_monthly_readings_are_profiled_and_the_annual_go_is_not_used(small_org):
    """small_org (tests/reporting/conftest.py): lab's 9,000 kWh of 2025-Q1 spread flat over its 2,160 hours,
    yearly factors only, no granular certificate: location 9,000 × 300 g = 2.7 t (as the inventory), market
    9,000 × 400 g = 3.6 t beside the inventory's 2.8 t (its 2 MWh GO at 0 g), 24/7 score the mix's 60 %."""
    section = _section(report_json(report_generated(small_org)))
    assert section["S2H.location"] == (pytest.approx(2.7), pytest.approx(2.7))
    assert section["S2H.market"] == (pytest.approx(3.6), pytest.approx(2.8))
    assert section["S2H.profiled_hours"] == (2160, None) and section["S2H.hours_without_hourly_factor"] == (2160, None)
    assert section["S2H.cfe"] == (pytest.approx(60.0), None)
    assert section["S2H.annual_instruments"] == (pytest.approx(2.0), None)
    assert "S2H.site.colo.market" not in section  # the colocation site does not buy its electricity
