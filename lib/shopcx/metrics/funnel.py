"""The order funnel and the cancellation journey: the tables behind the funnel readout.

Each function takes a data source, a market and a period ``[start, end)`` and
returns a small pandas table aggregated inside the engine. Definitions follow
the metric dictionary (docs/metrics.md): the cohort, the cancelling row and
the request stage come from :mod:`shopcx.metrics.kpis`.
"""

from __future__ import annotations

from typing import Any

import ibis
import numpy as np
import pandas as pd

from shopcx.data.sources import load_source
from shopcx.metrics.facts import INITIATORS, STAGES, order_facts, parse_period, request_facts
from shopcx.metrics.kpis import SEGMENT_DIMENSIONS, compute_segment_kpis
from shopcx.metrics.stats import wilson_interval

__all__ = [
    "HEADLINE_KPIS",
    "cancellations_by_reason",
    "funnel_table",
    "rate_trend",
    "request_outcomes",
    "resolution_hours",
    "segment_breakdown",
    "segment_overview",
    "seller_fault_sellers",
]

HEADLINE_KPIS = (
    "orders", "cancellation_rate", "cancellation_rate_buyer", "cancellation_rate_seller",
    "cancellation_rate_system", "cancellation_rate_platform", "cancel_exit_unpaid",
    "cancel_exit_awaiting_shipment", "cancel_exit_in_transit", "seller_fault_cancellation_rate",
    "buyer_cancel_requests", "cancel_request_success_rate", "cancel_withdrawal_rate",
    "cancel_pending", "median_hours_to_resolve", "p90_hours_to_resolve", "auto_resolved_share",
    "repeat_request_rate",
)
"""The KPIs the funnel readout opens with."""

FUNNEL_STEPS = (("placed", "unpaid"), ("paid", "awaiting_shipment"),
                ("shipped", "in_transit"), ("delivered", "delivered"))


def funnel_table(source: Any, market: str, start: Any, end: Any) -> pd.DataFrame:
    """Orders reaching each step and the cancellations that exit there, by initiator.

    One row per step (placed, paid, shipped, delivered) with ``orders`` that
    reached it, ``share`` of placed orders, ``cancelled`` at the matching stage
    (unpaid, awaiting shipment, in transit, delivered) split by initiator, and
    ``exit_rate`` = cancelled there / placed orders.
    """
    source = load_source(source)
    f = order_facts(source, market, start, end)
    reached = source.execute(f.aggregate(
        placed=f.count(), paid=f.paid_at.notnull().sum(), shipped=f.shipped_at.notnull().sum(),
        delivered=f.delivered_at.notnull().sum())).iloc[0]
    exits = source.execute(f.filter(f.cancelled).group_by(["cancel_stage", "cancel_initiator"])
                           .aggregate(n=ibis._.count()))
    grid = exits.pivot_table(index="cancel_stage", columns="cancel_initiator", values="n",
                             aggfunc="sum").reindex(index=list(STAGES), columns=list(INITIATORS))
    grid = grid.fillna(0).astype(int)
    placed = int(reached["placed"] or 0)
    rows = []
    for step, stage in FUNNEL_STEPS:
        n = int(reached[step] or 0)
        row: dict[str, Any] = {"step": step, "stage": stage, "orders": n,
                               "share": n / placed if placed else np.nan}
        for i in INITIATORS:
            row[f"cancelled_{i}"] = int(grid.loc[stage, i])
        row["cancelled"] = int(grid.loc[stage].sum())
        row["exit_rate"] = row["cancelled"] / placed if placed else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


