"""Small hostile files stay small: each is refused with a reason while the process stays under a ceiling.

The files are those of issue 18's review: a 9 KB zstd Parquet holding one 200 MB cell, a 200 KB ``.csv.gz``
that inflates to one 200 MB line, a 468-byte YAML "billion laughs" model card, a tracker CSV over the
whole-file bound, and a 100 MB upload through the HTTP API (streamed to disk, never held in memory).

Memory is measured, not assumed: the kernel's peak resident set (``VmHWM``) is reset through
``/proc/self/clear_refs`` before each import, so the figure is the import's own peak above the resident set
it started from. Hostile files are written by a child process (or in small blocks), so the test process
holds no freed memory the import could reuse unseen.
"""

from __future__ import annotations

import gc
import gzip
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest
import requests
from django.test import Client

from ingest.models import ImportBatch
from ingest.services import import_batch_create, import_batch_process
from tests.factories import MembershipFactory

CEILING_MIB = 300  # README Reliability: the documented ceiling above the resident set an import starts from
FIXTURES = Path(__file__).parent / "fixtures"
CELL_BYTES = 200 * 1024 * 1024


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(field)


@pytest.fixture
def peak_mib():
    """``measure(action)`` runs ``action`` and returns the resident-set peak it reached above its start, in MiB."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pytest.skip("this kernel does not let a process reset its peak resident set (/proc/self/clear_refs)")

    def measure(action) -> float:
        gc.collect()
        pa.default_memory_pool().release_unused()
        Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS
        start = _status_kib("VmRSS")
        action()
        peak = (_status_kib("VmHWM") - start) / 1024
        print(f"peak above start: {peak:.0f} MiB")  # the README's Reliability figures (pytest -s)
        return peak

    return measure


def _child(script: str, path: Path) -> Path:
    """Run ``script`` (which writes ``path``) in a child interpreter: its memory is not ours."""
    subprocess.run([sys.executable, "-c", script, str(path)], check=True, cwd=Path(__file__).parents[2])
    return path


def _import(organization, source: str, path: Path) -> ImportBatch:
    with path.open("rb") as handle:
        batch = import_batch_create(organization=organization, source=source, filename=path.name, stream=handle)
    return import_batch_process(batch=batch)


def _parquet_with_one_huge_cell(path: Path) -> Path:
    script = f"""
