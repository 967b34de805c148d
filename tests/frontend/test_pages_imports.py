"""The imports page (issue 19): the source detected from the file unless chosen, messages for success and
failure, project and site from lists (or a new project by name), a wrong source named briefly."""

import re
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from ingest.models import ImportBatch
from tests.factories import GridZoneFactory, SiteFactory

FIXTURES = Path(__file__).resolve().parents[1] / "ingest/fixtures"
TRACKER_CSV = FIXTURES / "trackers/codecarbon-3.3.2/offline_3runs/emissions.csv"


def _upload(path: Path) -> SimpleUploadedFile:
    return SimpleUploadedFile(path.name, path.read_bytes(), content_type="text/csv")


def described_ids_exist(html: str) -> None:
    """Every aria-describedby names an element of the page (no dangling references)."""
    ids = set(re.findall(r'\sid="([^"]+)"', html))
    for described in re.findall(r'aria-describedby="([^"]+)"', html):
        assert set(described.split()) <= ids, described


@pytest.mark.django_db
def test_the_form_detects_by_default_and_offers_the_organizations_projects_and_sites(client, alice, org_a):
    SiteFactory(organization=org_a, slug="lab", name="Lab")
    client.force_login(alice)
    html = client.get("/imports/").content.decode()
    assert '<option value="auto" selected>Detect automatically' in html
    assert '<optgroup label="Tracker files (runs)">' in html and '<optgroup label="Inventory files">' in html
    project = org_a.projects.get()
    assert f'<option value="{project.slug}">{project.name}</option>' in html
    assert '<option value="lab">Lab</option>' in html
    described_ids_exist(html)


@pytest.mark.django_db
def test_a_tracker_file_is_detected_loaded_into_the_chosen_project_and_said(
    client, alice, org_a, media_root, django_capture_on_commit_callbacks
):
    client.force_login(alice)
    project = org_a.projects.get()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/imports/", {"source": "auto", "file": _upload(TRACKER_CSV), "project": project.slug})
    assert response.status_code == 302
    batch = ImportBatch.objects.get()
    assert batch.source == "codecarbon_csv" and batch.options["project"] == project.slug
    assert batch.status == "done" and batch.rows_loaded == 3
    page = client.get("/imports/").content.decode()
    assert "emissions.csv received as CodeCarbon emissions.csv" in page and "(detected from the file)" in page
    assert 'class="notice notice-success"' in page
    assert "CodeCarbon emissions.csv · " in page  # the source by name in the table, not codecarbon_csv


@pytest.mark.django_db
def test_a_new_project_is_named_not_chosen(client, alice, org_a, media_root, django_capture_on_commit_callbacks):
    client.force_login(alice)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/imports/", {"source": "auto", "file": _upload(TRACKER_CSV), "new_project": "Laptop runs"})
    assert org_a.projects.filter(name="Laptop runs").exists()
    form = {"source": "auto", "file": _upload(TRACKER_CSV), "new_project": "x", "project": org_a.projects.first().slug}
    both = client.post("/imports/", form)
    assert "not both" in both.content.decode() and org_a.projects.filter(name="x").count() == 0


@pytest.mark.django_db
def test_a_file_nothing_recognises_fails_with_a_message_and_no_batch(client, alice, media_root):
    client.force_login(alice)
    upload = SimpleUploadedFile("notes.csv", b"colour,size\nred,3\n")
    response = client.post("/imports/", {"source": "auto", "file": upload})
    html = response.content.decode()
    assert response.status_code == 200 and not ImportBatch.objects.exists()
    assert 'class="notice notice-error"' in html and "The file was not imported" in html
    assert "choose its source in the list" in html and "timestamp, duration, energy_consumed" in html
    described_ids_exist(html)


@pytest.mark.django_db
def test_a_file_under_the_wrong_source_fails_in_red_naming_the_columns_briefly(
    client, alice, media_root, django_capture_on_commit_callbacks
):
    GridZoneFactory()
    client.force_login(alice)
    wide = ",".join(f"column_{i}" for i in range(40)).encode() + b"\n" + b",".join([b"1"] * 40) + b"\n"
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/imports/", {"source": "sites", "file": SimpleUploadedFile("bill.csv", wide)})
    batch = ImportBatch.objects.get()
    assert batch.status == "failed"
    assert batch.error.startswith("missing column(s) site, ownership, grid_zone, pue; this file's 40 column(s) start")
    assert "column_0, column_1, column_2, …" in batch.error and "column_39" not in batch.error  # not the header
    page = client.get("/imports/").content.decode()
    assert f'<tr data-batch="{batch.pk}" data-status="failed">' in page  # site.css paints failed rows red


@pytest.mark.django_db
def test_rejected_rows_link_to_their_errors(client, alice, org_a, media_root, django_capture_on_commit_callbacks):
    GridZoneFactory()
    client.force_login(alice)
    upload = SimpleUploadedFile("sites.csv", b"site,ownership,grid_zone,pue\nLab,owned,DE,1.3\nBad,owned,DE,0.2\n")
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/imports/", {"file": upload, "source": "auto"})
    batch = ImportBatch.objects.get()
    assert batch.source == "sites" and batch.rows_rejected == 1
    page = client.get("/imports/").content.decode()
    assert f'<a href="/api/v1/imports/{batch.pk}/row-errors.csv">1 (row errors)</a>' in page