def cancellations_by_reason(source: Any, market: str, start: Any, end: Any) -> pd.DataFrame:
    """Cancelled cohort orders by cancel initiator and reason.

    Columns: ``initiator``, ``reason``, ``cancelled``, ``share`` of all
    cancellations, ``rate`` = cancelled / cohort orders, ``orders`` (the cohort
    size, the same on every row), largest first.
    """
    source = load_source(source)
    f = order_facts(source, market, start, end)
    total = int(source.execute(f.count()))
    t = source.execute(f.filter(f.cancelled).group_by(["cancel_initiator", "cancel_reason"])
                       .aggregate(cancelled=ibis._.count()))
    t = t.rename(columns={"cancel_initiator": "initiator", "cancel_reason": "reason"})
    t["share"] = t["cancelled"] / t["cancelled"].sum() if len(t) else []
    t["rate"] = t["cancelled"] / total if total else np.nan
    t["orders"] = total
    return t.sort_values(["cancelled", "initiator", "reason"], ascending=[False, True, True],
                         ignore_index=True)


def rate_trend(source: Any, market: str, start: Any, end: Any, freq: str = "D") -> pd.DataFrame:
    """Cancellation rate by day (``freq='D'``) or week (``'W'``, weeks from Monday) of order.

    Columns: ``period`` (start of the day or week), ``orders``, ``cancelled``,
    ``rate`` and ``rate_<initiator>`` for each initiator, ``seller_fault_rate``.
    """
    if freq not in ("D", "W"):
        raise ValueError("freq must be 'D' or 'W'")
    source = load_source(source)
    f = order_facts(source, market, start, end)
    f = f.mutate(period=f.created_at.truncate(freq))
    aggs: dict[str, Any] = {"orders": f.count(), "cancelled": f.cancelled.sum(),
                            "seller_fault": f.seller_fault.sum()}
    for i in INITIATORS:
        aggs[f"n_{i}"] = (f.cancel_initiator == i).sum()
    t = source.execute(f.group_by("period").aggregate(**aggs)).sort_values("period")
    counts = ["cancelled", "seller_fault", *[f"n_{i}" for i in INITIATORS]]
    t[counts] = t[counts].astype(float).fillna(0).astype(int)  # a sum over no rows is null
    t["rate"] = t["cancelled"] / t["orders"]
    for i in INITIATORS:
        t[f"rate_{i}"] = t.pop(f"n_{i}") / t["orders"]
    t["seller_fault_rate"] = t.pop("seller_fault") / t["orders"]
    return t.reset_index(drop=True)


def request_outcomes(source: Any, market: str, start: Any, end: Any) -> pd.DataFrame:
    """Buyer cancel requests by stage: outcomes, success rate with its interval.

    One row per stage with ``requests``, ``approved``, ``rejected``,
    ``withdrawn``, ``pending``, ``success_rate`` = approved / (approved +
    rejected), ``ci_low``, ``ci_high``; a last row ``all``.
    """
    source = load_source(source)
    r = request_facts(source, order_facts(source, market, start, end))
    t = source.execute(r.group_by(["stage", "outcome"]).aggregate(n=ibis._.count()))
    grid = t.pivot_table(index="stage", columns="outcome", values="n", aggfunc="sum")
    grid = grid.reindex(index=list(STAGES),
                        columns=["approved", "rejected", "withdrawn", "pending"]).fillna(0)
    grid.loc["all"] = grid.sum()
    grid = grid.astype(int)
    grid.insert(0, "requests", grid.sum(axis=1))
    resolved = grid["approved"] + grid["rejected"]
    grid["success_rate"] = np.where(resolved > 0, grid["approved"] / resolved.replace(0, 1),
                                    np.nan)
    grid["ci_low"], grid["ci_high"] = wilson_interval(grid["approved"].to_numpy(),
                                                      resolved.to_numpy())
    grid = grid.rename_axis("stage").reset_index()
    return grid if grid["requests"].sum() else grid.iloc[0:0]  # no request: nothing to show


