"""``manage.py organization_offboard``: the demo organization exported whole, checked, deleted, and restorable.

Expected counts come from the database through plain ``filter(organization=…)`` queries, not from the
export's own code; the archive's files are compared byte for byte with what was uploaded or rendered.
"""

import io
import json
import zipfile
from pathlib import Path

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db.models import Sum

from emissions.choices import Role
from emissions.models import GridZone, Membership, Organization, Run, RunSample
from frontend.demo import demo_organization_seed
from frontend.offboarding import OUR_APPS, SHARED_MODELS, owned_querysets
from ingest.models import ImportBatch
from ingest.services import import_batch_create, import_batch_process
from reporting.models import ReportFile
from reporting.services import report_create, report_generate
from tests.factories import MembershipFactory, RunFactory

CSV = (
    b"timestamp,project_name,run_id,duration,emissions,energy_consumed\n2026-03-01T10:00:00,offboard,r-1,3600,0.1,0.5\n"
)


def _direct_counts(organization_id: int) -> dict[str, int]:
    """Rows per model label holding this organization id in their own ``organization`` column."""
    counts = {}
    for model in apps.get_models():
        if model._meta.app_label in OUR_APPS and "organization" in {f.name for f in model._meta.fields}:
            counts[model._meta.label_lower] = model._default_manager.filter(organization_id=organization_id).count()
    return counts


@pytest.fixture
def acme(db, media_root, org_b):
    organization = demo_organization_seed()
    batch = import_batch_create(
        organization=organization, source="codecarbon_csv", filename="emissions.csv", content=CSV
    )
    import_batch_process(batch=batch)
    report_generate(report=report_create(organization=organization, period_label="2025-Q4", enqueue=False))
    # One member also belongs to org B: the account stays.
    shared_user = Membership.objects.for_org(organization).order_by("pk").first().user
    MembershipFactory(organization=org_b, user=shared_user, role=Role.VIEWER)
    RunFactory(organization=org_b, project=org_b.projects.first())
    return organization


def test_every_model_is_owned_or_shared():
    """A new model must say how it belongs to an organization, or the export would silently miss it."""
    organization = Organization(pk=1)
    labels = set(owned_querysets(organization)) | SHARED_MODELS | {"emissions.organization"}
    ours = {m._meta.label_lower for m in apps.get_models() if m._meta.app_label in OUR_APPS}
    assert labels == ours


@pytest.mark.django_db
def test_export_check_delete_and_restore(acme, org_b, tmp_path, django_capture_on_commit_callbacks):
    archive = tmp_path / "acme.zip"
    org_pk, org_b_before = acme.pk, _direct_counts(org_b.pk)
    expected = _direct_counts(acme.pk)
    samples = RunSample.objects.filter(run__organization=acme).count()
    energy_kwh = Run.objects.filter(organization=acme).aggregate(total=Sum("energy_kwh"))["total"]
    zones = GridZone.objects.count()
    members = list(Membership.objects.filter(organization=acme).values_list("user__username", flat=True))
    report_bytes = {f.file_format: bytes(f.content) for f in ReportFile.objects.filter(report__organization=acme)}
    assert expected["emissions.run"] > 100 and samples > 100 and set(report_bytes) == set(ReportFile.Format.values)

    out = io.StringIO()
    call_command("organization_offboard", "acme", "--export", str(archive), stdout=out)
    assert "exported" in out.getvalue() and archive.exists()
    with zipfile.ZipFile(archive) as zipped:
        manifest = json.loads(zipped.read("manifest.json"))
        for label, count in expected.items():
            assert manifest["rows"][label] == count, label
        assert manifest["rows"]["emissions.runsample"] == samples
        assert manifest["rows"]["auth.user"] == len(members)
        users = zipped.read("data/auth.user.jsonl").decode()
        assert "password" not in users and all(f'"username": "{name}"' in users for name in members)
        [upload] = [n for n in zipped.namelist() if n.startswith("imports/")]
        assert zipped.read(upload) == CSV
        for file_format, content in report_bytes.items():
            [name] = [n for n in zipped.namelist() if n.startswith("reports/") and n.endswith(f".{file_format}")]
            assert zipped.read(name) == content

    # No confirmation, a wrong one, a tampered archive, rows changed since: nothing deleted.
    with pytest.raises(CommandError, match="not confirmed"):
        call_command("organization_offboard", "acme", "--delete", "--archive", str(archive), "--no-input")
    with pytest.raises(CommandError, match="not confirmed"):
        call_command("organization_offboard", "acme", "--delete", "--archive", str(archive), "--confirm", "acm")
    tampered = tmp_path / "tampered.zip"
    _rewrite(
        archive, tampered, "data/emissions.run.jsonl", lambda data: data.replace(b'"energy_kwh": ', b'"energy_kwh": 1')
    )
    with pytest.raises(CommandError, match="does not match its digest"):
        call_command("organization_offboard", "acme", "--delete", "--archive", str(tampered), "--confirm", "acme")
    extra = RunFactory(organization=acme, project=acme.projects.first())
    with pytest.raises(CommandError, match=r"rows changed since the export \(emissions.run\)"):
        call_command("organization_offboard", "acme", "--delete", "--archive", str(archive), "--confirm", "acme")
    extra.delete()
    assert _direct_counts(acme.pk) == expected

    raw_path = Path(ImportBatch.objects.filter(organization=acme).get().raw_file.path)
    delete = ("organization_offboard", "acme", "--delete", "--archive", str(archive), "--confirm", "acme")
    with django_capture_on_commit_callbacks(execute=True):  # the stored files go once the deletion commits
        call_command(*delete, stdout=out)
    assert not Organization.objects.filter(pk=org_pk).exists()
    assert set(_direct_counts(org_pk).values()) == {0}
    assert not RunSample.objects.filter(run__organization_id=org_pk).exists()
    assert not raw_path.exists()
    assert _direct_counts(org_b.pk) == org_b_before and GridZone.objects.count() == zones
    remaining = set(get_user_model().objects.filter(username__in=members).values_list("username", flat=True))
    in_org_b = Membership.objects.filter(organization=org_b, user__username__in=members)
    assert remaining == set(in_org_b.values_list("user__username", flat=True))

    # What was deleted loads back from the archive with loaddata.
    folder = tmp_path / "restore"
    with zipfile.ZipFile(archive) as zipped:
        zipped.extractall(folder, members=[n for n in zipped.namelist() if n.startswith("data/")])
    users = folder / "data" / "auth.user.jsonl"  # accounts that still exist are left as they are
    kept = [line for line in users.read_text().splitlines() if json.loads(line)["fields"]["username"] not in remaining]
    users.write_text("".join(line + "\n" for line in kept))
    fixtures = [
        path for path in sorted((folder / "data").glob("*.jsonl")) if path.stat().st_size
    ]  # empty tables: nothing to load
    call_command("loaddata", *map(str, fixtures), stdout=io.StringIO())
    assert _direct_counts(org_pk) == expected
    assert RunSample.objects.filter(run__organization_id=org_pk).count() == samples
    restored_users = get_user_model().objects.filter(username__in=set(members) - remaining)
    assert restored_users.count() == len(set(members) - remaining) and {u.password for u in restored_users} == {""}
    restored = Run.objects.filter(organization_id=org_pk).aggregate(total=Sum("energy_kwh"))["total"]
    assert restored == pytest.approx(energy_kwh, rel=1e-12)


def _rewrite(source: Path, target: Path, name: str, change) -> None:
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for item in old.namelist():
            data = old.read(item)
            new.writestr(item, change(data) if item == name else data)
