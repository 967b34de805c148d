"""factory_boy factories for the domain (tests only)."""

from datetime import UTC, datetime

import factory
from django.contrib.auth import get_user_model

from emissions import models
from emissions.choices import Role, SiteOwnership


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("password")


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Organization
        django_get_or_create = ["slug"]

    name = factory.Sequence(lambda n: f"Organization {n}")
    slug = factory.Sequence(lambda n: f"org-{n}")


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Team

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Team {n}")
    slug = factory.Sequence(lambda n: f"team-{n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Membership

    user = factory.SubFactory(UserFactory)
    organization = factory.SubFactory(OrganizationFactory)
    role = Role.GUILD_MEMBER


class ProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Project

    organization = factory.SubFactory(OrganizationFactory)
    team = factory.SubFactory(TeamFactory, organization=factory.SelfAttribute("..organization"))
    name = factory.Sequence(lambda n: f"Project {n}")
    slug = factory.Sequence(lambda n: f"project-{n}")


class GridZoneFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.GridZone
        django_get_or_create = ["code"]

    code = "DE"
    name = "Germany"
    country_iso3 = "DEU"


class SiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Site

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Site {n}")
    slug = factory.Sequence(lambda n: f"site-{n}")
    ownership = SiteOwnership.OWNED
    zone = factory.SubFactory(GridZoneFactory)
    pue = 1.25


class RunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Run

    organization = factory.SubFactory(OrganizationFactory)
    project = factory.SubFactory(ProjectFactory, organization=factory.SelfAttribute("..organization"))
    source = "native"
    external_id = factory.Sequence(lambda n: f"run-{n}")
    started_at = datetime(2025, 2, 1, 12, tzinfo=UTC)
    ended_at = datetime(2025, 2, 1, 14, tzinfo=UTC)
    duration_s = 7200.0
    gpu_energy_kwh = 8.0
    cpu_energy_kwh = 1.5
    ram_energy_kwh = 0.5
    energy_kwh = 10.0
    # CodeCarbon's rule: NVML-measured GPU, modelled CPU and RAM (emissions/services/run_quality.py).
    component_quality = factory.LazyFunction(
        lambda: {"cpu": "estimated_tdp", "gpu": "measured", "ram": "estimated_tdp"}
    )
    gpu_count = 4


class GpuModelFactory(factory.django.DjangoModelFactory):
    """A catalogue GPU of 100 kg (low = high = central unless given), 5-year default life."""

    class Meta:
        model = models.HardwareModel

    name = "GPU R"
    asset_class = "gpu"
    gpu_count = 1
    embodied_kg_co2e = 100.0
    embodied_low_kg_co2e = factory.SelfAttribute("embodied_kg_co2e")
    embodied_high_kg_co2e = factory.SelfAttribute("embodied_kg_co2e")
    default_lifetime_years = 5
    source = "t"
    licence = "t"
