"""The inputs digest decides whether a stored calculation is reused: it must change with the content of any
row or factor the ledger reads (not only with sums and counts), and with nothing another organization does."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import partial

import pytest
from django.db import transaction
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from emissions import cloud_tables, digests, selectors
from emissions.choices import FactorKind, InstrumentKind
from emissions.cloud_estimation import coefficient_tables_load, estimate
from emissions.models import (
    CloudRegion,
    CloudUsage,
    EnergyInstrument,
    FactorDataset,
    FuelFactor,
    FuelUse,
    GridFactor,
    HourlyIntensity,
    MeterReading,
    Run,
    RunSample,
)
from emissions.periods import month_end, period_parse
from emissions.records import CloudUsageRecord
from emissions.selectors import inventory_inputs_digest, inventory_summary
from emissions.services.cloud import cloud_usage_upsert_many
from emissions.services.ledger import METHODOLOGY_VERSION, inventory_calculate, inventory_ensure
from tests.factories import GridZoneFactory, RunFactory, SiteFactory, TeamFactory


@pytest.fixture(params=["database", "streamed"])
def digest_path(request, monkeypatch):
    """Both ways of digesting rows: in the database (PostgreSQL; SQLite streams anyway) and streamed in Python."""
    if request.param == "streamed":
        monkeypatch.setattr(digests, "_postgres_rows_digest", digests._streamed_rows_digest)
    return request.param


def _digest(organization) -> str:
    return inventory_inputs_digest(organization=organization, methodology_version=METHODOLOGY_VERSION)


@pytest.fixture
def de(db):
    """Zone DE with shipped monthly location factors for January and February 2025 (300 and 310 g/kWh)."""
    zone = GridZoneFactory(code="DE")
    dataset = FactorDataset.objects.create(name="test", version="1", title="t", source="test", licence="test")
    for month, value in ((1, 300.0), (2, 310.0)):
        GridFactor.objects.create(
            dataset=dataset, zone=zone, kind=FactorKind.LOCATION, year=2025, month=month, intensity_g_per_kwh=value,
            source="test", licence="test",
        )  # fmt: skip
    return zone


@pytest.fixture
def lab(org_a, de):
    """Org A's owned site in DE, metered 100 kWh in January and 200 kWh in February 2025."""
    site = SiteFactory(organization=org_a, zone=de, slug="lab")
    for month, kwh in ((1, 100.0), (2, 200.0)):
        start = date(2025, month, 1)
        MeterReading.objects.create(site=site, period_start=start, period_end=month_end(start), energy_kwh=kwh)
    return site


@pytest.mark.django_db
def test_moving_kwh_between_two_months_readings_changes_it(org_a, lab, digest_path):
    before = _digest(org_a)
    january, february = MeterReading.objects.filter(site=lab).order_by("period_start")
    MeterReading.objects.filter(pk=january.pk).update(energy_kwh=150.0)
    MeterReading.objects.filter(pk=february.pk).update(energy_kwh=150.0)  # the total stays 300 kWh
    assert _digest(org_a) != before


@pytest.mark.django_db
def test_swapping_two_grid_factors_values_changes_it(org_a, lab, digest_path):
    before = _digest(org_a)
    january, february = GridFactor.objects.order_by("month")
    GridFactor.objects.filter(pk=january.pk).update(intensity_g_per_kwh=february.intensity_g_per_kwh)
    GridFactor.objects.filter(pk=february.pk).update(intensity_g_per_kwh=january.intensity_g_per_kwh)
    assert _digest(org_a) != before


@pytest.mark.django_db
def test_one_hourly_intensity_added_or_changed_changes_it(org_a, lab, de, digest_path):
    dataset = FactorDataset.objects.create(name="hourly", version="1", title="t", source="test", licence="test")
    hour = datetime(2025, 1, 1, tzinfo=UTC)
    HourlyIntensity.objects.create(dataset=dataset, zone=de, hour_start=hour, intensity_g_per_kwh=250.0)
    before = _digest(org_a)
    HourlyIntensity.objects.create(
        dataset=dataset, zone=de, hour_start=hour + timedelta(hours=1), intensity_g_per_kwh=260.0
    )
    added = _digest(org_a)
    HourlyIntensity.objects.filter(hour_start=hour).update(intensity_g_per_kwh=251.0)
    assert len({before, added, _digest(org_a)}) == 3


