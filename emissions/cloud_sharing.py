"""Provider carbon figures against billing estimates: which estimate groups a provider row covers, and
how its figure is shared among them. Pure: stdlib only, no Django; the ledger (ledger_cloud.py) and the
reconciliation view both call it, so they agree.

Rules (docs/methodology.md "Provider figures and billing estimates"):

- A provider row covers its own provider × month × account; its region and service narrow it. It is
  matched to the estimate groups of that account that share its region and service (Azure: its resource
  group and resource), else its region (a row without a region: the whole account). A row that matches
  nothing is still counted, unallocated: a provider figure is never dropped for want of billing lines.
- The row's figure is shared among the matched groups by their estimate (kgCO2e, location-based), else by
  cost, else evenly, so a region without any provider row never receives part of another region's figure.
- Estimate groups of an account the provider does not cover keep their estimate.
- A market-only figure (Azure) takes its location-based value from the matched groups' location/market
  ratio, or, with no billing line, from its region's location factor ÷ residual mix
  (``location_from_market_kg``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

# Providers whose carbon export gives only a market-based figure (Azure Carbon Optimization).
MARKET_ONLY_PROVIDERS = frozenset({"azure"})
# Providers whose exports always include Scope 3 (embodied); AWS CCFT does from model v3.0.0 on.
SCOPE3_PROVIDERS = frozenset({"gcp", "azure"})

# What identifies an estimate group: provider, month, account, region, service, resource, team id, project id.
GroupKey = tuple[str, date, str, str, str, str, int | None, int | None]


class Factor(Protocol):
    """A resolved grid factor as this module reads it (``emissions.factor_book.ResolvedFactor``)."""

    @property
    def value(self) -> float: ...  # gCO2e/kWh

    def as_provenance(self) -> dict[str, Any]: ...


def key_text(value: str) -> str:
    """Region, service and resource names normalized for matching across exports (``east us`` = ``eastus``)."""
    return "".join((value or "").lower().split())


@dataclass
class EstimateGroup:
    """Billing lines of one provider, month, account, region, service (and, for Azure, resource) and owner.

    ``facility_kwh`` is IT energy × PUE (kWh), ``embodied_kg`` the SCI embodied share (kgCO2e);
    ``location_kg``/``market_kg`` are filled by the caller once the grid factors are known (operational
    + embodied, kgCO2e).
    """

    provider: str
    period: date
    account: str
    region: str
    zone: str | None
    service: str
    resource: str
    team_id: int | None
    project_id: int | None
    facility_kwh: float = 0.0
    embodied_kg: float = 0.0
    cost: float = 0.0
    classified_cost: float = 0.0
    unclassified_cost: float = 0.0
    lines: int = 0
    location_kg: float = 0.0
    market_kg: float = 0.0
    idle_facility_kwh: float = 0.0  # part of facility_kwh: billed GPU-hours no tracker run covers, at idle power
    flags: list[str] = field(default_factory=list)

    @property
    def unit(self) -> tuple[str, date, str]:
        """The provider × month × account a provider export covers."""
        return (self.provider, self.period, self.account)

    @property
    def key(self) -> GroupKey:
        return group_key(
            self.provider,
            self.period,
            self.account,
            self.region,
            self.service,
            self.resource,
            self.team_id,
            self.project_id,
        )

    def measured(self, *, facility_delta_kwh: float, idle_facility_kwh: float) -> None:
        """Replace the assumed GPU utilization by tracker measurements (``selectors_cloud.MeasuredGpu``)."""
        self.facility_kwh = max(0.0, self.facility_kwh + facility_delta_kwh)
        self.idle_facility_kwh = min(idle_facility_kwh, self.facility_kwh)
        self.flags.append("measured_gpu_utilization")


@dataclass(frozen=True)
class ProviderRow:
    """One provider carbon figure (kgCO2e) as the ledger needs it; ``zone`` is the grid zone of its region
    (None where we do not know the region)."""

    key: str
    provider: str
    period: date
    account: str
    region: str
    service: str
    location_kg: float
    market_kg: float
    model_version: str = ""
    scope3_kg: float | None = None
    zone: str | None = None  # grid zone of the row's region (CloudRegion), for a market-only figure's location

    @property
    def unit(self) -> tuple[str, date, str]:
        return (self.provider, self.period, self.account)

    @property
    def reports_location(self) -> bool:
        """False where the provider gives a market-based figure only (its location field repeats it)."""
        return self.provider not in MARKET_ONLY_PROVIDERS

    @property
    def includes_embodied(self) -> bool:
        """Whether the figure includes Scope 3 (the hardware's embodied emissions)."""
        if self.provider in SCOPE3_PROVIDERS or self.scope3_kg is not None:
            return True
        version = self.model_version.lower().lstrip("v").split(".", 1)[0]
        return version.isdigit() and int(version) >= 3  # AWS CCFT v3.0.0 added Scope 3


def location_from_market_kg(market_kg: float, location: Factor | None, residual: Factor | None) -> float | None:
    """The location-based kgCO2e of a market-only provider figure (Azure) that no billing line shares out:
    the figure × (location factor ÷ residual mix) of its region's zone for the month (both gCO2e/kWh), the
    ratio our own estimate would have between the two methods for the same kWh. None without both
    factors (the caller keeps the market figure and says so in a data gap)."""
    if location is None or residual is None or residual.value <= 0:
        return None
    return market_kg * location.value / residual.value


def group_key(
    provider: str,
    period: date,
    account: str,
    region: str,
    service: str,
    resource: str,
    team_id: int | None,
    project_id: int | None,
) -> GroupKey:
    """What identifies an estimate group."""
    return (provider, period, account, key_text(region), key_text(service), resource, team_id, project_id)


def fill_unclassified(groups: list[EstimateGroup]) -> None:
    """Give each group's unclassified cost the kWh per cost of its provider-month's classified lines (CCF).

    The ratio is computed once per provider-month from the classified energy before any group is filled,
    so the result does not depend on the groups' order.
    """
    kwh: dict[tuple[str, date], float] = defaultdict(float)
    cost: dict[tuple[str, date], float] = defaultdict(float)
    for group in groups:
        kwh[(group.provider, group.period)] += group.facility_kwh
        cost[(group.provider, group.period)] += group.classified_cost
    for group in groups:
        if group.unclassified_cost:
            month = (group.provider, group.period)
            ratio = kwh[month] / cost[month] if cost[month] else 0.0
            group.facility_kwh += group.unclassified_cost * ratio
            group.flags.append("unclassified_by_cost_ratio")


def price_group(group: EstimateGroup, location: Factor | None, residual: Factor | None) -> dict[str, Any]:
    """Fill ``group``'s location- and market-based kgCO2e (facility kWh × factor + embodied share) and return
    the factors used. ``location``/``residual`` are resolved factors (``.value`` gCO2e/kWh,
    ``.as_provenance()``) or None; market-based falls back to the location factor (flagged) where the zone has
    no residual mix, and with no location factor only the embodied share counts (flagged)."""
    if location is None:
        group.flags.append("no_grid_factor")
        group.location_kg = group.market_kg = group.embodied_kg
        return {"embodied_kg": group.embodied_kg, "lines": group.lines, "flags": group.flags}
    if residual is None:
        group.flags.append("market_from_location_factor")
    market = residual or location
    group.location_kg = group.facility_kwh * location.value / 1000 + group.embodied_kg
    group.market_kg = group.facility_kwh * market.value / 1000 + group.embodied_kg
    return {
        "location": location.as_provenance(),
        "market": market.as_provenance(),
        "embodied_kg": group.embodied_kg,
        "lines": group.lines,
        "account": group.account,
        "service": group.service,
        "flags": group.flags,
    }


def azure_resource(resource_id: str) -> str:
    """``<resource group>/<top-level resource name>`` of an Azure resource id (lower case), the key Azure's
    carbon report uses: ``/subscriptions/…/resourceGroups/rg/providers/Microsoft.Compute/
    virtualMachineScaleSets/vmss/virtualMachines/0`` → ``rg/vmss``; "" for anything else."""
    parts = [part for part in (resource_id or "").split("/") if part]
    lowered = [part.lower() for part in parts]
    if "resourcegroups" not in lowered or "providers" not in lowered:
        return ""
    group = parts[lowered.index("resourcegroups") + 1]
    name_at = lowered.index("providers") + 3  # providers/<namespace>/<type>/<name>
    return key_text(f"{group}/{parts[name_at]}") if name_at < len(parts) else ""


def _service_matches(row: ProviderRow, group: EstimateGroup) -> bool:
    if row.provider == "azure":  # Azure's report names resources (resource group/name), not meter categories
        return bool(group.resource) and group.resource == key_text(row.service)
    return key_text(row.service) == key_text(group.service)


def matched_groups(row: ProviderRow, groups: Iterable[EstimateGroup]) -> tuple[list[EstimateGroup], str]:
    """The estimate groups ``row`` covers and how they were matched: ``service`` (same region and service),
    ``region``, ``account`` (a row without a region) or ``none`` (no billing line of that account, month and
    region: the caller books the figure unallocated)."""
    same_unit = [group for group in groups if group.unit == row.unit]
    region = key_text(row.region)
    same_region = [group for group in same_unit if key_text(group.region) == region] if region else same_unit
    same_service = [group for group in same_region if _service_matches(row, group)]
    # A row of a region the bill has no line in is not smeared over the account's other regions.
    for level, candidates in (("service", same_service), ("region" if region else "account", same_region)):
        if candidates:
            return candidates, level
    return [], "none"


def shares(groups: list[EstimateGroup]) -> list[float]:
    """Each group's share of a provider figure: by estimate (location kgCO2e), else cost, else evenly."""
    for weights in ([g.location_kg for g in groups], [g.cost for g in groups]):
        total = sum(w for w in weights if w > 0)
        if total > 0:
            return [max(w, 0.0) / total for w in weights]
    return [1.0 / len(groups)] * len(groups) if groups else []
