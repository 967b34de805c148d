"""The dependency audit (.ci/audit.py): live pip-audit first, else the offline snapshot within its age limit;
OSV range evaluation, the ignore list, the snapshot's coverage. No test reaches the network: the live result
is injected (``main(..., live_audit=...)``) or pip-audit's subprocess is replaced."""

import datetime as dt
import importlib.metadata
import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _load_audit():
    spec = importlib.util.spec_from_file_location("ci_audit", ROOT / ".ci" / "audit.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["ci_audit"] = module  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(module)
    return module


audit = _load_audit()


def advisory(affected, advisory_id="PYSEC-0000-1", **extra):
    return {"id": advisory_id, "aliases": ["CVE-0000-1"], "summary": "test", "affected": affected, **extra}


def ecosystem(name, *events, versions=None):
    entry = {"package": {"ecosystem": "PyPI", "name": name}, "ranges": [{"type": "ECOSYSTEM", "events": list(events)}]}
    if versions is not None:
        entry["versions"] = versions
    return entry


def affected_ids(advisories, installed):
    return [(f.package, f.advisory_id) for f in audit.evaluate(advisories, installed)]


# --- range evaluation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("0.9", False),
        ("1.0", True),
        ("1.4.2", True),
        ("1.5", False),  # fixed is exclusive
        ("1.9", False),
        ("2.0", True),
        ("2.1.0rc1", True),  # a pre-release of the fix is still affected
        ("2.1.0", False),
        ("3.0", False),
    ],
)
def test_introduced_fixed_with_two_branches(version, expected):
    # Events deliberately out of order: evaluators must sort them.
    events = [{"introduced": "2.0"}, {"fixed": "2.1.0"}, {"introduced": "1.0"}, {"fixed": "1.5"}]
    assert audit.range_affects(events, audit.Version(version)) is expected


@pytest.mark.parametrize(("version", "expected"), [("0.0a1", True), ("0.0.1", True), ("3.2", True), ("3.3", False)])
def test_introduced_zero_means_every_earlier_version(version, expected):
    assert audit.range_affects([{"introduced": "0"}, {"fixed": "3.3"}], audit.Version(version)) is expected


@pytest.mark.parametrize(("version", "expected"), [("1.1", False), ("1.2", True), ("2.4.1", True), ("2.4.2", False)])
def test_last_affected_is_inclusive(version, expected):
    events = [{"introduced": "1.2"}, {"last_affected": "2.4.1"}]
    assert audit.range_affects(events, audit.Version(version)) is expected


def test_introduced_without_fix_affects_every_later_version():
    assert audit.range_affects([{"introduced": "4.0"}], audit.Version("99.0"))
    assert not audit.range_affects([{"introduced": "4.0"}], audit.Version("3.9"))


def test_explicit_versions_list_and_git_ranges():
    entry = {
        "package": {"ecosystem": "PyPI", "name": "Some_Package"},
        "ranges": [{"type": "GIT", "repo": "https://example.org/x", "events": [{"introduced": "0"}, {"fixed": "abc"}]}],
        "versions": ["1.0", "1.1", "2.0.post1"],
    }
    records = [advisory([entry])]
    assert affected_ids(records, {"some-package": "1.1"}) == [("some-package", "PYSEC-0000-1")]
    assert affected_ids(records, {"some-package": "2.0.post1"}) == [("some-package", "PYSEC-0000-1")]
    assert affected_ids(records, {"some-package": "1.1.0"}) == [("some-package", "PYSEC-0000-1")]  # PEP 440 equal
    assert affected_ids(records, {"some-package": "1.2"}) == []  # GIT ranges are not version ranges


def test_versions_list_adds_to_ranges():
    records = [advisory([ecosystem("pkg", {"introduced": "2.0"}, {"fixed": "2.3"}, versions=["1.7"])])]
    assert affected_ids(records, {"pkg": "1.7"}) and affected_ids(records, {"pkg": "2.2"})
    assert affected_ids(records, {"pkg": "1.8"}) == []


def test_withdrawn_advisories_are_skipped():
    records = [advisory([ecosystem("pkg", {"introduced": "0"})], withdrawn="2024-01-01T00:00:00Z")]
    assert affected_ids(records, {"pkg": "1.0"}) == []


def test_other_ecosystems_and_packages_do_not_match():
    entry = ecosystem("pkg", {"introduced": "0"})
    entry["package"]["ecosystem"] = "npm"
    records = [advisory([entry]), advisory([ecosystem("other", {"introduced": "0"})], "PYSEC-0000-2")]
    assert affected_ids(records, {"pkg": "1.0"}) == []


