"""Cutting CSV, JSON lines and Parquet exports into pieces: record boundaries, row numbers, nothing lost or doubled."""

import io
import itertools
import json
from dataclasses import replace
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.parsers.billing_read import iter_raw_chunks
from ingest.pieces import (
    _block_marks,
    csv_pieces,
    file_kind,
    jsonl_pieces,
    parquet_pieces,
    piece_bytes_read,
    piece_size,
)


def _rows(data: bytes, **piece) -> list[tuple[int, dict]]:
    return [row for _, rows in iter_raw_chunks(io.BytesIO(data), chunk_rows=7, **piece) for row in rows]


def _split_rows(data: bytes, piece_bytes: int) -> list[tuple[int, dict]]:
    handle = io.BytesIO(data)
    rows = []
    for piece in csv_pieces(handle, piece_bytes=piece_bytes):
        rows += _rows(piece_bytes_read(handle, piece).getvalue(), first_row=piece.first_row)
    return rows


def test_pieces_cover_the_file_and_keep_row_numbers():
    lines = [f"l{i},{i},x" for i in range(50)]
    lines[10] = ""  # a blank line still counts as a line
    data = ("id,n,t\n" + "\n".join(lines) + "\n").encode()
    pieces = csv_pieces(io.BytesIO(data), piece_bytes=40)
    assert len(pieces) > 5
    assert pieces[0].start == pieces[0].header_end == len(b"id,n,t\n")
    assert all(a.end == b.start for a, b in itertools.pairwise(pieces)) and pieces[-1].end == len(data)
    assert _split_rows(data, 40) == _rows(data)
    assert _rows(data)[-1][0] == 51  # header is row 1, so the 50th line is row 51


def test_a_quoted_newline_is_never_a_cut():
    data = b'id,note\n1,"a\nb"\n2,"x ""quoted"" y"\n3,"c\n\nd"\n4,e\n'
    for piece_bytes in range(1, 20):
        pieces = csv_pieces(io.BytesIO(data), piece_bytes=piece_bytes)
        for piece in pieces:
            assert data[: piece.end].count(b'"') % 2 == 0
        assert [cells for _, cells in _split_rows(data, piece_bytes)] == [cells for _, cells in _rows(data)]


def test_last_line_without_newline_and_single_piece():
    data = b"id,n\n1,2\n3,4"
    assert _split_rows(data, 1) == _rows(data)
    assert len(csv_pieces(io.BytesIO(data), piece_bytes=10_000)) == 1


_CELL = st.text(alphabet=st.sampled_from('ab,"\n x'), max_size=6)


@settings(max_examples=150, deadline=None)
@given(rows=st.lists(st.tuples(_CELL, _CELL), min_size=1, max_size=30), piece_bytes=st.integers(1, 80))
def test_split_reads_the_same_records_as_the_whole_file(rows, piece_bytes):
    import csv

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["a", "b"])
    writer.writerows(rows)
    data = buffer.getvalue().encode()
    whole = [cells for _, cells in _rows(data)]
    assert [cells for _, cells in _split_rows(data, piece_bytes)] == whole


@settings(max_examples=150, deadline=None)
@given(
    rows=st.lists(st.tuples(_CELL, _CELL), min_size=1, max_size=30),
    piece_bytes=st.integers(1, 80),
    block_bytes=st.integers(1, 16),
    scan_threads=st.integers(1, 3),
)
def test_quotes_and_lines_are_counted_across_the_scan_s_blocks(rows, piece_bytes, block_bytes, scan_threads):
    # The scan reads the file in blocks (8 MiB in production): quotes and line breaks counted in one block carry
    # over to the next, so pieces and their row numbers do not depend on where blocks end, nor on how many
    # blocks the scan's threads work on at once.
    import csv
    from unittest import mock

    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows([["a", "b"], *rows])
    data = buffer.getvalue().encode()
    whole = _rows(data)
    with mock.patch("ingest.pieces._BLOCK_BYTES", block_bytes), mock.patch("ingest.pieces._SCAN_THREADS", scan_threads):
        assert _split_rows(data, piece_bytes) == whole
        pieces = csv_pieces(io.BytesIO(data), piece_bytes=piece_bytes)
    assert {piece.longest_record for piece in pieces} <= {_longest_record_by_hand(data)}


def _longest_record_by_hand(data: bytes) -> int:
    """The bytes of the longest CSV record (its line break included), walking the file byte by byte."""
    longest = start = 0
    inside = False
    for at, byte in enumerate(data):
        if byte == ord('"'):
            inside = not inside
        elif byte == ord("\n") and not inside:
            longest, start = max(longest, at + 1 - start), at + 1
    return max(longest, len(data) - start)


