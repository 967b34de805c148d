"""Read API for the domain, and the one tenant-scoping chokepoint every API view inherits."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, permissions, serializers, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from emissions.choices import Role
from emissions.models import ApiToken, Membership, Project, Run, Site, Team
from emissions.periods import period_parse
from emissions.selectors import inventory_summary, membership_get, run_emissions_by_id
from emissions.services.ledger import inventory_ensure

# Roles that read raw data (import rows, row errors, report files, tokens), not only figures:
# every role but the viewer (docs/configuration.md, "Roles").
RAW_READ_ROLES = (Role.ORG_ADMIN, Role.GUILD_MEMBER, Role.TEAM_MEMBER)


def role_refusal(membership: Membership, allowed_roles, *, action: str = "do this") -> str:
    """Why a member's role is refused: its role, and the roles that may (docs/configuration.md, "Roles")."""
    role = Role(membership.role).label.lower()
    if not allowed_roles:
        return f"Your role ({role}) cannot {action}: this is read-only."
    allowed = " and ".join(f"{Role(r).label.lower()}s" for r in allowed_roles)
    return f"Your role ({role}) cannot {action}: only {allowed} can."


class IsSignedInOrToken(permissions.BasePermission):
    """A signed-in user (session) or any API token: the OpenAPI schema is not public."""

    def has_permission(self, request, view) -> bool:
        return request.user.is_authenticated or isinstance(request.auth, ApiToken)


class IsOrgMember(permissions.BasePermission):
    """A member of an organization (writes need one of the view's ``write_roles``), or an API token
    whose scope the view accepts; either way ``request.membership`` carries the tenant."""

    message = "You are not a member of an organization."

    def has_permission(self, request, view) -> bool:
        if isinstance(request.auth, ApiToken):
            token = request.auth
            # An unsaved membership only carries the tenant; a token never gains a user's role.
            request.membership = Membership(organization=token.organization, role=Role.VIEWER)
            safe = request.method in permissions.SAFE_METHODS
            accepted = getattr(view, "token_scopes_read" if safe else "token_scopes_write", ())
            if token.scope not in accepted:
                self.message = f"a {token.scope} token cannot be used here"
                return False
            return True
        membership = membership_get(user=request.user)
        if membership is None:
            return False
        request.membership = membership
        if request.method in permissions.SAFE_METHODS:
            read_roles = getattr(view, "read_roles", None)
            if read_roles is not None and membership.role not in read_roles:
                self.message = role_refusal(membership, read_roles, action="read this")
                return False
            return True
        write_roles = getattr(view, "write_roles", ())
        if membership.role not in write_roles:
            self.message = role_refusal(membership, write_roles)
            return False
        if membership.role == Role.TEAM_MEMBER:
            # A team member writes its own team only: a view that lets one write says how it checks that.
            team_write_allowed = getattr(view, "team_write_allowed", None)
            if team_write_allowed is None or not team_write_allowed(request, membership.team):
                self.message = "A team member may only write to its own team's projects."
                return False
        return True


class OrgScopedViewSet(viewsets.GenericViewSet):
    """Base of every API view over tenant data.

    ``get_queryset`` always starts from ``model.objects.for_org(<the caller's organization>)``;
    subclasses may only refine it in ``refine_queryset``. Overriding ``get_queryset`` (or
    setting ``queryset``) raises at class creation, so no view can forget the scope.
    """

    model = None
    permission_classes = [IsOrgMember]
    write_roles: tuple[str, ...] = (Role.ORG_ADMIN,)
    read_roles: tuple[str, ...] | None = None  # None: every role reads
    token_scopes_read: tuple[str, ...] = ()
    token_scopes_write: tuple[str, ...] = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "get_queryset" in cls.__dict__ or cls.__dict__.get("queryset") is not None:
            raise TypeError(f"{cls.__name__}: refine the scoped queryset in refine_queryset(), not get_queryset()")

    @property
    def organization(self):
        return self.request.membership.organization

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # OpenAPI schema generation: no request, no tenant
            return self.model.objects.none()
        return self.refine_queryset(self.model.objects.for_org(self.organization))

    def refine_queryset(self, queryset):
        return queryset


class TeamSerializer(serializers.ModelSerializer):
    parent = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = Team
        fields = ["id", "name", "slug", "parent"]


class ProjectSerializer(serializers.ModelSerializer):
    team = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = Project
        fields = ["id", "name", "slug", "team", "model_family", "stage"]