def test_names_are_normalized():
    records = [advisory([ecosystem("Zope.Interface", {"introduced": "0"}, {"fixed": "5"})])]
    assert affected_ids(records, {"zope-interface": "4.0"}) == [("zope-interface", "PYSEC-0000-1")]


def test_finding_reports_fixed_versions():
    records = [
        advisory([ecosystem("pkg", {"introduced": "1"}, {"fixed": "1.5"}, {"introduced": "2"}, {"fixed": "2.1"})])
    ]
    (finding,) = audit.evaluate(records, {"pkg": "2.0"})
    assert finding.fixed == ["1.5", "2.1"]


# --- ignore list -------------------------------------------------------------------------------------

IGNORE_TEXT = """
# comment line
CVE-0000-1   2030-01-31  no fixed release yet; the vulnerable code path (x) is not used  # trailing comment
PYSEC-0000-9 2020-01-01  expired entry
"""


def test_ignore_list_matches_aliases_until_expiry():
    entries = audit.parse_ignore_file(IGNORE_TEXT)
    assert [(e.advisory_id, e.expires) for e in entries] == [
        ("CVE-0000-1", dt.date(2030, 1, 31)),
        ("PYSEC-0000-9", dt.date(2020, 1, 1)),
    ]
    records = [advisory([ecosystem("pkg", {"introduced": "0"})])]

    findings = audit.evaluate(records, {"pkg": "1.0"})
    assert audit.apply_ignores(findings, entries, dt.date(2030, 1, 31)) == []
    assert findings[0].ignored_reason.startswith("no fixed release yet")

    findings = audit.evaluate(records, {"pkg": "1.0"})
    audit.apply_ignores(findings, entries, dt.date(2030, 2, 1))
    assert findings[0].ignored_reason is None


def test_expired_entry_is_reported():
    records = [advisory([ecosystem("pkg", {"introduced": "0"})], "PYSEC-0000-9", aliases=[])]
    findings = audit.evaluate(records, {"pkg": "1.0"})
    notes = audit.apply_ignores(findings, audit.parse_ignore_file(IGNORE_TEXT), dt.date(2026, 1, 1))
    assert findings[0].ignored_reason is None
    assert notes == ["ignore entry for PYSEC-0000-9 expired on 2020-01-01; it no longer applies"]


@pytest.mark.parametrize("line", ["PYSEC-1 2030-01-01", "PYSEC-1 2030-01-01   # no reason", "PYSEC-1 someday why"])
def test_ignore_entries_need_a_date_and_a_reason(line):
    with pytest.raises(audit.AuditInputError):
        audit.parse_ignore_file(line)


# --- the command ---------------------------------------------------------------------------------------


def _snapshot(tmp_path, advisories, commit_date, packages=("pkg",)):
    path = tmp_path / "snapshot.json"
    source = {"repository": "r", "commit": "c" * 40, "commit_date": commit_date, "licence": "CC-BY-4.0"}
    path.write_text(json.dumps({"source": source, "packages": list(packages), "advisories": advisories}))
    return path


@pytest.fixture(autouse=True)
def _default_age_limit(monkeypatch):
    """The documented default limit (90 days), whatever the environment running the tests sets."""
    monkeypatch.delenv(audit.MAX_AGE_VARIABLE, raising=False)


def _run(tmp_path, snapshot, ignore_text="", *, live=None, today=None):
    """The command on ``pkg==1.0`` and ``other==2.0``; ``live``: the live pip-audit's injected answer
    ((findings or None, note)), else --no-live."""
    (tmp_path / "base.txt").write_text("pkg==1.0  # comment\n")
    (tmp_path / "req.txt").write_text("-r base.txt\nother[extra]==2.0\n")
    (tmp_path / "ignore.txt").write_text(ignore_text)
    argv = ["-r", str(tmp_path / "req.txt"), "--snapshot", str(snapshot), "--ignore", str(tmp_path / "ignore.txt")]
    if live is None:
        return audit.main([*argv, "--no-live"], today=today)
    asked = []

    def live_audit(pins):
        asked.append(pins)
        return live

    status = audit.main(argv, live_audit=live_audit, today=today)
    assert asked == [{"pkg": "1.0", "other": "2.0"}]  # the pins, not this environment
    return status


def _live_finding(advisory_id="GHSA-live", aliases=("CVE-0000-1",)):
    return audit.Finding("pkg", "1.0", advisory_id, list(aliases), ["1.1"], "found by pip-audit", "live")


def test_requirements_are_read_with_includes(tmp_path):
    (tmp_path / "base.txt").write_text("# Runtime, pinned (#1)\nDjango==5.2.19  # web\n")
    (tmp_path / "req.txt").write_text("-r base.txt\npsycopg[binary]==3.3.9\nruff==0.17.6 ; python_version >= '3'\n")
    assert audit.read_requirements(tmp_path / "req.txt") == {"django": "5.2.19", "psycopg": "3.3.9", "ruff": "0.17.6"}


