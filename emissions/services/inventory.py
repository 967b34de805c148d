"""Writes for the inventory imports: meter readings (by period and by hour), the organization's own grid and
disposal factors and its own hourly grid intensity, energy instruments and granular certificates, the fleet
register, fuel, refrigerant losses and carbon credits.

Every loader is keyword-only, atomic and idempotent. A record identical to the stored row (same key,
same values) counts as a duplicate and writes nothing; a changed record updates that row in place and
counts as loaded. A reference that cannot be resolved within the organization (site, zone, hardware
model, fuel, gas) rejects the record with a reason; loaders never raise for bad input.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Sequence
from typing import Any, TypeVar

from django.db import models, transaction
from django.db.models import Q

from emissions.catalogue_names import HardwareCatalogue, gas_lookup, name_key
from emissions.hourly_records import GranularCertificateRecord, GridIntensityHourlyRecord, HourlyMeterReadingRecord
from emissions.models import (
    CarbonCredit,
    DisposalFactor,
    EnergyInstrument,
    FactorDataset,
    FuelFactor,
    FuelUse,
    GlobalWarmingPotential,
    GranularCertificate,
    GridFactor,
    GridZone,
    HardwareAsset,
    HourlyIntensity,
    HourlyMeterReading,
    MeterReading,
    Organization,
    RefrigerantLoss,
    Site,
    Team,
)
from emissions.records import (
    CarbonCreditRecord,
    DisposalFactorRecord,
    EnergyInstrumentRecord,
    FuelUseRecord,
    GridFactorRecord,
    HardwareAssetRecord,
    MeterReadingRecord,
    RefrigerantLossRecord,
    UpsertOutcome,
)

# The one dataset that holds an organization's imported grid and disposal factors.
ORG_DATASET_NAME = "organization-factors"
ORG_DATASET_VERSION = "1"
# The one dataset that holds an organization's own hourly grid intensity (``grid_intensity_hourly``): one
# version, so that an hour sent again replaces the stored one instead of adding a second value of it.
ORG_HOURLY_DATASET_NAME = "own-hourly-intensity"


class _Rejected(Exception):
    """A record that cannot be loaded; ``reason`` is what the row error says."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _each(records: Sequence[Any], store: Callable[[Any], bool]) -> UpsertOutcome:
    """Run ``store(record)`` (True = written, False = already identical) and tally the outcome."""
    outcome = UpsertOutcome()
    for index, record in enumerate(records):
        try:
            written = store(record)
        except _Rejected as exc:
            outcome.rejected[index] = exc.reason
            continue
        if written:
            outcome.loaded += 1
        else:
            outcome.duplicate += 1
    return outcome


_Row = TypeVar("_Row", bound=models.Model)


def _store(
    model: type[_Row],
    existing: dict[Hashable, _Row],
    key: Hashable,
    *,
    create: dict[str, Any],
    values: dict[str, Any],
    source_batch_id: int | None = None,
) -> bool:
    """Create the row for ``key`` or update its ``values``; False (nothing written) when identical.

    ``create`` holds the key fields, set only on a new row. ``values`` use attnames (``zone_id``) so
    comparing never loads a related row. ``source_batch_id`` is written only for models that have it.
    """
    batch = {"source_batch_id": source_batch_id} if hasattr(model, "source_batch_id") else {}
    row = existing.get(key)
    if row is None:
        existing[key] = model._default_manager.create(**create, **values, **batch)
        return True
    if all(getattr(row, name) == value for name, value in values.items()):
        return False
    for name, value in {**values, **batch}.items():
        setattr(row, name, value)
    row.save(update_fields=[*values, *batch])
    return True


