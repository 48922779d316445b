"""When did it start? Daily series with an expected band, change points, contact bursts.

**Daily series** (:func:`daily_series`) of a market's headline rates, one value
per day: cancellation rate, seller-fault rate and contacts per order by the
day the orders were created; request success rate and median / p90 hours to
resolve by the day buyers asked. Only daily aggregates leave the engine.

**Expected band** (:func:`expected_band`). The reference days (the baseline
period) give each metric's normal level and a weekday profile (marketplaces
have a strong weekly rhythm): ``expected = level × weekday factor``. For rates
the band is ``expected ± z × sqrt(binomial variance at the day's volume + the
extra day-to-day variance seen in the reference days)``; for hours it is
``± z × 1.4826 × MAD`` of the reference residuals. Days outside it are
anomalies, ``high`` or ``low``.

**Change points** (:func:`change_points`): PELT (the ``ruptures`` library) on
the series divided by its weekday factor, with a BIC-like penalty
``3 σ² log(days)`` where ``σ`` is the day-to-day noise of the reference days
(from their differences, so a shift is not mistaken for noise, and outliers of
normal days raise the bar), at least three days per segment. Each change
point has its date (the first day of the new level) and the mean level
before and after.

**Contact bursts** (:func:`contact_bursts`), in the manner of iDice: which
contact reason, alone or with one or two order attributes (carrier, category,
seller, payment method, sales channel, fulfillment), rose beyond what the
volume of orders explains. For each combination the contacts of the current
period are compared with the baseline's scaled by the ratio of orders
(Poisson test, Benjamini-Hochberg over all combinations tested); combinations
with fewer than ``min_contacts`` are not tested (impact pruning), nor are
attribute values that are null (a carrier before hand-over, any attribute of a
contact that names no order: an outcome or a gap, not a group); a more
specific combination replaces its parent when it holds at least 75% of the
parent's excess and its ratio to the expected is clearly (10%) higher
(isolation); once a burst is reported, its contacts are taken out of both
periods before the next is searched, so the list does not repeat one burst
sliced by other attributes; so the report names "where is my order × carrier
NinjaVan" rather than all "where is my order". Each burst carries its start
day: the first change point of its daily count per order in the current
period, or failing that its first day above the expected band.
"""

from __future__ import annotations

from itertools import combinations as _pairs
from typing import Any

import ibis
import numpy as np
import pandas as pd
import ruptures
from scipy.stats import poisson

from shopcx.cache import memoized
from shopcx.data.sources import load_source
from shopcx.metrics.facts import order_facts, parse_period, request_facts
from shopcx.metrics.stats import benjamini_hochberg

__all__ = ["BURST_ATTRIBUTES", "DAILY_METRICS", "anomalies", "change_points",
           "contact_bursts", "daily_series", "expected_band"]

DAILY_METRICS = {
    "cancellation_rate": ("rate", "orders created that day"),
    "seller_fault_cancellation_rate": ("rate", "orders created that day"),
    "cpo": ("ratio", "contacts created that day per order created that day"),
    "cancel_request_success_rate": ("rate", "buyer requests made that day, decided"),
    "median_hours_to_resolve": ("hours", "buyer requests made that day, decided"),
    "p90_hours_to_resolve": ("hours", "buyer requests made that day, decided"),
}
"""Metrics with a daily series: kind and what a day's value is computed over."""

BURST_ATTRIBUTES = ("carrier", "category", "seller_id", "payment_method", "sales_channel",
                    "fulfillment")


def _day(ts: Any) -> Any:
    return ts.truncate("D").cast("date")


def daily_series(source: Any, market: str, start: Any, end: Any) -> pd.DataFrame:
    """Long table ``day, metric, value, x, n`` of :data:`DAILY_METRICS` over ``[start, end)``.

    ``x`` / ``n`` are the numerator and denominator of rates (``n`` the day's
    volume for hours); days without any volume are left out.
    """
    source = load_source(source)
    p = parse_period(start, end)
    # the readout asks for the whole set once, then each explained metric's again
    return memoized(source, "daily-series", (market.upper(), str(p.start), str(p.end)),
                    lambda: _daily_series(source, market, p))


