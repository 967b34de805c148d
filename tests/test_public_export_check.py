"""bench/public_export_check.py's independent file totals (rows and cost per provider and currency, read with the
stdlib csv module only) on committed public exports, against figures computed by hand with a second method."""

from decimal import Decimal
from pathlib import Path

import pytest

from bench.public_export_check import file_totals

PUBLIC = Path(__file__).parent / "ingest" / "fixtures" / "billing" / "public"


def _summary(path: str) -> dict:
    totals = file_totals(PUBLIC / path)
    return {
        "dialect": totals["dialect"],
        "cost_column": totals["cost_column"],
        "rows": totals["rows"],
        "by_provider": totals["by_provider"],
    }


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        # awk -F, (no quoted cells in the file): 14 rows, every BillingCurrency USD, every ServiceProviderName
        # "Acme Co" (no ProviderName column); sum($BilledCost) = 1200, sum($EffectiveCost) = 1200 (the Purchase
        # row bills 1200 at EffectiveCost 0, the usage rows carry it amortized).
        (
            "focus/focus-spec-saas_spend_agreements_b2.csv",
            {
                "dialect": "focus",
                "cost_column": "effectivecost",
                "rows": 14,
                "by_provider": {
                    "acme co/USD": {"rows": 14, "cost": Decimal("1200"), "billed_cost": Decimal("1200")},
                },
            },
        ),
        # awk -F, (no quoted cells): 3 rows, USD, ServiceProviderName "ACMECORP"; BilledCost 0 + 0 + 0,
        # EffectiveCost 490 + 20 + 720 = 1230: the cost is EffectiveCost, BilledCost is reported beside it.
        (
            "focus/focus-spec-virtual_currency_pricing_model_a2.csv",
            {
                "dialect": "focus",
                "cost_column": "effectivecost",
                "rows": 3,
                "by_provider": {
                    "acmecorp/USD": {"rows": 3, "cost": Decimal("1230"), "billed_cost": Decimal("0")},
                },
            },
        ),
        # pandas.read_csv(dtype=str): 27 rows, BillingCurrencyCode CAD on all, sum of Decimal(CostInBillingCurrency)
        # = 1.26136926505726.
        (
            "azure/focus_converters-sample-anonymous-ea-export-dataset.csv",
            {
                "dialect": "azure",
                "cost_column": "costinbillingcurrency",
                "rows": 27,
                "by_provider": {"azure/CAD": {"rows": 27, "cost": Decimal("1.26136926505726")}},
            },
        ),
    ],
)
def test_file_totals_match_a_second_method(path, expected):
    assert _summary(path) == expected


def test_file_totals_keep_each_row_for_the_rejected_rows_cost():
    lines = file_totals(PUBLIC / "focus" / "focus-spec-virtual_currency_pricing_model_a2.csv")["lines"]
    assert sorted(lines) == [2, 3, 4]  # row numbers as the importer counts them: the header is row 1
    assert [lines[number][:2] for number in (2, 3, 4)] == [
        ("acmecorp/USD", Decimal("490")),
        ("acmecorp/USD", Decimal("20")),
        ("acmecorp/USD", Decimal("720")),
    ]