class _Sites:
    """Resolves a file's site text to a Site of the organization: by slug first, then by name
    (both case-insensitive). Another organization's sites are never candidates."""

    def __init__(self, organization: Organization):
        self._by_slug: dict[str, Site] = {}
        self._by_name: dict[str, list[Site]] = defaultdict(list)
        for site in Site.objects.for_org(organization).only("id", "name", "slug", "zone_id"):
            self._by_slug[site.slug.lower()] = site
            self._by_name[site.name.casefold()].append(site)

    def get(self, text: str) -> Site:
        site = self._by_slug.get(text.lower())
        if site is not None:
            return site
        matches = self._by_name.get(text.casefold(), [])
        if len(matches) == 1:
            return matches[0]
        if matches:
            slugs = ", ".join(sorted(site.slug for site in matches))
            raise _Rejected(f"site {text!r} names {len(matches)} sites; write the slug instead ({slugs})")
        raise _Rejected(
            f"unknown site {text!r}: no site of this organization has that slug or name (import it with `sites` first)"
        )


class _Teams:
    """Resolves a file's team text to a Team of the organization by slug, then by name (case-insensitive)."""

    def __init__(self, organization: Organization):
        self._teams = list(Team.objects.for_org(organization).only("id", "name", "slug"))

    def get(self, text: str) -> Team:
        by_slug = [team for team in self._teams if team.slug.lower() == text.lower()]
        by_name = [team for team in self._teams if team.name.casefold() == text.casefold()]
        if by_slug or len(by_name) == 1:
            return (by_slug or by_name)[0]
        if by_name:
            slugs = ", ".join(sorted(team.slug for team in by_name))
            raise _Rejected(f"team {text!r} names {len(by_name)} teams; write the slug instead ({slugs})")
        raise _Rejected(f"unknown team {text!r}: no team of this organization has that slug or name")


def _zones(codes: set[str]) -> Callable[[str], GridZone]:
    zones = {zone.code: zone for zone in GridZone.objects.filter(code__in=codes)}

    def get(code: str) -> GridZone:
        zone = zones.get(code)
        if zone is None:
            raise _Rejected(f"unknown grid zone {code!r} (see /admin/emissions/gridzone/)")
        return zone

    return get


def _org_dataset(
    organization: Organization,
    name: str = ORG_DATASET_NAME,
    title: str = "own factors",
    licence: str = "as stated per row",
) -> Callable[[], FactorDataset]:
    """The organization's own factor dataset ``name`` (version ``ORG_DATASET_VERSION``), created on first use
    (so a file of rejects creates nothing)."""
    found: list[FactorDataset] = []

    def get() -> FactorDataset:
        if not found:
            dataset, _ = FactorDataset.objects.get_or_create(
                organization=organization,
                name=name,
                version=ORG_DATASET_VERSION,
                defaults={
                    "title": f"{organization.name}'s {title}",
                    "source": "imported by the organization",
                    "licence": licence,
                },
            )
            found.append(dataset)
        return found[0]

    return get


def _org_dataset_rows(model: type[models.Model], organization: Organization) -> models.QuerySet:
    """The rows of ``model`` in the organization's own dataset (none before its first import)."""
    return model.objects.filter(
        dataset__organization=organization, dataset__name=ORG_DATASET_NAME, dataset__version=ORG_DATASET_VERSION
    )


@transaction.atomic
def meter_reading_upsert_many(
    *, organization: Organization, records: Sequence[MeterReadingRecord], source_batch_id: int | None = None
) -> UpsertOutcome:
    """Upsert metered site electricity on (site, period_start, period_end); overlapping periods are rejected."""
    sites = _Sites(organization)
    existing: dict[Hashable, MeterReading] = {}
    by_site: dict[int, list[MeterReading]] = defaultdict(list)
    for reading in MeterReading.objects.for_org(organization):
        existing[(reading.site_id, reading.period_start, reading.period_end)] = reading
        by_site[reading.site_id].append(reading)

    def store(record: MeterReadingRecord) -> bool:
        site = sites.get(record.site)
        key = (site.pk, record.period_start, record.period_end)
        is_new = key not in existing
        if is_new:
            # Two readings covering the same days would count that electricity twice.
            for other in by_site[site.pk]:
                if other.period_start <= record.period_end and record.period_start <= other.period_end:
                    raise _Rejected(
                        f"period {record.period_start}–{record.period_end} overlaps the stored reading "
                        f"{other.period_start}–{other.period_end} of site {site.name!r}; correct that reading instead"
                    )
        written = _store(
            MeterReading,
            existing,
            key,
            create={"site_id": site.pk, "period_start": record.period_start, "period_end": record.period_end},
            values={"energy_kwh": record.energy_kwh},
            source_batch_id=source_batch_id,
        )
        if is_new:
            by_site[site.pk].append(existing[key])
        return written

    return _each(records, store)


