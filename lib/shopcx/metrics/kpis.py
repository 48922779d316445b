"""The metric dictionary (docs/metrics.md), computed once, for every caller.

All logic is written against Ibis table expressions, so it runs inside the
engine (DuckDB by default, Spark or another Ibis backend for large data);
only small aggregate results come back as pandas. The per-order, per-request
and per-contact facts it aggregates come from :mod:`shopcx.metrics.facts`.

Main entry points:

* :data:`KPIS` and :data:`KPI_BY_NAME` -- the dictionary itself (name, kind,
  numerator, denominator, label, which direction is better, definition);
* :func:`compute_kpis` -- every KPI for one market and period, as a tidy table;
* :func:`compute_segment_kpis` -- the same per value of one order dimension;
* :func:`kpis_to_dict` -- the JSON shape of ``shopcx kpis --format json``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from shopcx.data.contract import CANCEL_CONTACT_REASONS
from shopcx.data.sources import Source, load_source
from shopcx.errors import InputError
from shopcx.metrics.facts import (
    INITIATORS,
    STAGES,
    Period,
    cancellation_facts,
    cohort,
    enrich_orders,
    escalation_facts,
    parse_period,
    period_contacts,
    period_feedback,
)
from shopcx.metrics.segments import with_buyer_segment
from shopcx.metrics.stats import wilson_interval
from shopcx.params import market_code

if TYPE_CHECKING:  # maturity reads the dictionary; the dictionary only takes its windows
    from shopcx.metrics.maturity import Maturity

__all__ = [
    "BY_DIMENSIONS",
    "KPIS",
    "KPI_BY_NAME",
    "SEGMENT_DIMENSIONS",
    "Kpi",
    "compute_kpis",
    "compute_period_kpis",
    "unit_aggregates",
    "unit_measure",
    "compute_segment_kpis",
    "kpis_to_dict",
]

SEGMENT_DIMENSIONS = ("category", "sales_channel", "fulfillment", "payment_method", "carrier")
"""The order dimensions of the spec's ``--by``."""
BY_DIMENSIONS = (*SEGMENT_DIMENSIONS, "buyer_segment")
"""What ``--by`` accepts: the spec's dimensions and the derived buyer segment
(see :mod:`shopcx.metrics.segments`)."""

Kind = Literal["count", "sum", "mean", "quantile", "ratio", "proportion"]


@dataclass(frozen=True)
class Kpi:
    """One KPI of the dictionary: how its value is made from the aggregates."""

    name: str
    kind: Kind
    numerator: str
    denominator: str | None = None
    label: str = ""
    better: Literal["lower", "higher"] | None = None  # which way is good for customers
    definition: str = ""  # one sentence, shown in every readout's definitions section
    scale: float = 1.0  # a rate's value is numerator / denominator * scale (per 1,000)

    @property
    def is_rate(self) -> bool:
        return self.kind in ("ratio", "proportion")


