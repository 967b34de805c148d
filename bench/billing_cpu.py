"""CPU of one billing import in one process and one database session, no Celery: the seconds this Python process
and its PostgreSQL backend spend to store LINES lines of a dialect, median of RUNS runs (the line table
emptied before each).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/greenguild_bench_cpu .venv/bin/python bench/billing_cpu.py

BENCH_DIALECT (default ``gcp_billing``; the synthetic exports of bench/billing_ingest.py), BENCH_ROWS (default
300,000), BENCH_RUNS (default 3; one more runs first, not counted: it also loads code and fills caches). The
file is imported whole (one piece), as the tasks run it, here in this process. CPU seconds, not wall time:
this machine's speed drifts between runs by ±10 % (README), so a change worth a few per cent is compared on
these figures, not on billing_ingest.py's wall times. Drops and creates its database (the name must start
with greenguild_bench). Not part of the test run.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DIALECT = os.environ.get("BENCH_DIALECT", "gcp_billing")
ROWS = int(os.environ.get("BENCH_ROWS", "300000"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))


def _backend_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) the process ``pid`` spent so far."""
    from bench.billing_ingest import _processes

    return _processes()[pid][2]


def main() -> None:
    sys.path.insert(0, str(ROOT))
    from bench.billing_ingest import GENERATORS, _database_fresh

    database_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/greenguild_bench_cpu")
    _database_fresh(database_url)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{DIALECT}.csv"
        GENERATORS[DIALECT](path, ROWS)
        os.environ.update({
            "DATABASE_URL": database_url, "MEDIA_ROOT": folder, "DJANGO_SETTINGS_MODULE": "frontend.settings",
            "DEBUG": "1", "CELERY_BROKER_URL": "", "IMPORT_PIECE_BYTES": str(1 << 40), "LOG_LEVEL": "WARNING",
        })  # fmt: skip
        import django

        django.setup()
        from django.db import connection

        from bench.billing_ingest import _setup
        from emissions.models import CloudUsage, Organization
        from ingest.services import import_batch_create

        _setup()
        organization = Organization.objects.get(slug="bench")
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            backend = cursor.fetchone()[0]
        runs = []
        for _ in range(RUNS + 1):
            CloudUsage.objects.all().delete()
            with connection.cursor() as cursor:
                cursor.execute(f"VACUUM {CloudUsage._meta.db_table}")  # each run into an empty table
            postgres_start, python_start, started = _backend_cpu_s(backend), time.process_time(), time.perf_counter()
            with path.open("rb") as handle:  # stored, then processed here when it commits (no broker)
                batch = import_batch_create(
                    organization=organization, source=DIALECT, filename=path.name, stream=handle
                )
            batch.refresh_from_db()
            runs.append({
                "status": batch.status, "rows_loaded": batch.rows_loaded, "wall_s": time.perf_counter() - started,
                "cpu_postgres_s": _backend_cpu_s(backend) - postgres_start,
                "cpu_python_s": time.process_time() - python_start,
            })  # fmt: skip
            print(json.dumps(runs[-1]), flush=True)
    report = {
        "dialect": DIALECT, "rows": ROWS, "warm_up": runs[0], "runs": runs[1:],
        **{f"median_{key}": statistics.median(run[key] for run in runs[1:])
           for key in ("wall_s", "cpu_postgres_s", "cpu_python_s")},
    }  # fmt: skip
    print(json.dumps(report, indent=2))
    (ROOT / "bench" / "results").mkdir(exist_ok=True)
    (ROOT / "bench" / "results" / f"billing_cpu_{DIALECT}.json").write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
