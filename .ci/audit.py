#!/usr/bin/env python3
"""Dependency audit: known vulnerabilities in the packages we install, from pip-audit or a dated snapshot.

Usage (the Makefile wraps the first and the last form):

    .venv/bin/python .ci/audit.py                      # audit this interpreter's installed distributions
    .venv/bin/python .ci/audit.py -r requirements.txt  # audit the `name==version` pins of a requirements file
    .venv/bin/python .ci/audit.py --no-live            # skip the live pip-audit, use the snapshot
    .venv/bin/python .ci/audit.py --refresh GIT_DIR    # rewrite the snapshot from an advisory-database mirror

How it audits
    1. Live first: pip-audit (pinned in requirements-dev.txt) runs `python -m pip_audit --format json` against the
       same environment (or requirements file), which asks https://pypi.org/pypi/<name>/<version>/json. When it
       answers (at least one package audited), its findings are the result: the snapshot is not read. Packages it
       skipped (not on PyPI) are listed as not audited.
    2. Only when pip-audit does not answer (not installed, failed, timed out, or skipped every package because
       the service is unreachable): the checked-in snapshot .ci/advisories/pypa-advisories.json, cut from the
       PyPA advisory database (https://github.com/pypa/advisory-database, OSV format, CC-BY 4.0) for the
       distributions listed in its "packages" field. Each OSV `affected` entry is evaluated for the installed
       version: ECOSYSTEM ranges (introduced / fixed / last_affected events, PEP 440 ordering) and explicit
       `versions` lists; withdrawn advisories are skipped.
       The snapshot must be recent: when its data (the date of the advisory-database commit it was cut from) is
       more than AUDIT_SNAPSHOT_MAX_AGE_DAYS days old (default 90, docs/configuration.md), the audit FAILS, since
       advisories published since then are not checked, and says how to refresh it.

    Exit status: 0 when nothing unignored is found, 1 when an installed package is affected, 2 on bad input
    (unreadable snapshot, malformed ignore file, bad AUDIT_SNAPSHOT_MAX_AGE_DAYS), 3 when there is no usable
    advisory data (pip-audit did not answer and the snapshot is too old).

Ignoring a finding
    .ci/audit-ignore.txt, one advisory per line: `ID  YYYY-MM-DD  reason`, where the date is the expiry (the
    entry stops applying after that day) and the reason is mandatory. `#` starts a comment. The ID may be the
    advisory id or any of its aliases (CVE-…, GHSA-…). It applies to live and snapshot findings alike.

Refreshing the snapshot (`make audit-refresh`, or by hand)
    1. Get a clone of the database, e.g. `git clone --bare https://github.com/pypa/advisory-database
       /tmp/advisory-database.git` (or `git -C /tmp/advisory-database.git fetch` to update an existing one).
    2. Install the dev environment (`make .venv/.installed-dev`) so the installed distributions are the ones to
       cover, then run `.venv/bin/python .ci/audit.py --refresh /tmp/advisory-database.git` (or
       `make audit-refresh ADVISORY_DB=/tmp/advisory-database.git`). This reads the clone's HEAD with `git`, keeps
       only the advisories naming an installed distribution (PyPI ecosystem, normalized names) and only the
       fields the audit needs, records the repository, commit id, commit date and licence in the header, and
       lists the distribution names it was cut for. Needs PyYAML (a runtime dependency) for the OSV YAML files.
       The snapshot's age is its commit's date: a refresh from a stale clone stays stale.
    3. Run `make audit` and the tests (tests/test_dependency_audit.py checks the snapshot covers every
       installed distribution), and commit .ci/advisories/pypa-advisories.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import importlib.metadata
import importlib.util
import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from packaging.version import InvalidVersion, Version

CI_DIR = Path(__file__).resolve().parent
SNAPSHOT = CI_DIR / "advisories" / "pypa-advisories.json"
IGNORE_FILE = CI_DIR / "audit-ignore.txt"
# The snapshot's data may be at most this many days old when it is used (AUDIT_SNAPSHOT_MAX_AGE_DAYS overrides).
MAX_AGE_DAYS_DEFAULT = 90
MAX_AGE_VARIABLE = "AUDIT_SNAPSHOT_MAX_AGE_DAYS"
NO_ADVISORY_DATA = 3  # exit status: pip-audit did not answer and the snapshot is too old
LIVE_TIMEOUT_SECONDS = 180
SOURCE_REPOSITORY = "https://github.com/pypa/advisory-database"
LICENCE = "CC-BY-4.0 (https://creativecommons.org/licenses/by/4.0/)"
ATTRIBUTION = "Advisory data © the PyPA advisory-database contributors, licensed CC-BY 4.0; filtered and trimmed."


def normalize(name: str) -> str:
    """PEP 503 normalized distribution name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def parse_version(text: str) -> Version | None:
    try:
        return Version(str(text))
    except InvalidVersion:
        return None


