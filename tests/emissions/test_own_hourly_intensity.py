"""An organization's own hourly grid intensity (``grid_intensity_hourly``): imported into its own dataset,
read only by it (``HourlyIntensity.objects.visible_to``), and winning over shipped hours of the same zone.

Zone DE, 2026-06-01. Shipped: yearly location 300 g and residual mix 400 g, a yearly mix half carbon-free, and
an hourly dataset of 100 g/kWh with a 60 % carbon-free share every hour (no hourly residual mix).
"""

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from emissions.choices import FactorKind
from emissions.factor_book import FactorBook
from emissions.models import (
    Calculation,
    EmissionRecord,
    FactorDataset,
    GranularCertificate,
    GridEnergyMix,
    GridFactor,
    GridZone,
    HourlyIntensity,
    HourlyMeterReading,
)
from emissions.periods import Period
from emissions.selectors import inventory_inputs_digest
from emissions.services.hourly_scope2 import organization_hourly_scope2
from emissions.services.ledger import ledger_refresh
from ingest.models import ImportBatch
from ingest.parsers.source_sniff import header_source
from ingest.services import import_batch_create, import_batch_process
from reporting.guild.techniques import technique_savings
from reporting.guild.whatif import whatif_replay
from tests.factories import GridZoneFactory, RunFactory, SiteFactory
from tests.reporting.test_guild_techniques import JULY_1, _row, _run, hourly_site, project  # noqa: F401 (fixtures)
from tests.reporting.test_guild_whatif import Q3, replay_org  # noqa: F401 (fixture)

DAY = datetime(2026, 6, 1, tzinfo=UTC)
JUNE_1 = Period(label="2026-06-01", start=date(2026, 6, 1), end=date(2026, 6, 1))
FIXTURE = Path(__file__).resolve().parent.parent / "ingest" / "fixtures" / "inventory" / "grid_intensity_hourly.csv"
HEADER = "zone,hour_start,intensity_g_per_kwh,residual_g_per_kwh,carbon_free_share_pct\n"


@pytest.fixture
def shipped(db):
    de = GridZoneFactory(code="DE")
    GridZoneFactory(code="FR", name="France", country_iso3="FRA")
    dataset = FactorDataset.objects.create(name="grid", version="1", title="t", source="t", licence="t")
    for kind, value in [(FactorKind.LOCATION, 300.0), (FactorKind.RESIDUAL_MIX, 400.0)]:
        GridFactor.objects.create(
            dataset=dataset, zone=de, kind=kind, year=2026, intensity_g_per_kwh=value, source="t", licence="t"
        )
    GridEnergyMix.objects.create(
        dataset=dataset, zone=de, year=2026, fossil_share_pct=50, nuclear_share_pct=10, renewable_share_pct=40,
        source="t", licence="t",
    )  # fmt: skip
    hourly = FactorDataset.objects.create(name="hourly-shipped", version="1", title="t", source="t", licence="t")
    HourlyIntensity.objects.bulk_create(
        HourlyIntensity(
            dataset=hourly,
            zone=de,
            hour_start=DAY + timedelta(hours=h),
            intensity_g_per_kwh=100.0,
            carbon_free_share_pct=60.0,
        )
        for h in range(24)
    )
    return de


def _import(organization, text: str) -> ImportBatch:
    batch = import_batch_create(
        organization=organization, source="grid_intensity_hourly", filename="own.csv", content=text.encode()
    )
    return import_batch_process(batch=batch)


def _day_file(zone: str, value: str, hours=range(24)) -> str:
    """A ``grid_intensity_hourly`` file: ``value`` (the cells after the hour) for each hour of 2026-06-01."""
    return HEADER + "".join(f"{zone},2026-06-01T{h:02d}:00:00Z,{value}\n" for h in hours)


def _counts(batch: ImportBatch) -> tuple:
    return batch.status, batch.rows_total, batch.rows_loaded, batch.rows_duplicate, batch.rows_rejected


def _flat_day(site, kwh: float = 10.0) -> None:
    for h in range(24):
        HourlyMeterReading.objects.create(site=site, hour_start=DAY + timedelta(hours=h), energy_kwh=kwh)


