"""Whole-number shares that add up exactly: the largest-remainder (Hamilton) method.

Reports show shares with one decimal that must add up to exactly 100.0; rounding each share on its
own does not guarantee that (three equal thirds round to 99.9). Here ``units`` (1000 for tenths of a
percent) are split in proportion to ``parts``: each part first gets the floor of its exact share,
then the units still missing go one each to the parts with the largest remainders.

Ties: parts whose remainders are equal get the extra units in the order they are given, the first
one first (``[1, 1, 1]`` of 1000 is ``[334, 333, 333]``). All arithmetic is on integers, so the result
is the same on every machine and every database.
"""

from __future__ import annotations

from collections.abc import Sequence


def largest_remainder(parts: Sequence[int], units: int) -> list[int]:
    """``units`` split in proportion to ``parts``, as whole numbers adding up to exactly ``units``.

    Nothing to split (no parts, or parts summing to zero or less): every share is 0.
    """
    total = sum(parts)
    if total <= 0:
        return [0 for _ in parts]
    scaled = [part * units for part in parts]
    shares = [s // total for s in scaled]
    short = units - sum(shares)
    by_remainder = sorted(range(len(parts)), key=lambda i: (-(scaled[i] % total), i))
    for i in by_remainder[:short]:
        shares[i] += 1
    return shares
