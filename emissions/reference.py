"""Load the shipped reference data (``emissions/reference_data/*.csv``) into the factor tables.

Every loader upserts on the model's natural key, so running the load again creates nothing and
changes nothing. Provenance, licences and known gaps of each file: ``reference_data/SOURCES.md``
and ``docs/reference-data.md``.
"""

from __future__ import annotations

import csv
import logging
import math
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from django.core.exceptions import ValidationError
from django.db import models, transaction

from emissions.choices import DEFAULT_LIFETIME_YEARS, AssetClass, FactorKind
from emissions.models import (
    CloudRegion,
    FactorDataset,
    FuelFactor,
    GlobalWarmingPotential,
    GridEnergyMix,
    GridFactor,
    GridZone,
    HardwareModel,
)

logger = logging.getLogger(__name__)

DATA_DIR = Path(__file__).resolve().parent / "reference_data"

# Shares of a generation mix are rounded to 2 decimals each, so their sum may miss 100 by a few hundredths.
SHARE_SUM_TOLERANCE_PCT = 0.05


class ReferenceDataError(ValueError):
    """A shipped CSV that cannot be loaded; the message names the file, the line and the reason."""


@dataclass
class _Tally:
    """Rows loaded per model, plus what the load created, updated or skipped."""

    rows: Counter[str] = field(default_factory=Counter)
    created: int = 0
    updated: int = 0
    notes: list[str] = field(default_factory=list)
    keys_seen: set[tuple] = field(default_factory=set)

    def skip(self, *, where: str, reason: str) -> None:
        """Record a row that is deliberately not loaded (a documented gap or artefact)."""
        self.notes.append(f"skipped {where}: {reason}")

    def as_dict(self) -> dict[str, int]:
        """Counts per model name, then ``created``, ``updated`` and ``skipped`` totals."""
        return {
            **dict(sorted(self.rows.items())),
            "created": self.created,
            "updated": self.updated,
            "skipped": len(self.notes),
        }


@dataclass(frozen=True)
class _Row:
    """One CSV record with its position, so every error can point at it."""

    file: str
    line: int
    cells: dict[str, str]

    @property
    def where(self) -> str:
        """``file line N`` for messages."""
        return f"{self.file} line {self.line}"

    def fail(self, reason: str) -> ReferenceDataError:
        """An error naming this row."""
        return ReferenceDataError(f"{self.where}: {reason}")

    def text(self, column: str, *, required: bool = True) -> str:
        """The stripped cell; an empty required cell is an error."""
        value = self.cells[column].strip()
        if required and not value:
            raise self.fail(f"column {column!r} is empty")
        return value

    def number(self, column: str, *, required: bool = True) -> float | None:
        """The cell as a finite float, or None when empty and not required."""
        raw = self.text(column, required=required)
        if not raw:
            return None
        try:
            value = float(raw)
        except ValueError:
            raise self.fail(f"column {column!r} is not a number: {raw!r}") from None
        if not math.isfinite(value):
            raise self.fail(f"column {column!r} is not finite: {raw!r}")
        return value

    def year(self, column: str = "year") -> int:
        """The cell as a plausible calendar year."""
        raw = self.text(column)
        if not raw.isdigit() or not 1900 <= int(raw) <= 2100:
            raise self.fail(f"column {column!r} is not a year: {raw!r}")
        return int(raw)

    def licence(self, *, default: str) -> str:
        """The row's licence; the dataset's only when the file has no licence column at all."""
        return self.text("licence") if "licence" in self.cells else default


def _rows(file: str, *, columns: tuple[str, ...]) -> Iterator[_Row]:
    """Yield the records of a shipped CSV, checking the header and the field count of every record."""
    with open(DATA_DIR / file, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, restkey="__extra__")
        missing = [column for column in columns if column not in (reader.fieldnames or [])]
        if missing:
            raise ReferenceDataError(f"{file} line 1: missing columns {missing}")
        next_line = 2
        for cells in reader:
            row = _Row(file=file, line=next_line, cells=cells)
            next_line = reader.line_num + 1
            if "__extra__" in cells or None in cells.values():
                raise row.fail(f"expected {len(reader.fieldnames or [])} fields")
            yield row


