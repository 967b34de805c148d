"""The upload's checksum is the file's SHA-256 however the storage reads it (ingest/upload_hash.py)."""

import hashlib
import io
import os
from pathlib import Path

import pytest
from django.apps import apps
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import TemporaryUploadedFile

from ingest.models import ImportBatch
from ingest.services import import_batch_create
from ingest.upload_hash import HashingReader

CONTENT = bytes(range(256)) * 5000  # 1.28 MB, more than one storage chunk


@pytest.mark.parametrize(
    "steps",
    [
        [("seek", 0), ("read", len(CONTENT))],  # start to end, as a file system storage copies
        [("read", 1000), ("seek", 0), ("read", len(CONTENT))],  # a partial read, then the whole file again
        [("read", 1000), ("seek", 5000), ("read", len(CONTENT))],  # a jump forward: hashed in a pass of its own
        [("read", 5000), ("seek", 10), ("read", 100)],  # a jump back, and the end never read
        [],  # nothing read at all
    ],
    ids=["once", "twice", "skips", "goes-back", "unread"],
)
def test_the_checksum_is_the_file_s_hash_whatever_was_read(steps):
    reader = HashingReader(io.BytesIO(CONTENT))
    for action, amount in steps:
        getattr(reader, action)(amount)
    assert reader.checksum() == (hashlib.sha256(CONTENT).hexdigest(), len(CONTENT))


@pytest.mark.django_db
def test_a_stored_upload_carries_its_hash_and_size(org_a, media_root):
    batch = import_batch_create(organization=org_a, source="aws_cur", filename="cur.csv", stream=io.BytesIO(CONTENT))
    stored = ImportBatch.objects.get(pk=batch.pk)
    assert (stored.checksum, stored.size_bytes) == (hashlib.sha256(CONTENT).hexdigest(), len(CONTENT))
    assert stored.raw_file.read() == CONTENT


def _upload() -> TemporaryUploadedFile:
    """A large upload as Django hands it to a view: a temporary file it wrote while the request arrived."""
    upload = TemporaryUploadedFile("cur.csv", "text/csv", len(CONTENT), None)
    upload.write(CONTENT)
    upload.flush()
    return upload


@pytest.mark.django_db
def test_an_upload_on_the_storage_s_file_system_is_renamed_not_copied(org_a, media_root, settings):
    settings.FILE_UPLOAD_TEMP_DIR = str(media_root.parent)  # the same file system as the storage
    upload = _upload()
    inode = os.stat(upload.temporary_file_path()).st_ino
    batch = import_batch_create(organization=org_a, source="aws_cur", filename="cur.csv", stream=upload)
    stored = ImportBatch.objects.get(pk=batch.pk)
    assert os.stat(stored.raw_file.path).st_ino == inode  # the same file, moved
    assert not os.path.exists(upload.temporary_file_path())
    assert (stored.checksum, stored.size_bytes) == (hashlib.sha256(CONTENT).hexdigest(), len(CONTENT))
    assert stored.raw_file.read() == CONTENT
    upload.close()  # as Django does after the response: the moved file is not missed


@pytest.mark.django_db
def test_an_upload_on_another_file_system_is_copied_and_hashed_on_the_way(org_a, media_root, settings):
    shm = Path("/dev/shm")  # noqa: S108 - a second file system, only read for its device and written by Django
    media_root.mkdir(parents=True, exist_ok=True)
    if not shm.is_dir() or shm.stat().st_dev == media_root.stat().st_dev:
        pytest.skip("no second file system (/dev/shm) beside the test's media root")
    settings.FILE_UPLOAD_TEMP_DIR = str(shm)
    upload = _upload()
    batch = import_batch_create(organization=org_a, source="aws_cur", filename="cur.csv", stream=upload)
    stored = ImportBatch.objects.get(pk=batch.pk)
    assert os.path.exists(upload.temporary_file_path())  # copied: the upload's own file is still there
    assert (stored.checksum, stored.size_bytes) == (hashlib.sha256(CONTENT).hexdigest(), len(CONTENT))
    assert stored.raw_file.read() == CONTENT
    upload.close()


@pytest.mark.django_db
def test_an_upload_over_the_memory_bound_is_stored_through_the_api(client, org_a, alice, media_root, settings):
    # Django writes the file into FILE_UPLOAD_TEMP_DIR (beside the media root: one file system) while the request
    # arrives; the view's batch takes the moved file, whole.
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE, settings.FILE_UPLOAD_TEMP_DIR = 1024, str(media_root.parent)
    client.force_login(alice)
    response = client.post("/api/v1/imports/", {"source": "aws_cur", "file": ContentFile(CONTENT, name="cur.csv")})
    assert response.status_code == 202, response.content
    stored = ImportBatch.objects.get(pk=response.json()["id"])
    assert (stored.checksum, stored.size_bytes) == (hashlib.sha256(CONTENT).hexdigest(), len(CONTENT))
    assert stored.raw_file.read() == CONTENT
    assert list(media_root.parent.glob("*.upload*")) == []  # no temporary file left behind


def test_the_upload_directory_is_created_at_start_up(settings, tmp_path):
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path / "volume" / ".uploads")  # a volume mounted over the image's
    apps.get_app_config("ingest").ready()
    assert (tmp_path / "volume" / ".uploads").is_dir()
