"""The explicit table of import sources: parser (pure) and the emissions service that loads it.

Adding a source means one parser module and one entry here; nothing is registered implicitly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from emissions.services import inventory
from emissions.services.provider_carbon import provider_carbon_upsert_many
from emissions.services.sites import site_upsert_many
from ingest.loaders import cloud_usage_finalize, cloud_usage_load, cloud_usage_load_lines, runs_load
from ingest.parsers import (
    aws_carbon,
    aws_cur,
    azure_carbon,
    azure_cost,
    billing_sniff,
    boamps_json,
    carbon_credits,
    carbontracker,
    codecarbon_csv,
    codecarbon_task_csv,
    disposal_factors,
    eco2ai_csv,
    energy_instruments,
    focus,
    fuel,
    gcp_billing,
    gcp_carbon,
    granular_certificates,
    grid_factors,
    grid_intensity_hourly,
    hardware_assets,
    hf_model_card,
    native_json,
    refrigerant,
    site_electricity,
    site_electricity_hourly,
    site_electricity_hourly_json,
    sites,
    zeus_csv,
)


@dataclass(frozen=True)
class Source:
    """An import source: ``parse(bytes)`` yields rows; ``load(organization=, records=, source_batch_id=)``
    upserts them and returns an ``UpsertOutcome``. With ``takes_options`` both also receive the
    batch's ``options`` (project, team, site, timezone of naive timestamps)."""

    label: str
    parse: Callable
    load: Callable
    takes_options: bool = False
    # Large exports: ``read_chunks(file, chunk_rows=)`` streams lists of rows instead of ``parse(bytes)``.
    read_chunks: Callable | None = None
    # Runs once after every row is loaded, in the batch's transaction (e.g. replacing restated months).
    finalize: Callable | None = None
    # The columnar path (billing_columns.py: CSV, flat Parquet, JSON lines): ``read_lines(stream, first_row=)`` yields
    # CloudUsageLines (or row items), stored by ``load_lines(organization=, lines=, ...)``.
    read_lines: Callable | None = None
    load_lines: Callable | None = None