def _daily_series(source: Any, market: str, p: Any) -> pd.DataFrame:
    facts = order_facts(source, market, p.start, p.end)
    f = facts.mutate(day=_day(facts.created_at))
    orders = source.execute(f.group_by("day").aggregate(
        n=f.count(), cancelled=f.cancelled.sum(), seller_fault=f.seller_fault.sum()))
    c = source.tables["contacts"]
    c = c.filter(c.market == market.upper(), c.created_at >= ibis.timestamp(p.start),
                 c.created_at < ibis.timestamp(p.end))
    c = c.mutate(day=_day(c.created_at))
    contacts = source.execute(c.group_by("day").aggregate(contacts=c.count()))
    r = request_facts(source, facts)
    r = r.filter(r.outcome.isin(("approved", "rejected")))
    r = r.filter(r.requested_at < ibis.timestamp(p.end))
    r = r.mutate(day=_day(r.requested_at))
    requests = source.execute(r.group_by(
        "day").aggregate(decided=r.count(), approved=(r.outcome == "approved").sum(),
                         median=r.hours_to_resolve.quantile(0.5),
                         p90=r.hours_to_resolve.quantile(0.9)))
    rows = []
    o = orders.merge(contacts, on="day", how="left").fillna({"contacts": 0})
    for name, x in (("cancellation_rate", "cancelled"),
                    ("seller_fault_cancellation_rate", "seller_fault"), ("cpo", "contacts")):
        rows.append(pd.DataFrame({"day": o["day"], "metric": name, "x": o[x].astype(float),
                                  "n": o["n"].astype(float)}))
    rows.append(pd.DataFrame({"day": requests["day"], "metric": "cancel_request_success_rate",
                              "x": requests["approved"].astype(float),
                              "n": requests["decided"].astype(float)}))
    for name, col in (("median_hours_to_resolve", "median"), ("p90_hours_to_resolve", "p90")):
        rows.append(pd.DataFrame({"day": requests["day"], "metric": name,
                                  "value": requests[col].astype(float), "x": np.nan,
                                  "n": requests["decided"].astype(float)}))
    out = pd.concat(rows, ignore_index=True)
    out["day"] = pd.to_datetime(out["day"])
    out["value"] = out["value"].where(out["value"].notna(), out["x"] / out["n"]) \
        if "value" in out else out["x"] / out["n"]
    out = out[out["n"] > 0]
    return out.sort_values(["metric", "day"], ignore_index=True)[
        ["day", "metric", "value", "x", "n"]]


def _weekday_factors(ref: pd.DataFrame, kind: str) -> tuple[float, pd.Series]:
    wd = ref["day"].dt.day_of_week
    if kind == "hours":
        level = float(ref["value"].median())
        per = ref.groupby(wd)["value"].median() / level if level else ref.groupby(wd).size() * 0
    else:
        level = float(ref["x"].sum() / ref["n"].sum()) if ref["n"].sum() else 0.0
        sums = ref.groupby(wd)[["x", "n"]].sum()
        per = (sums["x"] / sums["n"]) / level if level else sums["x"] * 0
    counts = wd.value_counts()
    # shrink a weekday seen on few reference days towards no effect
    weight = counts.reindex(per.index).fillna(0) / (counts.reindex(per.index).fillna(0) + 1)
    per = 1 + (per.fillna(1.0) - 1) * weight
    return level, per.reindex(range(7)).fillna(1.0)


def expected_band(series: pd.DataFrame, reference_end: Any, z: float = 3.0) -> pd.DataFrame:
    """``series`` (one metric, from :func:`daily_series`) with expected, low, high, anomaly.

    The days before ``reference_end`` are the reference; ``anomaly`` is
    ``"high"``, ``"low"`` or empty, for every day (reference days included).
    """
    s = series.sort_values("day").reset_index(drop=True).copy()
    if s.empty:
        return s.assign(expected=[], low=[], high=[], anomaly=[])
    kind = DAILY_METRICS[s["metric"].iloc[0]][0]
    ref = s[s["day"] < pd.Timestamp(reference_end)]
    if ref.empty:
        ref = s
    level, factors = _weekday_factors(ref, kind)
    s["expected"] = level * s["day"].dt.day_of_week.map(factors).to_numpy()
    resid = (ref["value"] - s.loc[ref.index, "expected"]).to_numpy()
    if kind == "hours":
        spread = 1.4826 * np.median(np.abs(resid - np.median(resid))) if len(resid) else 0.0
        sd = np.full(len(s), spread)
    else:
        e = s["expected"].to_numpy()
        sampling = e if kind == "ratio" else e * (1 - e)
        day_var = sampling / s["n"].to_numpy()
        ref_var = day_var[ref.index]
        extra = max(0.0, float(np.var(resid) - np.mean(ref_var))) if len(resid) > 1 else 0.0
        sd = np.sqrt(day_var + extra)
    s["low"] = s["expected"] - z * sd
    s["high"] = s["expected"] + z * sd
    if kind != "hours":
        s["low"] = s["low"].clip(lower=0)
    s["anomaly"] = np.select([s["value"] > s["high"], s["value"] < s["low"]],
                             ["high", "low"], "")
    return s


