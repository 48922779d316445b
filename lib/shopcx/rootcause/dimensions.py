"""The dimensions ``explain`` searches: what each can describe, and what its nulls mean.

A dimension partitions orders into groups that could *cause* a change. Some
attributes are only set once an order reaches a later stage: the carrier is
recorded at hand-over, so an order cancelled while awaiting shipment has no
carrier *because* it was cancelled. Grouping all orders by carrier would then
sort them by their outcome: the "no carrier" group is cancelled by definition
and its "mix shift" is the metric itself moving. Such a dimension has a
**scope**, the units it can describe (carrier: orders handed to a carrier,
requests made after hand-over); it explains the change among those, and the
rest of the change is reported as outside its scope, never as a segment.

Each dimension also states its **null policy**: inside its scope a null is
*unknown* (reported as the segment ``(unknown)``, which is never named a
cause without saying that the value was not recorded); outside it, *not
applicable*.

A dimension of many small segments (sellers: one with half the orders and
thousands with one) is **grouped**: when several of its segments drive the
change the same way, their set is also a candidate driver, as in Adtributor's
sets of elements (five sellers refusing cancel requests together explain more
than any one of them, and more than the category most of them sell in).

Buyer segments are derived from each buyer's earlier orders (a lookback
window before each period's start). When the data does not reach that far
back, "new" means "no order since the data starts", which is a different thing
in the two periods. :func:`segment_window` picks a window both periods have,
or leaves the dimension out with the reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import ibis.expr.types as ir
import pandas as pd

__all__ = ["DIMENSIONS", "LOOKBACK_DAYS", "MIN_LOOKBACK_DAYS", "UNKNOWN", "Dimension",
           "first_order", "segment_window"]

UNKNOWN = "(unknown)"
"""The key of a dimension's null bucket inside its scope."""

LOOKBACK_DAYS = 180
"""Buyer segments' history window before each period (as in :mod:`shopcx.metrics.segments`)."""
MIN_LOOKBACK_DAYS = 28
"""The shortest history window buyer segments are used with; shorter ones leave them out."""


@dataclass(frozen=True)
class Dimension:
    """One dimension of ``explain`` with its scope and null policy."""

    name: str
    nulls: str = "unknown: the value was not recorded"
    scope: str | None = None  # the units it describes; None: all of them
    # the scope as a condition on order units and on request units
    reached: Callable[[ir.Table], ir.BooleanValue] | None = None
    reached_request: Callable[[ir.Table], ir.BooleanValue] | None = None
    before: tuple[str, ...] = ()  # cancel stages that end an order before the scope
    # many small segments, each too small to carry a change alone: the drivers
    # among them are also taken together, as one group
    grouped: bool = False

    def in_scope(self, units: ir.Table, unit: str) -> ir.BooleanValue | None:
        """The condition for ``units`` (orders or requests) to lie in the scope."""
        if self.scope is None:
            return None
        return (self.reached_request if unit == "requests" else self.reached)(units)

    def applies_to(self, stages: tuple[str, ...] | None) -> bool:
        """False when every event the metric counts ends the order before the scope."""
        return stages is None or not set(stages) <= set(self.before)


DIMENSIONS: dict[str, Dimension] = {d.name: d for d in (
    Dimension("category"),
    Dimension("sales_channel"),
    Dimension("fulfillment"),
    Dimension("payment_method"),
    Dimension(
        "carrier",
        nulls="not applicable before hand-over (outside the scope); unknown when an order "
              "handed over has no carrier recorded",
        scope="orders handed to a carrier (requests made after hand-over)",
        reached=lambda t: t.shipped_at.notnull(),
        reached_request=lambda t: t.stage.isin(("in_transit", "delivered")),
        before=("unpaid", "awaiting_shipment")),
    Dimension("seller_id", grouped=True),
    Dimension("request_outcome",
              nulls="never null for orders: an order without a buyer cancel request is "
                    "'no request'; unknown for a contact without an order"),
    Dimension("channel", nulls="never null"),
    Dimension("reason", nulls="never null"),
    Dimension("buyer_segment",
              nulls="never null: a buyer without earlier orders in the window is new"),
)}


def first_order(source: Any, market: str) -> Any:
    """The market's earliest order in the data (where buyer history starts)."""
    o = source.tables["orders"]
    return source.execute(o.filter(o.market == market.upper()).created_at.min())


def segment_window(data_start: Any, baseline_start: Any, lookback_days: int = LOOKBACK_DAYS,
                   minimum: int = MIN_LOOKBACK_DAYS,
                   start_name: str = "the baseline") -> tuple[int | None, str]:
    """The buyer-history window both periods have, and a sentence saying why.

    ``data_start`` is the market's earliest order in the data (:func:`first_order`). The baseline
    starts first, so its history is the shorter one: the window is
    ``lookback_days`` when the data covers it, else the days of data before
    the baseline when at least ``minimum``, else None (leave buyer segments out).
    ``start_name`` names the period start in the sentence (``kpis --by`` has one
    period, not a baseline).

    >>> segment_window("2026-01-01", "2026-10-01")[0]
    180
    >>> segment_window("2026-08-01", "2026-10-01")
    (61, 'history window shortened to 61 days (the data starts 2026-08-01, 61 days before the baseline; segments are defined on 180)')
    >>> segment_window("2026-10-01", "2026-10-01")[0] is None
    True
    """
    if data_start is None or pd.isna(data_start):
        return None, "no orders to derive buyer history from"
    first, start = pd.Timestamp(data_start), pd.Timestamp(baseline_start)
    days = int((start.normalize() - first.normalize()).days)
    if days >= lookback_days:
        return lookback_days, f"history window {lookback_days} days"
    if days >= minimum:
        return days, (f"history window shortened to {days} days (the data starts "
                      f"{first:%Y-%m-%d}, {days} days before {start_name}; segments are "
                      f"defined on {lookback_days})")
    return None, (f"left out: buyer segments need {minimum}+ days of order history before "
                  f"each period and the data starts {first:%Y-%m-%d}, "
                  f"{max(days, 0)} day{'' if max(days, 0) == 1 else 's'} before {start_name}, "
                  "so \"new\" would mean "
                  "\"no order since the data starts\"")