def _kpis() -> tuple[Kpi, ...]:
    k: list[Kpi] = [
        Kpi("orders", "count", "n_orders", label="Orders"),
        Kpi("gmv_usd", "sum", "gmv_usd", label="GMV (USD)"),
        Kpi("paid_rate", "proportion", "n_paid", "n_orders", "Paid rate"),
        Kpi("shipped_rate", "proportion", "n_shipped", "n_orders", "Shipped rate"),
        Kpi("delivered_rate", "proportion", "n_delivered", "n_orders", "Delivered rate"),
        Kpi("cancellation_rate", "proportion", "n_cancelled", "n_orders", "Cancellation rate"),
    ]
    k += [Kpi(f"cancellation_rate_{i}", "proportion", f"n_cancelled_{i}", "n_orders",
              f"Cancellation rate, {i}-initiated") for i in INITIATORS]
    k += [Kpi(f"cancel_exit_{s}", "proportion", f"n_exit_{s}", "n_orders",
              f"Cancelled at stage {s.replace('_', ' ')}") for s in STAGES]
    k += [
        Kpi("seller_fault_cancellation_rate", "proportion", "n_seller_fault", "n_orders",
            "Seller-fault cancellation rate"),
        Kpi("buyer_cancel_requests", "count", "n_requests", label="Buyer cancel requests"),
        Kpi("cancel_request_success_rate", "proportion", "n_req_approved", "n_req_resolved",
            "Cancel request success rate"),
    ]
    k += [Kpi(f"cancel_request_success_rate_{s}", "proportion", f"n_req_approved_{s}",
              f"n_req_resolved_{s}", f"Cancel request success rate, {s.replace('_', ' ')}")
          for s in ("awaiting_shipment", "unpaid", "in_transit", "delivered")]
    k += [
        Kpi("cancel_withdrawal_rate", "proportion", "n_req_withdrawn", "n_requests",
            "Cancel request withdrawal rate"),
        Kpi("cancel_pending", "count", "n_req_pending", label="Pending cancel requests"),
        Kpi("median_hours_to_resolve", "quantile", "median_hours", label="Median hours to resolve"),
        Kpi("p90_hours_to_resolve", "quantile", "p90_hours", label="P90 hours to resolve"),
        Kpi("auto_resolved_share", "proportion", "n_req_auto", "n_req_resolved",
            "Auto-resolved share"),
        Kpi("repeat_request_rate", "proportion", "n_repeat_requesters", "n_requesters",
            "Repeat request rate"),
        Kpi("contacts", "count", "n_contacts", label="Contacts"),
        Kpi("cpo", "ratio", "n_contacts", "n_orders", "Contacts per order"),
        Kpi("cancel_cpo", "ratio", "n_cancel_contacts", "n_orders",
            "Cancellation contacts per order"),
        Kpi("contacts_per_cancelled_order", "ratio", "n_cancelled_order_contacts", "n_cancelled",
            "Contacts per cancelled order"),
        Kpi("repeat_contact_rate", "proportion", "n_repeat_contacts", "n_contacts_with_order",
            "Repeat contact rate (7 days)"),
        Kpi("escalation_rate", "proportion", "n_escalated", "n_contacts", "Escalation rate"),
        Kpi("escalations_per_1000_orders", "ratio", "n_escalated", "n_orders",
            "Escalations per 1,000 orders", scale=1000.0),
        Kpi("cancel_escalation_rate", "proportion", "n_cancel_escalated", "n_cancel_contacts",
            "Escalation rate of cancellation contacts"),
        Kpi("escalated_csat_mean", "mean", "escalated_csat_mean",
            label="CSAT of escalated contacts"),
        Kpi("contacts_before_escalation", "mean", "contacts_before_escalation",
            label="Contacts before escalation"),
        Kpi("median_hours_to_escalation", "quantile", "median_hours_to_escalation",
            label="Median hours from first cancellation contact to escalation"),
        Kpi("bot_contact_share", "proportion", "n_bot", "n_contacts", "Bot contact share"),
        Kpi("mean_handle_minutes", "mean", "mean_handle_minutes", label="Mean handle minutes"),
        Kpi("csat_mean", "mean", "csat_mean", label="CSAT mean"),
        Kpi("csat_response_rate", "proportion", "n_csat", "n_contacts", "CSAT response rate"),
        Kpi("csat_satisfied_share", "proportion", "n_csat_satisfied", "n_csat",
            "CSAT satisfied share (4-5)"),
        Kpi("feedback", "count", "n_feedback", label="Feedback"),
        Kpi("feedback_mean_rating", "mean", "feedback_mean_rating", label="Feedback mean rating"),
        Kpi("feedback_negative_share", "proportion", "n_negative", "n_rated",
            "Negative feedback share (1-2)"),
    ]
    return tuple(replace(kpi, better=_better(kpi.name), definition=_definition(kpi.name))
                 for kpi in k)


