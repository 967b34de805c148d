"""Guild pages: leaderboard (``/leaderboard/``), carbon budgets (``/budgets/``), what-if replays (``/what-if/``),
and a project's carbon label as SVG / Hugging Face YAML (``/projects/<slug>/label.svg|.png|.yaml``).

Thin adapters: a GET form → one reporting.guild selector → figures from the generic builders → template.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.validators import ProhibitNullCharactersValidator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from emissions.api import role_refusal
from emissions.models import Project, Team
from emissions.periods import Period, period_parse
from frontend import figures
from frontend.access import WRITE_ROLES, membership_required
from frontend.chart_colors import FORECAST_COLOR, PALETTE, REFERENCE_COLOR
from frontend.pages.filters import default_period, period_choices
from frontend.pages.overview import csv_response
from frontend.templatetags.humanize_units import co2e
from reporting.guild.advice import region_target_choices, whatif_recommendation, zone_choices
from reporting.guild.budgets import budget_burndown_frame, budget_statuses, budget_uncounted, carbon_budget_set
from reporting.guild.gpus import gpu_table
from reporting.guild.label import carbon_label, carbon_label_png, carbon_label_yaml, label_default_period
from reporting.guild.leaderboard import ENTITIES, METRICS, leaderboard
from reporting.guild.whatif import SCENARIOS, WhatIfError, whatif_replay
from reporting.models import BudgetAlert, CarbonBudget
from reporting.selectors.common import rollup_span


class PeriodForm(forms.Form):
    """``?period=2026-Q3``; blank means this quarter, or the latest quarter with data."""

    period = forms.CharField(required=False, max_length=10)

    def __init__(self, data, *, organization):
        super().__init__(data)
        span, today = rollup_span(organization=organization), timezone.now().date()
        self.default_period = default_period(span, today)
        self.period_choices = period_choices(span, today)

    def clean_period(self) -> Period:
        try:
            period = period_parse(self.cleaned_data["period"] or self.default_period)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from exc
        if (period.label, period.label) not in self.period_choices:
            self.period_choices.insert(0, (period.label, period.label))
        return period


class LeaderboardForm(PeriodForm):
    metric = forms.ChoiceField(choices=[(key, m.label) for key, m in METRICS.items()], required=False)
    entity = forms.ChoiceField(choices=[(e, f"{e.title()}s") for e in ENTITIES], required=False)


class SlugChoiceField(forms.ModelChoiceField):
    """A model choice by slug that refuses NUL bytes before querying (PostgreSQL rejects them)."""

    def to_python(self, value):
        ProhibitNullCharactersValidator()(value)
        return super().to_python(value)


class WhatIfForm(PeriodForm):
    project = SlugChoiceField(queryset=Project.objects.none(), to_field_name="slug", required=False)
    scenario = forms.ChoiceField(
        choices=[
            ("region", "Another region, site or cloud region"),
            ("hour", "Another start hour"),
            ("gpu", "Another GPU model"),
            ("refresh", "Another hardware lifetime"),
        ],
        required=False,
    )
    zone = forms.ChoiceField(required=False, label="Move to (site, cloud region or grid zone)")
    from_zone = forms.ChoiceField(required=False, label="Only the runs in (grid zone)")
    shift_h = forms.IntegerField(
        required=False, min_value=-23, max_value=23, label="Start shifted by (hours, − earlier, + later)"
    )
    gpu = forms.ChoiceField(required=False, label="GPU")
    lifetime_years = forms.FloatField(required=False, min_value=0.5, max_value=15, label="Hardware kept (years)")

    # What each scenario needs, in words (the API's own messages name its parameters instead).
    NEEDS = {
        "region": ("zone", "Choose where to move the runs: one of your sites, a cloud region or a grid zone."),
        "hour": ("shift_h", "Say how many hours earlier (−) or later (+) the runs would start: −23 to 23, not 0."),
        "gpu": ("gpu", "Choose the GPU model to replay the runs on."),
        "refresh": ("lifetime_years", "Say how many years the hardware would be kept: 0.5 to 15."),
    }

    def __init__(self, data, *, organization):
        super().__init__(data, organization=organization)
        self.fields["project"].queryset = Project.objects.for_org(organization)
        self.fields["project"].empty_label = "Choose a project"
        # Only places a replay can price, by name, grouped by provider and country (search box: site.js).
        self.fields["zone"].choices = [("", "Choose…"), *region_target_choices(organization=organization)]
        self.fields["from_zone"].choices = [("", "All runs"), *zone_choices(organization=organization)]
        self.fields["gpu"].choices = [("", "Choose…"), *((s.gpu_model, s.gpu_model) for s in gpu_table())]

    def clean(self):
        data = super().clean()
        if data.get("project") is None:
            return data
        field, words = self.NEEDS[data.get("scenario") or "region"]
        if field not in self.errors and data.get(field) in (None, "", 0):
            self.add_error(field, words)
        return data

    def error_lines(self) -> list[str]:
        """Each error as "Field label: message", never the parameter's name."""
        return [
            f"{self[name].label if name in self.fields else 'Form'}: {' '.join(errors)}"
            for name, errors in self.errors.items()
        ]


