"""When did it start: expected band, change points and contact bursts on planted series."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shopcx.rootcause.anomalies import anomalies, change_points, contact_bursts, expected_band

from .conftest import tiny_tables

WEEKLY = np.array([1.0, 0.9, 0.9, 1.0, 1.1, 1.3, 1.2])  # Monday .. Sunday


def _series(shift_day: int | None, days: int = 56, n: int = 4000, seed: int = 3,
            level: float = 0.05, after: float = 0.08) -> pd.DataFrame:
    """A daily cancellation rate with a weekly rhythm and an optional level shift."""
    rng = np.random.default_rng(seed)
    day = pd.date_range("2026-10-05", periods=days, freq="D")  # a Monday
    p = np.where((np.arange(days) >= shift_day) if shift_day is not None else False,
                 after, level) * WEEKLY[day.day_of_week]
    x = rng.binomial(n, p).astype(float)
    return pd.DataFrame({"day": day, "metric": "cancellation_rate", "value": x / n, "x": x,
                         "n": float(n)})


def test_weekly_rhythm_alone_is_neither_anomaly_nor_change() -> None:
    s = _series(None)
    band = expected_band(s, "2026-11-02")
    assert (band["anomaly"] == "").all()
    # the expected value follows the weekday: Saturdays 1.3 x Tuesdays
    sat = band[band["day"].dt.day_of_week == 5]["expected"].iloc[0]
    tue = band[band["day"].dt.day_of_week == 1]["expected"].iloc[0]
    assert sat / tue == pytest.approx(1.3 / 0.9, rel=0.05)
    assert change_points(s, "2026-11-02").empty


def test_a_level_shift_is_dated_to_its_first_day() -> None:
    s = _series(40)  # 2026-11-14
    cps = change_points(s, "2026-11-02")
    assert len(cps) == 1
    assert cps.iloc[0]["day"] == pd.Timestamp("2026-11-14")
    # levels of the weekday-adjusted series: the rate averaged over a week
    assert cps.iloc[0]["before"] == pytest.approx(0.05 * WEEKLY.mean(), rel=0.05)
    assert cps.iloc[0]["after"] == pytest.approx(0.08 * WEEKLY.mean(), rel=0.05)
    band = expected_band(s, "2026-11-02")
    high = band[band["anomaly"] == "high"]["day"]
    assert high.min() == pd.Timestamp("2026-11-14") and len(high) >= 14
    assert (band.loc[band["day"] < "2026-11-14", "anomaly"] == "").all()


def test_band_on_hours_uses_the_reference_spread() -> None:
    day = pd.date_range("2026-10-01", periods=20, freq="D")
    v = np.array([70, 72, 71, 73, 72, 70, 71, 72, 73, 71, 72, 72, 71, 24, 25, 24, 23, 24, 25, 24],
                 dtype=float)
    s = pd.DataFrame({"day": day, "metric": "p90_hours_to_resolve", "value": v, "x": np.nan,
                      "n": 30.0})
    band = expected_band(s, "2026-10-14")
    assert (band.iloc[:13]["anomaly"] == "").all() and (band.iloc[13:]["anomaly"] == "low").all()
    cps = change_points(s, "2026-10-14")
    assert cps["day"].tolist() == [pd.Timestamp("2026-10-14")]


def _contact_tables() -> dict[str, pd.DataFrame]:
    """Two months of orders on carriers A and B; in November, B's parcels go missing
    from the 12th: 6 where-is-my-order contacts a day about B orders instead of 1."""
    rng = np.random.default_rng(5)
    orders, contacts = [], []
    n = 0
    for day in pd.date_range("2026-10-01", "2026-11-30", freq="D"):
        for k in range(40):
            n += 1
            carrier = "AB"[k % 2]
            created = day + pd.Timedelta(minutes=30 * k)
            orders.append({"order_id": f"O{n}", "market": "US", "buyer_id": f"B{n}",
                           "seller_id": f"S{k % 4}", "category": ["Home", "Beauty"][k % 3 == 0],
                           "sales_channel": "search", "fulfillment": "seller_shipped",
                           "payment_method": "card", "carrier": carrier, "gmv_usd": 10.0,
                           "created_at": created, "paid_at": created,
                           "shipped_at": created + pd.Timedelta(days=1), "delivered_at": pd.NaT})
        burst = day >= pd.Timestamp("2026-11-12")
        for carrier, rate in (("A", 1), ("B", 6 if burst else 1)):
            for _ in range(rng.poisson(rate)):
                order = f"O{n - (1 if carrier == 'A' else 0) - 2 * int(rng.integers(0, 15))}"
                contacts.append({"contact_id": f"C{len(contacts)}", "order_id": order,
                                 "buyer_id": "B1", "market": "US",
                                 "created_at": day + pd.Timedelta(hours=20),
                                 "channel": "chat", "reason": "where_is_my_order",
                                 "handle_time_s": 100.0, "escalated": False,
                                 "csat": None})
        for _ in range(rng.poisson(2)):
            contacts.append({"contact_id": f"C{len(contacts)}", "order_id": f"O{n}",
                             "buyer_id": "B1", "market": "US",
                             "created_at": day + pd.Timedelta(hours=21), "channel": "chat",
                             "reason": "product_question", "handle_time_s": 100.0,
                             "escalated": False, "csat": None})
    tiny = tiny_tables()
    return {"orders": pd.DataFrame(orders), "cancellations": tiny["cancellations"].iloc[0:0],
            "contacts": pd.DataFrame(contacts), "feedback": tiny["feedback"].iloc[0:0]}


def test_a_contact_burst_names_reason_attribute_and_start() -> None:
    tables = _contact_tables()
    bursts = contact_bursts(tables, "US", ("2026-10-01", "2026-11-01"),
                            ("2026-11-01", "2026-12-01"))
    assert len(bursts) == 1  # product questions and carrier A did not move
    b = bursts.iloc[0]
    assert (b["reason"], b["attributes"]) == ("where_is_my_order", {"carrier": "B"})
    assert b["label"] == "where_is_my_order × carrier B"
    assert b["started"] == pd.Timestamp("2026-11-12")
    oct_b = tables["contacts"].query("reason == 'where_is_my_order'")
    assert b["current"] > 3 * b["expected"]
    assert b["baseline"] == pytest.approx(
        sum(1 for _, r in oct_b.iterrows() if r["created_at"] < pd.Timestamp("2026-11-01")
            and int(r["order_id"][1:]) % 2 == 0))


def test_anomalies_on_a_quiet_market_find_nothing() -> None:
    tables = _contact_tables()
    r = anomalies(tables, "US", ("2026-10-01", "2026-11-01"), ("2026-11-01", "2026-12-01"),
                  metrics=("cancellation_rate",))
    # no cancellations at all: a flat zero series, no change point, no anomaly
    assert r["change_points"].empty
    assert r["started"]["cancellation_rate"]["anomalous_days"] == 0
