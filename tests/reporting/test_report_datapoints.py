"""Datapoints of the small organization against hand-computed values (see conftest.py)."""

import csv
import io
import json
from datetime import date

import pytest
from django.core.management import call_command

from emissions.models import Calculation
from emissions.periods import period_parse
from emissions.selectors import inventory_summary
from emissions.services.ledger import inventory_ensure
from reporting.models import Report
from reporting.services import report_create, report_generate, report_issue
from tests.factories import RunFactory
from tests.reporting.report_helpers import report_generated, report_json, report_values


@pytest.mark.django_db
def test_e1_6_values_are_the_hand_computed_ones(small_org):
    values = report_values(report_json(report_generated(small_org)))
    expected = {
        "E1-6.48a": 2.52472,
        "E1-6.48a-sc": 0.26922,
        "E1-6.48a-fu": 2.2555,
        "E1-6.49a": 2.7,
        "E1-6.49b": 2.8,
        "E1-6.51-c1": 0.096,
        "E1-6.51-c1-dc": 0.096,
        "E1-6.51-c1-cloud": 0.036,
        "E1-6.51-c1-colo": 0.06,
        "E1-6.51-c2": 1.6,
        "E1-6.51-c3": 0.63,
        "E1-6.51-c3a": 0.0,
        "E1-6.51-c3b": 0.45,
        "E1-6.51-c3c": 0.18,
        "E1-6.51-c5": 0.0,
        "E1-6.51": 2.326,
        "E1-6.52a": 7.55072,
        "E1-6.52b": 7.65072,
        "E1-6.55": 1_000_000.0,
        "E1-6.53-lb": 7.55072,
        "E1-6.53-mb": 7.65072,
        "E1-6.AR45d": 22.2222,
        "E1-6.AR45d-b": 0.0,
        "E1-6.AR45d-u": 22.2222,
        "E1-6.AR46g": 68.7876,
        "E1-7.59a": 5.0,
        "E1-7.AR-removal": 40.0,
        "E1-7.AR-reduction": 60.0,
    }
    for ref, value in expected.items():
        assert values[ref] == pytest.approx(value, abs=1e-6), ref
    assert "E1-6.51-c4" not in values  # insignificant categories appear only when non-zero


@pytest.mark.django_db
def test_e1_5_energy_mix_from_instruments_and_zone_mix(small_org):
    values = report_values(report_json(report_generated(small_org)))
    fuel_kwh = 269.22 / 0.26832
    # Lab: 2,000 kWh GO (renewable) + 7,000 kWh by DE mix 40/10/50; colo 1,000 kWh by FR mix 10/70/20; fuel fossil.
    fossil, nuclear, renewable = 2800 + 100 + fuel_kwh, 700 + 700, 2000 + 3500 + 200
    total = 10_000 + fuel_kwh
    assert values["E1-5.37"] == pytest.approx(total / 1000, abs=1e-6)
    assert values["E1-5.37-el"] == pytest.approx(10.0)
    assert values["E1-5.37a"] == pytest.approx(fossil / 1000, abs=1e-6)
    assert values["E1-5.37b"] == pytest.approx(nuclear / 1000, abs=1e-6)
    assert values["E1-5.37c"] == pytest.approx(renewable / 1000, abs=1e-6)
    assert values["E1-5.37a"] + values["E1-5.37b"] + values["E1-5.37c"] == pytest.approx(values["E1-5.37"], abs=3e-6)
    assert values["E1-5.AR34-renewable"] == pytest.approx(round(100 * renewable / total, 4))
    assert values["E1-5.VC"] == pytest.approx(0.12)  # cloud: 100 kWh IT × PUE 1.2, value chain only