@transaction.atomic
def hourly_meter_reading_upsert_many(
    *,
    organization: Organization,
    records: Sequence[HourlyMeterReadingRecord],
    source_batch_id: int | None = None,
    options: dict | None = None,
) -> UpsertOutcome:
    """Upsert a site's facility kWh per hour on (site, hour_start); the hourly Scope 2 reads them
    (emissions/services/hourly_scope2.py). A month with any hourly reading takes hourly readings only.

    ``options`` (the batch's) are accepted for the meter API's JSON source and not used: its parser already
    put the batch's site on every record."""
    sites = _Sites(organization)
    existing: dict[Hashable, HourlyMeterReading] = {}
    if records:
        first, last = min(r.hour_start for r in records), max(r.hour_start for r in records)
        for reading in HourlyMeterReading.objects.for_org(organization).filter(
            hour_start__gte=first, hour_start__lte=last
        ):
            existing[(reading.site_id, reading.hour_start)] = reading

    def store(record: HourlyMeterReadingRecord) -> bool:
        site = sites.get(record.site)
        return _store(
            HourlyMeterReading,
            existing,
            (site.pk, record.hour_start),
            create={"site_id": site.pk, "hour_start": record.hour_start},
            values={"energy_kwh": record.energy_kwh},
            source_batch_id=source_batch_id,
        )

    return _each(records, store)


@transaction.atomic
def hourly_intensity_upsert_many(
    *, organization: Organization, records: Sequence[GridIntensityHourlyRecord], source_batch_id: int | None = None
) -> UpsertOutcome:
    """Upsert the organization's own hourly grid intensity on (zone, hour_start) in its own dataset
    ``own-hourly-intensity``: an hour sent again replaces all three values (an omitted residual mix or
    carbon-free share becomes empty). Read through ``HourlyIntensity.objects.visible_to``, where its own value
    of an hour wins over a shipped one; no other organization ever reads it.

    ``source_batch_id`` is accepted like every loader's, but an hourly intensity keeps no batch reference.
    """
    zones = _zones({record.zone_code for record in records})
    dataset = _org_dataset(
        organization, ORG_HOURLY_DATASET_NAME, "own hourly grid intensity", "as stated by the organization"
    )
    existing: dict[Hashable, HourlyIntensity] = {}
    if records:
        first, last = min(r.hour_start for r in records), max(r.hour_start for r in records)
        for row in HourlyIntensity.objects.filter(
            dataset__organization=organization,
            dataset__name=ORG_HOURLY_DATASET_NAME,
            dataset__version=ORG_DATASET_VERSION,
            zone__code__in={record.zone_code for record in records},
            hour_start__gte=first,
            hour_start__lte=last,
        ):
            existing[(row.zone_id, row.hour_start)] = row

    def store(record: GridIntensityHourlyRecord) -> bool:
        zone = zones(record.zone_code)
        return _store(
            HourlyIntensity,
            existing,
            (zone.pk, record.hour_start),
            create={"dataset": dataset(), "zone_id": zone.pk, "hour_start": record.hour_start},
            values={
                "intensity_g_per_kwh": record.intensity_g_per_kwh,
                "residual_g_per_kwh": record.residual_g_per_kwh,
                "carbon_free_share_pct": record.carbon_free_share_pct,
            },
        )

    return _each(records, store)


