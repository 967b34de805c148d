"""Writes for cloud billing lines: attribution to teams, bulk idempotent upsert, restated months.

A billing line is keyed on (organization, billing period, provider, line item key): in the table, on a 16-byte
digest of the line item key (``CloudUsage.line_key``), a smaller index than the key's. A re-import
writes identical lines as duplicates, changed lines as updates, and at the end of the batch
(``cloud_usage_restated_months_replace``) removes the lines of the same billing account and month
that the new file no longer contains: a restated month replaces the old one instead of adding to it.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from operator import itemgetter

import psycopg.errors
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, Count, Sum, Value, When

from emissions.models import AllocationRule, CloudRegion, CloudUsage, Organization, Project, Team, cloud_line_key_hex
from emissions.records import CloudEstimate, CloudUsageRecord, UpsertOutcome
from emissions.services.cloud_basis import basis_book, tag_book

# Tag keys that name a team or a project directly (case-insensitive); overridable in settings.
DEFAULT_TEAM_TAG_KEYS = ("team", "owner", "team_name", "squad")
DEFAULT_PROJECT_TAG_KEYS = ("project", "project_name", "ml_project", "model")
# Parsers prefix a GCP project's labels with this, so resource labels can take precedence over them.
PROJECT_LABEL_PREFIX = "project_label:"
UPSERT_BATCH_ROWS = 2000
# Decimal places of a stored line's cost: providers write up to 10 (CUR), and a month of hourly lines
# rounded to 6 would drift from the invoice (CloudUsage.cost).
COST_DECIMALS = 10
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Owner:
    team_id: int | None
    project_id: int | None
    basis: str  # resource_tag | project_label | account | unallocated


class Attributor:
    """Finds the team/project of a billing line: resource tag › project label › account › unallocated.

    At each level an explicit AllocationRule (by priority) wins over a tag whose value is a team or
    project slug under one of the alias keys (``team``, ``owner``, ``project`` …).
    """

    def __init__(self, organization: Organization):
        self.rules = list(AllocationRule.objects.for_org(organization).order_by("priority", "pk"))
        self.teams = {team.slug.lower(): team for team in Team.objects.for_org(organization)}
        self.projects = {project.slug.lower(): project for project in Project.objects.for_org(organization)}
        self.team_keys = tuple(getattr(settings, "GREENGUILD_TEAM_TAG_KEYS", DEFAULT_TEAM_TAG_KEYS))
        self.project_keys = tuple(getattr(settings, "GREENGUILD_PROJECT_TAG_KEYS", DEFAULT_PROJECT_TAG_KEYS))
        self._owners: dict[tuple, Owner] = {}

    def owner(self, record: CloudUsageRecord) -> Owner:
        """The owner of a line; lines of one account with the same tags share it (cached per Attributor)."""
        key = (record.provider, record.account_id, record.tags)
        owner = self._owners.get(key)
        if owner is None:
            owner = self._owners[key] = self._owner(record)
        return owner

    def _owner(self, record: CloudUsageRecord) -> Owner:
        resource = {k.lower(): v for k, v in record.tags if not k.lower().startswith(PROJECT_LABEL_PREFIX)}
        labels = {
            k.lower().removeprefix(PROJECT_LABEL_PREFIX): v
            for k, v in record.tags
            if k.lower().startswith(PROJECT_LABEL_PREFIX)
        }
        for basis, tags in (("resource_tag", resource), ("project_label", labels)):
            found = self._by_tags(record, tags)
            if found is not None:
                return Owner(found[0], found[1], basis)
        for rule in self.rules:
            if rule.account_id and rule.account_id == record.account_id and self._provider_ok(rule, record):
                return Owner(rule.team_id, rule.project_id, "account")
        return Owner(None, None, "unallocated")

    @staticmethod
    def _provider_ok(rule: AllocationRule, record: CloudUsageRecord) -> bool:
        return not rule.provider or rule.provider == record.provider

    def _by_tags(self, record: CloudUsageRecord, tags: dict[str, str]) -> tuple[int, int | None] | None:
        if not tags:
            return None
        for rule in self.rules:
            if rule.tag_key and self._provider_ok(rule, record):
                value = tags.get(rule.tag_key.lower())
                if value is not None and (not rule.tag_value or rule.tag_value.lower() == value.lower()):
                    return rule.team_id, rule.project_id
        project = next(
            (self.projects[v.lower()] for k in self.project_keys if (v := tags.get(k)) and v.lower() in self.projects),
            None,
        )
        if project is not None:
            return project.team_id, project.pk
        team = next(
            (self.teams[v.lower()] for k in self.team_keys if (v := tags.get(k)) and v.lower() in self.teams), None
        )
        return (team.pk, None) if team is not None else None


# Fields a line has of its own; the rest is its kind (account, service, usage type, region, tags ...).
LINE_FIELDS = frozenset(
    {"line_item_key", "billing_period", "usage_start", "usage_end", "usage_quantity", "cost", "resource_id"}
)


def cloud_region_ids() -> dict[tuple[str, str], int]:
    """Each (provider, region code)'s CloudRegion id, the newest dataset's where several list it. Values, not
    model instances: a billing import asks for them once per block."""
    rows = CloudRegion.objects.order_by("dataset_id").values_list("provider", "region", "pk")
    return {(provider, region): pk for provider, region, pk in rows}


def kind_digest(record: CloudUsageRecord, estimate: CloudEstimate | str, owner: Owner) -> str:
    """SHA-256 of what a line shares with its kind: the record but its per-line fields, the estimate
    (or the estimator's fingerprint) and the owner. vars(), not astuple: astuple deep-copies."""
    kind = tuple(value for name, value in vars(record).items() if name not in LINE_FIELDS)
    estimated = estimate if isinstance(estimate, str) else tuple(vars(estimate).values())
    owned = (owner.team_id, owner.project_id, owner.basis)  # a tuple's repr is C; a dataclass's is Python
    return hashlib.sha256(repr((kind, estimated, owned)).encode()).hexdigest()


def line_digest(kind: str, key: str, period: str, start: str, end: str, quantity: float, cost: float, resource: str):
    """What decides a stored line (its ``row_digest``): its kind's digest and its own fields, as text.

    The row path (``cloud_usage_upsert_many``) and the columnar path (cloud_lines.py) both call this, so
    a file imported either way gives the same digests and a re-import counts its lines as duplicates.
    """
    text = f"{kind}|{key}|{period}|{start}|{end}|{quantity!r}|{cost!r}|{resource}"
    return hashlib.sha256(text.encode()).hexdigest()


def record_digest(record: CloudUsageRecord, estimate: CloudEstimate | str, owner: Owner) -> str:
    """``line_digest`` of one record."""
    return line_digest(
        kind_digest(record, estimate, owner),
        record.line_item_key,
        record.billing_period.isoformat(),
        record.usage_start.isoformat(),
        record.usage_end.isoformat(),
        record.usage_quantity,
        record.cost,
        record.resource_id,
    )


@transaction.atomic
def cloud_usage_upsert_many(
    *,
    organization: Organization,
    records: Sequence[CloudUsageRecord],
    estimator: Callable[[CloudUsageRecord], CloudEstimate],
    source_batch_id: int | None = None,
    row_numbers: Sequence[int] | None = None,
) -> UpsertOutcome:
    """Estimate, attribute and bulk-upsert billing lines; identical lines count as duplicates."""
    outcome = UpsertOutcome()
    if not records:
        return outcome
    attributor = Attributor(organization)
    regions = cloud_region_ids()
    book, tags = basis_book(organization), tag_book(organization)
    rows: dict[tuple, dict] = {}
    fingerprint = getattr(estimator, "fingerprint", None)
    for index, record in enumerate(records):
        estimate = estimator(record)
        owner = attributor.owner(record)
        # An estimator with a fingerprint (tables and assumptions) stands for its estimates: cheaper to hash.
        digest = record_digest(record, fingerprint or estimate, owner)
        key = (record.provider, record.billing_period, record.line_item_key[:128])
        earlier = rows.get(key)
        if earlier is not None and earlier["row_digest"] != digest:
            # The same provider id and interval with other values (ids are unique per partition only):
            # a line of its own, keyed by its digest too, so that neither replaces the other.
            key = (record.provider, record.billing_period, f"{record.line_item_key[:63]}#{digest}")
            earlier = rows.get(key)
        if earlier is not None:
            # An exact copy of an earlier row of the file: reported as a duplicate, stored once.
            _repeated(outcome, record, row_numbers[index] if row_numbers else None)
            continue
        values = _line(organization, record, estimate, owner, digest, regions, source_batch_id, row_numbers, index)
        values["line_item_key"] = key[2]
        values["line_key"] = uuid.UUID(cloud_line_key_hex(key[2]))
        values["coefficients_digest"] = book.digest(estimate.coefficients)
        values["tags_digest"] = tags.digest(record.tags)
        rows[key] = values
    book.save()
    tags.save()
    if connection.vendor == "postgresql":
        ordered = sorted(rows.values(), key=_unique_order)
        outcome.duplicate = upsert_by_copy(list(ordered[0]), len(ordered), _rows_writer(ordered))
    else:
        outcome.duplicate = _identical_stored(organization, rows)
        CloudUsage.objects.bulk_create(
            [CloudUsage(**values) for values in rows.values()],
            batch_size=UPSERT_BATCH_ROWS,
            update_conflicts=True,
            unique_fields=list(_UNIQUE_FIELDS),
            update_fields=_UPDATE_FIELDS,
        )
    outcome.duplicate += outcome.repeated
    outcome.loaded = len(records) - outcome.duplicate
    return outcome


def _repeated(outcome: UpsertOutcome, record: CloudUsageRecord, row_number: int | None) -> None:
    """Count a record that repeats an earlier one of the same input exactly."""
    outcome.repeated += 1
    outcome.repeated_cost[record.currency] = outcome.repeated_cost.get(record.currency, 0.0) + record.cost
    unit = record.usage_unit
    outcome.repeated_quantity[unit] = outcome.repeated_quantity.get(unit, 0.0) + record.usage_quantity
    if row_number is not None:
        outcome.repeated_rows.append(row_number)


def _identical_stored(organization: Organization, rows: dict[tuple, dict]) -> int:
    """How many of ``rows`` (by key) are stored already with the same digest."""
    stored = {
        (period, key, provider): digest
        for period, key, provider, digest in CloudUsage.objects.for_org(organization)
        .filter(line_key__in={values["line_key"] for values in rows.values()})
        .values_list("billing_period", "line_key", "provider", "row_digest")
    }
    return sum(1 for values in rows.values() if stored.get(_unique_order(values)) == values["row_digest"])


def _rows_writer(rows: list[dict]) -> Callable:
    """Writes ``rows`` (dicts by field name) into a COPY in PostgreSQL's text format."""

    def write(copy) -> None:
        for values in rows:
            copy.write_row(list(values.values()))

    return write


def upsert_by_copy(names: list[str], count: int, write: Callable, copy_format: str = "text") -> int:
    """PostgreSQL: COPY lines straight into the table, or, when some are stored already, into a temporary
    table and then INSERT … ON CONFLICT DO UPDATE.

    ``names`` are the model's field names of the columns, ``count`` the number of lines and
    ``write(copy)`` writes them into an open COPY in ``copy_format`` (``text``, ``csv`` or ``binary``), in key order
    so that chunks of one file upserted in parallel lock shared keys in the same order and cannot
    deadlock. Returns how many lines were stored already with the same digest. Several times faster than
    an ORM bulk upsert for files with millions of lines; the staging table lives only inside the transaction.
    """
    fields = [CloudUsage._meta.get_field(name) for name in names]
    columns = [field.column for field in fields]
    quote = connection.ops.quote_name
    column_list = ", ".join(quote(c) for c in columns)
    table = quote(CloudUsage._meta.db_table)
    unique = [quote(CloudUsage._meta.get_field(n).column) for n in _UNIQUE_FIELDS]
    updates = ", ".join(f"{quote(c)} = EXCLUDED.{quote(c)}" for c in columns if c not in _UNIQUE_COLUMNS)
    keys = ", ".join(unique)
    restamp = ", ".join(f"{quote(c)} = EXCLUDED.{quote(c)}" for c in ("source_batch_id", "source_row"))
    options = f" WITH (FORMAT {copy_format})" if copy_format in ("csv", "binary") else ""

    def copy_rows(target: str) -> None:
        with cursor.cursor.copy(f"COPY {target} ({column_list}) FROM STDIN{options}") as copy:
            write(copy)

    with connection.cursor() as cursor:
        # Identifiers come from the model and are quoted by the backend; values travel through COPY.
        try:
            # Fresh lines (most of a large import) go straight into the table; the first line already
            # stored stops the COPY, and the savepoint takes the chunk back for the upsert below.
            with transaction.atomic(savepoint=True):
                copy_rows(table)
            return 0
        except psycopg.errors.UniqueViolation:
            logger.debug("some lines of this chunk are stored already: upserting through the staging table")
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS cloud_usage_stage ON COMMIT DROP AS "  # noqa: S608
            f"SELECT {column_list} FROM {table} WITH NO DATA"
        )
        cursor.execute("TRUNCATE cloud_usage_stage")
        copy_rows("cloud_usage_stage")
        # Conflicts are found through the unique index (the arbiter), never through a join: inside a long
        # import the planner's statistics still describe the table before the import, and a join picked on
        # them probes the wrong index. First pass: insert new lines, and re-stamp identical ones with this
        # batch (the restated-month replacement keeps only lines the latest batch brought).
        cursor.execute(
            f"WITH written AS (INSERT INTO {table} ({column_list}) "  # noqa: S608
            f"SELECT {column_list} FROM cloud_usage_stage ORDER BY {keys} "
            f"ON CONFLICT ({keys}) DO UPDATE SET {restamp} WHERE {table}.row_digest = EXCLUDED.row_digest "
            f"RETURNING (xmax = 0) AS inserted) "
            f"SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM written"
        )
        inserted, identical = cursor.fetchone()
        if inserted + identical < count:  # Second pass, only when lines changed: update them.
            cursor.execute(
                f"INSERT INTO {table} ({column_list}) SELECT {column_list} FROM cloud_usage_stage "  # noqa: S608
                f"ORDER BY {keys} ON CONFLICT ({keys}) DO UPDATE SET {updates} "
                f"WHERE {table}.row_digest <> EXCLUDED.row_digest"
            )
    return identical


