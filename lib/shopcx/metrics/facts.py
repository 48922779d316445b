"""Facts the metric dictionary is computed from: periods, and per-order, per-request and
per-contact tables in the engine (docs/metrics.md, "Facts derived per order and per
request").

* :func:`parse_period` -- a checked half-open period ``[start, end)``;
* :func:`order_facts` -- the order cohort O with one row per order and its
  derived facts (cancelled?, cancel initiator / reason / stage, requests);
* :func:`request_facts` -- buyer cancel requests R with stage and hours to resolve;
* :func:`period_contacts` and :func:`period_feedback` -- C and F of a period.

Everything is an Ibis expression; nothing is computed until a caller executes it.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from shopcx.data.contract import CANCEL_CONTACT_REASONS
from shopcx.data.sources import Source, key_range, load_source
from shopcx.errors import InputError
from shopcx.metrics.dictionary import INITIATORS, STAGES
from shopcx.params import market_code

__all__ = [
    "INITIATORS",
    "REPEAT_CONTACT_WINDOW_HOURS",
    "STAGES",
    "Period",
    "cancellation_facts",
    "cohort",
    "enrich_orders",
    "escalation_facts",
    "order_facts",
    "parse_period",
    "period_contacts",
    "period_feedback",
    "request_facts",
    "stage_of",
]

REPEAT_CONTACT_WINDOW_HOURS = 168


# --------------------------------------------------------------------------- periods


@dataclass(frozen=True)
class Period:
    """A half-open period ``[start, end)`` in UTC."""

    start: pd.Timestamp
    end: pd.Timestamp

    def __str__(self) -> str:
        return f"{self.start:%Y-%m-%d}:{self.end:%Y-%m-%d}"


def _timestamp(value: Any, what: str) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise InputError(f"{what} {value!r} is not a date (use YYYY-MM-DD)") from exc
    if pd.isna(ts):
        raise InputError(f"{what} is missing")
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts


def parse_period(start: Any, end: Any) -> Period:
    """Check and convert a period's bounds; the start must come before the end.

    >>> parse_period("2026-10-01", "2026-11-01")
    Period(start=Timestamp('2026-10-01 00:00:00'), end=Timestamp('2026-11-01 00:00:00'))
    """
    s, e = _timestamp(start, "start"), _timestamp(end, "end")
    if not s < e:
        raise InputError(f"period start {s:%Y-%m-%d} is not before its end {e:%Y-%m-%d}")
    return Period(s, e)


def _lit(ts: pd.Timestamp | _dt.datetime) -> ir.TimestampScalar:
    return ibis.timestamp(pd.Timestamp(ts).to_pydatetime())


def _bounds(start: Any, end: Any) -> tuple[Any, Any]:
    """A period's bounds: checked timestamps, or engine values as they are (the
    parameters of a compiled statement, :meth:`shopcx.data.sources.Source.statement`)."""
    if isinstance(start, ir.Value):
        return start, end
    p = parse_period(start, end)
    return p.start, p.end


def _market(market: Any) -> Any:
    return market if isinstance(market, ir.Value) else market_code(market)


# --------------------------------------------------------------------------- facts


def stage_of(requested_at: ir.TimestampValue, paid_at: ir.TimestampValue,
             shipped_at: ir.TimestampValue, delivered_at: ir.TimestampValue) -> ir.StringValue:
    """The funnel stage of a cancellation row from its order's timestamps (METRICS.md)."""
    return ibis.cases(
        (paid_at.isnull() | (requested_at < paid_at), "unpaid"),
        (shipped_at.isnull() | (requested_at < shipped_at), "awaiting_shipment"),
        (delivered_at.isnull() | (requested_at < delivered_at), "in_transit"),
        else_="delivered",
    )


def cohort(source: Source, market: str, start: Any, end: Any) -> ir.Table:
    """O: orders of ``market`` created in ``[start, end)``."""
    return source.rows("orders", _market(market), "created_at", *_bounds(start, end))


def cancellation_facts(source: Source, orders: ir.Table) -> ir.Table:
    """Cancellation rows of the given orders with their ``stage`` and ``hours_to_resolve``."""
    o = orders.select("order_id", "paid_at", "shipped_at", "delivered_at")
    c = source.near("cancellations", o.order_id)
    j = c.join(o, "order_id")
    return j.mutate(
        stage=stage_of(j.requested_at, j.paid_at, j.shipped_at, j.delivered_at),
        hours_to_resolve=(j.resolved_at.epoch_seconds() - j.requested_at.epoch_seconds()) / 3600,
    ).drop("paid_at", "shipped_at", "delivered_at")


def request_facts(source: Source, orders: ir.Table) -> ir.Table:
    """R: buyer cancel requests on the given orders, with stage and hours to resolve."""
    c = cancellation_facts(source, orders)
    return c.filter(c.initiator == "buyer")


def order_facts(source: Any, market: str, start: Any, end: Any) -> ir.Table:
    """The order cohort O, one row per order, with derived cancellation facts.

    Adds ``cancelled`` (has an approved row), ``cancel_initiator``,
    ``cancel_reason``, ``cancel_stage`` and ``cancelled_at`` (from the
    cancelling row: the earliest approved row, ties broken by smallest
    request_id), ``seller_fault`` and ``buyer_requests`` (rows in R for the order).
    """
    source = load_source(source)
    return enrich_orders(source, cohort(source, market, start, end))