@transaction.atomic
def granular_certificate_upsert_many(
    *, organization: Organization, records: Sequence[GranularCertificateRecord], source_batch_id: int | None = None
) -> UpsertOutcome:
    """Upsert hourly certificates on (organization, certificate_id). A certificate naming a site of another
    grid zone is rejected: it could never be delivered there (it matches by its zone, the market boundary)."""
    zones = _zones({record.zone_code for record in records})
    sites = _Sites(organization)
    existing: dict[Hashable, GranularCertificate] = {
        certificate.certificate_id: certificate
        for certificate in GranularCertificate.objects.for_org(organization).filter(
            certificate_id__in={record.certificate_id for record in records}
        )
    }

    def store(record: GranularCertificateRecord) -> bool:
        zone = zones(record.zone_code)
        site = sites.get(record.site) if record.site else None
        if site is not None and site.zone_id != zone.pk:
            raise _Rejected(
                f"site {record.site!r} is not in zone {record.zone_code}: a certificate counts only inside its "
                "own market boundary"
            )
        return _store(
            GranularCertificate,
            existing,
            record.certificate_id,
            create={"organization": organization, "certificate_id": record.certificate_id},
            values={
                "zone_id": zone.pk,
                "site_id": site.pk if site else None,
                "hour_start": record.hour_start,
                "energy_kwh": record.energy_kwh,
                "emission_factor_g_per_kwh": record.emission_factor_g_per_kwh,
                "carbon_free": record.carbon_free,
                "energy_source": record.energy_source,
            },
            source_batch_id=source_batch_id,
        )

    return _each(records, store)


@transaction.atomic
def grid_factor_upsert_many(
    *, organization: Organization, records: Sequence[GridFactorRecord], source_batch_id: int | None = None
) -> UpsertOutcome:
    """Upsert the organization's own grid factors on (zone, kind, year, month) in its own dataset.

    ``source_batch_id`` is accepted like every loader's, but a grid factor keeps no batch reference.
    """
    zones = _zones({record.zone_code for record in records})
    dataset = _org_dataset(organization)
    # Looked up explicitly: the yearly (month NULL) and monthly unique constraints are conditional.
    existing: dict[Hashable, GridFactor] = {
        (factor.zone_id, factor.kind, factor.year, factor.month): factor
        for factor in _org_dataset_rows(GridFactor, organization)
    }

    def store(record: GridFactorRecord) -> bool:
        zone = zones(record.zone_code)
        return _store(
            GridFactor,
            existing,
            (zone.pk, record.kind, record.year, record.month),
            create={
                "dataset": dataset(),
                "organization": organization,
                "zone_id": zone.pk,
                "kind": record.kind,
                "year": record.year,
                "month": record.month,
            },
            values={
                "intensity_g_per_kwh": record.intensity_g_per_kwh,
                "source": record.source,
                "licence": record.licence,
            },
        )

    return _each(records, store)


@transaction.atomic
def energy_instrument_upsert_many(
    *, organization: Organization, records: Sequence[EnergyInstrumentRecord], source_batch_id: int | None = None
) -> UpsertOutcome:
    """Upsert contractual instruments on (organization, instrument_id)."""
    zones = _zones({record.zone_code for record in records})
    sites = _Sites(organization)
    existing: dict[Hashable, EnergyInstrument] = {
        instrument.instrument_id: instrument
        for instrument in EnergyInstrument.objects.for_org(organization).filter(
            instrument_id__in={record.instrument_id for record in records}
        )
    }

    def store(record: EnergyInstrumentRecord) -> bool:
        zone = zones(record.zone_code)
        site = sites.get(record.site) if record.site else None
        return _store(
            EnergyInstrument,
            existing,
            record.instrument_id,
            create={"organization": organization, "instrument_id": record.instrument_id},
            values={
                "kind": record.kind,
                "zone_id": zone.pk,
                "site_id": site.pk if site else None,
                "vintage_start": record.vintage_start,
                "vintage_end": record.vintage_end,
                "energy_mwh": record.energy_mwh,
                "emission_factor_g_per_kwh": record.emission_factor_g_per_kwh,
                "bundled": record.bundled,
            },
            source_batch_id=source_batch_id,
        )

    return _each(records, store)