_UPDATE_FIELDS = [
    "billing_account",
    "account_id",
    "charge_category",
    "service",
    "sku",
    "usage_type",
    "instance_type",
    "region",
    "cloud_region",
    "usage_start",
    "usage_end",
    "usage_quantity",
    "usage_unit",
    "cost",
    "currency",
    "resource_id",
    "tags_digest",
    "team",
    "project",
    "allocation_basis",
    "compute_energy_kwh",
    "gpu_energy_kwh",
    "memory_energy_kwh",
    "storage_energy_kwh",
    "network_energy_kwh",
    "embodied_kg_co2e",
    "pue",
    "classification",
    "estimate_fell_back",
    "coefficients_digest",
    "row_digest",
    "source_batch_id",
    "source_row",
]


_UNIQUE_FIELDS = ("organization", "billing_period", "line_key", "provider")
_UNIQUE_COLUMNS = {"organization_id", "billing_period", "line_key", "provider"}


def _unique_order(values: dict) -> tuple:
    """A line's place in the unique key (its organization's part aside): the order chunks write lines in."""
    return values["billing_period"], values["line_key"], values["provider"]


def _line(organization, record, estimate, owner, digest, regions, source_batch_id, row_numbers, index) -> dict:
    """The stored values of one line, by model field name (foreign keys by their ``_id``)."""
    return {
        "organization_id": organization.pk,
        "provider": record.provider,
        "billing_account": record.billing_account[:100],
        "account_id": record.account_id[:100],
        "billing_period": record.billing_period,
        "line_item_key": record.line_item_key[:128],
        "line_key": None,  # the key's digest, given by the writer once the key is final
        "charge_category": record.charge_category,
        "service": record.service[:200],
        "sku": record.sku[:200],
        "usage_type": record.usage_type[:200],
        "instance_type": record.instance_type[:100],
        "region": record.region[:64],
        "cloud_region_id": regions.get((record.provider, record.region)),
        "usage_start": record.usage_start,
        "usage_end": record.usage_end,
        "usage_quantity": record.usage_quantity,
        "usage_unit": record.usage_unit[:50],
        "cost": round(record.cost, COST_DECIMALS),
        "currency": record.currency[:3],
        "resource_id": record.resource_id[:500],
        "tags_digest": None,  # the set's digest, given by the writer's tag_book
        "team_id": owner.team_id,
        "project_id": owner.project_id,
        "allocation_basis": owner.basis,
        "compute_energy_kwh": estimate.compute_energy_kwh,
        "gpu_energy_kwh": estimate.gpu_energy_kwh,
        "memory_energy_kwh": estimate.memory_energy_kwh,
        "storage_energy_kwh": estimate.storage_energy_kwh,
        "network_energy_kwh": estimate.network_energy_kwh,
        "embodied_kg_co2e": estimate.embodied_kg_co2e,
        "pue": estimate.pue,
        "classification": estimate.classification,
        "estimate_fell_back": estimate.fell_back,
        "coefficients_digest": None,  # the set's digest, given by the writer's basis_book
        "row_digest": digest,
        "source_batch_id": source_batch_id,
        "source_row": row_numbers[index] if row_numbers else None,
    }