@membership_required
def leaderboard_page(request):
    """Teams or projects ranked on a metric for a period; ``?download=csv`` gives the table."""
    organization = request.membership.organization
    form = LeaderboardForm(request.GET, organization=organization)
    context = {"form": form}
    if form.is_valid():
        period = form.cleaned_data["period"]
        metric, entity = form.cleaned_data["metric"] or "absolute", form.cleaned_data["entity"] or "team"
        frame = leaderboard(
            organization=organization, period=period, metric=metric, entity=entity, today=timezone.now().date()
        )
        if request.GET.get("download") == "csv":
            return csv_response(frame, f"{organization.slug}-{period.label}-leaderboard-{entity}-{metric}.csv")
        ranked = frame[frame["rank"].notna()]
        unit = METRICS[metric].unit
        chart = figures.ranked_bar_figure(
            ranked,
            category="name",
            bars={"value": METRICS[metric].label},
            title=f"{METRICS[metric].label} ({unit})",
            unit=unit,
        )
        context |= {
            "period": period,
            "metric": METRICS[metric],
            "entity": entity,
            "rows": _records(frame),
            "chart": chart if not ranked.empty else None,
            "query": request.GET.urlencode(),
        }
    return render(request, "frontend/leaderboard.html", context, status=200 if form.is_valid() else 400)


def _records(frame: pd.DataFrame) -> list[dict]:
    """The table's rows with None for every missing value (pandas' NaN and NA would reach the page as "nan")."""
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


def burndown_figure(status):
    frame = budget_burndown_frame(status=status)
    lines = {
        "remaining_kg_co2e": "Remaining",
        "ideal_remaining_kg_co2e": "Even pace",
        "forecast_remaining_kg_co2e": "Forecast at current rate",
    }
    colors = {
        "remaining_kg_co2e": PALETTE[0],
        "ideal_remaining_kg_co2e": REFERENCE_COLOR,
        "forecast_remaining_kg_co2e": FORECAST_COLOR,
    }
    title = f"Budget burn-down: {figures.label(status.owner_label)} (kgCO2e left)"
    return figures.lines_figure(frame, x="day", lines=lines, title=title, unit="kgCO2e", colors=colors)


def budget_period_choices(today: date) -> list[tuple[str, str]]:
    """The periods a budget is usually set for, from ``today``: this and next quarter, month and year."""
    quarter = (today.month - 1) // 3 + 1
    next_quarter = (today.year + 1, 1) if quarter == 4 else (today.year, quarter + 1)
    next_month = date(today.year + 1, 1, 1) if today.month == 12 else date(today.year, today.month + 1, 1)
    return [
        (f"{today.year}-Q{quarter}", f"This quarter ({today.year}-Q{quarter})"),
        (f"{next_quarter[0]}-Q{next_quarter[1]}", f"Next quarter ({next_quarter[0]}-Q{next_quarter[1]})"),
        (f"{today:%Y-%m}", f"This month ({today:%B %Y})"),
        (f"{next_month:%Y-%m}", f"Next month ({next_month:%B %Y})"),
        (str(today.year), f"This year ({today.year})"),
        (str(today.year + 1), f"Next year ({today.year + 1})"),
    ]


