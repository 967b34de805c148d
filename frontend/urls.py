"""Site URLs: pages, the REST API, health endpoints and the admin."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import DefaultRouter

from emissions.api import InventoryApi, IsSignedInOrToken, ProjectViewSet, SiteViewSet, TeamViewSet
from frontend import health
from frontend.pages import (
    cloud,
    hardware,
    imports,
    lists,
    overview,
    project,
    reports,
    run,
    scope2_hourly,
    settings_hub,
    team,
    tokens,
)
from frontend.pages import guild as guild_pages
from frontend.pages import organization as organization_pages
from frontend.pages import passport as passport_pages
from frontend.pages import site as site_pages
from ingest import codecarbon
from ingest.api import ImportBatchViewSet, RowErrorViewSet, RunIngestViewSet, SiteHourlyReadingViewSet
from reporting.api import ReportViewSet
from reporting.api_guild import BudgetCheckApi, LeaderboardApi, WhatIfApi

# "/api/v1/runs" and "/api/v1/runs/" both work: API clients rarely agree on the trailing slash.
router = DefaultRouter()
router.trailing_slash = "/?"
router.register("teams", TeamViewSet, basename="team")
router.register("projects", ProjectViewSet, basename="project")
router.register("sites", SiteViewSet, basename="site")
# A site's hourly meter data: a gateway's POST through the import pipeline, and GET (docs/import-formats.md).
router.register(
    r"sites/(?P<site_slug>[-\w]+)/hourly-readings", SiteHourlyReadingViewSet, basename="site-hourly-reading"
)
router.register("runs", RunIngestViewSet, basename="run")
router.register("imports", ImportBatchViewSet, basename="import-batch")
router.register("row-errors", RowErrorViewSet, basename="row-error")
router.register("reports", ReportViewSet, basename="report")

# A database that is away answers 503 with Retry-After, not 500 (frontend/errors.py).
handler500 = "frontend.errors.server_error"

urlpatterns = [
    path("", overview.overview, name="home"),
    path("overview/cfe-heatmap/", overview.overview_cfe_heatmap, name="overview-cfe-heatmap"),
    path("teams/", lists.teams, name="teams"),
    path("teams/<slug:slug>/", team.team, name="team"),
    path("projects/", lists.projects, name="projects"),
    path("projects/<slug:slug>/", project.project, name="project"),
    path("runs/<int:run_id>/", run.run, name="run"),
    path("hardware/", hardware.hardware, name="hardware"),
    path("cloud/", cloud.cloud, name="cloud"),
    path("scope2-hourly/", scope2_hourly.scope2_hourly, name="scope2-hourly"),
    path("sites/<slug:slug>/", site_pages.site, name="site"),
    path("settings/", settings_hub.settings_hub, name="settings"),
    path("leaderboard/", guild_pages.leaderboard_page, name="leaderboard"),
    path("budgets/", guild_pages.budgets_page, name="budgets"),
    path("what-if/", guild_pages.what_if_page, name="what-if"),
    re_path(
        r"^projects/(?P<slug>[-\w]+)/label\.(?P<file_format>svg|png|yaml)$",
        guild_pages.project_label,
        name="project-label",
    ),
    re_path(
        r"^projects/(?P<slug>[-\w]+)/passport\.(?P<file_format>json|md)$",
        passport_pages.project_passport,
        name="project-passport",
    ),
    path("imports/", imports.imports, name="imports"),
    path("reports/", reports.reports, name="reports"),
    path("reports/<int:report_id>/<str:file_format>", reports.report_download, name="report-file"),
    path("organization/", organization_pages.organization_page, name="organization"),
    path("organization/teams/", organization_pages.team_create, name="organization-team-create"),
    path("organization/teams/<slug:slug>/rename", organization_pages.team_rename, name="organization-team-rename"),
    path("organization/projects/", organization_pages.project_create, name="organization-project-create"),
    path(
        "organization/projects/<slug:slug>/rename",
        organization_pages.project_rename,
        name="organization-project-rename",
    ),
    path("organization/members/", organization_pages.member_add, name="organization-member-add"),
    path(
        "organization/members/<int:membership_id>/role",
        organization_pages.member_role,
        name="organization-member-role",
    ),
    path("settings/tokens/", tokens.tokens, name="tokens"),
    path("settings/tokens/<int:token_id>/revoke", tokens.token_revoke, name="token-revoke"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # Templates under frontend/: the admin's registration/password_change_*.html would win over ours.
    path(
        "account/password/",
        auth_views.PasswordChangeView.as_view(template_name="frontend/password_change_form.html"),
        name="password_change",
    ),
    path(
        "account/password/done/",
        auth_views.PasswordChangeDoneView.as_view(template_name="frontend/password_change_done.html"),
        name="password_change_done",
    ),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    # CodeCarbon builds URLs by concatenation: an endpoint ending in "/" yields "//runs"; accept both.
    re_path(r"^api/codecarbon/+runs/?$", codecarbon.codecarbon_runs, name="codecarbon-runs"),
    re_path(r"^api/codecarbon/+emissions/?$", codecarbon.codecarbon_emissions, name="codecarbon-emissions"),
    path("api/codecarbon/http-output/<str:token>", codecarbon.codecarbon_http_output, name="codecarbon-http-output"),
    path("api/v1/inventory/", InventoryApi.as_view(), name="inventory"),
    re_path(r"^api/v1/budget-check/?$", BudgetCheckApi.as_view(), name="budget-check"),
    re_path(r"^api/v1/leaderboard/?$", LeaderboardApi.as_view(), name="api-leaderboard"),
    re_path(r"^api/v1/what-if/?$", WhatIfApi.as_view(), name="api-what-if"),
    path("api/v1/", include(router.urls)),
    path("api/schema/", SpectacularAPIView.as_view(permission_classes=[IsSignedInOrToken]), name="api-schema"),
    path("admin/", admin.site.urls),
]
