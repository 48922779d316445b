"""Daily panels: one KPI per market and day, computed in the engine.

An impact estimate compares a market with control markets day by day, before
and after a change. :func:`daily_panel` gives, per market and day, the KPI's
numerator and denominator (rates of the metric dictionary: the day's orders
for order KPIs, the day's contacts for contact KPIs) or its value (means and
quantiles, which have no numerator), from one grouped pass per market
(:func:`shopcx.metrics.kpis.compute_period_kpis` with one period per day).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from shopcx.errors import InputError
from shopcx.metrics.dictionary import KPI_BY_NAME
from shopcx.metrics.kpis import compute_period_kpis

__all__ = ["daily_panel"]


def daily_panel(source: Any, markets: list[str], kpis: list[str], start: Any,
                end: Any) -> pd.DataFrame:
    """Columns ``market``, ``day``, ``kpi``, ``kind``, ``value``, ``numerator``,
    ``denominator``: one row per market, day in ``[start, end)`` and KPI.

    Days without orders (or contacts) have a zero denominator and no value.
    """
    unknown = [k for k in kpis if k not in KPI_BY_NAME]
    if unknown:
        raise InputError(f"unknown KPI(s) {', '.join(unknown)}; see docs/metrics.md")
    days = pd.date_range(pd.Timestamp(start), pd.Timestamp(end), freq="D", inclusive="left")
    if len(days) == 0:
        raise InputError(f"no day between {start} and {end}")
    spans = [(d, d + pd.Timedelta(days=1)) for d in days]
    parts = []
    for market in markets:
        t = compute_period_kpis(source, market, spans)
        t = t[t["kpi"].isin(kpis)]
        parts.append(pd.DataFrame({
            "market": market, "day": pd.to_datetime(t["period"]), "kpi": t["kpi"],
            "kind": t["kind"], "value": t["value"].astype(float),
            "numerator": t["numerator"].astype("Float64").astype(float),
            "denominator": t["denominator"].astype("Float64").astype(float)}))
    return pd.concat(parts, ignore_index=True)
