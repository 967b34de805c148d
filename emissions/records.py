"""Normalized input records: the contract between ingest parsers and emissions services.

Frozen dataclasses with units in every field name. They live in ``emissions`` so that services can
type their arguments without importing ``ingest`` (imports point inward).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any


@dataclass(frozen=True)
class SiteRecord:
    """One row of the ``sites`` inventory file."""

    name: str
    ownership: str
    grid_zone_code: str
    pue: float
    wue_l_per_kwh: float
    buys_electricity: bool


@dataclass
class UpsertOutcome:
    """What an idempotent upsert did with a list of records.

    ``loaded`` counts records newly written or changed, ``duplicate`` records already stored
    identically, and ``rejected`` maps a record's position in the input list to the reason.
    ``repeated`` counts the duplicates that repeat an earlier record of the same input (billing lines:
    an exact copy of another row of the file), ``repeated_cost`` their cost by currency,
    ``repeated_quantity`` their quantity by unit and ``repeated_rows`` their row numbers where known.
    """

    loaded: int = 0
    duplicate: int = 0
    rejected: dict[int, str] = field(default_factory=dict)
    repeated: int = 0
    repeated_cost: dict[str, float] = field(default_factory=dict)
    repeated_quantity: dict[str, float] = field(default_factory=dict)
    repeated_rows: list[int] = field(default_factory=list)


# Inventory inputs. ``site`` fields hold the site's slug or name as written in the file; the loader
# resolves them within the importing organization.


@dataclass(frozen=True)
class MeterReadingRecord:
    """One row of ``site_electricity``: metered facility kWh of a site, dates inclusive."""

    site: str
    period_start: date
    period_end: date
    energy_kwh: float


@dataclass(frozen=True)
class GridFactorRecord:
    """One row of ``grid_factors``: the organization's own factor for a zone, year and optional month."""

    zone_code: str
    year: int
    month: int | None
    kind: str
    intensity_g_per_kwh: float
    source: str
    licence: str


@dataclass(frozen=True)
class EnergyInstrumentRecord:
    """One row of ``energy_instruments``: a contractual instrument (Scope 2 market-based)."""

    instrument_id: str
    kind: str
    zone_code: str
    vintage_start: date
    vintage_end: date
    energy_mwh: float
    emission_factor_g_per_kwh: float
    site: str | None
    bundled: bool


@dataclass(frozen=True)
class HardwareAssetRecord:
    """One row of ``hardware_assets``; ``None`` takes the catalogue model's default."""

    asset_id: str
    site: str
    hardware_model_name: str
    quantity: int
    acquired_on: date
    in_service_on: date
    lifetime_years: float | None
    retired_on: date | None
    embodied_kg_co2e_per_unit: float | None
    disposal_route: str
    team: str = ""  # team slug or name; empty: the organization's (no team)


@dataclass(frozen=True)
class FuelUseRecord:
    """One row of ``fuel``: ``quantity`` of ``fuel`` in ``unit`` burnt at a site on a day (Scope 1)."""

    site: str
    used_on: date
    fuel: str
    quantity: float
    unit: str


@dataclass(frozen=True)
class RefrigerantLossRecord:
    """One row of ``refrigerant``: kg of a gas leaked at a site on a day (Scope 1 fugitive)."""

    site: str
    occurred_on: date
    gas: str
    kg_leaked: float


@dataclass(frozen=True)
class CarbonCreditRecord:
    """One row of ``carbon_credits``: a cancelled credit, in metric tonnes CO2e (ESRS E1-7)."""

    credit_id: str
    cancelled_on: date
    tonnes_co2e: float
    kind: str
    standard: str
    project: str


@dataclass(frozen=True)
class DisposalFactorRecord:
    """One row of ``disposal_factors``: end-of-life kgCO2e per unit of an asset class by route."""

    asset_class: str
    disposal_route: str
    kg_co2e_per_unit: float
    source: str


@dataclass(frozen=True)
class RunRecord:
    """One run from a tracker, a file or the native API, with IT energy in kWh.

    ``external_id`` is the source's run id (unique per source in an organization); a later record with
    the same id *replaces* the stored run (trackers report cumulative totals). ``project_name`` is
    matched to a project slug or name when the import names no project. Times are timezone-aware UTC.
    ``tracker_pue`` is the PUE the tracker already applied (CodeCarbon's ``pue``), never applied again.
    """

    source: str
    external_id: str
    started_at: datetime
    duration_s: float
    energy_kwh: float
    ended_at: datetime | None = None
    cpu_energy_kwh: float = 0.0
    gpu_energy_kwh: float = 0.0
    ram_energy_kwh: float = 0.0
    project_name: str = ""
    experiment_external_id: str = ""
    kind: str = "training"
    tracker_pue: float | None = None
    cpu_model: str = ""
    cpu_count: int = 0
    gpu_model: str = ""
    gpu_count: int = 0
    gpu_utilization_pct: float | None = None
    country_iso3: str = ""
    tracker_region: str = ""
    cloud_provider: str = ""
    cloud_region: str = ""
    tracker_emissions_kg_co2e: float | None = None
    tracker_name: str = ""
    tracker_version: str = ""
    user_name: str = ""
    tags: tuple[tuple[str, str], ...] = ()
    efficiency_techniques: tuple[str, ...] = ()
    tokens_processed: int | None = None
    inferences_count: int | None = None
    flags: tuple[str, ...] = ()
    # Quality tier per energy component ("cpu", "gpu", "ram") when the parser knows how it was measured;
    # otherwise the store applies the tracker's documented rule (emissions/services/run_quality.py).
    component_quality: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class RunSampleRecord:
    """One delta a live tracker sent: energies (kWh) and duration (s) of the interval since its last
    upload, average powers (W), utilizations (%), its own kgCO2e for the interval. ``dedupe_key`` is
    a digest of the sample's content: a retried identical sample has the same key."""

    recorded_at: datetime
    dedupe_key: str
    duration_s: float
    energy_kwh: float
    cpu_energy_kwh: float = 0.0
    gpu_energy_kwh: float = 0.0
    ram_energy_kwh: float = 0.0
    cpu_power_w: float | None = None
    gpu_power_w: float | None = None
    ram_power_w: float | None = None
    cpu_utilization_pct: float | None = None
    gpu_utilization_pct: float | None = None
    tracker_emissions_kg_co2e: float | None = None


