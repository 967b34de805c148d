"""zone_time_zones.csv: one IANA time zone per shipped grid zone, each with its reason, source and licence."""

import csv
from zoneinfo import ZoneInfo

from emissions.reference import DATA_DIR
from emissions.zone_time_zones import ZONE_TIME_ZONES_CSV, zone_time_zone


def _rows(path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_every_grid_zone_has_one_time_zone_with_its_provenance():
    rows = _rows(ZONE_TIME_ZONES_CSV)
    codes = [row["zone_code"] for row in rows]
    assert len(codes) == len(set(codes))
    assert set(codes) == {row["code"] for row in _rows(DATA_DIR / "grid_zones.csv")}
    for row in rows:
        assert row["basis"].strip() and row["source"].strip() and row["licence"].strip(), row["zone_code"]
        ZoneInfo(row["time_zone"])  # raises for a name this tz database does not know


def test_countries_and_subdivisions_keep_their_own_clocks():
    expected = {
        "FR": "Europe/Paris",
        "DE": "Europe/Berlin",
        "IN": "Asia/Kolkata",
        "US": "America/New_York",
        "US-VA": "America/New_York",
        "US-CA": "America/Los_Angeles",
        "US-AZ": "America/Phoenix",
        "CA-ON": "America/Toronto",
        "CA-BC": "America/Vancouver",
        "AU-NSW": "Australia/Sydney",
        "AU-WA": "Australia/Perth",
        "CN-GD": "Asia/Shanghai",
    }
    assert {code: zone_time_zone(code).key for code in expected} == expected
    assert zone_time_zone("XX-TEST") is None
