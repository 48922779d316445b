"""Maturity and the same-age baseline, on a fixture worked out by hand.

Two weeks of MY orders: the baseline week [16 Nov, 23 Nov) and the current
week [23 Nov, 30 Nov). The data is seen at 1 December unless a test says
otherwise, so the same-age baseline is measured at 23 Nov + (1 Dec - 30 Nov)
= 24 November.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from shopcx.cli import main
from shopcx.data.sources import load_source
from shopcx.errors import InputError
from shopcx.metrics.compare import compare_periods, same_age_as_of
from shopcx.metrics.kpis import compute_kpis
from shopcx.metrics.maturity import Maturity, kpi_group, load_maturity

from .conftest import write_tables

T = pd.Timestamp


def _order(oid: str, created: str, paid: str | None = None, shipped: str | None = None,
           delivered: str | None = None) -> dict:
    return {"order_id": oid, "market": "MY", "buyer_id": f"B{oid}", "seller_id": "S1",
            "category": "Beauty", "sales_channel": "livestream", "fulfillment": "seller_shipped",
            "payment_method": "card", "carrier": "J&T" if shipped else None, "gmv_usd": 10.0,
            "created_at": T(created), "paid_at": T(paid) if paid else None,
            "shipped_at": T(shipped) if shipped else None,
            "delivered_at": T(delivered) if delivered else None}


def _cancel(rid: str, oid: str, initiator: str, reason: str, requested: str, outcome: str,
            resolved: str | None) -> dict:
    return {"request_id": rid, "order_id": oid, "initiator": initiator, "reason": reason,
            "requested_at": T(requested), "outcome": outcome,
            "resolved_at": T(resolved) if resolved else None, "auto_resolved": False}


def _contact(cid: str, oid: str, created: str) -> dict:
    return {"contact_id": cid, "market": "MY", "buyer_id": f"B{oid}", "order_id": oid,
            "created_at": T(created), "channel": "chat", "reason": "cancel_status",
            "handle_time_s": 300.0, "escalated": False, "csat": 4}


def tables() -> dict[str, pd.DataFrame]:
    orders = pd.DataFrame([
        # baseline week
        _order("B1", "2026-11-16 10:00", "2026-11-16 10:05", "2026-11-17 09:00"),
        _order("B2", "2026-11-20 12:00", "2026-11-20 12:10"),
        _order("B3", "2026-11-22 08:00", "2026-11-22 08:10"),
        _order("B4", "2026-11-18 09:00", "2026-11-18 09:10", "2026-11-19 09:00",
               "2026-11-21 09:00"),
        # current week
        _order("C1", "2026-11-23 10:00", "2026-11-23 10:05"),
        _order("C2", "2026-11-25 10:00", "2026-11-25 10:05", "2026-11-26 10:00"),
        _order("C3", "2026-11-29 10:00", "2026-11-29 10:05"),
        _order("C4", "2026-11-27 10:00"),
    ])
    cancellations = pd.DataFrame([
        # B1: cancelled in transit 10 days after purchase
        _cancel("R1", "B1", "system", "logistics_failure", "2026-11-26 10:00", "approved",
                "2026-11-26 10:00"),
        # B2: a buyer request approved a day later, 1 day after purchase
        _cancel("R2", "B2", "buyer", "changed_mind", "2026-11-21 12:00", "approved",
                "2026-11-22 12:00"),
        # B3: a buyer request made 23 Nov 20:00, decided 24 Nov 20:00
        _cancel("R3", "B3", "buyer", "changed_mind", "2026-11-23 20:00", "approved",
                "2026-11-24 20:00"),
        # C1: a buyer request approved the next day
        _cancel("R4", "C1", "buyer", "changed_mind", "2026-11-24 10:00", "approved",
                "2026-11-25 10:00"),
    ])
    contacts = pd.DataFrame([
        _contact("K1", "B2", "2026-11-21 13:00"),
        _contact("K2", "B2", "2026-11-25 13:00"),   # a repeat of K1 within 7 days
        _contact("K3", "C1", "2026-11-24 11:00"),
        _contact("K4", "C3", "2026-11-29 11:00"),
        _contact("K5", "C2", "2026-11-30 12:00"),   # after the current week: in no period
    ])
    feedback = pd.DataFrame({
        **{c: pd.Series(dtype="string") for c in ("feedback_id", "market", "order_id",
                                                   "buyer_id", "source", "text", "language")},
        "created_at": pd.Series(dtype="datetime64[us]"), "rating": pd.Series(dtype="Int64")})
    return {"orders": orders, "cancellations": cancellations, "contacts": contacts,
            "feedback": feedback}


@pytest.fixture
def source():
    return load_source(tables())


def test_the_data_end_is_midnight_after_the_latest_event(source) -> None:
    # the latest moment in any table is contact K5, 30 Nov 12:00
    assert source.data_end() == T("2026-12-01")
    assert source.at("2026-11-26").data_end() == T("2026-11-26")


def test_rewinding_the_data_to_a_moment() -> None:
    at = load_source(tables()).at("2026-11-24")
    o = at.execute(at.tables["orders"]).set_index("order_id")
    assert sorted(o.index) == ["B1", "B2", "B3", "B4", "C1"]  # C2..C4 not placed yet
    assert o.loc["B1", "shipped_at"] == T("2026-11-17 09:00")
    c = at.execute(at.tables["cancellations"]).set_index("request_id")
    assert sorted(c.index) == ["R2", "R3"]  # R1 (26 Nov) and R4 (24 Nov 10:00) not yet
    assert c.loc["R3", "outcome"] == "pending" and pd.isna(c.loc["R3", "resolved_at"])
    assert c.loc["R2", "outcome"] == "approved"
    assert sorted(at.execute(at.tables["contacts"])["contact_id"]) == ["K1"]
    at2 = load_source(tables()).at("2026-11-19")
    o2 = at2.execute(at2.tables["orders"]).set_index("order_id")
    # B4 shipped at 09:00 on the 19th and was delivered on the 21st: neither yet
    assert pd.isna(o2.loc["B4", "shipped_at"]) and pd.isna(o2.loc["B4", "delivered_at"])
    assert o2.loc["B4", "paid_at"] == T("2026-11-18 09:10")


def test_mature_share_by_hand(source) -> None:
    k = compute_kpis(source, "MY", "2026-11-23", "2026-11-30", Maturity()).set_index("kpi")
    # at 1 Dec no current order is 14 days old (the oldest, C1, is 7 days 14 hours)
    assert k.loc["cancellation_rate", "mature_share"] == 0.0
    assert k.loc["cancellation_rate", "maturity_days"] == 14
    # contact K3 (24 Nov 11:00) is 6 days 13 hours old, K4 1.5 days: none is 7 days old
    assert k.loc["repeat_contact_rate", "mature_share"] == 0.0
    assert k.loc["orders", "mature_share"] == 1.0 and k.loc["orders", "maturity_days"] == 0
    later = compute_kpis(source.at("2026-12-08"), "MY", "2026-11-23", "2026-11-30",
                         Maturity()).set_index("kpi")
    # at 8 Dec orders placed by 24 Nov 00:00 are 14 days old: none (C1 is 23 Nov 10:00
    # + 14 days = 7 Dec 10:00: mature); C1 alone, 1 of 4
    assert later.loc["cancellation_rate", "mature_share"] == 0.25
    # contacts placed by 1 Dec are 7 days old: K3 and K4, 2 of 2
    assert later.loc["repeat_contact_rate", "mature_share"] == 1.0
    assert Maturity(kpis={"cancellation_rate": 3}).days("cancellation_rate") == 3


def test_same_age_baseline_by_hand(source) -> None:
    assert same_age_as_of(T("2026-12-01"), "2026-11-30", "2026-11-23") == T("2026-11-24")
    t = compare_periods(source, "MY", "2026-11-23", "2026-11-30", "2026-11-16", "2026-11-23",
                        min_sample=1).set_index("kpi")
    # current: C1 cancelled (awaiting shipment), 1 of 4
    assert t.loc["cancellation_rate", "value"] == 0.25
    # whole baseline: B1 (in transit, 26 Nov), B2, B3 cancelled: 3 of 4
    assert t.loc["cancellation_rate", "naive_baseline"] == 0.75
    # same age, events up to 24 Nov: B1 not yet cancelled (its cancellation came 10 days
    # after purchase, and no current order could be 10 days old at 1 Dec), B3's request
    # still pending; only B2: 1 of 4
    assert t.loc["cancellation_rate", "baseline"] == 0.25
    assert t.loc["cancellation_rate", "same_age"]
    assert t.loc["cancellation_rate", "baseline_as_of"] == T("2026-11-24")
    assert t.loc["cancel_exit_in_transit", "baseline"] == 0.0
    assert t.loc["cancel_exit_in_transit", "naive_baseline"] == 0.25
    assert t.loc["cancel_pending", "baseline"] == 1 and t.loc["cancel_pending",
                                                                "naive_baseline"] == 0
    # repeat contacts: K1's repeat K2 (25 Nov) comes after 24 Nov: 0 of 1, whole 1 of 1
    assert t.loc["repeat_contact_rate", "baseline"] == 0.0
    assert t.loc["repeat_contact_rate", "naive_baseline"] == 1.0
    # KPIs complete at once are compared with the whole baseline
    assert not t.loc["orders", "same_age"] and t.loc["orders", "baseline"] == 4
    assert pd.isna(t.loc["orders", "baseline_as_of"])


def test_the_baseline_counts_a_late_event_once_the_current_orders_can_reach_its_age(
        source) -> None:
    # at 4 Dec the current orders can be up to 10 days 14 hours old; the baseline is
    # seen at 27 Nov, so B1's in-transit cancellation (26 Nov, 10 days old) counts
    t = compare_periods(source.at("2026-12-04"), "MY", "2026-11-23", "2026-11-30",
                        "2026-11-16", "2026-11-23", min_sample=1).set_index("kpi")
    assert t.loc["cancellation_rate", "baseline_as_of"] == T("2026-11-27")
    assert t.loc["cancel_exit_in_transit", "baseline"] == 0.25
    assert t.loc["cancellation_rate", "baseline"] == 0.75


def test_a_mature_period_is_compared_with_the_whole_baseline(source) -> None:
    t = compare_periods(source.at("2026-12-20"), "MY", "2026-11-23", "2026-11-30",
                        "2026-11-16", "2026-11-23", min_sample=1).set_index("kpi")
    assert not t["same_age"].any()
    assert t.loc["cancellation_rate", "mature_share"] == 1.0
    assert t.loc["cancellation_rate", "baseline"] == 0.75


def test_naive_comparison_on_request(source) -> None:
    t = compare_periods(source, "MY", "2026-11-23", "2026-11-30", "2026-11-16", "2026-11-23",
                        min_sample=1, same_age=False).set_index("kpi")
    assert t.loc["cancellation_rate", "baseline"] == 0.75 and not t["same_age"].any()


def test_maturity_file_is_checked(tmp_path: Path) -> None:
    f = tmp_path / "m.yaml"
    f.write_text("windows: {cancellations: 21}\nkpis: {delivered_rate: 30}\n")
    m = load_maturity(f)
    assert m.days("cancellation_rate") == 21 and m.days("delivered_rate") == 30
    assert m.days("paid_rate") == 14 and m.days("cpo") == 0
    f.write_text("windows: {refunds: 3}\n")
    with pytest.raises(InputError, match="refunds is not a group"):
        load_maturity(f)
    f.write_text("kpis: {cancellation_rate: -1}\n")
    with pytest.raises(InputError, match="whole number of days"):
        load_maturity(f)
    assert [kpi_group(k) for k in ("cancel_pending", "csat_mean", "feedback")] == [
        "cancellations", "contacts", None]


def test_cli_as_of_and_maturity_in_json(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    data = write_tables(tables(), tmp_path / "data", "parquet")
    assert main(["kpis", "--data", str(data), "--market", "MY", "--start", "2026-11-23",
                 "--end", "2026-11-30", "--as-of", "2026-11-26", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["as_of"] == "2026-11-26"
    # orders placed before 26 Nov: C1, C2; C1 cancelled (approved 25 Nov)
    assert doc["kpis"]["orders"]["value"] == 2
    assert doc["kpis"]["cancellation_rate"]["value"] == 0.5
    assert doc["maturity"]["cancellation_rate"] == {"window_days": 14, "mature_share": 0.0}
    assert main(["kpis", "--data", str(data), "--market", "MY", "--start", "2026-11-23",
                 "--end", "2026-11-30", "--as-of", "2026-12-05"]) == 2
    assert "after the data's end 2026-12-01" in capsys.readouterr().err
    assert main(["explain", "--data", str(data), "--market", "MY", "--metric",
                 "cancellation_rate", "--baseline", "2026-11-16:2026-11-23", "--current",
                 "2026-11-23:2026-11-30", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    # the data ends on 1 Dec: the baseline is seen at 24 Nov (B2 cancelled, B3 pending)
    assert doc["maturity"] == {"as_of": "2026-12-01", "window_days": 14, "mature_share": 0.0,
                               "same_age": True, "baseline_as_of": "2026-11-24"}
    assert doc["baseline"]["value"] == 0.25 and doc["current"]["value"] == 0.25


def test_a_new_day_changes_only_the_periods_it_touches() -> None:
    base = tables()
    weeks = (("2026-11-16", "2026-11-23"), ("2026-11-23", "2026-11-30"))

    def prints(t: dict) -> list[str]:
        src = load_source(t)
        return [src.slice_fingerprint("MY", s, e, history_days=0) for s, e in weeks]

    before = prints(base)
    assert before == prints(tables())  # the same rows, the same fingerprints
    # 30 Nov: a new order with a contact, and C2 (current week) cancelled by its seller
    day = {k: v.copy() for k, v in base.items()}
    day["orders"] = pd.concat([day["orders"], pd.DataFrame([
        _order("D1", "2026-11-30 09:00", "2026-11-30 09:05")])], ignore_index=True)
    day["contacts"] = pd.concat([day["contacts"], pd.DataFrame([
        _contact("K9", "D1", "2026-11-30 10:00")])], ignore_index=True)
    day["cancellations"] = pd.concat([day["cancellations"], pd.DataFrame([
        _cancel("R9", "C2", "seller", "out_of_stock", "2026-11-30 11:00", "approved",
                "2026-11-30 11:00")])], ignore_index=True)
    after = prints(day)
    # the baseline week reads contacts up to 23 Nov + 7 days = 30 Nov 00:00: untouched
    assert after[0] == before[0]
    # the current week: C2's cancellation, and contacts up to 7 Dec
    assert after[1] != before[1]
    # a late event of an older order changes its week
    late = {k: v.copy() for k, v in day.items()}
    late["orders"].loc[late["orders"]["order_id"] == "B2", "shipped_at"] = T("2026-11-30 12:00")
    assert prints(late)[0] != after[0]
