"""Writes that set an organization up: the organization with its first admin, teams, projects, members, roles.

Every write validates before it saves and raises ``ValidationError`` with a message a person can act on,
keyed by the form field it is about (``name``, ``slug``, ``username``, ``role``, ``team``): the
``create_organization`` command and the "Teams, projects and members" page show it as it is. Renaming
keeps the slug: links, ingest tokens, imports and budgets name teams and projects by slug.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify

from emissions.choices import Role
from emissions.models import Membership, Organization, Project, Run, Team
from emissions.services.refresh import ALL_PERIODS, figures_refresh_request

# What Django's SlugField accepts (validate_slug).
SLUG_SHAPE = re.compile(r"[-a-zA-Z0-9_]+")
# A one-time password of 16 URL-safe characters (96 random bits), shown once to the admin who invites.
ONE_TIME_PASSWORD_BYTES = 12


@dataclass(frozen=True)
class OrganizationSetup:
    """What ``organization_create`` did: the organization, its first admin's membership, whether the
    user was created, and the slugs of other organizations that user already belongs to."""

    organization: Organization
    membership: Membership
    user_created: bool
    other_organizations: list[str]


def _name(name: str, *, kind: str) -> str:
    """The name without surrounding blanks; a blank name is refused."""
    if not name or not name.strip():
        raise ValidationError({"name": f"the {kind} needs a name"})
    return name.strip()


def _slug_for(name: str, slug: str, *, kind: str) -> str:
    """The given slug, else one made from the name (ASCII letters, digits and hyphens, at most 64)."""
    chosen = (slug or slugify(name)[:64]).strip("-")
    if not chosen:
        raise ValidationError({"slug": f"the {kind} name has no letters or digits to make a slug from: give a slug"})
    if len(chosen) > 64 or not SLUG_SHAPE.fullmatch(chosen):
        raise ValidationError({"slug": f"{chosen!r} is not a slug: up to 64 letters, digits, hyphens or underscores"})
    return chosen


def _saved(instance):
    """``full_clean`` then ``save``: the model's validators and constraints speak before the database does."""
    instance.full_clean()
    instance.save()
    return instance


def _user_create(*, username: str, email: str, password: str):
    """A new active user with a validated password (the settings' password validators)."""
    user = get_user_model()(username=username, email=email)
    user.full_clean(exclude=["password"])
    try:
        validate_password(password, user=user)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from exc
    user.set_password(password)
    user.save()
    return user


def organization_slug_check(*, name: str, slug: str = "") -> str:
    """The slug a new organization named ``name`` would get (``slug`` if given); raises ValidationError when
    the name is blank, no slug can be made from it or the slug is taken. Checked before asking for a password."""
    slug = _slug_for(_name(name, kind="organization"), slug, kind="organization")
    if Organization.objects.filter(slug=slug).exists():
        raise ValidationError({"slug": f"the slug {slug!r} is taken by another organization: choose another slug"})
    return slug


@transaction.atomic
def organization_create(
    *, name: str, slug: str = "", admin_username: str, admin_email: str = "", admin_password: str | None = None
) -> OrganizationSetup:
    """A new organization and its first org admin: a new user with ``admin_password``, or an existing user
    (whose password is left alone, so none may be given)."""
    slug = organization_slug_check(name=name, slug=slug)
    name = name.strip()
    user = get_user_model().objects.filter(username=admin_username).first()
    if user is not None and admin_password:
        raise ValidationError(
            {"username": f"user {admin_username!r} already exists: their password is left as it is, give none"}
        )
    if user is None and not admin_password:
        raise ValidationError({"username": f"user {admin_username!r} is new and needs a password"})
    others = [] if user is None else list(user.memberships.values_list("organization__slug", flat=True))
    organization = _saved(Organization(name=name, slug=slug))
    created = user is None
    if created:
        user = _user_create(username=admin_username, email=admin_email, password=admin_password)
    membership = _saved(Membership(user=user, organization=organization, role=Role.ORG_ADMIN))
    return OrganizationSetup(
        organization=organization, membership=membership, user_created=created, other_organizations=sorted(others)
    )


@transaction.atomic
def team_create(*, organization: Organization, name: str, slug: str = "") -> Team:
    """A new team of the organization; the slug is made from the name unless given."""
    name = _name(name, kind="team")
    slug = _slug_for(name, slug, kind="team")
    if Team.objects.for_org(organization).filter(slug=slug).exists():
        raise ValidationError({"slug": f"a team with the slug {slug!r} exists: choose another name or slug"})
    return _saved(Team(organization=organization, name=name, slug=slug))


@transaction.atomic
def team_rename(*, team: Team, name: str) -> Team:
    """A new name for the team; its slug, and so every link and budget, stays."""
    team.name = _name(name, kind="team")
    team.full_clean()
    team.save(update_fields=["name"])
    return team


