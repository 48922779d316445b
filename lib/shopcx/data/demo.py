"""Synthetic demo data in the data contract, with planted stories (docs/demo_data.md).

The generator is vectorised with numpy and writes one Parquet file per table
and market (``orders/US.parquet`` ...), one row group per month, sorted by
time, so engines can prune by market and date. Memory stays flat: one market
and month is generated, written and dropped at a time.

Everything is fixed in calendar time (the six months 2026-06-01 to
2026-12-01 by default) and deterministic for a seed, so results never depend
on the day the data is generated. Events after 2026-12-01 are cut off as if
the data were extracted then (late payments, shipments and deliveries are
null, requests not yet decided are ``pending``).
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import shutil
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from shopcx.data.demo_text import TOPICS

__all__ = [
    "DEMO_END",
    "DEMO_MARKETS",
    "STORIES",
    "MarketProfile",
    "generate_demo_data",
]

DEMO_END = pd.Timestamp("2026-12-01")
HOUR = 3600.0
DAY = 86400.0


@dataclass(frozen=True)
class MarketProfile:
    """How one demo market behaves."""

    code: str
    share: float                      # share of all orders
    utc_offset: int                   # hours, for the evening shopping peak
    language: str                     # local feedback language
    local_share: float                # share of feedback written in it
    payments: dict[str, float]
    carriers: dict[str, float]
    platform_fulfilled: float
    price_level: float                # multiplier on category prices (USD)
    transit_days: float               # mean carrier transit time
    seller_response_h: float          # mean hours for sellers to answer a cancel request
    sales: dict[str, float] = field(default_factory=dict)  # date -> volume multiplier


_SEA_SALES = {"2026-09-09": 1.8, "2026-10-10": 2.0, "2026-11-10": 1.6, "2026-11-11": 4.0,
              "2026-11-12": 1.6, "2026-12-12": 2.5}
_WEST_SALES = {"2026-11-11": 2.0, "2026-11-27": 3.0, "2026-11-28": 1.8, "2026-11-29": 1.6,
               "2026-11-30": 2.0}

DEMO_MARKETS: dict[str, MarketProfile] = {m.code: m for m in (
    MarketProfile("US", 0.20, -5, "en", 1.0,
                  {"card": .68, "wallet": .16, "bnpl": .11, "other": .05},
                  {"USPS": .40, "UPS": .35, "FedEx": .25}, .40, 1.35, 3.6, 16, _WEST_SALES),
    MarketProfile("GB", 0.10, 0, "en", 1.0,
                  {"card": .64, "wallet": .24, "bnpl": .10, "other": .02},
                  {"Royal Mail": .50, "Evri": .30, "DPD": .20}, .30, 1.25, 2.8, 15, _WEST_SALES),
    MarketProfile("ID", 0.20, 7, "id", 0.85,
                  {"cod": .30, "wallet": .35, "bank_transfer": .20, "card": .05, "bnpl": .10},
                  {"J&T Express": .45, "SiCepat": .30, "JNE": .25}, .15, 0.55, 3.2, 18,
                  _SEA_SALES),
    MarketProfile("MY", 0.08, 8, "ms", 0.55,
                  {"wallet": .40, "card": .25, "cod": .15, "bank_transfer": .15, "bnpl": .05},
                  {"NinjaVan": .45, "J&T Express": .35, "Pos Laju": .20}, .20, 0.80, 2.8, 16,
                  _SEA_SALES),
    MarketProfile("TH", 0.12, 7, "th", 0.85,
                  {"cod": .30, "wallet": .35, "card": .15, "bank_transfer": .15, "bnpl": .05},
                  {"Flash Express": .45, "Kerry Express": .35, "Thailand Post": .20}, .20, 0.70,
                  2.6, 60, _SEA_SALES),
    MarketProfile("VN", 0.14, 7, "vi", 0.85,
                  {"cod": .45, "wallet": .30, "bank_transfer": .15, "card": .05, "bnpl": .05},
                  {"GHN": .45, "GHTK": .35, "Viettel Post": .20}, .15, 0.50, 2.5, 18,
                  _SEA_SALES),
    MarketProfile("PH", 0.11, 8, "en", 1.0,
                  {"cod": .50, "wallet": .35, "card": .10, "bank_transfer": .05},
                  {"J&T Express": .50, "Flash Express": .30, "LBC": .20}, .15, 0.55, 3.4, 18,
                  _SEA_SALES),
    MarketProfile("SG", 0.05, 8, "en", 1.0,
                  {"card": .55, "wallet": .35, "bnpl": .10},
                  {"NinjaVan": .50, "SingPost": .30, "J&T Express": .20}, .35, 1.10, 1.8, 14,
                  _SEA_SALES),
)}

CATEGORIES = {  # category: (share of sellers, mean order value in USD at price level 1)
    "Beauty & Personal Care": (.22, 16.0), "Womenswear & Underwear": (.17, 20.0),
    "Phones & Electronics": (.10, 55.0), "Home Supplies": (.11, 18.0),
    "Food & Beverages": (.08, 10.0), "Health": (.06, 22.0),
    "Menswear & Underwear": (.07, 19.0), "Sports & Outdoor": (.06, 28.0),
    "Toys & Hobbies": (.05, 17.0), "Kitchenware": (.08, 15.0),
}
CHANNELS = {"livestream": .36, "short_video": .30, "shop_tab": .14, "search": .15, "other": .05}
HOURLY = np.array([1, .6, .4, .3, .3, .4, .7, 1.1, 1.4, 1.5, 1.6, 1.7,
                   1.9, 1.7, 1.5, 1.5, 1.6, 1.8, 2.2, 2.8, 3.2, 3.3, 2.6, 1.7])
DOW = np.array([.92, .93, .95, .97, 1.05, 1.13, 1.10])  # Monday first

# The planted stories (docs/demo_data.md explains each one).
INCIDENT = {"market": "MY", "carrier": "NinjaVan", "start": "2026-11-09", "end": "2026-11-23",
            "extra_transit_days": [4, 12], "lost_share": 0.15}
POLICY = {"market": "TH", "date": "2026-11-04", "timer_hours_before": 72,
          "timer_hours_after": 24}
MEGA_SALE = {"date": "2026-11-11", "oos_days": ["2026-11-10", "2026-11-13"],
             "extra_out_of_stock": 0.05}
NEW_COMPLAINT = {"market": "PH", "start": "2026-11-01", "topic": "packaging_fee",
                 "share_of_delivered": 0.03}
EXPERIMENT = {"id": "one_tap_cancel", "market": "ID", "start": "2026-11-01",
              "variants": ["control", "one_tap"], "unit_type": "buyer",
              "removed_share_of_asking_contacts": 0.8, "removed_share_of_status_contacts": 0.5}
"""An A/B test: from 1 November every ID buyer is assigned 50/50 (by a hash of the
buyer) when they first open the app to order; in ``one_tap`` cancelling is one tap
and the request's status shows in the app, so 80% of the contacts asking how to
cancel (reason ``cancel_request`` raised before or with the request) and 50% of
those chasing a request's status (``cancel_status``) are never made. Nothing
else changes: requests, their outcomes and cancellations are drawn as before."""
REJECTING = {"market": "VN", "start": "2026-11-10", "sellers": 5, "approve_share": 0.1,
             "contact_share": 0.85, "escalation_share": 0.45}
"""From 10 November VN's five largest sellers refuse buyers' cancel requests: they approve
10% of the requests they answer (others: 74%) while the order awaits shipment, and reject
in-transit requests the platform does not decide; 85% of those refused buyers come back
(several contacts), and 45% of those contacts are escalated."""
REFUSERS = {REJECTING["market"]: list(range(REJECTING["sellers"]))}
"""Seller numbers of the rejecting-sellers story per market (the largest sellers)."""
STORIES = {"carrier_incident": INCIDENT, "auto_approve_policy": POLICY, "mega_sale": MEGA_SALE,
           "new_complaint": NEW_COMPLAINT, "experiment": EXPERIMENT,
           "rejecting_sellers": REJECTING}
TABLE_NAMES = ("orders", "cancellations", "contacts", "feedback", "assignments")


def _epoch(date: str | pd.Timestamp) -> float:
    return pd.Timestamp(date).timestamp()


def _pick(rng: np.random.Generator, weights: dict[str, float], n: int) -> np.ndarray:
    keys = np.array(list(weights), dtype=object)
    p = np.array(list(weights.values()), dtype=float)
    return keys[rng.choice(len(keys), size=n, p=p / p.sum())]


def chronic_sellers(code: str, pool: int) -> list[str]:
    """The demo's chronic seller-fault sellers of a market (three per market)."""
    return [f"S{code}{i:06d}" for i in (pool // 12, pool // 7, pool // 4)]


def rejecting_sellers(code: str) -> list[str]:
    """The sellers of the rejecting-sellers story: the market's largest (none elsewhere)."""
    if code != REJECTING["market"]:
        return []
    return [f"S{code}{i:06d}" for i in range(REJECTING["sellers"])]


@dataclass
class _Pools:
    buyers: int
    sellers: int
    seller_category: np.ndarray
    buyer_payment: np.ndarray
    chronic: np.ndarray


def _pools(profile: MarketProfile, n_orders: int, rng: np.random.Generator) -> _Pools:
    sellers = max(60, n_orders // 150)
    buyers = max(1000, n_orders // 3)
    cats = {k: v[0] for k, v in CATEGORIES.items()}
    chronic = np.array([sellers // 12, sellers // 7, sellers // 4])
    return _Pools(buyers, sellers, _pick(rng, cats, sellers),
                  _pick(rng, profile.payments, buyers), chronic)


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    digits = pc.utf8_lpad(pc.cast(pa.array(numbers, pa.int64()), pa.string()), width, "0")
    return pc.binary_join_element_wise(prefix, digits, "")


def _ts(seconds: np.ndarray) -> pa.Array:
    micros = np.where(np.isnan(seconds), 0, np.round(seconds * 1e6)).astype("int64")
    return pa.array(micros, pa.timestamp("us", tz="UTC"), mask=np.isnan(seconds))


class _Events:
    """Cancellation rows collected stage by stage."""

    def __init__(self) -> None:
        self.parts: list[dict[str, np.ndarray]] = []

    def add(self, idx: np.ndarray, initiator: Any, reason: Any, requested: np.ndarray,
            outcome: Any, resolved: np.ndarray, auto: Any) -> None:
        n = len(idx)
        if not n:
            return
        self.parts.append({
            "idx": idx,
            "initiator": np.broadcast_to(np.asarray(initiator, dtype=object), n),
            "reason": np.broadcast_to(np.asarray(reason, dtype=object), n),
            "requested": requested.astype(float),
            "outcome": np.broadcast_to(np.asarray(outcome, dtype=object), n),
            "resolved": np.broadcast_to(np.asarray(resolved, dtype=float), n),
            "auto": np.broadcast_to(np.asarray(auto, dtype=bool), n),
        })

    def frame(self) -> dict[str, np.ndarray]:
        keys = ("idx", "initiator", "reason", "requested", "outcome", "resolved", "auto")
        if not self.parts:
            return {k: np.array([]) for k in keys}
        return {k: np.concatenate([p[k] for p in self.parts]) for k in keys}


class _Contacts:
    def __init__(self) -> None:
        self.parts: list[dict[str, np.ndarray]] = []

    def add(self, idx: np.ndarray, created: np.ndarray, reason: Any, mood: Any) -> None:
        n = len(idx)
        if n:
            self.parts.append({
                "idx": idx, "created": created.astype(float),
                "reason": np.broadcast_to(np.asarray(reason, dtype=object), n),
                "mood": np.broadcast_to(np.asarray(mood, dtype=int), n)})

    def frame(self) -> dict[str, np.ndarray]:
        keys = ("idx", "created", "reason", "mood")
        if not self.parts:
            return {k: np.array([]) for k in keys}
        return {k: np.concatenate([p[k] for p in self.parts]) for k in keys}


def _refused_contacts(story: np.random.Generator, contacts: _Contacts, idx: np.ndarray,
                      refused_at: np.ndarray) -> None:
    """Buyers refused by a rejecting seller come back, angry (mood 3: escalations)."""
    j = story.random(len(idx)) < REJECTING["contact_share"]
    ri, rt = _repeat(story, idx[j], refused_at[j] + story.uniform(0.5, 6, int(j.sum())) * HOUR,
                     0.55, 20)
    contacts.add(ri, rt, np.where(story.random(len(ri)) < .5, "cancel_status",
                                  "cancel_request"), 3)


def _repeat(rng: np.random.Generator, idx: np.ndarray, start: np.ndarray, p_more: float,
            gap_h: float) -> tuple[np.ndarray, np.ndarray]:
    """Each event repeated 1 + Geometric times, spaced by exponential gaps."""
    k = rng.geometric(1 - p_more, size=len(idx))
    rep_idx = np.repeat(idx, k)
    base = np.repeat(start, k)
    gaps = rng.exponential(gap_h * HOUR, size=len(rep_idx))
    cum = np.cumsum(gaps)
    first = np.cumsum(k) - k  # position of each group's first event
    offsets = cum - np.repeat(cum[first] - gaps[first], k)  # running sum within the group
    return rep_idx, base + offsets


def _before_sorted(end: float, time: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
    """Rows whose ``time`` is before the data cut-off, in time order (time first)."""
    keep = np.flatnonzero(time < end)
    keep = keep[np.argsort(time[keep], kind="stable")]
    return [a[keep] for a in (time, *others)]


RATINGS = {  # topic -> probabilities of ratings 1..5
    "positive_delivery": (0, 0, .05, .30, .65), "late_delivery": (.30, .30, .25, .10, .05),
    "lost_parcel": (.70, .20, .07, .02, .01), "seller_oos": (.45, .30, .15, .07, .03),
    "packaging_fee": (.45, .30, .15, .07, .03),
    "cancel_rejected": (.60, .25, .10, .03, .02), "cancel_slow": (.40, .30, .20, .07, .03),
    "cancel_easy": (0, .02, .10, .35, .53), "refund_slow": (.50, .30, .12, .05, .03),
    "payment_failed": (.40, .30, .20, .07, .03), "cannot_find_cancel": (.40, .30, .20, .07, .03),
    "product_quality": (.40, .35, .15, .07, .03), "agent_unhelpful": (.55, .30, .10, .03, .02),
    "agent_helpful": (0, .02, .08, .30, .60),
}
CSAT_BY_MOOD = {0: (.02, .03, .08, .30, .57), 1: (.05, .06, .15, .36, .38),
                2: (.40, .28, .17, .10, .05), 3: (.62, .22, .10, .04, .02)}
_PII = ("Email me at {f}.{l}{n}@gmail.com", "call me on +62 812 3456 {n4}",
        "my number is 0917-555-{n4}", "(reach me: +44 7700 900{n3})", "contact {f}{n}@yahoo.co.id",
        "WhatsApp +66 81 234 {n4}", "phone (415) 555-{n4}")
_NAMES = ("anna", "budi", "chloe", "dewi", "minh", "somchai", "aisyah", "james", "maria", "tuan")


def _ratings(rng: np.random.Generator, topics: np.ndarray) -> np.ndarray:
    out = np.zeros(len(topics), dtype=np.int64)
    for topic, probs in RATINGS.items():
        m = topics == topic
        if m.any():
            out[m] = rng.choice(5, size=int(m.sum()), p=probs) + 1
    return out


def _texts(rng: np.random.Generator, topics: np.ndarray, langs: np.ndarray,
           carriers: np.ndarray, days: np.ndarray) -> list[str]:
    variant = rng.integers(0, 1 << 30, size=len(topics))
    pii = rng.random(len(topics)) < 0.025
    pii_pick = rng.integers(0, len(_PII), size=len(topics))
    markup = rng.random(len(topics)) < 0.004
    nums = rng.integers(10, 9999, size=len(topics))
    out = []
    for i, (topic, lang) in enumerate(zip(topics, langs, strict=True)):
        options = TOPICS[topic][lang]
        text = options[variant[i] % len(options)].format(carrier=carriers[i], days=days[i])
        if pii[i]:
            text += " " + _PII[pii_pick[i]].format(
                f=_NAMES[nums[i] % 10], l=_NAMES[(nums[i] // 10) % 10], n=nums[i] % 97,
                n4=f"{nums[i]:04d}", n3=f"{nums[i] % 1000:03d}")
        if markup[i]:
            text = f"<b>{text}</b>" if nums[i] % 2 else f'{text} <a href="#" onclick="x()">!</a>'
        out.append(text)
    return out


def _variant(buyer: np.ndarray) -> np.ndarray:
    """The experiment's arm of each buyer number: a fixed hash, half and half."""
    mixed = (buyer.astype(np.uint64) * np.uint64(2654435761)) % np.uint64(1 << 32)
    return np.where((mixed >> np.uint64(16)) & np.uint64(1), "one_tap", "control")


def _experiment(code: str, created: np.ndarray, buyer: np.ndarray, ct: dict[str, np.ndarray],
                order_offset: int) -> tuple[pa.Table | None, np.ndarray, dict[str, int]]:
    """Assign the market's buyers to the planted A/B test and apply its effect.

    Returns the assignments of buyers whose first order of the month is on or
    after the start, which contacts survive, and the counts that make the true
    effect: contacts removed, orders of treated buyers after assignment.
    """
    keep = np.ones(len(ct["idx"]), dtype=bool)
    start = _epoch(EXPERIMENT["start"])
    live = created >= start
    if code != EXPERIMENT["market"] or not live.any():
        return None, keep, {}
    first = pd.Series(created[live]).groupby(buyer[live]).min()
    ids = first.index.to_numpy()
    rng = np.random.default_rng([order_offset, 15])
    assigned = np.maximum(first.to_numpy() - rng.uniform(60, 1800, len(ids)), start)
    variant = _variant(ids)
    at = pd.Series(assigned, index=ids)
    treated = pd.Series(variant == "one_tap", index=ids)
    c_buyer = buyer[ct["idx"].astype(np.int64)]
    c_at = at.reindex(c_buyer).to_numpy()
    c_treated = treated.reindex(c_buyer).fillna(False).to_numpy(dtype=bool)
    asking = (ct["reason"] == "cancel_request") & (ct["mood"] == 1)
    chasing = ct["reason"] == "cancel_status"
    share = np.where(asking, EXPERIMENT["removed_share_of_asking_contacts"],
                     np.where(chasing, EXPERIMENT["removed_share_of_status_contacts"], 0.0))
    removed = (c_treated & (ct["created"] >= np.nan_to_num(c_at, nan=np.inf))
               & (rng.random(len(keep)) < share))
    keep &= ~removed
    o_at = at.reindex(buyer).to_numpy()
    o_treated = treated.reindex(buyer).fillna(False).to_numpy(dtype=bool)
    after = created >= np.nan_to_num(o_at, nan=np.inf)
    table = pa.table({
        "experiment": pa.array(np.full(len(ids), EXPERIMENT["id"])),
        "variant": pa.array(variant.astype(str)),
        "unit_type": pa.array(np.full(len(ids), "buyer")),
        "unit_id": _ids(f"B{code}", ids, 8),
        "assigned_at": _ts(assigned),
    })
    stats = {"removed_contacts": int(removed.sum()),
             "treated_orders": int((after & o_treated).sum()),
             "control_orders": int((after & ~o_treated).sum())}
    return table, keep, stats


def _market_month(profile: MarketProfile, pools: _Pools, day_starts: np.ndarray,
                  day_counts: np.ndarray, order_offset: int, contact_offset: int,
                  feedback_offset: int, rng: np.random.Generator
                  ) -> tuple[dict[str, pa.Table], dict[str, int]]:
    """Generate one market and month: its tables as Arrow tables, and the
    planted experiment's counts (empty outside it)."""
    code = profile.code
    end = _epoch(DEMO_END)
    n = int(day_counts.sum())
    day = np.repeat(day_starts, day_counts)
    local_hour = rng.choice(24, size=n, p=HOURLY / HOURLY.sum())
    created = day + ((local_hour - profile.utc_offset) % 24) * HOUR + rng.random(n) * HOUR
    created.sort()

    buyer = np.floor(pools.buyers * rng.beta(0.7, 1.6, size=n)).astype(np.int64)
    prone = (buyer % 23) == 5
    seller = np.floor(pools.sellers * rng.beta(0.6, 2.2, size=n)).astype(np.int64)
    chronic = np.isin(seller, pools.chronic)
    category = pools.seller_category[seller]
    channel = _pick(rng, CHANNELS, n)
    platform = rng.random(n) < profile.platform_fulfilled
    payment = np.where(rng.random(n) < 0.7, pools.buyer_payment[buyer],
                       _pick(rng, profile.payments, n))
    created_day = np.floor(created / DAY) * DAY
    oos_surge = (created_day >= _epoch(MEGA_SALE["oos_days"][0])) & (
        created_day < _epoch(MEGA_SALE["oos_days"][1]))
    price = pd.Series(category).map({k: v[1] for k, v in CATEGORIES.items()}).to_numpy(
        dtype=float) * profile.price_level
    gmv = np.round(rng.lognormal(np.log(price) - 0.18, 0.6) * np.where(oos_surge, 0.85, 1), 2)
    live = channel == "livestream"
    events = _Events()
    contacts = _Contacts()

    # ---- stage A: unpaid -------------------------------------------------------------
    cod = payment == "cod"
    bank = payment == "bank_transfer"
    pay_delay = np.where(cod, rng.exponential(6 * HOUR, n),
                         np.where(bank, rng.exponential(3 * HOUR, n),
                                  rng.uniform(60, 900, n)))
    timeout = np.where(bank, 48 * HOUR, 24 * HOUR)
    pay_delay = np.minimum(pay_delay, timeout * 0.95)
    p_timeout = pd.Series(payment).map({"card": .010, "wallet": .012, "cod": .030, "bnpl": .030,
                                        "bank_transfer": .060, "other": .020}).to_numpy()
    p_unpaid_buyer = np.where(cod, .060, np.where(bank, .030, .008)) * np.where(live, 1.4, 1) \
        * np.where(prone, 3, 1)
    u = rng.random(n)
    a_buyer = u < p_unpaid_buyer
    a_sys = ~a_buyer & (u < p_unpaid_buyer + p_timeout)
    i = np.flatnonzero(a_buyer)
    t = created[i] + rng.random(len(i)) * pay_delay[i] * 0.9
    events.add(i, "buyer", _pick(rng, {"changed_mind": .35, "ordered_by_mistake": .20,
                                       "better_price": .15, "payment_issue": .12,
                                       "duplicate_order": .08, "address_change": .06,
                                       "other": .04}, len(i)),
               t, "approved", t + rng.uniform(5, 120, len(i)), True)
    i = np.flatnonzero(a_sys)
    t = created[i] + timeout[i]
    reason = np.where(cod[i] & (rng.random(len(i)) < 0.3), "risk_control", "unpaid_timeout")
    events.add(i, "system", reason, t, "approved", t + 1.0, True)
    i = np.flatnonzero(a_sys & ~cod & (rng.random(n) < 0.2))
    contacts.add(i, created[i] + rng.random(len(i)) * timeout[i], "payment_issue", 2)
    paid = np.where(a_buyer | a_sys, np.nan, created + pay_delay)

    # ---- stage B: awaiting shipment -------------------------------------------------
    alive = ~np.isnan(paid)
    scale = np.where(platform, 5, 8) * np.where(chronic, 2.2, 1) * HOUR
    ship_delay = rng.gamma(3.0, scale)
    ship_delay += np.where(oos_surge, rng.uniform(12, 48, n) * HOUR, 0)
    ship_at = paid + ship_delay
    p_seller = (.006 + .16 * chronic + MEGA_SALE["extra_out_of_stock"] * oos_surge
                * np.where(category == "Phones & Electronics", 1.6, 1))
    p_request = .045 * np.where(live, 1.4, 1) * np.where(prone, 3, 1) * np.where(
        ship_delay > 48 * HOUR, 1.8, 1)
    u = rng.random(n)
    b_seller = alive & (u < p_seller)
    b_deadline = alive & ~b_seller & (ship_delay > 72 * HOUR) & (rng.random(n) < 0.7)
    b_request = alive & ~b_seller & ~b_deadline & (rng.random(n) < p_request)
    cancelled_b = b_seller | b_deadline

    i = np.flatnonzero(b_seller)
    t = paid[i] + np.minimum(ship_delay[i] * rng.random(len(i)), 48 * HOUR)
    reason = np.where(oos_surge[i] | (rng.random(len(i)) < .55), "out_of_stock",
                      _pick(rng, {"cannot_ship": .45, "pricing_error": .25,
                                  "suspected_fraud": .15, "other": .15}, len(i)))
    reason = np.where(chronic[i] & (reason != "out_of_stock") & (rng.random(len(i)) < .7),
                      "cannot_ship", reason)
    events.add(i, "seller", reason, t, "approved", t + rng.uniform(0, 60, len(i)), False)
    i = np.flatnonzero(b_deadline)
    t = paid[i] + 72 * HOUR
    events.add(i, "system", "ship_deadline_missed", t, "approved", t + 1.0, True)

    i = np.flatnonzero(b_request)
    m = len(i)
    t_req = paid[i] + rng.random(m) * ship_delay[i] * 0.8
    slow_ship = ship_delay[i] > 48 * HOUR
    reason = np.where(slow_ship & (rng.random(m) < .5), "delivery_too_slow",
                      _pick(rng, {"changed_mind": .34, "better_price": .20,
                                  "ordered_by_mistake": .14, "address_change": .12,
                                  "duplicate_order": .08, "delivery_too_slow": .06,
                                  "other": .06}, m))
    policy = profile.code == POLICY["market"]
    timer = np.where(policy & (t_req >= _epoch(POLICY["date"])),
                     POLICY["timer_hours_after"], POLICY["timer_hours_before"]) * HOUR
    response = rng.exponential(profile.seller_response_h * HOUR, m) * np.where(
        chronic[i], 2.0, 1.0)
    # the order is on hold while the request is open: the seller approves or rejects,
    # or the request is auto-approved when the timer runs out
    withdraw = rng.random(m) < .06
    answer = response < timer
    approve = rng.random(m) < np.where(chronic[i], .5, .74)
    # the rejecting-sellers story draws from its own generator: other markets are untouched
    story = np.random.default_rng([order_offset, 17])
    refusing = np.isin(seller[i], REFUSERS.get(code, [])) & (
        t_req >= _epoch(REJECTING["start"]))
    approve = np.where(refusing, story.random(m) < REJECTING["approve_share"], approve)
    outcome = np.where(withdraw, "withdrawn", np.where(
        answer, np.where(approve, "approved", "rejected"), "approved"))
    resolved = np.where(withdraw, t_req + rng.exponential(3 * HOUR, m), np.where(
        answer, t_req + response, t_req + timer))
    auto = ~withdraw & ~answer
    ship_at[i] = np.where(outcome == "approved", ship_at[i],
                          np.maximum(ship_at[i], resolved + rng.uniform(1, 12, m) * HOUR))
    events.add(i, "buyer", reason, t_req, outcome, resolved, auto)
    approved_b = np.zeros(n, dtype=bool)
    approved_b[i[outcome == "approved"]] = True
    rejected_b = np.zeros(n, dtype=bool)
    rejected_b[i[outcome == "rejected"]] = True
    cancelled_b |= approved_b
    # contacts around requests: asking how to cancel, chasing a slow answer, disputing a no
    j = rng.random(m) < .2
    contacts.add(i[j], t_req[j] - rng.uniform(0, 2 * HOUR, int(j.sum())), "cancel_request", 1)
    # buyers chase a request that is not answered within a few hours, more the longer it waits
    wait = np.minimum(resolved, end) - t_req
    chase = 1 - np.exp(-np.maximum(wait - 8 * HOUR, 0) / (24 * HOUR))
    j = (outcome != "withdrawn") & (rng.random(m) < chase)
    times = 1 + (wait[j] > 36 * HOUR) + (wait[j] > 60 * HOUR)
    ci = np.repeat(i[j], times)
    ct = np.repeat(t_req[j], times) + rng.random(int(times.sum())) * np.repeat(wait[j], times)
    contacts.add(ci, ct, "cancel_status", np.where(np.repeat(wait[j], times) > 48 * HOUR, 2, 1))
    j = (outcome == "rejected") & (rng.random(m) < .55)
    ri, rt = _repeat(rng, i[j], resolved[j], 0.5, 36)
    contacts.add(ri, rt, np.where(rng.random(len(ri)) < .5, "cancel_status", "cancel_request"), 2)
    _refused_contacts(story, contacts, i[refusing & (outcome == "rejected")],
                      resolved[refusing & (outcome == "rejected")])

    shipped = np.where(alive & ~cancelled_b, ship_at, np.nan)

    # ---- stage C: in transit --------------------------------------------------------
    on_road = ~np.isnan(shipped)
    carriers = list(profile.carriers)
    carrier = _pick(rng, profile.carriers, n)
    carrier = np.where(platform & (rng.random(n) < .5), carriers[0], carrier)
    transit = rng.gamma(4.0, profile.transit_days / 4 * DAY, n)
    ship_day = np.floor(np.nan_to_num(shipped) / DAY) * DAY
    transit += np.where((ship_day >= _epoch("2026-11-11")) & (ship_day < _epoch("2026-11-17")),
                        rng.uniform(0.3, 1.2, n) * DAY, 0)
    incident = (on_road & (profile.code == INCIDENT["market"]) & (carrier == INCIDENT["carrier"])
                & (ship_day >= _epoch(INCIDENT["start"])) & (ship_day < _epoch(INCIDENT["end"])))
    lo, hi = INCIDENT["extra_transit_days"]
    transit += np.where(incident, rng.uniform(lo, hi, n) * DAY, 0)
    lost = on_road & ((rng.random(n) < .004) | (incident & (rng.random(n) < INCIDENT["lost_share"])))
    delayed = on_road & ((transit > (profile.transit_days * 1.6 + 2) * DAY) | lost)
    p_c = (.008 + .30 * delayed + .25 * rejected_b) * np.where(prone, 2, 1)
    c_req = on_road & (rng.random(n) < p_c)
    i = np.flatnonzero(c_req)
    m = len(i)
    t_req = shipped[i] + np.where(lost[i], rng.uniform(4, 10, m) * DAY,
                                  rng.uniform(0.3, 0.95, m) * transit[i])
    reason = np.where(delayed[i] & (rng.random(m) < .75), "delivery_too_slow",
                      _pick(rng, {"changed_mind": .5, "better_price": .2, "address_change": .1,
                                  "other": .2}, m))
    by_platform = rng.random(m) < .3
    p_ok = np.where(lost[i], .9, np.where(delayed[i], .65, .45))
    u = rng.random(m)
    outcome = np.where(by_platform | (u < p_ok), "approved",
                       np.where(u < p_ok + .1, "withdrawn", "rejected"))
    refusing = ~by_platform & np.isin(seller[i], REFUSERS.get(code, [])) & (
        t_req >= _epoch(REJECTING["start"])) & (outcome == "approved") & ~lost[i]
    outcome = np.where(refusing, "rejected", outcome)
    resolved = t_req + np.where(by_platform, rng.uniform(300, 3600, m),
                                rng.exponential(20 * HOUR, m))
    deliver_at = shipped[i] + transit[i]
    too_late = ~lost[i] & (resolved > deliver_at) & (outcome == "approved") & ~by_platform
    outcome = np.where(too_late, "rejected", outcome)
    resolved = np.where(too_late, deliver_at, resolved)
    auto = too_late | ((outcome == "approved") & lost[i] & ~by_platform)
    events.add(i, np.where(by_platform, "platform", "buyer"), reason, t_req, outcome, resolved,
               auto)
    k = by_platform
    contacts.add(i[k], t_req[k] - rng.uniform(60, 1800, int(k.sum())), "cancel_request", 1)
    k = ~by_platform & (rng.random(m) < .25)
    contacts.add(i[k], t_req[k] - rng.uniform(0, 3 * HOUR, int(k.sum())), "cancel_request", 1)
    k = ~by_platform & (outcome == "rejected") & (rng.random(m) < .55)
    ri, rt = _repeat(rng, i[k], resolved[k], 0.45, 30)
    contacts.add(ri, rt, "cancel_status", 2)
    _refused_contacts(story, contacts, i[refusing], resolved[refusing])
    approved_c = np.zeros(n, dtype=bool)
    approved_c[i[outcome == "approved"]] = True
    rejected_c = np.zeros(n, dtype=bool)
    rejected_c[i[outcome == "rejected"]] = True
    logistic = lost & ~approved_c
    i = np.flatnonzero(logistic)
    t = shipped[i] + 14 * DAY
    events.add(i, "system", "logistics_failure", t, "approved", t + 1.0, True)
    delivered = np.where(on_road & ~lost & ~approved_c, shipped + transit, np.nan)
    # where-is-my-order and delivery contacts
    i = np.flatnonzero(delayed & (rng.random(n) < .5))
    ri, rt = _repeat(rng, i, shipped[i] + profile.transit_days * DAY, 0.45, 30)
    contacts.add(ri, rt, "where_is_my_order", 2)
    i = np.flatnonzero(on_road & ~delayed & (rng.random(n) < .02))
    contacts.add(i, shipped[i] + rng.random(len(i)) * transit[i], "where_is_my_order", 1)
    i = np.flatnonzero(lost & (rng.random(n) < .3))
    contacts.add(i, shipped[i] + rng.uniform(5, 12, len(i)) * DAY, "delivery_issue", 2)

    # ---- stage D: delivered ---------------------------------------------------------
    got = ~np.isnan(delivered)
    i = np.flatnonzero(got & (rng.random(n) < .001))
    t = delivered[i] + rng.uniform(0.1, 3, len(i)) * DAY
    u = rng.random(len(i))
    outcome = np.where(u < .05, "approved", np.where(u < .2, "withdrawn", "rejected"))
    events.add(i, "buyer", _pick(rng, {"changed_mind": .6, "other": .4}, len(i)), t, outcome,
               t + rng.exponential(12 * HOUR, len(i)), False)
    i = np.flatnonzero(got & (rng.random(n) < .01))
    contacts.add(i, delivered[i] + rng.uniform(0, 3, len(i)) * DAY, "delivery_issue", 1)
    i = np.flatnonzero(got & (rng.random(n) < .015))
    contacts.add(i, delivered[i] + rng.uniform(0, 5, len(i)) * DAY, "return_request", 1)
    i = np.flatnonzero(rng.random(n) < .01)
    contacts.add(i, created[i] + rng.uniform(0, 2, len(i)) * DAY, "product_question", 0)

    # ---- cancellations table --------------------------------------------------------
    ev = events.frame()
    keep = ev["requested"] < end
    ev = {k: v[keep] for k, v in ev.items()}
    pending = ev["resolved"] > end
    ev["outcome"] = np.where(pending, "pending", ev["outcome"])
    ev["resolved"] = np.where(pending, np.nan, ev["resolved"])
    ev["auto"] = ev["auto"] & ~pending
    order_no = order_offset + np.arange(n)
    order = np.argsort(ev["requested"], kind="stable")
    ev = {k: v[order] for k, v in ev.items()}
    cancelled = np.zeros(n, dtype=bool)
    cancelled[ev["idx"][ev["outcome"] == "approved"].astype(np.int64)] = True
    paid_cancel = cancelled & ~np.isnan(paid)
    i = np.flatnonzero(paid_cancel & (rng.random(n) < .15))
    first_cancel = pd.Series(ev["requested"]).groupby(ev["idx"]).min()
    t0 = first_cancel.reindex(i).to_numpy()
    contacts.add(i, t0 + rng.uniform(2, 7, len(i)) * DAY, "refund_status", 1)

    # ---- contacts table -------------------------------------------------------------
    ct = contacts.frame()
    assignments, kept, experiment = _experiment(code, created, buyer, ct, order_offset)
    ct = {k: v[kept] for k, v in ct.items()}
    idx = ct["idx"].astype(np.int64)
    nn = int(round(n * .012))
    extra_created = rng.uniform(day_starts.min(), day_starts.max() + DAY, nn)
    extra_reason = _pick(rng, {"product_question": .4, "account_issue": .35, "other": .25}, nn)
    c_created = np.concatenate([ct["created"], extra_created])
    c_reason = np.concatenate([ct["reason"], extra_reason])
    c_mood = np.concatenate([ct["mood"], np.ones(nn, dtype=int)])
    c_order = np.concatenate([idx, np.full(nn, -1)])
    c_buyer = np.concatenate([buyer[idx], rng.integers(0, pools.buyers, nn)])
    c_created, c_reason, c_mood, c_order, c_buyer = _before_sorted(
        end, c_created, c_reason, c_mood, c_order, c_buyer)
    nc = len(c_created)
    status_like = np.isin(c_reason, ["cancel_status", "where_is_my_order", "refund_status"])
    u = rng.random(nc)
    channel_c = np.where(status_like,
                         np.select([u < .5, u < .8, u < .88], ["bot", "chat", "email"], "phone"),
                         np.select([u < .25, u < .7, u < .82], ["bot", "chat", "email"], "phone"))
    handle = np.select([channel_c == "chat", channel_c == "email", channel_c == "phone"],
                       [rng.lognormal(np.log(540), .5, nc), rng.lognormal(np.log(360), .6, nc),
                        rng.lognormal(np.log(480), .5, nc)], np.nan)
    escalated = rng.random(nc) < (.03 + .12 * (c_mood == 2) + .05 * (channel_c == "phone"))
    angry = c_mood == 3  # refused by a rejecting seller: its own generator
    escalated = np.where(angry, np.random.default_rng([contact_offset, 18]).random(nc)
                         < REJECTING["escalation_share"], escalated)
    answered = rng.random(nc) < np.where(channel_c == "bot", .2, .32)
    csat = np.zeros(nc, dtype=np.int64)
    for mood, probs in CSAT_BY_MOOD.items():
        sel = c_mood == mood
        csat[sel] = rng.choice(5, size=int(sel.sum()), p=probs) + 1
    has_order = c_order >= 0
    contact_tbl = pa.table({
        "contact_id": _ids(f"C{code}", contact_offset + np.arange(nc), 10),
        "market": pa.array(np.full(nc, code)),
        "buyer_id": _ids(f"B{code}", c_buyer, 8),
        "order_id": pc.if_else(pa.array(has_order),
                               _ids(code, order_offset + np.maximum(c_order, 0), 9),
                               pa.scalar(None, pa.string())),
        "created_at": _ts(c_created),
        "channel": pa.array(channel_c.astype(str)),
        "reason": pa.array(c_reason.astype(str)),
        "handle_time_s": pa.array(np.round(handle, 1), mask=np.isnan(handle)),
        "escalated": pa.array(escalated),
        "csat": pa.array(csat, mask=~answered),
    })

    # ---- feedback table -------------------------------------------------------------
    fb_idx, fb_time, fb_topic, fb_source, fb_days = [], [], [], [], []

    def feedback(sel: np.ndarray, when: np.ndarray, topic: Any, source: str,
                 days: Any = None) -> None:
        k = len(sel)
        if not k:
            return
        fb_idx.append(sel)
        fb_time.append(when)
        fb_topic.append(np.broadcast_to(np.asarray(topic, dtype=object), k))
        fb_source.append(np.full(k, source, dtype=object))
        fb_days.append(np.broadcast_to(np.asarray(
            rng.integers(3, 12, k) if days is None else days), k))

    ev_idx = ev["idx"].astype(np.int64)
    appr = ev["outcome"] == "approved"
    first_appr = pd.DataFrame({"idx": ev_idx[appr], "init": ev["initiator"][appr],
                               "reason": ev["reason"][appr], "t": ev["requested"][appr],
                               "wait": ev["resolved"][appr] - ev["requested"][appr]}
                              ).drop_duplicates("idx")
    s = first_appr.sample(frac=.12, random_state=int(rng.integers(1 << 31)))
    topic = np.select(
        [s["init"].eq("seller").to_numpy(),
         s["reason"].isin(["unpaid_timeout", "risk_control"]).to_numpy(),
         s["reason"].eq("logistics_failure").to_numpy(),
         (s["wait"] > 48 * HOUR).to_numpy(),
         rejected_b[s["idx"].to_numpy()],
         rng.random(len(s)) < .15],
        ["seller_oos", "payment_failed", "lost_parcel", "cancel_slow", "cancel_rejected",
         "refund_slow"], "cancel_easy")
    feedback(s["idx"].to_numpy(), s["t"].to_numpy() + rng.uniform(0.1, 3, len(s)) * DAY, topic,
             "cancellation_survey", np.maximum(1, (s["wait"].to_numpy() / DAY).astype(int)))
    i = np.flatnonzero(got & (rng.random(n) < .07))
    late = delayed[i]
    topic = np.where(rejected_c[i] | rejected_b[i], "cancel_rejected",
                     np.where(late, "late_delivery",
                              np.where(rng.random(len(i)) < .15, "product_quality",
                                       "positive_delivery")))
    feedback(i, delivered[i] + rng.uniform(0.2, 4, len(i)) * DAY, topic, "order_review",
             np.maximum(1, (transit[i] / DAY).round().astype(int)))
    if profile.code == NEW_COMPLAINT["market"]:  # a complaint no taxonomy rule covers yet
        i = np.flatnonzero(got & (created >= _epoch(NEW_COMPLAINT["start"]))
                           & (rng.random(n) < NEW_COMPLAINT["share_of_delivered"]))
        feedback(i, delivered[i] + rng.uniform(0.2, 3, len(i)) * DAY, NEW_COMPLAINT["topic"],
                 "order_review")
    i = np.flatnonzero(incident & (rng.random(n) < .04))
    feedback(i, shipped[i] + rng.uniform(4, 12, len(i)) * DAY,
             np.where(lost[i], "lost_parcel", "late_delivery"), "social",
             np.maximum(1, (transit[i] / DAY).round().astype(int)))
    sel = np.flatnonzero(answered & has_order & (rng.random(nc) < .25))
    topic = np.where(csat[sel] >= 4, "agent_helpful", np.select(
        [np.isin(c_reason[sel], ["cancel_status", "cancel_request"]),
         c_reason[sel] == "where_is_my_order", c_reason[sel] == "refund_status"],
        ["cancel_rejected", "late_delivery", "refund_slow"], "agent_unhelpful"))
    feedback(c_order[sel], c_created[sel] + rng.uniform(0.01, 1, len(sel)) * DAY, topic,
             "contact_survey")
    feedback(np.full(int(n * .003), -1), rng.uniform(day_starts.min(), day_starts.max() + DAY,
                                                      int(n * .003)),
             _pick(rng, {"cannot_find_cancel": .5, "agent_unhelpful": .2, "cancel_easy": .3},
                   int(n * .003)), "app_review")
    f_idx = np.concatenate(fb_idx).astype(np.int64)
    f_time = np.concatenate(fb_time).astype(float)
    f_topic = np.concatenate(fb_topic)
    f_source = np.concatenate(fb_source)
    f_days = np.concatenate(fb_days).astype(np.int64)
    f_time, f_idx, f_topic, f_source, f_days = _before_sorted(
        end, f_time, f_idx, f_topic, f_source, f_days)
    nf = len(f_idx)
    linked = f_idx >= 0
    anonymous = f_source == "social"
    lang = np.where(rng.random(nf) < profile.local_share, profile.language, "en")
    f_carrier = np.where(linked, carrier[np.maximum(f_idx, 0)], "the courier")
    f_carrier = np.where(linked & on_road[np.maximum(f_idx, 0)], f_carrier, "the courier")
    text = np.array(_texts(rng, f_topic, lang, f_carrier, f_days), dtype=object)
    no_text = rng.random(nf) < np.where(f_source == "order_review", .25, .08)
    lang_unknown = rng.random(nf) < .07
    rating = _ratings(rng, f_topic)
    no_rating = (f_source == "social") | (rng.random(nf) < .03)
    f_buyer = np.where(linked, buyer[np.maximum(f_idx, 0)], rng.integers(0, pools.buyers, nf))
    feedback_tbl = pa.table({
        "feedback_id": _ids(f"F{code}", feedback_offset + np.arange(nf), 10),
        "market": pa.array(np.full(nf, code)),
        "order_id": pc.if_else(pa.array(linked), _ids(code, order_offset + np.maximum(f_idx, 0), 9),
                               pa.scalar(None, pa.string())),
        "buyer_id": pc.if_else(pa.array(~anonymous), _ids(f"B{code}", f_buyer, 8),
                               pa.scalar(None, pa.string())),
        "created_at": _ts(f_time),
        "source": pa.array(f_source.astype(str)),
        "rating": pa.array(rating, mask=no_rating),
        "text": pa.array(text.astype(str), mask=no_text),
        "language": pa.array(lang.astype(str), mask=no_text | lang_unknown),
    })

    # ---- orders and cancellations tables ---------------------------------------------
    def cut(ts: np.ndarray) -> np.ndarray:
        return np.where(ts < end, ts, np.nan)

    orders_tbl = pa.table({
        "order_id": _ids(code, order_no, 9),
        "market": pa.array(np.full(n, code)),
        "buyer_id": _ids(f"B{code}", buyer, 8),
        "seller_id": _ids(f"S{code}", seller, 6),
        "category": pa.array(category.astype(str)),
        "sales_channel": pa.array(channel.astype(str)),
        "fulfillment": pa.array(np.where(platform, "platform_fulfilled", "seller_shipped")),
        "payment_method": pa.array(payment.astype(str)),
        "carrier": pa.array(carrier.astype(str), mask=np.isnan(cut(shipped))),
        "gmv_usd": pa.array(gmv),
        "created_at": _ts(created),
        "paid_at": _ts(cut(paid)),
        "shipped_at": _ts(cut(shipped)),
        "delivered_at": _ts(cut(delivered)),
    })
    nev = len(ev_idx)
    cancel_tbl = pa.table({
        "request_id": _ids(f"R{code}", order_offset * 2 + np.arange(nev), 10),
        "order_id": _ids(code, order_offset + ev_idx, 9),
        "initiator": pa.array(ev["initiator"].astype(str)),
        "reason": pa.array(ev["reason"].astype(str)),
        "requested_at": _ts(ev["requested"]),
        "outcome": pa.array(ev["outcome"].astype(str)),
        "resolved_at": _ts(ev["resolved"]),
        "auto_resolved": pa.array(ev["auto"].astype(bool)),
    })
    tables = {"orders": orders_tbl, "cancellations": cancel_tbl, "contacts": contact_tbl,
              "feedback": feedback_tbl}
    if assignments is not None:
        tables["assignments"] = assignments
    return tables, experiment


def _day_weights(profile: MarketProfile, days: pd.DatetimeIndex) -> np.ndarray:
    w = DOW[days.day_of_week.to_numpy()]
    w = w * np.array([profile.sales.get(f"{d:%Y-%m-%d}", 1.0) for d in days])
    months = (days.year - days[0].year) * 12 + (days.month - days[0].month)
    return w * (1.03 ** months.to_numpy())


def _write_market(profile: MarketProfile, n_market: int, mi: int, seed: int,
                  days: pd.DatetimeIndex, tmp: Path
                  ) -> tuple[str, dict[str, int], list[str], dict[str, int]]:
    """Generate and write one market, month by month; return its row counts,
    chronic sellers and the planted experiment's counts."""
    market_rng = np.random.default_rng([seed, 1, mi])
    pools = _pools(profile, n_market, market_rng)
    weights = _day_weights(profile, days)
    counts = market_rng.multinomial(n_market, weights / weights.sum())
    day_epoch = np.array([d.timestamp() for d in days])
    month_key = days.year * 100 + days.month
    writers: dict[str, pq.ParquetWriter] = {}
    offsets = {"orders": 0, "contacts": 0, "feedback": 0}
    rows = dict.fromkeys(TABLE_NAMES, 0)
    experiment: dict[str, int] = {}
    try:
        for k, month in enumerate(np.unique(month_key)):
            sel = month_key == month
            rng = np.random.default_rng([seed, 2, mi, k])
            tables, counted = _market_month(profile, pools, day_epoch[sel], counts[sel],
                                            offsets["orders"], offsets["contacts"],
                                            offsets["feedback"], rng)
            for key, value in counted.items():
                experiment[key] = experiment.get(key, 0) + value
            for name, tbl in tables.items():
                if name in offsets:
                    offsets[name] += tbl.num_rows
                if name not in writers:
                    (tmp / name).mkdir(exist_ok=True)  # assignments: only where a test runs
                    writers[name] = pq.ParquetWriter(tmp / name / f"{profile.code}.parquet",
                                                     tbl.schema, compression="zstd")
                writers[name].write_table(tbl, row_group_size=1 << 20)
                rows[name] += tbl.num_rows
    finally:
        for w in writers.values():
            w.close()
    return profile.code, rows, chronic_sellers(profile.code, pools.sellers), experiment


@dataclass
class DemoSummary:
    """What :func:`generate_demo_data` wrote."""

    path: str
    seed: int
    start: str
    end: str
    rows: dict[str, int]
    stories: dict[str, Any]
    chronic_sellers: dict[str, list[str]]


def generate_demo_data(out: str | Path, orders: int = 500_000, months: int = 6,
                       seed: int = 7, markets: list[str] | None = None) -> DemoSummary:
    """Write the demo dataset (Parquet) under ``out``; return a summary.

    Four tables, and ``assignments`` when ID's November (the planted A/B
    test) is among the markets and months.

    ``orders`` is the total over all markets and months; ``months`` counts back
    from 2026-12-01. The folder is written next to ``out`` and moved into place
    when complete, so an interrupted run never leaves half a dataset.
    """
    if orders < 1000:
        raise ValueError("the demo needs at least 1,000 orders")
    if not 1 <= months <= 24:
        raise ValueError("months must be between 1 and 24")
    codes = markets or list(DEMO_MARKETS)
    profiles = [DEMO_MARKETS[c] for c in codes]
    start = DEMO_END - pd.DateOffset(months=months)
    days = pd.date_range(start, DEMO_END, freq="D", inclusive="left")
    shares = np.array([p.share for p in profiles])
    per_market = np.random.default_rng([seed, 0]).multinomial(orders, shares / shares.sum())

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.partial"
    shutil.rmtree(tmp, ignore_errors=True)
    for table in ("orders", "cancellations", "contacts", "feedback"):
        (tmp / table).mkdir(parents=True)
    rows = dict.fromkeys(TABLE_NAMES, 0)
    chronic: dict[str, list[str]] = {}
    counted: dict[str, int] = {}
    jobs = [(profile, int(n_market), mi, seed, days, tmp)
            for mi, (profile, n_market) in enumerate(zip(profiles, per_market, strict=True))]
    workers = max(1, min(len(jobs), os.cpu_count() or 1))
    if workers == 1:
        results = [_write_market(*job) for job in jobs]
    else:  # markets are independent: one process per core
        with ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn")) as pool:
            results = list(pool.map(_write_market, *zip(*jobs, strict=True)))
    for code, market_rows, sellers, experiment in results:
        chronic[code] = sellers
        for name, k in market_rows.items():
            rows[name] += k
        counted.update(experiment)
    stories = dict(STORIES)
    if counted.get("treated_orders"):
        # the true effect on the treated arm's cancellation contacts per order: the
        # contacts the flow removed, per order its buyers placed after assignment
        stories["experiment"] = {**EXPERIMENT, **counted, "true_effect_cancel_cpo": round(
            -counted["removed_contacts"] / counted["treated_orders"], 5)}
    if not rows["assignments"]:
        del rows["assignments"]
    summary = DemoSummary(str(out), seed, f"{start:%Y-%m-%d}", f"{DEMO_END:%Y-%m-%d}", rows,
                          stories, chronic)
    (tmp / "demo_manifest.json").write_text(json.dumps(asdict(summary), indent=2))
    if out.exists():
        shutil.rmtree(out)
    tmp.rename(out)
    return summary
