"""Hashing an upload while the storage copies it: one pass over a large export instead of two."""

from __future__ import annotations

import hashlib
import io
from typing import BinaryIO


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
            self._inner.seek(0)
            digest = hashlib.sha256()
            for block in iter(lambda: self._inner.read(1 << 20), b""):
                digest.update(block)
            return digest.hexdigest(), size
        return self._hash.hexdigest(), size
