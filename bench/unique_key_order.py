"""Benchmark of the billing line table's unique key column order on PostgreSQL, alone: 1,000,000 lines COPYed in
23 pieces (one transaction each, each sorted in its index's order, as import pieces are) into a table with a
primary key and a unique key on (organization, month, provider, line key) or (organization, month, line key,
provider); the two alternate, BENCH_REPEATS times (default 4). The line keys are random 16-byte UUIDs, as the
digests of line ids are; a 400-character filler stands for the rest of a line.

    BENCH_DATABASE=gg_unique_key_order .venv/bin/python bench/unique_key_order.py

The database (its name must start with ``gg_unique``) is dropped and created again. Not part of the test run.
"""

from __future__ import annotations

import os
import random
import time
import uuid

import psycopg

SERVER = os.environ.get("BENCH_SERVER", "postgres://postgres@127.0.0.1:5432")
DATABASE = os.environ.get("BENCH_DATABASE", "gg_unique_key_order")
REPEATS = int(os.environ.get("BENCH_REPEATS", "4"))
LINES, PIECES = 1_000_000, 23
ORDERS = {
    "provider before key": ("organization_id, billing_period, provider, line_key", lambda line: (line[0], line[1])),
    "key before provider": ("organization_id, billing_period, line_key, provider", lambda line: (line[1], line[0])),
}


def pieces(sort_key) -> list[bytes]:
    """The lines as COPY text, cut into PIECES pieces, each sorted by ``sort_key`` of (provider, key bytes)."""
    rng = random.Random(1)  # noqa: S311 -- test data, not a secret
    lines = [(("aws", "azure", "gcp")[i % 3], uuid.UUID(int=rng.getrandbits(128))) for i in range(LINES)]
    filler = "x" * 400
    return [
        "".join(
            f"1\t2025-03-01\t{provider}\t{key}\t{filler}\n"
            for provider, key in sorted(lines[at::PIECES], key=lambda line: sort_key((line[0], line[1].bytes)))
        ).encode()
        for at in range(PIECES)
    ]


def copy_seconds(columns: str, texts: list[bytes]) -> float:
    """Seconds to COPY every piece into a fresh table whose unique key has ``columns``."""
    with psycopg.connect(f"{SERVER}/{DATABASE}", autocommit=True) as connection:
        connection.execute("DROP TABLE IF EXISTS line")
        connection.execute(
            "CREATE TABLE line (id bigserial PRIMARY KEY, organization_id integer NOT NULL, billing_period date NOT "
            "NULL, provider varchar(10) NOT NULL, line_key uuid NOT NULL, rest text)"
        )
        connection.execute(f"CREATE UNIQUE INDEX line_unique ON line ({columns})")
        os.sync()  # nothing of the set-up left to write back during the timed COPYs
        started = time.perf_counter()
        for text in texts:
            with (
                connection.transaction(),
                connection.cursor().copy(
                    "COPY line (organization_id, billing_period, provider, line_key, rest) FROM STDIN"
                ) as copy,
            ):
                copy.write(text)
        return time.perf_counter() - started


def main() -> None:
    if not DATABASE.startswith("gg_unique"):
        raise SystemExit("the benchmark drops its database: use a name starting with gg_unique")
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{DATABASE}"')
    texts = {name: pieces(sort_key) for name, (_, sort_key) in ORDERS.items()}
    seconds: dict[str, list[float]] = {name: [] for name in ORDERS}
    for _ in range(REPEATS):
        for name, (columns, _) in ORDERS.items():
            seconds[name].append(copy_seconds(columns, texts[name]))
            print(f"{name}: {seconds[name][-1]:.2f} s", flush=True)
    for name, runs in seconds.items():
        print(f"{name}: {', '.join(f'{run:.2f}' for run in runs)} s (mean {sum(runs) / len(runs):.2f} s)")


if __name__ == "__main__":
    main()