def test_command_fails_on_a_finding_and_passes_when_ignored(tmp_path, capsys):
    today = dt.datetime.now(dt.UTC).date()
    fresh = f"{today - dt.timedelta(days=3)}T00:00:00Z"
    snapshot = _snapshot(tmp_path, [advisory([ecosystem("pkg", {"introduced": "0"}, {"fixed": "1.1"})])], fresh)

    assert _run(tmp_path, snapshot) == 1
    out = capsys.readouterr().out
    assert "PYSEC-0000-1" in out and "1.1" in out and "(3 days old)" in out
    assert "WARNING: the advisory snapshot is" not in out
    assert "not cut for 1 installed package(s)" in out and "other" in out

    assert _run(tmp_path, snapshot, f"CVE-0000-1 {today + dt.timedelta(days=30)} accepted for the test\n") == 0
    assert "IGNORED: accepted for the test" in capsys.readouterr().out

    assert _run(tmp_path, snapshot, "CVE-0000-1 no-date\n") == 2


def test_command_fails_with_a_stale_snapshot_and_says_how_to_refresh(tmp_path, capsys):
    """Without a live answer, a snapshot older than the limit cannot vouch for anything: no findings is no news."""
    snapshot = _snapshot(tmp_path, [advisory([ecosystem("pkg", {"introduced": "0"}, {"fixed": "1.0"})])], "2020-01-01")
    assert _run(tmp_path, snapshot) == audit.NO_ADVISORY_DATA == 3
    out = capsys.readouterr().out
    assert "FAILED: no usable advisory data" in out and "more than AUDIT_SNAPSHOT_MAX_AGE_DAYS=90" in out
    assert "make audit-refresh ADVISORY_DB=" in out and ".ci/audit.py --refresh" in out
    assert "known vulnerabilities" not in out  # no verdict from stale data

    unanswered = (None, "the vulnerability service is unreachable (pip-audit skipped all 2 packages)")
    assert _run(tmp_path, snapshot, live=unanswered) == 3
    assert "live pip-audit: no answer" in capsys.readouterr().out


@pytest.mark.parametrize(("age_days", "expected"), [(0, 0), (90, 0), (91, 3)])
def test_the_age_limit_is_90_days_of_the_snapshots_data(tmp_path, capsys, age_days, expected):
    today = dt.date(2026, 12, 5)
    committed = f"{today - dt.timedelta(days=age_days)}T23:59:59Z"  # the commit's date counts, not its time
    snapshot = _snapshot(tmp_path, [], committed, packages=("pkg", "other"))
    assert _run(tmp_path, snapshot, today=today) == expected
    out = capsys.readouterr().out
    assert f"({age_days} days old), limit 90 days" in out
    assert ("0 known vulnerabilities" in out) is (expected == 0)


def test_the_age_limit_is_configurable(tmp_path, monkeypatch):
    today = dt.date(2026, 12, 5)
    snapshot = _snapshot(tmp_path, [], f"{today - dt.timedelta(days=40)}T00:00:00Z", packages=("pkg", "other"))
    monkeypatch.setenv("AUDIT_SNAPSHOT_MAX_AGE_DAYS", "30")
    assert _run(tmp_path, snapshot, today=today) == 3
    monkeypatch.setenv("AUDIT_SNAPSHOT_MAX_AGE_DAYS", "45")
    assert _run(tmp_path, snapshot, today=today) == 0
    for bad in ("ninety", "-1", "1.5"):
        monkeypatch.setenv("AUDIT_SNAPSHOT_MAX_AGE_DAYS", bad)
        assert _run(tmp_path, snapshot, today=today) == 2


def test_a_fresh_snapshot_still_finds_and_fails(tmp_path, capsys):
    today = dt.date(2026, 12, 5)
    snapshot = _snapshot(tmp_path, [advisory([ecosystem("pkg", {"introduced": "0"})])], "2026-11-30", ("pkg", "other"))
    unanswered = (None, "pip-audit is not installed")
    assert _run(tmp_path, snapshot, live=unanswered, today=today) == 1
    out = capsys.readouterr().out
    assert "PYSEC-0000-1" in out and "according to the offline snapshot" in out