# --- OSV evaluation ---------------------------------------------------------------------------------


def _event_sort_key(event: dict) -> tuple:
    # OSV: sort events by version; introduced "0" precedes everything. Unparseable versions go last.
    kind, value = next(iter(event.items()))
    if kind == "introduced" and str(value) == "0":
        return (0, Version("0"), 0)
    parsed = parse_version(value)
    order = {"introduced": 0, "fixed": 1, "last_affected": 1, "limit": 2}.get(kind, 3)
    return (1, parsed, order) if parsed is not None else (2, Version("0"), order)


def range_affects(events: list[dict], version: Version) -> bool:
    """Whether an OSV ECOSYSTEM range (its `events`) includes `version`, per the OSV evaluation algorithm."""
    vulnerable = False
    for event in sorted(events, key=_event_sort_key):
        kind, value = next(iter(event.items()))
        if kind == "introduced":
            bound = parse_version(value)
            if str(value) == "0" or (bound is not None and version >= bound):  # "0": every version, pre-releases too
                vulnerable = True
        elif kind == "fixed":
            bound = parse_version(value)
            if bound is not None and version >= bound:
                vulnerable = False
        elif kind == "last_affected":
            bound = parse_version(value)
            if bound is not None and version > bound:
                vulnerable = False
    return vulnerable


def affected_entry_matches(entry: dict, version_text: str) -> bool:
    """Whether one OSV `affected` entry (already known to name our package) covers `version_text`."""
    if version_text in {str(v) for v in entry.get("versions", [])}:
        return True
    version = parse_version(version_text)
    if version is None:
        return False
    if any(parse_version(v) == version for v in entry.get("versions", []) if parse_version(v) is not None):
        return True
    return any(
        range_affects(r.get("events", []), version) for r in entry.get("ranges", []) if r.get("type") == "ECOSYSTEM"
    )


def _entry_package(entry: dict) -> str | None:
    package = entry.get("package", {})
    if package.get("ecosystem", "PyPI") != "PyPI" or not package.get("name"):
        return None
    return normalize(package["name"])


def fixed_versions(entry: dict) -> list[str]:
    return [
        str(e["fixed"])
        for r in entry.get("ranges", [])
        if r.get("type") == "ECOSYSTEM"
        for e in r["events"]
        if "fixed" in e
    ]


@dataclasses.dataclass
class Finding:
    package: str
    version: str
    advisory_id: str
    aliases: list[str]
    fixed: list[str]
    summary: str
    source: str  # "snapshot" or "live"
    ignored_reason: str | None = None

    @property
    def ids(self) -> set[str]:
        return {self.advisory_id, *self.aliases}


def evaluate(advisories: Iterable[dict], installed: dict[str, str]) -> list[Finding]:
    """Findings for `installed` ({normalized name: version}) against OSV advisory records."""
    findings = []
    for advisory in advisories:
        if advisory.get("withdrawn"):
            continue
        for entry in advisory.get("affected", []):
            name = _entry_package(entry)
            if name is None or name not in installed:
                continue
            if affected_entry_matches(entry, installed[name]):
                findings.append(
                    Finding(
                        package=name,
                        version=installed[name],
                        advisory_id=advisory["id"],
                        aliases=list(advisory.get("aliases", [])),
                        fixed=fixed_versions(entry),
                        summary=advisory.get("summary", ""),
                        source="snapshot",
                    )
                )
                break
    return findings


# --- Ignore list ------------------------------------------------------------------------------------


@dataclasses.dataclass
class IgnoreEntry:
    """One line of .ci/audit-ignore.txt: an advisory accepted until ``expires``, and why."""

    advisory_id: str
    expires: dt.date
    reason: str


