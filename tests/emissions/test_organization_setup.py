"""Setting an organization up: ``create_organization`` and the services behind the "Teams, projects and
members" page (emissions/services/organizations.py)."""

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from emissions.choices import Role
from emissions.models import Membership, Organization, Team
from emissions.services import organizations as setup
from tests.factories import MembershipFactory, UserFactory

STRONG = "correct-horse-battery-staple-9"


def _create(*args, **env_and_options):
    return call_command("create_organization", *args, **env_and_options)


@pytest.mark.django_db
def test_it_creates_the_organization_and_a_new_admin_with_the_password_from_the_environment(monkeypatch, capsys):
    monkeypatch.setenv("ACME_ADMIN_PASSWORD", STRONG)
    options = ["--admin", "alice", "--email", "alice@example.com", "--password-from-env", "ACME_ADMIN_PASSWORD"]
    _create("--name", "Acme AI", *options)
    organization = Organization.objects.get(slug="acme-ai")
    assert organization.name == "Acme AI"
    membership = Membership.objects.get(organization=organization)
    assert membership.role == Role.ORG_ADMIN and membership.user.username == "alice"
    assert membership.user.check_password(STRONG) and membership.user.email == "alice@example.com"
    out = capsys.readouterr().out
    assert "Created organization 'Acme AI' (slug acme-ai) with alice (a new user)" in out and "/organization/" in out


@pytest.mark.django_db
def test_it_prompts_twice_for_a_new_admins_password(monkeypatch):
    answers = iter([STRONG, STRONG])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    _create("--name", "Acme", "--slug", "acme", "--admin", "bob")
    assert get_user_model().objects.get(username="bob").check_password(STRONG)


@pytest.mark.django_db
def test_two_different_typed_passwords_create_nothing(monkeypatch):
    answers = iter([STRONG, STRONG + "x"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    with pytest.raises(CommandError, match="the two passwords differ"):
        _create("--name", "Acme", "--admin", "bob")
    assert not Organization.objects.exists() and not get_user_model().objects.filter(username="bob").exists()


@pytest.mark.django_db
def test_an_existing_user_becomes_admin_and_keeps_their_password(capsys):
    user = UserFactory(username="carol")
    _create("--name", "Beta", "--admin", "carol", "--no-input")
    assert Membership.objects.get(user=user, organization__slug="beta").role == Role.ORG_ADMIN
    user.refresh_from_db()
    assert user.check_password("password")  # the factory's, untouched
    assert "(an existing user)" in capsys.readouterr().out


@pytest.mark.django_db
def test_a_user_in_another_organization_is_told_which_one_the_dashboard_shows(capsys):
    MembershipFactory(user=UserFactory(username="dave"), organization__slug="aaa")
    _create("--name", "Zeta", "--admin", "dave")
    assert "dave also belongs to aaa" in capsys.readouterr().out


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--name", "Acme", "--slug", "taken", "--admin", "erin"], "the slug 'taken' is taken by another organization"),
        (["--name", "Acme", "--slug", "not a slug", "--admin", "erin"], "slug"),
        (["--name", "!!!", "--admin", "erin"], "no letters or digits to make a slug from"),
        (["--name", "Acme", "--admin", "erin", "--no-input"], "'erin' is a new user: give --password-from-env VAR"),
        (["--name", "Acme", "--admin", "carol", "--password-from-env", "GG_PW"], "already exists"),
        (["--name", "Acme", "--admin", "erin", "--password-from-env", "GG_UNSET"], "GG_UNSET is not set"),
    ],
)
def test_it_refuses_with_a_clear_error_and_creates_nothing(monkeypatch, args, message):
    Organization.objects.create(name="Taken", slug="taken")
    UserFactory(username="carol")
    monkeypatch.setenv("GG_PW", STRONG)
    monkeypatch.delenv("GG_UNSET", raising=False)
    with pytest.raises(CommandError, match=message):
        _create(*args)
    assert list(Organization.objects.values_list("slug", flat=True)) == ["taken"]
    assert not get_user_model().objects.filter(username="erin").exists()


@pytest.mark.django_db
def test_a_weak_password_is_refused_by_the_password_validators(monkeypatch):
    monkeypatch.setenv("GG_PW", "12345678")
    with pytest.raises(CommandError, match=r"too common|entirely numeric"):
        _create("--name", "Acme", "--admin", "erin", "--password-from-env", "GG_PW")
    assert not Organization.objects.exists()


@pytest.mark.django_db
def test_teams_and_projects_are_created_and_renamed_with_their_slugs_kept(org_a):
    team = setup.team_create(organization=org_a, name="Vision Lab")
    assert team.slug == "vision-lab"
    with pytest.raises(ValidationError, match="a team with the slug 'vision-lab' exists"):
        setup.team_create(organization=org_a, name="Vision lab")
    project = setup.project_create(organization=org_a, team=team, name="Detector v2", slug="det2")
    setup.project_rename(project=project, name="Detector v3")
    setup.team_rename(team=team, name="Vision")
    project.refresh_from_db()
    assert (project.name, project.slug) == ("Detector v3", "det2")
    assert (project.team.name, project.team.slug) == ("Vision", "vision-lab")
    with pytest.raises(ValidationError, match="needs a name"):
        setup.team_rename(team=team, name="  ")


@pytest.mark.django_db
def test_a_project_under_another_organizations_team_is_refused(org_a, org_b):
    with pytest.raises(ValidationError, match="no such team"):
        setup.project_create(organization=org_a, team=org_b.teams.get(), name="Sneaky")


@pytest.mark.django_db
def test_a_new_member_gets_a_one_time_password_and_an_existing_one_none(org_a, org_b):
    membership, password = setup.member_add(organization=org_a, username="newbie", role=Role.VIEWER)
    assert len(password) >= 16 and membership.user.check_password(password)
    loner = UserFactory(username="loner")  # an account with no organization yet (e.g. createsuperuser)
    membership, password = setup.member_add(organization=org_a, username="loner", role=Role.GUILD_MEMBER)
    assert password is None and membership.user == loner
    with pytest.raises(ValidationError, match="already a member"):
        setup.member_add(organization=org_a, username="loner", role=Role.VIEWER)
    # A member of another organization cannot be pulled in: their pages would switch organization.
    MembershipFactory(organization=org_b, user=UserFactory(username="bees"))
    with pytest.raises(ValidationError, match="taken"):
        setup.member_add(organization=org_a, username="bees", role=Role.VIEWER)
    with pytest.raises(ValidationError, match="a team member needs a team"):
        setup.member_add(organization=org_a, username="solo", role=Role.TEAM_MEMBER)
    assert not Membership.objects.filter(user__username__in=["bees", "solo"], organization=org_a).exists()


@pytest.mark.django_db
def test_the_last_org_admin_cannot_be_demoted(org_a):
    admin = MembershipFactory(organization=org_a, role=Role.ORG_ADMIN)
    with pytest.raises(ValidationError, match="the only org admin"):
        setup.membership_role_set(membership=admin, role=Role.VIEWER)
    other = MembershipFactory(organization=org_a, role=Role.VIEWER)
    setup.membership_role_set(membership=other, role=Role.ORG_ADMIN)
    setup.membership_role_set(membership=admin, role=Role.TEAM_MEMBER, team=Team.objects.get(slug="a-team"))
    admin.refresh_from_db()
    assert (admin.role, admin.team.slug) == (Role.TEAM_MEMBER, "a-team")