@pytest.mark.django_db
def test_json_totals_equal_the_inventory_to_the_gram(small_org):
    report = report_generated(small_org)
    body = report_json(report)
    summary = inventory_summary(calculation=report.calculation)
    totals = body["totals_kg"]
    for key in ("scope_1_kg", "scope_2_location_kg", "scope_2_market_kg", "total_location_kg", "total_market_kg"):
        assert abs(totals[key] - summary[key]) < 0.0005, key
    for category, kg in summary["scope_3_kg_by_category"].items():
        assert abs(totals["scope_3_kg_by_category"][category] - kg) < 0.0005
    values = report_values(body)
    assert abs(values["E1-6.52a"] * 1000 - summary["total_location_kg"]) < 0.0005
    assert abs(values["E1-6.52b"] * 1000 - summary["total_market_kg"]) < 0.0005
    item = next(row for row in body["datapoints"] if row["ref"] == "E1-6.52a")
    assert item["unit"] == "tCO2e" and item["xbrl_concept"] == "esrs:LocationBasedGreenhouseGasEmissions"


@pytest.mark.django_db
def test_totals_are_sums_of_parts_and_never_mix_location_and_market(small_org):
    values = report_values(report_json(report_generated(small_org)))
    scope_3 = values["E1-6.51"]
    parts = sum(values[f"E1-6.51-c{c}"] for c in (1, 2, 3, 5))
    assert scope_3 == pytest.approx(parts, abs=1e-5)
    assert values["E1-6.48a"] == pytest.approx(values["E1-6.48a-sc"] + values["E1-6.48a-fu"], abs=1e-5)
    assert values["E1-6.51-c3"] == pytest.approx(
        values["E1-6.51-c3a"] + values["E1-6.51-c3b"] + values["E1-6.51-c3c"], abs=1e-5
    )
    assert values["E1-6.52a"] == pytest.approx(values["E1-6.48a"] + values["E1-6.49a"] + scope_3, abs=1e-5)
    assert values["E1-6.52b"] == pytest.approx(values["E1-6.48a"] + values["E1-6.49b"] + scope_3, abs=1e-5)
    assert values["E1-6.52a"] - values["E1-6.52b"] == pytest.approx(values["E1-6.49a"] - values["E1-6.49b"])
    # Credits are reported apart and never netted from the gross totals.
    assert values["E1-7.59a"] == 5.0 and values["E1-6.52a"] == pytest.approx(7.55072)


@pytest.mark.django_db
def test_quarters_sum_to_the_year(small_org):
    """The Q1..Q4 reports add up to the annual report (the ledger's quarters sum to its year)."""
    year = report_values(report_json(report_generated(small_org, "2025")))
    quarters = [report_values(report_json(report_generated(small_org, f"2025-Q{q}"))) for q in range(1, 5)]
    for ref in ("E1-6.48a", "E1-6.49a", "E1-6.49b", "E1-6.51", "E1-6.52a", "E1-6.52b", "E1-5.37", "E1-7.59a"):
        assert sum(q[ref] for q in quarters) == pytest.approx(year[ref], abs=1e-5), ref


@pytest.mark.django_db
def test_interim_report_has_ytd_and_comparison_columns(small_org):
    RunFactory(organization=small_org, external_id="old", site=small_org.sites.get(slug="lab"))  # Feb 2025
    body = report_json(report_generated(small_org, "2025-Q2"))
    assert body["meta"]["interim"] is True
    assert body["meta"]["year_to_date"] == {"start": "2025-01-01", "end": "2025-06-30"}
    row = next(r for r in body["datapoints"] if r["ref"] == "E1-6.49a")
    assert row["value"] == 0.0 and row["year_to_date"] == pytest.approx(2.7)
    assert row["previous_period"] is None  # no 2024 data: no comparison
    annual = report_json(report_generated(small_org, "2025"))
    assert annual["meta"]["interim"] is False
    assert annual["datapoints"][0]["year_to_date"] is None


