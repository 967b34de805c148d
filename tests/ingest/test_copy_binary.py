"""The binary COPY writer (ingest/copy_binary.py) stores what a CSV COPY of the same values stores.

Each column is written twice into PostgreSQL: once in binary, once as the CSV text Arrow writes for the same
values (what the columnar path sent before). The stored rows must be equal, value by value; a few values
are also checked against their expected text by hand.
"""

from __future__ import annotations

import io
import random
from datetime import UTC, date, datetime, timedelta, timezone

import pyarrow as pa
import pyarrow.csv as pa_csv
import pytest
from django.db import connection, transaction

from ingest.copy_binary import copy_binary

COLUMNS = [  # (column, PostgreSQL type)
    ("n", "bigint"),
    ("i", "integer"),
    ("f", "double precision"),
    ("b", "boolean"),
    ("d", "date"),
    ("t", "timestamp with time zone"),
    ("u", "uuid"),
    ("j", "jsonb"),
    ("c", "numeric(22, 10)"),
    ("s", "varchar(500)"),
]


def _costs(count: int) -> list[float | None]:
    """Costs of every shape: rounded to ten decimals as stored lines are, and not; ties at the eleventh
    decimal; negative, zero and negative zero; large; NaN; NULL."""
    generator = random.Random(14)
    costs: list[float | None] = [
        0.0, -0.0, 1e-10, -1e-10, 5e-11, -5e-11, 1.5e-10, 2.5e-10, 0.1, 0.3, 1 / 3, -2 / 3, 99999.9999999999,
        100000.0, 123456.12345678905, -987654321.0123456789, 99999999999.25, 1e-5, 7e-12, float("nan"),
        None, 0.12345678905, 12345.00000000005,
    ]  # fmt: skip
    while len(costs) < count:
        value = generator.uniform(-1, 1) * 10 ** generator.randint(-12, 11)
        costs.append(round(value, 10) if generator.random() < 0.5 else value)
    return costs[:count]


def _columns(count: int) -> dict[str, pa.Array]:
    """Typed arrays for the binary writer, with a NULL in each nullable column."""
    generator = random.Random(6)
    start = datetime(2025, 3, 1, tzinfo=UTC)
    times = [start + timedelta(seconds=generator.randint(0, 90 * 86400), microseconds=generator.randint(0, 999999))
             for _ in range(count)]  # fmt: skip
    times[1] = datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=-5)))
    texts = [generator.choice(["", "a", "ünïcödé ✓", 'quote " and, comma', "line\nbreak", "x" * 500])
             for _ in range(count)]  # fmt: skip
    return {
        "n": pa.array([generator.randint(-(2**63), 2**63 - 1) for _ in range(count)], pa.int64()),
        "i": pa.array([None if i == 3 else generator.randint(0, 2**31 - 1) for i in range(count)], pa.int64()),
        "f": pa.array(
            [
                None if i == 4 else generator.uniform(-1e300, 1e300) / 10 ** generator.randint(0, 300)
                for i in range(count)
            ],
            pa.float64(),
        ),
        "b": pa.array([None if i == 5 else generator.random() < 0.5 for i in range(count)], pa.bool_()),
        "d": pa.array([date(1970, 1, 1) + timedelta(days=generator.randint(0, 40000)) for _ in range(count)]),
        "t": pa.array(times, pa.timestamp("us", "UTC")),
        "u": pa.array([None if i == 6 else generator.randbytes(16) for i in range(count)], pa.binary(16)),
        "j": pa.array(
            [None if i == 7 else f'{{"team": "{generator.randint(0, 9)}", "ü": [1, 2.5]}}' for i in range(count)]
        ),
        "c": pa.array(_costs(count), pa.float64()),
        "s": pa.array([None if i == 8 else text for i, text in enumerate(texts)], pa.string()),
    }


def _as_csv_text(columns: dict[str, pa.Array]) -> bytes:
    """The same values as headerless CSV (uuid as hex, timestamps in ISO 8601), as the text path wrote."""
    text = dict(columns)
    text["u"] = pa.array([None if value is None else value.hex() for value in columns["u"].to_pylist()])
    text["t"] = pa.array([value.isoformat() for value in columns["t"].to_pylist()])
    buffer = io.BytesIO()
    pa_csv.write_csv(pa.table(text), buffer, pa_csv.WriteOptions(include_header=False))
    return buffer.getvalue()