def _definition(name: str) -> str:
    """The one-sentence definition of a KPI (docs/metrics.md has the full text)."""
    orders = "orders placed in the period (the cohort)"
    for prefix, text in (
        ("cancellation_rate_", "cohort orders cancelled with this cancel initiator / {o}"),
        ("cancel_exit_", "cohort orders cancelled at this stage (unpaid, awaiting shipment, "
                         "in transit, delivered) / {o}"),
        ("cancel_request_success_rate_", "approved / approved or rejected buyer cancel "
                                         "requests made at this stage"),
    ):
        if name.startswith(prefix):
            return text.format(o=orders)
    return {
        "orders": orders,
        "gmv_usd": "order value in USD of the cohort",
        "paid_rate": f"cohort orders paid (COD: confirmed) / {orders}",
        "shipped_rate": f"cohort orders handed to a carrier / {orders}",
        "delivered_rate": f"cohort orders delivered / {orders}",
        "cancellation_rate": f"cohort orders with an approved cancellation / {orders}",
        "seller_fault_cancellation_rate": "cohort orders cancelled by the seller, or by the "
                                          f"system for a missed ship deadline / {orders}",
        "buyer_cancel_requests": "buyer cancel requests on cohort orders, whenever made",
        "cancel_request_success_rate": "approved / approved or rejected buyer cancel requests",
        "cancel_withdrawal_rate": "withdrawn / all buyer cancel requests",
        "cancel_pending": "buyer cancel requests not yet decided",
        "median_hours_to_resolve": "median hours from request to decision (approved or "
                                   "rejected requests)",
        "p90_hours_to_resolve": "90th percentile of hours from request to decision",
        "auto_resolved_share": "decided by a rule or timer / decided buyer cancel requests",
        "repeat_request_rate": "orders with two or more buyer requests / orders with at least one",
        "contacts": "customer-service contacts created in the period",
        "cpo": "contacts in the period / orders in the period",
        "cancel_cpo": "contacts about cancel requests, cancel status or refunds / orders in the "
                      "period",
        "contacts_per_cancelled_order": "cancellation-related contacts (any time) about "
                                        "cancelled cohort orders / cancelled cohort orders",
        "repeat_contact_rate": "contacts followed by another contact on the same order within "
                               "7 days / contacts about an order",
        "escalation_rate": "escalated contacts / contacts",
        "escalations_per_1000_orders": "escalated contacts in the period / orders in the "
                                       "period, times 1,000",
        "cancel_escalation_rate": "escalated cancellation-related contacts / "
                                  "cancellation-related contacts",
        "escalated_csat_mean": "mean satisfaction score (1-5) of escalated contacts",
        "contacts_before_escalation": "mean number of earlier contacts about the same order, "
                                      "per escalated contact about an order",
        "median_hours_to_escalation": "median hours from the order's first "
                                      "cancellation-related contact to the escalated contact",
        "bot_contact_share": "contacts handled by the bot / contacts",
        "mean_handle_minutes": "mean agent handle time in minutes",
        "csat_mean": "mean post-contact satisfaction score (1-5)",
        "csat_response_rate": "contacts with a satisfaction answer / contacts",
        "csat_satisfied_share": "satisfaction answers of 4 or 5 / satisfaction answers",
        "feedback": "feedback received in the period",
        "feedback_mean_rating": "mean feedback rating (1-5)",
        "feedback_negative_share": "feedback rated 1 or 2 / rated feedback",
    }[name]


_HIGHER_IS_BETTER = ("orders", "gmv_usd", "paid_rate", "shipped_rate", "delivered_rate",
                     "cancel_request_success_rate", "csat_mean", "csat_satisfied_share",
                     "feedback_mean_rating", "escalated_csat_mean")
_NEUTRAL = ("buyer_cancel_requests", "cancel_withdrawal_rate", "auto_resolved_share",
            "bot_contact_share", "mean_handle_minutes", "csat_response_rate", "feedback",
            "median_hours_to_escalation")


def _better(name: str) -> Literal["lower", "higher"] | None:
    if name.startswith(_HIGHER_IS_BETTER):
        return "higher"
    return None if name in _NEUTRAL else "lower"


KPIS: tuple[Kpi, ...] = _kpis()
"""Every KPI of the metric dictionary, in dictionary order."""

KPI_BY_NAME = {k.name: k for k in KPIS}