class SiteSerializer(serializers.ModelSerializer):
    grid_zone = serializers.CharField(source="zone.code", read_only=True)

    class Meta:
        model = Site
        fields = ["id", "name", "slug", "ownership", "grid_zone", "pue", "wue_l_per_kwh", "buys_electricity"]


class RunSerializer(serializers.ModelSerializer):
    """A run with GreenGuild's own figures (from the current ledger; null until computed) beside the
    tracker's (``tracker_emissions_kg_co2e``, kept for reconciliation). ``rank_of``: the id of the run that
    counts this one's machine energy (a rank of a multi-machine job, or an id its client opened twice),
    null for a run that counts itself."""

    project = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    site = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    cloud_region = serializers.StringRelatedField(read_only=True)
    emissions_kg_co2e_location = serializers.SerializerMethodField()
    emissions_kg_co2e_market = serializers.SerializerMethodField()

    def _ledger(self, run: Run) -> tuple[float, float] | None:
        return self.context.get("ledger", {}).get(run.pk)

    def get_emissions_kg_co2e_location(self, run: Run) -> float | None:
        figures = self._ledger(run)
        return figures[0] if figures else None

    def get_emissions_kg_co2e_market(self, run: Run) -> float | None:
        figures = self._ledger(run)
        return figures[1] if figures else None

    class Meta:
        model = Run
        fields = [
            "id",
            "external_id",
            "source",
            "project",
            "kind",
            "started_at",
            "ended_at",
            "duration_s",
            "energy_kwh",
            "cpu_energy_kwh",
            "gpu_energy_kwh",
            "ram_energy_kwh",
            "gpu_model",
            "gpu_count",
            "site",
            "cloud_region",
            "emissions_kg_co2e_location",
            "emissions_kg_co2e_market",
            "tracker_emissions_kg_co2e",
            "tracker_intensity_g_per_kwh",
            "tokens_processed",
            "inferences_count",
            "efficiency_techniques",
            "flags",
            "rank_of",
        ]


class TeamViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, OrgScopedViewSet):
    """Teams of your organization."""

    model = Team
    serializer_class = TeamSerializer

    def refine_queryset(self, queryset):
        return queryset.select_related("parent")


class ProjectViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, OrgScopedViewSet):
    """Projects of your organization."""

    model = Project
    serializer_class = ProjectSerializer

    def refine_queryset(self, queryset):
        return queryset.select_related("team")


class SiteViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, OrgScopedViewSet):
    """Sites (owned, colocation) of your organization."""

    model = Site
    serializer_class = SiteSerializer

    def refine_queryset(self, queryset):
        return queryset.select_related("zone")


class RunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, OrgScopedViewSet):
    """Runs of your organization, newest first; ``?project=SLUG`` filters by project.

    A read token sees the runs of its own project only. The list leaves out an id left empty beside the run
    that counts it (``RunQuerySet.without_empty_members``), as the pages do; ``GET /runs/<id>/`` still
    returns it, with ``rank_of``.
    """

    model = Run
    serializer_class = RunSerializer
    token_scopes_read = (ApiToken.Scope.READ,)

    def get_serializer(self, *args, **kwargs):
        instances = args[0] if args else None
        runs = instances if isinstance(instances, list) else [instances] if isinstance(instances, Run) else []
        kwargs.setdefault("context", self.get_serializer_context())
        kwargs["context"]["ledger"] = run_emissions_by_id(run_ids=[run.pk for run in runs])
        return super().get_serializer(*args, **kwargs)

    def refine_queryset(self, queryset):
        if isinstance(self.request.auth, ApiToken):
            queryset = queryset.filter(project=self.request.auth.project)
        project = self.request.query_params.get("project")
        if project:
            queryset = queryset.filter(project__slug=project)
        if self.action == "list":
            queryset = queryset.without_empty_members()
        return queryset.select_related("project", "site", "cloud_region").order_by("-started_at", "-id")


class InventoryApi(APIView):
    """GET ``?period=2025-Q1`` (or 2025, 2025-H1, 2025-03): your organization's GHG inventory in kgCO2e.

    Computed on first request and whenever inputs or factors changed since; the same object as
    ``manage.py inventory --json``.
    """

    permission_classes = [IsOrgMember]

    @extend_schema(parameters=[OpenApiParameter("period", str, required=True)], responses={200: dict})
    def get(self, request):
        try:
            period = period_parse(request.query_params.get("period", ""))
        except ValueError as exc:
            return Response({"detail": str(exc)}, status=400)
        calculation = inventory_ensure(organization=request.membership.organization, period=period)
        return Response(inventory_summary(calculation=calculation))