def _stored(table: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(f'{name}::text' for name, _ in COLUMNS)} FROM {table} ORDER BY k")  # noqa: S608
        return cursor.fetchall()


@pytest.mark.django_db
def test_binary_copy_stores_what_the_csv_copy_of_the_same_values_stores():
    if connection.vendor != "postgresql":
        pytest.skip("binary COPY is PostgreSQL's")
    count = 3000
    columns = _columns(count)
    keyed = {"k": pa.array(range(count), pa.int64()), **columns}
    definition = ", ".join(["k bigint"] + [f"{name} {pg_type}" for name, pg_type in COLUMNS])
    with connection.cursor() as cursor:
        for table in ("copied_binary", "copied_csv"):
            cursor.execute(f"CREATE TEMP TABLE {table} ({definition})")
        names = ", ".join(keyed)
        payload = copy_binary([(keyed["k"], "bigint")] + [(columns[name], pg_type) for name, pg_type in COLUMNS])
        with cursor.cursor.copy(f"COPY copied_binary ({names}) FROM STDIN WITH (FORMAT binary)") as copy:
            copy.write(payload)
        with cursor.cursor.copy(f"COPY copied_csv ({names}) FROM STDIN WITH (FORMAT csv)") as copy:
            copy.write(_as_csv_text(keyed))
    binary, text = _stored("copied_binary"), _stored("copied_csv")
    assert len(binary) == len(text) == count
    for row, (left, right) in enumerate(zip(binary, text, strict=True)):
        assert left == right, (row, left, right)
    by_hand = [row[8] for row in binary[:23]]  # the costs listed first in _costs, as PostgreSQL prints them
    assert by_hand == [
        "0.0000000000", "0.0000000000", "0.0000000001", "-0.0000000001", "0.0000000001", "-0.0000000001",
        "0.0000000002", "0.0000000003", "0.1000000000", "0.3000000000", "0.3333333333", "-0.6666666667",
        "99999.9999999999", "100000.0000000000", "123456.1234567891", "-987654321.0123457000",
        "99999999999.2500000000", "0.0000100000", "0.0000000000", "NaN", None, "0.1234567891",
        "12345.0000000001",
    ]  # fmt: skip
    assert binary[1][5] == "2000-01-01 04:59:59.999999+00"  # a time before PostgreSQL's epoch, given at -05:00
    assert [binary[i][k] for i, k in ((3, 1), (4, 2), (5, 3), (6, 6), (7, 7), (8, 9))] == [None] * 6


@pytest.mark.django_db
def test_a_cost_past_the_columns_precision_is_refused_in_binary_as_in_text():
    import psycopg

    if connection.vendor != "postgresql":
        pytest.skip("binary COPY is PostgreSQL's")
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE too_large (c numeric(22, 10))")
        for value in (1e12, -3e15, float("inf")):
            payload = copy_binary([(pa.array([value]), "numeric(22, 10)")])
            with (
                pytest.raises(psycopg.errors.DataError),
                transaction.atomic(),
                cursor.cursor.copy("COPY too_large FROM STDIN WITH (FORMAT binary)") as copy,
            ):
                copy.write(payload)


def test_an_empty_column_list_writes_an_empty_payload():
    assert copy_binary([(pa.array([], pa.int64()), "bigint")]) == b"PGCOPY\n\xff\r\n\x00" + bytes(8) + b"\xff\xff"


def test_an_unknown_type_or_scale_is_refused():
    with pytest.raises(ValueError, match="interval"):
        copy_binary([(pa.array([1]), "interval")])
    with pytest.raises(ValueError, match="10 decimals"):
        copy_binary([(pa.array([1.0]), "numeric(12, 2)")])
    with pytest.raises(ValueError, match="range of a PostgreSQL integer: 2147483648"):
        copy_binary([(pa.array([None, 7, 2**31]), "integer")])
    assert copy_binary([(pa.array([None, None], pa.int64()), "integer")]).count(b"\xff\xff\xff\xff") == 2
