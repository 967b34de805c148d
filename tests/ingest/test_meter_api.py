"""The meter API: a smart-meter gateway posts a site's hourly kWh to POST /api/v1/sites/<slug>/hourly-readings/,
through the import pipeline of the site_electricity_hourly CSV (batch, row errors, idempotent re-sends)."""

import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from emissions.choices import Role
from emissions.models import ApiToken, HourlyMeterReading
from emissions.services.tokens import api_token_create
from ingest.models import ImportBatch
from ingest.parsers import site_electricity_hourly_json
from ingest.parsers.source_sniff import source_detect
from ingest.records import ParsedRow, ParseError, RowIssue
from ingest.services import import_batch_create, import_batch_process
from tests.factories import MembershipFactory, ProjectFactory, SiteFactory

URL = "/api/v1/sites/{slug}/hourly-readings/"
SAMPLE = Path(__file__).parent / "fixtures" / "meter_api" / "hourly_readings.json"


def _hour(hour: int, day: int = 1) -> datetime:
    return datetime(2026, 7, day, hour, tzinfo=UTC)


def _post(client, payload, *, slug: str = "lab", token: str | None = None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    body = payload if isinstance(payload, str | bytes) else json.dumps(payload)
    return client.post(URL.format(slug=slug), body, content_type="application/json", **headers)


def _stored(site) -> dict[datetime, float]:
    return dict(HourlyMeterReading.objects.filter(site=site).values_list("hour_start", "energy_kwh"))


@pytest.fixture
def lab(org_a):
    return SiteFactory(organization=org_a, slug="lab", name="Lab")


@pytest.mark.django_db
def test_a_post_is_an_import_batch_and_stores_each_hour_in_utc(
    client, alice, lab, media_root, django_capture_on_commit_callbacks
):
    client.force_login(alice)
    readings = [
        {"hour_start": "2026-07-01T00:00:00Z", "energy_kwh": 12.5},
        {"hour_start": "2026-07-01T01:00:00Z", "energy_kwh": 11.75},
        {"hour_start": "2026-07-01T04:00:00+02:00", "energy_kwh": 9},  # 02:00 UTC
    ]
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(client, {"readings": readings})
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["source"] == "site_electricity_hourly_json" and body["status"] == "pending"
    batch = ImportBatch.objects.get(pk=body["id"])
    assert (batch.status, batch.rows_total, batch.rows_loaded, batch.rows_duplicate, batch.rows_rejected) == (
        "done", 3, 3, 0, 0,
    )  # fmt: skip
    assert batch.options["site"] == "lab" and batch.created_by == alice and batch.filename.endswith(".json")
    assert json.loads(batch.raw_file.read())["readings"] == readings  # provenance: the body as posted
    assert _stored(lab) == {_hour(0): 12.5, _hour(1): 11.75, _hour(2): 9.0}
    assert set(HourlyMeterReading.objects.filter(site=lab).values_list("source_batch_id", flat=True)) == {batch.pk}
    # The Imports API lists it like any import.
    assert client.get(f"/api/v1/imports/{batch.pk}/").json()["rows_loaded"] == 3


@pytest.mark.django_db
def test_a_resent_hour_replaces_never_adds(client, alice, lab, media_root, django_capture_on_commit_callbacks):
    client.force_login(alice)
    with django_capture_on_commit_callbacks(execute=True):
        _post(client, {"readings": [{"hour_start": "2026-07-01T00:00:00Z", "energy_kwh": 12.5}]})
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(
            client,
            {
                "readings": [
                    {"hour_start": "2026-07-01T02:00:00+02:00", "energy_kwh": 20.0},  # the same hour, corrected
                    {"hour_start": "2026-07-01T01:00:00Z", "energy_kwh": 5.0},
                ]
            },
        )
    second = ImportBatch.objects.get(pk=response.json()["id"])
    assert (second.rows_loaded, second.rows_duplicate) == (2, 0)
    assert _stored(lab) == {_hour(0): 20.0, _hour(1): 5.0}
    assert HourlyMeterReading.objects.get(site=lab, hour_start=_hour(0)).source_batch_id == second.pk
    with django_capture_on_commit_callbacks(execute=True):  # the same body again: duplicates, nothing written
        response = _post(client, {"readings": [{"hour_start": "2026-07-01T01:00:00Z", "energy_kwh": 5.0}]})
    third = ImportBatch.objects.get(pk=response.json()["id"])
    assert (third.rows_loaded, third.rows_duplicate) == (0, 1)
    assert HourlyMeterReading.objects.filter(site=lab).count() == 2


@pytest.mark.django_db
def test_bad_readings_are_row_errors_naming_the_row_and_the_others_load(
    client, alice, lab, media_root, django_capture_on_commit_callbacks
):
    client.force_login(alice)
    readings = [
        {"hour_start": "2026-07-01T00:00:00Z", "energy_kwh": 1.0},
        {"hour_start": "2026-07-01T01:00:00Z", "energy_kwh": -2.0},
        {"hour_start": "2026-07-01T02:30:00Z", "energy_kwh": 3.0},
        {"hour_start": "2026-07-01T03:00:00", "energy_kwh": 4.0},
        {"hour_start": "2026-07-01T04:00:00Z", "energy_kwh": "5"},
        "2026-07-01T05:00:00Z",
        {"hour_start": "2026-07-01T06:00:00Z", "energy_kwh": 6.0},
    ]
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(client, {"readings": readings})
    batch = ImportBatch.objects.get(pk=response.json()["id"])
    assert (batch.status, batch.rows_total, batch.rows_loaded, batch.rows_rejected) == ("partial", 7, 2, 5)
    errors = {e.row_number: (e.column, e.reason) for e in batch.row_errors.all()}
    assert errors[2] == ("energy_kwh", "energy_kwh -2 is below the minimum 0")
    assert errors[3][0] == "hour_start" and "is not the start of an hour" in errors[3][1]
    assert errors[4][0] == "hour_start" and "has no UTC offset" in errors[4][1]
    assert errors[5][0] == "energy_kwh" and "finite number" in errors[5][1]
    assert errors[6][0] == "reading" and "JSON object" in errors[6][1]
    assert _stored(lab) == {_hour(0): 1.0, _hour(6): 6.0}
    rows = client.get(f"/api/v1/row-errors/?batch={batch.pk}").json()["results"]
    assert [row["row_number"] for row in rows] == [2, 3, 4, 5, 6]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("{not json", "not valid JSON"),
        ({"reading": []}, 'a "readings" list'),
        ([{"hour_start": "2026-07-01T00:00:00Z", "energy_kwh": 1}], 'a "readings" list'),
        ({"readings": {"hour_start": "2026-07-01T00:00:00Z"}}, 'a "readings" list'),
        ({"site": "elsewhere", "readings": []}, "the body names site 'elsewhere'"),
        ({"site": 3, "readings": []}, '"site" must be'),
    ],
)
def test_a_malformed_body_is_400_and_stores_nothing(client, alice, lab, media_root, body, reason):
    client.force_login(alice)
    response = _post(client, body)
    assert response.status_code == 400 and reason in response.json()["detail"], response.content
    assert not ImportBatch.objects.exists() and not HourlyMeterReading.objects.exists()