def _upsert(model: type[models.Model], *, lookup: dict, values: dict, where: str, tally: _Tally) -> models.Model:
    """Create or update one row on its natural key; an unchanged row is not saved at all.

    update_or_create would save every time, bumping FactorDataset.loaded_at on each run; comparing
    first keeps a second load a true no-op.
    """
    # A key seen twice in one load would make the later row silently overwrite the earlier one on every run.
    key = (model.__name__, *sorted(lookup.items(), key=lambda item: item[0]))
    if key in tally.keys_seen:
        raise ReferenceDataError(f"{where}: duplicate {model.__name__} key {lookup}")
    tally.keys_seen.add(key)
    obj = model.objects.filter(**lookup).first()
    if obj is None:
        obj = model(**lookup, **values)
        changed = None
    else:
        changed = [name for name, value in values.items() if getattr(obj, name) != value]
        if not changed:
            return obj
        for name in changed:
            setattr(obj, name, values[name])
    try:
        obj.full_clean()
    except ValidationError as exc:
        raise ReferenceDataError(f"{where}: {model.__name__} is invalid: {exc.message_dict}") from exc
    if changed is None:
        obj.save()
        tally.created += 1
    else:
        obj.save(update_fields=changed)
        tally.updated += 1
    return obj


def _datasets_load(*, tally: _Tally) -> dict[str, FactorDataset]:
    """The shipped FactorDatasets listed in datasets.csv (one per source file), keyed by file name."""
    datasets: dict[str, FactorDataset] = {}
    for row in _rows("datasets.csv", columns=("file", "name", "version", "title", "source", "licence")):
        file = row.text("file")
        if not (DATA_DIR / file).is_file() or file in datasets:
            raise row.fail(f"{file!r} is not a shipped file or is listed twice")
        values = {"title": row.text("title"), "source": row.text("source"), "licence": row.text("licence")}
        lookup = {"organization": None, "name": row.text("name"), "version": row.text("version")}
        datasets[file] = _upsert(FactorDataset, lookup=lookup, values=values, where=row.where, tally=tally)
        tally.rows["FactorDataset"] += 1
    return datasets


def _dataset_for(datasets: dict[str, FactorDataset], file: str) -> FactorDataset:
    """The dataset of a source file, or an error when datasets.csv does not list the file."""
    if file not in datasets:
        raise ReferenceDataError(f"datasets.csv: no dataset listed for {file}")
    return datasets[file]


def _grid_zones_load(*, tally: _Tally) -> dict[str, GridZone]:
    """Countries and subdivisions from grid_zones.csv (parents listed before their children)."""
    zones: dict[str, GridZone] = {}
    # source/licence stay in the file as the attribution record: GridZone has no provenance fields.
    columns = ("code", "name", "country_iso3", "parent_code", "source", "licence")
    for row in _rows("grid_zones.csv", columns=columns):
        code, parent_code = row.text("code"), row.text("parent_code", required=False)
        if code in zones:
            raise row.fail(f"zone {code!r} listed twice")
        if parent_code and parent_code not in zones:
            raise row.fail(f"parent {parent_code!r} is not listed before {code!r}")
        values = {
            "name": row.text("name"),
            "country_iso3": row.text("country_iso3", required=False),
            "parent_id": zones[parent_code].pk if parent_code else None,
        }
        zones[code] = _upsert(GridZone, lookup={"code": code}, values=values, where=row.where, tally=tally)
        tally.rows["GridZone"] += 1
    return zones


def _zone(row: _Row, zones: dict[str, GridZone], code: str) -> GridZone:
    """The zone of a code, or an error naming the row."""
    if code not in zones:
        raise row.fail(f"unknown grid zone {code!r} (add it to grid_zones.csv)")
    return zones[code]


