"""What changed: every KPI of a period against a baseline period, with significance.

Tests used, by kind of KPI:

* proportions: pooled two-proportion z-test;
* ratios (contacts per order ...): exact conditional test of two event rates;
* counts, sums, means and quantiles: no test (their change is shown, marked
  untested), because the aggregates do not carry a variance.

P-values are adjusted across the tested KPIs with Benjamini-Hochberg; a
change is *significant* when its adjusted p-value is below ``alpha`` and both
periods have at least ``min_sample`` in the denominator.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from shopcx.cache import memoized
from shopcx.data.sources import load_source
from shopcx.metrics.facts import parse_period
from shopcx.metrics.kpis import KPI_BY_NAME, compute_kpis
from shopcx.metrics.stats import benjamini_hochberg, rate_test, two_proportion_test

__all__ = ["compare_kpis", "compare_periods"]


def compare_kpis(current: pd.DataFrame, baseline: pd.DataFrame, alpha: float = 0.05,
                 min_sample: int = 30) -> pd.DataFrame:
    """Join two :func:`~shopcx.metrics.kpis.compute_kpis` tables and test each change.

    Returns one row per KPI with ``value``, ``baseline``, ``change`` (current
    minus baseline, in the KPI's unit), ``relative_change``, the numerators and
    denominators of both periods, ``p_value``, ``p_adjusted``, ``significant``,
    ``too_few`` (a denominator below ``min_sample``), ``direction`` (up, down,
    flat) and ``assessment`` (better, worse or neutral for customers, set
    only for significant changes; untested KPIs are never significant).
    """
    cur = current.set_index("kpi")
    base = baseline.set_index("kpi")
    out = cur[["kind", "label", "value", "numerator", "denominator", "ci_low",
               "ci_high"]].copy()
    out["baseline"] = base["value"]
    out["baseline_numerator"] = base["numerator"]
    out["baseline_denominator"] = base["denominator"]
    out["baseline_ci_low"] = base["ci_low"]
    out["baseline_ci_high"] = base["ci_high"]
    out["better"] = [KPI_BY_NAME[k].better if k in KPI_BY_NAME else None for k in out.index]
    out["change"] = out["value"] - out["baseline"]
    with np.errstate(divide="ignore", invalid="ignore"):
        out["relative_change"] = np.where(out["baseline"].abs() > 0,
                                          out["change"] / out["baseline"].abs(), np.nan)
    x1 = out["numerator"].astype(float).to_numpy()
    n1 = out["denominator"].astype(float).to_numpy()
    x2 = out["baseline_numerator"].astype(float).to_numpy()
    n2 = out["baseline_denominator"].astype(float).to_numpy()
    p = np.full(len(out), np.nan)
    prop = (out["kind"] == "proportion").to_numpy()
    ratio = (out["kind"] == "ratio").to_numpy()
    if prop.any():
        _, p[prop] = two_proportion_test(x1[prop], n1[prop], x2[prop], n2[prop])
    if ratio.any():
        p[ratio] = rate_test(x1[ratio], n1[ratio], x2[ratio], n2[ratio])
    out["p_value"] = p
    _, out["p_adjusted"] = benjamini_hochberg(p, alpha)
    small = (np.nan_to_num(n1) < min_sample) | (np.nan_to_num(n2) < min_sample)
    out["too_few"] = (prop | ratio) & small
    out["significant"] = (out["p_adjusted"] < alpha) & ~out["too_few"]
    out["direction"] = np.select([out["change"] > 0, out["change"] < 0], ["up", "down"], "flat")
    good = ((out["better"] == "higher") & (out["change"] > 0)) | (
        (out["better"] == "lower") & (out["change"] < 0))
    bad = ((out["better"] == "higher") & (out["change"] < 0)) | (
        (out["better"] == "lower") & (out["change"] > 0))
    out["assessment"] = np.select([~out["significant"], good, bad], [None, "better", "worse"],
                                  "neutral")
    return out.reset_index()


def compare_periods(source: Any, market: str, start: Any, end: Any, baseline_start: Any,
                    baseline_end: Any, alpha: float = 0.05, min_sample: int = 30) -> pd.DataFrame:
    """Every KPI for ``[start, end)`` against ``[baseline_start, baseline_end)``.

    See :func:`compare_kpis` for the columns and the tests used.
    """
    source = load_source(source)
    parse_period(start, end)
    parse_period(baseline_start, baseline_end)

    def compute() -> pd.DataFrame:
        current = compute_kpis(source, market, start, end)
        baseline = compute_kpis(source, market, baseline_start, baseline_end)
        return compare_kpis(current, baseline, alpha=alpha, min_sample=min_sample)

    # the readouts of one market share this result (see shopcx.cache)
    return memoized(source, "compare", (market.upper(), str(start), str(end),
                                        str(baseline_start), str(baseline_end), alpha,
                                        min_sample), compute)
