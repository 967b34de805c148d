"""The cloud providers' own carbon exports (AWS CCFT, GCP Carbon Footprint, Azure Carbon Optimization):
parsers, the loader, and the batch path with the sources registered for the test."""

from datetime import date
from pathlib import Path

import pytest

import ingest.parsers
from emissions.models import ProviderCarbon
from emissions.records import ProviderCarbonRecord
from emissions.services.provider_carbon import provider_carbon_upsert_many
from ingest.models import ImportBatch, RowError
from ingest.parsers import Source, aws_carbon, azure_carbon, gcp_carbon
from ingest.records import ParsedRow, ParseError, RowIssue
from ingest.services import import_batch_create, import_batch_process

FIXTURES = Path(__file__).parent / "fixtures" / "provider_carbon"
AWS = FIXTURES / "aws_ccft_export.csv"
GCP = FIXTURES / "gcp_carbon_footprint.csv"
AZURE = FIXTURES / "azure_carbon_emissions.csv"
PARSERS = {"aws_carbon": aws_carbon, "gcp_carbon": gcp_carbon, "azure_carbon": azure_carbon}
SAMPLES = {"aws_carbon": AWS, "gcp_carbon": GCP, "azure_carbon": AZURE}
PROVIDERS = {"aws_carbon": "aws", "gcp_carbon": "gcp", "azure_carbon": "azure"}
# Rows loaded per sample, and the sums of their totals in kgCO2e (location, market), hand-checked:
# AWS LBM 1.027+4.318+0.304+0.002+0.001+0.574+0.001+0.000 = 6.227 t, MBM 0.061+0.212+0.015+0.003 = 0.291 t;
# GCP the 8 total columns; Azure the 8 resource rows (612.38+98.71+184.92+3.14+11.83+96.27+21.68+10.19).
EXPECTED = {
    "aws_carbon": (8, 6227.0, 291.0),
    "gcp_carbon": (8, 3688.42, 1553.52),
    "azure_carbon": (8, 1039.12, 1039.12),
}


@pytest.fixture
def provider_sources(monkeypatch):
    """Registers the three sources for the duration of a test (the lead registers them for real)."""
    for name, module in PARSERS.items():
        monkeypatch.setitem(
            ingest.parsers.PARSERS,
            name,
            Source(label=name, parse=module.parse, load=provider_carbon_upsert_many, takes_options=True),
        )


def _import(org, source: str, content: bytes, filename: str = "export.csv") -> ImportBatch:
    batch = import_batch_create(organization=org, source=source, filename=filename, content=content)
    return import_batch_process(batch=batch)


def _counts(batch: ImportBatch) -> tuple[int, int, int, int]:
    return batch.rows_total, batch.rows_loaded, batch.rows_duplicate, batch.rows_rejected


def _parsed(module, content: bytes) -> tuple[list[ProviderCarbonRecord], list[RowIssue]]:
    items = list(module.parse(content))
    return [i.record for i in items if isinstance(i, ParsedRow)], [i for i in items if isinstance(i, RowIssue)]


def _totals(org, provider: str) -> tuple[int, float, float]:
    rows = list(ProviderCarbon.objects.for_org(org).filter(provider=provider))
    return (
        len(rows),
        round(sum(row.total_location_kg_co2e for row in rows), 6),
        round(sum(row.total_market_kg_co2e for row in rows), 6),
    )


# Parsers and loader called directly.


@pytest.mark.parametrize("source", list(PARSERS))
def test_sample_parses_and_loads_the_hand_checked_totals(org_a, source):
    records, issues = _parsed(PARSERS[source], SAMPLES[source].read_bytes())
    assert issues == []
    outcome = provider_carbon_upsert_many(organization=org_a, records=records, source_batch_id=7)
    assert (outcome.loaded, outcome.duplicate, outcome.rejected) == (EXPECTED[source][0], 0, {})
    assert _totals(org_a, PROVIDERS[source]) == EXPECTED[source]
    stored = ProviderCarbon.objects.for_org(org_a)
    assert {row.billing_period for row in stored} == {date(2025, 3, 1)}
    assert {row.source_batch_id for row in stored} == {7}


def test_aws_tonnes_become_exact_kilograms_and_the_exclusive_end_is_one_month(org_a):
    records, _ = _parsed(aws_carbon, AWS.read_bytes())
    first = records[0]
    assert (first.account_id, first.region, first.service) == ("222222222222", "us-east-1", "AmazonEC2")
    assert (first.total_location_kg_co2e, first.total_market_kg_co2e) == (1027.0, 61.0)
    assert first.billing_period == date(2025, 3, 1)  # usage_period_end 2025-04-01 00:00:00Z is exclusive
    assert first.model_version == "v2.0.0"
    assert first.scope1_kg_co2e is None and first.scope3_kg_co2e is None  # v2: scopes 1+2, no split
    assert len({record.source_row_key for record in records}) == 8