class BudgetSetForm(forms.Form):
    """Set a team's or project's budget for a period (``team:<slug>`` or ``project:<slug>``).

    The period is picked from a list (this or next quarter, month, year); any period label the API
    accepts (``2026-H1``) is still taken when posted."""

    owner = forms.ChoiceField()
    period = forms.CharField(widget=forms.Select)  # no max_length: it would write maxlength on the <select>
    budget_kg_co2e = forms.FloatField(min_value=0.001, label="Budget (kgCO2e)")
    basis = forms.ChoiceField(
        choices=CarbonBudget.Basis.choices, initial=CarbonBudget.Basis.LOCATION, label="Scope 2 method"
    )

    def __init__(self, data=None, *, organization, today: date | None = None):
        super().__init__(data)
        self.organization = organization
        teams = [(f"team:{t.slug}", f"Team {t.name}") for t in Team.objects.for_org(organization)]
        projects = [(f"project:{p.slug}", f"Project {p.name}") for p in Project.objects.for_org(organization)]
        self.fields["owner"].choices = [("Teams", teams), ("Projects", projects)]
        self.fields["period"].widget.choices = budget_period_choices(today or timezone.now().date())

    def clean_period(self) -> Period:
        try:
            return period_parse(self.cleaned_data["period"])
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from exc

    def owner_team(self) -> Team:
        """The team the budget's owner belongs to (a project's team for a project budget)."""
        owner = next(iter(self.owner_kwargs().values()))
        return owner if isinstance(owner, Team) else owner.team

    def owner_kwargs(self) -> dict:
        kind, slug = self.cleaned_data["owner"].split(":", 1)
        model = Team if kind == "team" else Project
        return {kind: model.objects.for_org(self.organization).get(slug=slug)}


@membership_required
def budgets_page(request):
    """Budgets overlapping the period with burn-down, forecast and status; the alerts sent.
    POST sets a budget: admins for any team or project, guild members for their own team's only."""
    membership = request.membership
    organization = membership.organization
    set_form = BudgetSetForm(request.POST or None, organization=organization)
    if request.method == "POST":
        if membership.role not in WRITE_ROLES:
            raise PermissionDenied(role_refusal(membership, WRITE_ROLES, action="set budgets"))
        if set_form.is_valid():
            if not membership.is_admin and set_form.owner_team().pk != membership.team_id:
                raise PermissionDenied(
                    f"Your role ({membership.get_role_display().lower()}) sets budgets for your own team's "
                    "projects only: organization admins set every team's."
                )
            data = set_form.cleaned_data
            carbon_budget_set(
                organization=organization,
                period=data["period"],
                basis=data["basis"],
                budget_kg_co2e=data["budget_kg_co2e"],
                **set_form.owner_kwargs(),
            )
            owner = dict(opt for _, group in set_form.fields["owner"].choices for opt in group)[data["owner"]]
            messages.success(
                request,
                f"Budget saved: {owner}, {data['period'].label}, {co2e(data['budget_kg_co2e'])} "
                f"({CarbonBudget.Basis(data['basis']).label}).",
            )
            return redirect(f"{reverse('budgets')}?period={data['period'].label}")
        messages.error(request, "The budget was not saved: see the form below.")
    form = PeriodForm(request.GET, organization=organization)
    context = {"form": form, "set_form": set_form, "can_write": request.membership.role in WRITE_ROLES}
    if form.is_valid():
        period = form.cleaned_data["period"]
        today = timezone.now().date()
        statuses = budget_statuses(organization=organization, today=today, start=period.start, end=period.end)
        context |= {
            "period": period,
            "budgets": [
                {
                    "status": s,
                    "figure": burndown_figure(s),
                    "chart_id": f"burndown-{s.budget.pk}",
                    "uncounted": budget_uncounted(budget=s.budget, today=today),
                }
                for s in statuses
            ],
            "alerts": BudgetAlert.objects.for_org(organization).select_related("budget__team", "budget__project")[:50],
        }
    status = 200 if form.is_valid() and not set_form.errors else 400
    return render(request, "frontend/budgets.html", context, status=status)


@membership_required
def what_if_page(request):
    """Replay a project's runs of a period in another region, hour, GPU or hardware lifetime."""
    organization = request.membership.organization
    form = WhatIfForm(request.GET, organization=organization)
    context = {"form": form, "scenarios": SCENARIOS}
    if form.is_valid() and form.cleaned_data["project"] is not None:
        data, project, period = form.cleaned_data, form.cleaned_data["project"], form.cleaned_data["period"]
        scenario = data["scenario"] or "region"
        options = {
            key: str(data[key])
            for key in ("zone", "from_zone", "shift_h", "gpu", "lifetime_years")
            if data[key] not in (None, "")
        }
        try:
            result = whatif_replay(
                organization=organization, project=project, period=period, scenario=scenario, options=options
            )
        except WhatIfError as exc:
            context["error"] = whatif_error_words(str(exc))
        else:
            chart = whatif_figure(result, project_name=project.name)
            context |= {"result": result, "chart": chart}
        context["advice"] = whatif_recommendation(organization=organization, project=project, period=period)
    return render(request, "frontend/what_if.html", context, status=200 if form.is_valid() else 400)


