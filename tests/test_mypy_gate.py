"""The type-check gate of `make lint` (.ci/mypy_check.py): it fails on an error that is not in the baseline, on a
baseline entry that no longer occurs and on any error of a strict module, which mypy really reports (a few
seconds: mypy checks one small module)."""

import importlib.util
import tomllib
from pathlib import Path

import pytest
from mypy.main import process_options
from mypy.options import PER_MODULE_OPTIONS

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def gate():
    spec = importlib.util.spec_from_file_location("mypy_check", ROOT / ".ci" / "mypy_check.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ERROR = 'reporting/rollups.py:12: error: Item "None" of "Site | None" has no attribute "zone"  [union-attr]'
ENTRY = 'reporting/rollups.py:0: error: Item "None" of "Site | None" has no attribute "zone"  [union-attr]'


def test_it_passes_errors_that_are_exactly_the_baseline(gate, capsys):
    moved = ERROR.replace(":12:", ":40:")  # the same error after the code moved: still the same entry
    assert gate.check([moved], [ENTRY], strict=set()) == 0
    assert gate.check([ERROR, moved], [ENTRY, ENTRY], strict=set()) == 0


def test_it_fails_on_an_error_not_in_the_baseline(gate, capsys):
    other = 'reporting/rollups.py:30: error: Argument 1 to "f" has incompatible type "str"; expected "int"  [arg-type]'
    assert gate.check([ERROR, other], [ENTRY], strict=set()) == 1
    out = capsys.readouterr().out
    assert other in out
    assert "1 mypy error(s) not in .ci/mypy-baseline.txt" in out
    # Counted: a second occurrence of a baselined error is new too.
    assert gate.check([ERROR, ERROR], [ENTRY], strict=set()) == 1


def test_it_fails_when_a_baseline_entry_no_longer_occurs(gate, capsys):
    assert gate.check([], [ENTRY], strict=set()) == 1
    out = capsys.readouterr().out
    assert f"no longer occurs: {ENTRY}" in out
    assert "--update" in out


def test_update_only_shrinks_the_baseline(gate, capsys):
    other = 'reporting/rollups.py:30: error: Name "x" is not defined  [name-defined]'
    assert gate.update([], [ENTRY], strict=set(), accept_new=False) == []
    assert gate.update([other], [ENTRY], strict=set(), accept_new=False) is None
    assert gate.update([other], [ENTRY], strict=set(), accept_new=True) == [gate.normalized(other)]


def test_it_fails_on_an_error_that_mypy_finds_in_a_strict_module(gate, capsys, tmp_path):
    """mypy with the project's configuration, reading emissions/queues.py (strict) with an unannotated
    function added: the gate fails, even with the error in the baseline."""
    assert "emissions/queues.py" in gate.strict_paths()
    source = (ROOT / "emissions" / "queues.py").read_text(encoding="utf-8")
    probe = tmp_path / "queues.py"
    probe.write_text(source + "\n\ndef probe(value):\n    return value\n", encoding="utf-8")
    shadow = ["--shadow-file", "emissions/queues.py", str(probe)]
    errors = gate.mypy_errors(["--cache-dir", str(tmp_path / "cache"), *shadow, "emissions/queues.py"])
    assert [error.split(":")[0] for error in errors] == ["emissions/queues.py"]
    assert errors[0].endswith("[no-untyped-def]")
    assert gate.check(errors, [], gate.strict_paths()) == 1
    assert gate.check(errors, [gate.normalized(e) for e in errors], gate.strict_paths()) == 1
    assert "cannot be baselined" in capsys.readouterr().out
    assert gate.update(errors, [], gate.strict_paths(), accept_new=True) is None


def test_the_strict_override_sets_every_flag_of_strict(gate):
    """``strict = true`` cannot be set per module, so the override spells out what --strict sets; a mypy upgrade
    that adds a flag to --strict fails here until the override has it too."""
    _, strict = process_options(["--strict", "--config-file=", "x.py"])
    _, default = process_options(["--config-file=", "x.py"])
    flags = {
        name: getattr(strict, name)
        for name in sorted(PER_MODULE_OPTIONS)
        if getattr(strict, name, None) != getattr(default, name, None)
    }
    assert "disallow_untyped_defs" in flags
    overrides = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mypy"]["overrides"]
    (override,) = [o for o in overrides if o.get("disallow_untyped_defs")]
    assert {name: override.get(name) for name in flags} == flags


def test_the_baseline_holds_only_entries_of_non_strict_modules(gate):
    entries = (ROOT / ".ci" / "mypy-baseline.txt").read_text(encoding="utf-8").splitlines()
    strict = gate.strict_paths()
    for entry in entries:
        assert gate.normalized(entry) == entry
        assert entry.split(":")[0] not in strict
    assert entries == sorted(entries)


def test_the_command_fails_unless_the_errors_are_the_baseline(gate, monkeypatch, tmp_path, capsys):
    baseline = tmp_path / "mypy-baseline.txt"
    baseline.write_text(f"{ENTRY}\n", encoding="utf-8")
    monkeypatch.setattr(gate, "BASELINE", baseline)
    monkeypatch.setattr(gate, "mypy_errors", lambda: [ERROR])
    assert gate.main([]) == 0
    monkeypatch.setattr(gate, "mypy_errors", lambda: [ERROR, ERROR.replace("zone", "site")])
    assert gate.main([]) == 1
    monkeypatch.setattr(gate, "mypy_errors", lambda: [])
    assert gate.main([]) == 1
    assert gate.main(["--update"]) == 0
    assert baseline.read_text(encoding="utf-8") == ""


def test_the_command_fails_when_mypy_does_not_run_to_the_end(gate, monkeypatch, capsys):
    def crashed():
        raise RuntimeError("mypy exited with 2")

    monkeypatch.setattr(gate, "mypy_errors", crashed)
    assert gate.main([]) == 2
