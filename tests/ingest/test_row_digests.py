"""Row digests and kinds computed column-wise (ingest/parsers/billing_columns_core.py) equal the row path's:
``Row.digest`` per line whichever way a column is written (per distinct cell in Python, per group of lines, or
with Arrow's kernels), and kinds built once per file give the records that building them per block gives."""

import io
from unittest import mock

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.parsers import billing_columns_core as core
from ingest.parsers import focus
from ingest.parsers.billing_rows import Row, Schema
from tests.ingest.test_billing_columns import FIXTURES, _by_columns, _by_rows

# Cells a digest treats differently: blanks, NULL spellings, the separators and other characters Python strips
# but Arrow does not (0x1c-0x1f), text with and without outer blanks, non-ASCII.
_CELLS = st.sampled_from(["", " ", "NULL", "null", " Null ", "a", " a", "b\t", "\x1f", "x\x1ey", "\x1cz", "é", "1.50"])


def _digests_by_rows(columns: dict[str, list[str]], schema: Schema) -> list[str]:
    lines = len(next(iter(columns.values())))
    return [Row({name: cells[line] for name, cells in columns.items()}, schema).digest() for line in range(lines)]


@settings(max_examples=300, deadline=None)
@given(
    st.integers(1, 60).flatmap(
        lambda lines: st.lists(
            st.one_of(
                st.lists(_CELLS, min_size=lines, max_size=lines),  # few distinct cells
                st.lists(st.text(max_size=6), min_size=lines, max_size=lines),  # anything, mostly distinct
            ),
            min_size=1,
            max_size=6,
        )
    ),
    st.sampled_from([0, 3, 1024]),
)
def test_row_digests_equal_the_row_path_s_however_each_column_is_written(cells, python_distinct):
    # Names whose normalized forms collide (a_b, a-b) and sort apart from their columns' order.
    names = ["a_b", "A-B", "z", "c", "y y", "b"][: len(cells)]
    columns = dict(zip(names, cells, strict=True))
    schema = Schema(tuple(names), {})
    codes = core.ColumnCodes({name: pa.array(values, pa.string()) for name, values in columns.items()})
    with mock.patch.object(core, "_PYTHON_DISTINCT", python_distinct):
        found = core.row_digests(codes, schema)
    if found is None:
        # Only Arrow's kernels decline, and only for a character Python and Arrow trim differently.
        assert python_distinct < 1024 and any(
            any(mark in value for mark in "\x1c\x1d\x1e\x1f") for values in cells for value in values
        )
        return
    assert found == _digests_by_rows(columns, schema)


def test_lines_that_repeat_their_kind_columns_are_digested_per_group_and_equal_the_row_path():
    lines = 400
    columns = {
        "account": ["111", "222"] * (lines // 2),
        "hour": [f"2025-03-01T{line % 24:02d}" for line in range(lines)],
        "resource": [f"r-{line}" for line in range(lines)],
        "service": [" EC2 ", "NULL"] * (lines // 2),
    }
    schema = Schema(tuple(columns), {})
    codes = core.ColumnCodes({name: pa.array(values, pa.string()) for name, values in columns.items()})
    grouped, _, first_lines = core._grouped_columns(codes, sorted(columns), lines)
    assert grouped == {"account", "service"}  # the hours make too many combinations, the resource is its own
    assert len(first_lines) == 2
    assert core.row_digests(codes, schema) == _digests_by_rows(columns, schema)


def test_a_focus_export_s_kinds_are_built_once_per_file_with_the_records_of_building_them_per_block(monkeypatch):
    content = (FIXTURES / "focus.csv").read_bytes()
    header, *lines = content.splitlines(keepends=True)
    built = []

    def counted(*args):
        built.append(1)
        return Row(*args)

    monkeypatch.setattr("ingest.parsers.billing_columns.BLOCK_BYTES", 4096)  # several blocks
    monkeypatch.setattr(core, "Row", counted)  # each kind built (twice for one that may read its other quantity)
    _by_columns(header + b"".join(lines), focus)
    once = len(built)
    built.clear()
    repeated = header + b"".join(lines * 6)
    assert sum(1 for _ in focus.read_lines(io.BytesIO(repeated))) > 3
    built.clear()
    by_columns = _by_columns(repeated, focus)
    assert 0 < len(built) == once  # not again in each later block
    assert by_columns == _by_rows(repeated, focus)
