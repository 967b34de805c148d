"""Pure tests of the billing-based cloud estimator (no database). Expected values are written as formulas of the
shipped table values so a reader can check them against emissions/reference_data/*.csv."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from emissions.cloud_estimation import coefficient_tables_load, estimate, gpu_instance_spec
from emissions.records import CloudUsageRecord

TABLES = coefficient_tables_load()
LIFESPAN_H = 4 * 8760  # 4 years
A100_40_POWER = 45.21 + 0.5 * (400 - 45.21)  # cloud_gpu_power.csv: min 400×46/407, max = TDP 400 W
CASCADE_LAKE = 0.64 + 0.5 * (3.97 - 0.64)  # cpu_power_coefficients.csv, W per vCPU at 50 %
A100_SERVER_TE = 8 * 127.6 + 2500  # hardware_embodied.csv: 8 × A100 SXM4 40GB + GPU server node without GPUs
MEMORY = 0.000392  # kWh per GB-hour


def line(**overrides) -> CloudUsageRecord:
    base = {
        "provider": "aws",
        "billing_account": "payer",
        "account_id": "123",
        "billing_period": date(2025, 3, 1),
        "line_item_key": "k",
        "charge_category": "usage",
        "service": "AmazonEC2",
        "sku": "",
        "usage_type": "BoxUsage:p4d.24xlarge",
        "instance_type": "p4d.24xlarge",
        "region": "us-east-1",
        "usage_start": datetime(2025, 3, 1, tzinfo=UTC),
        "usage_end": datetime(2025, 3, 1, 1, tzinfo=UTC),
        "usage_quantity": 1.0,
        "usage_unit": "hour",
        "cost": 32.77,
        "currency": "USD",
    }
    base.update(overrides)
    return CloudUsageRecord(**base)


def test_aws_p4d_instance_hour():
    result = estimate(line(), TABLES)
    assert result.classification == "gpu"
    assert result.gpu_energy_kwh == pytest.approx(8 * A100_40_POWER / 1000)  # 1.78084 kWh
    assert result.compute_energy_kwh == pytest.approx(96 * CASCADE_LAKE / 1000)  # 0.22128 kWh
    # CCF: memory above 98.12 GB/chip (Cascade Lake), 1 chip = ceil(96/96), p4d is its own largest size
    assert result.memory_energy_kwh == pytest.approx((1152 - 98.12) * MEMORY)  # 0.41312 kWh
    assert result.pue == 1.135
    # full host: RR/TotalR = 1, TR = 1 instance-hour (no second division by 96 vCPU)
    assert result.embodied_kg_co2e == pytest.approx(A100_SERVER_TE * 1 / LIFESPAN_H)  # 0.10048 kg
    assert not result.fell_back
    coefficients = dict(result.coefficients)
    assert coefficients["gpu_model"] == "NVIDIA A100 SXM4 40GB"
    assert coefficients["gpu_max_w"] == 400
    assert coefficients["pue_source"] == "region"
    assert coefficients["embodied_te_kg"] == pytest.approx(3520.8)
    assert coefficients["lifespan_years"] == 4


def test_gcp_a2_highgpu_1g_instance_hour():
    record = line(
        provider="gcp",
        service="Compute Engine",
        sku="A2 instance",
        usage_type="",
        instance_type="a2-highgpu-1g",
        region="us-central1",
    )
    result = estimate(record, TABLES)
    assert result.classification == "gpu"
    assert result.gpu_energy_kwh == pytest.approx(1 * A100_40_POWER / 1000)
    assert result.compute_energy_kwh == pytest.approx(12 * CASCADE_LAKE / 1000)  # CCF: a2 → Cascade Lake
    assert result.memory_energy_kwh == pytest.approx(85 * MEMORY)  # GCP: all RAM counted
    assert result.pue == 1.11  # us-central1 TTM PUE
    # 1 of the a2-highgpu-8g host's 8 GPUs and 12 of its 96 vCPUs
    assert result.embodied_kg_co2e == pytest.approx((1 * 127.6 + 2500 * 12 / 96) / LIFESPAN_H)


def test_azure_nd96asr_v4_instance_hour_falls_back_to_average_cpu():
    record = line(
        provider="azure",
        service="Virtual Machines",
        sku="ND96asr A100 v4",
        usage_type="",
        instance_type="Standard_ND96asr_v4",
        region="eastus",
    )
    result = estimate(record, TABLES)
    assert result.classification == "gpu"
    assert result.gpu_energy_kwh == pytest.approx(8 * A100_40_POWER / 1000)
    assert result.compute_energy_kwh == pytest.approx(96 * (0.74 + 0.5 * (3.54 - 0.74)) / 1000)  # Azure average
    assert result.memory_energy_kwh == pytest.approx((900 - 80.47) * MEMORY)
    assert result.pue == 1.185
    assert result.embodied_kg_co2e == pytest.approx(A100_SERVER_TE / LIFESPAN_H)
    assert result.fell_back  # CCF maps ND96asr A100 v4 to an unknown processor


def test_cpu_instance_line():
    record = line(usage_type="BoxUsage:m5.xlarge", instance_type="m5.xlarge", vcpu_count=4, memory_gb=16)
    result = estimate(record, TABLES, cpu_utilization=0.5)
    skylake = 0.65 + 0.5 * (4.26 - 0.65)
    assert result.classification == "compute"
    assert result.compute_energy_kwh == pytest.approx(4 * skylake / 1000)
    assert result.memory_energy_kwh == pytest.approx((384 - 81.32) * 16 / 384 * MEMORY)  # m5.24xlarge 96 vCPU/384 GB
    te = 1000 + (384 - 16) * 1.388021  # CCF base server + DRAM above 16 GB, 1 chip
    assert result.embodied_kg_co2e == pytest.approx(te * (1 / LIFESPAN_H) * (4 / 96))
    assert result.gpu_energy_kwh == 0


def test_cpu_microarchitecture_fallback():
    record = line(usage_type="BoxUsage:zz9.large", instance_type="zz9.large", vcpu_count=2, memory_gb=8)
    result = estimate(record, TABLES)
    assert result.fell_back
    assert result.compute_energy_kwh == pytest.approx(2 * (0.74 + 0.5 * (3.5 - 0.74)) / 1000)
    assert dict(result.coefficients)["cpu_microarchitecture"] == "provider average (fallback)"


@pytest.mark.parametrize(
    ("overrides", "wh_per_tbh", "replication"),
    [
        ({"service": "AmazonEC2", "usage_type": "EBS:VolumeUsage.gp3"}, 1.2, 2),
        ({"service": "AmazonS3", "usage_type": "TimedStorage-ByteHrs"}, 0.65, 6),
        (
            {
                "provider": "gcp",
                "service": "Compute Engine",
                "sku": "Regional SSD backed PD Capacity",
                "region": "us-central1",
            },
            1.2,
            2,
        ),
    ],
)
def test_storage_gb_month_with_replication(overrides, wh_per_tbh, replication):
    record = line(instance_type="", usage_unit="gb-month", usage_quantity=100.0, **overrides)
    result = estimate(record, TABLES)
    assert result.classification == "storage"
    assert result.storage_energy_kwh == pytest.approx(100 * 730 / 1000 * wh_per_tbh * replication / 1000)
    assert result.embodied_kg_co2e == 0


def test_network_egress():
    record = line(instance_type="", usage_type="DataTransfer-Out-Bytes", usage_unit="gb", usage_quantity=50.0)
    result = estimate(record, TABLES)
    assert result.classification == "network"
    assert result.network_energy_kwh == pytest.approx(50 * 0.001)


def test_tax_line_has_no_energy():
    result = estimate(line(charge_category="tax", usage_quantity=0.0), TABLES)
    assert result.classification == "none"
    assert result.it_energy_kwh == 0 and result.embodied_kg_co2e == 0


def test_unknown_unit_is_unclassified():
    result = estimate(line(instance_type="", usage_unit="unknown:Widgets", usage_quantity=3.0), TABLES)
    assert result.classification == "unclassified"
    assert result.it_energy_kwh == 0


def test_gpu_instance_spec_lookup():
    spec = gpu_instance_spec("aws", "ml.p4d.24xlarge", TABLES)
    assert spec is not None and spec.gpu_count == 8 and spec.host_vcpu == 96
    assert gpu_instance_spec("gcp", "a2-highgpu-1g", TABLES).host_gpu_count == 8
    assert gpu_instance_spec("aws", "m5.large", TABLES) is None


def test_every_coefficient_row_has_source_and_valid_from():
    for table in (TABLES.cpu_power, TABLES.scalars, TABLES.region_pue, TABLES.gpu_power, TABLES.embodied):
        for row in table.values():
            assert row.source and isinstance(row.valid_from, date)


_RECORDS = [
    line(),
    line(provider="gcp", service="Compute Engine", sku="A2", usage_type="", instance_type="a2-highgpu-1g"),
    line(usage_type="BoxUsage:m5.xlarge", instance_type="m5.xlarge", vcpu_count=4, memory_gb=16),
    line(instance_type="", service="AmazonS3", usage_type="TimedStorage-ByteHrs", usage_unit="gb-month"),
    line(instance_type="", usage_type="DataTransfer-Out-Bytes", usage_unit="gb"),
]


@given(
    record=st.sampled_from(_RECORDS),
    quantity=st.floats(min_value=0.0, max_value=1e6, allow_nan=False),
    factor=st.floats(min_value=0.0, max_value=100.0, allow_nan=False),
    util=st.floats(min_value=0.0, max_value=1.0),
)
def test_energies_non_negative_and_linear_in_quantity(record, quantity, factor, util):
    one = estimate(dataclasses.replace(record, usage_quantity=quantity), TABLES, cpu_utilization=util)
    scaled = estimate(dataclasses.replace(record, usage_quantity=quantity * factor), TABLES, cpu_utilization=util)
    for field in ("compute", "gpu", "memory", "storage", "network"):
        value = getattr(one, f"{field}_energy_kwh")
        assert value >= 0
        assert getattr(scaled, f"{field}_energy_kwh") == pytest.approx(value * factor, rel=1e-9, abs=1e-12)
    assert one.embodied_kg_co2e >= 0
    assert scaled.embodied_kg_co2e == pytest.approx(one.embodied_kg_co2e * factor, rel=1e-9, abs=1e-12)


def _sample_lines() -> list[CloudUsageRecord]:
    """Every usage line of the billing fixtures, whatever the dialect."""
    from pathlib import Path

    from ingest.parsers import billing_sniff

    folder = Path(__file__).resolve().parent.parent / "ingest" / "fixtures" / "billing"
    return [
        row.record
        for path in sorted(folder.iterdir())
        if path.is_file()
        for chunk in billing_sniff.read_chunks(path)
        for row in chunk
        if hasattr(row, "record")
    ]


SAMPLE_LINES = _sample_lines()


@given(
    index=st.integers(min_value=0, max_value=len(SAMPLE_LINES) - 1),
    quantity=st.floats(min_value=0.0, max_value=1e6, allow_nan=False),
)
def test_memoized_estimate_equals_direct_estimate_on_every_sample_line(index, quantity):
    from emissions.cloud_estimate_cache import EstimateCache

    cache = EstimateCache(TABLES, cpu_utilization=0.4, gpu_utilization=0.7, lifespan_years=5.0)
    record = dataclasses.replace(SAMPLE_LINES[index], usage_quantity=quantity)
    direct = estimate(record, TABLES, cpu_utilization=0.4, gpu_utilization=0.7, lifespan_years=5.0)
    cache(dataclasses.replace(record, usage_quantity=3.0))  # fill the cache from another quantity first
    memoized = cache(record)
    assert memoized.classification == direct.classification
    assert memoized.fell_back == direct.fell_back
    assert memoized.pue == direct.pue
    for field in ("compute", "gpu", "memory", "storage", "network"):
        expected = getattr(direct, f"{field}_energy_kwh")
        assert getattr(memoized, f"{field}_energy_kwh") == pytest.approx(expected, rel=1e-12, abs=1e-15)
    assert memoized.embodied_kg_co2e == pytest.approx(direct.embodied_kg_co2e, rel=1e-12, abs=1e-15)
    assert [name for name, _ in memoized.coefficients] == [name for name, _ in direct.coefficients]
    for (name, got), (_, want) in zip(memoized.coefficients, direct.coefficients, strict=True):
        assert got == (pytest.approx(want, rel=1e-12) if isinstance(want, float) else want), name


def test_sample_lines_cover_every_classification():
    kinds = {estimate(record, TABLES).classification for record in SAMPLE_LINES}
    assert {"gpu", "compute", "storage", "network", "none"} <= kinds