def test_a_piece_is_read_in_place_only_when_every_record_was_measured_within_the_bound(monkeypatch):
    from ingest.parsers.input_limits import BoundedRecords

    data = b"a,b\n" + b'1,"two\nlines"\n' * 50 + b"3," + b"x" * 40 + b"\n"
    pieces = csv_pieces(io.BytesIO(data), piece_bytes=100)
    assert len(pieces) > 2
    assert {piece.longest_record for piece in pieces} == {43}
    assert all(isinstance(piece_bytes_read(io.BytesIO(data), piece), BoundedRecords) for piece in pieces)
    monkeypatch.setattr("ingest.pieces.MAX_RECORD_BYTES", 42)  # one record over: every piece goes through the bound
    read = [piece_bytes_read(io.BytesIO(data), piece) for piece in pieces]
    assert not any(isinstance(piece, BoundedRecords) for piece in read)
    assert b"".join(piece.getvalue()[4:] for piece in read) == data[4:]
    unmeasured = [replace(piece, longest_record=None) for piece in pieces]  # split by an earlier version
    assert not any(isinstance(piece_bytes_read(io.BytesIO(data), piece), BoundedRecords) for piece in unmeasured)


def test_json_lines_pieces_carry_the_longest_line():
    lines = [b'{"a": 1}\n', b'{"a": "' + b"x" * 30 + b'"}\n', b"\n", b'{"a": 2}']
    pieces = jsonl_pieces(io.BytesIO(b"".join(lines * 5)), piece_bytes=40)
    assert len(pieces) > 2
    assert {piece.longest_record for piece in pieces} == {len(lines[1])}


def test_parquet_pieces_are_runs_of_row_groups():
    table = pa.table({"id": [f"r{i}" for i in range(100)], "n": list(range(100))})
    buffer = io.BytesIO()
    pq.write_table(table, buffer, row_group_size=15)
    data = buffer.getvalue()
    assert file_kind(io.BytesIO(data)) == "parquet"
    pieces = parquet_pieces(io.BytesIO(data), piece_rows=40)
    assert [piece.row_groups for piece in pieces] == [(0, 1, 2), (3, 4, 5), (6,)]
    assert [piece.first_row for piece in pieces] == [2, 47, 92]
    split = []
    for piece in pieces:
        split += _rows(data, first_row=piece.first_row, row_groups=piece.row_groups)
    assert split == _rows(data)


def _jsonl_rows(data: bytes, **piece) -> list[tuple[int, dict]]:
    chunks = iter_raw_chunks(io.BytesIO(data), chunk_rows=7, allow_jsonl=True, **piece)
    return [row for _, rows in chunks for row in rows]


def _jsonl_split_rows(data: bytes, piece_bytes: int) -> list[tuple[int, dict]]:
    handle = io.BytesIO(data)
    rows = []
    for piece in jsonl_pieces(handle, piece_bytes=piece_bytes):
        assert piece.header_end == 0
        rows += _jsonl_rows(piece_bytes_read(handle, piece).getvalue(), first_row=piece.first_row)
    return rows


def test_json_lines_pieces_keep_the_whole_file_s_rows_and_numbers():
    """Blank lines (also Unicode blanks) are skipped and not numbered, a BOM opens the file, the last line may
    lack its newline, an invalid line is a row: the pieces number every record as the whole file does."""
    lines = [json.dumps({"id": i, "note": "a\\nb \u00e9"}) for i in range(40)]
    lines[5], lines[12], lines[20] = "", "   \u00a0 ", "{not json"
    data = ("\ufeff" + "\n".join(lines)).encode()
    whole = _jsonl_rows(data)
    assert len(whole) == 38 and whole[-1][0] == 39
    for piece_bytes in (1, 17, 100, 10_000):
        pieces = jsonl_pieces(io.BytesIO(data), piece_bytes=piece_bytes)
        assert all(a.end == b.start for a, b in itertools.pairwise(pieces)) and pieces[-1].end == len(data)
        assert all(data[piece.start : piece.start + 1] in (b"{", b"\xef") for piece in pieces)
        assert _jsonl_split_rows(data, piece_bytes) == whole
    assert file_kind(io.BytesIO(data)) == "jsonl"


@settings(max_examples=100, deadline=None)
@given(
    records=st.lists(st.one_of(st.dictionaries(st.sampled_from("abc"), st.text(max_size=5)), st.just(None))),
    piece_bytes=st.integers(1, 120),
)
def test_json_lines_split_anywhere_read_the_same_records(records, piece_bytes):
    lines = ["  \n" if record is None else json.dumps(record) + "\n" for record in records]
    data = ("{}\n" + "".join(lines)).encode()  # an export opens with a record (the reader sniffs 4 bytes)
    assert _jsonl_split_rows(data, piece_bytes) == _jsonl_rows(data)


