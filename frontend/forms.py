"""Forms of the browser UI; each validates against the user's own organization."""

from django import forms

from emissions.models import ApiToken, Project, Site
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

    def options(self) -> dict:
        return {key: self.cleaned_data[key] for key in ("project", "site", "timezone") if self.cleaned_data.get(key)}