@pytest.mark.django_db
def test_hourly_intensities_count_for_the_zones_the_organization_uses(org_a, lab, digest_path):
    """A zone's hourly series counts once a billing line's region lies in it, not before."""
    fr = GridZoneFactory(code="FR", name="France", country_iso3="FRA")
    dataset = FactorDataset.objects.create(name="hourly", version="1", title="t", source="test", licence="test")
    CloudRegion.objects.create(dataset=dataset, provider="aws", region="eu-west-3", zone=fr, pue=1.135, licence="t")
    hour = datetime(2025, 3, 1, tzinfo=UTC)
    HourlyIntensity.objects.create(dataset=dataset, zone=fr, hour_start=hour, intensity_g_per_kwh=50.0)
    before = _digest(org_a)
    HourlyIntensity.objects.filter(zone=fr).update(intensity_g_per_kwh=55.0)
    assert _digest(org_a) == before  # org A has nothing in France yet
    _billing_import(org_a, batch=1, region="eu-west-3")
    billed = _digest(org_a)
    HourlyIntensity.objects.filter(zone=fr).update(intensity_g_per_kwh=60.0)
    assert _digest(org_a) != billed


@pytest.mark.django_db
def test_certificate_hourly_residual_mix_and_sample_edits_each_change_it(org_a, lab, de, digest_path):
    """Edits the ledger reads, none of which changes a count: a certificate's vintage end moved by one day (its
    pro-rata cover of March changes: 15/31 → 16/31 of the month), one hourly intensity, a residual-mix factor's
    value, and the energy of one sample of a run crossing the January/February boundary (its split between the
    two months: 6 + 4 kWh → 5 + 4 kWh)."""
    vintage = {"vintage_start": date(2025, 1, 1), "vintage_end": date(2025, 3, 15)}
    EnergyInstrument.objects.create(
        organization=org_a, instrument_id="C", kind=InstrumentKind.REC, zone=de, energy_mwh=1.0, **vintage
    )
    hourly = FactorDataset.objects.create(name="hourly", version="1", title="t", source="test", licence="test")
    HourlyIntensity.objects.create(
        dataset=hourly, zone=de, hour_start=datetime(2025, 1, 1, tzinfo=UTC), intensity_g_per_kwh=250.0
    )
    shipped = FactorDataset.objects.get(name="test")
    residual = {"kind": FactorKind.RESIDUAL_MIX, "year": 2025, "month": 1, "source": "test", "licence": "test"}
    GridFactor.objects.create(dataset=shipped, zone=de, intensity_g_per_kwh=400.0, **residual)
    run = _spanning_run(org_a, lab)
    seen = [_digest(org_a)]
    EnergyInstrument.objects.filter(instrument_id="C").update(vintage_end=date(2025, 3, 16))
    seen.append(_digest(org_a))
    HourlyIntensity.objects.filter(zone=de).update(intensity_g_per_kwh=251.0)
    seen.append(_digest(org_a))
    GridFactor.objects.filter(kind=FactorKind.RESIDUAL_MIX).update(intensity_g_per_kwh=401.0)
    seen.append(_digest(org_a))
    RunSample.objects.filter(run=run, dedupe_key="jan").update(energy_kwh=5.0)
    seen.append(_digest(org_a))
    assert len(set(seen)) == 5


def _spanning_run(organization, site) -> Run:
    """A 10 kWh run from 31 January 20:00 to 1 February 04:00 with samples of 6 kWh (31 January) and 4 kWh."""
    start = datetime(2025, 1, 31, 20, tzinfo=UTC)
    run = RunFactory(
        organization=organization,
        site=site,
        external_id="span",
        started_at=start,
        ended_at=start + timedelta(hours=8),
        energy_kwh=10.0,
    )
    for key, hours, kwh in (("jan", 2, 6.0), ("feb", 6, 4.0)):
        RunSample.objects.create(run=run, recorded_at=start + timedelta(hours=hours), dedupe_key=key, energy_kwh=kwh)
    return run


