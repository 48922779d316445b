"""Statistics helpers against published or hand-worked values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from shopcx.metrics.stats import Z95, benjamini_hochberg, two_proportion_test, wilson_interval


def test_wilson_known_values() -> None:
    # Newcombe (1998), Table I: 81/263 -> 0.2553 to 0.3662 (Wilson, 95%)
    lo, hi = wilson_interval(81, 263)
    assert (round(float(lo), 4), round(float(hi), 4)) == (0.2553, 0.3662)
    # 15/148 -> 0.0624 to 0.1605 (same table)
    lo, hi = wilson_interval(15, 148)
    assert (round(float(lo), 4), round(float(hi), 4)) == (0.0624, 0.1605)


def test_wilson_edges_and_arrays() -> None:
    lo, hi = wilson_interval(0, 10)
    assert lo == 0 and hi == pytest.approx(Z95**2 / (10 + Z95**2))  # closed form at x = 0
    lo, hi = wilson_interval(10, 10)
    assert hi == pytest.approx(1.0) and lo == pytest.approx(10 / (10 + Z95**2))
    lo, hi = wilson_interval(np.array([0, 3]), np.array([0, 4]))
    assert math.isnan(lo[0]) and math.isnan(hi[0])
    assert 0 < lo[1] < 0.75 < hi[1] <= 1


def test_two_proportion_test() -> None:
    # pooled p = 45/200; se = sqrt(.225 * .775 * (1/100 + 1/100)); z = .15 / se
    z, p = two_proportion_test(30, 100, 15, 100)
    se = math.sqrt(0.225 * 0.775 * 0.02)
    assert z == pytest.approx(0.15 / se)
    assert p == pytest.approx(math.erfc(abs(0.15 / se) / math.sqrt(2)))
    z, p = two_proportion_test([5, 0, 1], [10, 0, 10], [5, 3, 1], [10, 10, 10])
    assert z[0] == 0 and p[0] == pytest.approx(1.0)
    assert math.isnan(z[1]) and math.isnan(p[1])  # empty first group
    z, p = two_proportion_test(0, 10, 0, 10)  # no variance at all
    assert math.isnan(z) and math.isnan(p)


def test_benjamini_hochberg_matches_hand_computation() -> None:
    # sorted p: .005 .01 .03 .04 .20 (m = 5): p*m/rank = .025 .025 .05 .05 .20
    reject, adj = benjamini_hochberg([0.04, 0.005, 0.20, 0.01, 0.03])
    assert adj.round(4).tolist() == [0.05, 0.025, 0.2, 0.025, 0.05]
    assert reject.tolist() == [True, True, False, True, True]
    reject, adj = benjamini_hochberg([np.nan, 0.01])
    assert reject.tolist() == [False, True] and math.isnan(adj[0]) and adj[1] == 0.01


def test_benjamini_hochberg_equals_scipy() -> None:
    from scipy.stats import false_discovery_control

    rng = np.random.default_rng(3)
    for size in (1, 2, 7, 500):
        p = rng.uniform(0, 1, size) ** 3
        p[: size // 3] = p[0]  # ties
        _, adj = benjamini_hochberg(p)
        assert adj == pytest.approx(false_discovery_control(p, method="bh"), abs=1e-15)


def test_wilson_interval_contains_its_estimate_at_the_edges() -> None:
    import numpy as np

    from shopcx.metrics.stats import wilson_interval

    n = np.arange(1, 2000, dtype=float)
    for x in (np.zeros_like(n), n):  # 0 of n and n of n
        lo, hi = wilson_interval(x, n)
        p = x / n
        assert (lo <= p).all() and (p <= hi).all()
        assert (lo >= 0).all() and (hi <= 1).all()
    lo, hi = wilson_interval(0, 10)
    assert lo == 0.0 and round(float(hi), 4) == 0.2775  # 0 of 10: [0, 0.2775]