@pytest.mark.django_db
def test_too_many_readings_or_too_large_a_body_is_refused(client, alice, lab, media_root, settings):
    client.force_login(alice)
    many = [{"hour_start": "2026-07-01T00:00:00Z", "energy_kwh": 1}] * (site_electricity_hourly_json.MAX_READINGS + 1)
    response = _post(client, {"readings": many})
    assert response.status_code == 400 and "send at most 10,000" in response.json()["detail"]
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    response = _post(client, {"readings": many[:100]})
    assert response.status_code == 413 and "exceeds the limit" in response.json()["detail"]
    assert not ImportBatch.objects.exists()


@pytest.mark.django_db
def test_who_may_write(client, org_a, org_b, alice, charlie, lab, media_root):
    """Org admins and guild members; a viewer or team member is 403; another organization's admin is told
    404 (never 403: A's site is not revealed); tokens only of the ingest scope and of this very site."""
    body = {"readings": [{"hour_start": "2026-07-01T00:00:00Z", "energy_kwh": 1}]}
    viewer = MembershipFactory(organization=org_a, role=Role.VIEWER, user__username="v").user
    team = org_a.teams.get(slug="a-team")
    team_member = MembershipFactory(organization=org_a, role=Role.TEAM_MEMBER, team=team, user__username="t").user
    admin = MembershipFactory(organization=org_a, role=Role.ORG_ADMIN, user__username="adm").user
    for user, expected in [(viewer, 403), (team_member, 403), (charlie, 404), (admin, 202), (alice, 202)]:
        client.force_login(user)
        assert _post(client, body).status_code == expected, user.username
    client.logout()
    assert _post(client, body).status_code == 403  # anonymous
    assert _post(client, body, slug="no-such-site").status_code == 403

    project = org_a.projects.get(slug="a-project")
    other_site = SiteFactory(organization=org_a, slug="other-lab")
    _, of_lab = api_token_create(organization=org_a, project=project, name="lab", site=lab)
    _, of_other = api_token_create(organization=org_a, project=project, name="other", site=other_site)
    _, no_site = api_token_create(organization=org_a, project=project, name="none")
    _, read = api_token_create(organization=org_a, project=project, name="r", scope=ApiToken.Scope.READ, site=lab)
    b_site = SiteFactory(organization=org_b, slug="b-lab")
    _, of_b = api_token_create(organization=org_b, project=ProjectFactory(organization=org_b), name="b", site=b_site)
    before = ImportBatch.objects.count()
    response = _post(client, body, token=of_other)
    assert response.status_code == 403 and "'other-lab' only" in response.json()["detail"]
    assert _post(client, body, token=no_site).status_code == 403
    assert _post(client, body, token=read).status_code == 403
    assert _post(client, body, token=of_b).status_code == 404  # org A's site does not exist for org B
    assert ImportBatch.objects.count() == before  # no refused request left a batch
    response = _post(client, body, token=of_lab)
    assert response.status_code == 202
    batch = ImportBatch.objects.get(pk=response.json()["id"])
    assert batch.organization == org_a and batch.created_by is None and batch.options["site"] == "lab"
    # Org B's admin posting to its own site: the batch is org B's.
    client.force_login(charlie)
    assert _post(client, body, slug="b-lab").status_code == 202
    assert ImportBatch.objects.filter(organization=org_b).count() == 1


