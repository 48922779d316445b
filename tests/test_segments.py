"""Buyer segments from order history, checked by hand on a small fixture."""

from __future__ import annotations

import pandas as pd
import pytest

from shopcx.data.sources import load_source
from shopcx.metrics.facts import order_facts
from shopcx.metrics.segments import buyer_segments, with_buyer_segment

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
    order("Y2", "BY", "2026-09-04", payment="cod", channel="shop_tab")  # a tie with search
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
    # most orders; BY's tie (search 1, shop_tab 1) goes to the first in alphabetical order
    assert seg["channel_affinity"].to_dict() == {"BX": "livestream", "BY": "search",
                                                 "BZ": "search", "BW": "search"}
    assert seg.loc["BX", ["orders", "cancelled"]].tolist() == [3, 2]
    facts = with_buyer_segment(source, order_facts(source, "US", "2026-10-01", "2026-11-01"),
                               "US", "2026-10-01")
    got = source.execute(facts.select("buyer_id", "buyer_segment")).set_index("buyer_id")
    assert got.loc["BN", "buyer_segment"] == "new" and got.loc["BV", "buyer_segment"] == "new"
    assert got.loc["BZ", "buyer_segment"] == "high value"


def test_segment_profile_by_hand() -> None:
    from shopcx.rootcause.profile import segment_profile

    # September (baseline): 7 orders, all by buyers without history (new), 2 cancelled.
    # October: 6 orders, one per buyer, none cancelled.
    p = segment_profile(_tables(), "US", "2026-10-01", "2026-11-01", "2026-09-01",
                        "2026-10-01").set_index("segment")
    assert list(p.index) == ["new", "cancel-prone", "COD user", "high value", "regular"]
    assert p["orders"].tolist() == [2, 1, 1, 1, 1]
    assert p.loc["new", "share"] == pytest.approx(2 / 6)
    assert p.loc["new", "cancellation_rate"] == 0.0
    assert p.loc["new", "cancellation_rate_baseline"] == pytest.approx(2 / 7)
    assert pd.isna(p.loc["regular", "cancellation_rate_baseline"])  # no regulars before
    # the market fell from 2/7 to 0 (mean rate 1/7). "new": rate effect (0 - 2/7) x (1 + 2/6)
    # / 2 = -4/21; its share fell 1 -> 2/6 at rates averaging 1/7, the market's mean: no
    # mix effect. The four segments new in October (4/6 of its orders) never cancel, 1/7
    # below the mean: -4/6 x 1/7 = -2/21 between them, all mix.
    assert p.loc["new", "contribution"] == pytest.approx(-4 / 21)
    assert p.loc["new", "effect"] == "rate"
    assert p.loc["regular", "contribution"] == pytest.approx(-1 / 6 / 7)
    assert p["contribution"].sum() == pytest.approx(-2 / 7)
    assert p.loc["regular", "cpo"] == 0.0
    assert pd.isna(p.loc["regular", "cancel_request_success_rate"])  # no buyer requests