def test_aws_zero_rows_and_the_row_without_cur_counterpart_are_loaded(org_a):
    records, _ = _parsed(aws_carbon, AWS.read_bytes())
    provider_carbon_upsert_many(organization=org_a, records=records)
    # 333333333333/us-east-1/AmazonS3 has no line in the CUR sample and is 0.000 on both bases.
    no_cur = ProviderCarbon.objects.for_org(org_a).get(account_id="333333333333", region="us-east-1")
    assert (no_cur.service, no_cur.total_location_kg_co2e, no_cur.total_market_kg_co2e) == ("AmazonS3", 0.0, 0.0)
    # Three more rows are 0.000 market-based only.
    zero_market = ProviderCarbon.objects.for_org(org_a).filter(total_market_kg_co2e=0)
    assert zero_market.count() == 4
    assert sorted(zero_market.values_list("total_location_kg_co2e", flat=True)) == [0.0, 1.0, 1.0, 2.0]


def test_gcp_scopes_totals_and_the_deleted_project_row(org_a):
    records, _ = _parsed(gcp_carbon, GCP.read_bytes())
    first = records[0]
    assert (first.account_id, first.region, first.service) == ("acme-ml-research", "us-central1", "Compute Engine")
    assert (first.scope1_kg_co2e, first.scope2_location_kg_co2e, first.scope2_market_kg_co2e) == (5.12, 1231.4, 118.73)
    assert (first.scope3_kg_co2e, first.total_location_kg_co2e, first.total_market_kg_co2e) == (309.85, 1546.37, 433.7)
    assert first.model_version == "12"
    # The multi-region `us` has no location.region: the location itself is the region.
    assert records[3].region == "us"
    deleted = records[7]
    assert (deleted.account_id, deleted.region, deleted.total_location_kg_co2e) == ("", "us-central1", 12.62)
    # Same service and zone as row 2, yet its own key: the deleted project's row is not merged into it.
    assert deleted.source_row_key != first.source_row_key
    provider_carbon_upsert_many(organization=org_a, records=records)
    assert ProviderCarbon.objects.for_org(org_a).get(account_id="").total_market_kg_co2e == 3.71


def test_gcp_without_total_columns_uses_the_scope_sums():
    lines = GCP.read_text().splitlines()
    content = "\n".join(",".join(line.split(",")[:-2]) for line in lines).encode()
    records, issues = _parsed(gcp_carbon, content)
    assert issues == []
    assert round(sum(record.total_location_kg_co2e for record in records), 6) == 3688.42
    assert round(sum(record.total_market_kg_co2e for record in records), 6) == 1553.52


def test_azure_loads_the_resource_rows_only_so_nothing_counts_twice(org_a):
    records, issues = _parsed(azure_carbon, AZURE.read_bytes())
    assert issues == []  # the 3 MonthlySummaryData rows (Scope1–3) add up to the resource rows: 1039.12
    assert len(records) == 8
    assert round(sum(record.total_market_kg_co2e for record in records), 6) == 1039.12
    first = records[0]
    assert (first.account_id, first.region) == ("00000000-0000-0000-0000-0000000000a1", "eastus")
    assert first.service == "rg-llm-train/vmss-nda100"
    assert first.total_location_kg_co2e == first.total_market_kg_co2e == 612.38  # one basis: market-based
    assert first.model_version == azure_carbon.MODEL_VERSION
    assert first.scope1_kg_co2e is None  # the row covers Scope1,Scope2,Scope3 together
    provider_carbon_upsert_many(organization=org_a, records=records)
    assert _totals(org_a, "azure") == (8, 1039.12, 1039.12)


def test_azure_summary_disagreeing_with_the_resource_rows_is_reported():
    lines = [line for line in AZURE.read_text().splitlines() if "vm-untagged-01" not in line]
    records, issues = _parsed(azure_carbon, "\n".join(lines).encode())
    assert len(records) == 7
    assert [(issue.row_number, issue.column) for issue in issues] == [(2, "latestmonthemissions")]
    assert "total 1039.12 kgCO2e but its resource rows total 1028.93 kgCO2e" in issues[0].reason


