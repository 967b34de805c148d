"""``manage.py inventory --org SLUG --period 2025-Q1 [--json] [--recalculate]``: the GHG inventory."""

import json

from django.core.management.base import BaseCommand, CommandError

from emissions.models import Calculation, Organization
from emissions.periods import period_parse
from emissions.selectors import calculation_restatement, inventory_summary
from emissions.services.ledger import inventory_calculate, inventory_ensure


class Command(BaseCommand):
    help = "Compute (when inputs changed) and print an organization's GHG inventory for a period."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="organization slug")
        parser.add_argument(
            "--period", required=True, nargs="+", help="2025, 2025-H1, 2025-Q1 or 2025-03 (several allowed)"
        )
        parser.add_argument("--json", action="store_true", help="print one JSON object")
        parser.add_argument("--recalculate", action="store_true", help="recalculate even if inputs are unchanged")

    def handle(self, *args, org: str, period: list[str], json: bool, recalculate: bool, **options):
        organization = Organization.objects.filter(slug=org).first()
        if organization is None:
            raise CommandError(f"no organization with slug {org!r}")
        if json and len(period) > 1:
            raise CommandError("--json prints one period: give a single --period")
        try:
            periods = [period_parse(label) for label in period]
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        for parsed in periods:
            self._inventory(organization, parsed, as_json=json, recalculate=recalculate)

    def _inventory(self, organization, parsed, *, as_json: bool, recalculate: bool) -> None:
        if recalculate:
            calculation = inventory_calculate(
                organization=organization, period=parsed, reason="requested recalculation"
            )
        else:
            calculation = inventory_ensure(organization=organization, period=parsed)
        summary = inventory_summary(calculation=calculation)
        previous = Calculation.objects.filter(superseded_by=calculation).first()
        summary["restatement"] = (
            calculation_restatement(previous=previous, current=calculation) if previous is not None else []
        )
        if as_json:
            self.stdout.write(_json_dumps(summary))
        else:
            self._print(summary, parsed.label)

    def _print(self, summary: dict, label: str) -> None:
        write = self.stdout.write
        write(
            f"GHG inventory of {summary['organization']} for {label} (calculation {summary['calculation_id']}, "
            f"methodology {summary['methodology_version']}), kgCO2e"
        )
        write(f"  Scope 1                    {summary['scope_1_kg']:>16,.1f}")
        write(f"  Scope 2 location-based     {summary['scope_2_location_kg']:>16,.1f}")
        write(f"  Scope 2 market-based       {summary['scope_2_market_kg']:>16,.1f}")
        for category, kg in summary["scope_3_kg_by_category"].items():
            write(f"  Scope 3 category {category:<9} {kg:>16,.1f}")
        write(f"  Total location-based       {summary['total_location_kg']:>16,.1f}")
        write(f"  Total market-based         {summary['total_market_kg']:>16,.1f}")
        write(f"  Energy (kWh)               {summary['energy_kwh']:>16,.1f}")
        management = summary["management"]
        write("Management view (not part of the totals)")
        write(f"  Embodied amortized         {management['embodied_amortized_kg']:>16,.1f}")
        write(f"  Embodied of cloud GPU runs {management['embodied_cloud_runs_kg']:>16,.1f}")
        write(f"  Embodied written off       {management['embodied_written_off_kg']:>16,.1f}")
        write(f"  Unallocated energy (kWh)   {management['unallocated_energy_kwh']:>16,.1f}")
        for gap in summary["data_gaps"]:
            write(f"  gap: {gap}")
        for line in summary["restatement"]:
            if abs(line["change_location_kg"]) > 1e-9 or abs(line["change_market_kg"]) > 1e-9:
                write(
                    f"  restated: scope {line['scope']} cat {line['scope3_category']} {line['basis']}: "
                    f"{line['change_location_kg']:+,.1f} kg location, {line['change_market_kg']:+,.1f} kg market"
                )


def _json_dumps(value: dict) -> str:
    return json.dumps(value, indent=2, sort_keys=False, default=str)