class AuditInputError(Exception):
    """A snapshot, requirements or ignore file that cannot be read (exit code 2)."""


def parse_ignore_file(text: str) -> list[IgnoreEntry]:
    entries = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split(None, 2)
        if len(parts) < 3 or not parts[2].strip():
            raise AuditInputError(f"audit-ignore line {number}: expected `ID YYYY-MM-DD reason`, got {raw!r}")
        try:
            expires = dt.date.fromisoformat(parts[1])
        except ValueError:
            raise AuditInputError(f"audit-ignore line {number}: bad expiry date {parts[1]!r}") from None
        entries.append(IgnoreEntry(parts[0], expires, parts[2].strip()))
    return entries


def apply_ignores(findings: list[Finding], entries: list[IgnoreEntry], today: dt.date) -> list[str]:
    """Mark findings covered by an unexpired entry; returns notes about expired entries that matched."""
    notes = []
    for finding in findings:
        for entry in entries:
            if entry.advisory_id not in finding.ids:
                continue
            if today <= entry.expires:
                finding.ignored_reason = f"{entry.reason} (until {entry.expires})"
            else:
                notes.append(f"ignore entry for {entry.advisory_id} expired on {entry.expires}; it no longer applies")
    return notes


# --- What is installed ------------------------------------------------------------------------------


def installed_distributions() -> dict[str, str]:
    found = {}
    for dist in importlib.metadata.distributions():
        name = dist.metadata["Name"]
        if name:
            found.setdefault(normalize(name), dist.version)
    return found


