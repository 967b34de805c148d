"""Forms of the browser UI; each validates against the user's own organization."""

from django import forms

from emissions.choices import FactorKind, OffsiteRunsScope
from emissions.models import ApiToken, GridFactor, GridZone, Project, Site, Team
from ingest.parsers import PARSERS
from ingest.parsers.source_sniff import source_detect
from ingest.records import ParseError


class TokenCreateForm(forms.Form):
    """A token for an existing project, or for a new one created with it (``new_project_name`` under
    ``new_project_team``, chosen among ``new_project_teams``; without those teams the form offers no new project)."""

    name = forms.CharField(max_length=100)
    project = forms.ModelChoiceField(queryset=Project.objects.none(), required=False)
    new_project_name = forms.CharField(
        max_length=200, required=False, label="or a new project", help_text="Its name: it is created with the token"
    )
    new_project_team = forms.ModelChoiceField(
        queryset=Team.objects.none(), required=False, label="Team of the new project", empty_label="(choose a team)"
    )
    scope = forms.ChoiceField(choices=ApiToken.Scope.choices, initial=ApiToken.Scope.INGEST)
    site = forms.ModelChoiceField(queryset=Site.objects.none(), required=False, help_text="Where the runs ran")

    def __init__(self, *args, organization, new_project_teams=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["project"].queryset = Project.objects.for_org(organization)
        self.fields["site"].queryset = Site.objects.for_org(organization)
        if new_project_teams is None:
            del self.fields["new_project_name"], self.fields["new_project_team"]
            self.fields["project"].required = True
        else:
            self.fields["project"].empty_label = "(a new project, named below)"
            self.fields["new_project_team"].queryset = new_project_teams
            if len(new_project_teams) == 1:
                self.fields["new_project_team"].initial = new_project_teams[0].pk

    def clean(self):
        data = super().clean()
        if "new_project_name" not in self.fields:
            return data
        project, new_name = data.get("project"), (data.get("new_project_name") or "").strip()
        if project and new_name:
            raise forms.ValidationError("Choose an existing project or name a new one, not both.")
        if not project and not new_name and "project" not in self.errors:
            self.add_error("project", "Choose a project, or name a new one below.")
        if new_name and not data.get("new_project_team") and "new_project_team" not in self.errors:
            if not self.fields["new_project_team"].queryset.exists():
                self.add_error("new_project_team", "There is no team yet: an organization admin creates one first.")
            else:
                self.add_error("new_project_team", "Choose the team the new project belongs to.")
        return data


# The upload form's source list, grouped as docs/import-formats.md groups them; "auto" detects it from the file.
AUTO_SOURCE = "auto"
TRACKER_SOURCES = (
    "codecarbon_csv",
    "codecarbon_task_csv",
    "carbontracker",
    "eco2ai_csv",
    "zeus_csv",
    "hf_model_card",
    "boamps_json",
    "native_json",
)
_SOURCE_GROUPS = {
    "Tracker files (runs)": TRACKER_SOURCES,
    "Cloud billing exports": ("billing", "aws_cur", "gcp_billing", "azure_cost", "focus"),
    "Cloud providers' carbon exports": ("aws_carbon", "gcp_carbon", "azure_carbon"),
}


def import_source_choices() -> list:
    """The "Detect automatically" choice first, then every source of ingest.parsers.PARSERS in its group."""
    grouped = {key for keys in _SOURCE_GROUPS.values() for key in keys}
    inventory = sorted((key for key in PARSERS if key not in grouped), key=lambda key: PARSERS[key].label)
    groups = [*_SOURCE_GROUPS.items(), ("Inventory files", inventory)]
    return [
        (AUTO_SOURCE, "Detect automatically"),
        *((name, [(key, PARSERS[key].label) for key in keys if key in PARSERS]) for name, keys in groups),
    ]


class ImportUploadForm(forms.Form):
    """An upload: the file, its source (detected unless chosen) and, for tracker files, where the runs belong.

    Project and site are chosen among the organization's; a project not there yet is named in
    ``new_project`` and created by the import (ingest.loaders, ``project`` option)."""

    source = forms.ChoiceField(choices=import_source_choices, initial=AUTO_SOURCE, label="Source")
    file = forms.FileField(label="File")
    project = forms.ChoiceField(required=False, label="Project", help_text="The project of every run in the file")
    new_project = forms.CharField(
        required=False,
        max_length=200,
        label="or a new project",
        help_text="Its name: the import creates it under your team (or the first team)",
    )
    site = forms.ChoiceField(required=False, label="Site", help_text="Where the runs ran, when the file does not say")
    timezone = forms.CharField(required=False, help_text="Tracker files: zone of naive timestamps, e.g. Europe/Paris")
    model_id = forms.CharField(
        required=False, max_length=128, help_text="Model cards: the Hugging Face repository id, e.g. owner/name"
    )

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        projects = Project.objects.for_org(organization).order_by("name").values_list("slug", "name")
        sites = Site.objects.for_org(organization).order_by("name").values_list("slug", "name")
        self.fields["project"].choices = [("", "As the file says (or none)"), *projects]
        self.fields["site"].choices = [("", "As the file says (or none)"), *sites]
        self.detected = False

    def clean(self):
        data = super().clean()
        if data.get("project") and (data.get("new_project") or "").strip():
            self.add_error("new_project", "Choose an existing project or name a new one, not both.")
        upload = data.get("file")
        if data.get("source") == AUTO_SOURCE and upload is not None:
            try:
                data["source"] = source_detect(filename=upload.name, stream=upload)
            except ParseError as exc:
                self.add_error("source", str(exc))
            else:
                self.detected = True
        return data

    def error_lines(self) -> list[str]:
        """Each error as "Field label: message" (a message, never a parameter's name)."""
        return [
            f"{self.fields[name].label or name}: {' '.join(errors)}" if name in self.fields else " ".join(errors)
            for name, errors in self.errors.items()
        ]

    def options(self) -> dict:
        """The batch options (ingest.loaders): ``project`` is the chosen slug or the new project's name."""
        options = {
            key: self.cleaned_data[key] for key in ("site", "timezone", "model_id") if self.cleaned_data.get(key)
        }
        project = self.cleaned_data.get("project") or (self.cleaned_data.get("new_project") or "").strip()
        return options | ({"project": project} if project else {})


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