@pytest.mark.django_db
def test_comparison_with_the_same_period_last_year(small_org):
    from datetime import date

    from emissions.models import MeterReading

    lab = small_org.sites.get(slug="lab")
    MeterReading.objects.create(site=lab, period_start=date(2024, 1, 1), period_end=date(2024, 3, 31), energy_kwh=18000)
    body = report_json(report_generated(small_org, "2025-Q1"))
    row = next(r for r in body["datapoints"] if r["ref"] == "E1-6.49a")
    # 2024 has no DE factor of its own: the 2025 one is used (flagged provisional for 2024).
    assert row["previous_period"] == pytest.approx(5.4) and row["change_pct"] == pytest.approx(-50.0)


@pytest.mark.django_db
def test_pinned_report_regenerates_identically_after_new_data(small_org):
    report = report_generated(small_org)
    before = {f.file_format: bytes(f.content) for f in report.files.all()}
    RunFactory(organization=small_org, external_id="late", site=small_org.sites.get(slug="lab"), energy_kwh=50)
    newer = inventory_ensure(organization=small_org, period=period_parse("2025-Q1"))
    assert newer.pk != report.calculation_id
    report_generate(report=Report.objects.get(pk=report.pk))
    after = {f.file_format: bytes(f.content) for f in report.files.all()}
    for file_format in ("csv", "json", "xhtml"):
        assert after[file_format] == before[file_format], file_format
    # A new report reads the new calculation and lists nothing restated for Q1 totals (metered site).
    fresh = report_generated(small_org)
    assert fresh.calculation_id == newer.pk
    assert Calculation.objects.get(pk=report.calculation_id).superseded_by_id == newer.pk


@pytest.mark.django_db
def test_restatement_since_the_last_report_is_listed(small_org):
    from emissions.models import FactorDataset, GridFactor

    first = report_issue(report=report_generated(small_org))
    GridFactor.objects.filter(zone__code="DE", kind="location").update(intensity_g_per_kwh=250.0)
    FactorDataset.objects.filter(name="test-grid").update(version="2025.2")  # a new dataset version lands
    body = report_json(report_generated(small_org))
    scope_2 = [line for line in body["restatements"] if line["scope"] == 2]
    assert scope_2 and scope_2[0]["period"] == "2025-Q1"
    assert scope_2[0]["change_location_t"] == pytest.approx(-0.45)
    assert scope_2[0]["reported_in"] == f"report #{first.pk} (period), issued {first.issued_at:%Y-%m-%d}"


@pytest.mark.django_db
def test_methodology_appendix(small_org):
    body = report_json(report_generated(small_org))
    topics = {(row["topic"], row["item"]): row["detail"] for row in body["methodology"]}
    assert topics[("Boundary", "Consolidation approach")].startswith("Operational control")
    assert "Licence: CC-BY-4.0" in topics[("Factor dataset", "test-grid 2025.1")]
    assert topics[("Lifetime", "GPU")] == "5 years (8 units); default 5 years"
    assert ("Estimation tier", "Metered") in topics
    assert any(topic == "GWP" for topic, _ in topics)
    assert any(topic == "Data gap" and "well-to-tank" in detail for (topic, _), detail in topics.items())