# --------------------------------------------------------------------------- aggregates


def _group(table: ir.Table, by: str | None, **aggs: Any) -> ir.Table:
    return table.group_by(by).aggregate(**aggs) if by else table.aggregate(**aggs)


def _mature_counts(t: ir.Table, prefix: str, cuts: dict[int, pd.Timestamp]) -> dict[str, Any]:
    """Rows of ``t`` created at or before each window's cut (``as_of`` minus the window)."""
    return {f"{prefix}{w}": (t.created_at <= ibis.timestamp(cut.to_pydatetime())).sum()
            for w, cut in cuts.items()}


def _order_aggregates(f: ir.Table, by: str | None,
                      cuts: dict[int, pd.Timestamp] | None = None) -> ir.Table:
    aggs: dict[str, Any] = {
        "n_orders": f.count(),
        "gmv_usd": f.gmv_usd.sum(),
        "n_paid": f.paid_at.notnull().sum(),
        "n_shipped": f.shipped_at.notnull().sum(),
        "n_delivered": f.delivered_at.notnull().sum(),
        "n_cancelled": f.cancelled.sum(),
        "n_seller_fault": f.seller_fault.sum(),
        "n_requesters": (f.buyer_requests >= 1).sum(),
        "n_repeat_requesters": (f.buyer_requests >= 2).sum(),
    }
    for i in INITIATORS:
        aggs[f"n_cancelled_{i}"] = (f.cancel_initiator == i).sum()
    for s in STAGES:
        aggs[f"n_exit_{s}"] = (f.cancel_stage == s).sum()
    aggs.update(_mature_counts(f, "n_orders_mature_", cuts or {}))
    return _group(f, by, **aggs)


def _request_aggregates(r: ir.Table, by: str | None, quantiles: bool = True) -> ir.Table:
    resolved = r.outcome.isin(("approved", "rejected"))
    approved = r.outcome == "approved"
    aggs: dict[str, Any] = {
        "n_requests": r.count(),
        "n_req_approved": approved.sum(),
        "n_req_resolved": resolved.sum(),
        "n_req_withdrawn": (r.outcome == "withdrawn").sum(),
        "n_req_pending": (r.outcome == "pending").sum(),
        "n_req_auto": (resolved & r.auto_resolved).sum(),
    }
    if quantiles:
        aggs["median_hours"] = r.hours_to_resolve.quantile(0.5, where=resolved)
        aggs["p90_hours"] = r.hours_to_resolve.quantile(0.9, where=resolved)
    for s in STAGES:
        aggs[f"n_req_approved_{s}"] = (approved & (r.stage == s)).sum()
        aggs[f"n_req_resolved_{s}"] = (resolved & (r.stage == s)).sum()
    return _group(r, by, **aggs)


def _contact_aggregates(c: ir.Table, by: str | None,
                        cuts: dict[int, pd.Timestamp] | None = None) -> ir.Table:
    return _group(
        c, by, **_mature_counts(c, "n_contacts_mature_", cuts or {}),
        n_contacts=c.count(),
        n_cancel_contacts=c.reason.isin(CANCEL_CONTACT_REASONS).sum(),
        n_contacts_with_order=c.order_id.notnull().sum(),
        n_repeat_contacts=c.repeat.sum(),
        n_escalated=c.escalated.sum(),
        n_cancel_escalated=(c.escalated & c.reason.isin(CANCEL_CONTACT_REASONS)).sum(),
        escalated_csat_mean=c.csat.mean(where=c.escalated),
        n_bot=(c.channel == "bot").sum(),
        mean_handle_minutes=(c.handle_time_s / 60).mean(),
        csat_mean=c.csat.mean(),
        n_csat=c.csat.notnull().sum(),
        n_csat_satisfied=(c.csat >= 4).sum(),
    )


def _escalation_aggregates(e: ir.Table, by: str | None) -> ir.Table:
    return _group(e, by, contacts_before_escalation=e.n_before.mean(),
                  median_hours_to_escalation=e.hours_to_escalation.quantile(0.5))


