"""The genuine tracker files of ``fixtures/trackers``, for the tracker tests (``tracker_clock``: conftest.py)."""

import io
import zipfile
from datetime import UTC, datetime
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures" / "trackers"
NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # "now" for the parsers' future-date rules


def read_fixture(name: str) -> bytes:
    """A tracker file's bytes, by its path under ``fixtures/trackers``."""
    return (FIXTURES / name).read_bytes()


def zipped(members: dict[str, bytes]) -> bytes:
    """A zip archive of these members (name → bytes), as a user uploads a run folder."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()
