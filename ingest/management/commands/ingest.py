"""``manage.py ingest FILE --source NAME --org SLUG``: import a file through the normal batch path."""

import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from emissions.models import Organization
from ingest.models import ImportBatch
from ingest.parsers import PARSERS
from ingest.services import import_batch_create


class Command(BaseCommand):
    help = "Import a file (sites, tracker, billing, inventory CSV) into an organization as an ImportBatch."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--source", required=True, choices=sorted(PARSERS))
        parser.add_argument("--org", required=True, help="organization slug")
        parser.add_argument("--no-wait", action="store_true", help="enqueue and return without waiting")
        parser.add_argument("--timeout", type=float, default=3600.0, help="seconds to wait for the batch (3600)")

    def handle(self, *args, file: Path, source: str, org: str, no_wait: bool, timeout: float, **options):
        organization = Organization.objects.filter(slug=org).first()
        if organization is None:
            raise CommandError(f"no organization with slug {org!r}")
        try:
            content = file.read_bytes()
        except OSError as exc:
            raise CommandError(f"cannot read {file}: {exc}") from exc
        with transaction.atomic():
            batch = import_batch_create(organization=organization, source=source, filename=file.name, content=content)
        self.stdout.write(f"batch {batch.pk}: {file.name} ({len(content):,} bytes) queued as {source}")
        if no_wait:
            return
        batch = self._wait(batch, deadline=time.monotonic() + timeout)
        self._report(batch)
        if batch.status == ImportBatch.Status.FAILED:
            raise CommandError(f"batch {batch.pk} failed: {batch.error}")

    def _wait(self, batch: ImportBatch, *, deadline: float) -> ImportBatch:
        last = -1
        while time.monotonic() < deadline:
            batch.refresh_from_db()
            if batch.progress_pct != last:
                self.stdout.write(f"\r[{'#' * (batch.progress_pct // 5):<20}] {batch.progress_pct:3d}%", ending="")
                last = batch.progress_pct
            if batch.status in ImportBatch.FINISHED:
                self.stdout.write("")
                return batch
            time.sleep(0.5)
        raise CommandError(f"batch {batch.pk} still {batch.status} after the timeout; is a Celery worker running?")

    def _report(self, batch: ImportBatch) -> None:
        self.stdout.write(
            f"{batch.status}: {batch.rows_total} rows = {batch.rows_loaded} loaded + "
            f"{batch.rows_duplicate} duplicate + {batch.rows_rejected} rejected"
        )
        for error in batch.row_errors.all()[:50]:
            self.stdout.write(f"  row {error.row_number}: {error.reason}")
        if batch.rows_rejected > 50:
            self.stdout.write(f"  … and {batch.rows_rejected - 50} more (see /admin/ingest/rowerror/)")
