"""Sample sizes and their allocation to agencies: Yamane (the formula of
1383/QĐ-BNV), Cochran with finite-population correction, and proportional
allocation with a per-agency minimum.

Arithmetic is done on exact fractions of the decimal inputs, so a size that is a
whole number on paper (N = 400, e = 0.05 gives 200) is not rounded up to the next
integer because 0.05 has no exact binary representation.
"""

from __future__ import annotations

import math
from fractions import Fraction
from numbers import Integral

import pandas as pd

from .indices import MIN_N_FOR_RANKING

__all__ = ["allocate", "cochran", "yamane"]


def _exact(value, name: str) -> Fraction:
    # str() first: Fraction(0.05) would be the binary approximation 0.05000000000000000277...
    try:
        return Fraction(str(value))
    except (ValueError, TypeError):
        raise ValueError(f"{name} must be a number, not {value!r}") from None


def _population(N) -> int:
    if isinstance(N, bool) or not isinstance(N, Integral) or N < 1:
        raise ValueError(f"population must be a whole number >= 1, not {N!r}")
    return int(N)


def _open_unit(value, name: str) -> Fraction:
    exact = _exact(value, name)
    if not 0 < exact < 1:
        raise ValueError(f"{name} must be between 0 and 1 (exclusive), not {value!r}")
    return exact


def yamane(N: int, e: float = 0.05) -> int:
    """Yamane's sample size n = N / (1 + N e^2), rounded up."""
    N, e = _population(N), _open_unit(e, "margin")
    return math.ceil(N / (1 + N * e * e))


def cochran(N: int | None = None, e: float = 0.05, p: float = 0.5, z: float = 1.96) -> int:
    """Cochran's sample size n0 = z^2 p (1 - p) / e^2, with the finite-population
    correction n = n0 / (1 + (n0 - 1) / N) when the population N is given; rounded up."""
    e, p, z = _open_unit(e, "margin"), _open_unit(p, "p"), _exact(z, "z")
    if z <= 0:
        raise ValueError("z must be positive")
    n0 = z * z * p * (1 - p) / (e * e)
    if N is None:
        return math.ceil(n0)
    N = _population(N)
    return math.ceil(n0 / (1 + (n0 - 1) / N))


def _shares_with_floors(total: int, populations: dict, floors: dict) -> dict:
    """Exact shares proportional to population, none below its floor, summing to
    ``total`` (which must lie between the sum of the floors and the whole population).

    Agencies whose share falls below their floor are pinned to it and the rest is
    shared again among the others, until nobody falls below (at most one pass per
    agency). Pinning only lowers the others' shares, which start at
    total / population <= 1 per person, so no share ever exceeds its population.
    """
    pinned: dict = {}
    while True:
        free = [k for k in populations if k not in pinned]
        rest = total - sum(pinned.values())
        weight = sum(populations[k] for k in free)
        shares = {
            k: Fraction(rest * populations[k], weight) if weight else Fraction(0) for k in free
        }
        below = {k: floors[k] for k in free if shares[k] < floors[k]}
        if not below:
            return {**pinned, **shares}
        pinned.update(below)


def allocate(total: int, populations, minimum: int = MIN_N_FOR_RANKING) -> pd.Series:
    """Split a sample of ``total`` forms among agencies in proportion to population.

    Each agency gets at least ``minimum`` (by default enough to be ranked, see
    ``MIN_N_FOR_RANKING``) but never more than its population. Results are whole
    numbers summing exactly to ``total`` (largest-remainder rounding, ties to the
    larger population, then input order) whenever that is feasible. When it is not,
    the constraint wins: if the minimums alone exceed ``total`` every agency gets its
    minimum; if ``total`` exceeds the whole population every agency gets its
    population (a census).

    ``populations`` is a dict or Series {agency: population}; returns an ``int64``
    Series on the same keys, in the same order.
    """
    if isinstance(total, bool) or not isinstance(total, Integral) or total < 0:
        raise ValueError(f"total must be a whole number >= 0, not {total!r}")
    if isinstance(minimum, bool) or not isinstance(minimum, Integral) or minimum < 0:
        raise ValueError(f"minimum must be a whole number >= 0, not {minimum!r}")
    series = pd.Series(populations)
    sizes = {}
    for key, value in series.items():
        if pd.isna(value) or value < 0 or value % 1:
            raise ValueError(f"population of {key!r} must be a whole number >= 0, not {value!r}")
        sizes[key] = int(value)
    floors = {k: min(int(minimum), n) for k, n in sizes.items()}
    target = min(max(int(total), sum(floors.values())), sum(sizes.values()))

    shares = _shares_with_floors(target, sizes, floors)
    result = {k: math.floor(shares[k]) for k in sizes}
    leftover = target - sum(result.values())
    position = {k: i for i, k in enumerate(sizes)}
    by_remainder = sorted(sizes, key=lambda k: (-(shares[k] - result[k]), -sizes[k], position[k]))
    # leftover equals the sum of the fractional parts, each below 1, so it is smaller
    # than the number of agencies with a fractional part: none of them is at its
    # population bound, and none is given a second unit.
    for key in by_remainder[:leftover]:
        result[key] += 1
    return pd.Series(result, dtype="int64", index=series.index, name="sample_size")
