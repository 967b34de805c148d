"""Forms of the "Teams, projects and members" page; choices come from the admin's own organization only."""

from django import forms

from emissions.choices import Role
from emissions.models import Team

SLUG_HELP = "Short name in URLs, tokens and imports; made from the name if left blank. It never changes."


class _OrgForm(forms.Form):
    """A form whose team choices are the organization's teams (another organization's id is no choice)."""

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        if "team" in self.fields:
            self.fields["team"].queryset = Team.objects.for_org(organization)


class TeamCreateForm(_OrgForm):
    name = forms.CharField(max_length=200, label="Team name")
    slug = forms.SlugField(max_length=64, required=False, help_text=SLUG_HELP)


class ProjectCreateForm(_OrgForm):
    name = forms.CharField(max_length=200, label="Project name")
    team = forms.ModelChoiceField(queryset=Team.objects.none(), help_text="The team that owns its runs and budget")
    slug = forms.SlugField(max_length=64, required=False, help_text=SLUG_HELP)


class RenameForm(forms.Form):
    name = forms.CharField(max_length=200)


class MemberAddForm(_OrgForm):
    username = forms.CharField(
        max_length=150,
        help_text="A new username gets a one-time password, shown once here; an existing user without an "
        "organization is added as they are.",
    )
    email = forms.EmailField(required=False, help_text="Optional, for a new user")
    role = forms.ChoiceField(choices=Role.choices, initial=Role.VIEWER)
    team = forms.ModelChoiceField(
        queryset=Team.objects.none(),
        required=False,
        help_text="Needed for a team member: the team whose runs they send",
    )


class MemberRoleForm(_OrgForm):
    role = forms.ChoiceField(choices=Role.choices)
    team = forms.ModelChoiceField(queryset=Team.objects.none(), required=False)