def enrich_orders(source: Source, orders: ir.Table, cancels: ir.Table | None = None
                  ) -> ir.Table:
    """Any set of orders with the derived facts of :func:`order_facts`.

    ``cancels`` may hold :func:`cancellation_facts` of these orders already
    computed (e.g. materialised once), to avoid scanning cancellations again.
    """
    c = cancellation_facts(source, orders) if cancels is None else cancels
    approved = c.filter(c.outcome == "approved")
    rank = ibis.row_number().over(group_by=approved.order_id,
                                  order_by=[approved.requested_at, approved.request_id])
    first = approved.mutate(_rank=rank)
    first = first.filter(first._rank == 0).select(
        "order_id", cancel_initiator="initiator", cancel_reason="reason", cancel_stage="stage",
        cancelled_at="requested_at")
    req = c.filter(c.initiator == "buyer").group_by("order_id").aggregate(
        buyer_requests=ibis._.count())
    facts = orders.left_join(first, "order_id").drop("order_id_right")
    facts = facts.left_join(req, "order_id").drop("order_id_right")
    return facts.mutate(
        cancelled=facts.cancel_initiator.notnull(),
        seller_fault=((facts.cancel_initiator == "seller")
                      | ((facts.cancel_initiator == "system")
                         & (facts.cancel_reason == "ship_deadline_missed"))).fill_null(False),
        buyer_requests=facts.buyer_requests.fill_null(0),
    )


def period_contacts(source: Source, market: str, start: Any, end: Any,
                    repeat: bool = True) -> ir.Table:
    """C: contacts of ``market`` created in ``[start, end)``, with a ``repeat`` flag.

    ``repeat`` is true when another contact on the same order followed within
    168 hours (see ``repeat_contact_rate``); ``repeat=False`` leaves the flag
    out (a join with every later contact) for a caller that does not read it.
    """
    start, end = _bounds(start, end)
    c = source.rows("contacts", _market(market), "created_at", start, end)
    if not repeat:
        return c
    c = c.left_join(_repeat_flags(source, c, start, end), "contact_id").drop(
        "contact_id_right")
    return c.mutate(repeat=c.repeat.fill_null(False))


def period_feedback(source: Source, market: str, start: Any, end: Any) -> ir.Table:
    """F: feedback of ``market`` created in ``[start, end)``."""
    return source.rows("feedback", _market(market), "created_at", *_bounds(start, end))




def _repeat_flags(source: Source, c: ir.Table, start: Any, end: Any) -> ir.Table:
    """Contact ids of ``c`` followed by another contact on the same order within 168 h.

    ``c`` holds contacts created in ``[start, end)``, so a follow-up lies in
    ``(start, end + 168 h]``: only those contacts (of any market) are read.
    """
    end = end if isinstance(end, ir.Value) else _lit(end)  # a statement's parameter, or not
    horizon = end + ibis.interval(hours=REPEAT_CONTACT_WINDOW_HOURS)
    allc = source.rows("contacts", None, "created_at", start,
                       horizon + ibis.interval(microseconds=1))
    mine = c.filter(c.order_id.notnull()).select("contact_id", "order_id", t0="created_at")
    allc = key_range(allc, mine.order_id)  # skips other markets' files
    others = allc.filter(allc.order_id.notnull(), allc.created_at <= horizon).select(
        o2="order_id", t1="created_at")
    window = ibis.interval(hours=REPEAT_CONTACT_WINDOW_HOURS)
    j = mine.join(others, [mine.order_id == others.o2, others.t1 > mine.t0,
                           others.t1 <= mine.t0 + window])
    return j.select("contact_id").distinct().mutate(repeat=ibis.literal(True))


def escalation_facts(source: Source, c: ir.Table, keep: list[str] | None = None
                     ) -> ir.Table:
    """E: the escalated contacts of ``c`` about an order, each with ``n_before``
    (contacts about the same order strictly earlier, any market and time) and
    ``hours_to_escalation`` (hours since the order's first cancellation-related
    contact at or before it, the contact itself included; null when there is none).
    ``keep`` names columns of ``c`` carried along (a segment or period)."""
    keep = keep or []
    e = c.filter(c.escalated, c.order_id.notnull()).select(
        "contact_id", "order_id", "created_at", "reason", *keep)
    allc = source.near("contacts", e.order_id)
    prior = allc.filter(allc.order_id.notnull()).select(
        o2="order_id", id2="contact_id", t2="created_at", r2="reason")
    j = e.select("contact_id", "order_id", "created_at").join(
        prior, [ibis._.order_id == prior.o2, prior.t2 <= ibis._.created_at,
                prior.id2 != ibis._.contact_id])
    per = j.group_by("contact_id").aggregate(
        n_before=(j.t2 < j.created_at).sum(),
        first_cancel=j.t2.min(where=j.r2.isin(CANCEL_CONTACT_REASONS)))
    e = e.left_join(per, "contact_id").drop("contact_id_right")
    own = ibis.ifelse(e.reason.isin(CANCEL_CONTACT_REASONS), e.created_at,
                      ibis.null("timestamp"))
    first = ibis.coalesce(ibis.least(e.first_cancel, own), e.first_cancel, own)
    return e.mutate(
        n_before=e.n_before.fill_null(0),
        hours_to_escalation=(e.created_at.epoch_seconds() - first.epoch_seconds()) / 3600,
    ).drop("first_cancel")
