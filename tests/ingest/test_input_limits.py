"""The record, cell and Parquet bounds of ingest/parsers/input_limits.py, on small hand-made inputs."""

import io

import pyarrow as pa
import pytest

from ingest.parsers.input_limits import RecordLimiter, cells_check
from ingest.records import ParseError


def _read(data: bytes, limit: int, *, quoted: bool = True, block: int = 7) -> bytes:
    """All of ``data`` through a RecordLimiter, in blocks of ``block`` bytes (records straddle them)."""
    reader, buffer, out = RecordLimiter(io.BytesIO(data), limit, quoted=quoted), bytearray(block), b""
    while count := reader.readinto(buffer):
        out += bytes(buffer[:count])
    return out


def test_short_records_pass_unchanged():
    data = b'a,b\n1,"x ""quoted"" y"\n' * 50
    assert _read(data, 30) == data


def test_a_long_line_is_refused_with_its_offset():
    with pytest.raises(ParseError, match=r"longer than 40 bytes within the first 49 bytes"):
        _read(b"a,b\n" + b"x" * 50 + b"\n", 40)


@pytest.mark.parametrize("block", [1, 3, 7, 64, 4096])
def test_line_breaks_inside_quotes_do_not_end_a_record(block):
    record = b'1,"' + b"line\n" * 10 + b'"\n'  # 55 bytes, 11 line breaks
    assert _read(b"h\n" + record, 60, block=block)
    with pytest.raises(ParseError):
        _read(b"h\n" + record, 50, block=block)


def test_doubled_quotes_keep_the_cell_open():
    record = b'1,"a""\n""b"\n'  # one record: the line break is inside the quoted cell
    with pytest.raises(ParseError):
        _read(record * 3, 8)
    assert _read(record * 3, 12)


def test_json_lines_end_at_every_line_break():
    line = b'{"a": "\\"x"}\n'  # an escaped quote: odd quote count, still one line
    assert _read(line * 20, len(line), quoted=False)
    with pytest.raises(ParseError):
        _read(line * 20, len(line), quoted=True)  # quote counting would join the lines: the wrong mode


def test_a_long_cell_is_refused_before_python_sees_it():
    small = pa.record_batch({"a": ["x", "y"], "tags": pa.array([[("k", "v")]] * 2, pa.map_(pa.string(), pa.string()))})
    cells_check(small)
    large = pa.record_batch({"tags": pa.array([[("k", "v" * 5_000_000)]], pa.map_(pa.string(), pa.string()))})
    with pytest.raises(ParseError, match="column 'tags' has a cell of 5,000,000 bytes"):
        cells_check(large)
