from pathlib import Path

from django.apps import AppConfig
from django.conf import settings


class IngestConfig(AppConfig):
    """The outside world's formats: parsers, import batches, the tracker-facing API."""

    name = "ingest"
    verbose_name = "Ingest"

    def ready(self) -> None:
        # Django writes large uploads into FILE_UPLOAD_TEMP_DIR but does not create it; a volume mounted over
        # the image's directory would hide it, and every upload over FILE_UPLOAD_MAX_MEMORY_SIZE would fail.
        if settings.FILE_UPLOAD_TEMP_DIR:
            Path(settings.FILE_UPLOAD_TEMP_DIR).mkdir(parents=True, exist_ok=True)