_PIN = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*===?\s*([^\s;#]+)")


def read_requirements(path: Path, seen: set[Path] | None = None) -> dict[str, str]:
    """`name==version` pins of a requirements file, following `-r other.txt` includes."""
    seen = seen if seen is not None else set()
    path = path.resolve()
    if path in seen:
        return {}
    seen.add(path)
    pins: dict[str, str] = {}
    for raw in path.read_text().splitlines():
        line = "" if raw.lstrip().startswith("#") else raw.split(" #", 1)[0].strip()
        include = re.match(r"^(?:-r|--requirement)\s*(\S+)", line)
        if include:
            pins.update(read_requirements(path.parent / include.group(1), seen))
            continue
        match = _PIN.match(line)
        if match:
            pins[normalize(match.group(1))] = match.group(2)
        elif line and not line.startswith("-"):
            print(f"note: {path.name}: not an exact pin, not audited: {line}")
    return pins


# --- Live pip-audit ---------------------------------------------------------------------------------


def live_pip_audit(pins: dict[str, str] | None = None) -> tuple[list[Finding] | None, str]:
    """Findings from a live pip-audit run (of `pins`, else of this environment), or None and a one-line reason."""
    if importlib.util.find_spec("pip_audit") is None:
        return None, "pip-audit is not installed"
    command = [sys.executable, "-m", "pip_audit", "--format", "json", "--progress-spinner", "off", "--desc", "on"]
    command += ["--timeout", "15"]
    with tempfile.TemporaryDirectory() as scratch:
        if pins:
            # The pins flattened into one file (pip-audit's --disable-pip mode does not follow `-r` includes).
            flat = Path(scratch) / "requirements.txt"
            flat.write_text("".join(f"{name}=={version}\n" for name, version in sorted(pins.items())))
            command += ["--requirement", str(flat), "--no-deps", "--disable-pip"]
        try:
            completed = subprocess.run(  # noqa: S603 — fixed argv, our own interpreter
                command, capture_output=True, text=True, timeout=LIVE_TIMEOUT_SECONDS, check=False
            )
        except subprocess.TimeoutExpired:
            return None, f"pip-audit did not answer within {LIVE_TIMEOUT_SECONDS}s"
    try:
        report = json.loads(completed.stdout)
    except json.JSONDecodeError:
        error = (completed.stderr.strip().splitlines() or ["no output"])[-1]
        return None, f"pip-audit failed (exit {completed.returncode}): {error}"
    dependencies = report.get("dependencies", [])
    skipped = [d for d in dependencies if "skip_reason" in d]
    audited = len(dependencies) - len(skipped)
    if not audited:
        return None, f"the vulnerability service is unreachable (pip-audit skipped all {len(skipped)} packages)"
    findings = [
        Finding(
            package=normalize(dep["name"]),
            version=dep["version"],
            advisory_id=vuln["id"],
            aliases=list(vuln.get("aliases", [])),
            fixed=list(vuln.get("fix_versions", [])),
            summary=(vuln.get("description") or "").strip().splitlines()[0][:200] if vuln.get("description") else "",
            source="live",
        )
        for dep in dependencies
        for vuln in dep.get("vulns", [])
    ]
    note = f"audited {audited} of {len(dependencies)} packages"
    if skipped:
        note += f"; not audited (pip-audit skipped them): {', '.join(sorted(normalize(d['name']) for d in skipped))}"
    return findings, note


# --- Snapshot ---------------------------------------------------------------------------------------


def load_snapshot(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise AuditInputError(f"cannot read the advisory snapshot {path}: {error}") from None
    for key in ("source", "packages", "advisories"):
        if key not in data:
            raise AuditInputError(f"advisory snapshot {path} has no {key!r} field")
    return data


def snapshot_age_days(snapshot: dict, today: dt.date) -> int:
    """Days from the advisory-database commit the snapshot was cut from to ``today``: the age of its data."""
    committed = dt.datetime.fromisoformat(snapshot["source"]["commit_date"]).date()
    return (today - committed).days


def max_age_days() -> int:
    """The oldest snapshot data the fallback accepts, in days: AUDIT_SNAPSHOT_MAX_AGE_DAYS, else 90."""
    text = os.environ.get("AUDIT_SNAPSHOT_MAX_AGE_DAYS", "").strip()  # MAX_AGE_VARIABLE, spelled out for its doc test
    if not text:
        return MAX_AGE_DAYS_DEFAULT
    try:
        days = int(text)
    except ValueError:
        raise AuditInputError(f"{MAX_AGE_VARIABLE}={text!r} is not a whole number of days") from None
    if days < 0:
        raise AuditInputError(f"{MAX_AGE_VARIABLE}={days} must be at least 0")
    return days


def refresh_hint(snapshot_path: Path) -> str:
    """How to get usable advisory data again, for the failure message."""
    shown = snapshot_path.resolve()
    if shown.is_relative_to(CI_DIR.parent):
        shown = shown.relative_to(CI_DIR.parent)
    return (
        "Refresh it from a current clone of https://github.com/pypa/advisory-database:\n"
        "  git clone --bare https://github.com/pypa/advisory-database /tmp/advisory-database.git\n"
        "  make audit-refresh ADVISORY_DB=/tmp/advisory-database.git   "
        "# = .venv/bin/python .ci/audit.py --refresh /tmp/advisory-database.git\n"
        f"then commit {shown}. Or run the audit where pip-audit reaches https://pypi.org "
        f"(its live answer needs no snapshot). {MAX_AGE_VARIABLE} sets the limit (docs/configuration.md)."
    )


def print_table(findings: list[Finding]) -> None:
    rows = [("package", "installed", "advisory", "fixed in", "source", "status / summary")]
    for f in findings:
        status = f"IGNORED: {f.ignored_reason}" if f.ignored_reason else f.summary
        aliases = [a for a in f.aliases if a.startswith(("CVE-", "GHSA-"))][:2]
        advisory = f.advisory_id + (f" ({', '.join(aliases)})" if aliases else "")
        rows.append((f.package, f.version, advisory, ", ".join(f.fixed) or "-", f.source, status[:100]))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    for row in rows:
        print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:5])) + "  " + row[5])


LiveAudit = Callable[[dict[str, str] | None], tuple[list[Finding] | None, str]]


def snapshot_findings(args: argparse.Namespace, installed: dict[str, str], today: dt.date) -> list[Finding] | None:
    """Findings from the snapshot, or None (after saying why) when its data is older than the limit."""
    limit = max_age_days()
    snapshot = load_snapshot(args.snapshot)
    source = snapshot["source"]
    age = snapshot_age_days(snapshot, today)
    print(
        f"snapshot: {source['repository']} @ {source['commit'][:12]}, dated {source['commit_date']} ({age} days old), "
        f"limit {limit} days, {len(snapshot['advisories'])} advisories, licence {source['licence']}"
    )
    if age > limit:
        print(
            f"FAILED: no usable advisory data. pip-audit did not answer, and the advisory snapshot's data is {age} "
            f"days old (more than {MAX_AGE_VARIABLE}={limit}): advisories published since "
            f"{source['commit_date'][:10]} would not be checked, so the audit cannot say the packages are clean.\n"
            + refresh_hint(args.snapshot)
        )
        return None
    uncovered = sorted(set(installed) - set(snapshot["packages"]))
    if uncovered:
        print(
            f"WARNING: the snapshot was not cut for {len(uncovered)} installed package(s), whose advisories may be "
            f"missing: {', '.join(uncovered)} — refresh the snapshot"
        )
    return evaluate(snapshot["advisories"], installed)