@dataclass(frozen=True)
class CloudUsageRecord:
    """One normalized cloud billing line, whatever the export dialect (AWS CUR, GCP, Azure, FOCUS).

    ``usage_quantity`` is in ``usage_unit``, a canonical unit of ingest/parsers/billing_units.py
    (``hour``, ``vcpu-hour``, ``gb-hour``, ``gb-month``, ``gb``, ``request``, ``unit``...).
    ``line_item_key`` is the provider's line item id, else a digest of the row: with
    (provider, billing_period) it identifies the line, so a restated month replaces its lines.
    """

    provider: str
    billing_account: str
    account_id: str
    billing_period: date
    line_item_key: str
    charge_category: str
    service: str
    sku: str
    usage_type: str
    instance_type: str
    region: str
    usage_start: datetime
    usage_end: datetime
    usage_quantity: float
    usage_unit: str
    cost: float
    currency: str
    resource_id: str = ""
    tags: tuple[tuple[str, str], ...] = ()
    vcpu_count: float | None = None
    gpu_count: float | None = None
    memory_gb: float | None = None
    # Software sold through the provider's marketplace (AWS Marketplace, a FOCUS publisher other than the
    # provider, Azure Marketplace, a GCP seller): a licence fee, never compute, whatever its usage type says.
    marketplace: bool = False


@dataclass(frozen=True)
class CloudEstimate:
    """Billing-based energy and embodied estimate of one usage line (CCF-style, SCI embodied share).

    Energies in kWh *before* PUE by class; ``pue`` the provider's; ``embodied_kg_co2e`` the SCI share
    of the hardware's embodied emissions; ``classification`` compute | gpu | memory | storage |
    network | unclassified | none (non-usage lines); ``coefficients`` records every value used and
    its source; ``fell_back`` says whether an average replaced a specific coefficient.
    """

    compute_energy_kwh: float = 0.0
    gpu_energy_kwh: float = 0.0
    memory_energy_kwh: float = 0.0
    storage_energy_kwh: float = 0.0
    network_energy_kwh: float = 0.0
    embodied_kg_co2e: float = 0.0
    pue: float = 1.0
    classification: str = "none"
    fell_back: bool = False
    coefficients: tuple[tuple[str, object], ...] = ()

    @property
    def it_energy_kwh(self) -> float:
        return (
            self.compute_energy_kwh
            + self.gpu_energy_kwh
            + self.memory_energy_kwh
            + self.storage_energy_kwh
            + self.network_energy_kwh
        )


@dataclass(frozen=True)
class ProviderCarbonRecord:
    """A cloud provider's own carbon figure for an account/project, region, service and month (kgCO2e).

    Location- and market-based where the provider gives both (AWS CCFT: LBM/MBM; GCP: scope 2 both
    ways plus scopes 1 and 3; Azure: scopes 1–3, market-based); ``total_*`` are what the customer
    reports as Scope 3 Cat 1.
    """

    provider: str
    account_id: str
    billing_period: date
    region: str
    service: str
    total_location_kg_co2e: float
    total_market_kg_co2e: float
    source_row_key: str
    scope1_kg_co2e: float | None = None
    scope2_location_kg_co2e: float | None = None
    scope2_market_kg_co2e: float | None = None
    scope3_kg_co2e: float | None = None
    model_version: str = ""


@dataclass(frozen=True)
class CloudUsageLines:
    """Many billing lines in columns (the columnar import path): each line is one of ``kinds`` with its own
    key, times, quantity, cost and resource.

    ``kinds`` are records whose per-line fields are placeholders; ``kind_index[i]`` is line i's kind.
    ``usage_start``, ``usage_end`` and ``billing_period`` are ``(distinct values, index per line)``.
    ``usage_quantity`` is in the kind's canonical ``usage_unit``; ``cost`` in the kind's currency.
    Arrays are numpy arrays of equal length; ``line_item_key`` and ``resource_id`` are lists of str.
    """

    kinds: tuple[CloudUsageRecord, ...]
    kind_index: Any
    line_item_key: list[str]
    resource_id: list[str]
    usage_start: tuple[tuple[datetime, ...], Any]
    usage_end: tuple[tuple[datetime, ...], Any]
    billing_period: tuple[tuple[date, ...], Any]
    usage_quantity: Any
    cost: Any
    row_number: Any

    def __len__(self) -> int:
        return len(self.line_item_key)

    def records(self) -> list[CloudUsageRecord]:
        """The lines as records, exactly as the row path builds them."""
        starts, ends, periods = (
            [values[i] for i in index.tolist()]
            for values, index in (self.usage_start, self.usage_end, self.billing_period)
        )
        return [
            replace(
                self.kinds[kind],
                line_item_key=key,
                resource_id=resource,
                usage_start=start,
                usage_end=end,
                billing_period=period,
                usage_quantity=quantity,
                cost=cost,
            )
            for kind, key, resource, start, end, period, quantity, cost in zip(
                self.kind_index.tolist(),
                self.line_item_key,
                self.resource_id,
                starts,
                ends,
                periods,
                self.usage_quantity.tolist(),
                self.cost.tolist(),
                strict=True,
            )
        ]
