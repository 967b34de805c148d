"""The settings hub: tokens link, teams, members and roles, allocation rules, factor overrides, budgets."""

import pytest

from emissions.choices import FactorKind, Role
from emissions.models import AllocationRule, FactorDataset, GridFactor
from tests.factories import GridZoneFactory, MembershipFactory
from tests.frontend.dashboard_data import small_ledger_create


def _override(org, value: float, source: str) -> GridFactor:
    dataset = FactorDataset.objects.create(organization=org, name="supplier", version="2026", title="Supplier rate",
                                           source=source, licence="own")  # fmt: skip
    return GridFactor.objects.create(dataset=dataset, organization=org, zone=GridZoneFactory(),
                                     kind=FactorKind.LOCATION, year=2026, intensity_g_per_kwh=value, source=source,
                                     licence="own")  # fmt: skip


@pytest.fixture
def configured(org_a, org_b):
    small_ledger_create(org_a)
    _override(org_a, 123.4, "Our supplier's 2026 letter")
    _override(org_b, 987.6, "Secret supplier")
    AllocationRule.objects.create(organization=org_a, priority=10, provider="aws", tag_key="team", tag_value="data",
                                  team=org_a.teams.get(slug="data"))  # fmt: skip
    MembershipFactory(organization=org_a, role=Role.TEAM_MEMBER, team=org_a.teams.get(slug="data"),
                      user__username="dana")  # fmt: skip
    return org_a


@pytest.mark.django_db
def test_settings_hub_lists_the_organizations_settings(client, alice, configured):
    client.force_login(alice)
    response = client.get("/settings/")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'href="/settings/tokens/"' in page
    assert "<td>alice</td><td>Guild member</td>" in page and "<td>dana</td><td>Team member</td><td>Data</td>" in page
    assert "team=data" in page and "<td>Amazon Web Services</td>" in page
    assert "123.4" in page and "Our supplier&#x27;s 2026 letter" in page
    assert "987.6" not in page and "Secret supplier" not in page
    assert 'href="/teams/a-team/"' in page and 'href="/projects/etl/"' in page
    assert "2026-07-01 to 2026-09-30" in page and '<td class="num">1.000 t CO2e</td>' in page  # A Team's 1,000 kg
    assert "/admin/" not in page  # a guild member without staff access gets no admin links


@pytest.mark.django_db
def test_admins_with_staff_access_get_the_admin_link(client, configured):
    admin = MembershipFactory(organization=configured, role=Role.ORG_ADMIN, user__username="root").user
    admin.is_staff = True
    admin.save()
    client.force_login(admin)
    assert 'href="/admin/"' in client.get("/settings/").content.decode()


@pytest.mark.django_db
def test_settings_of_another_organization_never_appear(client, charlie, configured):
    client.force_login(charlie)
    page = client.get("/settings/").content.decode()
    assert "Secret supplier" in page and "Our supplier" not in page and "alice" not in page and "A Team" not in page


@pytest.mark.django_db
def test_team_named_like_a_script_is_text_in_settings(client, alice, configured):
    evil = "<script>alert(1)</script>"
    configured.teams.filter(slug="a-team").update(name=evil)
    client.force_login(alice)
    page = client.get("/settings/").content.decode()
    assert evil not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