def test_a_live_answer_is_the_result_whatever_the_snapshots_age(tmp_path, capsys):
    """pip-audit answered: the snapshot is neither read nor judged (here it is years old, then missing)."""
    stale = _snapshot(tmp_path, [advisory([ecosystem("pkg", {"introduced": "0"})], "PYSEC-snapshot")], "2020-01-01")
    assert _run(tmp_path, stale, live=([], "audited 2 of 2 packages")) == 0
    out = capsys.readouterr().out
    assert "its answer is the result" in out and "snapshot:" not in out and "PYSEC-snapshot" not in out
    assert "0 known vulnerabilities (0 ignored) in 2 packages, according to the live pip-audit" in out

    assert _run(tmp_path, tmp_path / "missing.json", live=([_live_finding()], "audited 2 of 2 packages")) == 1
    out = capsys.readouterr().out
    assert "GHSA-live" in out and "1.1" in out and "1 known vulnerability" in out

    ignore = f"CVE-0000-1 {dt.date.today() + dt.timedelta(days=30)} accepted for the test\n"
    assert _run(tmp_path, tmp_path / "missing.json", ignore, live=([_live_finding()], "audited 2 of 2")) == 0
    assert "IGNORED: accepted for the test" in capsys.readouterr().out


def test_live_audit_unavailable_without_pip_audit(monkeypatch):
    monkeypatch.setattr(audit.importlib.util, "find_spec", lambda name: None)
    assert audit.live_pip_audit() == (None, "pip-audit is not installed")


def test_live_audit_that_skipped_everything_counts_as_unavailable(monkeypatch):
    report = {"dependencies": [{"name": "a", "skip_reason": "not found"}, {"name": "b", "skip_reason": "not found"}]}
    completed = audit.subprocess.CompletedProcess([], 0, stdout=json.dumps(report), stderr="")
    monkeypatch.setattr(audit.importlib.util, "find_spec", lambda name: object())
    monkeypatch.setattr(audit.subprocess, "run", lambda *args, **kwargs: completed)
    findings, note = audit.live_pip_audit()
    assert findings is None and "skipped all 2 packages" in note


def test_live_audit_reads_pip_audits_findings_and_skips(monkeypatch):
    report = {
        "dependencies": [
            {
                "name": "Pkg",
                "version": "1.0",
                "vulns": [{"id": "GHSA-xxxx", "aliases": ["CVE-0000-1"], "fix_versions": ["1.1"]}],
            },
            {"name": "b", "skip_reason": "not found"},
        ]
    }
    completed = audit.subprocess.CompletedProcess([], 0, stdout=json.dumps(report), stderr="")
    monkeypatch.setattr(audit.importlib.util, "find_spec", lambda name: object())
    monkeypatch.setattr(audit.subprocess, "run", lambda *args, **kwargs: completed)
    live, note = audit.live_pip_audit()
    assert note.startswith("audited 1 of 2 packages") and note.endswith("not audited (pip-audit skipped them): b")
    assert [(f.package, f.advisory_id, f.aliases, f.fixed, f.source) for f in live] == [
        ("pkg", "GHSA-xxxx", ["CVE-0000-1"], ["1.1"], "live")
    ]


# --- the checked-in snapshot -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def snapshot():
    return audit.load_snapshot(audit.SNAPSHOT)


def test_snapshot_header_records_its_source(snapshot):
    source = snapshot["source"]
    assert source["repository"] == "https://github.com/pypa/advisory-database"
    assert len(source["commit"]) == 40
    assert dt.datetime.fromisoformat(source["commit_date"])
    assert "CC-BY-4.0" in source["licence"]


def test_snapshot_covers_every_installed_distribution(snapshot):
    """A new dependency needs a refreshed snapshot: `make audit-refresh ADVISORY_DB=…` (see .ci/audit.py)."""
    installed = {audit.normalize(d.metadata["Name"]) for d in importlib.metadata.distributions()}
    missing = sorted(installed - set(snapshot["packages"]))
    assert not missing, f"installed but not covered by the advisory snapshot: {missing}"


def test_snapshot_covers_every_pin(snapshot):
    pins = audit.read_requirements(ROOT / "requirements-dev.txt")
    assert "django" in pins and "pytest" in pins
    assert not sorted(set(pins) - set(snapshot["packages"]))


def test_snapshot_only_holds_advisories_for_its_packages(snapshot):
    packages = set(snapshot["packages"])
    assert snapshot["advisories"]
    for record in snapshot["advisories"]:
        assert record["id"] and record["affected"]
        assert {entry["package"]["name"] for entry in record["affected"]} <= packages


def test_pinned_requirements_have_no_unignored_findings(snapshot):
    """The snapshot's verdict on our pins, judged on the day of its data: its age is the gate's business
    (`make audit`, tests above), not this test's, which would otherwise fail 90 days after each refresh."""
    day_of_data = dt.datetime.fromisoformat(snapshot["source"]["commit_date"]).date()
    assert audit.main(["-r", str(ROOT / "requirements-dev.txt"), "--no-live"], today=day_of_data) == 0
