"""The upload's checksum is the file's SHA-256 however the storage reads it (ingest/upload_hash.py)."""

import hashlib
import io

import pytest

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
