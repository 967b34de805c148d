"""Storing an upload and its SHA-256: a rename and one pass, or a copy hashed while it is made.

A large upload reaches a view as a temporary file Django wrote while it arrived. Where that file is on the
storage's own file system, storing it is a rename (no second copy of the bytes) followed by one hashing pass;
anywhere else the storage copies it and the copy is hashed on the way (``HashingReader``). A 542 MB export
took 0.5-1.8 s to store when copied (the copy's writes are what varies) and about 0.4 s when renamed
(README, billing benchmark).
"""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path
from typing import Any, BinaryIO, cast

from django.core.files.base import File
from django.core.files.storage import FileSystemStorage
from django.db.models.fields.files import FieldFile

_BLOCK_BYTES = 1 << 20


class _Blocks(File):
    """A file the storage copies in blocks of 1 MiB (Django's default is 64 KiB: 16 times the Python calls)."""

    DEFAULT_CHUNK_SIZE = _BLOCK_BYTES


def upload_store(field: FieldFile, name: str, stream: BinaryIO) -> tuple[str, int]:
    """Store ``stream`` as ``field``'s file under ``name``; the file's SHA-256 (hex) and size in bytes.

    A Django upload held in a temporary file on the same file system as a file-system storage is moved there:
    the storage renames it (``FileSystemStorage`` does so for any file with a ``temporary_file_path``), and the
    still-open file is then read once for its hash. Anything else is copied by the storage and hashed while
    copied."""
    if isinstance(stream, File) and _renamable(stream, field.storage):
        field.save(name, stream, save=False)
        return _file_sha256(stream)
    reading = HashingReader(stream)
    field.save(name, _Blocks(cast(BinaryIO, reading)), save=False)
    return reading.checksum()


def _renamable(stream: File, storage) -> bool:
    """Whether ``storage`` would store ``stream`` by renaming its temporary file: a file-system storage on the
    same device (across devices Django would copy it without our hash, so it is copied by us instead)."""
    temporary_path = getattr(stream, "temporary_file_path", None)
    if temporary_path is None or not isinstance(storage, FileSystemStorage):
        return False
    location = Path(storage.location)
    location.mkdir(parents=True, exist_ok=True)
    return os.stat(temporary_path()).st_dev == location.stat().st_dev


class HashingReader(io.RawIOBase):
    """Passes ``inner``'s bytes through and hashes them (SHA-256) as they are read.

    A storage reads the file from its start to its end: ``checksum`` is then the file's SHA-256 and size. A
    seek back to the start begins again (a storage may read twice); a read that skips or goes back elsewhere
    makes ``checksum`` hash the file in a pass of its own, so that it is never a hash of what was read.
    """

    def __init__(self, inner: BinaryIO):
        self._inner = inner
        self._hash = hashlib.sha256()
        self._hashed = 0  # bytes hashed, from the start of the file
        self._in_order = True

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._inner.read(len(buffer))
        self._hash.update(data)
        self._hashed += len(data)
        buffer[: len(data)] = data
        return len(data)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        position = self._inner.seek(offset, whence)
        if position == 0:
            self._hash, self._hashed, self._in_order = hashlib.sha256(), 0, True
        elif position != self._hashed and whence != io.SEEK_END:
            self._in_order = False  # reading on from here would hash out of order
        return position

    def tell(self) -> int:
        return self._inner.tell()

    def checksum(self) -> tuple[str, int]:
        """The file's SHA-256 (hex) and size in bytes."""
        size = self._inner.seek(0, io.SEEK_END)
        if not self._in_order or self._hashed != size:
            return _file_sha256(self._inner)
        return self._hash.hexdigest(), size


def _file_sha256(handle: BinaryIO) -> tuple[str, int]:
    """The SHA-256 (hex) and size in bytes of the whole file ``handle``, in one pass from its start."""
    size = handle.seek(0, io.SEEK_END)
    handle.seek(0)
    # typeshed's BinaryIO has no readinto, which file_digest reads with (every file object we get has it).
    return hashlib.file_digest(cast(Any, handle), "sha256").hexdigest(), size