def _feedback_aggregates(fb: ir.Table, by: str | None) -> ir.Table:
    return _group(
        fb, by,
        n_feedback=fb.count(),
        feedback_mean_rating=fb.rating.mean(),
        n_rated=fb.rating.notnull().sum(),
        n_negative=(fb.rating <= 2).sum(),
    )


def _period_of(periods: list[Period]) -> Callable[[ir.TimestampValue], ir.StringValue]:
    """A function giving a timestamp's period (its start, YYYY-MM-DD; null outside all)."""
    def period(ts: ir.TimestampValue) -> ir.StringValue:
        branches = [((ts >= ibis.timestamp(q.start.to_pydatetime()))
                     & (ts < ibis.timestamp(q.end.to_pydatetime())), f"{q.start:%Y-%m-%d}")
                    for q in periods]
        return ibis.cases(*branches, else_=ibis.null("string"))
    return period


def _aggregate_frames(source: Source, market: str, start: Any, end: Any,
                      by: str | None, lookback_days: int = 180,
                      maturity: Maturity | None = None,
                      periods: list[Period] | None = None) -> pd.DataFrame:
    """All aggregates, one row (or one row per segment value) as a pandas frame.

    With ``maturity``, also the units (orders, contacts) at least each
    window old at the source's :meth:`~shopcx.data.sources.Source.data_end`.
    """
    p = parse_period(start, end)
    market = market_code(market)
    with ExitStack() as stack:
        # each period's cancellation rows and per-order facts are computed once
        # (in a temporary table) and shared by the aggregations below
        orders = cohort(source, market, p.start, p.end)
        own = None
        if periods is not None:  # by == PERIOD: each row's period from its own time
            own = _period_of(periods)
            orders = orders.mutate(**{PERIOD: own(orders.created_at)})
            orders = orders.filter(orders[PERIOD].notnull())
        cf = stack.enter_context(source.cached(cancellation_facts(source, orders)))
        facts = enrich_orders(source, orders, cf)
        if by == "buyer_segment":
            facts = with_buyer_segment(source, facts, market, p.start, lookback_days)
        facts = stack.enter_context(source.cached(facts.select(
            "order_id", "created_at", "gmv_usd", "paid_at", "shipped_at", "delivered_at", "cancelled",
            "seller_fault", "buyer_requests", "cancel_initiator", "cancel_stage",
            *([by] if by else []))))  # only what the aggregations read
        reqs = cf.filter(cf.initiator == "buyer")
        cuts: dict[int, pd.Timestamp] = {}
        as_of = source.data_end() if maturity is not None else None
        if maturity is not None and as_of is not None:
            cuts = {w: as_of - pd.Timedelta(days=w)
                    for w in sorted({maturity.days(k.name) for k in KPIS} - {0})}
        if own is not None:
            return _aggregate_parts(source, market, p, facts, reqs, by, cuts, own)
        return _aggregate_parts(source, market, p, facts, reqs, by, cuts)


