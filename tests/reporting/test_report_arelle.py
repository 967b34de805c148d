"""Every generated inline XBRL file passes Arelle, the reference XBRL processor, offline.

Arelle (``arelle-release``) validates XBRL 2.1, Inline XBRL 1.1 (with the XHTML schema), the Units Registry,
dimensions and Calculation 1.1 (``calcs="c11r"``: rounded values) against ``tests/reporting/xbrl/esrs-stub``:
a test taxonomy package of our own that declares exactly the ESRS E1 concepts we tag, with the names,
types and period types read in EFRAG's ESRS Set 1 taxonomy (``esrs_cor.xsd``, 2023-12-22), plus the
E1-5/E1-6 summations and the Scope 3 category hypercube. Negative controls prove each check can fail.
"""

from __future__ import annotations

import json
import re
import zipfile
from datetime import date
from pathlib import Path

import pytest

from emissions.models import FuelUse, ProviderCarbon
from reporting.models import Report
from reporting.reports.concepts import concept_map_load
from reporting.services import report_create, report_generate, report_issue

STUB = Path(__file__).resolve().parent / "xbrl" / "esrs-stub"
PROBLEMS = {"error", "warning", "inconsistency"}


@pytest.fixture(scope="module")
def stub_package(tmp_path_factory) -> Path:
    """The stub folder as the ZIP taxonomy package Arelle loads (one top-level folder holding META-INF)."""
    path = tmp_path_factory.mktemp("xbrl") / "esrs-stub.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for file in sorted(STUB.rglob("*")):
            if file.is_file():
                archive.write(file, Path("esrs-stub") / file.relative_to(STUB))
    return path


def arelle_problems(path: Path, package: Path) -> list[tuple[str, str]]:
    """(code, message) of every error, warning and calculation inconsistency Arelle reports for ``path``."""
    from arelle.api.Session import Session
    from arelle.RuntimeOptions import RuntimeOptions

    options = RuntimeOptions(
        entrypointFile=str(path),
        packages=[str(package)],
        validate=True,
        utrValidate=True,
        internetConnectivity="offline",
        calcs="c11r",
        keepOpen=True,
    )
    with Session() as session:
        session.run(options, logFileName="logToBuffer")
        messages = json.loads(session.get_logs("json"))["log"]
    return [(m["code"], m["message"]["text"]) for m in messages if m["level"].lower() in PROBLEMS]


def _xhtml(organization, label: str, tmp_path: Path) -> Path:
    report = report_generate(report=report_create(organization=organization, period_label=label, enqueue=False))
    assert report.status == Report.Status.DONE, report.error
    path = tmp_path / f"{organization.slug}-{label}-{report.pk}.xhtml"
    path.write_bytes(bytes(report.files.get(file_format="xhtml").content))
    return path


@pytest.mark.django_db
def test_quarterly_annual_credits_and_restated_reports_pass(small_org, stub_package, tmp_path):
    quarter = _xhtml(small_org, "2025-Q1", tmp_path)
    report_issue(report=Report.objects.get(pk=int(quarter.stem.rsplit("-", 1)[1])))
    small_org.lei = "5493001KJTIIGC8Y1R12"  # with an LEI, it is the entity identifier (ISO 17442 scheme)
    small_org.save(update_fields=["lei"])
    annual = _xhtml(small_org, "2025", tmp_path)
    assert '<xbrli:identifier scheme="http://standards.iso.org/iso/17442">5493001KJTIIGC8Y1R12<' in annual.read_text()
    lab = small_org.sites.get(slug="lab")
    FuelUse.objects.create(
        organization=small_org, site=lab, used_on=date(2025, 2, 2), fuel="diesel", quantity=40, unit="litre"
    )
    # The cloud provider's own figures for March: market-based lower than location-based.
    march = {"provider": "aws", "billing_period": date(2025, 3, 1), "source_row_key": "aws-2025-03"}
    ProviderCarbon.objects.create(
        organization=small_org, total_location_kg_co2e=40.0, total_market_kg_co2e=5.0, **march
    )
    restated = _xhtml(small_org, "2025-Q1", tmp_path)
    assert "Restatements" in restated.read_text()
    for path in (quarter, annual, restated):
        text = path.read_text()
        assert "AmountOfCarbonCreditsOutsideValueChain" in text or path is restated
        assert arelle_problems(path, stub_package) == [], path.name


def test_the_stub_declares_exactly_the_concepts_we_tag():
    declared = set(
        re.findall(r'name="(\w+)"', (STUB / "xbrl.efrag.org/taxonomy/esrs/2023-12-22/common/esrs_cor.xsd").read_text())
    )
    concepts = concept_map_load().concepts
    tagged = {c.concept for c in concepts if c.concept} | {c.member for c in concepts if c.member}
    tagged |= {c.axis for c in concepts if c.axis}
    structural = {"Scope3GHGEmissionsByCategoryTable", "Scope3GHGEmissionsCategoryGHGProtocolMember"}
    assert declared - structural == tagged


@pytest.mark.django_db
def test_the_demo_organizations_annual_report_passes(stub_package, tmp_path):
    """Cloud providers with their own figures, instruments, idle capacity: the richest ledger we have."""
    from frontend.demo import demo_organization_seed

    organization = demo_organization_seed()
    for label in ("2025", "2025-Q4"):
        path = _xhtml(organization, label, tmp_path)
        assert arelle_problems(path, stub_package) == [], label


def _mutated(path: Path, pattern: str, replacement: str) -> Path:
    text = path.read_text()
    changed, count = re.subn(pattern, replacement, text, count=1)
    assert count == 1, pattern
    target = path.with_name("mutated-" + path.name)
    target.write_text(changed)
    return target


@pytest.mark.parametrize(
    ("pattern", "replacement", "code"),
    [
        # tCO2e on an energy fact: the Units Registry ties MWh to energyItemType.
        (
            r'(name="esrs:EnergyConsumptionRelatedToOwnOperations" contextRef="c-period" unitRef=)"u-MWh"',
            r'\1"u-tCO2e"',
            "utre:error-NumericFactUtrInvalid",
        ),
        # An instant period on a duration concept.
        (
            r'<xbrli:context id="c-period"><xbrli:entity>(.*?)</xbrli:entity><xbrli:period>.*?</xbrli:period>',
            r'<xbrli:context id="c-period"><xbrli:entity>\1</xbrli:entity><xbrli:period><xbrli:instant>2025-03-31'
            r"</xbrli:instant></xbrli:period>",
            "xbrl.4.7.2:contextPeriodType",
        ),
        # A total that is not the sum of its scopes (Calculation 1.1).
        (
            r'(name="esrs:LocationBasedGreenhouseGasEmissions" contextRef="c-period"[^>]*>)[\d,.]+<',
            r"\g<1>999,999.000000<",
            "calc11e:inconsistentCalculationUsingRounding",
        ),
        # A concept the taxonomy does not declare.
        (
            r'name="esrs:GrossScope1GreenhouseGasEmissions" contextRef="c-period"',
            'name="esrs:GrossScope1GreenhouseGasEmissionsTotal" contextRef="c-period"',
            "ix11.12.1.2:missingReferences",
        ),
    ],
    ids=["unit", "period-type", "calculation", "undeclared-concept"],
)
@pytest.mark.django_db
def test_negative_controls_fail(pattern, replacement, code, small_org, stub_package, tmp_path):
    path = _mutated(_xhtml(small_org, "2025-Q1", tmp_path), pattern, replacement)
    codes = [found for found, _ in arelle_problems(path, stub_package)]
    assert any(found.startswith(code) for found in codes), codes
