"""The reports page and REST API: generation through the task, downloads, and tenant isolation."""

import pytest

from emissions.choices import Role
from reporting.models import Report
from reporting.services import report_create, report_generate
from tests.factories import MembershipFactory


@pytest.fixture
def b_report(org_b, charlie):
    report = report_generate(report=report_create(organization=org_b, period_label="2025", enqueue=False))
    assert report.status == Report.Status.DONE
    return report


@pytest.mark.django_db(transaction=True)
def test_api_creates_a_report_generated_by_the_task(client, small_org, alice):
    client.force_login(alice)
    response = client.post("/api/v1/reports/", {"period": "2025-Q1"}, content_type="application/json")
    assert response.status_code == 202
    report_id = response.json()["id"]
    detail = client.get(f"/api/v1/reports/{report_id}/").json()
    assert detail["status"] == "done" and detail["progress_pct"] == 100
    assert {f["format"] for f in detail["files"]} == {"csv", "xlsx", "json", "pdf", "xhtml", "vsme", "vsme-xhtml"}
    download = client.get(f"/api/v1/reports/{report_id}/files/json")
    assert download.status_code == 200 and download["Content-Type"] == "application/json"
    assert "attachment" in download["Content-Disposition"]
    assert download.json()["meta"]["period"] == "2025-Q1"
    assert client.get(f"/api/v1/reports/{report_id}/files/pdf").content.startswith(b"%PDF")
    listed = client.get("/api/v1/reports/").json()["results"]
    assert [row["id"] for row in listed] == [report_id]


@pytest.mark.django_db
def test_api_rejects_a_bad_period_and_viewers_cannot_create(client, small_org, alice):
    client.force_login(alice)
    response = client.post("/api/v1/reports/", {"period": "last-year"}, content_type="application/json")
    assert response.status_code == 400 and "not a period" in response.json()["period"][0]
    viewer = MembershipFactory(organization=small_org, role=Role.VIEWER, user__username="vic").user
    client.force_login(viewer)
    assert client.post("/api/v1/reports/", {"period": "2025"}, content_type="application/json").status_code == 403


@pytest.mark.django_db
def test_api_other_organization_gets_404(client, small_org, alice, b_report):
    client.force_login(alice)
    assert client.get("/api/v1/reports/").json()["results"] == []
    assert client.get(f"/api/v1/reports/{b_report.pk}/").status_code == 404
    assert client.get(f"/api/v1/reports/{b_report.pk}/files/csv").status_code == 404


@pytest.mark.django_db
def test_page_other_organization_gets_404(client, small_org, alice, b_report):
    client.force_login(alice)
    assert client.get(f"/reports/?report={b_report.pk}").status_code == 404
    assert client.get(f"/reports/{b_report.pk}/csv").status_code == 404
    page = client.get("/reports/")
    assert page.status_code == 200 and f'data-report="{b_report.pk}"' not in page.content.decode()


@pytest.mark.django_db
def test_page_requires_login(client, small_org):
    response = client.get("/reports/")
    assert response.status_code == 302 and "/login/" in response["Location"]


@pytest.mark.django_db(transaction=True)
def test_page_generates_lists_downloads_and_previews(client, small_org, alice):
    client.force_login(alice)
    response = client.post("/reports/", {"period": "2025-Q1"})
    assert response.status_code == 302
    report = Report.objects.get(organization=small_org)
    assert report.status == Report.Status.DONE and report.created_by == alice
    page = client.get(response["Location"]).content.decode()
    assert f"/reports/{report.pk}/xlsx" in page and f"/reports/{report.pk}/xhtml" in page
    assert "Gross Scope 1 GHG emissions" in page and "esrs:GrossScope1GreenhouseGasEmissions" in page
    download = client.get(f"/reports/{report.pk}/csv")
    assert download.status_code == 200 and download.content.startswith("\ufeffsection,ref,label".encode())
    assert client.get(f"/reports/{report.pk}/docx").status_code == 404


@pytest.mark.django_db
def test_page_shows_form_errors(client, small_org, alice):
    client.force_login(alice)
    response = client.post("/reports/", {"period": "next quarter"})
    assert response.status_code == 200 and "not a period" in response.content.decode()