@transaction.atomic
def team_parent_set(*, team: Team, parent: Team | None) -> Team:
    """Place the team under ``parent`` (None: a top-level team); never under itself or one of its own sub-teams."""
    if parent is not None:
        if parent.organization_id != team.organization_id:
            raise ValidationError({"parent": "no such team in your organization"})
        ancestor: Team | None = parent
        seen: set[int] = set()
        while ancestor is not None and ancestor.pk not in seen:
            if ancestor.pk == team.pk:
                what = "itself" if parent.pk == team.pk else f"{parent.name}, one of its own sub-teams"
                raise ValidationError({"parent": f"{team.name} cannot sit under {what}"})
            seen.add(ancestor.pk)
            ancestor = ancestor.parent
    team.parent = parent
    team.full_clean()
    team.save(update_fields=["parent"])
    return team


@transaction.atomic
def project_create(*, organization: Organization, team: Team, name: str, slug: str = "") -> Project:
    """A new project of the organization, owned by ``team``; the slug is made from the name unless given."""
    if team.organization_id != organization.pk:
        raise ValidationError({"team": "no such team in your organization"})
    name = _name(name, kind="project")
    slug = _slug_for(name, slug, kind="project")
    if Project.objects.for_org(organization).filter(slug=slug).exists():
        raise ValidationError({"slug": f"a project with the slug {slug!r} exists: choose another name or slug"})
    return _saved(Project(organization=organization, team=team, name=name, slug=slug))


@transaction.atomic
def project_rename(*, project: Project, name: str) -> Project:
    """A new name for the project; its slug (tokens, imports, labels, budgets) stays."""
    project.name = _name(name, kind="project")
    project.full_clean()
    project.save(update_fields=["name"])
    return project


@transaction.atomic
def project_profile_set(*, project: Project, model_family: str, stage: str, offsite_runs_scope: str) -> Project:
    """The project's model family, stage and inventory line for its off-site runs (blank: the organization's).

    A changed inventory line moves the project's off-site runs between Scope 2 and Scope 3 Cat 1, so
    every period is then recomputed (as ``organization_offsite_update`` does for the organization's).
    """
    scope_changed = project.offsite_runs_scope != offsite_runs_scope
    project.model_family = model_family.strip()
    project.stage = stage
    project.offsite_runs_scope = offsite_runs_scope
    project.full_clean()
    project.save(update_fields=["model_family", "stage", "offsite_runs_scope"])
    if scope_changed and Run.objects.filter(project=project).exists():
        figures_refresh_request(organization_id=project.organization_id, days=ALL_PERIODS)
    return project


def _team_for_role(organization: Organization, role: str, team: Team | None) -> Team | None:
    if team is not None and team.organization_id != organization.pk:
        raise ValidationError({"team": "no such team in your organization"})
    if role == Role.TEAM_MEMBER and team is None:
        raise ValidationError({"team": "a team member needs a team: the team whose runs they may send"})
    return team


@transaction.atomic
def member_add(
    *, organization: Organization, username: str, email: str = "", role: str, team: Team | None = None
) -> tuple[Membership, str | None]:
    """Add a person to the organization with ``role``. A new user gets a one-time password, returned to be
    shown once (only its hash is stored); an existing user joins only if no organization has them yet, so
    an admin cannot pull another organization's member (whose pages would then switch organization)."""
    team = _team_for_role(organization, role, team)
    user = get_user_model().objects.filter(username=username).first()
    password = None
    if user is not None:
        if Membership.objects.for_org(organization).filter(user=user).exists():
            raise ValidationError({"username": f"{username!r} is already a member: change their role below"})
        if user.memberships.exists():
            raise ValidationError({"username": f"the username {username!r} is taken: choose another"})
    else:
        password = secrets.token_urlsafe(ONE_TIME_PASSWORD_BYTES)
        user = _user_create(username=username, email=email, password=password)
    membership = _saved(Membership(user=user, organization=organization, role=role, team=team))
    return membership, password


@transaction.atomic
def membership_role_set(*, membership: Membership, role: str, team: Team | None = None) -> Membership:
    """A member's new role (and team); the organization always keeps at least one org admin."""
    team = _team_for_role(membership.organization, role, team)
    if membership.role == Role.ORG_ADMIN and role != Role.ORG_ADMIN:
        # Lock every admin row: two admins demoting each other at once must not leave none.
        admins = list(
            Membership.objects.select_for_update()
            .for_org(membership.organization)
            .filter(role=Role.ORG_ADMIN)
            .values_list("pk", flat=True)
        )
        if admins == [membership.pk]:
            raise ValidationError(
                {"role": f"{membership.user.username} is the only org admin: make another member an admin first"}
            )
    membership.role, membership.team = role, team
    membership.full_clean()
    membership.save(update_fields=["role", "team"])
    return membership
