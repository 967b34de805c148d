"""A worker process keeps freed memory for its next piece: measured in page faults, in a child interpreter each
(allocator settings are process-wide, and the test process's own history would blur the counts)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from celery.signals import worker_process_init

ROOT = Path(__file__).parents[2]
# Five "pieces", each allocating, touching and freeing a 64 MiB block (a bytearray: glibc's malloc).
SCRIPT = """
import json, resource, sys
from ingest.worker_memory import worker_memory_keep
done = worker_memory_keep() if sys.argv[1] == "keep" else None
size, faults = 64 * 1024**2, []
for _ in range(5):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    block = bytearray(size)
    block[:: 4096] = b"x" * (size // 4096)
    del block
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(json.dumps({"done": done, "faults": faults}))
"""


def _run(mode: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, mode], cwd=ROOT, check=True, capture_output=True, text=True
    )  # fmt: skip
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_kept_memory_is_not_faulted_in_again_piece_after_piece():
    kept, default = _run("keep"), _run("default")
    if not kept["done"]:  # macOS, musl: no mallopt, or one that ignores it (glibc in CI runs the test)
        pytest.skip("this platform's C library takes no mallopt setting")
    pages = 64 * 1024**2 // 4096
    # By default glibc maps each large block anew, so each piece faults it in again; kept, only the first does.
    assert min(default["faults"][1:]) > pages * 0.9
    assert kept["faults"][0] > pages * 0.9
    assert max(kept["faults"][1:]) < pages * 0.1


def test_every_pool_process_sets_it_up_at_start():
    assert any(getattr(receiver(), "__name__", "") == "_worker_memory" for _, receiver in worker_process_init.receivers)