# --- the import ---------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_file_loads_into_the_organizations_own_dataset_and_a_resent_hour_replaces(org_a, shipped, media_root):
    batch = _import(org_a, FIXTURE.read_text())
    assert _counts(batch) == ("done", 4, 4, 0, 0)
    dataset = FactorDataset.objects.get(organization=org_a)
    assert (dataset.name, dataset.version) == ("own-hourly-intensity", "1")
    rows = {
        (zone, hour): (intensity, residual, share)
        for zone, hour, intensity, residual, share in HourlyIntensity.objects.filter(dataset=dataset).values_list(
            "zone__code", "hour_start", "intensity_g_per_kwh", "residual_g_per_kwh", "carbon_free_share_pct"
        )
    }
    assert rows == {
        ("DE", DAY): (412.5, 598.0, 38.5),
        ("DE", DAY + timedelta(hours=1)): (405.1, 590.2, 40.1),
        ("DE", DAY + timedelta(hours=12)): (180.0, None, 71.0),  # 14:00+02:00
        ("FR", DAY): (32.0, None, None),
    }
    assert _counts(_import(org_a, FIXTURE.read_text())) == ("done", 4, 0, 4, 0)  # the same file: duplicates
    corrected = HEADER + "DE,2026-06-01T02:00:00+02:00,400.0,,\n"  # 00:00 UTC again, residual and share dropped
    assert _counts(_import(org_a, corrected)) == ("done", 1, 1, 0, 0)
    assert HourlyIntensity.objects.filter(dataset=dataset).count() == 4  # replaced, never added
    row = HourlyIntensity.objects.get(dataset=dataset, zone__code="DE", hour_start=DAY)
    assert (row.intensity_g_per_kwh, row.residual_g_per_kwh, row.carbon_free_share_pct) == (400.0, None, None)
    assert FactorDataset.objects.filter(organization=org_a).count() == 1


@pytest.mark.django_db
def test_bad_rows_name_the_row_and_reason_and_the_others_load(org_a, shipped, media_root):
    text = HEADER + (
        "DE,2026-06-01T00:00:00Z,400,,\n"
        "XX,2026-06-01T00:00:00Z,400,,\n"
        "DE,2026-06-01T01:00:00Z,-1,,\n"
        "DE,2026-06-01T02:00:00Z,400,-5,\n"
        "DE,2026-06-01T03:00:00Z,400,,101\n"
        "DE,2026-06-01T04:00:00Z,400,,-1\n"
        "DE,2026-06-01T05:30:00Z,400,,\n"
        "DE,2026-06-01T06:00:00,400,,\n"
        "de,2026-06-01T07:00:00Z,400,500,50\n"
    )
    batch = _import(org_a, text)
    assert _counts(batch) == ("partial", 9, 2, 0, 7)
    errors = {e.row_number: (e.column, e.reason) for e in batch.row_errors.all()}
    assert errors[3] == ("", "unknown grid zone 'XX' (see /admin/emissions/gridzone/)")
    assert errors[4] == ("intensity_g_per_kwh", "intensity_g_per_kwh -1 is below the minimum 0")
    assert errors[5] == ("residual_g_per_kwh", "residual_g_per_kwh -5 is below the minimum 0")
    assert errors[6] == (
        "carbon_free_share_pct",
        "carbon_free_share_pct 101 is above 100: write the share in percent, 0–100",
    )
    assert errors[7] == ("carbon_free_share_pct", "carbon_free_share_pct -1 is below the minimum 0")
    assert errors[8][0] == "hour_start" and "is not the start of an hour" in errors[8][1]
    assert errors[9][0] == "hour_start" and "has no UTC offset" in errors[9][1]
    own = HourlyIntensity.objects.filter(dataset__organization=org_a)
    assert sorted(own.values_list("hour_start", flat=True)) == [DAY, DAY + timedelta(hours=7)]


def test_the_upload_form_detects_the_file():
    assert header_source(FIXTURE.read_text().splitlines()[0].split(",")) == "grid_intensity_hourly"


