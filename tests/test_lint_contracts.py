"""The checks of ``make lint`` fail on a violation, and the repository passes them.

Import contracts: ``lint-imports`` runs with the repository's own .importlinter (every contract as written)
on a small package tree in tmp_path that has the modules the contracts name, first clean (kept), then with
one violation (broken). Migrations: ``makemigrations --check`` on a model field changed in memory. Ruff:
``ruff check``/``ruff format --check`` with the repository's configuration on a file with a fault. The mypy
gate has its own tests (tests/test_mypy_gate.py).
"""

from __future__ import annotations

import configparser
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import grimp
import pytest
from django.core.management import call_command

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / ".importlinter"
BIN = Path(sys.executable).parent


def _contracts() -> configparser.ConfigParser:
    parser = configparser.ConfigParser()
    parser.read(CONFIG, encoding="utf-8")
    return parser


def _values(section: configparser.SectionProxy, option: str) -> list[str]:
    lines = (line.strip() for line in section.get(option, "").splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def _contract_ids() -> list[str]:
    prefix = "importlinter:contract:"
    return [name.removeprefix(prefix) for name in _contracts().sections() if name.startswith(prefix)]


def _root_packages() -> list[str]:
    return _values(_contracts()["importlinter"], "root_packages")


def _internal_modules() -> set[str]:
    """Every module of the root packages that a contract names (with its ignored imports' ends)."""
    roots, names = _root_packages(), set()
    for section in _contracts().values():
        for option in ("source_modules", "forbidden_modules", "ancestors", "layers", "ignore_imports"):
            for value in _values(section, option):
                names.update(part.strip() for part in re.split(r"->|\||:", value))
    return {name for name in names if name.split(".")[0] in roots}


def _lint(config: Path, cwd: Path, *contracts: str) -> subprocess.CompletedProcess:
    command = [str(BIN / "lint-imports"), "--no-cache", "--no-logo", *(f"--contract={c}" for c in contracts)]
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run([*command, str(config)], cwd=cwd, env=env, capture_output=True, text=True, check=False)


def _write(tree: Path, module: str, source: str = "") -> None:
    """``module`` as a file of ``tree`` (its parents as packages); ``source`` replaces its text when given."""
    parts = module.split(".")
    for depth in range(1, len(parts)):
        package = tree.joinpath(*parts[:depth])
        package.mkdir(exist_ok=True)
        if (written := package.with_suffix(".py")).exists():  # written as a module: it is a package
            written.rename(package / "__init__.py")
        (package / "__init__.py").touch()
    path = tree.joinpath(*parts)
    path = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
    if source or not path.exists():
        path.write_text(source, encoding="utf-8")


@pytest.fixture
def tree(tmp_path) -> Path:
    """A package tree with every module the contracts name and nothing else; the contracts' config beside it.

    The ignored imports exist as imports (an ignore that matches nothing is an error).
    """
    for package in _root_packages():
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").touch()
    for module in sorted(_internal_modules(), key=lambda name: name.count(".")):
        _write(tmp_path, module)
    for section in _contracts().values():
        for value in _values(section, "ignore_imports"):
            importer, imported = (part.strip() for part in value.split("->"))
            path = tmp_path.joinpath(*importer.split("."))
            path = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
            path.write_text(path.read_text(encoding="utf-8") + f"import {imported}\n", encoding="utf-8")
    (tmp_path / ".importlinter").write_text(CONFIG.read_text(encoding="utf-8"), encoding="utf-8")
    return tmp_path


def test_the_repository_keeps_every_contract():
    done = _lint(CONFIG, ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"Contracts: {len(_contract_ids())} kept, 0 broken." in done.stdout


def test_the_contracts_name_the_application_packages_only():
    assert set(_root_packages()) == {"emissions", "ingest", "reporting", "frontend"}  # not tests/, not bench/


def test_a_tree_without_violations_keeps_every_contract(tree):
    done = _lint(tree / ".importlinter", tree)
    assert done.returncode == 0, done.stdout + done.stderr


# (contract, {module: source}, why): one violation each.
VIOLATIONS = [
    ("layers", {"emissions.leak": "import reporting.services\n"}, "the domain imports the read side"),
    ("layers", {"ingest.leak": "from reporting import services\n"}, "ingest and reporting import each other"),
    ("layers", {"reporting.leak": "def page():\n    import frontend.urls\n"}, "a lazy import still counts"),
    ("pure-domain", {"emissions.periods": "from django.db import models\n"}, "a pure module uses the ORM"),
    ("pure-domain", {"emissions.calculations": "def f():\n    from celery import shared_task\n"}, "Celery, lazily"),
    (
        "pure-domain",
        {"emissions.helper": "import numpy\n", "emissions.tables": "import emissions.helper\n"},
        "numpy via a helper",
    ),
    ("pure-domain", {"emissions.records": "from emissions.services import cloud\n"}, "a pure module uses a service"),
    ("domain-no-arrays", {"emissions.services.cloud_lines": "import pyarrow.csv\n"}, "Arrow in the domain"),
    (
        "acyclic",
        {
            "ingest.services": "from ingest.tasks import imports\n",
            "ingest.tasks.imports": "def run():\n    from ingest import services\n",
        },
        "services and tasks import each other (the task's import is lazy)",
    ),
    (
        "acyclic",
        {
            "ingest.parsers.rows": "def lines():\n    from ingest.parsers import columns\n",
            "ingest.parsers.columns": "from ingest.parsers import rows\n",
        },
        "two parsers import each other",
    ),
    (
        "acyclic",
        {
            "reporting.services": "import reporting.tasks.reports\n",
            "reporting.tasks.reports": "import reporting.services\n",
        },
        "a package and a module of a sibling package",
    ),
]


@pytest.mark.parametrize(("contract", "modules", "why"), VIOLATIONS, ids=[f"{c}: {w}" for c, _, w in VIOLATIONS])
def test_a_violation_breaks_its_contract(tree, contract, modules, why):
    assert contract in _contract_ids()
    for module, source in modules.items():
        _write(tree, module, source)
    done = _lint(tree / ".importlinter", tree, contract)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "0 kept, 1 broken" in done.stdout


def test_every_pure_module_of_the_domain_is_in_the_contract():
    """An emissions module that imports none of what the pure modules may not import (directly or not) is
    listed as pure, so the contract keeps it that way; every listed module is such a module."""
    pure = _contracts()["importlinter:contract:pure-domain"]
    listed, forbidden = set(_values(pure, "source_modules")), set(_values(pure, "forbidden_modules"))
    graph = grimp.build_graph(*_root_packages(), include_external_packages=True, cache_dir=None)
    modules = {module for module in graph.find_children("emissions") if not graph.find_children(module)}

    def is_pure(module: str) -> bool:
        reached = graph.find_upstream_modules(module) | {module}
        return not any(name == bad or name.startswith(f"{bad}.") for name in reached for bad in forbidden)

    assert {module for module in modules if is_pure(module)} == listed


@pytest.mark.django_db
def test_makemigrations_check_fails_on_a_model_change_without_its_migration(monkeypatch):
    from ingest.models import ImportBatch

    call_command("makemigrations", "--check", "--dry-run", verbosity=0)  # the models match their migrations
    monkeypatch.setattr(ImportBatch._meta.get_field("filename"), "max_length", 300)
    with pytest.raises(SystemExit) as exit_info:
        call_command("makemigrations", "--check", "--dry-run", verbosity=0)
    assert exit_info.value.code == 1


@pytest.mark.parametrize(
    ("command", "source"),
    [(["check"], "import os\n"), (["format", "--check"], "total = ( 1+2 )\n")],
    ids=["ruff check: an unused import", "ruff format --check: unformatted"],
)
def test_ruff_fails_on_a_fault(tmp_path, command, source):
    path = tmp_path / "faulty.py"
    path.write_text(source, encoding="utf-8")
    ruff = [str(BIN / "ruff"), *command, "--config", str(ROOT / "pyproject.toml"), "--no-cache", str(path)]
    assert subprocess.run(ruff, capture_output=True, text=True, check=False).returncode == 1
    path.write_text("total = 1 + 2\n", encoding="utf-8")
    assert subprocess.run(ruff, capture_output=True, text=True, check=False).returncode == 0


def test_the_pre_commit_hooks_run_the_checks_of_make_lint():
    """Each hook's command is a line of the Makefile's lint target (with the virtualenv's bin as $(BIN))."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = re.search(r"^lint:.*\n((?:\t.*\n)+)", makefile, re.MULTILINE).group(1)
    hooks = (ROOT / ".pre-commit-config.yaml").read_text(encoding="utf-8")
    entries = re.findall(r"^\s+entry: (.+)$", hooks, re.MULTILINE)
    assert len(entries) == len(recipe.strip().splitlines()) == 5
    for entry in entries:
        command = entry.replace("env DEBUG=1 ", "DEBUG=1 ").replace(".venv/bin/", "$(BIN)/")
        command = command.replace(" --force-exclude", "")
        assert command in recipe, f"{entry!r} is not in `make lint`"


def test_the_strict_mypy_modules_are_the_pure_modules_of_the_contract():
    """One list in two tools: what the pure-domain contract keeps pure, mypy checks strictly (pyproject.toml)."""
    pure = set(_values(_contracts()["importlinter:contract:pure-domain"], "source_modules"))
    overrides = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]["overrides"]
    strict = [override["module"] for override in overrides if override.get("disallow_untyped_defs")]
    assert {module for modules in strict for module in modules} == pure
