"""Python's cyclic garbage collector paused while a block of a file is decoded into many small objects.

Decoding 10,000 JSON lines makes about 200,000 dicts and lists, which sets off a young-generation collection
every 700 allocations and, now and then, a full one over every object of the worker (Django and its
libraries included): measured on the bench's Google Cloud JSON lines (bench/billing_parse.py), 17 % of the
parse. Nothing decoded from JSON refers back to itself, so no cycle is left for the collector to find; the
pause covers one block, after which the collector runs as before.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """The cyclic collector off inside the block, back on after it (unless it was already off)."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