@pytest.mark.django_db
def test_the_shipped_coefficient_tables_are_part_of_it(org_a, lab, monkeypatch):
    """The cloud coefficient CSVs are read at calculation time, not loaded as rows: their bytes' hash is part of the
    digest, so a release that changes one of them recalculates."""
    before = _digest(org_a)
    monkeypatch.setattr(selectors, "coefficient_tables_digest", lambda: "another release of the tables")
    assert _digest(org_a) != before


def test_the_coefficient_tables_hash_covers_every_file_the_loader_reads(tmp_path, monkeypatch):
    """``COEFFICIENT_FILES`` is what ``coefficient_tables_load`` opens, and one changed byte in any of them (here
    an embodied figure of hardware_embodied.csv) changes the hash."""
    opened = []
    read_rows = cloud_tables._rows

    def recording_rows(directory, name):
        opened.append(name)
        return read_rows(directory, name)

    monkeypatch.setattr(cloud_tables, "_rows", recording_rows)
    cloud_tables.coefficient_tables_load.__wrapped__(cloud_tables.REFERENCE_DIR)  # not the per-process cache
    assert sorted(set(opened)) == sorted(cloud_tables.COEFFICIENT_FILES)
    shipped, edited = tmp_path / "shipped", tmp_path / "edited"
    for directory in (shipped, edited):
        directory.mkdir()
        for name in cloud_tables.COEFFICIENT_FILES:
            (directory / name).write_bytes((cloud_tables.REFERENCE_DIR / name).read_bytes())
    embodied = (edited / "hardware_embodied.csv").read_text(encoding="utf-8")
    first_row = embodied.splitlines()[1]
    assert first_row.count(",") > 2
    (edited / "hardware_embodied.csv").write_text(embodied.replace(first_row, first_row.replace(",", ",9", 1), 1))
    assert cloud_tables.coefficient_tables_digest(shipped) != cloud_tables.coefficient_tables_digest(edited)
    assert cloud_tables.coefficient_tables_digest(shipped) == cloud_tables.coefficient_tables_digest()


def _billing_line(key: str, team: str, region: str) -> CloudUsageRecord:
    return CloudUsageRecord(
        provider="aws", billing_account="payer", account_id="123", billing_period=date(2025, 3, 1),
        line_item_key=key, charge_category="usage", service="AmazonEC2", sku="", usage_type="BoxUsage:m5.large",
        instance_type="m5.large", region=region, usage_start=datetime(2025, 3, 1, tzinfo=UTC),
        usage_end=datetime(2025, 3, 1, 1, tzinfo=UTC), usage_quantity=1.0, usage_unit="hour", cost=0.115,
        currency="USD", tags=(("team", team),),
    )  # fmt: skip


def _billing_import(organization, batch: int, region: str = "eu-central-1") -> None:
    """Two EC2 lines, tagged for teams ``a-team`` and ``b2-team``, as one import batch."""
    tables = coefficient_tables_load()
    lines = [_billing_line("l1", "a-team", region), _billing_line("l2", "b2-team", region)]
    cloud_usage_upsert_many(
        organization=organization, records=lines, estimator=partial(estimate, tables=tables), source_batch_id=batch
    )


@pytest.mark.django_db
def test_billing_lines_reattributed_change_it_an_identical_reimport_does_not(org_a, digest_path):
    TeamFactory(organization=org_a, slug="b2-team")
    _billing_import(org_a, batch=1)
    first = _digest(org_a)
    _billing_import(org_a, batch=2)  # the same file again: only the batch stamps change
    assert CloudUsage.objects.filter(source_batch_id=2).count() == 2
    assert _digest(org_a) == first
    # The two lines swap owners (a corrected allocation): same ids, same sum of team ids, same row digests.
    one, two = CloudUsage.objects.order_by("line_item_key")
    CloudUsage.objects.filter(pk=one.pk).update(team_id=two.team_id)
    CloudUsage.objects.filter(pk=two.pk).update(team_id=one.team_id)
    assert _digest(org_a) != first


