"""A project's carbon label: training emissions, amortized embodied share, inference per 1,000 requests,
energy per 1M tokens, SCI per functional unit; as a dict (drawn as SVG by the frontend), a PNG and Hugging Face YAML.

The label reads the newest current Calculation of exactly the period asked (the beat computes the
current quarter and year; ``manage.py inventory`` any other), never computing one on a page view.
Training, embodied and inference figures come from ``reporting.reports.hf_card`` (management view,
location-based), so the label and the model-card YAML agree. SCI follows the GSF formula
((E × I) + M) / R over all the project's runs of the period, with R the first of: thousands of
inferences, millions of tokens, runs.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, time, timedelta

from django.utils import timezone

from emissions.calculations import sci_g_per_unit
from emissions.functional_units import run_inferences, run_tokens
from emissions.models import Calculation, Project, Run
from emissions.periods import Period, period_parse
from emissions.selectors import runs_not_in_ledger
from emissions.units import G_PER_KG
from reporting.guild.budgets import period_label
from reporting.guild.runs import run_ledger_figures
from reporting.reports.hf_card import carbon_label_yaml as hf_carbon_label_yaml
from reporting.reports.hf_card import project_carbon_label

# The view and method every figure of the label is on (stated on the label beside its span).
LABEL_METHOD = "management view, location-based"


def label_calculation(*, project: Project, period: Period) -> Calculation | None:
    return (
        Calculation.objects.for_org(project.organization_id)
        .filter(superseded_by__isnull=True, period_start=period.start, period_end=period.end)
        .order_by("-pk")
        .first()
    )


def label_default_period(*, project: Project) -> Period:
    """The period of the organization's newest current calculation (latest end, then the longest:
    the current year rather than its quarter); the current year when there is none."""
    calculation = (
        Calculation.objects.for_org(project.organization_id)
        .in_period_range()
        .filter(superseded_by__isnull=True)
        .order_by("-period_end", "period_start", "-pk")
        .first()
    )
    if calculation is None:
        return period_parse(str(timezone.now().year))
    start, end = calculation.period_start, calculation.period_end
    return Period(label=period_label(start, end), start=start, end=end)


def carbon_label(*, project: Project, period: Period) -> dict:
    """The label's figures (units in the keys); ``calculation`` is None when the period has none yet."""
    calculation = label_calculation(project=project, period=period)
    label = {"project": project.name, "slug": project.slug, "period": period.label, "calculation": calculation}
    if calculation is None:
        return label
    label["uncounted"] = _uncounted(project, period)
    card = project_carbon_label(calculation=calculation, project=project)
    # Rows with the runs' attributes the label reads, not model instances (a period has thousands of runs).
    runs = list(
        _period_runs(project, period).values_list("pk", "kind", "tokens_processed", "inferences_count", named=True)
    )
    figures = run_ledger_figures(run_ids=[run.pk for run in runs])
    energy_kwh = sum(f["energy_kwh"] for f in figures.values())
    kg = sum(f["kg_co2e"] for f in figures.values())
    embodied_kg = sum(f["amortized_kg_co2e"] for f in figures.values())
    token_runs = [run for run in runs if run_tokens(run.tokens_processed) and run.pk in figures]
    tokens = sum(run_tokens(run.tokens_processed) for run in token_runs)
    inferences = sum(run_inferences(run.kind, run.inferences_count) for run in runs if run.pk in figures)
    if inferences:
        unit, count = "1,000 inferences", inferences / 1000.0
    elif tokens:
        unit, count = "1M tokens", tokens / 1e6
    else:
        unit, count = "run", float(len(figures))
    sci = None
    if energy_kwh and count:
        sci = sci_g_per_unit(
            energy_kwh=energy_kwh,
            intensity_g_per_kwh=G_PER_KG * kg / energy_kwh,
            embodied_g=G_PER_KG * embodied_kg,
            functional_units=count,
        )
    token_kwh = sum(figures[run.pk]["energy_kwh"] for run in token_runs)
    label |= {
        "training_kg_co2e": card["training_g_co2e"] / G_PER_KG,
        "training_upstream_kg_co2e": card["training_upstream_g_co2e"] / G_PER_KG,
        "span": f"{calculation.period_start:%Y-%m-%d}..{calculation.period_end:%Y-%m-%d}",
        "method": LABEL_METHOD,
        "embodied_amortized_kg_co2e": card["embodied_amortized_g_co2e"] / G_PER_KG,
        "inference_g_co2e_per_1k_requests": card["inference_g_co2e_per_1k_requests"],
        "energy_kwh_per_1m_tokens": token_kwh / (tokens / 1e6) if tokens else None,
        "sci_g_co2e": sci,
        "sci_unit": unit,
        "hardware_used": card["hardware_used"],
        "geographical_location": card["geographical_location"],
    }
    return label


