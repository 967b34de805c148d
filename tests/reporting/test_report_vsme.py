"""VSME B3 export and taxonomy selection.

The demo organization's 2025-Q1 VSME B3 inline XBRL passes Arelle (offline, real) against
``tests/reporting/xbrl/vsme-stub``: a test package declaring exactly the VSME concepts the export tags, with
the names, types and the energy breakdown hypercube of EFRAG's VSME taxonomy 2025-07-30. Its figures are
checked against the inventory of the pinned calculation (emissions.selectors.inventory_summary) and the
turnover recorded for the period, computed here independently of the report.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import pytest
from django.db.models import Sum
from openpyxl import load_workbook

from emissions.models import NetRevenue
from emissions.selectors import inventory_summary
from reporting.models import Report
from reporting.reports.concepts import (
    DEFAULT_TAXONOMY,
    VSME_MAP_PATH,
    concept_map_load,
    esrs_taxonomies,
)
from reporting.services import report_create, report_generate
from tests.reporting.test_report_arelle import arelle_problems

STUB = Path(__file__).resolve().parent / "xbrl" / "vsme-stub"
KG_PER_T = 1000.0


@pytest.fixture(scope="module")
def vsme_package(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("xbrl") / "vsme-stub.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for file in sorted(STUB.rglob("*")):
            if file.is_file():
                archive.write(file, Path("vsme-stub") / file.relative_to(STUB))
    return path


@pytest.fixture
def demo_report(db):
    from frontend.demo import demo_organization_seed

    organization = demo_organization_seed()
    report = report_generate(report=report_create(organization=organization, period_label="2025-Q1", enqueue=False))
    assert report.status == Report.Status.DONE, report.error
    return report


def _facts(xhtml: str) -> dict[tuple[str, str], float]:
    """(concept local name, context id) → value of every ix:nonFraction."""
    facts = {}
    for name, context, sign, text in re.findall(
        r'<ix:nonFraction name="vsme:(\w+)" contextRef="([\w-]+)"[^>]*?( sign="-")?>([\d,.]+)</ix:nonFraction>', xhtml
    ):
        facts[(name, context)] = (-1 if sign else 1) * float(text.replace(",", ""))
    return facts


@pytest.mark.django_db
def test_demo_vsme_export_passes_arelle_and_equals_the_inventory(demo_report, vsme_package, tmp_path):
    path = tmp_path / "demo-vsme.xhtml"
    xhtml = bytes(demo_report.files.get(file_format="vsme-xhtml").content).decode()
    path.write_text(xhtml)
    assert arelle_problems(path, vsme_package) == []

    facts = _facts(xhtml)
    summary = inventory_summary(calculation=demo_report.calculation)
    scope_3_kg = sum(summary["scope_3_kg_by_category"].values())
    expected_t = {
        "GrossScope1GreenhouseGasEmissions": summary["scope_1_kg"],
        "GrossLocationBasedScope2GreenhouseGasEmissions": summary["scope_2_location_kg"],
        "GrossMarketBasedScope2GreenhouseGasEmissions": summary["scope_2_market_kg"],
        "TotalGrossLocationBasedScope1AndScope2GHGEmissions": summary["scope_1_kg"] + summary["scope_2_location_kg"],
        "TotalGrossMarketBasedScope1AndScope2GHGEmissions": summary["scope_1_kg"] + summary["scope_2_market_kg"],
        "GrossScope3GreenhouseGasEmissions": scope_3_kg,
        "TotalGrossLocationBasedGHGEmissions": summary["total_location_kg"],
        "TotalGrossMarketBasedGHGEmissions": summary["total_market_kg"],
    }
    for concept, kg in expected_t.items():
        assert facts[(concept, "c-period")] == pytest.approx(kg / KG_PER_T, abs=2e-6), concept
    assert summary["scope_1_kg"] + summary["scope_2_location_kg"] > 0  # the demo has figures to compare

    # Electricity equals the inventory's own energy; the renewable split adds up to it; total = electricity + fuels.
    electricity = facts[("EnergyConsumptionFromElectricity", "c-period")]
    assert electricity == pytest.approx(summary["energy_kwh"] / 1000, abs=2e-6)
    split = facts[("EnergyConsumptionFromElectricity", "c-period-RenewableEnergyMember")]
    split += facts[("EnergyConsumptionFromElectricity", "c-period-NonRenewableEnergyMember")]
    assert split == pytest.approx(electricity, abs=2e-6)
    fuels = facts[("EnergyConsumptionFromFuels", "c-period")]
    assert facts[("TotalEnergyConsumption", "c-period")] == pytest.approx(electricity + fuels, abs=2e-6)

    # Turnover and the intensities per EUR (B3 §31), where turnover is recorded for the period.
    turnover = NetRevenue.objects.filter(
        organization=demo_report.organization,
        period_start__gte=demo_report.period_start,
        period_end__lte=demo_report.period_end,
    ).aggregate(total=Sum("amount"))["total"]
    if turnover:
        assert facts[("Turnover", "c-period")] == pytest.approx(float(turnover), abs=0.01)
        location = facts[("TotalGrossLocationBasedGHGEmissions", "c-period")]
        intensity = facts[("TotalLocationBasedGreenhouseGasEmissionsIntensityValue", "c-period")]
        assert intensity == pytest.approx(location / float(turnover), rel=1e-6, abs=1e-12)
    else:
        assert ("TotalLocationBasedGreenhouseGasEmissionsIntensityValue", "c-period") not in facts


@pytest.mark.django_db
def test_vsme_negative_control_fails(demo_report, vsme_package, tmp_path):
    """The stub really checks: tCO2e on an energy fact breaks the Units Registry (energyItemType is MWh)."""
    xhtml = bytes(demo_report.files.get(file_format="vsme-xhtml").content).decode()
    mutated = xhtml.replace(
        'name="vsme:TotalEnergyConsumption" contextRef="c-period" unitRef="u-MWh"',
        'name="vsme:TotalEnergyConsumption" contextRef="c-period" unitRef="u-tCO2e"',
        1,
    )
    assert mutated != xhtml
    path = tmp_path / "mutated.xhtml"
    path.write_text(mutated)
    codes = [code for code, _ in arelle_problems(path, vsme_package)]
    assert any(code.startswith("utre:error-NumericFactUtrInvalid") for code in codes), codes


@pytest.mark.django_db
def test_vsme_template_has_the_b3_fields_as_named_ranges(demo_report):
    workbook = load_workbook(io.BytesIO(bytes(demo_report.files.get(file_format="vsme").content)))
    sheet = workbook["B3 Energy and GHG"]
    xhtml = bytes(demo_report.files.get(file_format="vsme-xhtml").content).decode()
    facts = _facts(xhtml)
    names = {name: defined.attr_text for name, defined in workbook.defined_names.items()}
    for concept in concept_map_load(VSME_MAP_PATH).concepts:
        assert concept.template_name in names, concept.template_name
        _, cell = names[concept.template_name].split("!")
        value = sheet[cell.replace("$", "")].value
        context = f"c-period-{concept.member}" if concept.member else "c-period"
        if (concept.concept, context) in facts:
            assert value == pytest.approx(facts[(concept.concept, context)], abs=1e-6), concept.ref
    for required in (
        "TotalEnergyConsumption",
        "GrossScope1GreenhouseGasEmissions",
        "GrossLocationBasedScope2GreenhouseGasEmissions",
        "GrossMarketBasedScope2GreenhouseGasEmissions",
    ):
        assert required in names


def test_the_vsme_stub_declares_exactly_the_concepts_we_tag():
    schema = (STUB / "xbrl.efrag.org/taxonomy/vsme/2025-07-30/vsme-cor-stub.xsd").read_text()
    declared = set(re.findall(r'name="(\w+)"', schema))
    concepts = concept_map_load(VSME_MAP_PATH).concepts
    tagged = {c.concept for c in concepts} | {c.member for c in concepts if c.member}
    tagged |= {c.axis for c in concepts if c.axis}
    structural = {"BreakdownOfEnergyConsumptionTable", "TotalRenewableAndNonRenewableEnergyMember"}
    assert declared - structural == tagged


def test_the_registry_lists_the_set_1_map_as_default():
    maps = esrs_taxonomies()
    assert next(iter(maps)) == DEFAULT_TAXONOMY == "esrs-set1-2023-12-22"
    assert maps[DEFAULT_TAXONOMY].namespace == "https://xbrl.efrag.org/taxonomy/esrs/2023-12-22"
    assert Report._meta.get_field("taxonomy").default == DEFAULT_TAXONOMY


@pytest.mark.django_db
def test_taxonomy_selection_persists_and_an_unknown_one_is_refused(client, org_a, alice):
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(alice)
    response = api.post("/api/v1/reports/", {"period": "2025-Q1", "taxonomy": "esrs-amended-2099"}, format="json")
    assert response.status_code == 400
    assert "esrs-set1-2023-12-22" in str(response.json()["taxonomy"])
    assert not Report.objects.filter(organization=org_a).exists()
    with pytest.raises(ValueError, match="Unknown taxonomy"):
        report_create(organization=org_a, period_label="2025-Q1", taxonomy="nope", enqueue=False)

    response = api.post("/api/v1/reports/", {"period": "2025-Q1", "taxonomy": DEFAULT_TAXONOMY}, format="json")
    assert response.status_code == 202, response.content
    assert response.json()["taxonomy"] == DEFAULT_TAXONOMY
    assert Report.objects.get(pk=response.json()["id"]).taxonomy == DEFAULT_TAXONOMY

    client.force_login(alice)
    page = client.get("/reports/")
    assert b'name="taxonomy"' in page.content and b"esrs-set1-2023-12-22" in page.content
    refused = client.post("/reports/", {"period": "2025-Q2", "taxonomy": "nope"})
    assert refused.status_code == 200 and b"nope" in refused.content
    client.post("/reports/", {"period": "2025-Q2", "taxonomy": DEFAULT_TAXONOMY})
    assert Report.objects.get(organization=org_a, period_label="2025-Q2").taxonomy == DEFAULT_TAXONOMY
