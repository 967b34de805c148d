"""The columnar parse of a billing export alone, in one process, no database: seconds for ``read_lines``.

    .venv/bin/python bench/billing_parse.py [LINES] [FORMAT]

LINES (default 100,000) of the bench's synthetic Google Cloud export (bench/billing_ingest.py), FORMAT
``jsonl`` (default, the BigQuery JSON lines) or ``csv``; the file is generated once under the system's temp
folder. Prints the lines read column-wise, the row items (blocks read row by row) and the seconds.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "frontend.settings")
os.environ.setdefault("DEBUG", "1")


def main() -> None:
    import django

    django.setup()
    from bench.billing_ingest import GENERATORS, jsonl_write
    from ingest.parsers.billing_columns import read_lines
    from ingest.parsers.gcp_billing import DIALECT

    lines_wanted = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    file_format = sys.argv[2] if len(sys.argv) > 2 else "jsonl"
    folder = Path(tempfile.gettempdir())
    csv_path = folder / f"greenguild_bench_gcp_{lines_wanted}.csv"
    path = csv_path.with_suffix(".jsonl") if file_format == "jsonl" else csv_path
    if not csv_path.exists():
        GENERATORS["gcp_billing"](csv_path, lines_wanted)
    if not path.exists():
        jsonl_write(csv_path, path)
    started = time.perf_counter()
    lines = rows = 0
    with path.open("rb") as stream:
        for chunk in read_lines(DIALECT, DIALECT.line_fields, stream):
            if isinstance(chunk, list):
                rows += len(chunk)
            else:
                lines += len(chunk)
    print(f"{lines} lines column-wise, {rows} row items, {time.perf_counter() - started:.2f} s")


if __name__ == "__main__":
    main()