@transaction.atomic
def hardware_asset_upsert_many(
    *, organization: Organization, records: Sequence[HardwareAssetRecord], source_batch_id: int | None = None
) -> UpsertOutcome:
    """Upsert fleet register lines on (organization, asset_id); models come from the catalogue the org sees,
    by name or alias (emissions/catalogue_names.py)."""
    sites = _Sites(organization)
    teams = _Teams(organization)
    catalogue = HardwareCatalogue(organization)
    existing: dict[Hashable, HardwareAsset] = {
        asset.asset_id: asset
        for asset in HardwareAsset.objects.for_org(organization).filter(
            asset_id__in={record.asset_id for record in records}
        )
    }

    def store(record: HardwareAssetRecord) -> bool:
        site = sites.get(record.site)
        hardware_model = catalogue.model_for(record.hardware_model_name)
        if hardware_model is None:
            raise _Rejected(
                f"unknown hardware model {record.hardware_model_name!r}: neither in the shipped catalogue, nor its "
                "aliases (hardware_aliases.csv), nor among this organization's own models "
                "(see /admin/emissions/hardwaremodel/)"
            )
        lifetime_years = record.lifetime_years or hardware_model.default_lifetime_years
        team = teams.get(record.team) if record.team else None
        return _store(
            HardwareAsset,
            existing,
            record.asset_id,
            create={"organization": organization, "asset_id": record.asset_id},
            values={
                "site_id": site.pk,
                "team_id": team.pk if team is not None else None,
                "hardware_model_id": hardware_model.pk,
                "quantity": record.quantity,
                "acquired_on": record.acquired_on,
                "in_service_on": record.in_service_on,
                "lifetime_years": lifetime_years,
                "retired_on": record.retired_on,
                "disposal_route": record.disposal_route,
                # Empty stays NULL: HardwareAsset.embodied_per_unit_kg_co2e then uses the catalogue figure.
                "embodied_kg_co2e_per_unit": record.embodied_kg_co2e_per_unit,
            },
            source_batch_id=source_batch_id,
        )

    return _each(records, store)


def _visible_dataset_rows(queryset: models.QuerySet, organization: Organization) -> models.QuerySet:
    """Rows of shipped datasets and of the organization's own datasets."""
    return queryset.filter(Q(dataset__organization__isnull=True) | Q(dataset__organization=organization))


@transaction.atomic
def fuel_use_upsert_many(
    *, organization: Organization, records: Sequence[FuelUseRecord], source_batch_id: int | None = None
) -> UpsertOutcome:
    """Upsert fuel use on (site, date, fuel, unit); fuel and unit must match a fuel factor."""
    sites = _Sites(organization)
    # casefolded fuel -> casefolded unit -> the factor's own (fuel, unit) spelling
    factors: dict[str, dict[str, tuple[str, str]]] = defaultdict(dict)
    for fuel, unit in _visible_dataset_rows(FuelFactor.objects, organization).values_list("fuel", "unit"):
        factors[fuel.casefold()][unit.casefold()] = (fuel, unit)
    existing: dict[Hashable, FuelUse] = {
        (use.site_id, use.used_on, use.fuel, use.unit): use for use in FuelUse.objects.for_org(organization)
    }

    def units_text(units: dict[str, tuple[str, str]]) -> str:
        return ", ".join(sorted(unit for _, unit in units.values()))

    def factor_names(record: FuelUseRecord) -> tuple[str, str]:
        units = factors.get(record.fuel.casefold())
        if units is None:
            known = "; ".join(f"{next(iter(u.values()))[0]} ({units_text(u)})" for _, u in sorted(factors.items()))
            raise _Rejected(f"unknown fuel {record.fuel!r}; known fuels (units): {known or 'none loaded'}")
        names = units.get(record.unit.casefold())
        if names is None:
            raise _Rejected(
                f"no factor for fuel {record.fuel!r} per {record.unit!r}; its units are: {units_text(units)}"
            )
        return names

    def store(record: FuelUseRecord) -> bool:
        site = sites.get(record.site)
        # Stored with the factor's own spelling, so the key does not depend on the file's letter case.
        fuel, unit = factor_names(record)
        return _store(
            FuelUse,
            existing,
            (site.pk, record.used_on, fuel, unit),
            create={
                "organization": organization,
                "site_id": site.pk,
                "used_on": record.used_on,
                "fuel": fuel,
                "unit": unit,
            },
            values={"quantity": record.quantity},
            source_batch_id=source_batch_id,
        )

    return _each(records, store)


