"""The metric dictionary (docs/metrics.md), computed once, for every caller.

All logic is written against Ibis table expressions, so it runs inside the
engine (DuckDB by default, Spark or another Ibis backend for large data);
only small aggregate results come back as pandas. The dictionary itself (each KPI
and how its value is made from the aggregates) is :mod:`shopcx.metrics.dictionary`;
the aggregates are computed here. The per-order, per-request
and per-contact facts it aggregates come from :mod:`shopcx.metrics.facts`.

Main entry points:

* :func:`compute_kpis` -- every KPI for one market and period, as a tidy table;
* :func:`compute_segment_kpis` -- the same per value of one order dimension;
* :func:`kpis_to_dict` -- the JSON shape of ``shopcx kpis --format json``.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from shopcx.data.contract import CANCEL_CONTACT_REASONS
from shopcx.data.sources import Source, load_source
from shopcx.errors import InputError
from shopcx.metrics.dictionary import KPIS, Kpi, kpi_entries, kpi_rows
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
from shopcx.params import market_code

if TYPE_CHECKING:  # maturity reads the dictionary; the dictionary only takes its windows
    from shopcx.metrics.maturity import Maturity

__all__ = [
    "BY_DIMENSIONS",
    "SEGMENT_DIMENSIONS",
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

# --------------------------------------------------------------------------- aggregates


def _group(table: ir.Table, by: str | None, **aggs: Any) -> ir.Table:
    return table.group_by(by).aggregate(**aggs) if by else table.aggregate(**aggs)


def _mature_counts(t: ir.Table, prefix: str, cuts: dict[int, Any]) -> dict[str, Any]:
    """Rows of ``t`` created at or before each window's cut (``as_of`` minus the window;
    a timestamp, or a statement's parameter)."""
    return {f"{prefix}{w}": (t.created_at <= (cut if isinstance(cut, ir.Value) else
                                              ibis.timestamp(cut.to_pydatetime()))).sum()
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
    if by is None and periods is None:
        return _one_statement(source, market, p, maturity)
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
        cuts = _cuts(source, maturity)
        if own is not None:
            return _aggregate_parts(source, market, p, facts, reqs, by, cuts, own)
        return _aggregate_parts(source, market, p, facts, reqs, by, cuts)


def _cuts(source: Source, maturity: Maturity | None) -> dict[int, pd.Timestamp]:
    """Each maturity window's cut: the source's data end minus the window (none without
    maturity or data)."""
    as_of = source.data_end() if maturity is not None else None
    if maturity is None or as_of is None:
        return {}
    return {w: as_of - pd.Timedelta(days=w)
            for w in sorted({maturity.days(k.name) for k in KPIS} - {0})}


def _one_statement(source: Source, market: str, p: Period,
                   maturity: Maturity | None) -> pd.DataFrame:
    """The aggregates of one market and period: one statement, with the market, the
    bounds and the maturity cuts as its parameters, so it is compiled once per shape
    (:meth:`~shopcx.data.sources.Source.statement`) and the engine pipelines it whole."""
    cuts = _cuts(source, maturity)
    values: dict[str, Any] = {"market": market, "start": p.start.to_pydatetime(),
                              "end": p.end.to_pydatetime()}
    values.update({f"cut_{w}": cut.to_pydatetime() for w, cut in cuts.items()})

    def build(params: dict[str, Any]) -> ir.Table:
        q = Period(params["start"], params["end"])
        orders = cohort(source, params["market"], q.start, q.end)
        cf = cancellation_facts(source, orders)
        facts = enrich_orders(source, orders, cf)
        return _aggregate_parts(source, params["market"], q, facts,
                                cf.filter(cf.initiator == "buyer"), None,
                                {w: params[f"cut_{w}"] for w in cuts})

    return pd.DataFrame(source.statement("kpis", tuple(cuts), values, build))


def _aggregate_parts(source: Source, market: str, p: Period, facts: ir.Table,
                     reqs: ir.Table, by: str | None,
                     cuts: dict[int, pd.Timestamp] | None = None,
                     own: Callable[[ir.TimestampValue], ir.StringValue] | None = None
                     ) -> Any:
    """The aggregates of every KPI, grouped ``by`` a column of ``facts`` (a frame), or
    without ``by`` the one-row expression of them all (not executed: a statement).

    Contacts and feedback take their group from their order (segments), or,
    with ``own``, from their own time (periods: C and F are the contacts and
    feedback created in each period)."""
    c = period_contacts(source, market, p.start, p.end)
    plain = period_contacts(source, market, p.start, p.end, repeat=False)  # escalations
    fb = period_feedback(source, market, p.start, p.end)
    cancelled = facts.filter(facts.cancelled)
    contacts = source.near("contacts", cancelled.order_id)  # prunes other markets' files
    cancel_contacts = contacts.filter(contacts.reason.isin(CANCEL_CONTACT_REASONS),
                                      contacts.order_id.notnull())
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
        return one
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


def _kpi_table(agg: pd.DataFrame, maturity: Maturity | None = None) -> pd.DataFrame:
    """Turn aggregate rows into the long KPI table (one row per row of ``agg`` and KPI)."""
    rows = [r for _, a in agg.iterrows() for r in kpi_rows(a.to_dict(), maturity)]
    out = pd.DataFrame(rows, columns=["kpi", "kind", "label", "value", "numerator",
                                      "denominator", "ci_low", "ci_high",
                                      *(["maturity_days", "mature_share"] if maturity else [])])
    for col in ("value", "ci_low", "ci_high"):
        out[col] = out[col].astype(float)
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


def kpis_to_dict(kpis: pd.DataFrame, market: str, start: Any, end: Any,
                 segments: pd.DataFrame | None = None) -> dict[str, Any]:
    """The JSON object of ``shopcx kpis --format json`` (METRICS.md)."""
    p = parse_period(start, end)
    out: dict[str, Any] = {"market": market, "start": f"{p.start:%Y-%m-%d}",
                           "end": f"{p.end:%Y-%m-%d}", "kpis": kpi_entries(_records(kpis))}
    if segments is not None:
        out["segments"] = [
            {"key": None if pd.isna(key) else key, "kpis": kpi_entries(_records(group))}
            for key, group in segments.groupby("segment", sort=False, dropna=False)
        ]
    return out


def _records(table: pd.DataFrame) -> list[dict[str, Any]]:
    return table.to_dict("records")