@pytest.mark.django_db
def test_management_sheet(small_org):
    body = report_json(report_generated(small_org))
    values = report_values(body)
    assert values["M.rf-additions"] == pytest.approx(1.6)
    # The lab's 8 GPUs (1.6 t over 5 years, 90 days), equal to the roll-forward's amortization; apart, the cloud
    # run's 8 GPU-hours at (150 + 2,500 / 8) kg per GPU over 4 × 8,760 h (issue 24, finding 7): 0.105594 kg.
    assert values["M.embodied-amortized"] == pytest.approx(1.6 * 90 / (5 * 365.25), abs=1e-6)
    assert values["M.embodied-amortized"] == pytest.approx(values["M.rf-amortized"], abs=1e-6)
    assert values["M.embodied-cloud-runs"] == pytest.approx(8 * (150 + 2500 / 8) / (4 * 8760) / 1000, abs=1e-6)
    assert values["M.rf-closing"] == pytest.approx(
        values["M.rf-opening"] + values["M.rf-additions"] - values["M.rf-amortized"] - values["M.rf-written-off"],
        abs=1e-5,
    )
    assert values["M.idle-embodied"] == pytest.approx(100.0)  # no run used the lab's GPUs
    # The cloud run: 36 kg of electricity + 0.105594 kg embodied over one run with 4 GPUs × 2 h.
    assert values["M.sci-run"] == pytest.approx(36_105.594, abs=1e-3)
    assert values["M.sci-gpu-hour"] == pytest.approx(36_105.594 / 8, abs=1e-3)
    assert values["M.team.a-team.location"] == pytest.approx(0.036)
    assert all(row["xbrl_concept"] == "" for row in body["management"])


@pytest.mark.django_db
def test_csv_neutralizes_formulas_in_team_names(small_org):
    small_org.teams.update(name='=HYPERLINK("http://x")')
    report = report_generated(small_org)
    text = bytes(report.files.get(file_format="csv").content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    labels = [row[2] for row in rows if row[1].startswith("M.team.a-team")]
    assert labels == [
        '\'=HYPERLINK("http://x") (team): operational, location-based',
        '\'=HYPERLINK("http://x") (team): operational, market-based',
        '\'=HYPERLINK("http://x") (team): amortized embodied',
    ]
    for row in rows[1:]:
        for cell in row:
            assert not cell.startswith(("=", "+", "@")), cell
            assert not (cell.startswith("-") and not _is_number(cell)), cell


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


@pytest.mark.django_db
def test_command_writes_the_file(small_org, tmp_path):
    target = tmp_path / "q1.json"
    call_command("report", "--org", "org-a", "--period", "2025-Q1", "--format", "json", "-o", str(target))
    body = json.loads(target.read_text())
    assert body["meta"]["period"] == "2025-Q1" and body["datapoints"][0]["ref"] == "E1-5.37"
    target = tmp_path / "q1.csv"
    call_command("report", "--org", "org-a", "--period", "2025-Q1", "--format", "csv", "-o", str(target))
    assert target.read_text(encoding="utf-8-sig").startswith("section,ref,label,unit,value")


@pytest.mark.django_db
def test_command_rejects_bad_input(small_org, tmp_path):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="no organization"):
        call_command("report", "--org", "nope", "--period", "2025", "--format", "csv", "-o", str(tmp_path / "x"))
    with pytest.raises(CommandError, match="not a period"):
        call_command("report", "--org", "org-a", "--period", "last", "--format", "csv", "-o", str(tmp_path / "x"))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1", "+1"),  # a plain number: the spreadsheet reads 1, nothing runs
        ("+1+cmd", "'+1+cmd"),
        ("Eval\r=2*21\rend", "Eval\r'=2*21\rend"),  # a line inside the cell starting with = (issue 17)
        ("a\n@SUM(A1)", "a\n'@SUM(A1)"),
        ("-1+2", "'-1+2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("-12.50", "-12.50"),
        ("Vision", "Vision"),
        (-3.5, -3.5),
    ],
)
def test_cell_safe(value, expected):
    from emissions.tables import cell_safe

    assert cell_safe(value) == expected