@pytest.mark.django_db
def test_page_escapes_team_names(client, small_org, alice):
    small_org.teams.update(name="<script>alert(1)</script>")
    report_generate(report=report_create(organization=small_org, period_label="2025-Q1", enqueue=False))
    client.force_login(alice)
    page = client.get("/reports/").content.decode()
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page


@pytest.mark.django_db
def test_failed_generation_is_recorded(small_org, monkeypatch):
    from reporting import generation as services  # report_generate and the report_content_build it calls

    def broken(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(services, "report_content_build", broken)
    report = services.report_generate(report=report_create(organization=small_org, period_label="2025", enqueue=False))
    report.refresh_from_db()
    assert report.status == Report.Status.FAILED and "boom" in report.error and report.progress_pct == 100


@pytest.mark.django_db
def test_an_org_admin_issues_a_done_report_once(client, small_org):
    from emissions.choices import Role
    from reporting.services import report_create, report_generate
    from tests.factories import MembershipFactory

    admin = MembershipFactory(organization=small_org, role=Role.ORG_ADMIN).user
    client.force_login(admin)
    pending = report_create(organization=small_org, period_label="2025-Q1", enqueue=False)
    refused = client.post(f"/api/v1/reports/{pending.pk}/issue/")
    assert refused.status_code == 409 and "only a generated report can be issued" in refused.json()["detail"]
    report = report_generate(report=pending)
    issued = client.post(f"/api/v1/reports/{report.pk}/issue/")
    assert issued.status_code == 200 and issued.json()["issued_at"]
    again = client.post(f"/api/v1/reports/{report.pk}/issue/")
    assert again.json()["issued_at"] == issued.json()["issued_at"]  # issuing twice changes nothing
    page = client.get("/reports/").content.decode()
    assert f"issued {issued.json()['issued_at'][:10]}" in page
    # The page's Issue button: another done report, issued by an org admin's POST; a viewer is refused.
    other = report_generate(report=report_create(organization=small_org, period_label="2025-03", enqueue=False))
    assert 'name="issue"' in client.get("/reports/").content.decode()
    assert client.post("/reports/", {"issue": str(other.pk)}).status_code == 302
    other.refresh_from_db()
    assert other.issued_at is not None and other.issued_by == admin
    viewer = MembershipFactory(organization=small_org, role=Role.VIEWER).user
    client.force_login(viewer)
    assert client.post("/reports/", {"issue": str(report.pk)}).status_code == 403


@pytest.mark.django_db(transaction=True)
def test_without_a_worker_a_report_is_generated_in_the_background(client, small_org, settings):
    """In-process tasks (the embedded default): the request answers while the report is still being made
    (held here by a lock on the organization, which the ledger takes), then the report finishes alone."""
    import threading
    import time

    from django.db import connection, transaction

    from emissions.choices import Role
    from emissions.models import Organization
    from tests.factories import MembershipFactory

    if connection.vendor != "postgresql":
        pytest.skip("row locks: PostgreSQL")
    settings.GREENGUILD_REPORTS_IN_BACKGROUND = True
    client.force_login(MembershipFactory(organization=small_org, role=Role.GUILD_MEMBER).user)
    locked, release = threading.Event(), threading.Event()

    def hold_the_ledger() -> None:
        with transaction.atomic():
            # NO KEY UPDATE: it blocks the ledger's FOR UPDATE, not the FOR KEY SHARE of inserting a report.
            Organization.objects.select_for_update(no_key=True).get(pk=small_org.pk)
            locked.set()
            release.wait(60)
        connection.close()

    holder = threading.Thread(target=hold_the_ledger)
    holder.start()
    assert locked.wait(10)
    started = time.monotonic()
    response = client.post("/reports/", {"period": "2025-Q1"})
    answered_s = time.monotonic() - started
    report = Report.objects.for_org(small_org).get()
    assert response.status_code == 302 and report.status in (Report.Status.PENDING, Report.Status.RUNNING)
    assert 'hx-trigger="every 2s"' in client.get("/reports/").content.decode()  # the page follows its progress
    release.set()
    assert answered_s < 30  # not held by the generation (which waits for the lock until released)
    holder.join()
    deadline = time.monotonic() + 120
    while report.status not in Report.FINISHED and time.monotonic() < deadline:
        time.sleep(0.2)
        report.refresh_from_db()
    assert report.status == Report.Status.DONE, report.error
    assert report.files.count() == 7  # ESRS csv, xlsx, json, pdf, xhtml; VSME xlsx, xhtml
