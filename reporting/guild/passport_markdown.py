"""The energy section of a model documentation form (EU AI Act Annex XI section 1, points 2(d) and 2(e); the
AI Office's Model Documentation Form) rendered as Markdown from a model passport (``reporting.guild.passport``)."""

from __future__ import annotations

from emissions.units import SECONDS_PER_HOUR
from reporting.guild.passport import METHOD_ESTIMATED, METHOD_REPORTED, METHOD_UNKNOWN


def _number(value, places: int = 2, unit: str = "") -> str:
    if value is None:
        return "unknown"
    text = f"{value:.3e}" if value and (abs(value) >= 1e9 or abs(value) < 1e-3) else f"{value:,.{places}f}"
    return f"{text} {unit}".rstrip()


def passport_markdown(passport: dict) -> str:
    """The energy section of a model documentation form (EU AI Act Annex XI section 1, points 2(d) and 2(e);
    the AI Office's Model Documentation Form) as Markdown, each figure with its method and the runs it sums."""
    model, training, inference = passport["model"], passport["training"], passport["inference"]
    compute, energy, emissions = training["compute"], training["energy"], training["emissions"]
    methods = compute["by_method"]
    lines = [
        f"## Energy and compute — {model['name']}",
        "",
        f"Lineage: {model['lineage_rule']} ({model['runs']} runs). "
        f"GreenGuild calculations: {', '.join(f'#{pk}' for pk in passport['calculations']) or 'none yet'}.",
        "",
        "### Computational resources used for training (Annex XI 1.2(d))",
        "",
        f"- Training compute: {_number(compute['flops'], 0, 'FLOPs')} over {compute['runs_known']} of "
        f"{training['runs']} runs ({methods[METHOD_REPORTED]['runs']} reported by the run, "
        f"{methods[METHOD_ESTIMATED]['runs']} estimated as GPU-hours × datasheet peak dense FLOP/s × mean GPU "
        f"utilization, {methods[METHOD_UNKNOWN]['runs']} unknown and not counted)",
        f"- Training time: {_number(training['time']['run_time_s'] / SECONDS_PER_HOUR, 1, 'h')} of run time, "
        f"{_number(training['time']['gpu_hours'], 1, 'GPU-hours')}, "
        f"from {training['time']['first_started_at'] or '—'} to {training['time']['last_ended_at'] or '—'}",
        f"- Parameters: {_number(model['parameters']['count'], 0) if model['parameters'] else 'not reported'}",
        f"- Training tokens: {_number(training['tokens'], 0) if training['tokens'] else 'not reported'}",
        "",
        "### Energy consumption of training (Annex XI 1.2(e))",
        "",
        f"- IT energy: {_number(energy['it_energy_kwh'], 1, 'kWh')}",
    ]
    for name, component in energy["components"].items():
        tiers = ", ".join(f"{tier} {kwh:,.1f} kWh" for tier, kwh in sorted(component["by_quality_kwh"].items()))
        lines.append(f"  - {name.upper()}: {component['energy_kwh']:,.1f} kWh ({tiers or 'none'})")
    if energy["unsplit_energy_kwh"]:
        lines.append(f"  - not split by component: {energy['unsplit_energy_kwh']:,.1f} kWh")
    pues = ", ".join(f"{pue:g}" for pue in energy["pues"]) or "none applied"
    places = "; ".join(
        " / ".join(part for part in (loc["grid_zone"], loc["site"], loc["cloud_region"]) if part) or "not located"
        for loc in energy["locations"]
    )
    lines += [
        f"- Facility energy (IT × PUE, as booked in the ledger): {_number(energy['facility_energy_kwh'], 1, 'kWh')}; "
        f"effective PUE {_number(energy['effective_pue'], 2)} (PUEs applied: {pues})",
        f"- Locations (grid zone / site / cloud region): {places or 'none'}",
        f"- Emissions, location-based: {_number(emissions['electricity_location_kg_co2e'], 2, 'kgCO2e')}; "
        f"market-based: {_number(emissions['electricity_market_kg_co2e'], 2, 'kgCO2e')}; upstream (Scope 3 "
        f"Cat 3): {_number(emissions['upstream_location_kg_co2e'], 2, 'kgCO2e')}",
        f"- Embodied hardware share (amortized): {_number(emissions['embodied_amortized_kg_co2e'], 2, 'kgCO2e')}",
        f"- Data-centre water: {_number(training['water']['water_l'], 1, 'L')} "
        f"({_number(training['water']['facility_energy_kwh_without_wue'], 1, 'kWh')} at places without a WUE)",
    ]
    if emissions["runs_not_in_ledger"]:
        lines.append(
            f"- Not included: {emissions['runs_not_in_ledger']} run(s), "
            f"{emissions['it_energy_kwh_not_in_ledger']:,.1f} kWh that no calculation holds yet"
        )
    lines += [
        "",
        "### Inference",
        "",
        f"- {inference['runs']} runs, {_number(inference['energy']['facility_energy_kwh'], 1, 'kWh')} facility "
        f"energy, {_number(inference['emissions']['electricity_location_kg_co2e'], 2, 'kgCO2e')} location-based, "
        f"{_number(inference['emissions']['electricity_market_kg_co2e'], 2, 'kgCO2e')} market-based",
        "",
        "### SCI for AI (Green Software Foundation)",
        "",
    ]
    sci = passport["sci_for_ai"]
    for boundary in ("provider", "consumer"):
        scores = sci[boundary]["scores"]
        if not scores:
            lines.append(f"- {boundary.title()}: no functional unit known")
        for score in scores:
            lines.append(
                f"- {boundary.title()}: {_number(score['g_co2e_per_unit'], 4, 'gCO2e')} per {score['functional_unit']} "
                f"({len(score['run_ids'])} runs, {_number(score['share_of_emissions_pct'], 1)}% of the "
                f"{boundary}'s emissions)"
            )
    lines += [
        "",
        "### Runs",
        "",
        "| Run | Kind | FLOPs | Method | Facility kWh | kgCO2e location | kgCO2e market | Embodied kgCO2e |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for run in passport["runs"]:
        lines.append(
            f"| {run['id']} ({run['external_id']}) | {run['kind']} | {_number(run['compute']['flops'], 0)} | "
            f"{run['compute']['method']} | {_number(run['facility_energy_kwh'], 3)} | "
            f"{_number(run['electricity_location_kg_co2e'], 4)} | {_number(run['electricity_market_kg_co2e'], 4)} | "
            f"{_number(run['embodied_amortized_kg_co2e'], 4)} |"
        )
    return "\n".join(lines) + "\n"
