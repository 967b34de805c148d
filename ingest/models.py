"""Import batches and their row errors: the job state of every ingest, kept on database rows."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from emissions.querysets import OrgScopedQuerySet


class ImportBatch(models.Model):
    """One file or API payload handed to GreenGuild, and what became of it.

    The raw bytes are kept (``raw_file``) with their SHA-256 ``checksum`` so a batch can be
    re-processed or audited. Once finished, ``rows_total = rows_loaded + rows_duplicate +
    rows_rejected``: nothing is dropped silently. ``progress_pct`` drives the progress bar.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        PARTIAL = "partial", "Done, some rows rejected"
        FAILED = "failed", "Failed"

    FINISHED = (Status.DONE, Status.PARTIAL, Status.FAILED)

    organization = models.ForeignKey("emissions.Organization", on_delete=models.CASCADE, related_name="import_batches")
    source = models.CharField(max_length=40)
    filename = models.CharField(max_length=255, blank=True)
    raw_file = models.FileField(upload_to="imports/%Y/%m/")
    checksum = models.CharField(max_length=64)
    size_bytes = models.BigIntegerField(default=0)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    progress_pct = models.PositiveSmallIntegerField(default=0)
    # Import choices (project, team, site, timezone of naive timestamps) for sources that take them.
    options = models.JSONField(default=dict, blank=True)
    rows_total = models.PositiveIntegerField(default=0)
    rows_loaded = models.PositiveIntegerField(default=0)
    rows_duplicate = models.PositiveIntegerField(default=0)
    rows_rejected = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True, help_text="Why the whole batch failed, if it did")
    reconciliation = models.JSONField(
        default=dict,
        blank=True,
        help_text="Billing exports: the file's totals beside what was stored (reconciliation.py)",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = OrgScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "import batches"
        constraints = [
            models.CheckConstraint(
                condition=~Q(status__in=["done", "partial"])
                | Q(rows_total=F("rows_loaded") + F("rows_duplicate") + F("rows_rejected")),
                name="batch_rows_accounted",
            ),
            models.CheckConstraint(condition=Q(progress_pct__lte=100), name="batch_progress_lte_100"),
        ]

    def __str__(self) -> str:
        return f"{self.source} batch {self.pk} ({self.status})"


class RowError(models.Model):
    """A rejected input row: its 1-based ``row_number`` in the file (header = row 1), the column
    at fault and a reason a person can act on."""

    batch = models.ForeignKey(ImportBatch, on_delete=models.CASCADE, related_name="row_errors")
    row_number = models.PositiveIntegerField()
    column = models.CharField(max_length=100, blank=True)
    value = models.CharField(max_length=200, blank=True, help_text="The offending cell, if one")
    reason = models.TextField()
    raw = models.TextField(blank=True)

    objects = OrgScopedQuerySet.as_manager()
    org_path = "batch__organization"

    class Meta:
        ordering = ["batch", "row_number"]

    def __str__(self) -> str:
        return f"row {self.row_number} {self.column}: {self.reason}"


class ImportChunk(models.Model):
    """One piece of a large billing export, imported by its own task (ingest/chunked.py).

    A chunk commits its lines, row errors and counts in one transaction and is then ``done``; a
    redelivered task finds it done and does nothing. The batch finishes when its last chunk does.
    ``file_name`` is the storage name the piece is read from (the upload, or its inflated copy);
    ``start``/``end``/``header_end`` its byte range, ``row_groups`` its Parquet row groups;
    ``longest_record`` the bytes of the file's longest record, measured when it was split (None: not measured,
    the piece is read through the record bound).
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    batch = models.ForeignKey(ImportBatch, on_delete=models.CASCADE, related_name="chunks")
    index = models.PositiveIntegerField()
    file_name = models.CharField(max_length=300)
    first_row = models.PositiveIntegerField()
    start = models.BigIntegerField(default=0)
    end = models.BigIntegerField(default=0)
    header_end = models.BigIntegerField(default=0)
    row_groups = models.JSONField(default=list, blank=True)
    longest_record = models.BigIntegerField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    error = models.TextField(blank=True)
    rows_total = models.PositiveIntegerField(default=0)
    rows_loaded = models.PositiveIntegerField(default=0)
    rows_duplicate = models.PositiveIntegerField(default=0)
    rows_rejected = models.PositiveIntegerField(default=0)
    tally = models.JSONField(default=dict, blank=True, help_text="The piece's totals (reconciliation.FileTally)")
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = OrgScopedQuerySet.as_manager()
    org_path = "batch__organization"

    class Meta:
        ordering = ["batch", "index"]
        constraints = [models.UniqueConstraint(fields=["batch", "index"], name="import_chunk_unique")]

    def __str__(self) -> str:
        return f"chunk {self.index} of batch {self.batch_id} ({self.status})"
