"""Root cause: exact decomposition, planted causes, mix shifts and a no-change control."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shopcx.cli import main
from shopcx.rootcause.drivers import decompose, explain

from .conftest import tiny_tables, write_tables

BASE, CUR = ("2026-10-01", "2026-11-01"), ("2026-11-01", "2026-12-01")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 60), st.integers(0, 60), st.integers(0, 60),
                          st.integers(0, 60)), min_size=1, max_size=8))
def test_contributions_add_up_to_the_change(cells: list[tuple[int, int, int, int]]) -> None:
    rows0 = [(f"s{i}", min(a, b), b) for i, (a, b, _, _) in enumerate(cells) if b > 0]
    rows1 = [(f"s{i}", min(c, d), d) for i, (_, _, c, d) in enumerate(cells) if d > 0]
    if not rows0 or not rows1:
        return
    b = pd.DataFrame(rows0, columns=["key", "x", "n"])
    c = pd.DataFrame(rows1, columns=["key", "x", "n"])
    d = decompose(b, c)
    change = c["x"].sum() / c["n"].sum() - b["x"].sum() / b["n"].sum()
    assert abs(d["contribution"].sum() - change) < 1e-9
    assert np.allclose(d["contribution"], d["rate_effect"] + d["mix_effect"])


def _tables(spec: list[tuple]) -> dict[str, pd.DataFrame]:
    """Orders from (month, carrier, payment, seller, orders, cancelled[, category[, reason]])."""
    orders, cancels = [], []
    n = 0
    for month, carrier, payment, seller, count, cancelled, *more in spec:
        category = more[0] if more else "Home"
        reason = more[1] if len(more) > 1 else "delivery_too_slow"
        initiator = "seller" if reason == "out_of_stock" else "platform"
        start = pd.Timestamp(month)
        for k in range(count):
            n += 1
            created = start + pd.Timedelta(minutes=37 * k % (27 * 24 * 60))
            orders.append({"order_id": f"O{n}", "market": "US", "buyer_id": f"B{n}",
                           "seller_id": seller, "category": category, "sales_channel": "search",
                           "fulfillment": "seller_shipped", "payment_method": payment,
                           "carrier": carrier, "gmv_usd": 10.0, "created_at": created,
                           "paid_at": created, "shipped_at": created + pd.Timedelta(days=1),
                           "delivered_at": pd.NaT})
            if k < cancelled:
                t = created + pd.Timedelta(days=2)
                cancels.append({"request_id": f"R{n}", "order_id": f"O{n}",
                                "initiator": initiator, "reason": reason,
                                "requested_at": t, "outcome": "approved", "resolved_at": t,
                                "auto_resolved": False})
    tiny = tiny_tables()
    return {"orders": pd.DataFrame(orders), "cancellations": pd.DataFrame(cancels),
            "contacts": tiny["contacts"].iloc[0:0], "feedback": tiny["feedback"].iloc[0:0]}


def _explain(spec, metric: str = "cancellation_rate") -> dict:
    # the fixture's data ends inside the current month; these tests are about the
    # decomposition, so the baseline is taken whole (not at the same age)
    return explain(_tables(spec), "US", metric, BASE, CUR, top=0, same_age=False)


def test_a_carrier_rate_change_is_found_first() -> None:
    spec = []
    for month in (BASE[0], CUR[0]):
        for carrier in ("A", "B", "C"):
            bad = month == CUR[0] and carrier == "B"
            spec.append((month, carrier, "card", f"S-{carrier}", 300, 90 if bad else 15))
    r = _explain(spec)
    top = r["drivers_table"].iloc[0]
    assert (top["dimension"], top["key"], top["effect"]) == ("carrier", "B", "rate")
    assert not top["noise"]
    assert top["contribution"] == pytest.approx(r["change"])  # all of the change
    by_dim = r["all_segments"].groupby("dimension")["contribution"].sum()
    assert np.allclose(by_dim, r["change"], atol=1e-12)


def test_a_pure_mix_shift_is_reported_as_mix() -> None:
    # cod cancels 30%, card 5%, in both months; cod grows from 20% to 50% of orders
    spec = [(BASE[0], "A", "cod", "S1", 200, 60), (BASE[0], "A", "card", "S1", 800, 40),
            (CUR[0], "A", "cod", "S1", 500, 150), (CUR[0], "A", "card", "S1", 500, 25)]
    r = _explain(spec)
    top = r["drivers_table"].iloc[0]
    assert (top["dimension"], top["key"], top["effect"]) == ("payment_method", "cod", "mix")
    pay = r["all_segments"].query("dimension == 'payment_method'").set_index("key")
    assert pay.loc["cod", "effect"] == "mix" and pay.loc["card", "effect"] == "mix"
    # card held against the change (its share fell): a segment, not a driver
    assert "card" not in set(r["drivers_table"]["key"])
    assert pay.loc["cod", "rate_effect"] == pytest.approx(0.0)
    assert pay["contribution"].sum() == pytest.approx(0.175 - 0.10)


def test_the_readout_shows_a_mix_drivers_own_interval() -> None:
    from shopcx.readouts.story import Story, driver_table

    spec = [(BASE[0], "A", "cod", "S1", 200, 60), (BASE[0], "A", "card", "S1", 800, 40),
            (CUR[0], "A", "cod", "S1", 500, 150), (CUR[0], "A", "card", "S1", 500, 25)]
    r = _explain(spec)
    table = driver_table(Story("cancellation_rate", "US", None, r)).set_index("segment")
    top = r["drivers_table"].iloc[0]
    row = table.loc[table.index[0]]
    assert row["effect"] == "mix" and row["verdict"] == "driver"
    assert row["95% interval"] == (f"{top['mix_ci_low'] * 100:+.2f} pts .. "
                                   f"{top['mix_ci_high'] * 100:+.2f} pts "
                                   f"(mix effect {top['mix_effect'] * 100:+.2f} pts)")
    # the table output of `shopcx explain` shows the same interval
    from io import StringIO

    from rich.console import Console

    from shopcx.readouts.formatting import print_explanation
    from shopcx.rootcause.drivers import explain_to_dict

    out = StringIO()
    print_explanation(explain_to_dict(r), Console(file=out, width=250))
    assert (f"{top['mix_ci_low'] * 100:+.2f} pts..{top['mix_ci_high'] * 100:+.2f} pts "
            "(mix effect)") in out.getvalue()


def test_a_sellers_out_of_stock_burst_is_the_seller_not_its_carrier() -> None:
    # carrier A ships for S1 and S2, carrier B for S3 and S4; in November S1 runs out of
    # stock: 90 more seller cancellations. Carrier A moved only because of S1.
    spec = []
    for month in (BASE[0], CUR[0]):
        for carrier, sellers in (("A", ("S1", "S2")), ("B", ("S3", "S4"))):
            for seller in sellers:
                spec.append((month, carrier, "card", seller, 250, 10))
                if month == CUR[0] and seller == "S1":
                    spec.append((month, carrier, "card", seller, 90, 90, "Home", "out_of_stock"))
    r = _explain(spec)
    top = r["drivers_table"].iloc[0]
    assert (top["dimension"], top["key"]) == ("seller_id", "S1")
    assert not top["noise"]
    # the change is 130/1090 - 40/1000; S1's contribution is its cancellations' share
    # 100/1090 - 10/1000, less its share shift (340/1090 - 250/1000) times the market's
    # mean rate (40/1000 + 130/1090) / 2: a share shift at the mean rate explains nothing
    assert r["change"] == pytest.approx(130 / 1090 - 0.04)
    centre = (40 / 1000 + 130 / 1090) / 2
    assert top["contribution"] == pytest.approx(
        100 / 1090 - 10 / 1000 - (340 / 1090 - 250 / 1000) * centre)
    seg = r["all_segments"].set_index(["dimension", "key"])
    assert seg.loc[("carrier", "A"), "redundant_with"] == "seller_id=S1"
    assert "A" not in set(r["drivers_table"].query("dimension == 'carrier'")["key"])
    first = r["breakdown_table"].iloc[0]
    assert (first["dimension"], first["key"]) == ("cancel_reason", "out_of_stock")
    assert first["contribution"] == pytest.approx(90 / 1090)


def test_a_cause_in_one_combination_of_two_dimensions() -> None:
    # nine carrier x category cells of 300 orders (100 per seller), 10% cancelled;
    # in November carrier B's Beauty orders cancel 40%: neither B nor Beauty alone
    spec = []
    for month in (BASE[0], CUR[0]):
        for carrier in "ABC":
            for category in ("Home", "Beauty", "Phones"):
                bad = month == CUR[0] and (carrier, category) == ("B", "Beauty")
                for seller in ("S1", "S2", "S3"):
                    spec.append((month, carrier, "card", seller, 100, 40 if bad else 10,
                                 category))
    r = _explain(spec)
    top = r["drivers_table"].iloc[0]
    assert (top["dimension"], top["key"]) == ("category × carrier", "Beauty × B")
    assert top["contribution"] == pytest.approx(90 / 2700) == pytest.approx(r["change"])
    assert (top["effect"], top["noise"]) == ("rate", False)
    assert (top["baseline_value"], top["current_value"]) == (pytest.approx(0.1),
                                                           pytest.approx(0.4))
    seg = r["all_segments"].set_index(["dimension", "key"])
    assert seg.loc[("carrier", "B"), "redundant_with"] == "category × carrier=Beauty × B"
    assert seg.loc[("category", "Beauty"), "redundant_with"] == "category × carrier=Beauty × B"
    others = r["drivers_table"].iloc[1:]
    assert others["noise"].all()  # nothing else is a significant driver


def test_sellers_driving_a_change_together_are_one_group() -> None:
    # six sellers of 300 orders, 15 cancelled each in October; in November S1 cancels
    # 63 and S2 60: each drives the change, together they are all of it
    spec = []
    for month in (BASE[0], CUR[0]):
        for seller in ("S1", "S2", "S3", "S4", "S5", "S6"):
            bad = {"S1": 63, "S2": 60}.get(seller) if month == CUR[0] else None
            spec.append((month, "A", "card", seller, 300, bad or 15))
    r = _explain(spec)
    assert r["change"] == pytest.approx(183 / 1800 - 90 / 1800)
    top = r["drivers_table"].iloc[0]
    assert (top["dimension"], top["key"]) == ("seller_id", "S1 + S2")  # largest first
    assert list(top["members"]) == ["S1", "S2"]
    # merged: 30 of 600 -> 123 of 600, a third of the orders in both months: the rate
    # effect (123/600 - 30/600) x 1/3 is the whole change, the mix effect zero
    assert top["contribution"] == pytest.approx(93 / 1800)
    assert top["mix_effect"] == pytest.approx(0.0)
    assert (top["baseline_value"], top["current_value"]) == (pytest.approx(0.05),
                                                           pytest.approx(123 / 600))
    # its surprise: contribution less its third of the sellers' summed rate effects
    assert top["surprise"] == pytest.approx(93 / 1800 - 93 / 1800 / 3)
    assert (top["noise"], top["effect"]) == (False, "rate")
    seg = r["all_segments"].set_index(["dimension", "key"])
    for seller in ("S1", "S2"):  # the members give way to the group
        assert seg.loc[("seller_id", seller), "redundant_with"] == "seller_id=S1 + S2"
    assert r["drivers_table"].iloc[1:]["noise"].all()
    from shopcx.rootcause.drivers import explain_to_dict

    assert explain_to_dict(r)["drivers"][0]["members"] == ["S1", "S2"]
    # the readout names the group, and its waterfall puts the members first, together
    from shopcx.readouts.plots import plot_waterfall
    from shopcx.readouts.story import Story, actions_for, driver_table

    story = Story("cancellation_rate", "US", None, r)
    assert driver_table(story)["segment"].iloc[0] == "sellers S1 and S2 together"
    assert "Contact sellers S1 and S2 about" in actions_for(story)["next step"].iloc[0]
    sellers = r["all_segments"].query("dimension == 'seller_id'")
    fig = plot_waterfall(sellers, r["baseline"]["value"], r["current"]["value"], "seller id",
                         lead=["S1", "S2"])
    ax = fig.axes[0]
    assert ax.get_title() == "By seller id: S1 and S2 drive it together (100% of the change)"
    assert [t.get_text() for t in ax.get_xticklabels()][1:3] == ["S1", "S2"]


def test_one_driving_seller_is_no_group() -> None:
    spec = [(m, "A", "card", s, 300, 63 if (m, s) == (CUR[0], "S1") else 15)
            for m in (BASE[0], CUR[0]) for s in ("S1", "S2", "S3", "S4")]
    top = _explain(spec)["drivers_table"].iloc[0]
    assert (top["dimension"], top["key"]) == ("seller_id", "S1")
    assert not isinstance(top.get("members"), list)


def test_a_combination_that_only_holds_a_seller_group_gives_way_to_it() -> None:
    # nine carrier x category cells, three sellers of 100 orders each, 10 cancelled;
    # in November two of the three sellers of Beauty x B cancel 56 and 55: the cell
    # moved, but only through those two sellers (counted apart: cell x seller group)
    spec = []
    for month in (BASE[0], CUR[0]):
        for carrier in "ABC":
            for category in ("Home", "Beauty", "Phones"):
                for i in (1, 2, 3):
                    seller = f"{carrier}-{category}-{i}"
                    bad = {"B-Beauty-1": 56, "B-Beauty-2": 55}.get(seller)
                    spec.append((month, carrier, "card", seller, 100,
                                 bad if bad and month == CUR[0] else 10, category))
    r = _explain(spec)
    assert r["change"] == pytest.approx(91 / 2700)
    assert ("category × carrier", "Beauty × B") in set(zip(
        r["combinations_table"]["dimension"], r["combinations_table"]["key"], strict=True))
    drivers = r["drivers_table"][~r["drivers_table"]["noise"]]
    assert list(zip(drivers["dimension"], drivers["key"], strict=True)) == [
        ("seller_id", "B-Beauty-1 + B-Beauty-2")]
    # 20 of 200 -> 111 of 200, 200 of 2,700 orders in both months
    assert drivers["contribution"].iloc[0] == pytest.approx(91 / 2700)


def test_a_single_carrier_cause_is_not_split_into_combinations() -> None:
    spec = []
    for month in (BASE[0], CUR[0]):
        for carrier in "ABC":
            for category in ("Home", "Beauty", "Phones"):
                bad = month == CUR[0] and carrier == "B"
                spec.append((month, carrier, "card", "S1", 300, 120 if bad else 30, category))
    r = _explain(spec)
    top = r["drivers_table"].iloc[0]
    assert (top["dimension"], top["key"]) == ("carrier", "B")
    assert r["combinations_table"].empty


def test_no_change_reports_no_significant_driver() -> None:
    rng = np.random.default_rng(1)
    spec = []
    for month in (BASE[0], CUR[0]):
        for carrier in "ABCDEF":
            for seller in ("S1", "S2", "S3"):
                spec.append((month, carrier, "card", seller, 120,
                             int(rng.binomial(120, 0.1))))
    r = _explain(spec)
    assert not (~r["drivers_table"]["noise"]).any()


def test_explain_command(tmp_path, capsys) -> None:
    spec = []
    for month in (BASE[0], CUR[0]):
        for carrier in ("A", "B"):
            spec.append((month, carrier, "card", "S1", 200,
                         60 if (month == CUR[0] and carrier == "B") else 10))
    data = write_tables(_tables(spec), tmp_path / "data", "parquet")
    args = ["explain", "--data", str(data), "--market", "US", "--metric", "cancellation_rate",
            "--baseline", "2026-10-01:2026-11-01", "--current", "2026-11-01:2026-12-01",
            "--format", "json"]
    assert main(args) == 0
    import json

    doc = json.loads(capsys.readouterr().out)
    assert doc["metric"] == "cancellation_rate" and doc["market"] == "US"
    assert doc["baseline"]["value"] == pytest.approx(20 / 400)
    assert doc["current"]["value"] == pytest.approx(70 / 400)
    assert doc["change"] == pytest.approx(0.125)
    first = doc["drivers"][0]
    assert (first["dimension"], first["key"], first["effect"]) == ("carrier", "B", "rate")
    assert set(first) >= {"contribution", "share_of_change", "baseline_value", "current_value",
                          "baseline_share", "current_share"}
    bad = args.copy()
    bad[bad.index("--metric") + 1] = "orders"
    assert main(bad) == 2
    bad = args.copy()
    bad[bad.index("--baseline") + 1] = "2026-10-01"
    assert main(bad) == 2


def test_ratio_decomposition_uses_poisson_variance() -> None:
    b = pd.DataFrame({"key": ["A", "B"], "x": [10, 10], "n": [100, 100]})
    c = pd.DataFrame({"key": ["A", "B"], "x": [50, 10], "n": [100, 100]})
    d = decompose(b, c, kind="ratio").set_index("key")
    assert d.loc["A", "contribution"] == pytest.approx(0.2)
    assert d.loc["A", "mix_effect"] == pytest.approx(0.0)
    # contribution = 50/200 - 10/200 (no share moved). Variance per month: Poisson for
    # A's contacts with z^2/2 = 1.9207 pseudo-contacts, plus its share of orders
    # (multinomial) times its rate's distance from the mean rate (0.1 + 0.3) / 2:
    # October (10 + 1.9207 + 100 x 0.5 x (0.1 - 0.2)^2) / 200^2, November with 50 and 0.5
    k = 1.959964 ** 2 / 2
    var = (10 + k + 100 * 0.5 * 0.01 + 50 + k + 100 * 0.5 * 0.09) / 200 ** 2
    half = 1.959964 * np.sqrt(var)
    assert half == pytest.approx(0.081310, abs=1e-6)
    assert d.loc["A", "ci_high"] - d.loc["A", "contribution"] == pytest.approx(half)


def test_intervals_stay_open_at_zero_and_all_and_mix_carries_variance() -> None:
    # A: 0 of 40 both months; B: 40 of 40 both months; C grows from 20 to 60 orders,
    # always 50% cancelled: a pure mix effect that must still have sampling variance
    b = pd.DataFrame({"key": ["A", "B", "C"], "x": [0, 40, 10], "n": [40, 40, 20]})
    c = pd.DataFrame({"key": ["A", "B", "C"], "x": [0, 40, 30], "n": [40, 40, 60]})
    d = decompose(b, c).set_index("key")
    z2 = 1.959964 ** 2
    # A: contribution 0. Variance per month (N = 100, then 140 orders): its rate,
    # 0 of 40 smoothed to p~ = (0 + z2/2) / (40 + z2), as (40 + z2) p~ (1 - p~), plus its
    # share of orders, 40 (1 - 40/N) (0 - R)^2 with R the mean overall rate
    # (50/100 + 70/140) / 2 = 0.5; all over N^2
    p = (z2 / 2) / (40 + z2)
    var_a = sum(((40 + z2) * p * (1 - p) + 40 * (1 - 40 / n) * 0.25) / n ** 2
                for n in (100, 140))
    # A never cancels and its share fell 40% -> 28.6%: a mix effect centred on R
    assert d.loc["A", "contribution"] == pytest.approx((40 / 140 - 40 / 100) * (0 - 0.5))
    half = d.loc["A", "ci_high"] - d.loc["A", "contribution"]
    assert half == pytest.approx(1.959964 * np.sqrt(var_a)) and half > 0.05
    assert d.loc["B", "ci_high"] - d.loc["B", "ci_low"] > 0.05  # 40 of 40: not zero width
    # C: rate 50% -> 50%, share 20% -> 43%, at the market's mean rate (50%): its growth
    # explains nothing, but the interval of that zero is not zero
    assert d.loc["C", "contribution"] == pytest.approx(0.0)
    assert d.loc["C", "rate_effect"] == pytest.approx(0.0)
    assert d.loc["C", "ci_high"] - d.loc["C", "ci_low"] > 0.1


def test_a_mix_effect_has_its_own_interval_computed_by_hand() -> None:
    # a: 10% cancelled both months, 100 then 50 orders; b: 40% both months, 100 then 150
    b = pd.DataFrame({"key": ["a", "b"], "x": [10, 40], "n": [100, 100]})
    c = pd.DataFrame({"key": ["a", "b"], "x": [5, 60], "n": [50, 150]})
    d = decompose(b, c).set_index("key")
    # b's share 50% -> 75%; mean overall rate R = (50/200 + 65/200) / 2 = 0.2875
    mix = 0.25 * (0.40 - 0.2875)
    assert d.loc["b", "mix_effect"] == pytest.approx(mix)
    assert d.loc["b", "rate_effect"] == pytest.approx(0.0)
    assert d.loc["b", "effect"] == "mix"
    # delta method: shares (multinomial) times (r - R)^2, plus the share's move squared
    # times the variance of r - R: (1 - w)^2 var(mean of b's rates) + w^2 var(mean of the
    # rest's), each rate smoothed with z^2/2 pseudo-events (Agresti-Coull)
    k = 1.959964 ** 2 / 2

    def var(x: float, n: float) -> float:
        p = (x + k) / (n + 2 * k)
        return p * (1 - p) / (n + 2 * k)

    shares = (0.5 * 0.5 / 200 + 0.75 * 0.25 / 200) * (0.40 - 0.2875) ** 2
    rates = 0.25 ** 2 * ((1 - 0.625) ** 2 * (var(40, 100) + var(60, 150)) / 4
                         + 0.625 ** 2 * (var(10, 100) + var(5, 50)) / 4)
    half = 1.959964 * np.sqrt(shares + rates)
    assert half == pytest.approx(0.014520, abs=2e-6)  # the arithmetic, done once by hand
    assert d.loc["b", "mix_ci_low"] == pytest.approx(mix - half)
    assert d.loc["b", "mix_ci_high"] == pytest.approx(mix + half)
    # the whole contribution also carries every event's noise: a wider interval
    assert d.loc["b", "ci_high"] - d.loc["b", "ci_low"] > 2.5 * 2 * half
    # a mix segment is judged on its mix interval: significant here
    assert not d.loc["b", "noise"] and d.loc["b", "ci_low"] < 0.01


def test_small_and_absent_segments_are_not_drivers() -> None:
    # S-big 400 orders in both months; a one-order seller with its only order cancelled
    # in November; a seller with 40 orders in October that is absent in November
    b = pd.DataFrame({"key": ["big", "gone"], "x": [20, 8], "n": [400, 40]})
    c = pd.DataFrame({"key": ["big", "one"], "x": [20, 1], "n": [400, 1]})
    d = decompose(b, c).set_index("key")
    assert not d.loc["one", "supported"] and d.loc["one", "noise"]
    centre = (28 / 440 + 21 / 401) / 2  # the market's mean rate over the two months
    assert d.loc["one", "contribution"] == pytest.approx(1 / 401 - 1 / 401 * centre)
    assert d.loc["one", "ci_low"] < 0 < d.loc["one", "ci_high"]
    assert np.isnan(d.loc["one", "baseline_value"])  # n/a, not 100%
    assert np.isnan(d.loc["gone", "current_value"]) and d.loc["gone", "baseline_value"] == 0.2
    assert d.loc["gone", "supported"]  # 40 orders, 8 cancelled


def test_contacts_per_order_on_the_tiny_fixture(tiny: dict) -> None:
    # September cohort: O8, no contacts. October: C1 C2 C3 (O1), C4 C5 (O3), C7 (O4)
    # are the period's contacts about cohort orders: 6 contacts / 6 orders
    r = explain(tiny, "US", "cpo", ("2026-09-01", "2026-10-01"), ("2026-10-01", "2026-11-01"),
                top=0)
    assert (r["baseline"]["value"], r["current"]["value"]) == (0.0, 1.0)
    by_dim = r["all_segments"].groupby("dimension")["contribution"].sum()
    assert np.allclose(by_dim, 1.0)
    r = explain(tiny, "US", "cancel_cpo", ("2026-09-01", "2026-10-01"),
                ("2026-10-01", "2026-11-01"), top=0)
    assert r["current"]["value"] == pytest.approx(5 / 6)  # C7 is where-is-my-order
