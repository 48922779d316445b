"""Buyer segments derived from each buyer's order history before a date.

For a market and a date ``as_of`` (usually the start of the period analysed),
each buyer's orders in the ``lookback_days`` before it give:

* ``new``: no earlier order;
* ``cancel_prone``: two or more earlier cancelled orders, and at least 30% of
  the earlier orders cancelled;
* ``cod_user``: at least half of the earlier orders paid cash on delivery;
* ``value_tier``: ``high`` when the earlier GMV is in the top quarter of the
  market's returning buyers, else ``regular`` (``none`` for new buyers);
* ``channel_affinity``: the sales channel of most earlier orders (ties: the first
  in alphabetical order);
* ``buyer_segment``: one label for reports, the first that applies of
  ``new``, ``cancel-prone``, ``COD user``, ``high value``, ``regular``.

Everything is computed in the engine; the result is an Ibis table with one row
per buyer who ordered in the lookback window.
"""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from shopcx.data.contract import TABLES
from shopcx.data.sources import load_source

__all__ = ["BUYER_SEGMENTS", "buyer_segments", "with_buyer_segment"]

BUYER_SEGMENTS = ("new", "cancel-prone", "COD user", "high value", "regular")


def buyer_segments(source: Any, market: str, as_of: Any, lookback_days: int = 180) -> ir.Table:
    """One row per buyer with earlier orders: the segment columns described above."""
    source = load_source(source)
    as_of = pd.Timestamp(as_of)
    # filtered on the stored columns, so the engine skips other markets' and months' files
    history = source.rows("orders", market.upper(), "created_at",
                          as_of - pd.Timedelta(days=lookback_days), as_of)
    c = source.near("cancellations", history.order_id)  # skips other markets' files
    approved = c.filter(c.outcome == "approved").select("order_id").distinct()
    # cancelled: has an approved cancellation row (enrich_orders' definition, without
    # finding the cancelling row, which the profile does not need)
    facts = history.mutate(cancelled=history.order_id.isin(approved.order_id))
    # orders per channel counted in the same pass: the contract's closed list of
    # channels (validation refuses any other value), alphabetical for the tie-break
    channels = sorted(TABLES["orders"].column("sales_channel").values or ())
    per = facts.group_by("buyer_id").aggregate(
        orders=facts.count(), cancelled=facts.cancelled.sum(),
        cod=(facts.payment_method == "cod").sum(), gmv=facts.gmv_usd.sum(),
        **{f"_n{i}": (facts.sales_channel == ch).sum() for i, ch in enumerate(channels)})
    threshold = per.aggregate(q=per.gmv.quantile(0.75))
    per = per.cross_join(threshold)
    most = ibis.greatest(*[per[f"_n{i}"] for i in range(len(channels))])
    per = per.mutate(channel_affinity=ibis.cases(  # the first of the most used
        *[(per[f"_n{i}"] == most, ch) for i, ch in enumerate(channels)]))
    cancel_prone = (per.cancelled >= 2) & (per.cancelled >= 0.3 * per.orders)
    cod_user = per.cod >= 0.5 * per.orders
    tier = ibis.ifelse(per.gmv >= per.q, "high", "regular")
    return per.select(
        "buyer_id", "orders", "cancelled", "channel_affinity",
        new=ibis.literal(False), cancel_prone=cancel_prone, cod_user=cod_user, value_tier=tier,
        buyer_segment=ibis.cases((cancel_prone, "cancel-prone"), (cod_user, "COD user"),
                                 (tier == "high", "high value"), else_="regular"))


def with_buyer_segment(source: Any, orders: ir.Table, market: str, as_of: Any,
                       lookback_days: int = 180) -> ir.Table:
    """``orders`` with a ``buyer_segment`` column (``new`` for buyers without history)."""
    seg = buyer_segments(source, market, as_of, lookback_days).select(
        "buyer_id", seg="buyer_segment")
    j = orders.left_join(seg, "buyer_id").drop("buyer_id_right")
    return j.mutate(buyer_segment=j.seg.fill_null("new")).drop("seg")