def _aggregate_parts(source: Source, market: str, p: Period, facts: ir.Table,
                     reqs: ir.Table, by: str | None,
                     cuts: dict[int, pd.Timestamp] | None = None,
                     own: Callable[[ir.TimestampValue], ir.StringValue] | None = None
                     ) -> pd.DataFrame:
    """The aggregates of every KPI, grouped ``by`` a column of ``facts`` (or not).

    Contacts and feedback take their group from their order (segments), or,
    with ``own``, from their own time (periods: C and F are the contacts and
    feedback created in each period)."""
    contacts = source.tables["contacts"]
    c = period_contacts(source, market, p.start, p.end)
    plain = period_contacts(source, market, p.start, p.end, repeat=False)  # escalations
    fb = period_feedback(source, market, p.start, p.end)
    cancel_contacts = contacts.filter(contacts.reason.isin(CANCEL_CONTACT_REASONS),
                                      contacts.order_id.notnull())
    cancelled = facts.filter(facts.cancelled)
    keys = ["order_id"] + ([by] if by else [])
    if by:
        seg = facts.select(*keys)
        reqs = reqs.join(seg, "order_id")
        if own is not None:
            c = c.mutate(**{by: own(c.created_at)})
            plain = plain.mutate(**{by: own(plain.created_at)})
            fb = fb.mutate(**{by: own(fb.created_at)})
        else:
            c = c.join(seg, "order_id")
            plain = plain.join(seg, "order_id")
            fb = fb.join(seg, "order_id")
    coc = cancel_contacts.select("order_id").join(cancelled.select(*keys), "order_id")
    parts = [
        _order_aggregates(facts, by, cuts),
        _request_aggregates(reqs, by),
        _contact_aggregates(c, by, cuts),
        _feedback_aggregates(fb, by),
        _group(coc, by, n_cancelled_order_contacts=coc.count()),
        _escalation_aggregates(escalation_facts(source, plain, [by] if by else []), by),
    ]
    if not by:  # one row each: a single statement (one plan, one round trip)
        one = parts[0]
        for part in parts[1:]:
            one = one.cross_join(part)
        return source.execute(one).reset_index(drop=True)
    frames = [source.execute(part) for part in parts]
    out = frames[0]
    out[by] = out[by].astype(object).where(out[by].notna(), None)
    for f in frames[1:]:
        f[by] = f[by].astype(object).where(f[by].notna(), None)
        out = out.merge(f, on=by, how="left")
    # largest segment first; ties by key, the null segment last among equals
    return out.sort_values(["n_orders", by], ascending=[False, True], na_position="last",
                           kind="stable").reset_index(drop=True)


def unit_aggregates(source: Source, market: str, units: ir.Table, unit_type: str) -> ir.Table:
    """The aggregates of every KPI per experiment unit, as an (unexecuted) Ibis table.

    ``units`` has one row per unit: ``unit_id`` (a buyer or an order id, as
    ``unit_type`` says) and its window ``t0`` <= time < ``t1``. Each unit's
    orders (the buyer's orders, or the order itself) created in its window,
    their cancellation requests, the unit's contacts and feedback created in
    it (by ``buyer_id``, or ``order_id`` for order units) are aggregated
    exactly as :func:`compute_kpis` aggregates a market's period. Every unit
    appears, with zero counts when it did nothing. See :func:`unit_measure`
    for a KPI's numerator and denominator per unit.
    """
    market = market_code(market)
    span = units.aggregate(lo=units.t0.min(), hi=units.t1.max())
    lo, hi = (pd.Timestamp(v) for v in source.execute(span).iloc[0])
    key = "buyer_id" if unit_type == "buyer" else "order_id"
    w = units.select("unit_id", "t0", "t1")

    def mine(t: ir.Table, time: str) -> ir.Table:
        j = t.join(w, t[key] == w.unit_id)
        return j.filter(j[time] >= j.t0, j[time] < j.t1).drop("t0", "t1")

    orders = mine(cohort(source, market, lo, hi), "created_at")
    cf = cancellation_facts(source, orders)  # once, for the orders' facts and the requests
    facts = enrich_orders(source, orders, cf)
    reqs = cf.filter(cf.initiator == "buyer").join(orders.select("order_id", "unit_id"),
                                                   "order_id")
    parts = [
        _order_aggregates(facts, "unit_id"),
        _request_aggregates(reqs, "unit_id", quantiles=False),  # not sums over units
        _contact_aggregates(mine(period_contacts(source, market, lo, hi), "created_at"),
                            "unit_id"),
        _feedback_aggregates(mine(period_feedback(source, market, lo, hi), "created_at"),
                             "unit_id"),
    ]
    out = units.select("unit_id")
    for part in parts:
        out = out.left_join(part, "unit_id").drop("unit_id_right")
    means = {"csat_mean": "n_csat", "feedback_mean_rating": "n_rated"}
    counts = [c for c in out.columns if c.startswith("n_")]
    return out.mutate(
        **{c: out[c].fill_null(0) for c in counts},
        **{f"sum_{m}": (out[m] * out[n]).fill_null(0) for m, n in means.items()})


