"""Every KPI of the metric dictionary against values worked out by hand.

The tiny fixture (tests/conftest.py) for US, 2026-10-01 to 2026-11-01:

O (cohort) = O1, O2, O3, O4, O5, O9 -> 6 orders. O6 is created exactly at the
end (out), O8 one second before the start (out), O7 is GB (out); O1 is exactly
at the start (in), O5 one second before the end (in).

Cancelled orders and their cancelling rows:
  O2  R7  system  unpaid_timeout         unpaid
  O3  R4  buyer   better_price           in_transit   (requested exactly at shipped_at)
  O4  R5  seller  out_of_stock           awaiting     (tied with R6; R5 < R6)
  O9  R12 system  ship_deadline_missed   awaiting     (seller fault)
R (buyer rows of cohort orders) = R1 R2 R3 R4 R8 R9; R10 (order O6) and R11
(unknown order) are ignored.
"""

from __future__ import annotations

import math

import ibis
import numpy as np
import pandas as pd
import pytest

from shopcx.data.sources import load_source
from shopcx.errors import InputError
from shopcx.metrics.dictionary import KPIS
from shopcx.metrics.facts import order_facts, parse_period, stage_of
from shopcx.metrics.kpis import compute_kpis, compute_segment_kpis, kpis_to_dict

from .conftest import PERIOD

Z = 1.959964


def wilson(x: int, n: int) -> tuple[float, float]:
    """Wilson score interval written out independently of the library."""
    p = x / n
    centre = (p + Z * Z / (2 * n)) / (1 + Z * Z / n)
    half = Z * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n)) / (1 + Z * Z / n)
    return centre - half, centre + half


# name: (numerator, denominator) for rates, or the value for counts and means
EXPECTED = {
    "orders": 6,
    "gmv_usd": 10 + 20 + 30 + 40 + 50 + 15,
    "paid_rate": (4, 6),                      # O1 O3 O4 O9
    "shipped_rate": (2, 6),                   # O1 O3
    "delivered_rate": (1, 6),                 # O1
    "cancellation_rate": (4, 6),              # O2 O3 O4 O9
    "cancellation_rate_buyer": (1, 6),        # O3
    "cancellation_rate_seller": (1, 6),       # O4
    "cancellation_rate_system": (2, 6),       # O2 O9
    "cancellation_rate_platform": (0, 6),
    "cancel_exit_unpaid": (1, 6),             # O2
    "cancel_exit_awaiting_shipment": (2, 6),  # O4 O9
    "cancel_exit_in_transit": (1, 6),         # O3
    "cancel_exit_delivered": (0, 6),
    "seller_fault_cancellation_rate": (2, 6),  # O4 (seller) + O9 (ship deadline)
    "buyer_cancel_requests": 6,               # R1 R2 R3 R4 R8 R9
    "cancel_request_success_rate": (1, 4),    # resolved R1 R2 R3 R4; approved R4
    "cancel_request_success_rate_awaiting_shipment": (0, 1),  # R1
    "cancel_request_success_rate_unpaid": (0, 1),             # R3 (R8 pending, R9 withdrawn)
    "cancel_request_success_rate_in_transit": (1, 1),         # R4
    "cancel_request_success_rate_delivered": (0, 1),          # R2
    "cancel_withdrawal_rate": (1, 6),         # R9
    "cancel_pending": 1,                      # R8
    "median_hours_to_resolve": 8.0,           # hours 2 6 10 12 -> (6 + 10) / 2
    "p90_hours_to_resolve": 11.4,             # rank 0.9 * 3 = 2.7 -> 10 + 0.7 * (12 - 10)
    "auto_resolved_share": (2, 4),            # R2 R4
    "repeat_request_rate": (2, 4),            # O1 O3 of requesters O1 O2 O3 O5
    "contacts": 9,                            # C1-C7, C9, C12
    "cpo": (9, 6),
    "cancel_cpo": (7, 6),                     # C1 C2 C3 C4 C5 C9 C12
    "contacts_per_cancelled_order": (4, 4),   # C4 C5 (O3), C8 (O4, after period), C11 (O2)
    "repeat_contact_rate": (2, 8),            # C1 (C2 at exactly 168 h), C7 (C8 at 28 h)
    "escalation_rate": (2, 9),                # C2 C5
    "escalations_per_1000_orders": (2, 6),    # C2 C5 over 6 orders, times 1,000: 333.3
    "cancel_escalation_rate": (2, 7),         # C2 C5 of the 7 cancellation contacts
    "escalated_csat_mean": 1.0,               # C2 unanswered, C5 answered 1
    # C2 (O1): C1 before it -> 1; C5 (O3): C4 at the same instant is not earlier -> 0
    "contacts_before_escalation": (1 + 0) / 2,
    # C2: 168 h after C1, O1's first cancellation contact; C5: O3's first cancellation
    # contacts are C4 and C5 itself, same instant -> 0 h; median of 168 and 0
    "median_hours_to_escalation": 84.0,
    "bot_contact_share": (3, 9),              # C3 C4 C12
    "mean_handle_minutes": (600 + 300 + 900 + 120 + 240 + 60) / 6 / 60,
    "csat_mean": (2 + 5 + 4 + 1 + 3) / 5,
    "csat_response_rate": (5, 9),
    "csat_satisfied_share": (2, 5),           # C3 (5) C4 (4)
    "feedback": 4,                            # FB1-FB4
    "feedback_mean_rating": (5 + 1 + 2) / 3,  # FB3 has no rating
    "feedback_negative_share": (2, 3),        # FB2 FB4
}


