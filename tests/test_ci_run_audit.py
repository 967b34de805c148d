"""`.ci/run`'s handling of `make audit`: a vulnerability or a broken audit fails CI; "no usable advisory data"
(exit 3) lets the tests run and ends CI with a loud warning (README, quality table, "Dependencies")."""

import subprocess
from pathlib import Path

import pytest

RUN = Path(__file__).resolve().parent.parent / ".ci" / "run"


def _audit_block(audit_rc: int) -> subprocess.CompletedProcess:
    script = RUN.read_text()
    block = script[script.index("audit_status=0") :]
    # Stand-ins: the audit answers with the given status, `make test` just says it ran.
    fake = f'dependency_audit() {{ return {audit_rc}; }}\nmake() {{ echo "make $1 ran"; }}\n'
    return subprocess.run(["bash", "-euo", "pipefail", "-c", fake + block], capture_output=True, text=True)


@pytest.mark.parametrize(
    ("audit_rc", "ci_rc", "tests_ran", "warned"),
    [
        (0, 0, True, False),  # audited, nothing found
        (3, 0, True, True),  # no usable advisory data: tests run, CI warns
        (1, 1, False, False),  # a known vulnerability fails CI before the tests
        (2, 2, False, False),  # a broken audit fails CI
    ],
)
def test_ci_fails_on_findings_and_warns_when_the_audit_could_not_be_done(audit_rc, ci_rc, tests_ran, warned):
    done = _audit_block(audit_rc)
    assert done.returncode == ci_rc
    assert ("make test ran" in done.stdout) is tests_ran
    assert ("dependency audit NOT DONE" in done.stderr) is warned


def test_ci_runs_the_audit_script_itself_so_its_exit_status_survives():
    # `make audit` would turn the script's 3 into make's own 2 (the first CI run with this rule failed so).
    assert "dependency_audit() { .venv/bin/python .ci/audit.py; }" in RUN.read_text()