@pytest.mark.django_db
def test_another_organizations_changes_leave_it_alone(org_a, org_b, lab, de, digest_path):
    fr = GridZoneFactory(code="FR", name="France", country_iso3="FRA")
    other_site = SiteFactory(organization=org_b, zone=fr, slug="paris")
    before = _digest(org_a)
    MeterReading.objects.create(
        site=other_site, period_start=date(2025, 1, 1), period_end=date(2025, 1, 31), energy_kwh=5.0
    )
    RunFactory(organization=org_b, site=other_site)
    own = FactorDataset.objects.create(organization=org_b, name="own", version="1", title="t", source="b", licence="b")
    GridFactor.objects.create(
        dataset=own, organization=org_b, zone=de, kind=FactorKind.LOCATION, year=2025, intensity_g_per_kwh=1.0,
        source="b", licence="b",
    )  # fmt: skip
    # An hourly series of a zone only org B uses: org A's ledger never reads it.
    HourlyIntensity.objects.create(
        dataset=own, zone=fr, hour_start=datetime(2025, 1, 1, tzinfo=UTC), intensity_g_per_kwh=50.0
    )
    _billing_import(org_b, batch=3)
    assert _digest(org_a) == before


# --- property: the served inventory equals a fresh one after any sequence of edits -------------------------------

MONTHS = st.integers(min_value=1, max_value=4)
KWH = st.sampled_from([100.0, 50.0, 0.0, 200.0])  # the world's runs and readings start at 100 kWh
G_PER_KWH = st.sampled_from([300.0, 310.0, 250.0, 100.0])
VINTAGE_ENDS = st.sampled_from([date(2025, 1, 20), date(2025, 2, 15), date(2025, 3, 31)])
CHECK = st.tuples(st.just("check"), st.sampled_from(["2025", "2025-Q1"]))
EDITS = st.one_of(
    CHECK,
    CHECK,
    st.tuples(st.just("reading"), MONTHS, KWH),  # import or correct a month's meter reading
    st.tuples(st.just("reading_move"), MONTHS, MONTHS),  # a reading was filed under the wrong month
    st.tuples(st.just("reading_delete"), MONTHS),
    st.tuples(st.just("run"), st.integers(0, 2), MONTHS, KWH),  # import or correct a run (date and energy)
    st.tuples(st.just("run_delete"), st.integers(0, 2)),
    st.tuples(st.just("fuel"), st.integers(0, 1), MONTHS, KWH),  # import or correct a fuel use (date, quantity)
    st.tuples(st.just("fuel_delete"), st.integers(0, 1)),
    st.tuples(st.just("factor"), st.booleans(), st.sampled_from([None, 1, 2, 3]), G_PER_KWH),
    st.tuples(st.just("factor_delete"), st.booleans(), st.sampled_from([None, 1, 2, 3])),
    # A certificate corrected (its vintage end: pro rata within a month, or past February) or withdrawn.
    st.tuples(st.just("certificate"), VINTAGE_ENDS, st.sampled_from([0.05, 0.1, 0.3])),
    st.tuples(st.just("certificate_delete")),
    st.tuples(st.just("hourly"), st.sampled_from([0, 300, 743]), G_PER_KWH),  # one hour of January's series
    st.tuples(st.just("hourly_delete"), st.sampled_from([0, 743])),  # the series incomplete: the monthly factor
    st.tuples(st.just("residual"), st.sampled_from([None, 1, 2, 3]), G_PER_KWH),
    st.tuples(st.just("residual_delete"), st.sampled_from([None, 1, 2, 3])),
    st.tuples(st.just("sample"), st.sampled_from(["jan", "feb"]), st.sampled_from([1.0, 4.0, 6.0, 9.0])),
)