PARSERS: dict[str, Source] = {
    "sites": Source(label="Sites (inventory CSV)", parse=sites.parse, load=site_upsert_many),
    "site_electricity": Source(
        label="Site electricity meter readings (inventory CSV)",
        parse=site_electricity.parse,
        load=inventory.meter_reading_upsert_many,
    ),
    "site_electricity_hourly": Source(
        label="Site electricity, hourly meter data (inventory CSV)",
        parse=site_electricity_hourly.parse,
        load=inventory.hourly_meter_reading_upsert_many,
    ),
    # The same readings as JSON, as a meter gateway posts them (POST /api/v1/sites/<slug>/hourly-readings/).
    "site_electricity_hourly_json": Source(
        label="Site electricity, hourly meter data (meter API JSON)",
        parse=site_electricity_hourly_json.parse,
        load=inventory.hourly_meter_reading_upsert_many,
        takes_options=True,
    ),
    "granular_certificates": Source(
        label="Granular (hourly) energy certificates (inventory CSV)",
        parse=granular_certificates.parse,
        load=inventory.granular_certificate_upsert_many,
    ),
    "grid_factors": Source(
        label="Own grid emission factors (inventory CSV)",
        parse=grid_factors.parse,
        load=inventory.grid_factor_upsert_many,
    ),
    "grid_intensity_hourly": Source(
        label="Own hourly grid intensity: location-based, residual mix, carbon-free share (inventory CSV)",
        parse=grid_intensity_hourly.parse,
        load=inventory.hourly_intensity_upsert_many,
    ),
    "energy_instruments": Source(
        label="Energy instruments: certificates, PPAs, tariffs (inventory CSV)",
        parse=energy_instruments.parse,
        load=inventory.energy_instrument_upsert_many,
    ),
    "hardware_assets": Source(
        label="Hardware assets, the fleet register (inventory CSV)",
        parse=hardware_assets.parse,
        load=inventory.hardware_asset_upsert_many,
    ),
    "fuel": Source(label="Fuel use (inventory CSV)", parse=fuel.parse, load=inventory.fuel_use_upsert_many),
    "refrigerant": Source(
        label="Refrigerant losses (inventory CSV)", parse=refrigerant.parse, load=inventory.refrigerant_loss_upsert_many
    ),
    "carbon_credits": Source(
        label="Cancelled carbon credits (inventory CSV)",
        parse=carbon_credits.parse,
        load=inventory.carbon_credit_upsert_many,
    ),
    "disposal_factors": Source(
        label="Own disposal factors (inventory CSV)",
        parse=disposal_factors.parse,
        load=inventory.disposal_factor_upsert_many,
    ),
    # Tracker files (runs): docs/import-formats.md "Tracker files".
    "codecarbon_csv": Source(
        label="CodeCarbon emissions.csv (one file, or a ZIP of per-rank files)",
        parse=codecarbon_csv.parse,
        load=runs_load,
        takes_options=True,
    ),
    "codecarbon_task_csv": Source(
        label="CodeCarbon task CSV (emissions_<experiment>_<run_id>.csv)",
        parse=codecarbon_task_csv.parse,
        load=runs_load,
        takes_options=True,
    ),
    "carbontracker": Source(
        label="carbontracker logs (log directory as ZIP, or an *_output.log)",
        parse=carbontracker.parse,
        load=runs_load,
        takes_options=True,
    ),
    "eco2ai_csv": Source(label="eco2ai emission.csv", parse=eco2ai_csv.parse, load=runs_load, takes_options=True),
    "zeus_csv": Source(label="Zeus ZeusMonitor log CSV", parse=zeus_csv.parse, load=runs_load, takes_options=True),
    "hf_model_card": Source(
        label="Hugging Face model card README.md (co2_eq_emissions)",
        parse=hf_model_card.parse,
        load=runs_load,
        takes_options=True,
    ),
    "boamps_json": Source(label="BoAmps report JSON", parse=boamps_json.parse, load=runs_load, takes_options=True),
    # Cloud billing exports, streamed in chunks: docs/import-formats.md "Cloud billing".
    **{
        name: Source(
            label=label,
            parse=module.parse,
            load=cloud_usage_load,
            takes_options=True,
            read_chunks=module.read_chunks,
            finalize=cloud_usage_finalize,
            read_lines=getattr(module, "read_lines", None),
            load_lines=cloud_usage_load_lines,
        )
        for name, label, module in (
            ("aws_cur", "AWS Cost and Usage Report (legacy CUR, Athena, CUR 2.0; CSV, gzip, Parquet)", aws_cur),
            ("gcp_billing", "Google Cloud billing export (BigQuery CSV or JSON lines)", gcp_billing),
            ("azure_cost", "Azure cost details export (EA, MCA, legacy EA)", azure_cost),
            ("focus", "FinOps FOCUS 1.0-1.2 (CSV, Parquet)", focus),
            ("billing", "Any cloud billing export (dialect detected from the header)", billing_sniff),
        )
    },
    # Cloud providers' own carbon exports: docs/import-formats.md "Provider carbon exports".
    "aws_carbon": Source(
        label="AWS Customer Carbon Footprint export", parse=aws_carbon.parse, load=provider_carbon_upsert_many
    ),
    "gcp_carbon": Source(
        label="Google Cloud Carbon Footprint export", parse=gcp_carbon.parse, load=provider_carbon_upsert_many
    ),
    "azure_carbon": Source(
        label="Azure carbon emissions export", parse=azure_carbon.parse, load=provider_carbon_upsert_many
    ),
    # GreenGuild's own format (POST /api/v1/runs, or a .json file): docs/import-formats.md "Native runs".
    "native_json": Source(label="Native runs (JSON)", parse=native_json.parse, load=runs_load, takes_options=True),
}
