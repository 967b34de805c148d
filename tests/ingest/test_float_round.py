"""``round_like_python`` gives Python's ``round(value, digits)`` for every value, bit for bit."""

import math

import numpy as np
import pytest

from ingest.float_round import round_like_python

_RNG = np.random.default_rng(20261206)
_SPECIAL = [
    0.0, -0.0, math.nan, math.inf, -math.inf, 1e300, -1e-300, 5e-11, -5e-11, 0.5, 1.5, 2.5, -2.5, 1.00000000005,
    123456.78901234565, 761.8800000000001, 1061.88 - 300, 99999.99999999995, 1e15, 999999999999999.9,
]  # fmt: skip


def _same(got: float, expected: float) -> bool:
    if math.isnan(expected):
        return math.isnan(got)
    return got == expected and math.copysign(1, got) == math.copysign(1, expected)


@pytest.mark.parametrize("digits", [0, 2, 9, 10, 15])
def test_every_value_rounds_as_python_rounds_it(digits):
    values = np.concatenate(
        [
            _RNG.normal(0, 1, 50_000),
            _RNG.normal(0, 1e4, 50_000),
            _RNG.uniform(-1e6, 1e6, 50_000),
            10.0 ** _RNG.uniform(-20, 20, 50_000) * _RNG.choice([-1, 1], 50_000),
            # Costs written with a few decimals, and values on or next to a half at the digit rounded to.
            np.round(_RNG.uniform(-1000, 1000, 50_000), 4),
            (_RNG.integers(-(10**12), 10**12, 50_000) + 0.5) / 10**digits,
            np.nextafter((_RNG.integers(-(10**9), 10**9, 50_000) + 0.5) / 10**digits, 0),
            np.array(_SPECIAL),
        ]
    )
    got = round_like_python(values, digits).tolist()
    expected = [round(value, digits) for value in values.tolist()]
    wrong = [(v, g, e) for v, g, e in zip(values.tolist(), got, expected, strict=True) if not _same(g, e)]
    assert wrong == []


def test_a_value_near_a_half_takes_the_slow_path_and_still_rounds_as_python_does():
    # 0.10000000005 is written with a 5 at the 11th decimal, but the float is just below it: Python rounds
    # the float down; rounding its text half up (as PostgreSQL rounds text) would give 0.1000000001.
    assert round(0.10000000005, 10) == 0.1
    assert round_like_python(np.array([0.10000000005, 2.00000000005]), 10).tolist() == [0.1, 2.0000000001]


def test_digits_out_of_range_are_refused():
    with pytest.raises(ValueError, match="digits"):
        round_like_python(np.array([1.0]), 16)


def test_line_digests_write_each_float_as_its_repr_with_signed_zeros_and_nan_apart():
    from ingest.cloud_lines import _reprs

    values = np.array([0.1, -0.0, 0.0, 1e300, float("nan"), 0.1, -0.0, 2.5e-7, float("inf"), 3.0], dtype=np.float64)
    assert _reprs(values).to_pylist() == [repr(value) for value in values.tolist()]
    rng = np.random.default_rng(7)
    many = rng.choice(rng.normal(size=50) * 10.0 ** rng.integers(-8, 8, size=50), 5000)
    assert _reprs(many).to_pylist() == list(map(repr, many.tolist()))
