"""The tables behind the readouts, against values worked out by hand on the tiny fixture.

US, October 2026 (see tests/conftest.py): cohort O1 O2 O3 O4 O5 O9; cancelled
O2 (system, unpaid), O3 (buyer, in transit), O4 (seller, awaiting), O9
(system ship deadline, awaiting).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shopcx.metrics import contacts, funnel
from shopcx.voc import feedback

from .conftest import PERIOD

ARGS = ("US", *PERIOD)


def test_funnel_table(tiny: dict) -> None:
    t = funnel.funnel_table(tiny, *ARGS).set_index("step")
    assert t["orders"].tolist() == [6, 4, 2, 1]
    assert t.loc["placed", "cancelled_system"] == 1                     # O2 unpaid
    assert t.loc["paid", ["cancelled_seller", "cancelled_system"]].tolist() == [1, 1]  # O4, O9
    assert t.loc["shipped", "cancelled_buyer"] == 1                     # O3 in transit
    assert t["cancelled"].tolist() == [1, 2, 1, 0]
    assert t["exit_rate"].tolist() == pytest.approx([1 / 6, 2 / 6, 1 / 6, 0])
    assert t["exit_rate"].sum() == pytest.approx(4 / 6)  # adds up to the cancellation rate


def test_cancellations_by_reason(tiny: dict) -> None:
    t = funnel.cancellations_by_reason(tiny, *ARGS)
    assert list(zip(t["initiator"], t["reason"], strict=True)) == [
        ("buyer", "better_price"), ("seller", "out_of_stock"),
        ("system", "ship_deadline_missed"), ("system", "unpaid_timeout")]
    assert t["share"].tolist() == [0.25] * 4
    assert t["rate"].tolist() == pytest.approx([1 / 6] * 4)


def test_rate_trend_by_week(tiny: dict) -> None:
    t = funnel.rate_trend(tiny, *ARGS, freq="W")
    # weeks from Monday 28 Sep (O1-O4), 5 Oct (O9) and 26 Oct (O5)
    assert t["period"].dt.strftime("%m-%d").tolist() == ["09-28", "10-05", "10-26"]
    assert t["orders"].tolist() == [4, 1, 1]
    assert t["rate"].tolist() == pytest.approx([3 / 4, 1, 0])
    assert t["rate_system"].tolist() == pytest.approx([1 / 4, 1, 0])
    assert t["seller_fault_rate"].tolist() == pytest.approx([1 / 4, 1, 0])


def test_request_outcomes(tiny: dict) -> None:
    t = funnel.request_outcomes(tiny, *ARGS).set_index("stage")
    assert t.loc["unpaid", ["requests", "approved", "rejected", "withdrawn", "pending"]
                 ].tolist() == [3, 0, 1, 1, 1]                          # R3 R8 R9
    assert t.loc["all", ["requests", "approved", "rejected"]].tolist() == [6, 1, 3]
    assert t.loc["all", "success_rate"] == 0.25
    assert t.loc["in_transit", "success_rate"] == 1.0                   # R4
    assert t.loc["delivered", "success_rate"] == 0.0                    # R2


def test_resolution_hours(tiny: dict) -> None:
    t = funnel.resolution_hours(tiny, *ARGS, width=4, cap=16).set_index("hours_from")
    # hours 2 (R3), 6 (R1), 10 (R2, auto), 12 (R4, auto)
    assert t["requests"].tolist() == [1, 1, 1, 1, 0]
    assert t["auto"].tolist() == [0, 0, 1, 1, 0]
    assert t.loc[16.0, "hours_to"] == np.inf


def test_seller_fault_sellers(tiny: dict) -> None:
    t = funnel.seller_fault_sellers(tiny, *ARGS, min_orders=1)
    assert t["seller_id"].tolist() == ["S2", "S3"]   # O4 of S2's two orders, O9 of S3's two
    assert t["rate"].tolist() == [0.5, 0.5]
    assert t["cumulative_share"].tolist() == [0.5, 1.0]
    assert funnel.seller_fault_sellers(tiny, *ARGS, min_orders=3).empty


def test_segment_breakdown_suppresses_small_segments(tiny: dict) -> None:
    t = funnel.segment_breakdown(tiny, *ARGS, by="payment_method", min_sample=2)
    card = t[t["segment"] == "card"].iloc[0]           # O1 O3 O5 O9: O3 O9 cancelled
    assert (card["numerator"], card["denominator"], card["value"]) == (2, 4, 0.5)
    cod = t[t["segment"] == "cod"].iloc[0]             # one order: too few
    assert cod["too_few"] and np.isnan(cod["value"]) and cod["denominator"] == 1


def test_contact_reasons(tiny: dict) -> None:
    t = contacts.contact_reasons(tiny, *ARGS).set_index("reason")
    assert t.index.tolist() == ["cancel_status", "cancel_request", "refund_status",
                                "account_issue", "where_is_my_order"]
    assert t["contacts"].tolist() == [3, 2, 2, 1, 1]
    assert t["cumulative_share"].tolist() == pytest.approx([3 / 9, 5 / 9, 7 / 9, 8 / 9, 1])
    assert t.loc["cancel_request", "repeat_rate"] == 0.5      # C1 followed, C9 not
    assert t.loc["where_is_my_order", "repeat_rate"] == 1.0   # C7 followed by C8
    assert np.isnan(t.loc["account_issue", "repeat_rate"])    # no order to repeat on
    assert t.loc["cancel_status", "escalation_rate"] == pytest.approx(1 / 3)
    assert t.loc["cancel_status", "per_order"] == pytest.approx(3 / 6)
    assert t["cancellation_related"].tolist() == [True, True, True, False, False]


def test_contacts_by_request_outcome(tiny: dict) -> None:
    t = contacts.contacts_by_request_outcome(tiny, *ARGS).set_index("experience")
    assert t.index.tolist() == ["no request", "rejected", "pending", "withdrawn"]
    assert t["orders"].tolist() == [2, 2, 1, 1]         # O4 O9 | O1 O3 | O2 | O5
    assert t["contacts"].tolist() == [2, 5, 1, 0]       # C7 C8 | C1-C5 | C11 | none
    assert t["cancel_contacts"].tolist() == [1, 5, 1, 0]
    assert t.loc["rejected", "contacts_per_order"] == 2.5
    assert t.loc["rejected", "csat"] == pytest.approx((2 + 5 + 4 + 1) / 4)
    assert t.loc["rejected", "share_of_cancel_contacts"] == pytest.approx(5 / 7)
    assert np.isnan(t.loc["withdrawn", "escalation_rate"])


def test_effort_by_cancellation(tiny: dict) -> None:
    t = contacts.effort_by_cancellation(tiny, *ARGS).set_index("cancel_initiator")
    assert t.index.tolist() == ["system", "buyer", "seller"]
    assert t["cancelled"].tolist() == [2, 1, 1]
    assert t["contacts"].tolist() == [1, 2, 1]           # C11 (O2) | C4 C5 (O3) | C8 (O4)
    assert t["contacts_per_cancelled_order"].tolist() == [0.5, 2.0, 1.0]


def test_contacts_by_channel(tiny: dict) -> None:
    t = contacts.contacts_by_channel(tiny, *ARGS).set_index("channel")
    assert t["contacts"].to_dict() == {"bot": 3, "chat": 4, "email": 1, "phone": 1}
    assert t.loc["chat", "handle_minutes"] == pytest.approx((600 + 300 + 240 + 60) / 4 / 60)
    assert np.isnan(t.loc["bot", "handle_minutes"])


def test_feedback_by_source(tiny: dict) -> None:
    t = feedback.feedback_by_source(tiny, *ARGS).set_index("source")
    assert t.index.tolist() == ["cancellation_survey", "app_review", "order_review"]
    assert t.loc["cancellation_survey", ["feedback", "rated", "mean_rating",
                                         "negative_share"]].tolist() == [2, 2, 1.5, 1.0]
    assert np.isnan(t.loc["app_review", "mean_rating"])


def test_feedback_by_experience(tiny: dict) -> None:
    t = feedback.feedback_by_experience(tiny, *ARGS, min_feedback=1)
    assert t["experience"].tolist() == [
        "cancelled by buyer: better price",       # FB2 on O3, rated 1
        "cancelled by system: unpaid timeout",    # FB4 on O2, rated 2
        "cancel request rejected",                # FB1 on O1 (rejected twice), rated 5
        "not about an order",                     # FB3, no rating
    ]
    assert t["mean_rating"].tolist()[:3] == [1.0, 2.0, 5.0]


def test_sample_verbatims_is_reproducible(tiny: dict) -> None:
    a = feedback.sample_verbatims(tiny, *ARGS, per_group=5)
    b = feedback.sample_verbatims(tiny, *ARGS, per_group=5)
    pd.testing.assert_frame_equal(a, b)
    assert sorted(a["text"]) == ["Great", "Pesanan dibatalkan",
                                 "Refund late, mail me at jo@example.com"]
    one = feedback.sample_verbatims(tiny, *ARGS, experiences=["cancel request rejected"])
    assert one["text"].tolist() == ["Great"]


def test_language_mix(tiny: dict) -> None:
    t = feedback.language_mix(tiny, *ARGS).set_index("language")
    assert t["feedback"].to_dict() == {"en": 2, "id": 1, "unknown": 1}