def _grid_factor_upsert(*, row: _Row, dataset: FactorDataset, zone: GridZone, kind: str, tally: _Tally) -> None:
    """One yearly GridFactor; keyed on (dataset, zone, kind, year, month NULL) like its constraint."""
    lookup = {"dataset": dataset, "organization": None, "zone": zone, "kind": kind, "year": row.year(), "month": None}
    values = {
        "intensity_g_per_kwh": row.number("intensity_g_per_kwh"),
        "source": row.text("source"),
        "licence": row.licence(default=dataset.licence),
    }
    _upsert(GridFactor, lookup=lookup, values=values, where=row.where, tally=tally)
    tally.rows["GridFactor"] += 1


def _check_basis(row: _Row, *, expected: str) -> None:
    """Fail when a file's basis column disagrees with the factor kind its loader stores."""
    if not row.text("basis").startswith(expected):
        raise row.fail(f"basis {row.text('basis')!r} is not {expected!r}")


def _country_rows_load(*, file: str, dataset: FactorDataset, zones: dict[str, GridZone], tally: _Tally) -> None:
    """Ember/OWID country rows: lifecycle GridFactor plus GridEnergyMix."""
    by_iso3 = {zone.country_iso3: zone for zone in zones.values() if zone.parent_id is None}
    columns = (
        "country_iso3",
        "year",
        "intensity_g_per_kwh",
        "basis",
        "fossil_share_pct",
        "nuclear_share_pct",
        "renewable_share_pct",
        "source",
        "licence",
    )
    for row in _rows(file, columns=columns):
        # Lifecycle (Ember, IPCC AR5 medians), production-based: never a direct Scope 2 location-based factor.
        _check_basis(row, expected="lifecycle")
        iso3 = row.text("country_iso3")
        if iso3 not in by_iso3:
            raise row.fail(f"no country zone with ISO3 {iso3!r} in grid_zones.csv")
        if row.number("intensity_g_per_kwh") == 0:
            # No generation source has zero lifecycle emissions (CAF: 0 g/kWh with 100 % hydro): the row is a
            # source artefact, so neither its factor nor its mix is trusted.
            tally.skip(where=row.where, reason=f"{iso3} lifecycle intensity 0 is a source artefact")
            continue
        zone = by_iso3[iso3]
        _grid_factor_upsert(row=row, dataset=dataset, zone=zone, kind=FactorKind.LIFECYCLE, tally=tally)
        _energy_mix_upsert(row=row, dataset=dataset, zone=zone, tally=tally)


def _energy_mix_upsert(*, row: _Row, dataset: FactorDataset, zone: GridZone, tally: _Tally) -> None:
    """GridEnergyMix of one country row; empty shares (no generation total) are a documented gap."""
    shares = {
        name: row.number(name, required=False)
        for name in ("fossil_share_pct", "nuclear_share_pct", "renewable_share_pct")
    }
    if None in shares.values():
        tally.skip(where=row.where, reason=f"{zone.code} has no generation shares")
        return
    total = sum(shares.values())
    if abs(total - 100) > SHARE_SUM_TOLERANCE_PCT:
        raise row.fail(f"shares add up to {total}, not 100")
    values = {**shares, "source": row.text("source"), "licence": row.licence(default=dataset.licence)}
    lookup = {"dataset": dataset, "zone": zone, "year": row.year()}
    _upsert(GridEnergyMix, lookup=lookup, values=values, where=row.where, tally=tally)
    tally.rows["GridEnergyMix"] += 1


def _us_state_rows_load(*, file: str, dataset: FactorDataset, zones: dict[str, GridZone], tally: _Tally) -> None:
    """eGRID state rows (``US-XX``) and the national row (``US``): direct location-based GridFactor."""
    columns = ("state_code", "year", "intensity_g_per_kwh", "basis", "source", "licence")
    for row in _rows(file, columns=columns):
        _check_basis(row, expected="direct")
        state = row.text("state_code")
        zone = _zone(row, zones, "US" if state == "US" else f"US-{state}")
        _grid_factor_upsert(row=row, dataset=dataset, zone=zone, kind=FactorKind.LOCATION, tally=tally)


