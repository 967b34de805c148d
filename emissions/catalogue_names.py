"""The names people and trackers write for catalogue entries, resolved to the catalogue's own names.

A fleet register writes ``NVIDIA H100 SXM5 80GB`` where the hardware catalogue (hardware_embodied.csv)
says ``NVIDIA H100 SXM 80GB``; CodeCarbon writes ``8 x NVIDIA A100-SXM4-80GB`` (a count and the NVML
device name); a leak log writes ``R-32`` where the GWP table (gwp_ar6.csv) says ``HFC-32``. Names are
compared on a key that ignores letter case, spaces, hyphens, underscores, slashes and a tracker's
``N x`` count, so ``NVIDIA A100-SXM4-80GB`` and ``R32`` need no row; the spellings the key cannot
reconcile are listed, each with its source, in reference_data/hardware_aliases.csv and
refrigerant_aliases.csv (see docs/import-formats.md, "Catalogue names").
"""

from __future__ import annotations

import csv
import functools
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TypeVar

from django.db.models import F

from emissions.models import HardwareModel, Organization

REFERENCE_DIR = Path(__file__).resolve().parent / "reference_data"

T = TypeVar("T")

# CodeCarbon prefixes the GPU name with the number of GPUs: "8 x NVIDIA H800".
_COUNT = re.compile(r"^\s*\d+\s*[x×]\s+", re.IGNORECASE)
_SEPARATORS = re.compile(r"[\s\-_/]+")


def name_key(name: str) -> str:
    """The comparison key of a name: lower case, no separators, no leading ``N x`` count."""
    return _SEPARATORS.sub("", _COUNT.sub("", name)).casefold()


@functools.cache
def _alias_pairs(filename: str) -> tuple[tuple[str, str], ...]:
    """(alias key, catalogue key) of every row of an alias file."""
    with open(REFERENCE_DIR / filename, newline="", encoding="utf-8") as handle:
        return tuple((name_key(row["alias"]), name_key(row["catalogue_name"])) for row in csv.DictReader(handle))


def _lookup(written: str, by_key: Mapping[str, T], alias_file: str) -> T | None:
    """The entry of ``by_key`` (keyed by ``name_key``) a written name stands for, or None.

    The name's own key wins; else an alias row read either way (``R-32`` finds ``HFC-32`` and, in a
    table that spells it ``R-32``, ``HFC-32`` finds ``R-32``). A list of different names (carbontracker
    joins a machine's GPUs with commas) stands for no single entry, unless the whole name, commas and all, is
    an entry's own (``GPU server, complete (8-GPU class, generic)``)."""
    whole = name_key(written)
    if whole in by_key:
        return by_key[whole]
    keys = {name_key(part) for part in written.split(",") if part.strip()}
    if len(keys) != 1:
        return None
    (key,) = keys
    if key in by_key:
        return by_key[key]
    for alias, target in _alias_pairs(alias_file):
        other = target if alias == key else alias if target == key else None
        if other is not None and other in by_key:
            return by_key[other]
    return None


def hardware_lookup(written: str, by_key: Mapping[str, T]) -> T | None:
    """The hardware catalogue entry (``by_key``: entries by ``name_key`` of their name) a register or tracker
    name stands for: ``NVIDIA H100 SXM5 80GB``, ``8 x NVIDIA A100-SXM4-80GB``, ``Tesla T4``."""
    return _lookup(written, by_key, "hardware_aliases.csv")


def gas_lookup(written: str, by_key: Mapping[str, T]) -> T | None:
    """The GWP table entry (``by_key``: entries by ``name_key`` of their gas) a refrigerant name stands
    for: ``R-32``, ``r32`` and ``HFC 32`` all find ``HFC-32``."""
    return _lookup(written, by_key, "refrigerant_aliases.csv")


class HardwareCatalogue:
    """The hardware models an organization sees (shipped and its own), found by any name they go by."""

    def __init__(self, organization: Organization | None = None):
        queryset = HardwareModel.objects.filter(organization__isnull=True)
        if organization is not None:
            queryset = HardwareModel.objects.visible_to(organization)
        self.by_key: dict[str, HardwareModel] = {}
        # Shipped models first, so the organization's own model of the same name wins.
        for model in queryset.order_by(F("organization").asc(nulls_first=True), "pk"):
            self.by_key[name_key(model.name)] = model

    def model_for(self, written: str) -> HardwareModel | None:
        """The HardwareModel a register or tracker GPU name stands for, or None."""
        return hardware_lookup(written, self.by_key) if written else None


def hardware_model_for(name: str, *, organization: Organization | None = None) -> HardwareModel | None:
    """The catalogue HardwareModel a register or tracker GPU name stands for (``NVIDIA A100-SXM4-80GB``,
    ``8 x NVIDIA H100 80GB HBM3``, ``Tesla V100-SXM2-16GB``), or None; one query per call."""
    return HardwareCatalogue(organization).model_for(name)