@pytest.mark.django_db
def test_command_writes_a_hugging_face_carbon_label(small_org, tmp_path):
    import yaml

    from emissions.choices import RunKind
    from emissions.models import Run

    lab = small_org.sites.get(slug="lab")
    Run.objects.filter(external_id="cloud-1").update(gpu_model="A100")
    project = small_org.projects.get(slug="a-project")
    RunFactory(
        organization=small_org, project=project, external_id="serve", site=lab, kind=RunKind.INFERENCE,
        inferences_count=2000,
    )  # fmt: skip
    target = tmp_path / "card.yaml"
    call_command(
        "report", "--org", "org-a", "--period", "2025-Q1", "--format", "hf_yaml", "--project", "a-project",
        "-o", str(target),
    )  # fmt: skip
    entry = yaml.safe_load(target.read_text())["co2_eq_emissions"]
    # The cloud training run: 120 kWh × 300 g = 36,000 g, no upstream factor for cloud electricity; its 8 GPU-hours'
    # embodied share (150 + 2,500 / 8) kg per GPU over 4 × 8,760 h × 8 = 105.594 g (cloud runs carry one too).
    assert entry["emissions"] == pytest.approx(36_105.594, abs=1e-3)
    # Model-card fields (issue 24, finding 7): GPUs as "N x model", the place as the zone and the cloud region.
    assert entry["training_type"] == "pre-training" and entry["hardware_used"] == "4 x A100"  # the factory run's 4 GPUs
    assert entry["geographical_location"] == "Germany (DE), aws eu-central-1"
    # The inference run at the metered lab: its apportioned electricity (12.5 kWh × 300 g) and its
    # GPU-hours' share of the lab's amortized embodied, per 1k of its 2,000 requests.
    assert entry["inference_g_co2e_per_1k_requests"] > 12.5 * 300 / 2


@pytest.mark.django_db
def test_a_comparative_without_data_is_not_reported_and_a_true_zero_is_zero(small_org):
    """2025 against 2024, where only a 2024 diesel purchase exists: Scope 1 is compared, Scope 2, Scope 3 and
    energy are "not reported" (no value, no change %, no XBRL fact), never 0.000000 with a +903 % change."""
    import xml.etree.ElementTree as ET

    from emissions.models import FuelUse

    lab = small_org.sites.get(slug="lab")
    FuelUse.objects.create(organization=small_org, site=lab, used_on=date(2024, 6, 1), fuel="diesel", quantity=50,
                           unit="litre")  # fmt: skip
    report = report_generate(report=report_create(organization=small_org, period_label="2025", enqueue=False))
    body = json.loads(bytes(report.files.get(file_format="json").content))
    rows = {row["ref"]: row for row in body["datapoints"]}
    assert rows["E1-6.48a"]["previous_period"] == pytest.approx(50 * 2.6922 / 1000, abs=1e-6)  # 2024's diesel
    assert rows["E1-6.48a"]["change_pct"] is not None
    assert rows["E1-6.48a-fu"]["previous_period"] is None  # no refrigerant record in 2024
    assert rows["E1-6.48a-fu"]["value"] == 1.0 * 2255.5 / 1000  # 2025's leak
    for ref in ("E1-6.49a", "E1-6.49b", "E1-6.51", "E1-6.51-c2", "E1-5.37-el", "E1-5.37c", "E1-6.AR45d", "E1-7.59a"):
        assert rows[ref]["previous_period"] is None and rows[ref]["change_pct"] is None, ref
    assert rows["E1-6.52a"]["previous_period"] == rows["E1-6.48a"]["previous_period"]  # 2024: Scope 1 only
    assert rows["E1-5.37"]["previous_period"] == rows["E1-5.37-fu"]["previous_period"] > 0  # 2024: the fuel's energy
    # A true zero of the reported period stays a 0 (no renewable fuel in 2025, with energy data).
    assert rows["E1-5.37c-i"]["value"] == 0.0
    root = ET.fromstring(bytes(report.files.get(file_format="xhtml").content))  # noqa: S314 - our own file
    ix = "{http://www.xbrl.org/2013/inlineXBRL}nonFraction"
    previous = {fact.get("name") for fact in root.iter(ix) if fact.get("contextRef", "").startswith("c-prev")}
    assert "esrs:GrossScope1GreenhouseGasEmissions" in previous
    assert "esrs:GrossLocationBasedScope2GreenhouseGasEmissions" not in previous
    assert "esrs:ConsumptionOfPurchasedOrAcquiredElectricityHeatSteamAndCoolingFromRenewableSources" not in previous
    csv_rows = {
        row[1]: row
        for row in csv.reader(io.StringIO(bytes(report.files.get(file_format="csv").content).decode("utf-8-sig")))
    }
    assert csv_rows["E1-6.49a"][6] == "" and csv_rows["E1-6.48a"][6] != ""  # previous_period column


