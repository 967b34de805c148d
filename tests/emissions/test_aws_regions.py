"""AWS commercial regions newer than CCF's table resolve to a grid zone the ledger has a factor for.

Uses the shipped reference data (``load_reference_data``). The rows carry no published intensity, so the
ledger prices them at their zone's location factor: ``FactorBook.location`` is the lookup it uses
(``LocationFactors.block`` → ``FactorBook.best_location``).
"""

import pytest

from emissions.factor_book import FactorBook
from emissions.models import CloudRegion

# Region → grid zone (botocore endpoints.json @0e6e2404b85d, partition "aws"; see SOURCES.md §3).
NEW_AWS_REGIONS = {
    "ap-south-2": "IN",  # Asia Pacific (Hyderabad)
    "ap-southeast-4": "AU-VIC",  # Asia Pacific (Melbourne)
    "ap-southeast-5": "MY",  # Asia Pacific (Malaysia)
    "ap-southeast-6": "NZ",  # Asia Pacific (New Zealand)
    "ap-southeast-7": "TH",  # Asia Pacific (Thailand)
    "ap-east-2": "TW",  # Asia Pacific (Taipei)
    "ca-west-1": "CA-AB",  # Canada West (Calgary)
    "eu-central-2": "CH",  # Europe (Zurich)
    "eu-south-2": "ES",  # Europe (Spain)
    "il-central-1": "IL",  # Israel (Tel Aviv)
    "mx-central-1": "MX",  # Mexico (Central)
}


@pytest.mark.django_db
@pytest.mark.parametrize(("region", "zone"), sorted(NEW_AWS_REGIONS.items()))
def test_new_aws_region_has_a_location_factor_for_2025(reference, org_a, region, zone):
    cloud_region = CloudRegion.objects.select_related("zone").get(provider="aws", region=region)
    assert cloud_region.zone is not None and cloud_region.zone.code == zone
    assert cloud_region.pue == 1.135 and cloud_region.intensity_g_per_kwh is None
    assert "boto/botocore" in cloud_region.intensity_source and "Apache-2.0" in cloud_region.licence

    factor = FactorBook(org_a).location(zone=zone, year=2025, month=3)
    assert factor is not None, f"no location factor for {zone} in 2025"
    assert factor.zone == zone and factor.value > 0  # the zone's own factor, not its parent's