def test_azure_rows_of_other_levels_are_rejected():
    text = AZURE.read_text().replace(
        "ResourceItemDetailsData,2025-03-01,10.19", "ResourceGroupItemDetailsData,2025-03-01,10.19"
    )
    text += "ResourceItemDetailsData,2025-03-01,abc,0,,,x,Resource,sub,rg,east us,Scope1\n"
    text += "ResourceItemDetailsData,2025-03-01,1.00,0,,,vm-x,Subscription,sub,rg,east us,Scope1\n"
    records, issues = _parsed(azure_carbon, text.encode())
    assert len(records) == 7
    by_row = {issue.row_number: (issue.column, issue.reason) for issue in issues}
    assert by_row[12][0] == "datatype" and "only resource rows" in by_row[12][1]
    assert by_row[13] == ("latestmonthemissions", "latestmonthemissions 'abc' is not a number")
    assert by_row[14][0] == "categorytype"
    assert set(by_row) == {12, 13, 14}  # the summary check is skipped: a resource row was rejected


def test_azure_single_scope_row_fills_that_scope():
    header = AZURE.read_text().splitlines()[0]
    content = f"{header}\nResourceItemDetailsData,2025-03-01,4.50,0,,,vm-x,Resource,sub,rg,west us 2,Scope2\n"
    records, _ = _parsed(azure_carbon, content.encode())
    assert (records[0].scope2_market_kg_co2e, records[0].scope1_kg_co2e, records[0].region) == (4.5, None, "westus2")


@pytest.mark.parametrize(
    ("module", "path", "expected_loaded", "expected_issues"),
    [
        (
            aws_carbon,
            FIXTURES / "aws_bad_rows.csv",
            1,
            {
                3: ("total_lbm_emissions_unit", "'kgCO2e' is not MTCO2e"),
                4: ("total_mbm_emissions_value", "-0.015 is below the minimum 0"),
                5: ("usage_period_end", "is not 2025-04-01 00:00:00Z, the exclusive end of the month"),
                6: ("usage_period_start", "is not the first day of a month"),
                7: ("total_lbm_emissions_value", "'n/a' is not a number"),
                8: ("", "repeats row 2"),
            },
        ),
        (
            gcp_carbon,
            FIXTURES / "gcp_bad_rows.csv",
            1,
            {
                3: ("carbon_footprint_total_kgco2e.location_based", "1800.00 is not scope1 + scope2 + scope3"),
                4: ("carbon_footprint_kgco2e.scope3", "is empty"),
                5: ("usage_month", "2025-03-15 is not the first day of a month"),
                6: ("carbon_footprint_kgco2e.scope1", "-0.21 is below the minimum 0"),
            },
        ),
    ],
)
def test_bad_rows_name_row_column_value_and_reason(module, path, expected_loaded, expected_issues):
    records, issues = _parsed(module, path.read_bytes())
    assert len(records) == expected_loaded
    assert {issue.row_number for issue in issues} == set(expected_issues)
    for issue in issues:
        column, reason = expected_issues[issue.row_number]
        assert issue.column == column
        assert reason in issue.reason
        assert issue.raw
    assert next(i for i in issues if i.row_number == 3).value in {"kgCO2e", "1800.00"}


@pytest.mark.parametrize("source", list(PARSERS))
def test_an_unknown_header_is_a_parse_error(source):
    other = {"aws_carbon": GCP, "gcp_carbon": AZURE, "azure_carbon": AWS}[source]
    with pytest.raises(ParseError, match="missing column"):
        list(PARSERS[source].parse(other.read_bytes()))


def test_loader_rejects_bad_records_without_raising(org_a):
    good, *_ = _parsed(aws_carbon, AWS.read_bytes())[0]
    bad = [
        ProviderCarbonRecord(**{**good.__dict__, "provider": "ibm"}),
        ProviderCarbonRecord(**{**good.__dict__, "billing_period": date(2025, 3, 15)}),
        ProviderCarbonRecord(**{**good.__dict__, "total_market_kg_co2e": -1.0}),
        ProviderCarbonRecord(**{**good.__dict__, "scope3_kg_co2e": float("nan")}),
        ProviderCarbonRecord(**{**good.__dict__, "region": "x" * 65}),
        "not a record",
    ]
    outcome = provider_carbon_upsert_many(organization=org_a, records=[good, *bad])
    assert (outcome.loaded, outcome.duplicate) == (1, 0)
    assert sorted(outcome.rejected) == [1, 2, 3, 4, 5, 6]
    assert "provider 'ibm'" in outcome.rejected[1]
    assert "not the first day of a month" in outcome.rejected[2]
    assert "below the minimum 0" in outcome.rejected[3]
    assert "not a finite number" in outcome.rejected[4]
    assert "maximum is 64" in outcome.rejected[5]
    assert ProviderCarbon.objects.for_org(org_a).count() == 1


