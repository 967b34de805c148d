"""Stable choice values of the domain (stored lowercase, shown by their labels)."""

from django.db import models


class Role(models.TextChoices):
    """What a member may do inside one organization."""

    ORG_ADMIN = "org_admin", "Organization admin"  # everything, including members and settings
    GUILD_MEMBER = "guild_member", "Guild member"  # reads everything in the organization
    TEAM_MEMBER = "team_member", "Team member"  # reads the organization, writes its own team
    VIEWER = "viewer", "Viewer"  # reads dashboards only


class ConsolidationApproach(models.TextChoices):
    """GHG Protocol Corporate Standard ch. 3 organizational boundary."""

    OPERATIONAL_CONTROL = "operational_control", "Operational control"
    FINANCIAL_CONTROL = "financial_control", "Financial control"
    EQUITY_SHARE = "equity_share", "Equity share"


class ProjectStage(models.TextChoices):
    RESEARCH = "research", "Research"
    TRAINING = "training", "Training"
    PRODUCTION = "production", "Production"


class RunKind(models.TextChoices):
    TRAINING = "training", "Training"
    FINE_TUNING = "fine_tuning", "Fine-tuning"
    INFERENCE = "inference", "Inference"
    EVALUATION = "evaluation", "Evaluation"
    DEVELOPMENT = "development", "Development"


class EfficiencyTechnique(models.TextChoices):
    MIXED_PRECISION = "mixed_precision", "Mixed precision"
    QUANTIZATION = "quantization", "Quantization"
    PRUNING = "pruning", "Pruning"
    DISTILLATION = "distillation", "Distillation"
    EARLY_STOPPING = "early_stopping", "Early stopping"
    CARBON_AWARE_SCHEDULING = "carbon_aware_scheduling", "Carbon-aware scheduling"
    CHECKPOINT_REUSE = "checkpoint_reuse", "Checkpoint reuse"
    # Moving work to a cleaner grid: like carbon-aware scheduling it lowers gCO2e per kWh, not kWh.
    REGION_MOVE = "region_move", "Region move"


class SiteOwnership(models.TextChoices):
    OWNED = "owned", "Owned data centre"
    COLOCATION = "colocation", "Colocation"
    CLOUD = "cloud", "Cloud region"


class CloudProvider(models.TextChoices):
    AWS = "aws", "Amazon Web Services"
    GCP = "gcp", "Google Cloud"
    AZURE = "azure", "Microsoft Azure"


class FactorKind(models.TextChoices):
    """What a grid factor measures (all in gCO2e per kWh)."""

    LOCATION = "location", "Location-based, direct (combustion)"
    LIFECYCLE = "lifecycle", "Location-based, lifecycle"
    RESIDUAL_MIX = "residual_mix", "Residual mix"
    TD_LOSS = "td_loss", "Transmission and distribution losses"
    UPSTREAM = "upstream", "Upstream (well-to-tank) of generation"


class InstrumentKind(models.TextChoices):
    """Contractual instruments for Scope 2 market-based, in the Scope 2 Guidance hierarchy order."""

    REC = "rec", "Renewable energy certificate (REC)"
    GO = "go", "Guarantee of origin (GO)"
    IREC = "irec", "I-REC"
    PPA = "ppa", "Power purchase agreement"
    GREEN_TARIFF = "green_tariff", "Green tariff"
    SUPPLIER_RATE = "supplier_rate", "Supplier-specific emission rate"


class AssetClass(models.TextChoices):
    GPU = "gpu", "GPU"
    GPU_BASEBOARD = "gpu_baseboard", "GPU baseboard"
    GPU_SERVER = "gpu_server", "GPU server (complete)"
    SERVER_NODE_WITHOUT_GPUS = "server_node_without_gpus", "Server node without GPUs"
    SERVER = "server", "CPU server"
    STORAGE = "storage", "Storage"
    NETWORK = "network", "Network equipment"


