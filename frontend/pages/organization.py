"""The "Teams, projects and members" page (``/organization/``) and its writes, for org admins.

Every member reads the teams and projects; org admins also see the members and get the forms: create and
rename teams and projects, add a member (a new user's one-time password is shown once, in the response
to the form, never in a URL, a message cookie or the session) and set a member's role. Each write is its
own POST URL (classified in tests/frontend/test_access_matrix_writes.py); a refused form comes back on
the page with status 400.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from emissions.api import role_refusal
from emissions.choices import Role
from emissions.models import Membership, Project, Team
from emissions.services import organizations as setup
from frontend.access import membership_required
from frontend.forms_organization import MemberAddForm, MemberRoleForm, ProjectCreateForm, RenameForm, TeamCreateForm


def _require_admin(request) -> None:
    if not request.membership.is_admin:
        raise PermissionDenied(
            role_refusal(request.membership, (Role.ORG_ADMIN,), action="manage teams, projects and members")
        )


def _page(request, *, status: int = 200, errors: Sequence[str] = (), **forms):
    """The page, with any bound form that failed (``team_form``, ``project_form``, ``member_form``) kept."""
    organization = request.membership.organization
    is_admin = request.membership.is_admin
    teams = Team.objects.for_org(organization).annotate(
        projects_count=Count("projects", distinct=True), members_count=Count("memberships", distinct=True)
    )
    context = {
        "is_admin": is_admin,
        "teams": teams,
        "projects": Project.objects.for_org(organization).select_related("team"),
        "roles": Role.choices,
        "errors": errors,
        "team_form": forms.get("team_form") or TeamCreateForm(organization=organization),
        "project_form": forms.get("project_form") or ProjectCreateForm(organization=organization),
        "member_form": forms.get("member_form") or MemberAddForm(organization=organization),
        "invited": forms.get("invited"),
    }
    if is_admin:
        context["members"] = (
            Membership.objects.for_org(organization).select_related("user", "team").order_by("user__username")
        )
    return render(request, "frontend/organization.html", context, status=status)


def _saved(form, write) -> object | None:
    """``write(**form.cleaned_data)``, or None with the service's refusal added to the form."""
    if not form.is_valid():
        return None
    try:
        return write(**form.cleaned_data)
    except ValidationError as exc:
        form.add_error(None, exc)
        return None


def _done(request, message: str, anchor: str):
    messages.success(request, message)
    return redirect(reverse("organization") + anchor)


@membership_required
def organization_page(request):
    """Teams and projects of the organization; for org admins also its members and the forms."""
    return _page(request)


@require_POST
@membership_required
def team_create(request):
    """Create a team (org admins)."""
    _require_admin(request)
    organization = request.membership.organization
    form = TeamCreateForm(request.POST, organization=organization)
    team = _saved(form, lambda **data: setup.team_create(organization=organization, **data))
    if team is None:
        return _page(request, status=400, team_form=form)
    return _done(request, f"Team “{team.name}” created.", "#teams")


@require_POST
@membership_required
def team_rename(request, slug: str):
    """Rename one of the organization's teams (org admins); the slug stays."""
    _require_admin(request)
    team = get_object_or_404(Team.objects.for_org(request.membership.organization), slug=slug)
    form = RenameForm(request.POST)
    if _saved(form, lambda name: setup.team_rename(team=team, name=name)) is None:
        return _page(request, status=400, errors=[f"Team {slug}: {error}" for error in _messages(form)])
    return _done(request, f"Team {slug} renamed “{team.name}”.", "#teams")


@require_POST
@membership_required
def project_create(request):
    """Create a project under one of the organization's teams (org admins)."""
    _require_admin(request)
    organization = request.membership.organization
    form = ProjectCreateForm(request.POST, organization=organization)
    project = _saved(form, lambda **data: setup.project_create(organization=organization, **data))
    if project is None:
        return _page(request, status=400, project_form=form)
    return _done(request, f"Project “{project.name}” created under {project.team.name}.", "#projects")


@require_POST
@membership_required
def project_rename(request, slug: str):
    """Rename one of the organization's projects (org admins); the slug stays."""
    _require_admin(request)
    project = get_object_or_404(Project.objects.for_org(request.membership.organization), slug=slug)
    form = RenameForm(request.POST)
    if _saved(form, lambda name: setup.project_rename(project=project, name=name)) is None:
        return _page(request, status=400, errors=[f"Project {slug}: {error}" for error in _messages(form)])
    return _done(request, f"Project {slug} renamed “{project.name}”.", "#projects")


@require_POST
@membership_required
def member_add(request):
    """Add a member (org admins): a new user's one-time password is in this response only."""
    _require_admin(request)
    organization = request.membership.organization
    form = MemberAddForm(request.POST, organization=organization)
    added = _saved(form, lambda **data: setup.member_add(organization=organization, **data))
    if added is None:
        return _page(request, status=400, member_form=form)
    membership, password = added
    return _page(request, invited={"membership": membership, "password": password})


@require_POST
@membership_required
def member_role(request, membership_id: int):
    """Set a member's role and team (org admins); the last org admin cannot be demoted."""
    _require_admin(request)
    organization = request.membership.organization
    membership = get_object_or_404(Membership.objects.for_org(organization).select_related("user"), pk=membership_id)
    form = MemberRoleForm(request.POST, organization=organization)
    if _saved(form, lambda **data: setup.membership_role_set(membership=membership, **data)) is None:
        username = membership.user.username
        return _page(request, status=400, errors=[f"{username}: {error}" for error in _messages(form)])
    return _done(request, f"{membership.user.username} is now {membership.get_role_display().lower()}.", "#members")


def _messages(form) -> list[str]:
    """Every error of a one-line form (its fields' and its own), as plain sentences."""
    return [error for errors in form.errors.values() for error in errors]