import sys, pyarrow as pa, pyarrow.csv as pa_csv, pyarrow.parquet as pq
table = pa_csv.read_csv({str(FIXTURES / "billing" / "aws_cur.csv")!r})
column = table.column_names.index("lineItem/LineItemDescription")
cells = table.column(column).to_pylist()
cells[0] = "x" * {CELL_BYTES}
table = table.set_column(column, "lineItem/LineItemDescription", pa.array(cells, pa.string()))
pq.write_table(table, sys.argv[1], compression="zstd", compression_level=19)
"""
    return _child(script, path)


def _gzip_of_one_line(path: Path, source_csv: Path) -> Path:
    """The header of ``source_csv``, then one line of 200 MB: written in 1 MB blocks."""
    header = source_csv.read_bytes().split(b"\n", 1)[0] + b"\n"
    block = b"x" * (1 << 20)
    with gzip.open(path, "wb", compresslevel=9) as out:
        out.write(header)
        for _ in range(CELL_BYTES // len(block)):
            out.write(block)
        out.write(b"\n")
    return path


@pytest.mark.django_db
def test_a_9_kb_parquet_with_a_200_mb_cell_is_refused_from_its_footer(org_a, media_root, tmp_path, peak_mib):
    path = _parquet_with_one_huge_cell(tmp_path / "cur.parquet")
    assert path.stat().st_size < 64 * 1024  # a few KB on the wire
    batches = []
    assert peak_mib(lambda: batches.append(_import(org_a, "aws_cur", path))) < CEILING_MIB
    [batch] = batches
    assert batch.status == ImportBatch.Status.FAILED
    assert "Parquet column 'lineItem/LineItemDescription' holds" in batch.error and "row group 0" in batch.error


@pytest.mark.parametrize(
    ("source", "fixture"),
    [("aws_cur", "aws_cur.csv"), ("gcp_billing", "gcp_billing.csv"), ("focus", "focus_1_0.csv")],
)
@pytest.mark.django_db
def test_a_gzip_of_one_200_mb_line_is_refused_early(source, fixture, org_a, media_root, tmp_path, peak_mib):
    path = _gzip_of_one_line(tmp_path / "one-line.csv.gz", FIXTURES / "billing" / fixture)
    assert path.stat().st_size < 400 * 1024
    batches = []
    assert peak_mib(lambda: batches.append(_import(org_a, source, path))) < CEILING_MIB
    [batch] = batches
    assert batch.status == ImportBatch.Status.FAILED
    assert "a record longer than 4,194,304 bytes" in batch.error


@pytest.mark.django_db
def test_a_yaml_alias_bomb_in_a_model_card_is_refused(org_a, media_root, tmp_path, peak_mib):
    levels = [f'l{n}: &l{n} [*l{n - 1},*l{n - 1},*l{n - 1},*l{n - 1},*l{n - 1},*l{n - 1},*l{n - 1},*l{n - 1},*l{n - 1}]'
              for n in range(1, 9)]  # fmt: skip
    card = "---\nl0: &l0 [lol]\n" + "\n".join(levels) + "\nco2_eq_emissions: 10\n---\n# a card\n"
    path = tmp_path / "README.md"
    path.write_text(card)
    assert path.stat().st_size < 1024  # the 9^8 = 43 million-item expansion fits in a few hundred bytes
    batches = []
    assert peak_mib(lambda: batches.append(_import(org_a, "hf_model_card", path))) < CEILING_MIB
    [batch] = batches
    assert batch.status == ImportBatch.Status.FAILED
    assert "YAML aliases (*name) are not accepted" in batch.error


@pytest.mark.django_db
def test_a_tracker_file_over_the_whole_file_bound_is_refused_unread(org_a, media_root, tmp_path, peak_mib):
    header = b"timestamp,project_name,run_id,duration,emissions,energy_consumed\n"
    path = tmp_path / "emissions.csv"
    with path.open("wb") as out:
        out.write(header)
        for _ in range(70):
            out.write(b"2026-01-01T00:00:00,p,r,1,0.1,0.2\n" * 30_000)  # about 1 MB
    batches = []
    assert peak_mib(lambda: batches.append(_import(org_a, "codecarbon_csv", path))) < CEILING_MIB
    [batch] = batches
    assert batch.status == ImportBatch.Status.FAILED
    assert "codecarbon_csv files are read whole and the limit is 67,108,864 bytes" in batch.error


@pytest.mark.django_db(transaction=True)
def test_a_100_mb_upload_is_streamed_to_disk(live_server, org_a, media_root, tmp_path, peak_mib):
    """Through the HTTP API as a real client sends it; the whole-file bound then refuses it without reading."""
    membership = MembershipFactory(organization=org_a, role="org_admin")
    signed_in = Client()
    signed_in.force_login(membership.user)
    session = f"sessionid={signed_in.cookies['sessionid'].value}"
    page = requests.get(f"{live_server.url}/imports/", headers={"Cookie": session}, timeout=30)
    assert page.status_code == 200
    csrf = page.cookies["csrftoken"]
    body = tmp_path / "body"
    boundary = "greenguildboundary"
    with body.open("wb") as out:
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="source"\r\n\r\ncodecarbon_csv\r\n'.encode())
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n'.encode())
        out.write(b"Content-Type: text/csv\r\n\r\ntimestamp,project_name\r\n")
        for _ in range(100):
            out.write((b"2026-01-01T00:00:00,p\n" * 47_662)[: 1 << 20])
        out.write(f"\r\n--{boundary}--\r\n".encode())
    responses = []

    def upload():
        with body.open("rb") as handle:
            headers = {
                "Content-Type": f"multipart/form-data; boundary={boundary}",
                "Cookie": f"{session}; csrftoken={csrf}",
                "X-CSRFToken": csrf,
            }
            responses.append(
                requests.post(f"{live_server.url}/api/v1/imports/", data=handle, headers=headers, timeout=120)
            )

    assert peak_mib(upload) < CEILING_MIB / 3  # the client's blocks and Django's, not the file
    [response] = responses
    assert response.status_code == 202, response.text
    batch = ImportBatch.objects.get(pk=response.json()["id"])
    assert batch.size_bytes > 100 * 10**6
    assert batch.status == ImportBatch.Status.FAILED and "read whole" in batch.error