def unit_measure(kpi: Kpi) -> tuple[str, str] | None:
    """The columns of :func:`unit_aggregates` whose sums make ``kpi`` (numerator,
    denominator), or None when it is not a ratio of unit sums (counts, quantiles,
    handle time, contacts per cancelled order)."""
    if kpi.is_rate and kpi.name != "contacts_per_cancelled_order":
        return kpi.numerator, str(kpi.denominator)
    if kpi.name == "csat_mean":
        return "sum_csat_mean", "n_csat"
    if kpi.name == "feedback_mean_rating":
        return "sum_feedback_mean_rating", "n_rated"
    return None


def _count(v: Any) -> int:
    return 0 if v is None or (isinstance(v, float) and math.isnan(v)) or pd.isna(v) else int(v)


def _number(v: Any) -> float | None:
    return None if v is None or pd.isna(v) else float(v)



def _mature_share(a: pd.Series, k: Kpi, maturity: Maturity) -> float | None:
    """The share of the KPI's units (orders or contacts) at least its window old."""
    days = maturity.days(k.name)
    unit = "contacts" if maturity.unit(k.name) == "contact" else "orders"
    total = _count(a[f"n_{unit}"])
    if not total:
        return None
    if days == 0:
        return 1.0
    column = f"n_{unit}_mature_{days}"
    return _count(a[column]) / total if column in a.index else None


def _kpi_table(agg: pd.DataFrame, maturity: Maturity | None = None) -> pd.DataFrame:
    """Turn aggregate rows into the long KPI table (one row per row of ``agg`` and KPI)."""
    rows = []
    for _, a in agg.iterrows():
        for k in KPIS:
            row: dict[str, Any] = {"kpi": k.name, "kind": k.kind, "label": k.label}
            if maturity is not None:
                row.update(maturity_days=maturity.days(k.name),
                           mature_share=_mature_share(a, k, maturity))
            if k.kind in ("count", "sum"):
                row["value"] = float(_count(a[k.numerator])) if k.kind == "count" else (
                    _number(a[k.numerator]) or 0.0)
            elif k.kind in ("mean", "quantile"):
                row["value"] = _number(a[k.numerator])
            else:
                num, den = _count(a[k.numerator]), _count(a[k.denominator])
                row.update(numerator=num, denominator=den,
                           value=num / den * k.scale if den else None)
            rows.append(row)
    out = pd.DataFrame(rows, columns=["kpi", "kind", "label", "value", "numerator",
                                      "denominator",
                                      *(["maturity_days", "mature_share"] if maturity else [])])
    out["value"] = out["value"].astype(float)
    prop = out["kind"].eq("proportion") & out["denominator"].gt(0)
    lo, hi = wilson_interval(out.loc[prop, "numerator"].astype(float),
                             out.loc[prop, "denominator"].astype(float))
    out["ci_low"] = np.nan
    out["ci_high"] = np.nan
    out.loc[prop, "ci_low"] = lo
    out.loc[prop, "ci_high"] = hi
    for col in ("numerator", "denominator"):
        out[col] = out[col].astype("Int64")
    if maturity is not None:
        out["mature_share"] = out["mature_share"].astype(float)
    return out


def compute_kpis(source: Any, market: str, start: Any, end: Any,
                 maturity: Maturity | None = None) -> pd.DataFrame:
    """Every KPI of the metric dictionary for one market and period ``[start, end)``.

    Returns one row per KPI with columns ``kpi``, ``kind`` (count, sum, mean,
    quantile, ratio, proportion), ``label``, ``value`` (NaN when undefined,
    e.g. a zero denominator), ``numerator`` and ``denominator`` (rates only),
    ``ci_low`` and ``ci_high`` (Wilson 95%, proportions only). With
    ``maturity`` (see :mod:`shopcx.metrics.maturity`), also ``maturity_days``
    and ``mature_share``: the share of the KPI's orders (or contacts) at
    least that many days old at the source's data end (its ``as_of``).
    """
    source = load_source(source)
    return _kpi_table(_aggregate_frames(source, market, start, end, None, maturity=maturity),
                      maturity)