# The API's parameter syntax in a replay's message, in words (the page's form names no parameters).
_ERROR_WORDS = {
    "shift_h=<hours, -23..23>": "a shift in hours (−23 to 23)",
    "shift_h": "the shift",
    "lifetime_years=<years>": "a hardware lifetime in years",
    "lifetime_years": "the hardware lifetime",
    "zone=<grid zone code, site:<slug> or cloud:<provider>:<region>>": "a place to move the runs to",
    "gpu=<one of: ": "a GPU model (one of: ",
}


def whatif_error_words(message: str) -> str:
    """A replay's error as the page says it: no ``shift_h=…`` syntax, a capital first letter."""
    for syntax, words in _ERROR_WORDS.items():
        message = message.replace(syntax, words)
    message = message.replace("site:", "site ").replace("cloud:", "cloud region ")
    return message[:1].upper() + message[1:]


# The per-run chart shows the largest runs and sums the rest, so bars stay readable on any project.
WHATIF_TOP_RUNS = 15


def whatif_figure(result, *, project_name: str = ""):
    """Bars per run, as run and replayed (kgCO2e): the ``WHATIF_TOP_RUNS`` largest runs as run, named by
    project and start, then one "Others" bar with the rest; None without runs."""
    if not result.runs:
        return None
    ranked = sorted(result.runs, key=lambda run: run.baseline_kg_co2e, reverse=True)
    top, rest = ranked[:WHATIF_TOP_RUNS], ranked[WHATIF_TOP_RUNS:]
    rows, seen = [], set()
    for run in top:
        name = " · ".join(filter(None, (project_name, f"{run.started_at:%Y-%m-%d %H:%M}")))
        if name in seen:  # two runs started in the same minute
            name = f"{name} · {run.external_id[:8]}"
        seen.add(name)
        rows.append((name, run.baseline_kg_co2e, run.replay_kg_co2e))
    if rest:
        others = f"Others: {len(rest)} smaller run{'s' if len(rest) != 1 else ''}"
        rows.append((others, sum(r.baseline_kg_co2e for r in rest), sum(r.replay_kg_co2e for r in rest)))
    frame = pd.DataFrame(rows, columns=["run", "baseline_kg_co2e", "replay_kg_co2e"])
    shown = f"the {len(top)} largest runs and the others" if rest else "per run"
    figure = figures.ranked_bar_figure(
        frame,
        category="run",
        bars={"baseline_kg_co2e": "As run", "replay_kg_co2e": "Replayed"},
        title=f"{figures.label(result.description)}: kgCO2e, {shown}",
        unit="kgCO2e",
        colors={"baseline_kg_co2e": REFERENCE_COLOR, "replay_kg_co2e": figures.LOCATION_COLOR},
    )
    figure.layout.height = max(340, 140 + 34 * len(rows))  # two bars a row, each thick enough to read
    return figure


@membership_required
def project_label(request, slug: str, file_format: str):
    """The project's carbon label for ``?period=`` (default: the newest calculation's) as SVG, PNG or HF YAML."""
    project = get_object_or_404(Project.objects.for_org(request.membership.organization), slug=slug)
    try:
        period = (
            period_parse(request.GET["period"]) if request.GET.get("period") else label_default_period(project=project)
        )
    except ValueError as exc:
        raise Http404(str(exc)) from exc
    if file_format == "yaml":
        text = carbon_label_yaml(project=project, period=period)
        response = HttpResponse(text, content_type="application/yaml; charset=utf-8")
    elif file_format == "png":
        png = carbon_label_png(label=carbon_label(project=project, period=period))
        response = HttpResponse(png, content_type="image/png")
    else:
        label = carbon_label(project=project, period=period)
        svg = render_to_string("frontend/partials/carbon_label.html", {"label": label})
        response = HttpResponse(svg, content_type="image/svg+xml")
    response["Content-Disposition"] = f'attachment; filename="{project.slug}-{period.label}-carbon-label.{file_format}"'
    return response
