"""The ledger's Scope 1: stationary combustion of fuel burnt on site and fugitive refrigerant."""

from __future__ import annotations

from emissions import calculations as calc
from emissions.choices import ActivityKind, QualityTier, Scope
from emissions.factor_book import FactorBook
from emissions.models import FuelUse, RefrigerantLoss
from emissions.services.ledger_draft import LedgerDraft


class Scope1Lines:
    """Records for fuel uses and refrigerant losses of the period."""

    def __init__(self, draft: LedgerDraft, book: FactorBook) -> None:
        self._draft = draft
        self._book = book

    def scope_1(self) -> None:
        """Stationary combustion (fuel × factor) and fugitive refrigerant (kg × GWP100)."""
        for use in (
            FuelUse.objects.for_org(self._draft.organization)
            .select_related("site")
            .filter(used_on__gte=self._draft.period.start, used_on__lte=self._draft.period.end)
        ):
            factor = self._book.fuel(fuel=use.fuel, unit=use.unit)
            if factor is None:
                self._draft.gap("no_fuel_factor", use.quantity, fuel=use.fuel, unit=use.unit)
                continue
            self._draft.add(
                scope=Scope.SCOPE_1,
                subcategory="stationary_combustion",
                activity_kind=ActivityKind.FUEL_USE,
                activity_id=use.pk,
                start=use.used_on,
                end=use.used_on,
                location_kg=calc.stationary_combustion_kg(quantity=use.quantity, kg_co2e_per_unit=factor.value),
                quality=QualityTier.METERED,
                factors={"fuel": factor.as_provenance()},
                site=use.site,
            )
            # GreenGuild ships no well-to-tank fuel factors (DESNZ WTT rows are not in the corpus).
            self._draft.gap("no_well_to_tank_factor", use.quantity, fuel=use.fuel, unit=use.unit)
        for loss in (
            RefrigerantLoss.objects.for_org(self._draft.organization)
            .select_related("site")
            .filter(occurred_on__gte=self._draft.period.start, occurred_on__lte=self._draft.period.end)
        ):
            gwp = self._book.gwp(gas=loss.gas)
            if gwp is None:
                self._draft.gap("no_gwp", loss.kg_leaked, gas=loss.gas)
                continue
            self._draft.add(
                scope=Scope.SCOPE_1,
                subcategory="fugitive",
                activity_kind=ActivityKind.REFRIGERANT_LOSS,
                activity_id=loss.pk,
                start=loss.occurred_on,
                end=loss.occurred_on,
                location_kg=calc.fugitive_kg(kg_leaked=loss.kg_leaked, gwp100=gwp.value),
                quality=QualityTier.METERED,
                factors={"gwp": gwp.as_provenance()},
                site=loss.site,
            )
