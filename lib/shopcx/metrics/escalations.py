"""Escalations: which path led to each one, and which sellers cause them.

An escalation is a contact of the period (C) flagged ``escalated``. Those
about an order (E, :func:`shopcx.metrics.facts.escalation_facts`) are traced
back along the cancellation journey, order → buyer's cancel request → its
outcome → contacts → escalation, and each is given the **path** that led to
it, the first that applies:

1. ``request rejected`` — the buyer's latest cancel request before the
   escalation had been rejected;
2. ``request pending past its timer`` — it was still undecided and had waited
   at least the auto-approve timer (hours; the market's policy);
3. ``request pending`` — still undecided, within the timer;
4. ``seller cancelled after payment`` — the order had been cancelled by the
   seller (or by the system for a missed ship deadline) after it was paid;
5. ``approved, then escalated`` — the order had been cancelled otherwise
   (the buyer's request approved, the platform, the system): typically the
   refund is what is chased;
6. ``request withdrawn`` — the buyer had withdrawn the latest request;
7. ``no cancel request`` — none of the above: no request before the escalation;
8. ``no order`` — escalations not about an order.

Everything is computed in the engine; only one row per path (or seller)
comes back.
"""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from shopcx.data.sources import load_source
from shopcx.metrics.facts import (
    cancellation_facts,
    cohort,
    enrich_orders,
    escalation_facts,
    parse_period,
    period_contacts,
)
from shopcx.metrics.stats import benjamini_hochberg
from shopcx.params import market_code

__all__ = ["PATHS", "escalation_journeys", "escalation_paths", "seller_escalations"]

PATHS = ("request rejected", "request pending past its timer", "request pending",
         "seller cancelled after payment", "approved, then escalated", "request withdrawn",
         "no cancel request", "no order")
"""The paths to an escalation, in the order they are tested (see the module)."""


def _journeys(source: Any, market: str, start: Any, end: Any, timer_hours: float
              ) -> ir.Table:
    """One row per escalation of the period: its path and the times of its steps."""
    p = parse_period(start, end)
    c = period_contacts(source, market_code(market), p.start, p.end)
    esc = c.filter(c.escalated)
    e = escalation_facts(source, c)
    orders = source.tables["orders"]
    # the escalated orders' cancellation rows, once: their cancelling row (the order's
    # facts, as for any order) and the buyer's requests
    mine = orders.filter(orders.order_id.isin(e.order_id))
    cf = cancellation_facts(source, mine)
    o = enrich_orders(source, mine, cf).select(
        "order_id", "seller_id", "seller_fault", "cancelled_at", o_created="created_at",
        o_paid="paid_at")
    e = e.join(o, "order_id", how="left").drop("order_id_right")
    # the buyer's latest cancel request before the escalation, as it stood then
    r = cf.filter(cf.initiator == "buyer").select(
        r2="order_id", requested_at="requested_at", outcome="outcome",
        resolved_at="resolved_at")
    j = e.select("contact_id", "order_id", "created_at").join(
        r, [ibis._.order_id == r.r2, r.requested_at < ibis._.created_at])
    j = j.mutate(_rank=ibis.row_number().over(group_by=j.contact_id,
                                              order_by=[ibis.desc(j.requested_at)]))
    last = j.filter(j._rank == 0).select(
        "contact_id", "requested_at", "outcome", "resolved_at",
        decided=j.resolved_at.notnull() & (j.resolved_at <= j.created_at))
    first = j.group_by("contact_id").aggregate(first_request=j.requested_at.min())
    e = e.left_join(last.join(first, "contact_id"), "contact_id").drop("contact_id_right")
    waited = (e.created_at.epoch_seconds() - e.requested_at.epoch_seconds()) / 3600
    cancelled_before = e.cancelled_at.notnull() & (e.cancelled_at < e.created_at)
    seller_fault = e.seller_fault.fill_null(False)  # the dictionary's seller fault
    pending = e.requested_at.notnull() & ~e.decided.fill_null(False)
    path = ibis.cases(
        (e.requested_at.notnull() & e.decided & (e.outcome == "rejected"), PATHS[0]),
        (pending & (waited >= timer_hours), PATHS[1]),
        (pending, PATHS[2]),
        (cancelled_before & seller_fault & e.o_paid.notnull()
         & (e.o_paid < e.cancelled_at), PATHS[3]),
        (cancelled_before | (e.requested_at.notnull() & e.decided
                             & (e.outcome == "approved")), PATHS[4]),
        (e.requested_at.notnull() & e.decided & (e.outcome == "withdrawn"), PATHS[5]),
        else_=PATHS[6])

    def hours(a: ir.Value, b: ir.Value) -> ir.Value:
        return (b.epoch_seconds() - a.epoch_seconds()) / 3600

    step = e.resolved_at.notnull() & (e.resolved_at <= e.created_at)
    e = e.mutate(path=path, h_order_request=hours(e.o_created, e.first_request),
                 h_request_outcome=ibis.ifelse(step, hours(e.requested_at, e.resolved_at),
                                               ibis.null("float64")),
                 h_outcome_escalation=ibis.ifelse(step, hours(e.resolved_at, e.created_at),
                                                  ibis.null("float64")),
                 h_order_escalation=hours(e.o_created, e.created_at))
    cols = ["contact_id", "path", "seller_id", "n_before", "hours_to_escalation",
            "h_order_request", "h_request_outcome", "h_outcome_escalation",
            "h_order_escalation", "csat", "channel", "reason"]
    e = e.join(esc.select("contact_id", "csat", "channel"), "contact_id")
    none = esc.filter(esc.order_id.isnull()).select(
        "contact_id", "csat", "channel", "reason",
        path=ibis.literal(PATHS[7]), seller_id=ibis.null("string"),
        n_before=ibis.literal(0).cast("int64"), hours_to_escalation=ibis.null("float64"),
        h_order_request=ibis.null("float64"), h_request_outcome=ibis.null("float64"),
        h_outcome_escalation=ibis.null("float64"), h_order_escalation=ibis.null("float64"))
    return ibis.union(e.select(*cols), none.select(*cols))


