"""Planted-cause battery: datasets in the shape of real exports, one known cause each.

Written apart from the demo generator (:mod:`shopcx.data.demo`), so that
``explain`` is tried on shapes we did not design it around: carriers null
until hand-over; histories that start at the baseline, two months before it,
or seven; uneven markets (2,000 to 50,000 orders a month); one seller with
close to half the orders and hundreds with one or two; a weekly rhythm and
day-to-day noise in every rate; rejected buyer requests.

Each case plants one cause in the current month (November 2026) against the
baseline (October 2026) and says what ``explain`` must report first; the two
controls plant nothing and nothing may be significant. ``run`` explains one
case and seed and returns whether it was a hit. ``bench/battery.py`` runs
twenty seeds per case and prints the hit rates; ``tests/test_battery.py``
runs a few seeds of every case in ``make test``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

BASE = ("2026-10-01", "2026-11-01")
CUR = ("2026-11-01", "2026-12-01")
MARKET = "PH"
VOLUMES = (2_000, 5_000, 12_000, 30_000, 50_000)
"""Orders a month, by seed (seed % 5): uneven markets."""
HISTORY = (0, 2, 7)
"""Months of data before the baseline, by seed (seed % 3); cases may fix it."""

CATEGORIES = ("Fashion", "Beauty", "Home", "Electronics", "Food", "Mother & Baby", "Sports",
              "Toys")
CATEGORY_W = (0.24, 0.16, 0.14, 0.12, 0.1, 0.1, 0.08, 0.06)
CHANNELS = ("livestream", "short_video", "shop_tab", "search", "other")
CHANNEL_W = (0.34, 0.26, 0.18, 0.17, 0.05)
PAYMENTS = ("card", "wallet", "cod", "bnpl", "bank_transfer", "other")
PAYMENT_W = (0.22, 0.38, 0.2, 0.08, 0.1, 0.02)
CARRIERS = ("J&T Express", "Flash Express", "Ninja Van", "LBC")
CARRIER_W = (0.38, 0.27, 0.22, 0.13)
WEEKDAY = (1.0, 0.93, 0.95, 1.0, 1.08, 1.32, 1.27)  # Monday first


@dataclass(frozen=True)
class Case:
    """A planted cause and what ``explain`` must report first."""

    name: str
    description: str
    expect: tuple[str, str] | None  # (dimension, key) of the first driver; None: nothing
    effect: str | tuple[str, ...] | None = None  # rate / mix (or any of several)
    metric: str = "cancellation_rate"
    history: int | None = None  # months of history; None: by seed
    large: bool = True
    forbid: str | None = None  # a dimension that must not be among the significant drivers


CASES: dict[str, Case] = {c.name: c for c in (
    Case("carrier_incident", "Flash Express loses parcels: in-transit cancellations of its "
         "orders go from about 2% to 10%", ("carrier", "Flash Express"), "rate"),
    Case("seller_out_of_stock", "the second-largest of 600 sellers (about 9% of the orders) "
         "runs out of stock: 35% of its orders cancelled by the seller before shipping",
         ("seller_id", "S0001"), "rate", forbid="carrier"),
    Case("payment_mix", "cash on delivery grows from 20% to 45% of orders, every rate "
         "unchanged", ("payment_method", "cod"), "mix"),
    Case("category_channel", "Beauty bought in livestreams: buyers cancel 25% before "
         "shipping instead of 4%", ("category × sales_channel", "Beauty × livestream"), "rate",
         large=False),
    Case("new_buyers", "an acquisition campaign: new buyers go from a quarter to 55% of the "
         "orders (their own rate, a mix of payment methods, may drift)",
         ("buyer_segment", "new"), ("mix", "both"), history=7),
    Case("awaiting_shipment", "seller-shipped orders miss the ship deadline: 1% → 10% "
         "cancelled by the system while awaiting shipment",
         ("fulfillment", "seller_shipped"), "rate", forbid="carrier"),
    Case("single_order_sellers", "control: 70% of orders from sellers with one order, no "
         "change", None),
    Case("no_change", "control: no change", None),
    Case("cpo_contact_burst", "buyers of the third-largest seller ask about cancellations: "
         "cancellation contacts on its orders go from 3% to 30%", ("seller_id", "S0002"),
         ("rate", "both"), metric="cancel_cpo"),
    Case("cpo_no_change", "control for contacts per order: no change", None, metric="cpo"),
)}


def _seller_weights(n: int, top: float) -> np.ndarray:
    tail = 1.0 / np.arange(1, n) ** 1.15
    return np.concatenate([[top], tail / tail.sum() * (1 - top)])


def _days(rng: np.random.Generator, start: str, end: str, count: int) -> pd.DatetimeIndex:
    days = pd.date_range(start, end, freq="D", inclusive="left")
    w = np.array([WEEKDAY[d.weekday()] for d in days])
    pick = rng.choice(len(days), size=count, p=w / w.sum())
    seconds = rng.integers(0, 86_400, size=count)
    return days[pick] + pd.to_timedelta(seconds, unit="s")


def _month_starts(history: int) -> list[pd.Timestamp]:
    first = pd.Timestamp(BASE[0]) - pd.DateOffset(months=history)
    return list(pd.date_range(first, CUR[1], freq="MS", inclusive="left"))


def generate(case: str, seed: int) -> dict[str, pd.DataFrame]:
    """The four contract tables for one case and seed (the cause in November 2026)."""
    spec = CASES[case]
    rng = np.random.default_rng([seed, sum(map(ord, case))])
    volume = VOLUMES[seed % len(VOLUMES)]
    history = spec.history if spec.history is not None else HISTORY[seed % len(HISTORY)]
    starts = _month_starts(history)
    frames = []
    buyers_seen = 0
    pool = max(volume // 2, 200)  # returning buyers are drawn from the ones seen so far
    day_noise = {}
    for month in starts:
        cur = month == pd.Timestamp(CUR[0])
        n = int(volume * rng.uniform(0.9, 1.1))
        created = _days(rng, f"{month:%Y-%m-%d}", f"{month + pd.DateOffset(months=1):%Y-%m-%d}",
                        n)
        # buyers: new ones or returning ones (about a quarter new once history exists)
        new_share = 0.25
        if case == "new_buyers" and cur:
            new_share = 0.55
        # returning buyers come back to the platform whether or not the export reaches
        # back to their earlier orders: before the data starts they are "P" buyers
        new = rng.random(n) < new_share
        ids = np.empty(n, dtype=object)
        k = int(new.sum())
        ids[new] = [f"B{buyers_seen + i:07d}" for i in range(k)]
        back = rng.integers(buyers_seen - pool * 4, max(buyers_seen, 1), size=n - k)
        ids[~new] = [f"B{b:07d}" if b >= 0 else f"P{-b:07d}" for b in back]
        buyers_seen += k
        if case == "single_order_sellers":
            singles = rng.random(n) < 0.7
            sellers = np.empty(n, dtype=object)
            m = int(singles.sum())
            sellers[singles] = [f"X{month:%y%m}{i:06d}" for i in range(m)]
            w = _seller_weights(300, 0.3)
            sellers[~singles] = [f"S{i:04d}" for i in rng.choice(300, n - m, p=w)]
        else:
            w = _seller_weights(600, 0.45)
            sellers = np.array([f"S{i:04d}" for i in rng.choice(600, n, p=w)], dtype=object)
        pay_w = np.array(PAYMENT_W)
        if case == "payment_mix" and cur:
            pay_w = pay_w * (0.55 / (1 - pay_w[2]))
            pay_w[2] = 0.45
        frames.append(pd.DataFrame({
            "created_at": created, "buyer_id": ids, "seller_id": sellers, "_new": new,
            "category": rng.choice(CATEGORIES, n, p=CATEGORY_W),
            "sales_channel": rng.choice(CHANNELS, n, p=CHANNEL_W),
            "payment_method": rng.choice(PAYMENTS, n, p=pay_w / pay_w.sum()),
            "fulfillment": np.where(rng.random(n) < 0.7, "seller_shipped", "platform_fulfilled"),
            "_carrier": rng.choice(CARRIERS, n, p=CARRIER_W), "_cur": cur}))
    o = pd.concat(frames, ignore_index=True).sort_values("created_at", kind="stable")
    o = o.reset_index(drop=True)
    n = len(o)
    o["order_id"] = [f"PH{i:08d}" for i in range(n)]
    o["market"] = MARKET
    o["gmv_usd"] = np.round(rng.lognormal(2.8, 0.8, n), 2)
    day = o["created_at"].dt.normalize()
    for d in day.unique():
        day_noise[d] = float(np.exp(rng.normal(0, 0.08)))
    noise = day.map(day_noise).to_numpy()
    return _lifecycle(o, rng, case, noise)


def _lifecycle(o: pd.DataFrame, rng: np.random.Generator, case: str,
               noise: np.ndarray) -> dict[str, pd.DataFrame]:
    n = len(o)
    cur = o["_cur"].to_numpy()
    new = o["_new"].to_numpy()
    u = rng.random((6, n))
    h = pd.to_timedelta
    # stage 1: unpaid (cash on delivery confirmation, abandoned payment)
    p_unpaid = np.where(o["payment_method"] == "cod", 0.15, 0.025) * noise
    p_unpaid *= np.where(new, 2.5, 1.0)
    unpaid = u[0] < p_unpaid
    paid_at = o["created_at"] + h(rng.integers(60, 3 * 3600, n), unit="s")
    # stage 2: awaiting shipment -- seller out of stock, buyer changes mind, missed deadline
    seller_f = {s: float(np.exp(rng.normal(0, 0.4))) for s in o["seller_id"].unique()}
    p_oos = 0.012 * o["seller_id"].map(seller_f).to_numpy() * noise
    if case == "seller_out_of_stock":
        p_oos = np.where(cur & (o["seller_id"] == "S0001"), 0.35, p_oos)
    p_mind = np.full(n, 0.04) * noise * np.where(new, 2.5, 1.0)
    if case == "category_channel":
        hit = cur & (o["category"] == "Beauty") & (o["sales_channel"] == "livestream")
        p_mind = np.where(hit, 0.25, p_mind)
    p_deadline = np.where(o["fulfillment"] == "seller_shipped", 0.01, 0.002) * noise
    if case == "awaiting_shipment":
        p_deadline = np.where(cur & (o["fulfillment"] == "seller_shipped"), 0.10, p_deadline)
    oos = ~unpaid & (u[1] < p_oos)
    mind = ~unpaid & ~oos & (u[2] < p_mind)
    deadline = ~unpaid & ~oos & ~mind & (u[3] < p_deadline)
    pre = unpaid | oos | mind | deadline
    shipped_at = paid_at + h(rng.integers(12 * 3600, 4 * 86_400, n), unit="s")
    # stage 3: in transit (carrier recorded at hand-over only)
    carrier = o["_carrier"].to_numpy()
    p_transit = np.where(carrier == "LBC", 0.03, 0.02) * noise
    if case == "carrier_incident":
        p_transit = np.where(cur & (carrier == "Flash Express"), 0.10, p_transit)
    transit = ~pre & (u[4] < p_transit)
    delivered_at = shipped_at + h(rng.integers(2 * 86_400, 8 * 86_400, n), unit="s")
    orders = pd.DataFrame({
        "order_id": o["order_id"], "market": o["market"], "buyer_id": o["buyer_id"],
        "seller_id": o["seller_id"], "category": o["category"],
        "sales_channel": o["sales_channel"], "fulfillment": o["fulfillment"],
        "payment_method": o["payment_method"],
        "carrier": np.where(pre, None, carrier).astype(object),
        "gmv_usd": o["gmv_usd"], "created_at": o["created_at"],
        "paid_at": paid_at.where(~unpaid), "shipped_at": shipped_at.where(~pre),
        "delivered_at": delivered_at.where(~pre & ~transit)})
    # cancellation rows: the cancelling one, and rejected buyer requests before it
    when = np.select(
        [unpaid, oos | mind | deadline, transit],
        [o["created_at"] + h(rng.integers(3600, 48 * 3600, n), unit="s"),
         paid_at + h(rng.integers(600, 36 * 3600, n), unit="s"),
         shipped_at + h(rng.integers(86_400, 6 * 86_400, n), unit="s")],
        pd.NaT)
    when = pd.to_datetime(when)
    transit_buyer = transit & (u[5] < 0.5)
    initiator = np.select([unpaid, oos, mind, deadline, transit_buyer, transit],
                          ["system", "seller", "buyer", "system", "buyer", "system"], "")
    reason = np.select([unpaid, oos, mind, deadline, transit_buyer, transit],
                       ["unpaid_timeout", "out_of_stock", "changed_mind", "ship_deadline_missed",
                        "delivery_too_slow", "logistics_failure"], "")
    cancelled = initiator != ""
    c = pd.DataFrame({"order_id": orders["order_id"][cancelled].to_numpy(),
                      "initiator": initiator[cancelled], "reason": reason[cancelled],
                      "requested_at": when[cancelled], "outcome": "approved"})
    c["resolved_at"] = c["requested_at"] + h(rng.integers(60, 30 * 3600, len(c)), unit="s")
    c["auto_resolved"] = c["initiator"] != "buyer"
    # rejected buyer requests on orders that went on to be delivered
    rej = ~pre & ~transit & (rng.random(n) < 0.015)
    r = pd.DataFrame({"order_id": orders["order_id"][rej].to_numpy(), "initiator": "buyer",
                      "reason": "changed_mind",
                      "requested_at": (shipped_at + h(3600, unit="s"))[rej].to_numpy(),
                      "outcome": "rejected"})
    r["resolved_at"] = r["requested_at"] + h(5, unit="h")
    r["auto_resolved"] = False
    cancels = pd.concat([c, r], ignore_index=True)
    cancels.insert(0, "request_id", [f"R{i:08d}" for i in range(len(cancels))])
    contacts = _contacts(orders, o, cancelled, rng, case, cur)
    feedback = pd.DataFrame({c: pd.Series(dtype=t) for c, t in (
        ("feedback_id", object), ("market", object), ("order_id", object),
        ("buyer_id", object), ("created_at", "datetime64[ns]"), ("source", object),
        ("rating", "Int64"), ("text", object), ("language", object))})
    return {"orders": orders, "cancellations": cancels, "contacts": contacts,
            "feedback": feedback}


def _contacts(orders: pd.DataFrame, o: pd.DataFrame, cancelled: np.ndarray,
              rng: np.random.Generator, case: str, cur: np.ndarray) -> pd.DataFrame:
    """Contacts about orders: where-is-my-order on shipped orders, cancellation contacts
    on cancelled ones and a few on the rest (a burst on one seller in one case)."""
    n = len(orders)
    shipped = orders["shipped_at"].notna().to_numpy()
    p_wismo = np.where(shipped, 0.06, 0.0)
    p_cancel = np.where(cancelled, 0.3, 0.03)
    if case == "cpo_contact_burst":
        p_cancel = np.where(cur & (o["seller_id"] == "S0002").to_numpy(), 0.3, p_cancel)
    rows = []
    for reason, p in (("where_is_my_order", p_wismo), ("cancel_status", p_cancel),
                      ("product_question", np.full(n, 0.02))):
        pick = rng.random(n) < p
        k = int(pick.sum())
        at = orders["created_at"][pick] + pd.to_timedelta(rng.integers(3600, 5 * 86_400, k),
                                                          unit="s")
        rows.append(pd.DataFrame({"market": MARKET,
                                  "buyer_id": orders["buyer_id"][pick].to_numpy(),
                                  "order_id": orders["order_id"][pick].to_numpy(),
                                  "created_at": at.to_numpy(), "reason": reason}))
    c = pd.concat(rows, ignore_index=True)
    c.insert(0, "contact_id", [f"C{i:08d}" for i in range(len(c))])
    c["channel"] = rng.choice(("bot", "chat", "email", "phone"), len(c), p=(0.5, 0.35, 0.1, 0.05))
    c["handle_time_s"] = np.where(c["channel"] == "bot", np.nan,
                                  rng.gamma(2.0, 150.0, len(c)))
    c["escalated"] = rng.random(len(c)) < 0.03
    c["csat"] = pd.array(np.where(rng.random(len(c)) < 0.3, rng.integers(1, 6, len(c)), 0),
                         dtype="Int64")
    c.loc[c["csat"] == 0, "csat"] = pd.NA
    return c[["contact_id", "market", "buyer_id", "order_id", "created_at", "channel",
              "reason", "handle_time_s", "escalated", "csat"]]


def judge(case: str, result: dict[str, Any]) -> tuple[bool, str]:
    """Was the planted cause reported first with the right effect (or nothing, for a
    control)? Returns the verdict and what was found first."""
    spec = CASES[case]
    d = result["drivers_table"]
    sig = d[~d["noise"].astype(bool)]
    found = "nothing significant" if sig.empty else (
        f"{sig.iloc[0]['dimension']}={sig.iloc[0]['key']} ({sig.iloc[0]['effect']})")
    if spec.forbid and sig["dimension"].str.contains(spec.forbid, regex=False).any():
        return False, found + f"; {spec.forbid} among the drivers"
    if spec.expect is None:
        return sig.empty, found
    if sig.empty:
        return False, found
    top = sig.iloc[0]
    dims, key = spec.expect
    same = (top["dimension"], top["key"]) == (dims, key)
    if not same and " × " in dims:  # a combination may come in either order
        a, b = dims.split(" × "), key.split(" × ")
        same = (top["dimension"], top["key"]) == (" × ".join(a[::-1]), " × ".join(b[::-1]))
    effects = (spec.effect,) if isinstance(spec.effect, str) else spec.effect
    return bool(same and (effects is None or top["effect"] in effects)), found


def run(case: str, seed: int) -> tuple[bool, str, dict[str, Any]]:
    """Generate, explain and judge one case and seed."""
    from shopcx.rootcause.drivers import explain

    tables = generate(case, seed)
    result = explain(tables, MARKET, CASES[case].metric, BASE, CUR, top=0)
    ok, found = judge(case, result)
    return ok, found, result
