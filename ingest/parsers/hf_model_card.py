"""Hugging Face model card ``README.md``: the ``co2_eq_emissions`` entry of its YAML front matter.

Either a mapping (hub docs "model-cards-co2": ``emissions`` in **grams** CO2e, ``source``,
``training_type``, ``geographical_location``, ``hardware_used``) or a bare number of grams (older AutoTrain
cards). One run per card: external_id is the model id — the ``model_id`` option (the repository id,
``owner/name``), else ``model_name``, else ``model-index[0].name``, else the card's first ``# `` heading unless
it is a template's title (AutoTrain writes "# Model Trained Using AutoTrain" on every card: such a card needs
the option). A later card with the same id replaces the run when it describes the same model; a card of
another model (different hardware, location, source or training type) under the same id is refused with
the option to set (ingest/loaders.py).

A card reports emissions, never energy. Choice: the run is stored with ``energy_kwh = 0`` and the card's
figure as ``tracker_emissions_kg_co2e`` (grams / 1000), flagged ``emissions_only_no_energy`` so it is
visible and can be reconciled, rather than rejected (the disclosure would be lost) or converted to kWh
with a guessed intensity (invented data). A card has no date either: ``started_at = ended_at`` is the
import day (00:00 UTC), duration 0, flagged ``time_unknown``; re-importing keeps the stored date (see
ingest.loaders). Kind from the ``kind`` option, else ``training_type`` (fine-tuning → fine_tuning, else
training). ``hardware_used`` like ``"8 x NVIDIA H100 80GB"`` gives the GPU model and count; the location's
last comma-separated part names the country. The card names no project: use the ``project`` option.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC

import yaml

from emissions.choices import RunKind
from emissions.json_depth import JSON_MAX_DEPTH, JsonTooDeepError, json_depth_check
from emissions.records import RunRecord
from ingest.parsers import tracker_rows
from ingest.parsers.csv_rows import CellError
from ingest.parsers.input_limits import yaml_load
from ingest.parsers.tracker_rows import cell_issue, country_iso3, decode, number, tracker_options
from ingest.records import ParsedRow, ParseError, RowIssue

SOURCE = "hf_model_card"
# Titles that card templates write for every model (AutoTrain, the hub's default template): never an id.
GENERIC_HEADINGS = {
    "model trained using autotrain",
    "model card for model id",
    "model card",
    "model description",
    "readme",
}
_HARDWARE = re.compile(r"^\s*(\d+)\s*[x×*]\s*(.+?)\s*$", re.IGNORECASE)
_FINE_TUNING = {"fine-tuning", "finetuning", "fine_tuning", "fine tuning"}


def parse(content: bytes, *, options: dict | None = None) -> Iterator[ParsedRow | RowIssue]:
    """Yield the card's one record (its row number is the line of ``co2_eq_emissions``), or its row error."""
    settings = tracker_options(options)
    lines = decode(content).splitlines()
    if lines[0].strip() != "---":
        raise ParseError("no YAML front matter: a model card starts with a '---' line")
    end = next((index for index in range(1, len(lines)) if lines[index].strip() in ("---", "...")), None)
    if end is None:
        raise ParseError("the YAML front matter has no closing '---' line: is the file truncated?")
    try:
        meta = yaml_load("\n".join(lines[1:end]))
        json_depth_check(meta)  # the same bound as JSON: the card's metadata is read like a JSON document
    except yaml.YAMLError as exc:
        raise ParseError(f"the YAML front matter is not valid YAML: {exc}") from exc
    except (RecursionError, JsonTooDeepError):  # PyYAML composes nested nodes recursively
        raise ParseError(f"the YAML front matter nests deeper than {JSON_MAX_DEPTH} levels of lists/mappings") from None
    if not isinstance(meta, dict) or meta.get("co2_eq_emissions") is None:
        raise ParseError("the front matter has no co2_eq_emissions entry")
    row_number = next((i + 1 for i, line in enumerate(lines[:end]) if line.startswith("co2_eq_emissions")), 1)
    stated_id = str((options or {}).get("model_id") or "").strip()
    model_id = stated_id or _model_id(meta, lines[end + 1 :])
    co2 = meta["co2_eq_emissions"]
    details = co2 if isinstance(co2, dict) else {}
    column = "co2_eq_emissions.emissions" if isinstance(co2, dict) else "co2_eq_emissions"
    raw = details.get("emissions") if isinstance(co2, dict) else co2
    try:
        grams = number(raw, column)
    except CellError as exc:
        yield cell_issue(row_number, exc, value="" if raw is None else raw, raw=str(co2))
        return
    training_type = str(details.get("training_type") or "").strip().lower()
    kind = settings.kind or (RunKind.FINE_TUNING if training_type in _FINE_TUNING else RunKind.TRAINING)
    hardware = str(details.get("hardware_used") or "").strip()
    location = str(details.get("geographical_location") or "").strip()
    gpu = _HARDWARE.match(hardware)
    day = tracker_rows.utc_now().astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    tags = [
        ("co2_source", str(details.get("source") or "")),
        ("geographical_location", location),
        ("hardware_used", hardware),
        ("training_type", training_type),
    ]
    yield ParsedRow(
        row_number=row_number,
        record=RunRecord(
            source=SOURCE,
            external_id=model_id[:128],
            kind=str(kind),
            started_at=day,
            ended_at=day,
            duration_s=0.0,
            energy_kwh=0.0,
            gpu_model=(gpu[2] if gpu else "")[:200],
            gpu_count=int(gpu[1]) if gpu else 0,
            country_iso3=country_iso3(location),
            tracker_emissions_kg_co2e=grams / 1000.0,
            tracker_name=str(details.get("source") or "")[:50],
            tags=tuple((name, value[:200]) for name, value in tags if value),
            flags=("emissions_only_no_energy", "time_unknown", *(("model_id_stated",) if stated_id else ())),
        ),
    )


def _model_id(meta: dict, body: list[str]) -> str:
    """The model id the card describes; a card without one, or with only a template's title, cannot be keyed."""
    index = meta.get("model-index")
    candidates = [
        meta.get("model_name"),
        index[0].get("name") if isinstance(index, list) and index and isinstance(index[0], dict) else None,
    ]
    for candidate in candidates:
        if candidate and str(candidate).strip():
            return str(candidate).strip()
    heading = next((line[2:].strip() for line in body if line.startswith("# ")), "")
    if heading.casefold() in GENERIC_HEADINGS:
        raise ParseError(
            f"the card's heading {heading!r} is a template's title shared by many models, not a model id: "
            "give the Hugging Face repository id with the model_id option (--model-id owner/name)"
        )
    if heading:
        return heading
    raise ParseError(
        "the card names no model: give the repository id with the model_id option (--model-id owner/name), "
        "or add model_name to the front matter"
    )