MIN_DAILY_EVENTS = 5.0
"""Mean events a day (cancellations, contacts, decided requests) below which a daily
series is too sparse to date a change: its level shifts would be runs of zeros."""


def daily_events(series: pd.DataFrame) -> float:
    """Mean events a day of one metric's series (decided requests for hours)."""
    events = series["x"] if series["x"].notna().any() else series["n"]
    return float(events.fillna(0).mean()) if len(series) else 0.0


def change_points(series: pd.DataFrame, reference_end: Any | None = None,
                  min_size: int = 3, penalty: float = 3.0,
                  min_relative: float = 0.1) -> pd.DataFrame:
    """Change points of one metric's daily series: ``day, before, after, change``.

    ``day`` is the first day at the new level; ``before`` / ``after`` are the
    mean (weekday-adjusted) levels of the segments either side. Shifts smaller
    than ``min_relative`` of the level before are not material and are merged
    into their neighbours. A series with fewer than :data:`MIN_DAILY_EVENTS`
    events a day has none.
    """
    s = series.sort_values("day").reset_index(drop=True)
    empty = pd.DataFrame(columns=["day", "before", "after", "change"])
    if len(s) < 2 * min_size or daily_events(s) < MIN_DAILY_EVENTS:
        return empty
    kind = DAILY_METRICS[s["metric"].iloc[0]][0]
    ref = s if reference_end is None else s[s["day"] < pd.Timestamp(reference_end)]
    _, factors = _weekday_factors(ref if len(ref) else s, kind)
    y = (s["value"] / s["day"].dt.day_of_week.map(factors).replace(0, 1)).to_numpy(float)
    # day-to-day noise of normal days: the reference period's differences
    normal = y[:len(ref)] if reference_end is not None and len(ref) >= 2 * min_size else y
    sigma = float(np.std(np.diff(normal))) / np.sqrt(2)
    if not np.isfinite(sigma) or sigma <= 0:
        sigma = float(np.std(y)) or 1.0
    algo = ruptures.Pelt(model="l2", min_size=min_size, jump=1).fit(y.reshape(-1, 1))
    bkps = algo.predict(pen=penalty * sigma ** 2 * np.log(len(y)))[:-1]
    if not bkps:
        return empty
    while True:
        edges = [0, *bkps, len(y)]
        rows = []
        for i, b in enumerate(bkps):
            before, after = y[edges[i]:b].mean(), y[b:edges[i + 2]].mean()
            rows.append({"day": s["day"].iloc[b], "before": before, "after": after,
                         "change": after - before,
                         "relative": abs(after - before) / max(abs(before), 1e-12)})
        small = [r["relative"] for r in rows]
        if not rows or min(small) >= min_relative:
            break
        bkps.pop(int(np.argmin(small)))
    return pd.DataFrame(rows, columns=["day", "before", "after", "change", "relative"]).drop(
        columns="relative")