@pytest.fixture(scope="module")
def kpis() -> pd.DataFrame:
    from .conftest import tiny_tables

    return compute_kpis(tiny_tables(), "US", *PERIOD).set_index("kpi")


def test_every_kpi_is_expected_and_present(kpis: pd.DataFrame) -> None:
    assert list(kpis.index) == [k.name for k in KPIS]
    assert set(EXPECTED) == set(kpis.index)


@pytest.mark.parametrize("name", list(EXPECTED))
def test_kpi_value(kpis: pd.DataFrame, name: str) -> None:
    row = kpis.loc[name]
    expected = EXPECTED[name]
    if isinstance(expected, tuple):
        num, den = expected
        assert (row["numerator"], row["denominator"]) == (num, den)
        scale = 1000 if name.endswith("_per_1000_orders") else 1
        assert row["value"] == pytest.approx(num / den * scale)
        if row["kind"] == "proportion":
            lo, hi = wilson(num, den)
            assert row["ci_low"] == pytest.approx(lo, abs=1e-9)
            assert row["ci_high"] == pytest.approx(hi, abs=1e-9)
        else:
            assert np.isnan(row["ci_low"])
    else:
        assert row["value"] == pytest.approx(expected)
        assert pd.isna(row["numerator"])


def test_ratio_kinds_follow_the_dictionary(kpis: pd.DataFrame) -> None:
    ratios = set(kpis.index[kpis["kind"] == "ratio"])
    assert ratios == {"cpo", "cancel_cpo", "contacts_per_cancelled_order",
                      "escalations_per_1000_orders"}


def test_empty_period_gives_nulls_and_zero_counts(tiny: dict) -> None:
    k = compute_kpis(tiny, "US", "2027-01-01", "2027-02-01").set_index("kpi")
    assert k.loc["orders", "value"] == 0
    assert k.loc["gmv_usd", "value"] == 0
    assert k.loc["contacts", "value"] == 0
    assert k.loc["cancel_pending", "value"] == 0
    for name in ("cancellation_rate", "cpo", "median_hours_to_resolve", "csat_mean",
                 "feedback_mean_rating", "cancel_request_success_rate"):
        assert np.isnan(k.loc[name, "value"]), name
    assert np.isnan(k.loc["cancellation_rate", "ci_low"])
    assert k.loc["cancellation_rate", "denominator"] == 0


def test_order_facts_cancelling_row_and_stage(tiny: dict) -> None:
    src = load_source(tiny)
    f = src.execute(order_facts(src, "US", *PERIOD)).set_index("order_id").sort_index()
    assert list(f.index) == ["O1", "O2", "O3", "O4", "O5", "O9"]
    got = f[["cancel_initiator", "cancel_reason", "cancel_stage"]].astype(object)
    got = got.where(got.notna(), None)
    assert got.loc["O4"].tolist() == ["seller", "out_of_stock", "awaiting_shipment"]
    assert got.loc["O3"].tolist() == ["buyer", "better_price", "in_transit"]
    assert got.loc["O2"].tolist() == ["system", "unpaid_timeout", "unpaid"]
    assert got.loc["O1"].tolist() == [None, None, None]
    assert f["buyer_requests"].to_dict() == {"O1": 2, "O2": 1, "O3": 2, "O4": 0, "O5": 1,
                                             "O9": 0}
    assert f["seller_fault"].tolist() == [False, False, False, True, False, True]


