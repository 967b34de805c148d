"""Check a public billing export (e.g. the FOCUS 1.0 official sample) end to end, against the file's own totals.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/greenguild_check .venv/bin/python \
        bench/public_export_check.py FILE [--source billing]

The file's totals (rows, cost per provider and currency) are read with the stdlib ``csv`` module and
``Decimal`` only, independently of our parsers. Then a fresh database (its name must start with
greenguild_check: it is dropped) is migrated, the reference data loaded, and FILE imported twice as a batch
through ``ingest.services.import_batch_create`` (Celery eager, in this process). Prints JSON: the batch's
counts, row errors, stored cost (CloudUsage) beside the file's per provider and currency, reconciliation
warnings, the month ledgers' data gaps (or their errors) and what the second import stored. Exit 1 if the
batch failed, rows do not add up, the file's cost is not stored + rejected + repeated for a provider, or the
re-import stored anything. ``--totals-only``: the file's totals, no database. Not part of the test run.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import csv
import io
import json
import os
import sys
import tempfile
from collections import defaultdict
from decimal import Decimal, InvalidOperation
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
NULLS = {"", "null", "NULL", "Null", "None"}
PROVIDERS = {"amazon web services": "aws", "amazon": "aws", "microsoft": "azure", "microsoft azure": "azure"}
PROVIDERS |= {"google cloud": "gcp", "google": "gcp", "google cloud platform": "gcp"}
NAMES = ("providername", "serviceprovidername", "invoiceissuername")  # FOCUS 1.0, 1.2, either
# dialect: (headers naming it, provider, cost columns in order of preference, currency columns)
DIALECTS = (
    ("focus", ("billedcost",), None, ("effectivecost", "billedcost"), ("billingcurrency",)),
    ("aws_cur", ("lineitem/unblendedcost",), "aws", ("lineitem/unblendedcost",), ("lineitem/currencycode",)),
    ("aws_cur2", ("lineitemunblendedcost",), "aws", ("lineitemunblendedcost",), ("lineitemcurrencycode",)),
    ("gcp_billing", ("billingaccountid", "sku.id", "usagestarttime"), "gcp", ("cost",), ("currency",)),
    ("azure", (), "azure", ("costinbillingcurrency", "extendedcost", "pretaxcost", "cost"), ("billingcurrencycode",
     "billingcurrency", "currency", "currencycode")),
)  # fmt: skip


def _key(name: str) -> str:
    """A header matched case-insensitively, spaces and underscores ignored; ``X (Name)`` by Name."""
    if name.endswith(")") and "(" in name:
        name = name[name.rindex("(") + 1 : -1]
    return name.replace("\ufeff", "").replace(" ", "").replace("_", "").lower()


def _decimal(text: str) -> Decimal | None:
    text = text.strip()
    try:
        return Decimal(0) if text in NULLS else Decimal(text)
    except InvalidOperation:
        return None


def _credits(text: str) -> Decimal:
    """GCP credits as JSON or a Python literal: the sum of their amounts."""
    if text.strip() in NULLS:
        return Decimal(0)
    try:
        items = json.loads(text)
    except ValueError:
        items = ast.literal_eval(text)
    return sum((Decimal(str(item.get("amount") or 0)) for item in items), Decimal(0))


def file_totals(path: Path) -> dict:
    """The file's rows and cost per "provider/currency" (Decimal), read with csv only. ``lines`` maps a
    row number (header = 1) to (provider/currency, cost or None, the row's cells)."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = [_key(name) for name in next(reader)]
        column = {name: index for index, name in reversed(list(enumerate(header)))}
        name, _, provider, costs, currencies = next(d for d in DIALECTS if all(h in column for h in d[1]))
        cost_at = next(column[c] for c in costs if c in column)
        currency_at = next((column[c] for c in currencies if c in column), None)
        totals: dict = {"dialect": name, "cost_column": header[cost_at]}
        by, billed, lines = defaultdict(lambda: [0, Decimal(0)]), defaultdict(Decimal), {}
        for number, cells in enumerate((cells for cells in reader if cells), start=2):
            if not any(cell.strip() for cell in cells):
                continue
            cells += [""] * (len(header) - len(cells))
            named = provider or next((cells[column[c]].strip() for c in NAMES if c in column), "").lower()
            named = PROVIDERS.get(named, named)
            currency = cells[currency_at].strip() if currency_at is not None else ""
            group = f"{named}/{currency if currency not in NULLS else '' if name == 'focus' else 'USD'}"
            cost = _decimal(cells[cost_at])
            if cost is not None and name == "gcp_billing" and "credits" in column:
                cost += _credits(cells[column["credits"]])
            if name == "focus" and cost is not None:
                billed[group] += _decimal(cells[column["billedcost"]]) or 0
            by[group][0] += 1
            by[group][1] += cost or 0
            lines[number] = (group, cost, tuple(cells))
    totals |= {"rows": len(lines), "unreadable_cost": sum(line[1] is None for line in lines.values())}
    totals["by_provider"] = {g: {"rows": n, "cost": c, **({"billed_cost": billed[g]} if billed else {})}
                             for g, (n, c) in sorted(by.items())}  # fmt: skip
    return {**totals, "lines": lines}


def _database_fresh(database_url: str) -> None:
    import psycopg

    parts = urlsplit(database_url)
    name = parts.path[1:]
    if not name.startswith("greenguild_check"):
        sys.exit("the check drops its database: use a name starting with greenguild_check")
    with psycopg.connect(parts._replace(path="/postgres").geturl(), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def _import(organization, path: Path, source: str):
    """The batch path as in production, Celery eager (no broker) so the on-commit send processes it here."""
    from ingest.models import ImportBatch
    from ingest.services import import_batch_create, import_batch_process

    batch = import_batch_create(organization=organization, source=source, filename=path.name, content=path.read_bytes())
    batch.refresh_from_db()
    return batch if batch.status in ImportBatch.FINISHED else import_batch_process(batch=batch)


def check(path: Path, source: str, database_url: str) -> dict:
    totals = file_totals(path)
    _database_fresh(database_url)
    os.environ.update(DATABASE_URL=database_url, DJANGO_SETTINGS_MODULE="frontend.settings", LOG_LEVEL="WARNING")
    os.environ.setdefault("SECRET_KEY", "check-" * 10)
    os.environ.pop("CELERY_BROKER_URL", None)
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import transaction
    from django.db.models import Count, Sum
    from django.db.models.functions import TruncMonth

    from emissions.models import CloudUsage, Organization
    from emissions.periods import period_parse
    from emissions.services.ledger import inventory_calculate

    settings.GREENGUILD_FIGURES_REFRESH_DELAY_S = None  # no debounced refresh timers outliving the check
    call_command("migrate", "--no-input", verbosity=0, stdout=io.StringIO())
    with contextlib.redirect_stdout(io.StringIO()):  # stdout is the JSON report only
        call_command("load_reference_data", verbosity=0, stdout=io.StringIO())
    organization = Organization.objects.create(slug="check", name="Check")
    batch = _import(organization, path, source)
    errors = list(batch.row_errors.values_list("row_number", "column", "value", "reason"))
    lines = CloudUsage.objects.filter(organization=organization, source_batch_id=batch.pk)
    stored = {
        f"{row['provider']}/{row['currency']}": row
        for row in lines.values("provider", "currency").annotate(lines=Count("id"), cost=Sum("cost"))
    }
    # Rejected rows and exact repeats (of rows not rejected) by provider, read from the file itself.
    rejected, repeated, seen, numbers = defaultdict(Decimal), defaultdict(Decimal), set(), {e[0] for e in errors}
    for number, (group, cost, cells) in totals["lines"].items():
        if number in numbers:
            rejected[group] += cost or 0
        elif cells in seen:
            repeated[group] += cost or 0
        seen.add(cells)
    tolerance = Decimal("5e-11") * max(totals["rows"], 1)  # stored costs are rounded to 10 decimals per line
    cost = {}
    for group in sorted(set(totals["by_provider"]) | set(stored)):
        here = stored.get(group) or {"lines": 0, "cost": Decimal(0)}
        file_cost = totals["by_provider"].get(group, {}).get("cost", Decimal(0))
        cost[group] = {"file": file_cost, "stored": here["cost"], "stored_lines": here["lines"], "rejected":
                       rejected[group], "repeated": repeated[group]}  # fmt: skip
        cost[group]["unexplained"] = file_cost - here["cost"] - rejected[group] - repeated[group]
        cost[group]["ok"] = abs(cost[group]["unexplained"]) <= tolerance
    gaps, ledger_errors = {}, {}  # the month ledgers: reported, not part of the exit code
    for month in lines.annotate(month=TruncMonth("usage_start")).values_list("month", flat=True).distinct():
        try:
            with transaction.atomic():
                calculation = inventory_calculate(organization=organization, period=period_parse(f"{month:%Y-%m}"))
            gaps[f"{month:%Y-%m}"] = calculation.data_gaps
        except Exception as exc:  # a failing ledger is a finding to print, not the end of the check
            ledger_errors[f"{month:%Y-%m}"] = f"{type(exc).__name__}: {exc}"
    count = CloudUsage.objects.filter(organization=organization).count()
    again = _import(organization, path, source)
    result = {
        "file": str(path), "dialect": totals["dialect"], "cost_column": totals["cost_column"],
        "file_rows": totals["rows"], "file_unreadable_cost": totals["unreadable_cost"],
        "file_by_provider": totals["by_provider"], "status": batch.status, "error": batch.error,
        "rows_total": batch.rows_total, "rows_loaded": batch.rows_loaded, "rows_duplicate": batch.rows_duplicate,
        "rows_rejected": batch.rows_rejected, "row_errors": [list(error) for error in errors], "cost": cost,
        "reconciliation_warnings": (batch.reconciliation or {}).get("warnings"), "data_gaps": gaps,
        "ledger_errors": ledger_errors,
        "reimport": {"status": again.status, "rows_loaded": again.rows_loaded, "rows_duplicate": again.rows_duplicate,
                     "new_lines": CloudUsage.objects.filter(organization=organization).count() - count},
    }  # fmt: skip
    problems = {
        f"batch {batch.status}: {batch.error}": batch.status not in ("done", "partial"),
        "rows_total != loaded + duplicate + rejected": batch.rows_total
        != batch.rows_loaded + batch.rows_duplicate + batch.rows_rejected,
        f"rows_total {batch.rows_total} != the file's {totals['rows']} rows": batch.rows_total != totals["rows"],
        "the second import stored new lines": bool(result["reimport"]["new_lines"] or again.rows_loaded),
        **{f"{group}: cost off by {entry['unexplained']}": not entry["ok"] for group, entry in cost.items()},
    }
    return {**result, "problems": [problem for problem, found in problems.items() if found]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--source", default="billing")
    parser.add_argument("--totals-only", action="store_true", help="the file's own totals, no database")
    args = parser.parse_args(argv)
    if args.totals_only:
        result = {key: value for key, value in file_totals(args.file).items() if key != "lines"}
    else:
        database_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/greenguild_check")
        with tempfile.TemporaryDirectory(prefix="greenguild_check_") as media:
            os.environ.setdefault("MEDIA_ROOT", media)  # where the batches' raw files are stored
            result = check(args.file, args.source, database_url)
    print(json.dumps(result, indent=2, default=str))
    return 1 if result.get("problems") else 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