def compute_segment_kpis(source: Any, market: str, start: Any, end: Any,
                         by: str, lookback_days: int = 180) -> pd.DataFrame:
    """Every KPI per value of order dimension ``by`` (see METRICS.md, ``--by``).

    Returns the table of :func:`compute_kpis` with a leading ``segment``
    column, segments ordered by their number of orders (largest first);
    a null segment (e.g. orders never handed to a carrier) is ``None``.
    Buyer segments look ``lookback_days`` back from the period's start.
    """
    if by not in BY_DIMENSIONS:
        raise InputError(f"--by {by!r} is not one of {', '.join(BY_DIMENSIONS)}")
    source = load_source(source)
    agg = _aggregate_frames(source, market, start, end, by, lookback_days)
    parts = []
    for _, row in agg.iterrows():
        t = _kpi_table(row.to_frame().T)
        t.insert(0, "segment", row[by])
        parts.append(t)
    if not parts:
        return _kpi_table(agg.iloc[0:0]).assign(segment=None)
    return pd.concat(parts, ignore_index=True)


PERIOD = "period"
"""The column of :func:`compute_period_kpis` naming each row's period (its start date)."""


def compute_period_kpis(source: Any, market: str, periods: list[tuple[Any, Any]],
                        maturity: Maturity | None = None) -> pd.DataFrame:
    """Every KPI for each of several periods, in one pass (one statement per table).

    Returns the table of :func:`compute_kpis` (with maturity columns when
    ``maturity`` is given) with a leading ``period`` column (each period's
    start, ``YYYY-MM-DD``), one block per period in the order given; each
    block equals :func:`compute_kpis` of that period alone: orders, requests
    and cancellations follow the order's period, contacts and feedback their
    own. Periods must not overlap; a period without rows gets zero counts.
    Trends use this instead of one query per period.
    """
    source = load_source(source)
    spans = sorted((parse_period(s, e) for s, e in periods), key=lambda q: q.start)
    for a, b in zip(spans, spans[1:], strict=False):
        if b.start < a.end:
            raise InputError(f"periods {a} and {b} overlap")
    if not spans:
        raise InputError("no periods given")
    agg = _aggregate_frames(source, market, spans[0].start, spans[-1].end, PERIOD,
                            maturity=maturity, periods=spans)
    labels = [f"{parse_period(s, e).start:%Y-%m-%d}" for s, e in periods]
    agg = pd.DataFrame({PERIOD: labels}).merge(agg, on=PERIOD, how="left")
    parts = []
    for _, row in agg.iterrows():
        t = _kpi_table(row.to_frame().T, maturity)
        t.insert(0, PERIOD, row[PERIOD])
        parts.append(t)
    return pd.concat(parts, ignore_index=True)


def _clean(v: Any) -> Any:
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
        return None
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return float(v)
    return v


def _kpi_entries(table: pd.DataFrame) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for _, r in table.iterrows():
        kind = r["kind"]
        value = _clean(r["value"])
        if kind == "count" and value is not None:
            value = int(value)
        entry: dict[str, Any] = {"value": value}
        if kind in ("ratio", "proportion"):
            entry["numerator"] = _clean(r["numerator"])
            entry["denominator"] = _clean(r["denominator"])
        if kind == "proportion":
            entry["ci_low"] = _clean(r["ci_low"])
            entry["ci_high"] = _clean(r["ci_high"])
        out[r["kpi"]] = entry
    return out


def kpis_to_dict(kpis: pd.DataFrame, market: str, start: Any, end: Any,
                 segments: pd.DataFrame | None = None) -> dict[str, Any]:
    """The JSON object of ``shopcx kpis --format json`` (METRICS.md)."""
    p = parse_period(start, end)
    out: dict[str, Any] = {"market": market, "start": f"{p.start:%Y-%m-%d}",
                           "end": f"{p.end:%Y-%m-%d}", "kpis": _kpi_entries(kpis)}
    if segments is not None:
        out["segments"] = [
            {"key": _clean(key), "kpis": _kpi_entries(group)}
            for key, group in segments.groupby("segment", sort=False, dropna=False)
        ]
    return out