@pytest.mark.django_db
def test_issued_reports_are_frozen_and_a_correction_is_restated_for_every_figure_shown(small_org):
    """Issued 2025-Q1 (with its 2024-Q1 comparative) and 2025-Q2 (year to date H1); then a corrected fuel
    import adds diesel in 2024-Q1 and 2025-Q1. A new 2025-Q3 report lists the change for each span an issued
    report showed (2025-Q1 period, H1 year to date, 2024-Q1 comparative), the same in all five formats; the
    issued files are byte-identical after a retried generation; a draft never counts as issued."""
    from openpyxl import load_workbook
    from pypdf import PdfReader

    from emissions.models import FuelUse

    lab = small_org.sites.get(slug="lab")

    def diesel(day: date, litres: float) -> None:
        FuelUse.objects.create(organization=small_org, site=lab, used_on=day, fuel="diesel", quantity=litres,
                               unit="litre")  # fmt: skip

    diesel(date(2024, 2, 1), 10)
    q1 = report_issue(report=report_generated(small_org, "2025-Q1"))
    assert q1.comparison_calculation is not None
    q2 = report_issue(report=report_generated(small_org, "2025-Q2"))
    issued_files = {f.file_format: bytes(f.content) for f in q1.files.all()}
    diesel(date(2024, 2, 2), 40)  # the correction: 40 L more in each year's Q1
    diesel(date(2025, 2, 2), 40)
    assert report_generate(report=q1).issued_at is not None  # a retried task
    assert {f.file_format: bytes(f.content) for f in q1.files.all()} == issued_files
    report_generated(small_org, "2025-Q1")  # a draft made after the correction: not issued, never "the last report"

    q3 = report_generated(small_org, "2025-Q3")
    change_t = 40 * 2.6922 / 1000
    lines = [line for line in report_json(q3)["restatements"] if line["scope"] == 1]
    by_period = {line["period"]: line for line in lines}
    assert set(by_period) == {"2025-Q1", "2025-01-01..2025-06-30", "2024-Q1"}
    assert by_period["2025-Q1"]["reported_in"].startswith(f"report #{q1.pk} (period)")
    assert by_period["2025-01-01..2025-06-30"]["reported_in"].startswith(f"report #{q2.pk} (year to date)")
    assert by_period["2024-Q1"]["reported_in"].startswith(f"report #{q1.pk} (previous period)")
    for line in lines:
        assert line["change_location_t"] == pytest.approx(change_t, abs=1e-6)
    # The same lines in every format.
    files = {f.file_format: bytes(f.content) for f in q3.files.all()}
    csv_rows = [row for row in csv.reader(io.StringIO(files["csv"].decode("utf-8-sig"))) if row[0] == "restatement"]
    sheet = load_workbook(io.BytesIO(files["xlsx"]))["Restatements"]
    xlsx_periods = [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)]
    pdf_text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(files["pdf"])).pages)
    xhtml = files["xhtml"].decode()
    everything = [line["period"] for line in report_json(q3)["restatements"]]
    assert [row[1] for row in csv_rows] == everything == xlsx_periods
    for period in by_period:
        assert period in pdf_text and f"<td>{period}</td>" in xhtml