def anomalies(source: Any, market: str, baseline: tuple[Any, Any], current: tuple[Any, Any],
              metrics: tuple[str, ...] | None = None, z: float = 3.0) -> dict[str, Any]:
    """Daily series with bands, change points and when each metric's change started.

    Returns ``daily`` (long table with expected, low, high, anomaly),
    ``change_points`` (metric, day, before, after, change) and ``started``:
    per metric, the first change point in the current period (``None`` when
    none) and the first anomalous day and the count of anomalous days in it.
    """
    source = load_source(source)
    b, c = parse_period(*baseline), parse_period(*current)
    start, end = min(b.start, c.start), max(b.end, c.end)
    daily = daily_series(source, market, start, end)
    metrics = tuple(metrics or DAILY_METRICS)
    banded, points, started = [], [], {}
    for name in metrics:
        s = daily[daily["metric"] == name]
        band = expected_band(s, c.start, z)
        cps = change_points(s, c.start).assign(metric=name)
        banded.append(band)
        points.append(cps)
        cur = band[(band["day"] >= c.start) & (band["day"] < c.end)]
        flagged = cur[cur["anomaly"] != ""]
        inside = cps[(cps["day"] >= c.start) & (cps["day"] < c.end)] if len(cps) else cps
        started[name] = {
            "change_point": None if inside.empty else inside.iloc[0]["day"],
            "first_anomaly": None if flagged.empty else flagged.iloc[0]["day"],
            "anomalous_days": int(len(flagged)), "days": int(len(cur)),
            "events_per_day": daily_events(s)}
    points = [p for p in points if len(p)]
    return {"market": market.upper(), "daily": pd.concat(banded, ignore_index=True),
            "change_points": (pd.concat(points, ignore_index=True) if points else
                              pd.DataFrame(columns=["day", "before", "after", "change",
                                                    "metric"])),
            "started": started}


def _contact_units(source: Any, market: str, start: pd.Timestamp, end: pd.Timestamp,
                   attributes: tuple[str, ...]) -> ibis.Table:
    c = source.tables["contacts"]
    c = c.filter(c.market == market.upper(), c.created_at >= ibis.timestamp(start),
                 c.created_at < ibis.timestamp(end))
    o = source.tables["orders"].select("order_id", *attributes)
    j = c.left_join(o, "order_id").drop("order_id_right")
    return j.select("reason", day=_day(j.created_at), **{
        a: j[a].cast("string").fill_null("(none)") for a in attributes})


def contact_bursts(source: Any, market: str, baseline: tuple[Any, Any],
                   current: tuple[Any, Any], attributes: tuple[str, ...] = BURST_ATTRIBUTES,
                   depth: int = 2, min_contacts: int = 20, top: int = 10) -> pd.DataFrame:
    """Contact-reason bursts: reason × up to ``depth`` order attributes that spiked.

    One row per burst, largest excess first: ``reason``, ``attributes`` (dict
    of attribute → value), ``label``, ``baseline``, ``current``, ``expected``
    (baseline scaled by the ratio of orders), ``excess``, ``ratio``, ``p_value``,
    ``p_adjusted`` and ``started`` (day).
    """
    source = load_source(source)
    b, c = parse_period(*baseline), parse_period(*current)
    o = source.tables["orders"]
    volume = {}
    for name, p in (("baseline", b), ("current", c)):
        cohort = o.filter(o.market == market.upper(), o.created_at >= ibis.timestamp(p.start),
                          o.created_at < ibis.timestamp(p.end))
        volume[name] = float(source.execute(cohort.count()))
    if not volume["baseline"] or not volume["current"]:
        return pd.DataFrame()
    scale = volume["current"] / volume["baseline"]
    groups = [()] + [(a,) for a in attributes] + (
        [g for g in _pairs(attributes, 2)] if depth >= 2 else [])
    ub = _contact_units(source, market, b.start, b.end, attributes)
    uc = _contact_units(source, market, c.start, c.end, attributes)
    found: list[dict[str, Any]] = []
    with source.cached(ub) as ub, source.cached(uc) as uc:
        while len(found) < top:
            t = _combos(source, ub, uc, groups, min_contacts, scale, found)
            if t.empty:
                break
            best = t.iloc[0].to_dict()
            found.append(best)
        for burst in found:
            burst["label"] = _label(burst["reason"], burst["attributes"])
            burst["started"] = _burst_start(source, uc, burst["reason"], burst["attributes"],
                                            volume, ub, b, c)
    columns = ["reason", "attributes", "label", "baseline", "current", "expected", "excess",
               "ratio", "p_value", "p_adjusted", "started"]
    return pd.DataFrame(found, columns=columns)


def _matches(units: ibis.Table, burst: dict[str, Any]) -> Any:
    cond = units.reason == burst["reason"]
    for a, v in burst["attributes"].items():
        cond &= units[a] == v
    return cond