# The batch path (sources registered by the provider_sources fixture).


@pytest.mark.parametrize("source", list(PARSERS))
def test_batch_import_then_reimport_is_all_duplicates(org_a, media_root, provider_sources, source):
    rows = EXPECTED[source][0]
    first = _import(org_a, source, SAMPLES[source].read_bytes(), SAMPLES[source].name)
    assert first.status == ImportBatch.Status.DONE
    assert _counts(first) == (rows, rows, 0, 0)
    assert _totals(org_a, PROVIDERS[source]) == EXPECTED[source]
    again = _import(org_a, source, SAMPLES[source].read_bytes(), SAMPLES[source].name)
    assert again.status == ImportBatch.Status.DONE
    assert _counts(again) == (rows, 0, rows, 0)
    assert _totals(org_a, PROVIDERS[source]) == EXPECTED[source]
    assert set(ProviderCarbon.objects.for_org(org_a).values_list("source_batch_id", flat=True)) == {first.pk}


@pytest.mark.parametrize(
    ("source", "old", "new", "expected"),
    [
        # 222222222222/us-east-2/AmazonEC2 LBM 4.318 t restated to 4.400 t: +82 kg.
        ("aws_carbon", "MTCO2e,4.318,", "MTCO2e,4.400,", (8, 6309.0, 291.0)),
        # acme-ml-inference europe-west1-b: scope3 20.87 → 21.87 and both totals +1.
        ("gcp_carbon", "20.87,76.72,29.47", "21.87,77.72,30.47", (8, 3689.42, 1554.52)),
        # vm-untagged-01 10.19 → 11.19, and the Scope3 summary row with it so the file still adds up.
        ("azure_carbon", "2025-03-01,10.19,", "2025-03-01,11.19,", (8, 1040.12, 1040.12)),
    ],
)
def test_restated_file_updates_the_changed_row(org_a, media_root, provider_sources, source, old, new, expected):
    content = SAMPLES[source].read_bytes()
    first = _import(org_a, source, content)
    restated = content.decode().replace(old, new)
    if source == "azure_carbon":
        restated = restated.replace("2025-03-01,639.05,", "2025-03-01,640.05,")
    assert restated.count(new) == 1
    batch = _import(org_a, source, restated.encode())
    assert batch.status == ImportBatch.Status.DONE
    assert _counts(batch) == (8, 1, 7, 0)
    assert _totals(org_a, PROVIDERS[source]) == expected
    batch_ids = list(ProviderCarbon.objects.for_org(org_a).values_list("source_batch_id", flat=True))
    assert sorted(batch_ids) == sorted([first.pk] * 7 + [batch.pk])


def test_header_only_file_loads_zero_rows(org_a, media_root, provider_sources):
    header = AWS.read_bytes().splitlines(keepends=True)[0]
    batch = _import(org_a, "aws_carbon", header)
    assert batch.status == ImportBatch.Status.DONE
    assert _counts(batch) == (0, 0, 0, 0)
    assert not ProviderCarbon.objects.for_org(org_a).exists()


def test_batch_with_bad_rows_is_partial_and_keeps_the_row_errors(org_a, media_root, provider_sources):
    batch = _import(org_a, "aws_carbon", (FIXTURES / "aws_bad_rows.csv").read_bytes())
    assert batch.status == ImportBatch.Status.PARTIAL
    assert _counts(batch) == (7, 1, 0, 6)
    errors = {error.row_number: (error.column, error.value) for error in RowError.objects.filter(batch=batch)}
    assert errors[3] == ("total_lbm_emissions_unit", "kgCO2e")
    assert errors[7] == ("total_lbm_emissions_value", "n/a")


def test_batch_with_an_unknown_header_fails(org_a, media_root, provider_sources):
    batch = _import(org_a, "aws_carbon", GCP.read_bytes())
    assert batch.status == ImportBatch.Status.FAILED
    assert "missing column(s) payer_account_id" in batch.error
    assert not ProviderCarbon.objects.exists()


def test_organizations_are_kept_apart(org_a, org_b, media_root, provider_sources):
    _import(org_a, "gcp_carbon", GCP.read_bytes())
    batch = _import(org_b, "gcp_carbon", GCP.read_bytes())
    assert _counts(batch) == (8, 8, 0, 0)  # the same keys in another organization are not duplicates
    assert _totals(org_a, "gcp") == _totals(org_b, "gcp") == EXPECTED["gcp_carbon"]
