"""The tenant (Organization), its people, teams, projects and sites."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q

from emissions.choices import ConsolidationApproach, OffsiteRunsScope, ProjectStage, Role, SiteOwnership
from emissions.querysets import OrgScopedQuerySet


def lei_validate(value: str) -> None:
    """An ISO 17442 LEI: 18 upper-case letters or digits and 2 check digits (ISO 7064 MOD 97-10 gives 1)."""
    if len(value) != 20 or not value.isascii() or not value.isalnum() or value != value.upper():
        raise ValidationError("an LEI is 20 upper-case letters and digits")
    if int("".join(str(int(char, 36)) for char in value)) % 97 != 1:
        raise ValidationError("the LEI's check digits do not match (ISO 7064 MOD 97-10)")


class Organization(models.Model):
    """The tenant: one company whose AI work GreenGuild accounts for.

    Every activity and ledger row belongs to exactly one organization and no query crosses them.
    ``default_pue`` (dimensionless, >= 1) applies to sites that state none.
    """

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=64, unique=True)
    fiscal_year_start_month = models.PositiveSmallIntegerField(default=1, help_text="1 = January")
    currency = models.CharField(max_length=3, default="EUR", help_text="ISO 4217 code")
    consolidation_approach = models.CharField(
        max_length=32, choices=ConsolidationApproach.choices, default=ConsolidationApproach.OPERATIONAL_CONTROL
    )
    default_pue = models.FloatField(default=1.5)
    default_grid_zone = models.ForeignKey(
        "emissions.GridZone",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Where runs that neither a site, a cloud region nor the tracker locate are taken to run",
    )
    offsite_runs_scope = models.CharField(
        max_length=20,
        choices=OffsiteRunsScope.choices,
        default=OffsiteRunsScope.THIRD_PARTY,
        help_text="Inventory line of runs with no site and no cloud region; a project may choose otherwise",
    )
    eu_go_single_market = models.BooleanField(
        default=False,
        help_text="Treat EU guarantees of origin as one market (else each country is its own market, the Scope 2 "
        "Quality Criteria's default)",
    )
    lei = models.CharField(
        "LEI",
        max_length=20,
        blank=True,
        validators=[lei_validate],
        help_text="Legal Entity Identifier (ISO 17442, 20 characters): the entity identifier of the XBRL report",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(lei="") | Q(lei__regex=r"^[A-Z0-9]{18}[0-9]{2}$"), name="organization_lei_shape"
            ),
            models.CheckConstraint(
                condition=Q(fiscal_year_start_month__gte=1, fiscal_year_start_month__lte=12),
                name="organization_fiscal_month_valid",
            ),
            models.CheckConstraint(condition=Q(default_pue__gte=1), name="organization_default_pue_gte_1"),
        ]

    def __str__(self) -> str:
        return self.name


class NetRevenue(models.Model):
    """Net revenue of an organization for a period, the denominator of ESRS E1-6 GHG intensity."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="net_revenues")
    period_start = models.DateField()
    period_end = models.DateField(help_text="Inclusive last day of the period")
    amount = models.DecimalField(max_digits=18, decimal_places=2)
    currency = models.CharField(max_length=3)

    objects = OrgScopedQuerySet.as_manager()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(period_start__lte=F("period_end")), name="net_revenue_period_ordered"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="net_revenue_amount_gte_0"),
            models.UniqueConstraint(fields=["organization", "period_start", "period_end"], name="net_revenue_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.organization} {self.period_start}–{self.period_end}: {self.amount} {self.currency}"


class Team(models.Model):
    """A team of the organization; teams own projects, budgets and leaderboard places."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="teams")
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=64)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children")

    objects = OrgScopedQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["organization", "slug"], name="team_slug_unique_per_org")]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A user's role in an organization; a team member also names the team they may write to."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.VIEWER)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.CASCADE, related_name="memberships")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = OrgScopedQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "organization"], name="membership_unique_per_org"),
            models.CheckConstraint(
                condition=~Q(role=Role.TEAM_MEMBER) | Q(team__isnull=False), name="membership_team_member_has_team"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.organization} as {self.get_role_display()}"

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ORG_ADMIN


class Project(models.Model):
    """A body of ML work (a model family or service) owned by a team; runs belong to projects."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="projects")
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="projects")
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=64)
    model_family = models.CharField(max_length=100, blank=True)
    stage = models.CharField(max_length=20, choices=ProjectStage.choices, default=ProjectStage.RESEARCH)
    offsite_runs_scope = models.CharField(
        max_length=20, choices=OffsiteRunsScope.choices, blank=True, help_text="Blank: the organization's setting"
    )

    objects = OrgScopedQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["organization", "slug"], name="project_slug_unique_per_org")]

    def __str__(self) -> str:
        return self.name