class _World:
    """Org A's inputs, edited the way imports and corrections edit them (keys as the importers key them)."""

    def __init__(self, organization, site, shipped, own, hourly):
        self.organization, self.site, self.datasets = organization, site, {False: shipped, True: own}
        self.hourly = hourly

    def apply(self, edit: tuple) -> None:
        getattr(self, f"_{edit[0]}")(*edit[1:])

    def _reading(self, month: int, kwh: float) -> None:
        start = date(2025, month, 1)
        MeterReading.objects.update_or_create(
            site=self.site, period_start=start, period_end=month_end(start), defaults={"energy_kwh": kwh}
        )

    def _reading_move(self, month: int, to: int) -> None:
        start, target = date(2025, month, 1), date(2025, to, 1)
        if not MeterReading.objects.filter(site=self.site, period_start=target).exists():
            MeterReading.objects.filter(site=self.site, period_start=start).update(
                period_start=target, period_end=month_end(target)
            )

    def _reading_delete(self, month: int) -> None:
        MeterReading.objects.filter(site=self.site, period_start=date(2025, month, 1)).delete()

    def _run(self, slot: int, month: int, kwh: float) -> None:
        started_at = datetime(2025, month, 10 + slot, 8, tzinfo=UTC)
        values = {"started_at": started_at, "ended_at": started_at + timedelta(hours=2), "energy_kwh": kwh}
        # A correction arrives as a bulk update (no save(), so no updated_at): only the content shows it.
        if not Run.objects.filter(organization=self.organization, external_id=f"r{slot}").update(**values):
            RunFactory(organization=self.organization, site=self.site, external_id=f"r{slot}", **values)

    def _run_delete(self, slot: int) -> None:
        Run.objects.filter(organization=self.organization, external_id=f"r{slot}").delete()

    def _fuel(self, slot: int, month: int, litres: float) -> None:
        uses = FuelUse.objects.filter(organization=self.organization, fuel=f"diesel-{slot}")
        if not uses.update(used_on=date(2025, month, 5), quantity=litres):
            FuelUse.objects.create(
                organization=self.organization, site=self.site, used_on=date(2025, month, 5), fuel=f"diesel-{slot}",
                unit="litre", quantity=litres,
            )  # fmt: skip

    def _fuel_delete(self, slot: int) -> None:
        FuelUse.objects.filter(organization=self.organization, fuel=f"diesel-{slot}").delete()

    def _factor(self, own: bool, month: int | None, value: float) -> None:
        GridFactor.objects.update_or_create(
            dataset=self.datasets[own], zone=self.site.zone, kind=FactorKind.LOCATION, year=2025, month=month,
            defaults={"intensity_g_per_kwh": value, "organization": self.organization if own else None,
                      "source": "test", "licence": "test"},
        )  # fmt: skip

    def _factor_delete(self, own: bool, month: int | None) -> None:
        GridFactor.objects.filter(dataset=self.datasets[own], kind=FactorKind.LOCATION, month=month).delete()

    def _certificate(self, vintage_end: date, mwh: float) -> None:
        values = {"kind": InstrumentKind.REC, "zone": self.site.zone, "vintage_start": date(2025, 1, 1)}
        EnergyInstrument.objects.update_or_create(
            organization=self.organization,
            instrument_id="C1",
            defaults={**values, "vintage_end": vintage_end, "energy_mwh": mwh},
        )

    def _certificate_delete(self) -> None:
        EnergyInstrument.objects.filter(organization=self.organization, instrument_id="C1").delete()

    def _hourly(self, hour: int, value: float) -> None:
        hour_start = datetime(2025, 1, 1, tzinfo=UTC) + timedelta(hours=hour)
        HourlyIntensity.objects.update_or_create(
            dataset=self.hourly, zone=self.site.zone, hour_start=hour_start, defaults={"intensity_g_per_kwh": value}
        )

    def _hourly_delete(self, hour: int) -> None:
        first = datetime(2025, 1, 1, tzinfo=UTC)
        HourlyIntensity.objects.filter(dataset=self.hourly, hour_start=first + timedelta(hours=hour)).delete()

    def _residual(self, month: int | None, value: float) -> None:
        GridFactor.objects.update_or_create(
            dataset=self.datasets[False],
            zone=self.site.zone,
            kind=FactorKind.RESIDUAL_MIX,
            year=2025,
            month=month,
            defaults={"intensity_g_per_kwh": value, "source": "test", "licence": "test"},
        )

    def _residual_delete(self, month: int | None) -> None:
        GridFactor.objects.filter(kind=FactorKind.RESIDUAL_MIX, month=month).delete()

    def _sample(self, key: str, kwh: float) -> None:
        # A live sample corrected in place: the spanning run's split between January and February moves.
        RunSample.objects.filter(run__external_id="span", dedupe_key=key).update(energy_kwh=kwh)

    def _check(self, label: str) -> None:
        period = period_parse(label)
        served = inventory_summary(calculation=inventory_ensure(organization=self.organization, period=period))
        fresh = inventory_summary(calculation=inventory_calculate(organization=self.organization, period=period))
        assert _comparable(served) == _comparable(fresh), label