def audit(args: argparse.Namespace, *, live_audit: LiveAudit | None = None, today: dt.date | None = None) -> int:
    """The audit (see the module docstring); ``live_audit`` and ``today`` are injectable for the tests."""
    today = today or dt.datetime.now(dt.UTC).date()
    entries = parse_ignore_file(args.ignore.read_text()) if args.ignore.exists() else []

    if args.requirement:
        installed: dict[str, str] = {}
        for path in args.requirement:
            installed.update(read_requirements(path))
        scope = ", ".join(str(p) for p in args.requirement)
    else:
        installed = installed_distributions()
        scope = f"the distributions installed for {sys.executable}"
    print(f"Dependency audit of {len(installed)} packages ({scope})")

    live: list[Finding] | None = None
    if args.no_live:
        print("live pip-audit: skipped (--no-live); falling back to the offline snapshot")
    else:
        live, note = (live_audit or live_pip_audit)(installed if args.requirement else None)
        if live is None:
            print(f"live pip-audit: no answer — {note}; falling back to the offline snapshot")
        else:
            print(f"live pip-audit: {note}; its answer is the result (the offline snapshot is not used)")
    findings = live if live is not None else snapshot_findings(args, installed, today)
    if findings is None:
        return NO_ADVISORY_DATA

    for note in apply_ignores(findings, entries, today):
        print(f"note: {note}")
    findings.sort(key=lambda f: (f.package, f.advisory_id))
    active = [f for f in findings if not f.ignored_reason]
    if findings:
        print()
        print_table(findings)
        print()
    print(
        f"{len(active)} known vulnerabilit{'y' if len(active) == 1 else 'ies'} "
        f"({len(findings) - len(active)} ignored) in {len(installed)} packages, "
        f"according to {'the live pip-audit' if live is not None else 'the offline snapshot'}"
    )
    return 1 if active else 0


# --- Refresh ----------------------------------------------------------------------------------------


