"""Forms of the browser UI; each validates against the user's own organization."""

from django import forms

from emissions.choices import FactorKind, OffsiteRunsScope
from emissions.models import ApiToken, GridFactor, GridZone, Project, Site
from ingest.parsers import PARSERS


class TokenCreateForm(forms.Form):
    name = forms.CharField(max_length=100)
    project = forms.ModelChoiceField(queryset=Project.objects.none())
    scope = forms.ChoiceField(choices=ApiToken.Scope.choices, initial=ApiToken.Scope.INGEST)
    site = forms.ModelChoiceField(queryset=Site.objects.none(), required=False, help_text="Where the runs ran")

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["project"].queryset = Project.objects.for_org(organization)
        self.fields["site"].queryset = Site.objects.for_org(organization)


class ImportUploadForm(forms.Form):
    source = forms.ChoiceField(choices=sorted((key, source.label) for key, source in PARSERS.items()))
    file = forms.FileField()
    project = forms.SlugField(required=False, help_text="Tracker files: project slug for every run")
    site = forms.SlugField(required=False, help_text="Tracker files: site slug where the runs ran")
    timezone = forms.CharField(required=False, help_text="Tracker files: zone of naive timestamps, e.g. Europe/Paris")
    model_id = forms.CharField(
        required=False, max_length=128, help_text="Model cards: the Hugging Face repository id, e.g. owner/name"
    )

    def options(self) -> dict:
        keys = ("project", "site", "timezone", "model_id")
        return {key: self.cleaned_data[key] for key in keys if self.cleaned_data.get(key)}


class OffsiteSettingsForm(forms.Form):
    """Where runs nothing locates are taken to run, and where off-site runs go in the inventory."""

    default_grid_zone = forms.ModelChoiceField(
        queryset=GridZone.objects.none(),
        required=False,
        empty_label="None: such runs stay a data gap",
        help_text="Grid zone of runs with no site, no cloud region and no tracker country",
    )
    offsite_runs_scope = forms.ChoiceField(choices=OffsiteRunsScope.choices)

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        # Zones a location-based factor exists for: choosing another would leave the runs uncounted.
        kinds = (FactorKind.LOCATION, FactorKind.LIFECYCLE)
        with_factor = GridFactor.objects.visible_to(organization).filter(kind__in=kinds).values("zone_id")
        self.fields["default_grid_zone"].queryset = GridZone.objects.filter(pk__in=with_factor).order_by("code")
