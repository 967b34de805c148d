"""Benchmark of the cloud billing path on PostgreSQL: a synthetic 1,000,000-row AWS CUR, parsed,
estimated, attributed, stored and accounted (ledger for the month), beside the floor (reading the
same file with pyarrow and COPYing it raw into PostgreSQL).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/greenguild_bench_billing .venv/bin/python bench/billing_ingest.py

Options: BENCH_ROWS (default 1,000,000). Reports wall seconds per stage, peak memory (RSS) of the
process that runs the import, and the floor ratio. Not part of the test run.
"""

from __future__ import annotations

import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "tests" / "ingest" / "fixtures" / "billing" / "aws_cur.csv"
ROWS = int(os.environ.get("BENCH_ROWS", "1000000"))


def cur_generate(path: Path, rows: int) -> None:
    """Repeat the sample's lines over March 2025, hour by hour, with unique line item and resource ids."""
    with SAMPLE.open(newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        templates = list(reader)
    column = {name: index for index, name in enumerate(header)}
    start = datetime(2025, 3, 1, tzinfo=UTC)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for i in range(rows):
            row = list(templates[i % len(templates)])
            hour = start + timedelta(hours=(i // len(templates)) % (31 * 24))
            row[column["identity/LineItemId"]] = f"bench{i:08d}"
            row[column["lineItem/UsageStartDate"]] = hour.strftime("%Y-%m-%dT%H:%M:%SZ")
            row[column["lineItem/UsageEndDate"]] = (hour + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
            if row[column["lineItem/ResourceId"]]:
                row[column["lineItem/ResourceId"]] += f"-{i % 5000}"
            writer.writerow(row)


def _database_fresh(database_url: str) -> None:
    import psycopg

    parts = urlsplit(database_url)
    name = parts.path[1:]
    if not name.startswith("greenguild_bench"):
        sys.exit("the benchmark drops its database: use a name starting with greenguild_bench")
    with psycopg.connect(parts._replace(path="/postgres").geturl(), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def floor(path: Path, database_url: str) -> dict:
    """Read the file with pyarrow, and COPY it raw (text columns) into PostgreSQL."""
    import psycopg
    import pyarrow.csv

    started = time.perf_counter()
    table = pyarrow.csv.read_csv(path)
    read_s = time.perf_counter() - started
    columns = ", ".join(f'"c{i}" text' for i in range(table.num_columns))
    with psycopg.connect(database_url) as connection:
        connection.execute(f"CREATE TABLE bench_raw ({columns})")
        with (
            connection.cursor() as cursor,
            cursor.copy("COPY bench_raw FROM STDIN WITH (FORMAT csv, HEADER true)") as copy,
            path.open("rb") as handle,
        ):
            while block := handle.read(1 << 20):
                copy.write(block)
        connection.commit()
    return {"rows": table.num_rows, "read_s": read_s, "total_s": time.perf_counter() - started}


def product_path(path: Path) -> dict:
    """Runs in a child process: the real import batch, then the month's ledger. Prints JSON."""
    import django

    django.setup()
    from django.core.management import call_command

    from emissions.models import Organization, Team
    from emissions.periods import period_parse
    from emissions.selectors import inventory_summary
    from emissions.services.ledger import inventory_calculate
    from ingest.services import import_batch_create, import_batch_process

    call_command("migrate", "--no-input", verbosity=0)
    call_command("load_reference_data", verbosity=0)
    organization, _ = Organization.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
    Team.objects.get_or_create(organization=organization, slug="ml-research", defaults={"name": "ML research"})
    started = time.perf_counter()
    # With no broker the batch is processed in-process as soon as it is stored (what `make run` does);
    # with one, the same service runs in the worker.
    with path.open("rb") as handle:
        batch = import_batch_create(organization=organization, source="aws_cur", filename=path.name, stream=handle)
    batch.refresh_from_db()
    if batch.status == "pending":
        batch = import_batch_process(batch=batch)
    import_s = time.perf_counter() - started
    calculation = inventory_calculate(organization=organization, period=period_parse("2025-03"))
    total_s = time.perf_counter() - started
    summary = inventory_summary(calculation=calculation)
    return {
        "status": batch.status,
        "rows_total": batch.rows_total,
        "rows_loaded": batch.rows_loaded,
        "rows_rejected": batch.rows_rejected,
        "import_s": import_s,
        "import_and_ledger_s": total_s,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "cat1_kg": summary["scope_3_kg_by_category"].get("1"),
    }


def main() -> None:
    database_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/greenguild_bench_billing")
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        print(json.dumps(product_path(Path(sys.argv[2]))))
        return
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "cur.csv"
        cur_generate(path, ROWS)
        _database_fresh(database_url)
        floor_result = floor(path, database_url)
        _database_fresh(database_url)
        env = {
            **os.environ, "DATABASE_URL": database_url, "SECRET_KEY": "bench-" * 10, "MEDIA_ROOT": folder,
            "DJANGO_SETTINGS_MODULE": "frontend.settings", "CELERY_BROKER_URL": "", "LOG_LEVEL": "WARNING",
        }  # fmt: skip
        child = subprocess.run(  # noqa: S603
            [sys.executable, __file__, "--child", str(path)], cwd=ROOT, env=env, capture_output=True, text=True
        )
        if child.returncode != 0:
            sys.exit(child.stderr[-3000:])
        result = json.loads(child.stdout.strip().splitlines()[-1])
    report = {
        "rows": ROWS,
        "product": result,
        "floor": floor_result,
        "floor_ratio": floor_result["total_s"] / result["import_and_ledger_s"],
        "workers": 1,
    }
    print(json.dumps(report, indent=2))
    (ROOT / "bench" / "results").mkdir(exist_ok=True)
    (ROOT / "bench" / "results" / "billing_ingest.json").write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