def test_the_last_pieces_are_shorter_so_no_worker_runs_long_alone():
    # 2,000 records of 100 bytes after a 2-byte header, pieces of 20,000 bytes. A piece ends after the first line
    # break at or past its size (20,000 -> 20,100). Full pieces while 40,000 bytes or more remain (8), then a
    # third of what remains (39,200 -> 13,066 -> 13,100; 26,100 -> 8,800; 17,300 -> 5,800), at least a
    # quarter piece (5,000 -> 5,100), and the rest.
    data = b"a\n" + (b"x" * 99 + b"\n") * 2000
    sizes = [piece.end - piece.start for piece in csv_pieces(io.BytesIO(data), piece_bytes=20_000)]
    assert sizes == [20_100] * 8 + [13_100, 8_800, 5_800, 5_100, 5_100, 1_300]
    # JSON lines of 14 bytes, pieces of 2,800: 4 full, then 2,800 // 3 = 933 -> 938, then 700 twice, the rest.
    json_lines = b'{"a": 100000}\n' * 1000
    sizes = [piece.end - piece.start for piece in jsonl_pieces(io.BytesIO(json_lines), piece_bytes=2_800)]
    assert sizes == [2_800] * 4 + [938, 700, 700, 462]


@settings(max_examples=300, deadline=None)
@given(block=st.binary(max_size=40).map(lambda raw: bytes(b'"\nx'[byte % 3] for byte in raw)))
def test_a_scan_block_s_marks_are_counted_by_hand(block):
    # Quotes and line breaks in any arrangement: none, only one kind, line breaks back to back, quotes after
    # the last line break (not before any of them).
    length, quote_count, newline_at, odd = _block_marks(block)
    by_hand = [at for at, byte in enumerate(block) if byte == ord("\n")]
    assert (length, quote_count, newline_at.tolist()) == (len(block), block.count(b'"'), by_hand)
    assert odd.tolist() == [block[:at].count(b'"') % 2 == 1 for at in by_hand]


def _jsonl_pieces_line_by_line(data: bytes, piece_bytes: int) -> list:
    """``jsonl_pieces`` as it was written before the scan went by blocks: one line at a time, in Python."""
    pieces, start, offset, records, longest = [], 0, 0, 0, 0
    first_row, due, wanted = 2, False, piece_size(len(data), piece_bytes)
    for line in io.BytesIO(data):
        longest = max(longest, len(line))
        if due and line[:1] == b"{":
            pieces.append((first_row, start, offset))
            start, first_row, due = offset, 2 + records, False
            wanted = piece_size(len(data) - start, piece_bytes)
        text = "{" if line[:1] == b"{" else line.decode("utf-8", "replace")
        records += bool((text.removeprefix("\ufeff") if offset == 0 else text).strip())
        offset += len(line)
        due = due or offset - start >= wanted
    if offset > start:
        pieces.append((first_row, start, offset))
    return [(*piece, longest) for piece in pieces]


_JSON_LINE = st.sampled_from(['{"a": 1}', '{"a": "xxxxxxxxxxxx"}', "", "  ", "\u00a0", "{", "x", "\ufeff{}", "é"])


@settings(max_examples=300, deadline=None)
@given(
    lines=st.lists(_JSON_LINE, min_size=1, max_size=25),
    ends_with_newline=st.booleans(),
    piece_bytes=st.integers(1, 90),
    block_bytes=st.integers(1, 12),
)
def test_json_lines_pieces_are_cut_as_line_by_line(lines, ends_with_newline, piece_bytes, block_bytes):
    # Blocks as small as a byte: a line (an object, a blank, a BOM) that runs over several blocks is cut, numbered
    # and measured as reading line by line did.
    from unittest import mock

    data = ("\n".join(lines) + ("\n" if ends_with_newline else "")).encode()
    with mock.patch("ingest.pieces._BLOCK_BYTES", block_bytes):
        pieces = jsonl_pieces(io.BytesIO(data), piece_bytes=piece_bytes)
    found = [(piece.first_row, piece.start, piece.end, piece.longest_record) for piece in pieces]
    assert found == _jsonl_pieces_line_by_line(data, piece_bytes)


PUBLIC = sorted((Path(__file__).parent / "fixtures" / "billing" / "public").glob("*/*.csv"))


@pytest.mark.parametrize("path", PUBLIC, ids=[path.name for path in PUBLIC])
def test_public_exports_cut_anywhere_read_the_same_records(path):
    # Real exports (tests/ingest/fixtures/billing/public/PROVENANCE.csv): their quoting, tags written as JSON in a
    # cell, BOMs and CRLF line ends, cut into small pieces and scanned in blocks of 13 bytes.
    from unittest import mock

    data = path.read_bytes()
    with mock.patch("ingest.pieces._BLOCK_BYTES", 13):
        for piece_bytes in (97, 1024):
            assert _split_rows(data, piece_bytes) == _rows(data)
        pieces = csv_pieces(io.BytesIO(data), piece_bytes=97)
    assert {piece.longest_record for piece in pieces} == {_longest_record_by_hand(data)}
