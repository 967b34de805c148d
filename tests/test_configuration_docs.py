"""docs/configuration.md lists exactly the environment variables and GreenGuild settings the code reads.

The source is scanned with ``ast``, so a variable added to the code without a row in the tables (or a row
left behind after the code stops reading it) fails here:

* environment variables: the first argument of ``env_str``/``env_bool``/``env_int``/``env_float``/
  ``env_fraction``/``env_list`` (frontend/env.py) and of ``os.environ.get``/``os.getenv``/
  ``os.environ.setdefault``/``os.environ[...]``, when it is a string literal;
* Django settings named ``GREENGUILD_*`` read as ``settings.GREENGUILD_X`` or ``getattr(settings, "GREENGUILD_X"
  …)``: each must also be defined in frontend/settings.py (a ``getattr`` default is no definition).

Scanned: the four application packages (not migrations), manage.py, gunicorn.conf.py, .ci/*.py and tests/
(their CI switches read from ``os.environ``; the made-up names they give the env_* helpers and the settings
they assign do not count). Not scanned: bench/ (benchmark parameters, ``BENCH_*``, described in each script)
and variables whose name is not a literal (``create_organization --password-from-env VAR`` reads the one it
is given). "Documented" means named in backticks in the first cell of a table row of docs/configuration.md.
"""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "configuration.md"
PACKAGES = ("emissions", "ingest", "reporting", "frontend")
ENV_HELPERS = {"env_str", "env_bool", "env_int", "env_float", "env_fraction", "env_list"}
NAME = re.compile(r"[A-Z][A-Z0-9_]*")


def _sources() -> list[Path]:
    paths = [path for package in PACKAGES for path in (ROOT / package).rglob("*.py") if "migrations" not in path.parts]
    paths += [ROOT / "manage.py", ROOT / "gunicorn.conf.py", *(ROOT / ".ci").glob("*.py")]
    paths += (ROOT / "tests").rglob("*.py")
    return sorted(paths)


def _literal(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and NAME.fullmatch(node.value):
        return node.value
    return None


def _is_os_environ(node: ast.AST) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "environ" and _dotted(node.value) == "os"


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""


def _reads(tree: ast.AST, *, helpers: bool = True) -> tuple[set[str], set[str]]:
    """(environment variables, GREENGUILD_* settings) read in one module; ``helpers``: count the env_* helpers'
    calls (not in tests, which call them with made-up names to test them)."""
    env, settings = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args:
            function, first = node.func, _literal(node.args[0])
            if _dotted(function) == "getattr" and _dotted(node.args[0]) == "settings" and len(node.args) > 1:
                name = _literal(node.args[1])
                if name and name.startswith("GREENGUILD_"):
                    settings.add(name)
            elif first is None:
                continue
            elif helpers and isinstance(function, ast.Name) and function.id in ENV_HELPERS:
                env.add(first)
            elif isinstance(function, ast.Attribute) and function.attr in ("get", "setdefault", "pop"):
                if _is_os_environ(function.value):
                    env.add(first)
            elif _dotted(function) == "os.getenv":
                env.add(first)
        elif isinstance(node, ast.Subscript) and _is_os_environ(node.value) and isinstance(node.ctx, ast.Load):
            if name := _literal(node.slice):
                env.add(name)
        elif (
            isinstance(node, ast.Attribute)
            and _dotted(node.value) == "settings"
            and node.attr.startswith("GREENGUILD_")
        ):
            settings.add(node.attr)
    return env, settings


def _code_reads() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """Each name read, with the files that read it."""
    env: dict[str, set[str]] = {}
    settings: dict[str, set[str]] = {}
    for path in _sources():
        if path == Path(__file__).resolve():
            continue
        relative = str(path.relative_to(ROOT))
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        file_env, file_settings = _reads(tree, helpers=not relative.startswith("tests/"))
        for name in file_env:
            env.setdefault(name, set()).add(relative)
        for name in file_settings if not relative.startswith("tests/") else ():  # tests set settings, too
            settings.setdefault(name, set()).add(relative)
    return env, settings


def _settings_defined() -> set[str]:
    """Module-level names assigned in frontend/settings.py."""
    tree = ast.parse((ROOT / "frontend" / "settings.py").read_text(encoding="utf-8"))
    names = set()
    for node in tree.body:
        targets = (
            node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        )
        names |= {target.id for target in targets if isinstance(target, ast.Name)}
    return names


def _documented() -> dict[str, list[str]]:
    """Names in the first cell of every table row of docs/configuration.md, with the row's other cells."""
    rows = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if not line.startswith("|") or set(line) <= set("|-: "):
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        for name in re.findall(r"`([^`]+)`", cells[0]):
            if NAME.fullmatch(name):
                rows[name] = cells[1:]
    return rows


def test_the_scan_finds_what_it_should():
    """The scanner itself: a variable read through each kind of call is found, so the checks below cannot
    pass on an empty scan."""
    env, settings = _code_reads()
    assert {"SECRET_KEY", "DATABASE_URL", "GREENGUILD_CLOUD_LIFESPAN_YEARS"} <= set(env)  # env_* helpers
    assert {"DJANGO_SETTINGS_MODULE", "REWRITE_GOLDEN", "CI"} <= set(env)  # os.environ.setdefault / .get
    assert {"GREENGUILD_TEAM_TAG_KEYS", "GREENGUILD_TOKEN_FAILURES_PER_MINUTE"} <= set(settings)  # getattr
    assert "GREENGUILD_ALERT_WEBHOOK_URL" in settings  # settings.X
    source = 'import os\nos.environ["A_B"]; os.getenv("C"); settings.GREENGUILD_D; getattr(settings, "GREENGUILD_E", 1)'
    assert _reads(ast.parse(source)) == ({"A_B", "C"}, {"GREENGUILD_D", "GREENGUILD_E"})


def test_every_variable_the_code_reads_is_documented():
    env, settings = _code_reads()
    documented = _documented()
    missing = {name: sorted(files) for name, files in {**env, **settings}.items() if name not in documented}
    assert not missing, f"read by the code but not in a table of docs/configuration.md: {missing}"


def test_every_documented_variable_is_read_by_the_code():
    env, settings = _code_reads()
    stale = sorted(set(_documented()) - set(env) - set(settings))
    assert not stale, f"in docs/configuration.md but read nowhere (remove the row or read it): {stale}"


def test_every_greenguild_setting_read_is_defined_in_settings():
    """A ``getattr(settings, "GREENGUILD_X", default)`` whose setting settings.py never defines hides the
    default from the configuration (and from this documentation)."""
    _, settings = _code_reads()
    undefined = {name: sorted(files) for name, files in settings.items() if name not in _settings_defined()}
    assert not undefined, f"read but not defined in frontend/settings.py: {undefined}"


def test_every_row_gives_a_default_a_meaning_and_an_example():
    incomplete = [name for name, cells in _documented().items() if len(cells) < 3 or not all(cells[:3])]
    assert not incomplete, f"rows of docs/configuration.md without default, meaning or example: {incomplete}"
