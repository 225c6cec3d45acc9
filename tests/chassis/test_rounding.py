"""Largest-remainder rounding: whole shares that add up exactly, ties to the first part."""

from __future__ import annotations

import random

import pytest

from services.chassis.rounding import largest_remainder


def test_exact_shares_are_kept() -> None:
    assert largest_remainder([1, 1], 1000) == [500, 500]
    assert largest_remainder([300_000, 100_000, 200_000], 1000) == [500, 167, 333]
    assert largest_remainder([66, 34], 100) == [66, 34]


def test_the_largest_remainder_gets_the_missing_unit() -> None:
    # Exact: 142.857.., 285.714.., 571.428..: floors 142, 285, 571 (998); remainders .857 > .714 > .428.
    assert largest_remainder([1, 2, 4], 1000) == [143, 286, 571]


def test_ties_go_to_the_earlier_part() -> None:
    assert largest_remainder([1, 1, 1], 1000) == [334, 333, 333]
    assert largest_remainder([1, 1, 1], 100) == [34, 33, 33]
    assert largest_remainder([1, 1, 1, 1, 1, 1], 1000) == [167, 167, 167, 167, 166, 166]
    # The tie is between the last two parts; the first of them wins.
    assert largest_remainder([2, 1, 1], 1000) == [500, 250, 250]
    assert largest_remainder([4, 1, 1], 1000) == [667, 167, 166]


def test_nothing_to_split_gives_zeros() -> None:
    assert largest_remainder([], 1000) == []
    assert largest_remainder([0, 0, 0], 1000) == [0, 0, 0]
    assert largest_remainder([7, 0, 0], 1000) == [1000, 0, 0]


def test_a_tiny_part_next_to_a_huge_one() -> None:
    assert largest_remainder([999_999, 1, 1], 1000) == [1000, 0, 0]
    assert largest_remainder([10**15, 1], 1000) == [1000, 0]


@pytest.mark.parametrize("units", [1, 100, 1000, 7])
def test_shares_always_add_up_and_stay_within_one_unit_of_exact(units: int) -> None:
    rng = random.Random(units)
    for _ in range(500):
        parts = [rng.randint(0, 10**6) for _ in range(rng.randint(1, 8))]
        shares = largest_remainder(parts, units)
        total = sum(parts)
        if total == 0:
            assert shares == [0] * len(parts)
            continue
        assert sum(shares) == units
        for part, share in zip(parts, shares, strict=True):
            assert part * units // total <= share <= part * units // total + 1