# The columns the reads after an import filter, group or join on (the restated months, the reconciliation, the
# month's ledger and the Cloud page). ANALYZE of these alone takes half the time of the whole table's (a million
# lines: 0.36 against 0.72 s); the line keys, digests, tags and per-line figures are never planned on.
_PLANNED_FIELDS = (
    "organization", "source_batch_id", "billing_period", "provider", "billing_account", "account_id", "currency",
    "usage_unit", "cloud_region", "region", "team", "project", "service", "classification", "charge_category",
    "resource_id", "usage_start", "coefficients_digest",
)  # fmt: skip


# ANALYZE's sample: 300 rows per unit of target. 30 (9,000 rows) instead of PostgreSQL's default 100 reads a
# third of the pages: 0.07 instead of 0.30 s for a million lines. The planned columns hold a few values that
# matter (organizations, months, providers, accounts, currencies, units: 30 most common values kept each), and
# the import's reads need the table's new size and those values, not finer histograms.
_STATISTICS_TARGET = 30


def cloud_usage_statistics_refresh() -> None:
    """PostgreSQL: refresh the planner's statistics of the billing line table (ANALYZE samples it: 0.07 s for a
    million lines) for the columns reads plan on. After an import of a large export, statistics from before it
    make the planner sort the batch's million lines (restated months, reconciliation, the month's ledger) where
    a hash over them is several times faster."""
    if connection.vendor == "postgresql":
        quote = connection.ops.quote_name
        column_of = {field.name: field.column for field in CloudUsage._meta.concrete_fields}
        columns = ", ".join(quote(column_of[name]) for name in _PLANNED_FIELDS)
        with transaction.atomic(), connection.cursor() as cursor:  # SET LOCAL lasts until the transaction ends
            cursor.execute(f"SET LOCAL default_statistics_target = {_STATISTICS_TARGET}")
            cursor.execute(f"ANALYZE {quote(CloudUsage._meta.db_table)} ({columns})")
            cursor.execute("SET LOCAL default_statistics_target TO DEFAULT")


