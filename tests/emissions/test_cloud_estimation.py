"""Pure tests of the billing-based cloud estimator (no database). Expected values are written as formulas of the
shipped table values so a reader can check them against emissions/reference_data/*.csv."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from emissions.cloud_estimation import accelerator_of, coefficient_tables_load, estimate, gpu_instance_spec, gpu_like
from emissions.records import CloudUsageRecord
from ingest.parsers import billing_units

TABLES = coefficient_tables_load()
LIFESPAN_H = 4 * 8760  # 4 years
A100_40_POWER = 45.21 + 0.5 * (400 - 45.21)  # cloud_gpu_power.csv: min 400×46/407, max = TDP 400 W
CASCADE_LAKE = 0.64 + 0.5 * (3.97 - 0.64)  # cpu_power_coefficients.csv, W per vCPU at 50 %
A100_SERVER_TE = 8 * 127.6 + 2500  # hardware_embodied.csv: 8 × A100 SXM4 40GB + GPU server node without GPUs
MEMORY = 0.000392  # kWh per GB-hour
AWS_AVERAGE_CPU = 0.74 + 0.5 * (3.5 - 0.74)  # cpu_power_coefficients.csv AWS average: 2.12 W per vCPU at 50 %
AZURE_AVERAGE_CPU = 0.74 + 0.5 * (3.54 - 0.74)  # Azure average: 2.14 W per vCPU at 50 %
H200_POWER = 79.12 + 0.5 * (700 - 79.12)  # cloud_gpu_power.csv H200 SXM: 389.56 W at 50 %
H100_NODE = 7045 - 1312  # hardware_embodied.csv: complete 8×H100 server minus its HGX H100 baseboard = 5,733 kg


def without_gpu_rows(*instance_types: str):
    """The shipped tables without some gpu_instances.csv rows: instance types the table does not know."""
    rows = {key: spec for key, spec in TABLES.gpu_instances.items() if key[1] not in instance_types}
    return dataclasses.replace(TABLES, gpu_instances=rows)


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


# --- GPU instances the table does not list: the family rule ------------------------------------------------------


def test_gpu_instance_missing_from_the_table_gets_gpu_energy_by_family_rule():
    tables = without_gpu_rows("p5en.48xlarge")
    record = line(
        usage_type="USE2-BoxUsage:p5en.48xlarge", instance_type="p5en.48xlarge", gpu_count=8, vcpu_count=192,
        memory_gb=2048,
    )  # fmt: skip
    result = estimate(record, tables)
    assert result.classification == "gpu"
    assert result.gpu_energy_kwh == pytest.approx(8 * H200_POWER / 1000)  # p5en → H200: 8 × 389.56 W = 3.11648 kWh
    assert result.compute_energy_kwh == pytest.approx(192 * AWS_AVERAGE_CPU / 1000)  # p5en: no CCF processor
    # no sibling size listed: the instance is its own host; 2 chips = ceil(192/96), AWS average 80.69 GB/chip
    assert result.memory_energy_kwh == pytest.approx((2048 / 2 - 80.69) * MEMORY)  # 943.31 GB → 0.36978 kWh
    # full host: 8 × 284.25 (H200) + 5,733 (H100-class node) = 8,007 kg over 35,040 h
    assert result.embodied_kg_co2e == pytest.approx((8 * 284.25 + H100_NODE) / LIFESPAN_H)
    assert result.fell_back
    coefficients = dict(result.coefficients)
    assert coefficients["gpu_model_source"] == "family rule"
    assert coefficients["gpu_model"] == "NVIDIA H200 SXM 141GB"
    assert estimate(record, TABLES).gpu_energy_kwh == result.gpu_energy_kwh  # the table row agrees with the rule


def test_family_rule_takes_the_host_from_a_listed_sibling_size():
    tables = without_gpu_rows("g6e.xlarge")
    record = line(usage_type="BoxUsage:g6e.xlarge", instance_type="g6e.xlarge", gpu_count=1, vcpu_count=4, memory_gb=32)
    result = estimate(record, tables)
    assert result.classification == "gpu"
    assert result.gpu_energy_kwh == pytest.approx((39.56 + 0.5 * (350 - 39.56)) / 1000)  # 1 L40S: 0.19478 kWh
    # host = g6e.48xlarge (8 L40S, 192 vCPU): TE = 8 × 277.1 + 2,500 = 4,716.8 kg; reserved 1 GPU + 4/192 of the node
    te = 8 * 277.1 + 2500
    assert result.embodied_kg_co2e == pytest.approx((277.1 + 2500 * 4 / 192) / LIFESPAN_H)  # = te × share / 35,040
    assert dict(result.coefficients)["embodied_te_kg"] == pytest.approx(te)


def test_accelerator_without_power_figure_is_gpu_with_zero_energy_and_flagged():
    result = estimate(
        line(usage_type="BoxUsage:trn1.2xlarge", instance_type="trn1.2xlarge", gpu_count=1, vcpu_count=8),
        without_gpu_rows("trn1.2xlarge"),
    )
    assert result.classification == "gpu"
    assert result.gpu_energy_kwh == 0  # cloud_gpu_power.csv: Trainium has no W (a gap the ledger names)
    assert result.compute_energy_kwh == pytest.approx(8 * AWS_AVERAGE_CPU / 1000)  # the host's CPU still counts
    assert result.fell_back
    coefficients = dict(result.coefficients)
    assert coefficients["gpu_model"] == "AWS Trainium (trn1)"
    assert coefficients["gpu_power"] == "missing (gap)"


def test_family_rule_without_a_gpu_count_is_a_gap():
    record = line(usage_type="BoxUsage:p5en.48xlarge", instance_type="p5en.48xlarge", vcpu_count=192, memory_gb=2048)
    result = estimate(record, without_gpu_rows("p5en.48xlarge"))
    assert result.classification == "gpu" and result.fell_back
    assert result.gpu_energy_kwh == 0
    assert dict(result.coefficients)["gpu_count"] == "unknown (gap)"


def test_accelerator_of_covers_the_table_and_the_family_rule():
    assert accelerator_of("aws", "p5.48xlarge", TABLES) == ("NVIDIA H100 SXM 80GB", 8, "gpu_instances.csv")
    assert accelerator_of("aws", "ml.inf1.xlarge", TABLES) == ("AWS Inferentia (inf1)", 1, "gpu_instances.csv")
    # trn2u (Trn2 UltraServer) and p2 are not in gpu_instances.csv
    assert accelerator_of("aws", "trn2u.48xlarge", TABLES, gpu_count=16) == ("AWS Trainium2 (trn2)", 16, "family rule")
    assert accelerator_of("aws", "p2.xlarge", TABLES) == ("NVIDIA Tesla K80", None, "family rule")
    # GCP: the count is the machine type's "-<n>g" suffix when the line has none
    tables = without_gpu_rows("a3-highgpu-2g")
    assert accelerator_of("gcp", "a3-highgpu-2g", tables) == ("NVIDIA H100 SXM 80GB", 2.0, "family rule")
    assert accelerator_of("azure", "Standard_NC40ads_H100_v5", TABLES)[0] == "NVIDIA H100 NVL 94GB"
    assert accelerator_of("azure", "ND96isr H100 v5", TABLES) == ("NVIDIA H100 SXM 80GB", 8, "gpu_instances.csv")
    assert accelerator_of("aws", "m5.large", TABLES) is None
    assert accelerator_of("aws", "", TABLES) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("AmazonEC2 USE1-BoxUsage:p5en.48xlarge", True),
        ("AmazonSageMaker USE1-Train:ml.g5.xlarge", True),
        ("Compute Engine Nvidia Tesla P100 GPU running in Americas", True),
        ("Compute Engine TPU v5e chip-hours", True),
        ("AmazonEC2 USE1-BoxUsage:trn1.32xlarge", True),
        ("AmazonEC2 USE1-BoxUsage:inf2.xlarge", True),
        ("Virtual Machines Standard_NC24ads_A100_v4", True),
        ("Virtual Machines NV36ads A10 v5", True),
        ("Compute Engine a3-highgpu-8g", True),
        ("AmazonEC2 USE1-BoxUsage:m5.xlarge", False),
        ("AmazonEC2 USE1-BoxUsage:t4g.micro", False),  # Graviton burstable, not a T4
        ("Storage P30 LRS Disk", False),  # Azure premium disk size, not a p3 instance
        ("Storage P4 LRS Disk", False),  # Azure premium disk size, not a Tesla P4
        ("Compute Engine Nvidia Tesla P4 GPU running in Americas", True),
        ("Virtual Machines L4s Spot", False),  # Azure storage-optimized VM, not an L4 GPU
        ("AmazonEC2 EBS:VolumeUsage.gp3", False),
    ],
)
def test_gpu_like(text, expected):
    assert gpu_like(text) is expected


# --- storage replication (CCF ReplicationFactors.ts @ b7a049c) --------------------------------------------------

HDD, SSD = 0.65, 1.2  # Wh per TB-hour, AWS/GCP/Azure (other_coefficients.csv)


@pytest.mark.parametrize(
    ("provider", "service", "usage_type", "wh_per_tbh", "replication"),
    [
        ("aws", "AmazonS3", "USE1-TimedStorage-ByteHrs", HDD, 6),  # S3 standard: CCF S3 = 6
        ("aws", "AmazonS3", "USE1-TimedStorage-ZIA-ByteHrs", HDD, 2),  # One Zone-IA
        ("aws", "AmazonS3", "USE1-TimedStorage-RRS-ByteHrs", HDD, 2),  # Reduced Redundancy
        ("aws", "Amazon Simple Storage Service", "USE1-TimedStorage-ZIA-ByteHrs", HDD, 2),  # FOCUS service name
        ("aws", "AmazonEC2", "USE1-EBS:VolumeUsage.gp3", SSD, 2),  # EBS volume
        ("aws", "AmazonEC2", "USE1-EBS:SnapshotUsage", HDD, 3),  # EBS snapshot
        ("aws", "AmazonEFS", "USE1-TimedStorage-ByteHrs", SSD, 3),  # EFS standard ("efs": SSD)
        ("aws", "AmazonEFS", "USE1-IATimedStorage-ByteHrs", SSD, 3),  # EFS standard-IA
        ("aws", "AmazonEFS", "USE1-TimedStorage-Z-ByteHrs", SSD, 2),  # EFS One Zone
        ("aws", "AmazonEFS", "USE1-TimedStorage-ZIA-ByteHrs", SSD, 2),  # CCF's "ZIA"
        ("aws", "AmazonRDS", "USE1-RDS:GP2-Storage", SSD, 1),  # RDS storage: CCF default
        ("aws", "AmazonRDS", "USE1-Aurora:StorageUsage", SSD, 6),  # Aurora
        ("aws", "AmazonRDS", "USE1-RDS:Multi-AZ-GP2-Storage", SSD, 2),  # Multi-AZ
        ("aws", "AmazonRDS", "USE1-RDS:ChargedBackupUsage", SSD, 3),  # backup (medium unknown: SSD)
        ("aws", "AmazonDynamoDB", "USE1-TimedStorage-ByteHrs", SSD, 2),  # DynamoDB
        ("aws", "AmazonECR", "USE1-TimedStorage-ByteHrs", HDD, 3),  # ECR
        ("aws", "AmazonDocDB", "USE1-StorageUsage", SSD, 2),  # DocumentDB storage (medium unknown: SSD)
        ("aws", "AmazonDocDB", "USE1-BackupUsage", SSD, 3),  # DocumentDB backup
        ("aws", "AmazonElastiCache", "USE1-BackupUsage", SSD, 3),  # ElastiCache backup
        ("aws", "AmazonSageMaker", "USE1-ML:VolumeUsage.gp2", SSD, 1),  # no CCF rule for the service: 1
        ("gcp", "Cloud Storage", "Standard Storage US Multi-region", HDD, 2),
        ("gcp", "Cloud Storage", "Standard Storage Belgium", HDD, 2),  # single region
        ("gcp", "Compute Engine", "SSD backed PD Capacity", SSD, 1),  # zonal disk: default
        ("gcp", "Compute Engine", "Regional SSD backed PD Capacity", SSD, 2),
        ("gcp", "Compute Engine", "Storage PD Snapshot in Belgium", HDD, 2),  # snapshot in Cloud Storage
        ("gcp", "Cloud Filestore", "Filestore Capacity Basic HDD", HDD, 2),
        ("gcp", "Cloud SQL", "Cloud SQL for PostgreSQL: Regional - Standard storage in Americas", HDD, 2),
        ("gcp", "Cloud SQL", "Cloud SQL for MySQL: Zonal - SSD storage in Americas", SSD, 1),
        ("azure", "Storage", "Hot LRS Data Stored", SSD, 3),  # medium unknown: SSD
        ("azure", "Storage", "Hot GRS Data Stored", SSD, 6),
        ("azure", "Storage", "Hot RA-GZRS Data Stored", SSD, 6),
        ("azure", "Storage", "Hot ZRS Data Stored", SSD, 3),
        ("azure", "Azure Cosmos DB", "Data Stored", SSD, 4),
        ("azure", "SQL Database", "General Purpose Data Stored", SSD, 3),
        ("azure", "Azure Database for MySQL", "General Purpose Storage Data Stored", SSD, 3),
    ],
)
def test_storage_replication_follows_ccf(provider, service, usage_type, wh_per_tbh, replication):
    record = line(
        provider=provider, service=service, usage_type=usage_type, instance_type="", usage_unit="gb-month",
        usage_quantity=100.0, region={"aws": "us-east-1", "gcp": "europe-west1", "azure": "eastus"}[provider],
    )  # fmt: skip
    result = estimate(record, TABLES)
    assert result.classification == "storage"
    # 100 GB-month × 730 h = 73 TB-hours × Wh/TBh × replication, in kWh
    assert result.storage_energy_kwh == pytest.approx(100 * 730 / 1000 * wh_per_tbh * replication / 1000)


# --- vCPU-hour lines: the host's memory in the embodied ----------------------------------------------------------


def test_vcpu_hours_embodied_uses_the_hosts_memory():
    record = line(
        usage_type="BoxUsage:m5.xlarge", instance_type="m5.xlarge", vcpu_count=4, memory_gb=16, usage_unit="vcpu-hour",
        usage_quantity=4.0,
    )  # fmt: skip
    result = estimate(record, TABLES)
    skylake = 0.65 + 0.5 * (4.26 - 0.65)
    assert result.compute_energy_kwh == pytest.approx(4 * skylake / 1000)
    # host = m5.24xlarge (96 vCPU, 384 GB): TE = 1,000 + (384 − 16) × 1.388021 = 1,510.79 kg (not the line's 16 GB:
    # 1,000 kg); 4 vCPU-hours = 1 instance-hour of 4/96 of the host
    te = 1000 + (384 - 16) * 1.388021
    assert result.embodied_kg_co2e == pytest.approx(te * (1 / LIFESPAN_H) * (4 / 96))  # 0.0017966 kg


# --- AWS Fargate -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("pricing_unit", ["hours", "vCPU-Hours"])
def test_fargate_vcpu_hours_are_compute_at_the_average_cpu(pricing_unit):
    unit, quantity = billing_units.convert(pricing_unit, 10.0)  # CUR pricing/unit of the line
    record = line(
        service="AmazonECS", usage_type="USE1-Fargate-vCPU-Hours:perCPU", instance_type="", usage_unit=unit,
        usage_quantity=quantity,
    )  # fmt: skip
    result = estimate(record, TABLES)
    assert result.classification == "compute"
    assert result.compute_energy_kwh == pytest.approx(10 * AWS_AVERAGE_CPU / 1000)  # 10 vCPU-h × 2.12 W = 0.0212 kWh
    assert dict(result.coefficients)["cpu_microarchitecture"] == "provider average (fallback)"


@pytest.mark.parametrize("pricing_unit", ["GB-Hours", "hours"])
def test_fargate_gb_hours_are_memory(pricing_unit):
    unit, quantity = billing_units.convert(pricing_unit, 20.0)
    record = line(
        service="AmazonECS", usage_type="USE1-Fargate-GB-Hours", instance_type="", usage_unit=unit,
        usage_quantity=quantity,
    )  # fmt: skip
    result = estimate(record, TABLES)
    assert result.classification == "memory"
    assert result.memory_energy_kwh == pytest.approx(20 * MEMORY)  # 20 GB-h × 0.000392 = 0.00784 kWh
    assert result.storage_energy_kwh == 0


# --- Azure VM sizes ----------------------------------------------------------------------------------------------


def test_azure_vm_gets_vcpu_and_memory_from_its_size():
    record = line(
        provider="azure", service="Virtual Machines", sku="Dsv5 Series", usage_type="D4s v5",
        instance_type="Standard_D4s_v5", region="eastus",
    )  # fmt: skip
    result = estimate(record, TABLES)
    assert result.classification == "compute"
    # azure_vm_sizes.csv: D4s v5 = 4 vCPU, 16 GB; series largest D96s v5 = 96 vCPU, 384 GB. Ice Lake has no Azure
    # CCF coefficients: average 2.14 W per vCPU and 80.47 GB/chip; 1 chip = ceil(96/96)
    assert result.compute_energy_kwh == pytest.approx(4 * AZURE_AVERAGE_CPU / 1000)  # 0.00856 kWh
    assert result.memory_energy_kwh == pytest.approx((384 - 80.47) * 16 / 384 * MEMORY)  # 12.647 GB → 0.0049576 kWh
    te = 1000 + (384 - 16) * 1.388021
    assert result.embodied_kg_co2e == pytest.approx(te / LIFESPAN_H * 4 / 96)


# --- legacy GCP GPU SKUs -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sku", "watts"),
    [
        ("Nvidia Tesla P100 GPU running in Americas", 36 + 0.5 * (306 - 36)),  # 171 W (CCF tesla_p100)
        ("Nvidia Tesla P4 GPU running in Americas", 9 + 0.5 * (76.5 - 9)),  # 42.75 W (CCF tesla_p4)
        ("Nvidia Tesla K80 GPU running in Americas", 35 + 0.5 * (306 - 35)),  # 170.5 W (CCF tesla_k80)
    ],
)
def test_legacy_gcp_gpu_skus(sku, watts):
    record = line(
        provider="gcp", service="Compute Engine", usage_type=sku, instance_type="", region="us-central1",
        usage_quantity=2.0,
    )  # fmt: skip
    result = estimate(record, TABLES)
    assert result.classification == "gpu"
    assert result.gpu_energy_kwh == pytest.approx(2 * watts / 1000)  # 2 GPU-hours


# --- GPU server node: model-specific for H100/H200 hosts ---------------------------------------------------------


def test_h100_host_uses_its_own_server_node():
    result = estimate(line(usage_type="BoxUsage:p5.48xlarge", instance_type="p5.48xlarge"), TABLES)
    # 8 × 164 kg (H100 SXM) + (7,045 − 1,312) kg host without GPUs = 7,045 kg, the complete p5.48xlarge server
    assert result.embodied_kg_co2e == pytest.approx((8 * 164 + H100_NODE) / LIFESPAN_H)  # 0.20106 kg per hour
    coefficients = dict(result.coefficients)
    assert coefficients["embodied_node_kg"] == pytest.approx(5733)
    assert coefficients["embodied_node_source"].startswith("8x NVIDIA H100 SXM 80GB server, complete")
    a100 = dict(estimate(line(), TABLES).coefficients)  # other hosts keep the generic BLOOM node
    assert a100["embodied_node_kg"] == 2500
    assert a100["embodied_node_source"] == "GPU server node excluding GPUs (8-GPU class, generic)"


# --- The newest AWS family: p6-b200 by the family rule ---------------------------------------------------------


def test_p6_b200_family_rule_gives_eight_b200s():
    """p6-b200.48xlarge taken out of gpu_instances.csv: the family rule names the NVIDIA B200 (cloud_gpu_power.csv
    min 113.02 W = 1,000 × 46/407, max 1,000 W) and the line's CUR ``product/gpu`` gives 8 GPUs. One hour at 50 %:
    8 × (113.02 + 0.5 × (1,000 − 113.02)) / 1000 = 8 × (113.02 + 0.5 × 886.98) / 1000 = 8 × 556.51 / 1000
    = 4.45208 kWh, the same as the table row gives."""
    record = line(
        usage_type="USE1-BoxUsage:p6-b200.48xlarge",
        instance_type="p6-b200.48xlarge",
        gpu_count=8,
        vcpu_count=192,
        memory_gb=2048,
    )
    result = estimate(record, without_gpu_rows("p6-b200.48xlarge"))
    assert result.classification == "gpu" and result.fell_back
    assert result.gpu_energy_kwh == pytest.approx(8 * (113.02 + 0.5 * 886.98) / 1000)  # 4.45208 kWh
    coefficients = dict(result.coefficients)
    assert coefficients["gpu_model"] == "NVIDIA B200 180GB" and coefficients["gpu_model_source"] == "family rule"
    assert TABLES.gpu_power["NVIDIA B200 180GB"].min_w == pytest.approx(113.02)
    assert TABLES.gpu_power["NVIDIA B200 180GB"].max_w == pytest.approx(1000)
    assert estimate(record, TABLES).gpu_energy_kwh == pytest.approx(result.gpu_energy_kwh)  # the table row agrees