def _git(git_dir: Path, *args: str) -> str:
    return subprocess.run(  # noqa: S603
        ["git", f"--git-dir={git_dir}", *args],  # noqa: S607
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def _read_blobs(git_dir: Path, specs: list[str]) -> Iterator[tuple[str, str]]:
    """(spec, text) for each `rev:path` spec, through one `git cat-file --batch`."""
    completed = subprocess.run(  # noqa: S603
        ["git", f"--git-dir={git_dir}", "cat-file", "--batch"],  # noqa: S607
        input="\n".join(specs).encode() + b"\n",
        capture_output=True,
        check=True,
    )
    data, position = completed.stdout, 0
    for spec in specs:
        header_end = data.index(b"\n", position)
        header = data[position:header_end].split()
        size = int(header[2])
        yield spec, data[header_end + 1 : header_end + 1 + size].decode()
        position = header_end + 1 + size + 1


def _summary(record: dict) -> str:
    text = (record.get("summary") or record.get("details") or "").strip()
    text = " ".join(text.split())
    return text if len(text) <= 160 else text[:157].rstrip() + "…"


def trim_record(record: dict, packages: set[str]) -> dict | None:
    """The fields the audit needs, for the `affected` entries naming one of `packages`; None if none does."""
    affected = []
    for entry in record.get("affected", []):
        name = _entry_package(entry)
        if name not in packages:
            continue
        ranges = [
            {"type": "ECOSYSTEM", "events": [{k: str(v) for k, v in e.items()} for e in r.get("events", [])]}
            for r in entry.get("ranges", [])
            if r.get("type") == "ECOSYSTEM"
        ]
        kept: dict = {"package": {"ecosystem": "PyPI", "name": name}}
        if ranges:
            kept["ranges"] = ranges
        # An explicit version already inside an ECOSYSTEM range adds nothing; keep only the others.
        versions = [
            str(v)
            for v in entry.get("versions", [])
            if parse_version(v) is None or not any(range_affects(r["events"], parse_version(v)) for r in ranges)
        ]
        if versions:
            kept["versions"] = versions
        if ranges or versions:
            affected.append(kept)
    if not affected:
        return None
    trimmed = {"id": record["id"]}
    if record.get("aliases"):
        trimmed["aliases"] = sorted(record["aliases"])
    trimmed["summary"] = _summary(record)
    if record.get("withdrawn"):
        trimmed["withdrawn"] = str(record["withdrawn"])
    trimmed["affected"] = affected
    return trimmed


def refresh(git_dir: Path, output: Path, packages: set[str]) -> dict:
    import yaml  # PyYAML, a runtime dependency; only the refresh needs it

    commit = _git(git_dir, "rev-parse", "HEAD").strip()
    commit_date = _git(git_dir, "show", "-s", "--format=%cI", commit).strip()
    commit_date = dt.datetime.fromisoformat(commit_date).astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    paths = [
        p
        for p in _git(git_dir, "ls-tree", "-r", "--name-only", commit, "vulns").splitlines()
        if p.endswith((".yaml", ".yml", ".json"))
    ]
    advisories = []
    for _spec, text in _read_blobs(git_dir, [f"{commit}:{p}" for p in paths]):
        record = yaml.safe_load(text)
        if isinstance(record, dict):
            trimmed = trim_record(record, packages)
            if trimmed:
                advisories.append(trimmed)
    advisories.sort(key=lambda a: (a["affected"][0]["package"]["name"], a["id"]))
    snapshot = {
        "source": {
            "repository": SOURCE_REPOSITORY,
            "commit": commit,
            "commit_date": commit_date,
            "licence": LICENCE,
            "attribution": ATTRIBUTION,
            "files_scanned": len(paths),
        },
        "generated": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        "generated_by": ".ci/audit.py --refresh",
        "packages": sorted(packages),
        "advisories": advisories,
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(snapshot, indent=1, ensure_ascii=False)
    # One advisory per line keeps the file short and its diffs readable.
    advisory_lines = ",\n".join("  " + json.dumps(a, ensure_ascii=False) for a in advisories)
    head = {key: value for key, value in snapshot.items() if key != "advisories"}
    text = json.dumps(head, indent=1, ensure_ascii=False)[:-2] + ',\n "advisories": [\n' + advisory_lines + "\n ]\n}\n"
    json.loads(text)  # stays valid JSON
    output.write_text(text)
    return snapshot


def main(argv: list[str] | None = None, *, live_audit: LiveAudit | None = None, today: dt.date | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n", 1)[0])
    parser.add_argument("-r", "--requirement", type=Path, action="append", default=[], help="audit these pins")
    parser.add_argument("--snapshot", type=Path, default=SNAPSHOT)
    parser.add_argument("--ignore", type=Path, default=IGNORE_FILE)
    parser.add_argument("--no-live", action="store_true", help="do not try the live pip-audit")
    parser.add_argument("--refresh", type=Path, metavar="GIT_DIR", help="rewrite the snapshot from this mirror")
    args = parser.parse_args(argv)
    try:
        if args.refresh:
            packages = set(installed_distributions())
            for path in args.requirement:
                packages |= set(read_requirements(path))
            snapshot = refresh(args.refresh, args.snapshot, packages)
            source = snapshot["source"]
            print(
                f"wrote {args.snapshot}: {len(snapshot['advisories'])} advisories for {len(packages)} packages from "
                f"{source['repository']} @ {source['commit']} ({source['commit_date']}), "
                f"{args.snapshot.stat().st_size} bytes"
            )
            age = snapshot_age_days(snapshot, today or dt.datetime.now(dt.UTC).date())
            if age > max_age_days():
                print(
                    f"WARNING: that commit is {age} days old (more than {MAX_AGE_VARIABLE}={max_age_days()}): "
                    "the audit will still fail without pip-audit; update the clone (`git fetch`) and refresh again"
                )
            return 0
        return audit(args, live_audit=live_audit, today=today)
    except AuditInputError as error:
        print(f"audit: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