# --- tenant safety and precedence ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_another_organizations_own_hours_never_reach_this_ones_figures(org_a, org_b, shipped, media_root):
    """Shipped hours cover only 00:00–12:00 here; org B loads its own DE hours for the whole day (900 g location,
    950 g residual, 5 % carbon-free). Org A must see the shipped half-day and its yearly factors, whatever the
    order of the datasets: had it read org B's hours, they would fill the afternoon."""
    HourlyIntensity.objects.filter(hour_start__gte=DAY + timedelta(hours=12)).delete()
    lab = SiteFactory(organization=org_a, slug="lab", zone=shipped)
    _flat_day(lab)
    digest = inventory_inputs_digest(organization=org_a, methodology_version="t")
    assert _counts(_import(org_b, _day_file("DE", "900,950,5"))) == ("done", 24, 24, 0, 0)

    # Org A's run factors: the shipped 100 g over shipped hours; none where an hour has no shipped value.
    book = FactorBook(org_a)
    run_factor = book.hourly_over(zone="DE", start_at=DAY + timedelta(hours=2), end_at=DAY + timedelta(hours=4.5))
    assert (run_factor.value, run_factor.dataset) == (100.0, "hourly-shipped 1")
    assert book.hourly_over(zone="DE", start_at=DAY + timedelta(hours=11), end_at=DAY + timedelta(hours=13)) is None
    assert book.hourly_mean(zone="DE", start=JUNE_1.start, end=JUNE_1.end) is None
    # Org A's hourly Scope 2 (240 kWh, no certificate). Location: 120 kWh × 100 g + 120 kWh × the yearly 300 g =
    # 48 kg. Market: no hourly residual, the yearly 400 g: 96 kg. CFE: (60 % × 120 + 50 % × 120) / 240 = 55 %.
    [site] = organization_hourly_scope2(organization=org_a, period=JUNE_1).sites
    assert site.location_kg_co2e == pytest.approx(48.0) and site.market_kg_co2e == pytest.approx(96.0)
    assert site.cfe_score == pytest.approx(0.55)
    assert (site.hours_without_hourly_factor, site.hours_without_hourly_cfe) == (12, 12)
    # Org A's inputs did not change: nothing of its ledger is recomputed.
    assert inventory_inputs_digest(organization=org_a, methodology_version="t") == digest
    # Org B reads its own, over the shipped hours too.
    assert FactorBook(org_b).hourly_mean(zone="DE", start=JUNE_1.start, end=JUNE_1.end).value == 900.0


@pytest.mark.django_db
def test_hand_computed_hourly_scope2_with_the_organizations_own_residual_mix(org_a, org_b, shipped, media_root):
    """Lab: a flat 10 kWh an hour (240 kWh); solar certificates of 20 kWh an hour from 06:00 to 18:00.
    Own hours: 200 g location everywhere; at night (00–06, 18–24) a 500 g residual mix and a 30 % carbon-free
    share; by day the own file leaves both empty (the shipped 60 % share applies, and the day is all matched).

    Location: 240 kWh × 200 g (own, not the shipped 100) = 48 kg. Market: the day's 120 kWh are matched (0 g);
    the night's 120 kWh × 500 g (own residual, not the yearly 400) = 60 kg. CFE: 120 kWh matched + 30 % × 120
    kWh of night grid = 156 of 240 = 65 %. Org B, which sees only shipped hours: 24 kg, 48 kg and 80 %.
    """
    for org, slug in ((org_a, "lab"), (org_b, "b-lab")):
        _flat_day(SiteFactory(organization=org, slug=slug, zone=shipped))
        for h in range(6, 18):
            GranularCertificate.objects.create(
                organization=org, certificate_id=f"pv-{h}", zone=shipped, hour_start=DAY + timedelta(hours=h),
                energy_kwh=20.0, energy_source="solar",
            )  # fmt: skip
    night, day = [*range(6), *range(18, 24)], range(6, 18)
    own = _day_file("DE", "200,500,30", night) + _day_file("DE", "200,,", day)[len(HEADER) :]
    assert _counts(_import(org_a, own)) == ("done", 24, 24, 0, 0)

    [site] = organization_hourly_scope2(organization=org_a, period=JUNE_1).sites
    assert (site.load_kwh, site.matched_kwh) == (240.0, 120.0)
    assert site.location_kg_co2e == pytest.approx(48.0)
    assert site.market_kg_co2e == pytest.approx(60.0)
    assert site.cfe_score == pytest.approx(0.65)
    assert (site.hours_without_hourly_factor, site.hours_without_hourly_cfe) == (0, 0)
    # Org B: shipped hours only. Location 240 × 100 g = 24 kg; market: night 120 kWh × the yearly 400 g = 48 kg;
    # CFE (120 + 60 % × 120) / 240 = 80 %.
    [b_site] = organization_hourly_scope2(organization=org_b, period=JUNE_1).sites
    assert (b_site.location_kg_co2e, b_site.market_kg_co2e) == (pytest.approx(24.0), pytest.approx(48.0))
    assert b_site.cfe_score == pytest.approx(0.8)