def _eea_rows_load(*, file: str, dataset: FactorDataset, zones: dict[str, GridZone], tally: _Tally) -> None:
    """EEA rows: direct (combustion) location-based GridFactor."""
    for row in _rows(file, columns=("zone", "year", "intensity_g_per_kwh", "basis", "source", "licence")):
        _check_basis(row, expected="direct")
        zone = _zone(row, zones, row.text("zone"))
        _grid_factor_upsert(row=row, dataset=dataset, zone=zone, kind=FactorKind.LOCATION, tally=tally)


# Kinds a sub-national row may carry, and the basis each must state (direct for Scope 2 location-based).
_SUBNATIONAL_KINDS = {"location": "direct", "upstream": "scope 3", "lifecycle": "lifecycle"}


def _subnational_rows_load(*, file: str, dataset: FactorDataset, zones: dict[str, GridZone], tally: _Tally) -> None:
    """Official provincial, state, regional-grid and national factors: one GridFactor of the row's kind."""
    columns = ("zone_code", "year", "kind", "intensity_g_per_kwh", "basis", "source", "licence")
    for row in _rows(file, columns=columns):
        kind = row.text("kind")
        if kind not in _SUBNATIONAL_KINDS:
            raise row.fail(f"kind {kind!r} is not one of {', '.join(_SUBNATIONAL_KINDS)}")
        _check_basis(row, expected=_SUBNATIONAL_KINDS[kind])
        zone = _zone(row, zones, row.text("zone_code"))
        _grid_factor_upsert(row=row, dataset=dataset, zone=zone, kind=kind, tally=tally)


def _cloud_regions_load(*, file: str, dataset: FactorDataset, zones: dict[str, GridZone], tally: _Tally) -> None:
    """CCF cloud regions; an empty grid_zone (multi-country, fallback) gives no zone."""
    columns = (
        "provider",
        "region",
        "location",
        "grid_zone",
        "pue",
        "intensity_g_per_kwh",
        "intensity_source",
        "pue_source",
        "licence",
    )
    for row in _rows(file, columns=columns):
        zone_code = row.text("grid_zone", required=False)
        values = {
            "location": row.text("location", required=False),
            "zone_id": _zone(row, zones, zone_code).pk if zone_code else None,
            "pue": row.number("pue"),
            "intensity_g_per_kwh": row.number("intensity_g_per_kwh", required=False),
            "intensity_source": row.text("intensity_source"),
            "pue_source": row.text("pue_source"),
            "licence": row.licence(default=dataset.licence),
        }
        lookup = {"dataset": dataset, "provider": row.text("provider"), "region": row.text("region")}
        _upsert(CloudRegion, lookup=lookup, values=values, where=row.where, tally=tally)
        tally.rows["CloudRegion"] += 1


_GPU_COUNT_IN_NAME = re.compile(r"\b(\d+)(?:x\s|-GPU\b)")


def _gpu_count(row: _Row, asset_class: AssetClass) -> int:
    """Accelerators per unit: 1 for a card, from the name ("8x", "8-GPU") for boards and GPU servers, else 0."""
    if asset_class == AssetClass.GPU:
        return 1
    if asset_class not in (AssetClass.GPU_BASEBOARD, AssetClass.GPU_SERVER):
        return 0
    counts = set(_GPU_COUNT_IN_NAME.findall(row.text("hardware_model")))
    if len(counts) != 1:
        raise row.fail("cannot derive the GPU count from the name (expected one '<N>x ' or '<N>-GPU')")
    return int(counts.pop())


