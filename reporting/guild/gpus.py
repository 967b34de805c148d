"""The GPU performance-per-watt table of the what-if GPU swap (``gpu_perf_per_watt.csv``, a source per row).

Perf-per-watt = datasheet peak dense tensor TFLOPS (FP16/BF16, no sparsity) ÷ TDP watts: a spec-sheet
ratio, not a measured one; replays built on it are upper bounds of what a swap saves.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

GPU_TABLE = Path(__file__).with_name("gpu_perf_per_watt.csv")


@dataclass(frozen=True)
class GpuSpec:
    match: str
    gpu_model: str
    tdp_w: float
    dense_tensor_tflops: float
    source: str

    @property
    def perf_per_w(self) -> float:
        return self.dense_tensor_tflops / self.tdp_w


@cache
def gpu_table() -> tuple[GpuSpec, ...]:
    with GPU_TABLE.open(newline="", encoding="utf-8") as handle:
        return tuple(
            GpuSpec(
                match=row["match"],
                gpu_model=row["gpu_model"],
                tdp_w=float(row["tdp_w"]),
                dense_tensor_tflops=float(row["dense_tensor_tflops"]),
                source=row["source"],
            )
            for row in csv.DictReader(handle)
        )


def gpu_spec_for(name: str) -> GpuSpec | None:
    """The table row whose ``match`` words occur in the (tracker's) GPU name; the longest match wins."""
    normalized = re.sub(r"[-_/]+", " ", name.upper())
    found = [spec for spec in gpu_table() if re.search(rf"\b{re.escape(spec.match)}\b", normalized)]
    return max(found, key=lambda spec: len(spec.match)) if found else None
