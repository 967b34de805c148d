"""Offboarding an organization: everything it owns exported to one ZIP, checked, then deleted.

The archive holds, for each model, the organization's rows as Django JSON lines (``data/<app>.<model>.jsonl``,
loadable with ``manage.py loaddata``), its members' user accounts without password hashes
(``data/auth.user.jsonl``), every import's raw file as uploaded (``imports/``), every report's rendered files
(``reports/``) and a ``manifest.json`` with the row count and SHA-256 of every member. Deletion reads the
archive back first (every member's digest and line count against the manifest) and refuses when the
organization's row counts changed since the export. Rows are deleted children first, so ``PROTECT``
references never stop it; members left without any organization lose their account (staff and superusers
keep theirs). Shared reference data (shipped factors, grid zones) is neither exported nor touched.

This module sits with the settings and views because it reads every app's models.
"""

from __future__ import annotations

import graphlib
import hashlib
import io
import json
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from django.apps import apps
from django.contrib.auth import get_user_model
from django.core import serializers
from django.db import models, transaction

from emissions.models import Membership, Organization
from emissions.services.ledger import METHODOLOGY_VERSION
from ingest.models import ImportBatch
from reporting.models import ReportFile

OUR_APPS = ("emissions", "ingest", "reporting")
# Models whose rows no organization owns: shipped for all (an organization's own factor rows are found
# through their ``organization`` or ``dataset`` field; grid zones are a shared code list).
SHARED_MODELS = {"emissions.gridzone"}
ARCHIVE_FORMAT = "greenguild-organization-export/1"


class OffboardingError(Exception):
    """The export or the deletion cannot go on safely; nothing was deleted."""


@dataclass
class ExportSummary:
    """What an export wrote: rows per model label, and the archive's path."""

    path: Path
    counts: dict[str, int] = field(default_factory=dict)
    files: int = 0


def owned_querysets(organization: Organization) -> dict[str, models.QuerySet]:
    """Every row the organization owns, per model label (``app.model``), through the tenant chokepoint
    (``for_org``) where the model has it, else its ``organization`` or ``dataset`` field."""
    owned: dict[str, models.QuerySet] = {}
    for model in apps.get_models():
        label = model._meta.label_lower
        if model._meta.app_label not in OUR_APPS or label in SHARED_MODELS or model is Organization:
            continue
        manager = model._default_manager
        names = {f.name for f in model._meta.get_fields()}
        if hasattr(manager.all(), "for_org"):
            owned[label] = manager.all().for_org(organization)
        elif "organization" in names:
            owned[label] = manager.filter(organization=organization)
        elif "dataset" in names:
            owned[label] = manager.filter(dataset__organization=organization)
        else:
            raise OffboardingError(f"{label}: no path to an organization; list it in SHARED_MODELS if it is shared")
    return owned


def _members(organization: Organization) -> models.QuerySet:
    return get_user_model().objects.filter(memberships__organization=organization).distinct()