def _hardware_models_load(*, file: str, dataset: FactorDataset, zones: dict[str, GridZone], tally: _Tally) -> None:
    """Catalogue HardwareModels with their embodied range, TDP and default lifetime."""
    columns = (
        "hardware_model",
        "kind",
        "tdp_w",
        "embodied_kg_co2e",
        "embodied_low_kg_co2e",
        "embodied_high_kg_co2e",
        "boundary",
        "default_lifetime_years",
        "source",
        "licence",
    )
    for row in _rows(file, columns=columns):
        kind = row.text("kind")
        if kind not in AssetClass.values:
            raise row.fail(f"unknown kind {kind!r}; expected one of {AssetClass.values}")
        asset_class = AssetClass(kind)
        central = row.number("embodied_kg_co2e")
        low = row.number("embodied_low_kg_co2e", required=False)
        high = row.number("embodied_high_kg_co2e", required=False)
        lifetime = row.number("default_lifetime_years", required=False)
        values = {
            "dataset_id": dataset.pk,
            "asset_class": asset_class.value,
            "tdp_w": row.number("tdp_w", required=False),
            "gpu_count": _gpu_count(row, asset_class),
            "embodied_kg_co2e": central,
            # A single-source figure has no range: low and high collapse onto the central value.
            "embodied_low_kg_co2e": central if low is None else low,
            "embodied_high_kg_co2e": central if high is None else high,
            "boundary": row.text("boundary", required=False),
            "default_lifetime_years": float(DEFAULT_LIFETIME_YEARS[asset_class]) if lifetime is None else lifetime,
            "source": row.text("source"),
            "licence": row.licence(default=dataset.licence),
        }
        lookup = {"organization": None, "name": row.text("hardware_model")}
        _upsert(HardwareModel, lookup=lookup, values=values, where=row.where, tally=tally)
        tally.rows["HardwareModel"] += 1


def _gwps_load(*, file: str, dataset: FactorDataset, zones: dict[str, GridZone], tally: _Tally) -> None:
    """IPCC AR6 GWP-100 per gas or blend."""
    for row in _rows(file, columns=("gas", "gwp100", "source", "licence")):
        values = {
            "gwp100": row.number("gwp100"),
            "source": row.text("source"),
            "licence": row.licence(default=dataset.licence),
        }
        lookup = {"dataset": dataset, "gas": row.text("gas")}
        _upsert(GlobalWarmingPotential, lookup=lookup, values=values, where=row.where, tally=tally)
        tally.rows["GlobalWarmingPotential"] += 1


def _fuel_factors_load(*, file: str, dataset: FactorDataset, zones: dict[str, GridZone], tally: _Tally) -> None:
    """Fuel combustion factors; rows without a value are documented gaps (WTT, gas per m3) and skipped."""
    for row in _rows(file, columns=("fuel", "unit", "kg_co2e_per_unit", "source", "licence")):
        factor = row.number("kg_co2e_per_unit", required=False)
        if factor is None:
            tally.skip(where=row.where, reason=f"{row.text('fuel')} per {row.text('unit')} has no value (gap)")
            continue
        values = {
            "kg_co2e_per_unit": factor,
            "source": row.text("source"),
            "licence": row.licence(default=dataset.licence),
        }
        lookup = {"dataset": dataset, "fuel": row.text("fuel"), "unit": row.text("unit")}
        _upsert(FuelFactor, lookup=lookup, values=values, where=row.where, tally=tally)
        tally.rows["FuelFactor"] += 1


# Every loader takes the same arguments; files load in this order, after datasets.csv and grid_zones.csv.
_LOADERS = (
    ("grid_intensity_country.csv", _country_rows_load),
    ("grid_intensity_us_state.csv", _us_state_rows_load),
    ("grid_intensity_eea.csv", _eea_rows_load),
    ("grid_intensity_subnational.csv", _subnational_rows_load),
    ("cloud_regions.csv", _cloud_regions_load),
    ("hardware_embodied.csv", _hardware_models_load),
    ("gwp_ar6.csv", _gwps_load),
    ("fuel_factors.csv", _fuel_factors_load),
)


def reference_data_load(*, stdout: TextIO | None = None) -> dict[str, int]:
    """Load every shipped reference file in one transaction; returns rows per model and change totals."""
    tally = _Tally()
    with transaction.atomic():
        datasets = _datasets_load(tally=tally)
        zones = _grid_zones_load(tally=tally)
        for file, loader in _LOADERS:
            loader(file=file, dataset=_dataset_for(datasets, file), zones=zones, tally=tally)
    for note in tally.notes:
        # The command's stdout already shows the notes; logging them too would print each twice.
        if stdout is None:
            logger.info(note)
        else:
            stdout.write(note + "\n")
    return tally.as_dict()