@pytest.mark.django_db
def test_a_fiscal_year_report_follows_the_organizations_fiscal_year(small_org):
    """Fiscal year from April: FY2024-Q4 is 2025-01..03 (the small organization's data), its year to date
    runs from 2024-04-01, its comparative is FY2023-Q4; the annual FY2024 covers 2024-04..2025-03."""
    small_org.fiscal_year_start_month = 4
    small_org.save(update_fields=["fiscal_year_start_month"])
    quarter = report_generated(small_org, "FY2024-Q4")
    assert (quarter.period_start, quarter.period_end) == (date(2025, 1, 1), date(2025, 3, 31))
    meta = report_json(quarter)["meta"]
    assert (meta["year_to_date"]["start"], meta["year_to_date"]["end"]) == ("2024-04-01", "2025-03-31")
    assert meta["comparison_period"] == "FY2023-Q4"
    annual = report_generated(small_org, "FY2024")
    assert (annual.period_start, annual.period_end, annual.is_interim) == (date(2024, 4, 1), date(2025, 3, 31), False)
    same = report_values(report_json(report_generated(small_org, "2025-Q1")))
    assert report_values(report_json(annual))["E1-6.48a"] == same["E1-6.48a"]  # all the data lies in 2025-Q1


@pytest.mark.django_db
def test_an_inference_only_project_has_no_training_type_in_its_card(small_org):
    """Issue 24, finding 7: the card said ``training_type: pre-training`` for a project that only serves."""
    import yaml

    from emissions.choices import RunKind
    from emissions.models import Run
    from emissions.services.ledger import inventory_ensure
    from reporting.reports.hf_card import carbon_label_yaml

    serving = {"kind": RunKind.INFERENCE, "inferences_count": 1000, "gpu_count": 8, "gpu_model": "NVIDIA H100"}
    Run.objects.filter(external_id="cloud-1").update(**serving)
    calculation = inventory_ensure(organization=small_org, period=period_parse("2025-Q1"))
    entry = yaml.safe_load(carbon_label_yaml(calculation=calculation, project=small_org.projects.get(slug="a-project")))
    card = entry["co2_eq_emissions"]
    assert "training_type" not in card and card["emissions"] == 0.0 and card["hardware_used"] == ""
    # 36 kg of electricity + 16 GPU-hours × 462.5 kg / 35,040 h = 211.187 g embodied, over 1,000 requests.
    assert card["inference_g_co2e_per_1k_requests"] == pytest.approx(36_211.187, abs=1e-3)


@pytest.mark.django_db
def test_issuing_a_report_records_its_certificate_claims_for_later_calculations(small_org):
    """Issue 16: the small organization's lab (9,000 kWh in Q1 at 300/400 g) is covered by its 2 MWh GO in
    Q1: market-based 2,000 × 0 + 7,000 × 0.4 = 2,800 kg. Issuing the report records the GO's 2,000 kWh of use.
    A second GO imported afterwards (vintage 2025, 5 MWh) would cover 5,000 kWh more of Q1 if the quarter were
    replayed (800 kg); the issued claim is what every later calculation of Q1 reads: 2,800 kg still."""
    from emissions.choices import InstrumentKind
    from emissions.models import CertificateUse, EnergyInstrument, GridZone
    from emissions.selectors import inventory_summary
    from emissions.services.ledger import inventory_calculate

    report = report_issue(report=report_generated(small_org))
    uses = CertificateUse.objects.for_org(small_org).exclude(instrument_id="")
    assert sum(use.energy_kwh for use in uses) == pytest.approx(2000.0)
    assert {use.calculation_id for use in uses} == {report.calculation_id}
    EnergyInstrument.objects.create(
        organization=small_org,
        instrument_id="GO-LATE",
        kind=InstrumentKind.GO,
        zone=GridZone.objects.get(code="DE"),
        vintage_start=date(2025, 1, 1),
        vintage_end=date(2025, 12, 31),
        energy_mwh=5,
    )
    summary = inventory_summary(calculation=inventory_calculate(organization=small_org, period=period_parse("2025-Q1")))
    assert summary["scope_2_market_kg"] == pytest.approx(2800.0)