def test_segments_by_carrier(tiny: dict) -> None:
    seg = compute_segment_kpis(tiny, "US", *PERIOD, by="carrier")
    keys = list(dict.fromkeys(seg["segment"]))
    assert keys[0] is None  # O2 O4 O5 O9 never shipped: the largest segment
    assert sorted(keys[1:]) == ["FedEx", "UPS"]
    ups = seg[seg["segment"] == "UPS"].set_index("kpi")
    # O_s = {O1}: R1 R2 both rejected; contacts C1 C2 C3; feedback FB1
    assert ups.loc["orders", "value"] == 1
    assert (ups.loc["cancel_request_success_rate", "numerator"],
            ups.loc["cancel_request_success_rate", "denominator"]) == (0, 2)
    assert ups.loc["cpo", "value"] == 3
    assert (ups.loc["repeat_contact_rate", "numerator"],
            ups.loc["repeat_contact_rate", "denominator"]) == (1, 3)
    assert ups.loc["mean_handle_minutes", "value"] == pytest.approx((600 + 300) / 2 / 60)
    assert ups.loc["csat_mean", "value"] == pytest.approx(3.5)
    assert np.isnan(ups.loc["contacts_per_cancelled_order", "value"])  # no cancelled order
    assert ups.loc["feedback_mean_rating", "value"] == 5
    none = seg[seg["segment"].isna()].set_index("kpi")
    # O_s = {O2 O4 O5 O9}: cancelled O2 O4 O9; contacts in period C7; cancel contacts C8 C11
    assert (none.loc["cancellation_rate", "numerator"],
            none.loc["cancellation_rate", "denominator"]) == (3, 4)
    assert none.loc["contacts", "value"] == 1
    assert (none.loc["contacts_per_cancelled_order", "numerator"],
            none.loc["contacts_per_cancelled_order", "denominator"]) == (2, 3)
    assert none.loc["feedback", "value"] == 1


def test_segments_sum_to_the_whole(tiny: dict) -> None:
    whole = compute_kpis(tiny, "US", *PERIOD).set_index("kpi")
    seg = compute_segment_kpis(tiny, "US", *PERIOD, by="category")
    for name in ("orders", "buyer_cancel_requests", "feedback"):
        assert seg.loc[seg["kpi"] == name, "value"].sum() <= whole.loc[name, "value"]
    assert seg.loc[seg["kpi"] == "orders", "value"].sum() == whole.loc["orders", "value"]


def test_kpis_to_dict_shapes(kpis: pd.DataFrame) -> None:
    d = kpis_to_dict(kpis.reset_index(), "US", *PERIOD)
    assert d["market"] == "US" and d["start"] == "2026-10-01" and d["end"] == "2026-11-01"
    assert d["kpis"]["orders"] == {"value": 6}
    assert set(d["kpis"]["cpo"]) == {"value", "numerator", "denominator"}
    assert set(d["kpis"]["cancellation_rate"]) == {"value", "numerator", "denominator",
                                                   "ci_low", "ci_high"}
    assert d["kpis"]["csat_mean"] == {"value": 3.0}


def test_market_and_period_are_checked(tiny: dict) -> None:
    with pytest.raises(InputError, match="not before"):
        compute_kpis(tiny, "US", "2026-11-01", "2026-10-01")
    with pytest.raises(InputError, match="ISO"):
        compute_kpis(tiny, "USA", *PERIOD)
    with pytest.raises(InputError, match="not a date"):
        parse_period("soon", "2026-10-01")


def test_market_code_is_case_insensitive(tiny: dict) -> None:
    a = compute_kpis(tiny, "us", *PERIOD)
    assert a.set_index("kpi").loc["orders", "value"] == 6


@pytest.mark.parametrize(("requested", "expected"), [
    ("2026-10-01 09:59:59", "unpaid"),             # 1 s before payment
    ("2026-10-01 10:00:00", "awaiting_shipment"),  # exactly at payment
    ("2026-10-02 09:59:59", "awaiting_shipment"),
    ("2026-10-02 10:00:00", "in_transit"),         # exactly at shipping
    ("2026-10-04 09:59:59", "in_transit"),
    ("2026-10-04 10:00:00", "delivered"),          # exactly at delivery
])
def test_stage_boundaries(requested: str, expected: str) -> None:
    t = ibis.memtable({"requested_at": [pd.Timestamp(requested)],
                       "paid_at": [pd.Timestamp("2026-10-01 10:00")],
                       "shipped_at": [pd.Timestamp("2026-10-02 10:00")],
                       "delivered_at": [pd.Timestamp("2026-10-04 10:00")]})
    expr = stage_of(t.requested_at, t.paid_at, t.shipped_at, t.delivered_at)
    assert ibis.duckdb.connect().execute(expr).tolist() == [expected]


@pytest.mark.parametrize(("paid", "shipped", "delivered", "expected"), [
    (None, None, None, "unpaid"),
    ("2026-10-01", None, None, "awaiting_shipment"),
    ("2026-10-01", "2026-10-02", None, "in_transit"),
])
def test_stage_with_missing_timestamps(paid: str | None, shipped: str | None,
                                       delivered: str | None, expected: str) -> None:
    def ts(v: str | None) -> list:
        return [pd.Timestamp(v) if v else pd.NaT]

    t = ibis.memtable({"requested_at": ts("2026-10-20"), "paid_at": ts(paid),
                       "shipped_at": ts(shipped), "delivered_at": ts(delivered)})
    expr = stage_of(t.requested_at, t.paid_at, t.shipped_at, t.delivered_at)
    assert ibis.duckdb.connect().execute(expr).tolist() == [expected]
