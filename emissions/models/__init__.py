"""GreenGuild's domain model; see docs/domain-model.md for the picture.

Quantities carry their unit in the field name and all times are UTC.
"""

from emissions.models.activity import (
    AllocationRule,
    CarbonCredit,
    CloudEstimateBasis,
    CloudTagSet,
    CloudUsage,
    FuelUse,
    MeterReading,
    ProviderCarbon,
    RefrigerantLoss,
    Run,
    RunAlias,
    RunSample,
    cloud_line_key_hex,
    cloud_line_keys_raw,
)
from emissions.models.factors import (
    CertificateUse,
    CloudRegion,
    EnergyInstrument,
    FactorDataset,
    FuelFactor,
    GlobalWarmingPotential,
    GridEnergyMix,
    GridFactor,
    GridZone,
    HourlyIntensity,
)
from emissions.models.hardware import DisposalFactor, HardwareAsset, HardwareModel
from emissions.models.hourly import GranularCertificate, HourlyMeterReading
from emissions.models.ledger import Calculation, EmissionRecord
from emissions.models.rollups import DailyEmissionRollup, DailyRollupWatermark, RunEmissionRollup
from emissions.models.tenancy import (
    ApiToken,
    Experiment,
    Membership,
    NetRevenue,
    Organization,
    Project,
    Site,
    Team,
)

__all__ = [
    "AllocationRule",
    "ApiToken",
    "Calculation",
    "CarbonCredit",
    "CertificateUse",
    "CloudEstimateBasis",
    "CloudRegion",
    "CloudTagSet",
    "CloudUsage",
    "DailyEmissionRollup",
    "DailyRollupWatermark",
    "DisposalFactor",
    "EmissionRecord",
    "EnergyInstrument",
    "Experiment",
    "FactorDataset",
    "FuelFactor",
    "FuelUse",
    "GlobalWarmingPotential",
    "GranularCertificate",
    "GridEnergyMix",
    "GridFactor",
    "GridZone",
    "HardwareAsset",
    "HardwareModel",
    "HourlyIntensity",
    "HourlyMeterReading",
    "Membership",
    "MeterReading",
    "NetRevenue",
    "Organization",
    "Project",
    "ProviderCarbon",
    "RefrigerantLoss",
    "Run",
    "RunAlias",
    "RunEmissionRollup",
    "RunSample",
    "Site",
    "Team",
    "cloud_line_key_hex",
    "cloud_line_keys_raw",
]