def resolution_hours(source: Any, market: str, start: Any, end: Any, width: float = 4.0,
                     cap: float = 120.0) -> pd.DataFrame:
    """Histogram of hours to resolve (approved or rejected buyer requests).

    Bins of ``width`` hours counted in the engine; everything at or above
    ``cap`` falls in the last bin. Columns ``hours_from``, ``hours_to``,
    ``requests``, ``share``, ``auto`` (decided by rule or timer).
    """
    source = load_source(source)
    r = request_facts(source, order_facts(source, market, start, end))
    r = r.filter(r.outcome.isin(("approved", "rejected")))
    binned = (ibis.least(r.hours_to_resolve, cap) / width).floor() * width
    t = source.execute(r.mutate(bin=ibis.least(binned, cap)).group_by("bin").aggregate(
        requests=ibis._.count(), auto=ibis._.auto_resolved.sum()))
    edges = np.arange(0, cap + width, width)
    t = t.set_index("bin").reindex(edges, fill_value=0).rename_axis("hours_from").reset_index()
    t["hours_to"] = np.where(t["hours_from"] >= cap, np.inf, t["hours_from"] + width)
    total = t["requests"].sum()
    t["share"] = t["requests"] / total if total else 0.0
    return t[["hours_from", "hours_to", "requests", "share", "auto"]]


def seller_fault_sellers(source: Any, market: str, start: Any, end: Any, top: int = 10,
                         min_orders: int = 20) -> pd.DataFrame:
    """The sellers behind seller-fault cancellations, most seller-fault cancellations first.

    Columns: ``seller_id``, ``orders``, ``seller_fault`` (cancellations),
    ``rate``, ``ci_low``, ``ci_high``, ``share`` of the market's seller-fault
    cancellations, ``cumulative_share``. Sellers with fewer than
    ``min_orders`` orders are left out of the ranking (too few to judge) but
    count in the shares.
    """
    source = load_source(source)
    f = order_facts(source, market, start, end)
    t = source.execute(f.group_by("seller_id").aggregate(
        orders=ibis._.count(), seller_fault=ibis._.seller_fault.sum()))
    total = t["seller_fault"].sum()
    t = t[(t["orders"] >= min_orders) & (t["seller_fault"] > 0)].copy()
    t["rate"] = t["seller_fault"] / t["orders"]
    t["ci_low"], t["ci_high"] = wilson_interval(t["seller_fault"].to_numpy(),
                                                t["orders"].to_numpy())
    t["share"] = t["seller_fault"] / total if total else np.nan
    t = t.sort_values(["seller_fault", "rate", "seller_id"], ascending=[False, False, True])
    t["cumulative_share"] = t["share"].cumsum()
    return t.head(top).reset_index(drop=True)


def segment_breakdown(source: Any, market: str, start: Any, end: Any, by: str,
                      kpis: tuple[str, ...] = ("cancellation_rate",),
                      min_sample: int = 30) -> pd.DataFrame:
    """Selected KPIs per segment of one order dimension, small segments suppressed.

    Returns ``segment``, ``kpi``, ``value``, ``ci_low``, ``ci_high``,
    ``numerator``, ``denominator`` and ``too_few``; where the denominator is
    below ``min_sample`` the value and interval are blanked (NaN), so a
    handful of orders never reads as a finding.
    """
    parse_period(start, end)
    seg = compute_segment_kpis(source, market, start, end, by)
    seg = seg[seg["kpi"].isin(kpis)].copy()
    seg["too_few"] = seg["denominator"].fillna(0).astype(int) < min_sample
    seg.loc[seg["too_few"], ["value", "ci_low", "ci_high"]] = np.nan
    seg["segment"] = seg["segment"].where(seg["segment"].notna(), "(none)")
    return seg[["segment", "kpi", "value", "ci_low", "ci_high", "numerator", "denominator",
                "too_few"]].reset_index(drop=True)


def segment_overview(source: Any, market: str, start: Any, end: Any,
                     kpis: tuple[str, ...] = ("cancellation_rate",
                                              "seller_fault_cancellation_rate",
                                              "cancel_request_success_rate"),
                     min_sample: int = 30,
                     dimensions: tuple[str, ...] = SEGMENT_DIMENSIONS) -> pd.DataFrame:
    """:func:`segment_breakdown` for several dimensions at once, with a ``dimension`` column."""
    source = load_source(source)
    parts = [segment_breakdown(source, market, start, end, by, kpis, min_sample)
             .assign(dimension=by) for by in dimensions]
    out = pd.concat(parts, ignore_index=True)
    return out[["dimension", *[c for c in out.columns if c != "dimension"]]]