def _combos(source: Any, ub: ibis.Table, uc: ibis.Table, groups: list[tuple[str, ...]],
            min_contacts: int, scale: float, found: list[dict[str, Any]]) -> pd.DataFrame:
    """Significant bursts among contacts not explained by ``found``, best first."""
    for burst in found:  # what earlier bursts explain is taken out of both periods
        ub = ub.filter(~_matches(ub, burst))
        uc = uc.filter(~_matches(uc, burst))
    rows = []
    current, baseline = (source.aggregate_each(u, groups, always=("reason",),
                                               count=ibis._.count()) for u in (uc, ub))
    for g, n1, n0 in zip(groups, current, baseline, strict=True):
        keys = ["reason", *g]
        n1 = n1[n1["count"] >= min_contacts].rename(columns={"count": "current"})
        for a in g:  # no value is not a group: a carrier is null before hand-over, an
            n1 = n1[n1[a] != "(none)"]  # attribute null when the contact names no order
        if n1.empty:
            continue
        t = n1.merge(n0.rename(columns={"count": "baseline"}), on=keys,
                     how="left").fillna({"baseline": 0})
        rows += [{"reason": r["reason"], "attributes": {a: r[a] for a in g},
                  "current": float(r["current"]), "baseline": float(r["baseline"])}
                 for _, r in t.iterrows()]
    if not rows:
        return pd.DataFrame()
    t = pd.DataFrame(rows)
    # a combination never seen before is compared with half a contact, not with zero
    t["expected"] = np.maximum(t["baseline"], 0.5) * scale
    t["excess"] = t["current"] - t["expected"]
    t["ratio"] = t["current"] / t["expected"]
    t["p_value"] = poisson.sf(t["current"] - 1, t["expected"])
    _, t["p_adjusted"] = benjamini_hochberg(t["p_value"].to_numpy())
    t = t[(t["p_adjusted"] < 0.05) & (t["excess"] >= min_contacts)]
    if t.empty:
        return t
    t = t.sort_values("excess", ascending=False, ignore_index=True)
    return _most_specific(t)


def _label(reason: str, attributes: dict[str, str]) -> str:
    return " × ".join([reason, *(f"{k} {v}" for k, v in attributes.items())])


def _most_specific(t: pd.DataFrame, share: float = 0.75) -> pd.DataFrame:
    """``t`` with its first row replaced by its most specific descendant that holds most of it.

    Isolation: "where is my order" rising by 1,400 contacts of which 1,300 are
    NinjaVan parcels is reported as "where is my order × carrier NinjaVan".
    """
    best = t.iloc[0]
    while True:
        attrs = best["attributes"]
        children = t[[r["reason"] == best["reason"] and len(r["attributes"]) == len(attrs) + 1
                      and all(r["attributes"].get(k) == v for k, v in attrs.items())
                      for _, r in t.iterrows()]]
        # it must hold most of the excess and be clearly more concentrated (higher ratio)
        children = children[(children["excess"] >= share * best["excess"])
                            & (children["ratio"] > 1.1 * best["ratio"])]
        if children.empty:
            break
        best = children.iloc[0]
    return pd.concat([best.to_frame().T, t], ignore_index=True)


def _burst_start(source: Any, uc: ibis.Table, reason: str, attributes: dict[str, str],
                 volume: dict[str, float], ub: ibis.Table, b: Any, c: Any) -> Any:
    days = []
    for units in (ub, uc):
        f = units.filter(units.reason == reason,
                         *[units[a] == v for a, v in attributes.items()])
        days.append(source.execute(f.group_by("day").aggregate(x=f.count())))
    counts = pd.concat(days, ignore_index=True)
    counts["day"] = pd.to_datetime(counts["day"])
    full = pd.DataFrame({"day": pd.date_range(b.start, c.end - pd.Timedelta(days=1),
                                              freq="D")})
    s = full.merge(counts, on="day", how="left").fillna({"x": 0.0})
    s = s[(s["day"] < b.end) | (s["day"] >= c.start)]
    s = s.assign(metric="cpo", n=np.where(s["day"] < c.start, volume["baseline"] / max(
        1, (b.end - b.start).days), volume["current"] / max(1, (c.end - c.start).days)))
    s["value"] = s["x"] / s["n"]
    cps = change_points(s, c.start)
    cps = cps[(cps["day"] >= c.start) & (cps["change"] > 0)] if len(cps) else cps
    if len(cps):
        return cps.iloc[0]["day"]
    band = expected_band(s, c.start)
    high = band[(band["day"] >= c.start) & (band["anomaly"] == "high")]
    return None if high.empty else high.iloc[0]["day"]