def escalation_paths(source: Any, market: str, start: Any, end: Any,
                     timer_hours: float = 72.0) -> pd.DataFrame:
    """The paths to the period's escalations (see the module), most common first.

    Columns: ``path``, ``escalations``, ``share``, the median hours from the
    order to the buyer's first cancel request (``hours_order_to_request``), from
    the latest request to its decision (``hours_request_to_outcome``), from the
    decision to the escalation (``hours_outcome_to_escalation``), from the order
    to the escalation (``hours_order_to_escalation``), the mean contacts about
    the order before it (``contacts_before``) and the CSAT of the escalated
    contacts (``csat``). Every path appears, with 0 when it has none.
    """
    source = load_source(source)
    e = _journeys(source, market, start, end, timer_hours)
    agg = e.group_by("path").aggregate(
        escalations=e.count(), hours_order_to_request=e.h_order_request.median(),
        hours_request_to_outcome=e.h_request_outcome.median(),
        hours_outcome_to_escalation=e.h_outcome_escalation.median(),
        hours_order_to_escalation=e.h_order_escalation.median(),
        contacts_before=e.n_before.mean(), csat=e.csat.mean())
    t = source.execute(agg)
    out = pd.DataFrame({"path": list(PATHS)}).merge(t, on="path", how="left")
    out["escalations"] = out["escalations"].fillna(0).astype(int)
    total = out["escalations"].sum()
    out.insert(2, "share", out["escalations"] / total if total else np.nan)
    order = {p: i for i, p in enumerate(PATHS)}
    out["_o"] = out["path"].map(order)
    return (out.sort_values(["escalations", "_o"], ascending=[False, True])
            .drop(columns="_o").reset_index(drop=True))


def escalation_journeys(source: Any, market: str, start: Any, end: Any,
                        timer_hours: float = 72.0) -> pd.DataFrame:
    """Each escalation of the period with its path and step times (for charts and
    drill-downs; one row per escalation, which is few)."""
    source = load_source(source)
    return source.execute(_journeys(source, market, start, end, timer_hours))


def seller_escalations(source: Any, market: str, start: Any, end: Any,
                       min_orders: int = 50, top: int | None = 20) -> pd.DataFrame:
    """Sellers by escalations per 1,000 of their orders placed in the period.

    An escalation counts for the seller when it is about one of the seller's
    orders of the period (created at any time up to the data's end; a young
    period's count still grows). Only sellers with at least ``min_orders``
    orders are ranked. Columns: ``seller_id``, ``orders``, ``escalations``,
    ``per_1000``, ``ci_low``, ``ci_high`` (exact Poisson 95%, per 1,000),
    ``share`` (of the market's escalations about the period's orders),
    ``market_per_1000``, ``excess`` (escalations beyond the market's rate for
    that many orders), ``p_value`` (one-sided Poisson test against the
    market's rate) and ``above_market`` (significant after Benjamini-Hochberg
    across the ranked sellers). Most excess escalations first: the sellers
    whose fix removes the most escalations.
    """
    from scipy import stats

    source = load_source(source)
    p = parse_period(start, end)
    o = cohort(source, market_code(market), p.start, p.end).select("order_id", "seller_id")
    c = source.tables["contacts"]
    esc = c.filter(c.escalated, c.order_id.notnull()).group_by("order_id").aggregate(
        n=ibis._.count())
    j = o.left_join(esc, "order_id").drop("order_id_right")
    per = source.execute(j.group_by("seller_id").aggregate(
        orders=j.count(), escalations=j.n.fill_null(0).sum()))
    cols = ["seller_id", "orders", "escalations", "per_1000", "ci_low", "ci_high", "share",
            "market_per_1000", "excess", "p_value", "above_market"]
    if per.empty:
        return pd.DataFrame(columns=cols)
    total_orders, total_esc = per["orders"].sum(), per["escalations"].sum()
    market_rate = 1000 * total_esc / total_orders if total_orders else np.nan
    per = per[per["orders"] >= min_orders].copy()
    x, n = per["escalations"].to_numpy(float), per["orders"].to_numpy(float)
    per["per_1000"] = 1000 * x / n
    per["ci_low"] = np.where(x > 0, 1000 * stats.chi2.ppf(0.025, 2 * x) / 2 / n, 0.0)
    per["ci_high"] = 1000 * stats.chi2.ppf(0.975, 2 * x + 2) / 2 / n
    per["share"] = x / total_esc if total_esc else np.nan
    per["market_per_1000"] = market_rate
    expected = n * market_rate / 1000
    per["excess"] = x - expected
    # one-sided Poisson test against the market's rate, BH across the ranked sellers
    per["p_value"] = stats.poisson.sf(x - 1, expected) if market_rate > 0 else np.nan
    per["above_market"] = benjamini_hochberg(per["p_value"].to_numpy(float))[0] & (
        per["excess"] > 0)
    per = per.sort_values(["excess", "per_1000", "seller_id"],
                          ascending=[False, False, True]).reset_index(drop=True)
    return (per if top is None else per.head(top))[cols]