class Experiment(models.Model):
    """A tracker-side grouping of runs; ``external_id`` is CodeCarbon's ``experiment_id``."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="experiments")
    external_id = models.CharField(max_length=64)
    name = models.CharField(max_length=200, blank=True)
    # CodeCarbon's built-in demo id: accepted, but the run is flagged because it was not configured.
    is_default_demo_id = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = OrgScopedQuerySet.as_manager()
    org_path = "project__organization"

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "external_id"], name="experiment_external_id_unique"),
        ]

    def __str__(self) -> str:
        return self.name or self.external_id


class Site(models.Model):
    """Where the organization's own or colocated compute runs, or a cloud region it uses.

    ``pue`` is facility kWh per IT kWh (>= 1); ``wue_l_per_kwh`` is litres of water per IT kWh.
    ``buys_electricity`` decides the inventory line of its electricity: Scope 2 when the
    organization purchases it, Scope 3 Cat 1 when it is bundled in a colocation fee.
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="sites")
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=64)
    ownership = models.CharField(max_length=20, choices=SiteOwnership.choices)
    zone = models.ForeignKey("emissions.GridZone", on_delete=models.PROTECT, related_name="sites")
    cloud_region = models.ForeignKey(
        "emissions.CloudRegion", null=True, blank=True, on_delete=models.PROTECT, related_name="sites"
    )
    pue = models.FloatField(default=1.5)
    wue_l_per_kwh = models.FloatField(default=0.0)
    buys_electricity = models.BooleanField(default=True)
    # The shape that spreads a month's metered kWh over its hours where no hourly meter data exists
    # (emissions.hourly_scope2.LOAD_PROFILES): "flat" for machine rooms, "office" for working hours.
    load_profile = models.CharField(
        max_length=20, choices=[("flat", "Flat"), ("office", "Office hours")], default="flat"
    )

    objects = OrgScopedQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "slug"], name="site_slug_unique_per_org"),
            models.CheckConstraint(condition=Q(pue__gte=1), name="site_pue_gte_1"),
            models.CheckConstraint(condition=Q(wue_l_per_kwh__gte=0), name="site_wue_gte_0"),
        ]

    def __str__(self) -> str:
        return self.name


class ApiToken(models.Model):
    """A project-scoped API token for trackers (``ingest``) and read clients such as CI (``read``).

    Only the SHA-256 of the token is stored: tokens are 256-bit random strings, so a fast hash is
    safe and keeps the CodeCarbon endpoints well under the client's 2 s timeout (a password hash
    costs ~300 ms of CPU per request). ``prefix`` identifies a token in lists without revealing it.
    Runs posted with a token land in its ``project`` and, when set, at its ``site``.
    """

    class Scope(models.TextChoices):
        INGEST = "ingest", "Ingest (trackers, native run API)"
        READ = "read", "Read (runs, budget checks)"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="api_tokens")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="api_tokens")
    site = models.ForeignKey(Site, null=True, blank=True, on_delete=models.SET_NULL, related_name="api_tokens")
    name = models.CharField(max_length=100)
    scope = models.CharField(max_length=10, choices=Scope.choices, default=Scope.INGEST)
    token_sha256 = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=12)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = OrgScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…, {self.scope})"