@dataclass(frozen=True)
class BatchLinesSettled:
    """What ``cloud_usage_restated_months_replace`` did and found: ``removed`` lines of restated months, and the
    batch's own lines added up per (currency, usage unit): dicts of ``currency``, ``usage_unit``, ``lines``,
    ``cost`` (a Decimal) and ``quantity`` (in the unit)."""

    removed: int
    groups: list[dict]


@transaction.atomic
def cloud_usage_restated_months_replace(
    *, organization: Organization, source_batch_id: int, periods: Collection[date] | None = None
) -> BatchLinesSettled:
    """Delete lines of the batch's (provider, billing account, month)s that the batch did not bring, and add up
    the batch's own lines for the reconciliation, in one pass over the lines of the batch's months.

    ``periods``: the billing months the batch's lines fall in, as the reader tallied them (more do no harm:
    only a (provider, account, month) holding a line of the batch is replaced); None: found from the stored
    lines first (one pass more). Run once, after every chunk of the batch is stored.
    """
    lines = CloudUsage.objects.for_org(organization)
    if periods is None:
        found = lines.filter(source_batch_id=source_batch_id).values_list("billing_period", flat=True)
        periods = list(found.order_by().distinct())
    ours = Case(When(source_batch_id=source_batch_id, then=Value(True)), default=Value(False))
    # Grouped in the database: the months' million lines come back as a few dozen rows.
    groups = list(
        lines.filter(billing_period__in=sorted(periods))
        .annotate(ours=ours)
        .values("ours", "provider", "billing_account", "billing_period", "currency", "usage_unit")
        .annotate(lines=Count("id"), cost=Sum("cost"), quantity=Sum("usage_quantity"))
        .order_by()
    )
    month_of = itemgetter("provider", "billing_account", "billing_period")
    restated = {month_of(group) for group in groups if group["ours"]}
    removed = 0
    for provider, account, period in sorted({month_of(group) for group in groups if not group["ours"]} & restated):
        stale = lines.filter(provider=provider, billing_account=account, billing_period=period).exclude(
            source_batch_id=source_batch_id
        )
        removed += stale.delete()[0]
    totals: dict[tuple[str, str], dict] = {}
    for group in groups:
        if group["ours"]:
            key = (group["currency"], group["usage_unit"])
            total = totals.setdefault(key, {"currency": key[0], "usage_unit": key[1], "lines": 0, "cost": Decimal(0),
                                            "quantity": 0.0})  # fmt: skip
            total["lines"] += group["lines"]
            total["cost"] += group["cost"] or 0
            total["quantity"] += group["quantity"] or 0.0
    return BatchLinesSettled(removed=removed, groups=[totals[key] for key in sorted(totals)])
