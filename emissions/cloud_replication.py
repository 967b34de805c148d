"""Storage replication factor of a billing line, by provider, service and usage type (CCF's rules).

Pure: stdlib only. ``replication_name(provider, service, usage_text, region)`` names the
``other_coefficients.csv`` row (``replication_factor.<provider>.<name>``) whose value multiplies the line's storage
energy: how many copies of each stored byte the provider keeps. The rules follow Cloud Carbon Footprint
@ b7a049c (packages/{aws,gcp,azure}/src/lib/ReplicationFactors.ts): the service picks the rule, the usage type
(CUR ``lineItem/UsageType``, GCP SKU description, Azure meter name) picks the case, anything else is the provider
default (1). docs/cloud-estimation.md lists them.
"""

from __future__ import annotations

import re
from collections.abc import Callable

# CUR product codes and their FOCUS ServiceName spellings, compacted (lower case, no spaces or punctuation).
_AWS_SERVICES = {
    "amazons3": "s3",
    "amazonsimplestorageservice": "s3",
    "amazonec2": "ec2",
    "amazonelasticcomputecloud": "ec2",
    "amazonefs": "efs",
    "amazonelasticfilesystem": "efs",
    "amazonrds": "rds",
    "amazonrelationaldatabaseservice": "rds",
    "amazondocdb": "docdb",
    "amazondocumentdbwithmongodbcompatibility": "docdb",
    "amazondynamodb": "dynamodb",
    "amazonecr": "ecr",
    "amazonec2containerregistryecr": "ecr",
    "amazonelasticcontainerregistry": "ecr",
    "amazonelasticache": "elasticache",
    "amazonsimpledb": "simpledb",
}
_GCP_MULTI_REGIONS = {"us", "eu", "europe", "asia"}  # CCF GCPRegions.ts GCP_MULTI_REGIONS (+ "eu", GCS's spelling)
_GCP_DUAL_REGIONS = {"asia1", "eur4", "nam4"}  # CCF GCPRegions.ts GCP_DUAL_REGIONS


def _compact(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", (text or "").lower())


def _has(words: tuple[str, ...], text: str) -> bool:
    """Whole-word, case-insensitive match (CCF ``containsAny`` uses ``\\b…\\b``)."""
    return any(re.search(rf"\b{re.escape(word)}\b", text, re.IGNORECASE) for word in words)


def _aws(service: str, usage: str, region: str) -> str:
    kind = _AWS_SERVICES.get(_compact(service))
    if kind == "s3":
        if _has(("TimedStorage-ZIA", "EarlyDelete-ZIA", "TimedStorage-RRS"), usage):
            return "s3_one_zone_reduced_redundancy"
        return "s3" if _has(("TimedStorage", "EarlyDelete"), usage) else "default"
    if kind == "ec2":
        if "volumeusage" in usage.lower():
            return "ec2_ebs_volume"
        return "ec2_ebs_snapshot" if "snapshotusage" in usage.lower() else "default"
    if kind == "efs":
        # CCF tests "ZIA" only; AWS bills EFS One Zone as TimedStorage-Z-ByteHrs / IATimedStorage-Z-ByteHrs, the
        # same single-AZ storage, so "-Z-" counts too.
        return "efs_one_zone" if re.search(r"ZIA|-Z-", usage, re.IGNORECASE) else "efs"
    if kind == "rds":
        if "backupusage" in usage.lower():
            return "rds_backup"
        if "aurora" in usage.lower():
            return "rds_aurora"
        return "rds_multi_az" if "multi-az" in usage.lower() else "default"
    if kind == "docdb":
        return "document_db_backup" if "backupusage" in usage.lower() else "document_db_storage"
    if kind == "dynamodb":
        return "dynamo_db"
    if kind == "ecr":
        return "ecr_storage" if "timedstorage" in usage.lower() else "default"
    if kind == "elasticache":
        return "document_elasticache_backup" if "backupusage" in usage.lower() else "default"
    if kind == "simpledb":
        return "simple_db" if "timedstorage" in usage.lower() else "default"
    return "default"


def _gcp_storage_by_location(usage: str, region: str) -> str:
    if "dual-region" in usage.lower() or region in _GCP_DUAL_REGIONS:
        return "cloud_storage_dual_region"
    if "multi-region" in usage.lower() or region in _GCP_MULTI_REGIONS:
        return "cloud_storage_multi_region"
    return "cloud_storage_single_region"


def _gcp(service: str, usage: str, region: str) -> str:
    kind = _compact(service)
    lower = usage.lower()
    if kind == "cloudstorage":
        return _gcp_storage_by_location(usage, "")  # CCF reads the location from the SKU only
    if kind == "computeengine":
        if "regional" in lower:
            return "compute_engine_regional_disks"
        # snapshots and images live in Cloud Storage: its factor for the snapshot's location
        return _gcp_storage_by_location("", region) if _has(("Snapshot", "Image"), usage) else "default"
    if kind in ("cloudfilestore", "filestore"):
        return "cloud_filestore"
    if kind == "cloudsql":
        high_availability = "regional - standard storage" in lower or re.search(r"\bHA\b", usage)
        return "cloud_sql_high_availability" if high_availability else "default"
    if kind == "cloudmemorystoreforredis":
        return "cloud_memory_store_redis" if "standard" in lower else "default"
    if kind == "cloudspanner":
        if "regional" in lower:
            return "cloud_spanner_single_region"
        return "cloud_spanner_multi_region" if "multi-region" in lower else "default"
    if kind == "kubernetesengine":
        regional = "clusters" in lower and ("regional" in lower or "autopilot" in lower)
        return "kubernetes_engine" if regional else "default"
    if kind == "cloudcomposer":
        return "cloud_storage_single_region" if "storage" in lower else "default"
    return "default"


def _azure(service: str, usage: str, region: str) -> str:
    kind = _compact(service)
    if kind == "storage":
        # CCF's order: LRS first, then GZRS before ZRS and GRS (GZRS contains both)
        for token, name in (("LRS", "storage_lrs"), ("GZRS", "storage_gzrs"), ("ZRS", "storage_zrs")):
            if token in usage.upper():
                return name
        if "GRS" in usage.upper():
            return "storage_grs"
        return "storage_disks" if "disks" in usage.lower() else "default"
    if kind == "azuredatabaseformysql":
        return "database_mysql"
    if kind == "azurecosmosdb":
        return "cosmos_db" if "data stored" in usage.lower() else "default"
    if kind == "sqldatabase":
        return "sql_db" if _has(("Data Stored", "vCore"), usage) else "default"
    if kind == "rediscache":
        return "redis_cache"
    return "default"


_RULES: dict[str, Callable[[str, str, str], str]] = {"aws": _aws, "gcp": _gcp, "azure": _azure}


def replication_name(provider: str, service: str, usage_text: str, region: str = "") -> str:
    """Coefficient name ``replication_factor.<provider>.<case>`` for a storage line (default: 1 copy).

    ``usage_text`` is the usage type (AWS), SKU description (GCP) or meter name (Azure); ``region`` the normalized
    region, used for GCP snapshots (multi/dual-region locations).
    """
    rule = _RULES.get(provider)
    case = rule(service or "", usage_text or "", (region or "").lower()) if rule else "default"
    return f"replication_factor.{provider}.{case}"
