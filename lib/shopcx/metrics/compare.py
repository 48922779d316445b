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
from shopcx.metrics.dictionary import KPI_BY_NAME
from shopcx.metrics.facts import parse_period
from shopcx.metrics.kpis import compute_kpis
from shopcx.metrics.maturity import Maturity
from shopcx.metrics.stats import benjamini_hochberg, rate_test, two_proportion_test

__all__ = ["compare_kpis", "compare_periods", "same_age_as_of"]


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


def same_age_as_of(as_of: pd.Timestamp, end: Any, baseline_end: Any) -> pd.Timestamp:
    """The moment the baseline is measured at for a same-age comparison.

    As many days after the baseline's end as ``as_of`` is after the current
    period's end (before it, when ``as_of`` falls inside the period): the
    baseline's last orders are then exactly as old as the current period's
    last orders, and every baseline order is about as old as the current
    order at the same place from the period's end.

    >>> same_age_as_of(pd.Timestamp("2026-12-01"), "2026-11-30", "2026-11-23")
    Timestamp('2026-11-24 00:00:00')
    """
    return pd.Timestamp(baseline_end) + (as_of - pd.Timestamp(end))


def compare_periods(source: Any, market: str, start: Any, end: Any, baseline_start: Any,
                    baseline_end: Any, alpha: float = 0.05, min_sample: int = 30,
                    maturity: Maturity | None = None, same_age: bool = True) -> pd.DataFrame:
    """Every KPI for ``[start, end)`` against ``[baseline_start, baseline_end)``.

    See :func:`compare_kpis` for the columns and the tests used. Maturity
    (:mod:`shopcx.metrics.maturity`; default windows without ``maturity``) is
    judged at the source's data end (``source.at(as_of)`` for another
    moment) and adds the columns ``maturity_days``, ``mature_share`` (of the
    current period's cohort), ``same_age`` and ``baseline_as_of``. A KPI
    whose current cohort is not wholly mature is compared with its baseline
    *at the same age* (unless ``same_age`` is false): the baseline computed
    on the data as it stood at :func:`same_age_as_of`, so its orders count
    only the events they had had by the age the current orders have
    reached. ``naive_baseline`` keeps the baseline with all its events.
    """
    source = load_source(source)
    parse_period(start, end)
    parse_period(baseline_start, baseline_end)
    maturity = maturity or Maturity()

    def compute() -> pd.DataFrame:
        current = compute_kpis(source, market, start, end, maturity)
        baseline = compute_kpis(source, market, baseline_start, baseline_end, maturity)
        young = (current["maturity_days"] > 0) & (current["mature_share"] < 1)
        as_of = source.data_end()
        aged_at = None if as_of is None else same_age_as_of(as_of, end, baseline_end)
        use = young & same_age & (aged_at is not None and aged_at < as_of)
        naive = baseline["value"].to_numpy()
        if use.any():
            aged = compute_kpis(source.at(aged_at), market, baseline_start, baseline_end,
                                maturity)
            baseline = pd.concat([baseline[~use], aged[use]]).loc[baseline.index]
        out = compare_kpis(current, baseline, alpha=alpha, min_sample=min_sample)
        out["maturity_days"] = current["maturity_days"].to_numpy()
        out["mature_share"] = current["mature_share"].to_numpy()
        out["same_age"] = use.to_numpy()
        out["baseline_as_of"] = [aged_at if u else pd.NaT for u in use]
        out["naive_baseline"] = naive
        out["as_of"] = as_of
        return out

    # the readouts of one market share this result (see shopcx.cache)
    return memoized(source, "compare", (market.upper(), str(start), str(end),
                                        str(baseline_start), str(baseline_end), alpha,
                                        min_sample, maturity.key(), same_age), compute)
