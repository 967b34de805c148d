"""The shipped reference data loads completely, keeps its provenance and can be loaded again safely."""

import csv
import io
import shutil

import pytest
from django.core.management import call_command

from emissions import reference
from emissions.choices import AssetClass, FactorKind
from emissions.models import (
    CloudRegion,
    FactorDataset,
    FuelFactor,
    GlobalWarmingPotential,
    GridEnergyMix,
    GridFactor,
    GridZone,
    HardwareModel,
)
from emissions.reference import ReferenceDataError, reference_data_load

MODELS = (
    CloudRegion,
    FactorDataset,
    FuelFactor,
    GlobalWarmingPotential,
    GridEnergyMix,
    GridFactor,
    GridZone,
    HardwareModel,
)


def csv_rows(file: str) -> list[dict[str, str]]:
    with open(reference.DATA_DIR / file, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def snapshot() -> dict[str, list[dict]]:
    """Every column of every loaded row, so a second load can be compared value by value."""
    return {model.__name__: list(model.objects.order_by("pk").values()) for model in MODELS}


@pytest.fixture
def counts() -> dict[str, int]:
    return reference_data_load()


@pytest.mark.django_db
def test_it_loads_every_row_minus_documented_skips(counts):
    country = csv_rows("grid_intensity_country.csv")
    # Documented skip: CAF's 0 g/kWh lifecycle intensity is a source artefact (docs/reference-data.md).
    country_loaded = [row for row in country if float(row["intensity_g_per_kwh"]) != 0]
    assert [row["country_iso3"] for row in country if row not in country_loaded] == ["CAF"]
    fuels_with_value = [row for row in csv_rows("fuel_factors.csv") if row["kg_co2e_per_unit"]]

    expected = {
        "FactorDataset": len(csv_rows("datasets.csv")),
        "GridZone": len(csv_rows("grid_zones.csv")),
        "GridFactor": len(country_loaded)
        + len(csv_rows("grid_intensity_us_state.csv"))
        + len(csv_rows("grid_intensity_eea.csv"))
        + len(csv_rows("grid_intensity_subnational.csv")),
        "GridEnergyMix": len(country_loaded),
        "CloudRegion": len(csv_rows("cloud_regions.csv")),
        "HardwareModel": len(csv_rows("hardware_embodied.csv")),
        "GlobalWarmingPotential": len(csv_rows("gwp_ar6.csv")),
        "FuelFactor": len(fuels_with_value),
    }
    assert {name: counts[name] for name in expected} == expected
    assert {model.__name__: model.objects.count() for model in MODELS} == expected
    assert counts["skipped"] == 1 + len(csv_rows("fuel_factors.csv")) - len(fuels_with_value)
    assert expected["FactorDataset"] == 8
    assert expected["FuelFactor"] == 4


@pytest.mark.django_db
def test_it_changes_nothing_on_a_second_run(counts):
    before = snapshot()
    again = reference_data_load()
    assert again["created"] == again["updated"] == 0
    assert {key: value for key, value in again.items() if key not in ("created", "updated")} == {
        key: value for key, value in counts.items() if key not in ("created", "updated")
    }
    assert snapshot() == before


@pytest.mark.django_db
def test_every_row_keeps_source_and_licence(counts):
    for model in (GridFactor, HardwareModel, GridEnergyMix, GlobalWarmingPotential, FuelFactor, FactorDataset):
        assert not model.objects.filter(source="").exists(), model.__name__
        assert not model.objects.filter(licence="").exists(), model.__name__
    assert not CloudRegion.objects.filter(licence="").exists()
    assert not CloudRegion.objects.filter(intensity_source="").exists()
    assert not CloudRegion.objects.filter(pue_source="").exists()


@pytest.mark.django_db
def test_row_source_text_is_the_csvs(counts):
    h100 = next(row for row in csv_rows("hardware_embodied.csv") if row["hardware_model"] == "NVIDIA H100 SXM 80GB")
    model = HardwareModel.objects.get(name="NVIDIA H100 SXM 80GB")
    assert (model.source, model.licence) == (h100["source"], h100["licence"])


@pytest.mark.django_db
def test_zones_have_their_parents(counts):
    virginia = GridZone.objects.get(code="US-VA")
    assert virginia.parent.code == "US"
    assert virginia.country_iso3 == "USA"
    assert GridZone.objects.get(code="CA-QC").parent.code == "CA"
    assert GridZone.objects.get(code="DE").country_iso3 == "DEU"
    assert GridZone.objects.filter(parent__code="US").count() == 51  # 50 states + DC


@pytest.mark.django_db
def test_cloud_regions_resolve_zones(counts):
    us_east_1 = CloudRegion.objects.get(provider="aws", region="us-east-1")
    assert us_east_1.zone.code == "US-VA"
    assert us_east_1.pue == pytest.approx(1.135)
    assert us_east_1.dataset.name == "ccf-cloud-regions"
    # GCP multi-regions have no single zone and no intensity (CCF stores a sum there, not an intensity).
    gcp_us = CloudRegion.objects.get(provider="gcp", region="us")
    assert gcp_us.zone is None
    assert gcp_us.intensity_g_per_kwh is None


@pytest.mark.django_db
def test_hardware_models_carry_range_lifetime_and_gpu_count(counts):
    h100 = HardwareModel.objects.get(name="NVIDIA H100 SXM 80GB")
    assert (h100.embodied_kg_co2e, h100.embodied_low_kg_co2e, h100.embodied_high_kg_co2e) == (164, 150, 575.1)
    assert h100.default_lifetime_years == 5
    assert (h100.asset_class, h100.gpu_count) == (AssetClass.GPU, 1)
    assert HardwareModel.objects.get(name="NVIDIA HGX H100 8-GPU baseboard").gpu_count == 8
    assert HardwareModel.objects.get(name__startswith="8x NVIDIA H100 SXM 80GB server").gpu_count == 8
    assert HardwareModel.objects.get(name__startswith="GPU server node excluding GPUs").gpu_count == 0
    dell = HardwareModel.objects.get(name="Dell PowerEdge R740")
    assert (dell.asset_class, dell.gpu_count, dell.default_lifetime_years) == (AssetClass.SERVER, 0, 4)


@pytest.mark.django_db
def test_country_factors_are_lifecycle_with_the_csvs_year_and_value(counts):
    deu = next(row for row in csv_rows("grid_intensity_country.csv") if row["country_iso3"] == "DEU")
    factor = GridFactor.objects.get(zone__code="DE", kind=FactorKind.LIFECYCLE)
    assert factor.year == int(deu["year"])
    assert factor.intensity_g_per_kwh == float(deu["intensity_g_per_kwh"])
    assert factor.dataset.name == "ember-owid"
    assert not GridFactor.objects.filter(zone__code="CF").exists()


@pytest.mark.django_db
def test_direct_factors_come_from_egrid_and_eea(counts):
    germany = GridFactor.objects.get(zone__code="DE", kind=FactorKind.LOCATION, dataset__name="eea-via-ccf")
    assert germany.intensity_g_per_kwh == 311
    newer = GridFactor.objects.get(zone__code="DE", kind=FactorKind.LOCATION, dataset__name="official-subnational")
    assert (newer.year, newer.intensity_g_per_kwh) == (2024, 291)  # EEA 2024: the newest year wins
    national = GridFactor.objects.get(zone__code="US", kind=FactorKind.LOCATION)
    assert (national.dataset.name, national.year, national.intensity_g_per_kwh) == ("egrid", 2023, 349.667)
    assert GridFactor.objects.filter(kind=FactorKind.LOCATION, zone__parent__code="US").count() == 51


@pytest.mark.django_db
def test_energy_mix_shares_add_up_to_100(counts):
    for mix in GridEnergyMix.objects.all():
        total = mix.fossil_share_pct + mix.nuclear_share_pct + mix.renewable_share_pct
        assert total == pytest.approx(100, abs=0.05), mix.zone_id


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("file", "old", "new", "message"),
    [
        ("hardware_embodied.csv", "NVIDIA T4,gpu,70,", "NVIDIA T4,gpu,seventy,", "column 'tdp_w' is not a number"),
        ("cloud_regions.csv", "aws,us-east-2,US East (Ohio),US-OH,", "aws,us-east-2,US East (Ohio),XX-YY,", "XX-YY"),
        ("gwp_ar6.csv", "NF3,17400,", "NF3,", "expected 6 fields"),
    ],
)
def test_it_fails_loudly_on_a_malformed_row(tmp_path, monkeypatch, file, old, new, message):
    shutil.copytree(reference.DATA_DIR, tmp_path, dirs_exist_ok=True)
    path = tmp_path / file
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    line = next(number for number, content in enumerate(text.splitlines(), start=1) if old in content)
    monkeypatch.setattr(reference, "DATA_DIR", tmp_path)

    with pytest.raises(ReferenceDataError, match=rf"^{file} line {line}: .*{message}"):
        reference_data_load()
    # The whole load is one transaction: nothing from the files before the bad row stays.
    assert not FactorDataset.objects.exists()
    assert not GridZone.objects.exists()


@pytest.mark.django_db
def test_the_command_reports_counts_and_then_nothing_changed():
    first, second = io.StringIO(), io.StringIO()
    call_command("load_reference_data", stdout=first)
    call_command("load_reference_data", stdout=second)
    assert "CloudRegion: 182" in first.getvalue()
    assert "skipped grid_intensity_country.csv" in first.getvalue()
    assert "Nothing changed" in second.getvalue()
