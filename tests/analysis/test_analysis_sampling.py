import numpy as np
import pandas as pd
import pytest

import analysis


@pytest.mark.parametrize(
    ("N", "e", "expected"),
    [
        (1000, 0.05, 286),  # 1000 / 3.5 = 285.7
        (400, 0.05, 200),  # exactly 200: must not be rounded up to 201
        (10, 0.05, 10),  # 10 / 1.025 = 9.76
        (1_870_000, 0.05, 400),  # 1870000 / 4676 = 399.91
        (5000, 0.03, 910),  # 5000 / (1 + 5000 * 0.0009) = 909.09
    ],
)
def test_yamane(N, e, expected):
    assert analysis.yamane(N, e) == expected


def test_cochran():
    assert analysis.cochran() == 385  # n0 = 1.96^2 * 0.25 / 0.0025 = 384.16
    # By hand: 384.16 / (1 + 383.16 / 1000) = 384.16 / 1.38316 = 277.74 -> 278.
    assert analysis.cochran(1000) == 278
    # 384.16 / (1 + 383.16 / 100) = 79.51 -> 80.
    assert analysis.cochran(100) == 80
    assert analysis.cochran(1) == 1
    # Exact by hand: z = 2, e = 0.1 gives n0 = 4 * 0.25 / 0.01 = 100, and with N = 100,
    # n = 100 / (1 + 99 / 100) = 50.25 -> 51.
    assert analysis.cochran(100, e=0.1, z=2) == 51


@pytest.mark.parametrize(
    "call",
    [
        lambda: analysis.yamane(0),
        lambda: analysis.yamane(100, 1.5),
        lambda: analysis.cochran(100, p=0),
        lambda: analysis.yamane(10.5),
    ],
)
def test_sample_size_refuses_nonsense(call):
    with pytest.raises(ValueError):
        call()


def test_allocate_proportional():
    sizes = analysis.allocate(100, {"a": 600, "b": 300, "c": 100}, minimum=0)
    assert sizes.to_dict() == {"a": 60, "b": 30, "c": 10}
    assert sizes.dtype == "int64"


def test_allocate_minimum_and_population_cap():
    # Proportional shares 94.3 / 4.7 / 0.9: b is raised to the minimum, c to its whole population.
    sizes = analysis.allocate(100, {"a": 1000, "b": 50, "c": 10}, minimum=20)
    assert sizes.to_dict() == {"a": 70, "b": 20, "c": 10}


def test_allocate_largest_remainder():
    # 2 forms among three equal agencies: shares 2/3 each, ties go in input order.
    assert analysis.allocate(2, {"x": 5, "y": 5, "z": 5}, minimum=0).to_dict() == {
        "x": 1,
        "y": 1,
        "z": 0,
    }
    # 10 forms in 1:1:1 -> 3.33 each; the remainder unit goes to the larger population on a tie.
    assert analysis.allocate(
        10, pd.Series({"x": 3000, "y": 3000, "z": 3001}), minimum=0
    ).tolist() == [3, 3, 4]


def test_allocate_infeasible_keeps_the_constraints():
    assert analysis.allocate(50, {"a": 100, "b": 100}, minimum=30).to_dict() == {"a": 30, "b": 30}
    assert analysis.allocate(500, {"a": 100, "b": 40}, minimum=30).to_dict() == {"a": 100, "b": 40}


def test_allocate_properties_on_random_cases():
    rng = np.random.default_rng(42)
    for _ in range(300):
        k = int(rng.integers(1, 30))
        populations = pd.Series(rng.integers(0, 5000, k), index=[f"X{i}" for i in range(k)])
        minimum = int(rng.integers(0, 60))
        floors = np.minimum(populations, minimum)
        total = int(rng.integers(floors.sum(), populations.sum() + 1))
        sizes = analysis.allocate(total, populations, minimum=minimum)
        assert sizes.sum() == total
        assert (sizes >= floors).all() and (sizes <= populations).all()
        assert list(sizes.index) == list(populations.index)


def test_allocate_default_minimum_is_ranking_threshold():
    sizes = analysis.allocate(200, {"big": 100_000, "small": 200})
    assert sizes["small"] == analysis.MIN_N_FOR_RANKING