@pytest.mark.django_db
def test_get_lists_the_sites_hours_between_start_and_end(client, alice, charlie, org_a, lab):
    for hour in range(5):
        HourlyMeterReading.objects.create(site=lab, hour_start=_hour(hour), energy_kwh=float(hour))
    HourlyMeterReading.objects.create(site=SiteFactory(organization=org_a), hour_start=_hour(1), energy_kwh=99.0)
    client.force_login(alice)
    url = URL.format(slug="lab")
    body = client.get(url).json()
    assert body["count"] == 5 and [row["energy_kwh"] for row in body["results"]] == [0.0, 1.0, 2.0, 3.0, 4.0]
    body = client.get(url, {"start": "2026-07-01T01:00:00Z", "end": "2026-07-01T05:00:00+02:00"}).json()
    assert [(row["hour_start"], row["energy_kwh"]) for row in body["results"]] == [
        ("2026-07-01T01:00:00Z", 1.0),
        ("2026-07-01T02:00:00Z", 2.0),
    ]  # end is exclusive: 05:00+02:00 is 03:00 UTC
    paged = client.get(url, {"page_size": 2, "page": 3}).json()
    assert paged["count"] == 5 and [row["energy_kwh"] for row in paged["results"]] == [4.0]
    response = client.get(url, {"start": "2026-07-01T01:00:00"})
    assert response.status_code == 400 and "no UTC offset" in response.json()["start"][0]
    assert client.get(URL.format(slug="nowhere")).status_code == 404
    client.force_login(charlie)
    assert client.get(url).status_code == 404


def test_the_json_parser_and_the_upload_form_detect_it():
    rows = list(site_electricity_hourly_json.parse(SAMPLE.read_bytes()))
    assert all(isinstance(row, ParsedRow) for row in rows)
    assert [(r.record.site, r.record.hour_start, r.record.energy_kwh) for r in rows] == [
        ("lab", _hour(0), 12.5),
        ("lab", _hour(1), 11.75),
        ("lab", _hour(2), 9.0),
    ]
    # The batch's site option (the API's URL) wins over the payload's.
    [row] = site_electricity_hourly_json.parse(
        b'{"readings": [{"hour_start": "2026-07-01T00:00:00Z", "energy_kwh": 1e999}]}', options={"site": "x"}
    )
    assert isinstance(row, RowIssue) and row.column == "energy_kwh"
    with pytest.raises(ParseError, match="no site"):
        list(site_electricity_hourly_json.parse(b'{"readings": []}'))
    assert source_detect(filename="meter.json", stream=io.BytesIO(SAMPLE.read_bytes())) == (
        "site_electricity_hourly_json"
    )


@pytest.mark.django_db
def test_a_json_file_naming_its_site_imports_like_the_api(org_a, lab, media_root):
    batch = import_batch_create(
        organization=org_a, source="site_electricity_hourly_json", filename=SAMPLE.name, content=SAMPLE.read_bytes()
    )
    batch = import_batch_process(batch=batch)
    assert (batch.status, batch.rows_loaded) == ("done", 3)
    assert _stored(lab) == {_hour(0): 12.5, _hour(1): 11.75, _hour(2): 9.0}
