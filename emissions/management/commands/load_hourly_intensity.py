"""``manage.py load_hourly_intensity FILE… --dataset NAME --dataset-version V``: load Electricity Maps hourly CSV
exports as shared reference data (``HourlyIntensity``), for run factors, advice and the hourly Scope 2.

Idempotent: a file's hours replace the same dataset's values for those zones and hours. The licence
(ODbL for Electricity Maps' free data) and source are recorded on the dataset.
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from emissions.hourly_intensity_csv import hourly_intensity_rows
from emissions.models import FactorDataset, GridZone, HourlyIntensity


class Command(BaseCommand):
    help = "Load Electricity Maps hourly CSV exports as hourly grid intensities (shared reference data)."

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", type=Path)
        parser.add_argument("--dataset", default="electricity-maps-hourly")
        parser.add_argument("--dataset-version", required=True, help="e.g. the export's download date, 2026-12-01")
        parser.add_argument("--licence", default="ODbL-1.0 (Electricity Maps free data)")
        parser.add_argument("--source", default="Electricity Maps data portal, hourly CSV")

    @transaction.atomic
    def handle(self, *args, **options):
        dataset, _ = FactorDataset.objects.get_or_create(
            organization=None,
            name=options["dataset"],
            version=options["dataset_version"],
            defaults={"title": "Hourly grid intensity", "source": options["source"], "licence": options["licence"]},
        )
        zones = {zone.code: zone for zone in GridZone.objects.all()}
        for path in options["files"]:
            try:
                rows = list(hourly_intensity_rows(path.read_text(encoding="utf-8")))
            except (OSError, ValueError) as exc:
                raise CommandError(f"{path}: {exc}") from exc
            unknown = sorted({row.zone_code for row in rows} - set(zones))
            if unknown:
                raise CommandError(f"{path}: unknown grid zone(s) {', '.join(unknown)} (load_reference_data first)")
            HourlyIntensity.objects.bulk_create(
                [
                    HourlyIntensity(
                        dataset=dataset,
                        zone=zones[row.zone_code],
                        hour_start=row.hour_start,
                        intensity_g_per_kwh=row.intensity_g_per_kwh,
                        carbon_free_share_pct=row.carbon_free_share_pct,
                    )
                    for row in rows
                ],
                update_conflicts=True,
                unique_fields=["dataset", "zone", "hour_start"],
                update_fields=["intensity_g_per_kwh", "carbon_free_share_pct"],
                batch_size=5000,
            )
            self.stdout.write(f"{path}: {len(rows)} hour(s) loaded into {dataset.name} {dataset.version}")
