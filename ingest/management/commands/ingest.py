"""``manage.py ingest FILE --source NAME --org SLUG``: import a file through the normal batch path."""

import io
import time
import zipfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from emissions.models import Organization
from ingest.models import ImportBatch
from ingest.parsers import PARSERS
from ingest.reconciliation import reconciliation_lines
from ingest.services import import_batch_create, import_batch_progress

# Command-line options handed to tracker parsers and loaders as the batch's options.
_OPTION_KEYS = ("project", "team", "site", "timezone", "kind", "merge_ranks", "cpu_measured", "model_id")


def _single_or_zip(contents: dict[str, bytes]) -> tuple[str, bytes]:
    """One file as it is; several (per-rank CSVs, a carbontracker log directory) as one ZIP archive."""
    if len(contents) == 1:
        return next(iter(contents.items()))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in contents.items():
            archive.writestr(name, content)
    return f"{len(contents)}-files.zip", buffer.getvalue()


class Command(BaseCommand):
    help = "Import a file (sites, tracker, billing, inventory CSV) into an organization as an ImportBatch."

    def add_arguments(self, parser):
        parser.add_argument("files", type=Path, nargs="+", help="one file; several are zipped into one batch")
        parser.add_argument("--source", required=True, choices=sorted(PARSERS))
        parser.add_argument("--org", required=True, help="organization slug")
        parser.add_argument("--no-wait", action="store_true", help="enqueue and return without waiting")
        parser.add_argument("--timeout", type=float, default=3600.0, help="seconds to wait for the batch (3600)")
        parser.add_argument("--project", help="tracker files: project slug for every run (created if missing)")
        parser.add_argument("--team", help="tracker files: team slug for projects created by the import")
        parser.add_argument("--site", help="tracker files: site slug where the runs ran")
        parser.add_argument("--timezone", help="tracker files: IANA zone of naive timestamps (default UTC)")
        parser.add_argument("--kind", help="tracker files: run kind (training, inference, ...)")
        parser.add_argument(
            "--merge-ranks", action="store_true", help="codecarbon_csv: per-rank files of one multi-GPU job"
        )
        parser.add_argument("--model-id", help="hf_model_card: the model's Hugging Face repository id (owner/name)")
        parser.add_argument(
            "--cpu-measured", action="store_true", help="CodeCarbon read the CPU through RAPL (its log says so)"
        )

    def handle(self, *args, files: list[Path], source: str, org: str, no_wait: bool, timeout: float, **options):
        organization = Organization.objects.filter(slug=org).first()
        if organization is None:
            raise CommandError(f"no organization with slug {org!r}")
        try:
            contents = {file.name: file.read_bytes() for file in files}
        except OSError as exc:
            raise CommandError(f"cannot read a file: {exc}") from exc
        filename, content = _single_or_zip(contents)
        batch_options = {key: options[key] for key in _OPTION_KEYS if options.get(key)}
        with transaction.atomic():
            batch = import_batch_create(
                organization=organization, source=source, filename=filename, content=content, options=batch_options
            )
        self.stdout.write(f"batch {batch.pk}: {filename} ({len(content):,} bytes) queued as {source}")
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
            progress = import_batch_progress(batch=batch)
            if progress["progress_pct"] != last:
                last = progress["progress_pct"]
                bar = "#" * (last // 5)
                self.stdout.write(f"\r[{bar:<20}] {last:3d}% ({progress['rows_done']:,} rows)", ending="")
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
        for line in reconciliation_lines(batch.reconciliation):
            self.stdout.write(f"  {line}")