def organization_export(*, organization: Organization, path: Path) -> ExportSummary:
    """Write the organization's archive to ``path`` (a new file) and return what it holds."""
    if path.exists():
        raise OffboardingError(f"{path} exists already: choose a new file name")
    summary = ExportSummary(path=path)
    digests: dict[str, str] = {}
    with zipfile.ZipFile(path, "x", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        tables = {
            "emissions.organization": Organization.objects.filter(pk=organization.pk),
            **owned_querysets(organization),
        }
        for label, queryset in sorted(tables.items()):
            summary.counts[label], digests[f"data/{label}.jsonl"] = _write_rows(
                archive, f"data/{label}.jsonl", queryset
            )
        user_fields = ("username", "first_name", "last_name", "email", "is_active", "date_joined", "last_login")
        name = "data/auth.user.jsonl"
        summary.counts["auth.user"], digests[name] = _write_rows(archive, name, _members(organization), user_fields)
        for batch in ImportBatch.objects.for_org(organization).order_by("pk").iterator():
            if batch.raw_file:
                name = f"imports/{batch.pk}-{Path(batch.raw_file.name).name}"
                with batch.raw_file.open("rb") as source:
                    digests[name] = _write_stream(archive, name, source)
                summary.files += 1
        for report_file in ReportFile.objects.for_org(organization).select_related("report").order_by("pk").iterator():
            name = f"reports/{report_file.report.pk}-{report_file.report.period_label}.{report_file.file_format}"
            digests[name] = _write_stream(archive, name, io.BytesIO(bytes(report_file.content)))
            summary.files += 1
        manifest = {
            "format": ARCHIVE_FORMAT,
            "organization": organization.slug,
            "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "methodology_version": METHODOLOGY_VERSION,
            "rows": summary.counts,
            "sha256": digests,
        }
        archive.writestr("manifest.json", json.dumps(manifest, indent=2, sort_keys=True))
    return summary


def _write_rows(archive: zipfile.ZipFile, name: str, queryset, fields=None) -> tuple[int, str]:
    """Serialize ``queryset`` as JSON lines into ``name``, streamed; its row count and SHA-256."""
    counted = _Counter(queryset.order_by("pk").iterator(chunk_size=2000))
    digest = hashlib.sha256()
    with archive.open(name, "w", force_zip64=True) as raw:
        writer = _DigestWriter(raw, digest)
        text = io.TextIOWrapper(writer, encoding="utf-8", newline="\n")
        serializers.serialize("jsonl", counted, stream=text, fields=fields)
        text.flush()
        text.detach()
    return counted.count, digest.hexdigest()


def _write_stream(archive: zipfile.ZipFile, name: str, source) -> str:
    digest = hashlib.sha256()
    with archive.open(name, "w", force_zip64=True) as out:
        for block in iter(lambda: source.read(1 << 20), b""):
            digest.update(block)
            out.write(block)
    return digest.hexdigest()


class _Counter:
    def __init__(self, iterable):
        self._iterable, self.count = iterable, 0

    def __iter__(self):
        for item in self._iterable:
            self.count += 1
            yield item


class _DigestWriter(io.RawIOBase):
    def __init__(self, raw, digest):
        self._raw, self._digest = raw, digest

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self._digest.update(data)
        return self._raw.write(data)


def archive_verify(path: Path) -> dict:
    """The archive's manifest, once every member listed in it reads back with its digest and row count."""
    try:
        with zipfile.ZipFile(path) as archive:
            manifest = json.loads(archive.read("manifest.json"))
            for name, expected in manifest["sha256"].items():
                digest, lines = hashlib.sha256(), 0
                with archive.open(name) as member:
                    for block in iter(lambda: member.read(1 << 20), b""):
                        digest.update(block)
                        lines += block.count(b"\n")
                if digest.hexdigest() != expected:
                    raise OffboardingError(f"{path}: {name} does not match its digest in the manifest")
                label = name.removeprefix("data/").removesuffix(".jsonl")
                if name.startswith("data/") and lines != manifest["rows"][label]:
                    raise OffboardingError(
                        f"{path}: {name} holds {lines} rows, the manifest says {manifest['rows'][label]}"
                    )
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise OffboardingError(f"{path} is not a readable organization export: {exc}") from exc
    return manifest


def organization_delete(*, organization: Organization, archive: Path) -> dict[str, int]:
    """Delete everything the organization owns, once ``archive`` (its export) verifies and still matches.

    Returns the rows deleted per model label (``auth.user`` for accounts left without an organization)."""
    manifest = archive_verify(archive)
    if manifest.get("organization") != organization.slug:
        raise OffboardingError(
            f"{archive} is the export of {manifest.get('organization')!r}, not {organization.slug!r}"
        )
    with transaction.atomic():
        Organization.objects.select_for_update().get(pk=organization.pk)  # writers of its rows wait
        owned = owned_querysets(organization)
        changed = [label for label, qs in owned.items() if qs.count() != manifest["rows"].get(label, 0)]
        if changed:
            raise OffboardingError(f"rows changed since the export ({', '.join(sorted(changed))}): export again")
        member_ids = list(Membership.objects.for_org(organization).values_list("user_id", flat=True))
        files = [b.raw_file.name for b in ImportBatch.objects.for_org(organization) if b.raw_file]
        deleted = organization_rows_delete(organization=organization)
        leftover = get_user_model().objects.filter(pk__in=member_ids, memberships__isnull=True)
        leftover = leftover.filter(is_staff=False, is_superuser=False)
        deleted["auth.user"] = leftover.count()
        leftover.delete()
        storage = ImportBatch._meta.get_field("raw_file").storage
        transaction.on_commit(lambda: [storage.delete(name) for name in files])
    return deleted


def organization_rows_delete(*, organization: Organization) -> dict[str, int]:
    """Delete the organization and every row it owns, children first; the rows deleted per model label.

    Call it inside a transaction; user accounts and stored files are the caller's."""
    owned = owned_querysets(organization)
    deleted = {}
    for label in _children_first(owned):
        queryset = owned[label]
        for self_reference in _protected_self_references(queryset.model):
            queryset.exclude(**{f"{self_reference}__isnull": True}).update(**{self_reference: None})
        deleted[label] = queryset.count()
        queryset.delete()
    Organization.objects.filter(pk=organization.pk).delete()
    return deleted


def _children_first(owned: dict[str, models.QuerySet]) -> list[str]:
    """The labels ordered so a model comes before every model it references (``PROTECT`` never fires)."""
    graph: dict[str, set[str]] = {label: set() for label in owned}
    for label, queryset in owned.items():
        for f in queryset.model._meta.fields:
            target = f.related_model._meta.label_lower if f.is_relation and f.related_model else None
            if target in graph and target != label:
                graph[target].add(label)  # ``label`` references ``target``: delete ``label`` first
    return list(graphlib.TopologicalSorter(graph).static_order())


def _protected_self_references(model) -> list[str]:
    return [
        f.name
        for f in model._meta.fields
        if f.is_relation and f.related_model is model and f.remote_field.on_delete is models.PROTECT
    ]
