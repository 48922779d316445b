"""Buyer segments from order history, checked by hand on a small fixture."""

from __future__ import annotations

import pandas as pd

from shopcx.metrics import order_facts
from shopcx.segments import buyer_segments, with_buyer_segment
from shopcx.sources import load_source

from .conftest import tiny_tables


def _tables() -> dict[str, pd.DataFrame]:
    rows, cancels = [], []

    def order(oid: str, buyer: str, day: str, payment: str = "card", gmv: float = 10.0,
              cancelled: bool = False, channel: str = "search") -> None:
        t = pd.Timestamp(day)
        rows.append({"order_id": oid, "market": "US", "buyer_id": buyer, "seller_id": "S1",
                     "category": "Home", "sales_channel": channel,
                     "fulfillment": "seller_shipped", "payment_method": payment,
                     "carrier": None, "gmv_usd": gmv, "created_at": t, "paid_at": t,
                     "shipped_at": pd.NaT, "delivered_at": pd.NaT})
        if cancelled:
            cancels.append({"request_id": f"R{oid}", "order_id": oid, "initiator": "seller",
                            "reason": "out_of_stock", "requested_at": t + pd.Timedelta(hours=1),
                            "outcome": "approved", "resolved_at": t + pd.Timedelta(hours=1),
                            "auto_resolved": False})

    # September history: BX cancels 2 of 3, BY pays COD, BZ spends a lot, BW a little
    order("X1", "BX", "2026-09-02", cancelled=True, channel="livestream")
    order("X2", "BX", "2026-09-05", cancelled=True, channel="livestream")
    order("X3", "BX", "2026-09-09")
    order("Y1", "BY", "2026-09-03", payment="cod")
    order("Y2", "BY", "2026-09-04", payment="cod")
    order("Z1", "BZ", "2026-09-10", gmv=500.0)
    order("W1", "BW", "2026-09-11")
    order("OLD", "BV", "2026-01-02")  # outside the 180-day lookback: BV counts as new
    for buyer in ("BX", "BY", "BZ", "BW", "BN", "BV"):
        order(f"{buyer}-OCT", buyer, "2026-10-05")
    tiny = tiny_tables()
    return {"orders": pd.DataFrame(rows), "cancellations": pd.DataFrame(cancels),
            "contacts": tiny["contacts"].iloc[0:0], "feedback": tiny["feedback"].iloc[0:0]}


def test_buyer_segments_by_hand() -> None:
    source = load_source(_tables())
    seg = source.execute(buyer_segments(source, "US", "2026-10-01")).set_index("buyer_id")
    assert sorted(seg.index) == ["BW", "BX", "BY", "BZ"]
    # GMV 30, 20, 500, 10: the 75th percentile is 30 + 0.25 x 470 = 147.5
    assert seg["buyer_segment"].to_dict() == {"BX": "cancel-prone", "BY": "COD user",
                                              "BZ": "high value", "BW": "regular"}
    assert seg.loc["BX", "channel_affinity"] == "livestream"
    assert seg.loc["BX", ["orders", "cancelled"]].tolist() == [3, 2]
    facts = with_buyer_segment(source, order_facts(source, "US", "2026-10-01", "2026-11-01"),
                               "US", "2026-10-01")
    got = source.execute(facts.select("buyer_id", "buyer_segment")).set_index("buyer_id")
    assert got.loc["BN", "buyer_segment"] == "new" and got.loc["BV", "buyer_segment"] == "new"
    assert got.loc["BZ", "buyer_segment"] == "high value"