@pytest.mark.django_db
def test_own_hours_win_over_shipped_and_shipped_fill_what_own_leave_empty(org_a, org_b, shipped, media_root):
    # Own hours 00 and 01 only: 250 g; hour 00 gives its own residual (520 g), hour 01 none.
    _import(org_a, HEADER + "DE,2026-06-01T00:00:00Z,250,520,\nDE,2026-06-01T01:00:00Z,250,,\n")
    GridZone.objects.get(code="DE").hourly_intensities.filter(
        dataset__name="hourly-shipped", hour_start=DAY + timedelta(hours=1)
    ).update(residual_g_per_kwh=450.0)
    values = (
        HourlyIntensity.objects.visible_to(org_a)
        .filter(hour_start__lt=DAY + timedelta(hours=3))
        .by_hour("intensity_g_per_kwh", "residual_g_per_kwh", "carbon_free_share_pct")
    )
    assert values == {
        ("DE", DAY): (250.0, 520.0, 60.0),  # own intensity and residual, shipped share (own left it empty)
        ("DE", DAY + timedelta(hours=1)): (250.0, 450.0, 60.0),  # own intensity, shipped residual and share
        ("DE", DAY + timedelta(hours=2)): (100.0, None, 60.0),  # shipped only
    }
    # A run from 00:30 to 02:30: half an hour at 250, an hour at 250, half an hour at 100 → 212.5 g.
    factor = FactorBook(org_a).hourly_over(
        zone="DE", start_at=DAY + timedelta(minutes=30), end_at=DAY + timedelta(hours=2, minutes=30)
    )
    assert factor.value == pytest.approx((0.5 * 250 + 250 + 0.5 * 100) / 2)
    assert factor.dataset == "hourly-shipped 1; own-hourly-intensity 1"
    # The day's mean: 2 own hours at 250, 22 shipped at 100 → (500 + 2,200) / 24 = 112.5 g; org B: 100 g.
    assert FactorBook(org_a).hourly_mean(zone="DE", start=JUNE_1.start, end=JUNE_1.end).value == pytest.approx(112.5)
    assert FactorBook(org_b).hourly_mean(zone="DE", start=JUNE_1.start, end=JUNE_1.end).value == pytest.approx(100.0)


@pytest.mark.django_db
def test_loading_own_hours_recomputes_the_ledger_and_another_organizations_do_not(org_a, org_b, shipped, media_root):
    """A run in DE from 02:00 to 04:30 on 2026-06-01, 10 kWh: at the shipped 100 g, 1.0 kg; after org A loads
    its own 200 g hours, the refresh recomputes it: 2.0 kg. Org B's own hours recompute nothing of org A."""
    energy = {"energy_kwh": 10.0, "gpu_energy_kwh": 10.0, "cpu_energy_kwh": 0.0, "ram_energy_kwh": 0.0}
    run = RunFactory(
        organization=org_a, project=org_a.projects.get(slug="a-project"), grid_zone=shipped,
        started_at=DAY + timedelta(hours=2), ended_at=DAY + timedelta(hours=4, minutes=30), duration_s=9000.0,
        **energy,
    )  # fmt: skip
    today = date(2026, 6, 10)

    def run_kg() -> float:
        quarter = Calculation.objects.get(
            organization=org_a, period_start=date(2026, 4, 1), period_end=date(2026, 6, 30), superseded_by=None
        )
        records = EmissionRecord.objects.filter(calculation=quarter, run=run, energy_kwh__isnull=False)
        return sum(record.emissions_kg_co2e_location for record in records)

    ledger_refresh(today=today)
    assert run_kg() == pytest.approx(1.0)
    calculations = Calculation.objects.filter(organization=org_a).count()
    _import(org_b, _day_file("DE", "900,,"))
    ledger_refresh(today=today)
    assert Calculation.objects.filter(organization=org_a).count() == calculations  # org A's inputs are unchanged
    _import(org_a, _day_file("DE", "200,,"))
    ledger_refresh(today=today)
    assert Calculation.objects.filter(organization=org_a).count() > calculations
    assert run_kg() == pytest.approx(2.0)


