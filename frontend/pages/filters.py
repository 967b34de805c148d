"""Query-string filters of the dashboards, validated against the user's own organization."""

from __future__ import annotations

from datetime import date

from django import forms

from emissions.choices import Scope
from emissions.models import Team
from emissions.periods import Period, period_parse
from reporting.selectors.overview import OverviewFilters

# One choice per entry of reporting.selectors.common.VIEW_BASES.
VIEW_CHOICES = [
    ("inventory", "Inventory view (GHG Protocol: embodied as capital goods)"),
    ("management", "Management view (embodied amortized)"),
]


def _quarter_label(day: date) -> str:
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def period_choices(span: tuple[date, date] | None, today: date) -> list[tuple[str, str]]:
    """Quarters and years from the first data to today, newest first: the current quarter and year are
    always there (live runs land in them before any rollup reaches them)."""
    if span is None:
        return [(_quarter_label(today), _quarter_label(today)), (str(today.year), str(today.year))]
    first, last = span[0], max(span[1], today)
    quarters, years = [], []
    year, quarter = last.year, (last.month - 1) // 3 + 1
    while (year, quarter) >= (first.year, (first.month - 1) // 3 + 1):
        quarters.append(f"{year}-Q{quarter}")
        year, quarter = (year - 1, 4) if quarter == 1 else (year, quarter - 1)
    years = [str(y) for y in range(last.year, first.year - 1, -1)]
    return [(label, label) for label in quarters + years]


def default_period(span: tuple[date, date] | None, today: date) -> str:
    """This quarter when the rollup reaches it, else the latest quarter with data."""
    if span is None or span[1] >= date(today.year, 3 * ((today.month - 1) // 3) + 1, 1):
        return _quarter_label(today)
    return _quarter_label(span[1])


class OverviewFilterForm(forms.Form):
    """``?period=2026-Q3&team=<slug>&scope=2&view=management``; blank fields mean "all"."""

    period = forms.CharField(required=False, max_length=10)
    team = forms.ModelChoiceField(
        queryset=Team.objects.none(), to_field_name="slug", required=False, empty_label="All teams"
    )
    scope = forms.TypedChoiceField(
        choices=[("", "All scopes"), *Scope.choices], coerce=int, empty_value=None, required=False
    )
    view = forms.ChoiceField(choices=VIEW_CHOICES, required=False)

    def __init__(self, data, *, organization, span: tuple[date, date] | None, today: date):
        super().__init__(data)
        self.fields["team"].queryset = Team.objects.for_org(organization)
        self.default_period = default_period(span, today)
        self.period_choices = period_choices(span, today)

    def clean_period(self) -> Period:
        label = self.cleaned_data["period"] or self.default_period
        try:
            period = period_parse(label)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from exc
        if (period.label, period.label) not in self.period_choices:  # a bookmarked period without data
            self.period_choices.insert(0, (period.label, period.label))
        return period

    def filters(self) -> OverviewFilters:
        """The validated filters; call after ``is_valid()``."""
        team = self.cleaned_data["team"]
        return OverviewFilters(
            period=self.cleaned_data["period"],
            team_id=team.pk if team else None,
            scope=self.cleaned_data["scope"],
            view=self.cleaned_data["view"] or "inventory",
        )
