"""Statistics helpers: Wilson intervals, two-proportion tests, Benjamini-Hochberg.

Vectorised, on numpy and scipy (the Wilson interval in closed form,
Benjamini-Hochberg's step-up as ``scipy.stats.false_discovery_control`` computes
it, the exact rate test from ``scipy.stats.binomtest``), so every caller gets the same
conventions: a zero denominator gives NaN rather than a warning or an error.
SciPy is imported only by the functions that need it (its special functions
alone take a quarter of a second to import), which keeps ``shopcx kpis`` quick
to start.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["Z95", "benjamini_hochberg", "rate_test", "two_proportion_test", "wilson_interval"]

Z95 = 1.959964
"""The z value of a two-sided 95% interval used throughout (METRICS.md)."""

ArrayLike = npt.ArrayLike


def wilson_interval(successes: ArrayLike, trials: ArrayLike,
                    z: float = Z95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for ``successes / trials``; NaN where ``trials`` is 0.

    >>> lo, hi = wilson_interval(8, 10)
    >>> round(float(lo), 4), round(float(hi), 4)
    (0.4902, 0.9433)
    """
    x = np.atleast_1d(np.asarray(successes, dtype=float))
    n = np.atleast_1d(np.asarray(trials, dtype=float))
    x, n = np.broadcast_arrays(x, n)
    lo = np.full(x.shape, np.nan)
    hi = np.full(x.shape, np.nan)
    ok = n > 0
    if ok.any():  # Wilson (1927): centre and half-width of the score interval
        xs, ns = x[ok], n[ok]
        centre = (xs + z * z / 2) / (ns + z * z)
        half = z * np.sqrt(xs * (ns - xs) / ns + z * z / 4) / (ns + z * z)
        share = xs / ns  # rounding must not put the estimate outside its own interval
        lo[ok] = np.clip(np.minimum(centre - half, share), 0.0, 1.0)
        hi[ok] = np.clip(np.maximum(centre + half, share), 0.0, 1.0)
    if np.ndim(successes) == 0 and np.ndim(trials) == 0:
        return lo[0], hi[0]
    return lo, hi


def two_proportion_test(x1: ArrayLike, n1: ArrayLike, x2: ArrayLike,
                        n2: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Pooled two-sided z-test that ``x1/n1`` equals ``x2/n2``; returns (z, p-value).

    NaN where either denominator is 0 or where both proportions are 0 or 1
    (no variance to test against).

    >>> z, p = two_proportion_test(30, 100, 15, 100)
    >>> round(float(z), 3), round(float(p), 4)
    (2.54, 0.0111)
    """
    a = [np.atleast_1d(np.asarray(v, dtype=float)) for v in (x1, n1, x2, n2)]
    x1a, n1a, x2a, n2a = np.broadcast_arrays(*a)
    z = np.full(x1a.shape, np.nan)
    ok = (n1a > 0) & (n2a > 0)
    pooled = np.where(ok, (x1a + x2a) / np.where(ok, n1a + n2a, 1), np.nan)
    se = np.sqrt(pooled * (1 - pooled) * (1 / np.where(ok, n1a, 1) + 1 / np.where(ok, n2a, 1)))
    ok &= se > 0
    z[ok] = (x1a[ok] / n1a[ok] - x2a[ok] / n2a[ok]) / se[ok]
    from scipy.special import ndtr  # the normal CDF

    p = np.where(ok, 2 * ndtr(-np.abs(np.where(ok, z, 0))), np.nan)
    if all(np.ndim(v) == 0 for v in (x1, n1, x2, n2)):
        return z[0], p[0]
    return z, p


def rate_test(x1: ArrayLike, n1: ArrayLike, x2: ArrayLike, n2: ArrayLike) -> np.ndarray:
    """Exact two-sided test that the event rates ``x1/n1`` and ``x2/n2`` are equal.

    For counts per unit of exposure (contacts per order): conditional on the
    total ``x1 + x2``, ``x1`` is binomial with p = n1 / (n1 + n2) under the null.
    Returns p-values; NaN where an exposure is 0 or there are no events.

    >>> round(float(rate_test(30, 100, 15, 100)), 4)
    0.0357
    """
    a = [np.atleast_1d(np.asarray(v, dtype=float)) for v in (x1, n1, x2, n2)]
    x1a, n1a, x2a, n2a = np.broadcast_arrays(*a)
    from scipy.stats import binomtest

    p = np.full(x1a.shape, np.nan)
    for i in range(x1a.size):
        total = x1a.flat[i] + x2a.flat[i]
        if n1a.flat[i] > 0 and n2a.flat[i] > 0 and total > 0:
            share = n1a.flat[i] / (n1a.flat[i] + n2a.flat[i])
            p.flat[i] = binomtest(int(x1a.flat[i]), int(total), share).pvalue
    if all(np.ndim(v) == 0 for v in (x1, n1, x2, n2)):
        return p[0]
    return p


def benjamini_hochberg(pvalues: ArrayLike, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Benjamini-Hochberg false-discovery control; returns (reject, adjusted p-values).

    NaN p-values are left out of the correction and come back as (False, NaN).

    >>> reject, adj = benjamini_hochberg([0.01, 0.04, 0.03, 0.20])
    >>> reject.tolist(), [round(float(v), 4) for v in adj]
    ([True, False, False, False], [0.04, 0.0533, 0.0533, 0.2])
    """
    p = np.asarray(pvalues, dtype=float)
    reject = np.zeros(p.shape, dtype=bool)
    adjusted = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    if ok.any():  # as scipy.stats.false_discovery_control(p, method="bh"), tested equal;
        # written out because importing scipy.stats takes 1.4 s, longer than most analyses
        q = p[ok]
        order = np.argsort(q, kind="stable")
        scaled = q[order] * q.size / np.arange(1, q.size + 1)
        step_up = np.minimum.accumulate(scaled[::-1])[::-1]
        adj = np.empty(q.size)
        adj[order] = np.clip(step_up, 0.0, 1.0)
        adjusted[ok] = adj
        reject[ok] = adjusted[ok] <= alpha
    return reject, adjusted