# Default expected lifetime per asset class in years (management view only; see docs/methodology.md).
DEFAULT_LIFETIME_YEARS = {
    AssetClass.GPU: 5,
    AssetClass.GPU_BASEBOARD: 5,
    AssetClass.GPU_SERVER: 5,
    AssetClass.SERVER_NODE_WITHOUT_GPUS: 5,
    AssetClass.SERVER: 4,
    AssetClass.STORAGE: 5,
    AssetClass.NETWORK: 6,
}


class DisposalRoute(models.TextChoices):
    RECYCLING = "recycling", "Recycling"
    LANDFILL = "landfill", "Landfill"
    INCINERATION = "incineration", "Incineration"
    RESALE = "resale", "Resale / reuse"


class ChargeCategory(models.TextChoices):
    """Billing line kinds; only usage gives energy."""

    USAGE = "usage", "Usage"
    TAX = "tax", "Tax"
    CREDIT = "credit", "Credit"
    PURCHASE = "purchase", "Purchase"
    ADJUSTMENT = "adjustment", "Adjustment"


class Scope(models.IntegerChoices):
    SCOPE_1 = 1, "Scope 1"
    SCOPE_2 = 2, "Scope 2"
    SCOPE_3 = 3, "Scope 3"


class Basis(models.TextChoices):
    """Which view an emission record belongs to; inventory and management views never mix."""

    OPERATIONAL = "operational", "Operational"
    CAPITAL_GOODS = "capital_goods", "Capital goods (inventory view)"
    EMBODIED_AMORTIZED = "embodied_amortized", "Embodied, amortized (management view)"
    EMBODIED_WRITE_OFF = "embodied_write_off", "Embodied write-off (management view)"


class QualityTier(models.TextChoices):
    """Where a figure's activity data comes from, best first."""

    METERED = "metered", "Metered"
    PROVIDER_REPORTED = "provider_reported", "Provider-reported"
    # A product carbon footprint the supplier gave the buyer (an asset's own embodied figure): primary data
    # about the goods bought, not a catalogue default (GHG Protocol Scope 3 Standard, ch. 7).
    SUPPLIER_SPECIFIC = "supplier_specific", "Supplier-specific"
    MEASURED = "measured", "Measured (RAPL/NVML)"
    ESTIMATED_TDP = "estimated_tdp", "Estimated from TDP"
    # Energy from a tracker, placed on a grid by what the tracker reported (country, region) or by the
    # organization's default location: the factor, not the energy, is the weak part.
    ESTIMATED_LOCATION = "estimated_location", "Estimated location"
    BILLING_ESTIMATE = "billing_estimate", "Billing-based estimate"
    DEFAULT = "default", "Default value"


class ActivityKind(models.TextChoices):
    """The kind of activity row an emission record was computed from."""

    SITE_ELECTRICITY = "site_electricity", "Site electricity"
    RUN = "run", "Run"
    CLOUD_USAGE = "cloud_usage", "Cloud usage"
    HARDWARE_ASSET = "hardware_asset", "Hardware asset"
    FUEL_USE = "fuel_use", "Fuel use"
    REFRIGERANT_LOSS = "refrigerant_loss", "Refrigerant loss"
    UNALLOCATED = "unallocated", "Unallocated / idle"


class OffsiteRunsScope(models.TextChoices):
    """Where runs with no site and no cloud region go in the inventory (docs/methodology.md, "Off-site runs")."""

    THIRD_PARTY = "third_party", "Third-party compute: Scope 3 Cat 1"
    OWN_EQUIPMENT = "own_equipment", "Own equipment, no meter: Scope 2 at the grid average"


class LocationSource(models.TextChoices):
    """How a run's grid location was found, most reliable first."""

    SITE = "site", "Site (token or import)"
    CLOUD_REGION = "cloud_region", "Tracker's cloud region"
    TRACKER_REGION = "tracker_region", "Tracker's country and region"
    TRACKER_COUNTRY = "tracker_country", "Tracker's country"
    ORGANIZATION_DEFAULT = "organization_default", "Organization's default location"
    UNKNOWN = "", "Unknown"