def carbon_label_yaml(*, project: Project, period: Period) -> str:
    """Hugging Face ``co2_eq_emissions`` metadata of the period's calculation (a comment when there is none);
    runs of the period that no figure holds are disclosed in a comment above it."""
    calculation = label_calculation(project=project, period=period)
    if calculation is None:
        command = f"manage.py inventory --org {project.organization.slug} --period {period.label}"
        return f"# no GreenGuild calculation for {period.label} yet: run `{command}`\n"
    uncounted = _uncounted(project, period)
    note = ""
    if uncounted["runs"]:
        note = (
            f"# not included: {uncounted['runs']} run(s), {uncounted['energy_kwh']:.3f} kWh of {period.label} that "
            "GreenGuild could not count (not located, no grid factor, or awaiting recalculation)\n"
        )
    return note + hf_carbon_label_yaml(calculation=calculation, project=project)


def _period_runs(project: Project, period: Period):
    """The project's runs started in the period's UTC days, as a range of instants so that the (project,
    started_at) index serves it (a ``__date`` filter reads every run of the project)."""
    first = datetime.combine(period.start, time.min, tzinfo=UTC)
    return Run.objects.filter(
        project=project,
        started_at__gte=first,
        started_at__lt=first + timedelta(days=(period.end - period.start).days + 1),
    )


def _uncounted(project: Project, period: Period) -> dict:
    return runs_not_in_ledger(organization=project.organization, runs=_period_runs(project, period))


def _figure(value, places: int, unit: str) -> str:
    return "—" if value is None else f"{value:,.{places}f} {unit}"


def carbon_label_png(*, label: dict, scale: int = 2) -> bytes:
    """The label drawn as a PNG (the SVG's layout, ``scale`` × 320×236 px) with Pillow's bundled font."""
    from PIL import Image, ImageDraw, ImageFont  # imported only for this download

    green, ink, muted = (31, 122, 77), (27, 42, 34), (85, 102, 92)
    image = Image.new("RGB", (320 * scale, 236 * scale), "white")
    draw = ImageDraw.Draw(image)

    def font(size: int):
        return ImageFont.load_default(size=size * scale)

    def text(x: int, y: int, value: str, size: int = 13, fill=ink, anchor: str = "ls") -> None:
        draw.text((x * scale, y * scale), value, font=font(size), fill=fill, anchor=anchor)

    draw.rounded_rectangle((1, 1, 319 * scale, 235 * scale), radius=8 * scale, outline=green, width=2 * scale)
    draw.rounded_rectangle((1, 1, 319 * scale, 41 * scale), radius=8 * scale, fill=green)
    text(14, 27, f"Carbon label · {label['project'][:22]}", 16, "white")
    text(306, 27, label["period"], 12, "white", "rs")
    if label.get("calculation") is None:
        text(14, 80, f"No calculation for {label['period']} yet.")
    else:
        rows = [
            ("Training incl. upstream", _figure(label["training_kg_co2e"], 2, "kgCO2e")),
            ("Amortized embodied share", _figure(label["embodied_amortized_kg_co2e"], 2, "kgCO2e")),
            ("Inference per 1,000 requests", _figure(label["inference_g_co2e_per_1k_requests"], 2, "gCO2e")),
            ("Energy per 1M tokens", _figure(label["energy_kwh_per_1m_tokens"], 3, "kWh")),
            (f"SCI per {label['sci_unit']}", _figure(label["sci_g_co2e"], 2, "gCO2e")),
        ]
        for index, (name, value) in enumerate(rows):
            text(14, 66 + 26 * index, name)
            text(306, 66 + 26 * index, value, anchor="rs")
        uncounted = label.get("uncounted") or {"runs": 0}
        if uncounted["runs"]:  # the SVG's warning line, in its red
            plural = "" if uncounted["runs"] == 1 else "s"
            line = f"Not included: {uncounted['runs']} run{plural}, {uncounted['energy_kwh']:.3f} kWh not counted"
            text(14, 196, line, 10, (179, 38, 30))
        else:
            text(14, 196, (label["hardware_used"] or "hardware not reported")[:52], 10, muted)
        calculation = label["calculation"]
        text(14, 211, f"{label['span']} · {label['method']}", 10, muted)
        text(
            14,
            226,
            f"GreenGuild calculation #{calculation.pk} · methodology {calculation.methodology_version}",
            10,
            muted,
        )
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