def _comparable(summary: dict) -> dict:
    """The summary without its calculation's id, floats to 9 significant digits (sums of the same records)."""

    def rounded(value):
        if isinstance(value, float):
            return float(f"{value:.9g}")
        if isinstance(value, dict):
            return {key: rounded(item) for key, item in value.items()}
        if isinstance(value, list):
            return [rounded(item) for item in value]
        return value

    return rounded({key: value for key, value in summary.items() if key != "calculation_id"})


@pytest.fixture
def world(org_a, lab):
    """Org A's metered lab (January 100 kWh, February 200 kWh at 300 and 310 g/kWh; every hour of January loaded at
    300 g/kWh), a 100 kWh run in January, a 10 kWh run across the January/February boundary with samples of 6 and
    4 kWh, 100 litres of diesel in March and certificate C1 (vintage 1 January–15 February, 0.1 MWh); two fuels
    and an organization dataset for its own factors."""
    shipped = FactorDataset.objects.get(name="test")
    own = FactorDataset.objects.create(organization=org_a, name="own", version="1", title="t", source="a", licence="a")
    hourly = FactorDataset.objects.create(name="hourly", version="1", title="t", source="test", licence="test")
    for slot in (0, 1):
        FuelFactor.objects.create(
            dataset=shipped, fuel=f"diesel-{slot}", unit="litre", kg_co2e_per_unit=2.7, source="t", licence="t"
        )
    first = datetime(2025, 1, 1, tzinfo=UTC)
    HourlyIntensity.objects.bulk_create(
        HourlyIntensity(dataset=hourly, zone=lab.zone, hour_start=first + timedelta(hours=h), intensity_g_per_kwh=300.0)
        for h in range(31 * 24)
    )
    _spanning_run(org_a, lab)
    world = _World(org_a, lab, shipped, own, hourly)
    world.apply(("run", 0, 1, 100.0))
    world.apply(("fuel", 0, 3, 100.0))
    world.apply(("certificate", date(2025, 2, 15), 0.1))
    return world


@pytest.mark.django_db
@settings(max_examples=20, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(edits=st.lists(EDITS, min_size=1, max_size=6))
# Corrections that keep every sum (the previous digest's blind spots), always tried.
@example(edits=[("run", 0, 2, 100.0)])  # a run's date corrected: January's meter no longer covers it
@example(edits=[("reading_move", 2, 3)])  # February's reading was March's (another monthly factor)
@example(edits=[("check", "2025-Q1"), ("fuel", 0, 4, 100.0), ("check", "2025-Q1")])  # March's diesel was April's
@example(edits=[("factor", False, 1, 310.0), ("factor", False, 2, 300.0)])  # two factors' values swapped
@example(edits=[("certificate", date(2025, 1, 20), 0.1)])  # a vintage end corrected: February no longer covered
@example(edits=[("hourly", 300, 100.0)])  # one hour of January's series corrected
@example(edits=[("residual", 2, 250.0)])  # February's residual mix loaded
# January's reading withdrawn (the spanning run is then unmetered there), then its live sample corrected.
@example(edits=[("reading_delete", 1), ("check", "2025"), ("sample", "jan", 9.0)])
@example(edits=[("sample", "jan", 9.0)])  # the metered spanning run's split between its months' meters
def test_served_inventory_equals_a_fresh_one_after_any_edits(world, edits):
    """Whatever imports, corrections and deletions happened, ``inventory_ensure`` (which reuses the stored
    calculation when the digest is unchanged) serves what ``inventory_calculate`` computes from scratch."""
    with transaction.atomic():  # each example starts from the fixture's world
        world.apply(("check", "2025"))
        for edit in edits:
            world.apply(edit)
        world.apply(("check", "2025"))
        transaction.set_rollback(True)
