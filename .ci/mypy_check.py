"""Type checks for `make lint`: mypy over the packages [tool.mypy] in pyproject.toml names, against a baseline.

    .venv/bin/python .ci/mypy_check.py                # the gate
    .venv/bin/python .ci/mypy_check.py --update       # after fixing errors: drop them from the baseline

The strict modules (the pyproject override with ``disallow_untyped_defs``) must have no error at all. Every
other error must be listed in .ci/mypy-baseline.txt, the errors that predate the check, which may only shrink:
the gate fails on an error not in it, and on an entry that no longer occurs, so a fix removes its entry in the
same change (``--update``). Entries are mypy-baseline's (PyPI mypy-baseline: ``path:0: error: message  [code]``,
line numbers left out so that moving code does not change them), so its reports read the file too, e.g.
``.venv/bin/mypy-baseline top-files --baseline-path .ci/mypy-baseline.txt``. mypy-baseline's own ``filter``
is not used: reading mypy through a pipe, it would pass a mypy that crashed or never ran.

``--update`` only removes entries. ``--update --accept-new`` also adds the errors not in the baseline, for the
rare change that rewords existing errors (a mypy or django-stubs upgrade): the baseline's diff shows them.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tomllib
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from mypy_baseline._config import Config
from mypy_baseline._error import Error

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / ".ci" / "mypy-baseline.txt"
UPDATE_HINT = "run `.venv/bin/python .ci/mypy_check.py --update` and commit the smaller baseline"


def strict_paths(pyproject: Path = ROOT / "pyproject.toml") -> set[str]:
    """Source paths of the strict modules: the [[tool.mypy.overrides]] entry that turns on
    ``disallow_untyped_defs`` (one of the flags --strict sets) lists them."""
    overrides = tomllib.loads(pyproject.read_text(encoding="utf-8"))["tool"]["mypy"].get("overrides", [])
    modules = [
        module
        for override in overrides
        if override.get("disallow_untyped_defs")
        for module in ([override["module"]] if isinstance(override["module"], str) else override["module"])
    ]
    return {module.replace(".", "/") + ".py" for module in modules}


def mypy_errors(args: Sequence[str] = ()) -> list[str]:
    """mypy's error lines (notes left out: hints that depend on which error came first) for the packages of the
    configuration, or for ``args`` in their place. Raises RuntimeError when mypy did not run to the end."""
    env = {**os.environ, "DEBUG": os.environ.get("DEBUG", "1")}  # frontend.settings needs it or a SECRET_KEY
    command = [sys.executable, "-m", "mypy", "--no-color-output", "--no-pretty", "--soft-error-limit=-1", *args]
    # A process of its own: the Django plugin sets up frontend.settings, which a caller (pytest) may have too.
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode not in (0, 1):  # 2: a crash, a bad configuration or a syntax error
        raise RuntimeError(f"mypy exited with {result.returncode}:\n{result.stdout}{result.stderr}")
    return [line for line in result.stdout.splitlines() if (error := Error.new(line)) and error.severity == "error"]


def _parsed(line: str) -> Error:
    error = Error.new(line)
    if error is None:
        raise ValueError(f"not a mypy error line: {line!r}")
    return error


def normalized(line: str) -> str:
    """The baseline entry of a mypy error line: path, message and error code, without the line number."""
    return _parsed(line).get_clean_line(Config())


def in_strict_modules(errors: Sequence[str], strict: set[str]) -> list[str]:
    """The errors of strict modules."""
    return [line for line in errors if _parsed(line).path.as_posix() in strict]


def compare(errors: Sequence[str], baseline: Sequence[str]) -> tuple[list[str], list[str]]:
    """The errors not in the baseline (as mypy printed them) and the baseline entries that no longer occur.
    Both are counted: an error that occurs twice needs two entries."""
    remaining = Counter(baseline)
    new = []
    for line in errors:
        entry = normalized(line)
        if remaining[entry] > 0:
            remaining[entry] -= 1
        else:
            new.append(line)
    return new, sorted(remaining.elements())


def check(errors: Sequence[str], baseline: Sequence[str], strict: set[str]) -> int:
    """The gate: 0 when the errors are exactly the baseline's and no strict module has one, else 1."""
    in_strict = in_strict_modules(errors, strict)
    new, gone = compare([line for line in errors if line not in in_strict], baseline)
    for line in in_strict:
        print(line)
    if in_strict:
        print(f"{len(in_strict)} error(s) in strict modules (pyproject.toml): fix them, they cannot be baselined")
    for line in new:
        print(line)
    if new:
        print(f"{len(new)} mypy error(s) not in .ci/mypy-baseline.txt: fix them (the baseline may only shrink)")
    for entry in gone:
        print(f"no longer occurs: {entry}")
    if gone:
        print(f"{len(gone)} baseline entr(y/ies) no longer occur, well done: {UPDATE_HINT}")
    if not (in_strict or new or gone):
        print(f"mypy: {len(errors)} error(s), all in the baseline; the strict modules are clean")
    return 1 if in_strict or new or gone else 0


def update(errors: Sequence[str], baseline: Sequence[str], strict: set[str], *, accept_new: bool) -> list[str] | None:
    """The new baseline: the entries that still occur, plus the new errors with ``accept_new``; None (and the
    reason printed) when it would take errors of strict modules or, without ``accept_new``, new errors."""
    in_strict = in_strict_modules(errors, strict)
    new, gone = compare(errors, baseline)
    if in_strict:
        print("\n".join(in_strict))
        print("errors in strict modules cannot be baselined: fix them")
        return None
    if new and not accept_new:
        print("\n".join(new))
        print(f"{len(new)} error(s) not in the baseline: fix them (--accept-new only for reworded errors)")
        return None
    print(f"baseline: {len(gone)} entr(y/ies) removed, {len(new) if accept_new else 0} added")
    return sorted(normalized(line) for line in errors)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--update", action="store_true", help="rewrite the baseline without the fixed errors")
    parser.add_argument("--accept-new", action="store_true", help="with --update: also add new errors")
    options = parser.parse_args(argv)
    try:
        errors = mypy_errors()
    except RuntimeError as exc:
        print(exc, file=sys.stderr)
        return 2
    baseline = [line for line in BASELINE.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not options.update:
        return check(errors, baseline, strict_paths())
    entries = update(errors, baseline, strict_paths(), accept_new=options.accept_new)
    if entries is None:
        return 1
    BASELINE.write_text("".join(f"{entry}\n" for entry in entries), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
