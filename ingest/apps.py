from django.apps import AppConfig


class IngestConfig(AppConfig):
    """The outside world's formats: parsers, import batches, the tracker-facing API."""

    name = "ingest"
    verbose_name = "Ingest"
