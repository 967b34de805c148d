"""No secret is committed: every file git tracks is scanned for keys, tokens and passwords that look real.

The patterns are those of common leaks (private keys, AWS and GitHub keys, Slack tokens, our own API tokens,
a literal Django SECRET_KEY, passwords in URLs). Test fixtures use obviously fake values, listed below.
"""

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PATTERNS = {
    "private key": re.compile(r"-----BEGIN (?:RSA |EC |OPENSSH |DSA )?PRIVATE KEY-----"),
    "AWS access key id": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"),
    "Slack token": re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}\b"),
    "GreenGuild API token": re.compile(r"\bgg_[A-Za-z0-9_-]{43}\b"),
    "literal SECRET_KEY": re.compile(r"""^\s*SECRET_KEY\s*=\s*["']([^"']{20,})["']""", re.M),
    "password in a URL": re.compile(r"\b[a-z][a-z0-9+.-]*://[^/\s:@]+:([^@\s/]{6,})@"),
}
# Passwords that are placeholders on purpose: CI's throwaway PostgreSQL role and docker-compose's local one.
ALLOWED_URL_PASSWORDS = {"postgres", "greenguild", "password"}
# The DEBUG-only development key (frontend/settings.py) and the settings test's made-up production key.
ALLOWED_KEY_PREFIXES = ("insecure-", "a-production-like-")
BINARY = (".png", ".parquet", ".gz", ".pdf", ".xlsx", ".ico", ".woff", ".woff2")


def _tracked_files() -> list[Path]:
    try:
        listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return [ROOT / name for name in listed.stdout.decode().split("\0") if name and not name.endswith(BINARY)]


def test_no_file_git_tracks_holds_a_secret():
    found = []
    for path in _tracked_files():
        try:
            text = path.read_text(encoding="utf-8", errors="ignore")
        except (IsADirectoryError, FileNotFoundError):
            continue
        for name, pattern in PATTERNS.items():
            for match in pattern.finditer(text):
                if name == "password in a URL" and match.group(1) in ALLOWED_URL_PASSWORDS:
                    continue
                if name == "literal SECRET_KEY" and match.group(1).startswith(ALLOWED_KEY_PREFIXES):
                    continue
                found.append(f"{path.relative_to(ROOT)}: {name}: {match.group(0)[:40]}")
    assert not found, "\n".join(found)


@pytest.mark.parametrize(
    ("name", "text"),
    [
        # Made up, and cut in two so that this file passes its own scan.
        ("private key", "-----BEGIN RSA " + "PRIVATE KEY-----"),
        ("AWS access key id", "key = AKIA" + "ABCDEFGHIJKLMNOP"),
        ("GreenGuild API token", "gg_" + "a" * 43),
        ("literal SECRET_KEY", 'SECRET_KEY = "django-insecure-abcdefghijklmnopqrstuvwxyz"'),
        ("password in a URL", "postgres://app:" + "s3cr3t-pass@db/prod"),
    ],
)
def test_the_scan_recognises_each_kind_of_secret(name, text):
    assert PATTERNS[name].search(text)
