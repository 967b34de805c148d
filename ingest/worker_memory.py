"""How a Celery worker process's malloc treats freed memory: kept for the next piece of an import.

A worker imports a large billing file piece after piece (ingest/chunked.py), each piece allocating and freeing
the same large blocks: the piece's bytes, the COPY payload, numpy's arrays. By default glibc's malloc gives
each block above its mapping threshold a mapping of its own and unmaps it when freed, and hands a freed heap
top back above 128 KiB, so every piece faults the same memory in again and the kernel zeroes each page first.
Here blocks up to ``HEAP_KEEP_BYTES`` come from the heap and a freed heap top up to that size is kept.

Measured on a 1,000,000-line CUR import with two workers (bench/billing_ingest.py, alternating with the code
before; docs/billing-benchmark-history.md): the pool's minor page faults went from 328,000–340,000 to 133,000–135,000
and its CPU from 7.7–8.2 to 7.2–7.6 seconds. The cost is resident memory: a worker keeps what its largest
piece needed (the pool's peak proportional set went from 658–659 to 744–795 MiB in the same runs, under the
1 GiB bound). Only Celery pool processes are set this way (frontend/celery.py), not the web server.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

logger = logging.getLogger(__name__)

# mallopt's parameter numbers (glibc's malloc.h).
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
# Blocks below this come from the heap (reused) instead of a mapping of their own (faulted in each time); a
# freed heap top below it is kept. A piece's largest blocks are tens of MiB.
HEAP_KEEP_BYTES = 512 * 1024**2


def worker_memory_keep() -> bool:
    """Set this process's malloc to keep freed memory for reuse (see the module's docstring). Returns whether it
    took the setting: False where the C library has no ``mallopt`` (macOS) or ignores it (musl's returns 0)."""
    name = ctypes.util.find_library("c")
    libc = ctypes.CDLL(name) if name else None
    done = bool(
        libc is not None
        and hasattr(libc, "mallopt")
        and libc.mallopt(_M_MMAP_THRESHOLD, HEAP_KEEP_BYTES)
        and libc.mallopt(_M_TRIM_THRESHOLD, HEAP_KEEP_BYTES)
    )
    if not done:
        logger.info("worker malloc left as it is: this C library takes no mallopt setting")
    return done