@pytest.mark.django_db
def test_another_organizations_own_hours_never_change_this_ones_what_if(replay_org, org_b):  # noqa: F811
    """The what-if "hour" scenario of test_guild_whatif: ``big`` (40 kg from 00:00 for 2 h at 400 g) started 3 h
    later. Shipped HI hours hold 00–02 h but not 03–05 h, so org A gets the daily profile; org B's own 03 and 04 h
    at 0 g must not fill them (they would make it 0 kg). Org A's own 200 g hours are used: 40 × 200 / 400 = 20 kg."""
    hi = GridZone.objects.get(code="HI")

    def own(organization, value):
        dataset = FactorDataset.objects.create(
            organization=organization, name="own-hourly-intensity", version="1", title="t", source="t", licence="t"
        )
        for hour in (3, 4):
            HourlyIntensity.objects.create(
                dataset=dataset, zone=hi, hour_start=datetime(2026, 7, 1, hour, tzinfo=UTC), intensity_g_per_kwh=value
            )

    def big():
        result = whatif_replay(
            organization=replay_org.organization, project=replay_org, period=Q3, scenario="hour",
            options={"shift_h": "3"},
        )  # fmt: skip
        return next(run for run in result.runs if run.external_id == "big")

    own(org_b, 0.0)
    assert big().note == "daily profile (no hourly data)" and big().replay_kg_co2e > 0
    own(replay_org.organization, 200.0)
    assert (big().note, big().replay_kg_co2e) == ("hourly intensity of the zone", pytest.approx(20.0))


@pytest.mark.django_db
def test_another_organizations_own_hours_never_change_this_ones_technique_savings(project, hourly_site, org_b):  # noqa: F811
    """The carbon-aware-scheduling case of test_guild_techniques: 68.75 % saving from shipped hours. Org B's own
    hours of HR (02:00 at 10,000 g, and 04:00, which no shipped dataset holds) change nothing of it."""
    dataset = FactorDataset.objects.create(
        organization=org_b, name="own-hourly-intensity", version="1", title="t", source="t", licence="t"
    )
    for hour in (2, 4):
        HourlyIntensity.objects.create(
            dataset=dataset, zone=hourly_site.zone, hour_start=JULY_1 + timedelta(hours=hour), intensity_g_per_kwh=1e4
        )
    one_hour = {"kwh": 10.0, "hours": 1.0, "site": hourly_site}
    for minutes in (17 * 60, 17 * 60 + 30):
        _run(project, start=JULY_1 + timedelta(minutes=minutes), **one_hour)
    for minutes in (2 * 60, 2 * 60 + 30):
        _run(project, start=JULY_1 + timedelta(minutes=minutes), techniques=["carbon_aware_scheduling"], **one_hour)
    row = _row(project, "carbon_aware_scheduling")
    assert row["saving_pct"] == pytest.approx(68.75) and row["intensity_source"] == "hourly intensity"
    # A tagged run at 03:30 touches 04:00, which only org B holds: org A has no hourly value for it, so the
    # group falls back to the ledger (which holds no figure here) rather than to org B's hour.
    _run(project, start=JULY_1 + timedelta(hours=3, minutes=30), techniques=["carbon_aware_scheduling"], **one_hour)
    [row] = [r for r in technique_savings(project=project) if r["technique"] == "carbon_aware_scheduling"]
    assert row["intensity_source"] != "hourly intensity"


def test_every_read_of_hourly_intensity_goes_through_visible_to():
    """The chokepoint: outside the loaders (inventory import, the shipped-data command) and the admin, no module
    of the four apps reads ``HourlyIntensity.objects`` without ``visible_to``."""
    root = Path(__file__).resolve().parents[2]
    writers = {"emissions/services/inventory.py", "emissions/management/commands/load_hourly_intensity.py"}
    unscoped = []
    for package in ("emissions", "ingest", "reporting", "frontend"):
        for path in (root / package).rglob("*.py"):
            name = str(path.relative_to(root))
            if name in writers or "/migrations/" in name:
                continue
            text = path.read_text(encoding="utf-8")
            position = text.find("HourlyIntensity.objects")
            while position >= 0:
                if not text.startswith(".visible_to", position + len("HourlyIntensity.objects")):
                    unscoped.append(f"{name}:{text.count(chr(10), 0, position) + 1}")
                position = text.find("HourlyIntensity.objects", position + 1)
    assert unscoped == []
