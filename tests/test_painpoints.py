"""Pain points: themes joined to behaviour, growth, and the priority ranking."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shopcx.voc.emerging import emerging_themes
from shopcx.voc.painpoints import join_coverage, rank_pain_points, tag_feedback

T = pd.Timestamp


def _fixture() -> dict[str, pd.DataFrame]:
    """Two months of one market with three kinds of feedback.

    October: 20 'not as described' complaints, 4 'refund late', 40 praise.
    November: 20 'not as described' (stable), 20 'refund late' (growing, on
    cancelled orders with three contacts each), 40 praise.
    """
    orders, feedback, contacts = [], [], []

    def add(i: int, day: T, text: str, rating: int, cancelled: bool, n_contacts: int) -> None:
        oid = f"O{i}"
        orders.append({"order_id": oid, "market": "US", "buyer_id": f"B{i}",
                       "seller_id": "S1", "category": "Home", "sales_channel": "search",
                       "fulfillment": "seller_shipped", "payment_method": "card",
                       "carrier": "UPS", "gmv_usd": 10.0, "created_at": day,
                       "paid_at": day, "shipped_at": day + pd.Timedelta(days=1),
                       "delivered_at": None if cancelled else day + pd.Timedelta(days=3)})
        feedback.append({"feedback_id": f"F{i}", "market": "US", "order_id": oid,
                         "buyer_id": f"B{i}", "created_at": day + pd.Timedelta(days=5),
                         "source": "order_review", "rating": rating, "text": text,
                         "language": "en"})
        for k in range(n_contacts):
            contacts.append({"contact_id": f"C{i}-{k}", "market": "US", "buyer_id": f"B{i}",
                             "order_id": oid, "created_at": day + pd.Timedelta(days=2 + k),
                             "channel": "chat", "reason": "refund_status",
                             "handle_time_s": 300.0, "escalated": False, "csat": 1})

    i = 0
    for month, refunds in ((T("2026-10-01"), 4), (T("2026-11-01"), 20)):
        for k in range(20):
            i += 1
            add(i, month + pd.Timedelta(days=k % 20), "Item looks nothing like the livestream, "
                "poor quality", 2, False, 0)
        for k in range(refunds):
            i += 1
            add(i, month + pd.Timedelta(days=k % 20), "Where is my refund? The order was "
                "cancelled and the money still not back", 1, True, 3)
        for k in range(40):
            i += 1
            add(i, month + pd.Timedelta(days=k % 20), "Arrived fast and well packed, thank you!",
                5, False, 0)
    cancels = [{"request_id": f"R{o['order_id']}", "order_id": o["order_id"],
                "initiator": "buyer", "reason": "changed_mind",
                "requested_at": o["created_at"] + pd.Timedelta(hours=30), "outcome": "approved",
                "resolved_at": o["created_at"] + pd.Timedelta(hours=31), "auto_resolved": True}
               for o in orders if o["delivered_at"] is None]
    out = {"orders": pd.DataFrame(orders), "cancellations": pd.DataFrame(cancels),
           "contacts": pd.DataFrame(contacts), "feedback": pd.DataFrame(feedback)}
    out["contacts"]["csat"] = out["contacts"]["csat"].astype("Int64")
    return out


@pytest.fixture(scope="module")
def ranked() -> pd.DataFrame:
    tables = _fixture()
    now = tag_feedback(tables, "US", "2026-11-01", "2026-12-01")
    before = tag_feedback(tables, "US", "2026-10-01", "2026-11-01")
    return rank_pain_points(now, before).set_index("theme")


def test_growing_contact_heavy_theme_ranks_first(ranked: pd.DataFrame) -> None:
    assert ranked.index[0] == "refund/slow"
    top = ranked.loc["refund/slow"]
    assert top["feedback"] == 20 and top["share"] == pytest.approx(20 / 80)
    assert top["baseline_share"] == pytest.approx(4 / 64)
    assert top["growing"] and top["growth"] == pytest.approx((20 / 80) / (4 / 64) - 1)
    assert top["cancellation_rate"] == 1.0 and top["contacts_per_order"] == 3.0
    assert top["contact_csat"] == 1.0 and top["owner"] == "payments"
    assert top["top_cancel_reason"] == "buyer: changed_mind"


def test_stable_and_praise_themes_rank_lower(ranked: pd.DataFrame) -> None:
    stable = ranked.loc["product/not_as_described"]
    assert not stable["growing"] and stable["negativity"] == 1.0
    assert ranked.loc["delivery/fast", "negativity"] == 0.0
    assert ranked.loc["delivery/fast", "priority"] == 0.0
    assert list(ranked.index[:2]) == ["refund/slow", "product/not_as_described"]
    # the score as documented: 100 x share x negativity x (1 + growth) x (1 + cpo) x (1 + cancel)
    top = ranked.loc["refund/slow"]
    assert top["priority"] == pytest.approx(100 * 0.25 * 1.0 * (1 + min(top["growth"], 3))
                                            * (1 + 3) * (1 + 1))


def test_join_coverage() -> None:
    tables = _fixture()
    tables["feedback"].loc[0, "order_id"] = "UNKNOWN"
    tagged = tag_feedback(tables, "US", "2026-10-01", "2026-11-01")
    assert join_coverage(tagged) == {"feedback": 64, "with_order_id": 64, "joined": 63,
                                     "not_joined": 1}
    assert np.isin(["themes", "sentiment", "sentiment_method", "negative"],
                   tagged.columns).all()


def test_a_period_without_feedback_gives_empty_tables_not_errors() -> None:
    """A market whose feedback table is empty (an export with the table but no rows): every
    analysis of the tagged feedback sees the usual columns and returns an empty result."""
    tables = _fixture()
    tables["feedback"] = tables["feedback"].iloc[0:0]
    tagged = tag_feedback(tables, "US", "2026-10-01", "2026-11-01")
    assert tagged.empty
    assert tagged["themes"].dtype == object and tagged["sentiment_method"].dtype == object
    assert emerging_themes(tagged, tagged).empty
    assert rank_pain_points(tagged, tagged).empty
    assert join_coverage(tagged) == {"feedback": 0, "with_order_id": 0, "joined": 0,
                                     "not_joined": 0}