@transaction.atomic
def refrigerant_loss_upsert_many(
    *, organization: Organization, records: Sequence[RefrigerantLossRecord], source_batch_id: int | None = None
) -> UpsertOutcome:
    """Upsert refrigerant losses on (site, date, gas); the gas must have a global warming potential, found by
    its name or an ASHRAE designation (``R-32`` for ``HFC-32``, emissions/catalogue_names.py)."""
    sites = _Sites(organization)
    gases = {
        name_key(gas): gas
        for gas in _visible_dataset_rows(GlobalWarmingPotential.objects, organization).values_list("gas", flat=True)
    }
    existing: dict[Hashable, RefrigerantLoss] = {
        (loss.site_id, loss.occurred_on, loss.gas): loss for loss in RefrigerantLoss.objects.for_org(organization)
    }

    def store(record: RefrigerantLossRecord) -> bool:
        site = sites.get(record.site)
        gas = gas_lookup(record.gas, gases)  # R-32 is stored as the table's HFC-32
        if gas is None:
            known = ", ".join(sorted(set(gases.values()))) or "none loaded"
            raise _Rejected(f"unknown gas {record.gas!r}: it has no global warming potential; known gases: {known}")
        return _store(
            RefrigerantLoss,
            existing,
            (site.pk, record.occurred_on, gas),
            create={"organization": organization, "site_id": site.pk, "occurred_on": record.occurred_on, "gas": gas},
            values={"kg_leaked": record.kg_leaked},
            source_batch_id=source_batch_id,
        )

    return _each(records, store)


@transaction.atomic
def carbon_credit_upsert_many(
    *, organization: Organization, records: Sequence[CarbonCreditRecord], source_batch_id: int | None = None
) -> UpsertOutcome:
    """Upsert cancelled carbon credits on (organization, credit_id)."""
    existing: dict[Hashable, CarbonCredit] = {
        credit.credit_id: credit
        for credit in CarbonCredit.objects.for_org(organization).filter(
            credit_id__in={record.credit_id for record in records}
        )
    }

    def store(record: CarbonCreditRecord) -> bool:
        return _store(
            CarbonCredit,
            existing,
            record.credit_id,
            create={"organization": organization, "credit_id": record.credit_id},
            values={
                "cancelled_on": record.cancelled_on,
                "tonnes_co2e": record.tonnes_co2e,
                "kind": record.kind,
                "standard": record.standard,
                "project": record.project,
            },
            source_batch_id=source_batch_id,
        )

    return _each(records, store)


@transaction.atomic
def disposal_factor_upsert_many(
    *, organization: Organization, records: Sequence[DisposalFactorRecord], source_batch_id: int | None = None
) -> UpsertOutcome:
    """Upsert the organization's own disposal factors on (dataset, asset_class, disposal_route).

    ``source_batch_id`` is accepted like every loader's, but a disposal factor keeps no batch reference.
    """
    dataset = _org_dataset(organization)
    existing: dict[Hashable, DisposalFactor] = {
        (factor.asset_class, factor.disposal_route): factor
        for factor in _org_dataset_rows(DisposalFactor, organization)
    }

    def store(record: DisposalFactorRecord) -> bool:
        return _store(
            DisposalFactor,
            existing,
            (record.asset_class, record.disposal_route),
            create={
                "dataset": dataset(),
                "organization": organization,
                "asset_class": record.asset_class,
                "disposal_route": record.disposal_route,
            },
            values={"kg_co2e_per_unit": record.kg_co2e_per_unit, "source": record.source},
        )

    return _each(records, store)
