"""Estimates of millions of billing lines: ``estimate`` memoized per kind of usage and scaled by quantity."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from typing import cast

from emissions.cloud_estimation import NO_ENERGY, estimate
from emissions.cloud_tables import CoefficientTables
from emissions.records import CloudEstimate, CloudUsageRecord

# Coefficients that record the line's own quantity; every other recorded value is independent of it.
_QUANTITY_COEFFICIENTS = frozenset({"instance_hours", "gpu_hours", "vcpu_hours", "storage_gb_hours"})
_CACHE_MAX_ENTRIES = 100_000


class EstimateCache:
    """``estimate`` memoized on everything but the quantity, for files of millions of similar lines.

    Every energy and the embodied share are linear in ``usage_quantity`` (each formula of cloud_estimation multiplies
    by it once), so a line is the estimate of its kind of usage for one unit, scaled.
    tests/emissions/test_cloud_estimation.py checks this against ``estimate`` on every sample line.
    ``fingerprint`` names the tables and assumptions: two caches with equal fingerprints estimate alike.
    """

    def __init__(self, tables: CoefficientTables, **assumptions: float) -> None:
        self.tables = tables
        self.assumptions = assumptions
        self._unit: dict[tuple[object, ...], CloudEstimate] = {}
        self._scaled: dict[tuple[tuple[object, ...], float], CloudEstimate] = {}
        self.fingerprint = hashlib.sha256(repr((tables, sorted(assumptions.items()))).encode()).hexdigest()

    def __call__(self, record: CloudUsageRecord) -> CloudEstimate:
        key = (
            record.provider,
            record.charge_category,
            record.usage_unit,
            record.service,
            record.sku,
            record.usage_type,
            record.instance_type,
            record.region,
            record.vcpu_count,
            record.gpu_count,
            record.memory_gb,
            record.marketplace,
        )
        quantity = record.usage_quantity
        # Hourly lines repeat their quantity (1 hour, the same GB-months): the scaled estimate is kept too.
        scaled = self._scaled.get((key, quantity))
        if scaled is not None:
            return scaled
        unit = self._unit.get(key)
        if unit is None:
            if len(self._unit) >= _CACHE_MAX_ENTRIES:
                self._unit.clear()
            unit = self._unit[key] = estimate(replace(record, usage_quantity=1.0), self.tables, **self.assumptions)
        if len(self._scaled) >= _CACHE_MAX_ENTRIES:
            self._scaled.clear()
        scaled = self._scaled[(key, quantity)] = self._scale(unit, quantity)
        return scaled

    @staticmethod
    def _scale(unit: CloudEstimate, quantity: float) -> CloudEstimate:
        if unit.classification in NO_ENERGY or quantity == 1.0:
            return unit
        return replace(
            unit,
            compute_energy_kwh=unit.compute_energy_kwh * quantity,
            gpu_energy_kwh=unit.gpu_energy_kwh * quantity,
            memory_energy_kwh=unit.memory_energy_kwh * quantity,
            storage_energy_kwh=unit.storage_energy_kwh * quantity,
            network_energy_kwh=unit.network_energy_kwh * quantity,
            embodied_kg_co2e=unit.embodied_kg_co2e * quantity,
            coefficients=tuple(
                # A quantity coefficient records a number (cloud_estimation ``_Builder.use``).
                (name, cast(float, value) * quantity if name in _QUANTITY_COEFFICIENTS else value)
                for name, value in unit.coefficients
            ),
        )
