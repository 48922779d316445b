"""Root cause of a rate's change between two periods: exact rate/mix decomposition.

Rates over orders (cancellation rates, stage exits, seller-fault rate), over
buyer requests (success rate), and contacts per order (``cpo``, ``cancel_cpo``:
here the contacts of the period *about orders of the cohort*, so that
segments add up; contacts without an order or about older orders are left
out, which makes these values lower than the dictionary's CPO).

For a rate ``R = Σ_s w_s r_s`` over the segments ``s`` of one dimension
(``w_s`` the segment's share of the denominator, ``r_s`` its own rate), the
change between a baseline (0) and a current period (1) splits exactly into

    rate effect_s = (r1_s − r0_s) × (w0_s + w1_s) / 2
    mix effect_s  = (w1_s − w0_s) × (r0_s + r1_s) / 2
    contribution_s = rate effect_s + mix effect_s,    Σ_s contribution_s = R1 − R0

(the symmetric, Shapley split of a product). A segment missing in one period
takes the other period's rate, so it contributes through mix only. A driver is
``rate`` when its rate effect is more than twice its mix effect, ``mix`` in the
opposite case, ``both`` otherwise. Each contribution carries a 95% interval from
the binomial variance of the segment rates; a driver is marked ``noise`` unless
its contribution is significant after Benjamini-Hochberg control across all the
segments searched.

Not every segment with a large contribution is a cause: a segment holding 40%
of the orders contributes about 40% of any market-wide change. A segment's
*surprise* is how far it pushed the rate beyond its proportional share,
``contribution − w̄ × change`` (``w̄`` its mean share of the denominator), with
a variance from the same binomial (or Poisson) counts. Drivers are the
segments with positive surprise, ranked by absolute contribution; a driver is
``noise`` unless both its contribution and its surprise are significant after
Benjamini-Hochberg.

Redundant findings are pruned, using the counts of every pair of dimensions:

* ``S`` *reflects* ``D`` (another dimension, ranked higher) when at least 75%
  of ``S``'s contribution comes from orders also in ``D`` and those orders' rate
  did not move significantly more than the rest of ``D``; or when, with
  ``D``'s orders taken out of the market, ``S`` keeps less than a quarter of its
  surprise (payment method "wallet" stood out only because many of its parcels
  travel with the failing carrier); or when ``S`` lies within ``D`` (90% of its
  orders) and both contributions sit in the overlap.
  Then ``S`` is dropped from the drivers and names ``D`` in ``redundant_with``:
  a carrier that only reflects one seller's out-of-stock burst gives way to
  the seller.
* A *combination* of two dimensions (carrier × category, say) is a driver when
  it is significant and holds at least 75% of the contribution of *each* of
  its two segments without being contained in either: it explains clearly
  more than either alone, and both are dropped in its favour.

For cancellation metrics the cancel reason and stage are reported separately
as ``breakdown`` (what kind of cancellations moved), since they describe the
metric itself rather than a group of orders.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ibis
import numpy as np
import pandas as pd
from scipy.stats import norm

from shopcx.data.contract import CANCEL_CONTACT_REASONS
from shopcx.data.sources import load_source
from shopcx.errors import InputError
from shopcx.metrics.facts import (
    INITIATORS,
    STAGES,
    order_facts,
    parse_period,
    period_contacts,
    request_facts,
)
from shopcx.metrics.segments import with_buyer_segment
from shopcx.metrics.stats import Z95, benjamini_hochberg

__all__ = ["EXPLAINABLE", "decompose", "explain", "explain_to_dict"]

ORDER_DIMENSIONS = ("category", "sales_channel", "fulfillment", "payment_method", "carrier",
                    "seller_id", "buyer_segment")
CANCEL_DIMENSIONS = ("cancel_reason", "cancel_stage")


@dataclass(frozen=True)
class _Metric:
    unit: str  # "orders" or "requests"
    flag: Any  # function of the unit table -> boolean (or count) column
    unit_filter: Any = None
    kind: str = "proportion"  # or "ratio": a count per unit (Poisson variance)
    contacts: tuple[str, ...] | None = None  # contact reasons counted per order


def _metrics() -> dict[str, _Metric]:
    m: dict[str, _Metric] = {
        "cancellation_rate": _Metric("orders", lambda t: t.cancelled),
        "seller_fault_cancellation_rate": _Metric("orders", lambda t: t.seller_fault),
        "cancel_request_success_rate": _Metric(
            "requests", lambda t: t.outcome == "approved",
            lambda t: t.outcome.isin(("approved", "rejected"))),
    }
    m["cpo"] = _Metric("orders", lambda t: t._contacts, kind="ratio", contacts=())
    m["cancel_cpo"] = _Metric("orders", lambda t: t._contacts, kind="ratio",
                              contacts=CANCEL_CONTACT_REASONS)
    for i in INITIATORS:
        m[f"cancellation_rate_{i}"] = _Metric(
            "orders", lambda t, i=i: (t.cancel_initiator == i).fill_null(False))
    for s in STAGES:
        m[f"cancel_exit_{s}"] = _Metric(
            "orders", lambda t, s=s: (t.cancel_stage == s).fill_null(False))
    return m


EXPLAINABLE = _metrics()
"""The metrics ``explain`` decomposes (rates over orders or over buyer requests)."""


def decompose(baseline: pd.DataFrame, current: pd.DataFrame,
              kind: str = "proportion") -> pd.DataFrame:
    """Rate/mix decomposition of one dimension from per-segment counts.

    ``baseline`` and ``current`` have columns ``key``, ``x`` (numerator) and
    ``n`` (denominator). Returns one row per segment with shares, rates,
    effects, ``contribution``, its interval and ``effect``; contributions add
    up to the change of the overall rate.

    >>> b = pd.DataFrame({"key": ["a", "b"], "x": [5, 5], "n": [50, 50]})
    >>> c = pd.DataFrame({"key": ["a", "b"], "x": [20, 5], "n": [50, 50]})
    >>> d = decompose(b, c)
    >>> d["contribution"].round(3).tolist(), d["effect"].tolist()
    ([0.15, 0.0], ['rate', 'both'])
    """
    t = baseline.merge(current, on="key", how="outer", suffixes=("_0", "_1")).fillna(
        {"x_0": 0, "n_0": 0, "x_1": 0, "n_1": 0})
    n0, n1 = t["n_0"].sum(), t["n_1"].sum()
    w0 = t["n_0"] / n0 if n0 else t["n_0"] * 0.0
    w1 = t["n_1"] / n1 if n1 else t["n_1"] * 0.0
    r0 = (t["x_0"] / t["n_0"]).where(t["n_0"] > 0)
    r1 = (t["x_1"] / t["n_1"]).where(t["n_1"] > 0)
    r0, r1 = r0.fillna(r1).fillna(0.0), r1.fillna(r0).fillna(0.0)
    rate = (r1 - r0) * (w0 + w1) / 2
    mix = (w1 - w0) * (r0 + r1) / 2
    out = pd.DataFrame({"key": t["key"], "baseline_share": w0, "current_share": w1,
                        "baseline_value": r0, "current_value": r1, "rate_effect": rate,
                        "mix_effect": mix, "contribution": rate + mix,
                        "baseline_orders": t["n_0"], "current_orders": t["n_1"]})
    s0, s1 = (r0, r1) if kind == "ratio" else (r0 * (1 - r0), r1 * (1 - r1))  # Poisson
    var = ((w0 + w1) / 2) ** 2 * (s0 / t["n_0"].where(t["n_0"] > 0)
                                  + s1 / t["n_1"].where(t["n_1"] > 0)).fillna(0.0)
    se = np.sqrt(var)
    out["ci_low"], out["ci_high"] = out["contribution"] - Z95 * se, out["contribution"] + Z95 * se
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, out["contribution"].abs() / se, np.where(
            out["contribution"].abs() > 0, np.inf, 0.0))
    out["p_value"] = 2 * norm.sf(z)
    out["noise"] = (out["ci_low"] <= 0) & (out["ci_high"] >= 0)
    out["effect"] = np.select([rate.abs() > 2 * mix.abs(), mix.abs() > 2 * rate.abs()],
                              ["rate", "mix"], "both")
    return out


def _units(source: Any, metric: str, market: str, start: Any, end: Any) -> ibis.Table:
    spec = EXPLAINABLE[metric]
    p = parse_period(start, end)
    facts = source.kept(  # shared by every metric explained for this period
        ("segmented-order-facts", market.upper(), p.start, p.end),
        lambda: with_buyer_segment(source, order_facts(source, market, p.start, p.end),
                                   market, p.start))
    if spec.contacts is not None:  # contacts of the period about each order
        c = period_contacts(source, market, start, end)
        if spec.contacts:
            c = c.filter(c.reason.isin(spec.contacts))
        per = c.group_by("order_id").aggregate(_contacts=c.count())
        facts = facts.left_join(per, "order_id").drop("order_id_right")
        facts = facts.mutate(_contacts=facts._contacts.fill_null(0))
    if spec.unit == "requests":
        r = request_facts(source, facts)
        dims = facts.select("order_id", *ORDER_DIMENSIONS, *CANCEL_DIMENSIONS)
        units = r.select("request_id", "order_id", "outcome").join(dims, "order_id")
    else:
        units = facts
    if spec.unit_filter is not None:
        units = units.filter(spec.unit_filter(units))
    return units.mutate(_flag=spec.flag(units))


THETA = 0.75
"""Share of a segment's contribution that must lie in an overlap to call it redundant."""
WITHIN = 0.9
"""Share of a segment's orders inside another segment for it to lie within it."""
SEP = " × "


def _counts(source: Any, units: ibis.Table, groups: list[tuple[str, ...]]
            ) -> list[pd.DataFrame]:
    """Flagged units ``x`` and units ``n`` per segment of each group of dimensions
    (one statement for all groups; ``()`` is the total). Each frame has ``key``
    (values joined by ``SEP``; null as "(none)"), ``x`` and ``n``."""
    out = []
    for dims, t in zip(groups, source.aggregate_each(units, groups, x=ibis._._flag.sum(),
                                                     n=ibis._.count()), strict=True):
        values = t[list(dims)].fillna("(none)")
        key = ([SEP.join(map(str, v)) for v in values.itertuples(index=False)] if dims
               else [""] * len(t))
        out.append(pd.DataFrame({"key": pd.Series(key, dtype=object),
                                 "x": t["x"].fillna(0).astype(float),
                                 "n": t["n"].astype(float)}))
    return out


def _variance(x: Any, n: Any, kind: str) -> Any:
    """Variance of a count ``x`` of ``n`` units: binomial, or Poisson for ratios."""
    if kind == "ratio":
        return x
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(n > 0, x * (1 - x / np.where(n > 0, n, 1)), 0.0)


def _surprise(t: pd.DataFrame, totals: dict[str, tuple[float, float]], change: float,
              kind: str) -> pd.DataFrame:
    """Surprise (contribution beyond the proportional share), its standard error, p-value."""
    (x0_all, n0_all), (x1_all, n1_all) = totals["baseline"], totals["current"]
    x0, n0, x1, n1 = (t[c].to_numpy(float) for c in ("x_0", "n_0", "x_1", "n_1"))
    w = ((n0 / n0_all if n0_all else 0 * n0) + (n1 / n1_all if n1_all else 0 * n1)) / 2
    out = pd.DataFrame(index=t.index)
    out["surprise"] = t["contribution"].to_numpy() - w * change
    var = np.zeros(len(t))
    for x, n, xa, na in ((x0, n0, x0_all, n0_all), (x1, n1, x1_all, n1_all)):
        if na:
            var += ((1 - w) ** 2 * _variance(x, n, kind)
                    + w ** 2 * _variance(xa - x, na - n, kind)) / na ** 2
    se = np.sqrt(var)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, out["surprise"].abs() / se,
                     np.where(out["surprise"].abs() > 1e-12, np.inf, 0.0))
    out["surprise_se"] = se
    out["surprise_p"] = 2 * norm.sf(z)
    return out


def _table(c0: pd.DataFrame, c1: pd.DataFrame, totals: dict[str, tuple[float, float]],
           change: float, kind: str) -> pd.DataFrame:
    """Decomposition of one dimension (or pair) with raw counts and surprise."""
    d = decompose(c0, c1, kind)
    raw = c0.merge(c1, on="key", how="outer", suffixes=("_0", "_1")).fillna(0.0)
    d = d.merge(raw, on="key", how="left")
    return pd.concat([d, _surprise(d, totals, change, kind)], axis=1)


def _adjust(table: pd.DataFrame, change: float) -> pd.DataFrame:
    """Benjamini-Hochberg over a family of segments; ``noise`` and ``distinct`` flags."""
    if table.empty:
        return table.assign(p_adjusted=[], surprise_p_adjusted=[], noise=[], distinct=[])
    _, table["p_adjusted"] = benjamini_hochberg(table["p_value"].to_numpy())
    _, table["surprise_p_adjusted"] = benjamini_hochberg(table["surprise_p"].to_numpy())
    table["noise"] = ~(table["p_adjusted"] < 0.05)
    direction = 1.0 if change >= 0 else -1.0
    table["distinct"] = (table["surprise_p_adjusted"] < 0.05) & (
        direction * table["surprise"] > 0)
    return table


def _same_way(value: float, change: float) -> bool:
    return value * (1.0 if change >= 0 else -1.0) > 1e-12


class _Overlaps:
    """Counts of every pair of dimensions, to compare a segment with another."""

    def __init__(self, pairs: dict[tuple[str, str], pd.DataFrame],
                 totals: dict[str, tuple[float, float]], change: float, kind: str) -> None:
        self.pairs, self.totals, self.change, self.kind = pairs, totals, change, kind

    def cell(self, a: pd.Series, b: pd.Series) -> pd.Series | None:
        if (a["dimension"], b["dimension"]) in self.pairs:
            t, key = self.pairs[a["dimension"], b["dimension"]], a["key"] + SEP + b["key"]
        elif (b["dimension"], a["dimension"]) in self.pairs:
            t, key = self.pairs[b["dimension"], a["dimension"]], b["key"] + SEP + a["key"]
        else:
            return None
        row = t[t["key"] == key]
        return None if row.empty else row.iloc[0]

    def _moved_more(self, cell: pd.Series, outer: pd.Series) -> bool:
        """Did the overlap's rate move significantly more (in the change's way) than the rest?"""
        rest = {k: outer[k] - cell[k] for k in ("x_0", "n_0", "x_1", "n_1")}
        if min(cell["n_0"], cell["n_1"], rest["n_0"], rest["n_1"]) <= 0:
            return False
        diff = ((cell["x_1"] / cell["n_1"] - cell["x_0"] / cell["n_0"])
                - (rest["x_1"] / rest["n_1"] - rest["x_0"] / rest["n_0"]))
        var = sum(float(_variance(np.float64(x[f"x_{p}"]), np.float64(x[f"n_{p}"]), self.kind))
                  / x[f"n_{p}"] ** 2 for x in (cell, rest) for p in (0, 1))
        if not _same_way(diff, self.change):
            return False
        return var == 0 or abs(diff) / np.sqrt(var) > Z95

    def _explained_by(self, s: pd.Series, d: pd.Series, cell: pd.Series, c: float) -> bool:
        """Does ``s`` stand out only through its overlap with ``d``?

        Take ``d``'s orders out of the market: what is left of ``s`` should then
        push the remaining change beyond its share by at least a quarter of its
        surprise, or ``s`` is explained by ``d``.
        """
        if not _same_way(s["surprise"], self.change):
            return False
        (_, n0), (_, n1) = self.totals["baseline"], self.totals["current"]
        w_cell = ((cell["n_0"] / n0 if n0 else 0.0) + (cell["n_1"] / n1 if n1 else 0.0)) / 2
        w_s = (s["baseline_share"] + s["current_share"]) / 2
        w_d = (d["baseline_share"] + d["current_share"]) / 2
        if w_d >= 1:
            return False
        rest_change = self.change - d["contribution"]
        rest_surprise = (s["contribution"] - c) - (w_s - w_cell) / (1 - w_d) * rest_change
        sign = 1.0 if self.change >= 0 else -1.0
        return sign * rest_surprise < 0.25 * sign * s["surprise"]

    def relation(self, s: pd.Series, d: pd.Series) -> str | None:
        """``"reflects"`` when ``s`` only reflects ``d``, ``"reflected"`` for the reverse."""
        cell = self.cell(s, d)
        if cell is None:
            return None
        (_, n0), (_, n1) = self.totals["baseline"], self.totals["current"]
        c = (cell["x_1"] / n1 if n1 else 0.0) - (cell["x_0"] / n0 if n0 else 0.0)
        if not _same_way(c, self.change):
            return None
        in_s = c / s["contribution"] >= THETA if _same_way(s["contribution"], self.change) \
            else False
        in_d = c / d["contribution"] >= THETA if _same_way(d["contribution"], self.change) \
            else False

        def within(inner: pd.Series) -> bool:
            shares = [cell[f"n_{p}"] / inner[f"n_{p}"] for p in (0, 1) if inner[f"n_{p}"] > 0]
            return bool(shares) and min(shares) >= WITHIN

        if in_s and in_d:
            if within(d):  # also when both are the same orders: keep the higher-ranked
                return "reflects"
            if within(s):
                return "reflected"
            return None  # a combination of the two: see the combination search
        if in_s and not self._moved_more(cell, d):
            return "reflects"
        if self._explained_by(s, d, cell, c):
            return "reflects"
        if in_d and not self._moved_more(cell, s):
            return "reflected"
        return None


def _combinations(pairs: dict[tuple[str, str], pd.DataFrame], one: pd.DataFrame,
                  change: float) -> pd.DataFrame:
    """Two-dimension cells that hold most of both their segments' contributions."""
    found = []
    by_key = one.set_index(["dimension", "key"]).sort_index()
    for (a, b), t in pairs.items():
        if t.empty:
            continue
        keys = t["key"].str.split(SEP, n=1, expand=True, regex=False)
        ca = by_key.loc[list(zip([a] * len(t), keys[0], strict=True)), "contribution"].to_numpy()
        cb = by_key.loc[list(zip([b] * len(t), keys[1], strict=True)), "contribution"].to_numpy()
        na = by_key.loc[list(zip([a] * len(t), keys[0], strict=True)), ["n_0", "n_1"]].to_numpy()
        nb = by_key.loc[list(zip([b] * len(t), keys[1], strict=True)), ["n_0", "n_1"]].to_numpy()
        cells = t[["n_0", "n_1"]].to_numpy()
        sign = 1.0 if change >= 0 else -1.0
        c = t["contribution"].to_numpy() * sign
        with np.errstate(divide="ignore", invalid="ignore"):
            ok = ((c > 1e-12) & (ca * sign > 1e-12) & (cb * sign > 1e-12)
                  & (c >= THETA * ca * sign) & (c >= THETA * cb * sign)
                  & (np.nanmin(np.where(na > 0, cells / na, np.inf), axis=1) < WITHIN)
                  & (np.nanmin(np.where(nb > 0, cells / nb, np.inf), axis=1) < WITHIN)
                  & ~t["noise"].to_numpy() & t["distinct"].to_numpy())
        if ok.any():
            hit = t[ok].copy()
            hit["dimension"] = a + SEP + b
            hit["parents"] = [((a, x), (b, y)) for x, y in zip(keys[0][ok], keys[1][ok],
                                                               strict=True)]
            found.append(hit)
    return pd.concat(found, ignore_index=True) if found else pd.DataFrame()


def _label(row: pd.Series) -> str:
    return f"{row['dimension']}={row['key']}"


def _prune(one: pd.DataFrame, combos: pd.DataFrame, overlaps: _Overlaps,
           change: float, candidates: int = 40) -> pd.DataFrame:
    """The drivers: segments pushing the change, without redundant ones, by |contribution|.

    Fills ``one["redundant_with"]`` for the segments left out. Only the
    ``candidates`` largest are compared with each other (pairwise checks).
    """
    redundant: dict[tuple[str, str], str] = {}
    for _, combo in combos.iterrows() if not combos.empty else ():
        for parent in combo["parents"]:
            redundant.setdefault(parent, _label(combo))
    rows = [r for _, r in one.iterrows() if _same_way(r["surprise"], change)]
    if not combos.empty:
        rows += [r for _, r in combos.drop(columns="parents").iterrows()]
    rows.sort(key=lambda r: (-abs(r["contribution"]), r["dimension"], r["key"]))
    kept: list[pd.Series] = []
    for r in rows[:candidates]:
        me = (r["dimension"], r["key"])
        if SEP not in r["dimension"] and me not in redundant:
            # only a real driver of another dimension can explain a segment away
            for d in [d for d in kept if SEP not in d["dimension"]
                      and d["dimension"] != r["dimension"] and not d["noise"] and d["distinct"]
                      and (d["dimension"], d["key"]) not in redundant]:
                rel = overlaps.relation(r, d)
                if rel == "reflects":
                    redundant[me] = _label(d)
                    break
                if rel == "reflected":
                    redundant[d["dimension"], d["key"]] = _label(r)
        if me not in redundant:
            kept.append(r)
    kept += rows[candidates:]
    kept = [r for r in kept if (r["dimension"], r["key"]) not in redundant]
    one["redundant_with"] = [redundant.get((d, k)) for d, k in zip(
        one["dimension"], one["key"], strict=True)]
    drivers = pd.DataFrame(kept).reset_index(drop=True) if kept else one.iloc[0:0].copy()
    significant, distinct = ~drivers["noise"].astype(bool), drivers["distinct"].astype(bool)
    drivers["follows_market"] = significant & ~distinct
    drivers["noise"] = ~(significant & distinct)
    drivers["redundant_with"] = None
    return drivers


def explain(source: Any, market: str, metric: str, baseline: tuple[Any, Any],
            current: tuple[Any, Any], dimensions: tuple[str, ...] | None = None,
            top: int = 20, combinations: bool = True) -> dict[str, Any]:
    """Decompose the change of ``metric`` in ``market`` between two periods.

    Returns the overall values and change; ``drivers_table``: the drivers
    (segments and two-dimension combinations pushing the change, redundant
    ones pruned) ranked by absolute contribution, each with its dimension, key,
    contribution, share of the change, effect (rate, mix, both), shares and
    values in both periods, interval and noise flag; ``all_segments``: every
    segment of every dimension (contributions add up to the change within a
    dimension), with ``redundant_with`` for pruned ones; ``breakdown_table``
    for cancel reason and stage; ``combinations_table``.
    """
    if metric not in EXPLAINABLE:
        raise InputError(f"metric {metric!r} cannot be explained; choose one of "
                         f"{', '.join(EXPLAINABLE)}")
    source = load_source(source)
    kind = EXPLAINABLE[metric].kind
    b, c = parse_period(*baseline), parse_period(*current)
    dims = tuple(dimensions or ORDER_DIMENSIONS)
    what = CANCEL_DIMENSIONS if dimensions is None and metric.startswith(
        ("cancellation_rate", "cancel_exit", "seller_fault")) else ()
    cols = dims + what
    ub = _units(source, metric, market, b.start, b.end).select(*cols, "_flag")
    uc = _units(source, metric, market, c.start, c.end).select(*cols, "_flag")
    with source.cached(ub) as ub, source.cached(uc) as uc:
        groups: list[tuple[str, ...]] = [(), *((d,) for d in cols)]
        if combinations:
            groups += [(a, bdim) for i, a in enumerate(dims) for bdim in dims[i + 1:]]
        counted = {name: dict(zip(groups, _counts(source, units, groups), strict=True))
                   for name, units in (("baseline", ub), ("current", uc))}
    totals = {}
    for name, frames in counted.items():
        row = frames[()]
        totals[name] = (float(row["x"].sum()), float(row["n"].sum()))
    one = {d: (counted["baseline"][d,], counted["current"][d,]) for d in cols}
    pair_counts = {g: (counted["baseline"][g], counted["current"][g])
                   for g in groups if len(g) == 2}
    values = {k: (x / n if n else None) for k, (x, n) in totals.items()}
    change = (None if values["baseline"] is None or values["current"] is None
              else values["current"] - values["baseline"])
    delta = change or 0.0
    parts = [_table(*one[d], totals, delta, kind).assign(dimension=d) for d in cols]
    table = _adjust(pd.concat(parts, ignore_index=True), delta)
    table["share_of_change"] = table["contribution"] / change if change else np.nan
    pairs = {k: _adjust(_table(*v, totals, delta, kind), delta) for k, v in pair_counts.items()}
    if pairs:  # one family for all cells: Benjamini-Hochberg across every pair
        cells = _adjust(pd.concat([t.assign(_pair=i) for i, t in enumerate(pairs.values())],
                                  ignore_index=True), delta)
        pairs = {k: cells[cells["_pair"] == i].drop(columns="_pair").reset_index(drop=True)
                 for i, k in enumerate(pairs)}
    is_what = table["dimension"].isin(what)
    segments = table[~is_what].reset_index(drop=True)
    combos = _combinations(pairs, segments, delta) if pairs else pd.DataFrame()
    if not combos.empty:
        combos["share_of_change"] = combos["contribution"] / change if change else np.nan
    drivers = _prune(segments, combos, _Overlaps(pairs, totals, delta, kind), delta)
    breakdown = table[is_what]
    breakdown = breakdown.reindex(breakdown["contribution"].abs().sort_values(
        ascending=False, kind="stable").index).reset_index(drop=True)
    return {"metric": metric, "market": market,
            "baseline": {"start": f"{b.start:%Y-%m-%d}", "end": f"{b.end:%Y-%m-%d}",
                         "value": values["baseline"]},
            "current": {"start": f"{c.start:%Y-%m-%d}", "end": f"{c.end:%Y-%m-%d}",
                        "value": values["current"]},
            "change": change, "drivers_table": drivers.head(top) if top else drivers,
            "breakdown_table": breakdown,
            "all_segments": pd.concat([segments, table[is_what]], ignore_index=True),
            "combinations_table": combos}


def explain_to_dict(result: dict[str, Any]) -> dict[str, Any]:
    """The JSON object of ``shopcx explain --format json`` (COMMANDS.md)."""
    def num(v: Any) -> Any:
        return None if v is None or (isinstance(v, float) and np.isnan(v)) else float(v)

    def rows(table: pd.DataFrame) -> list[dict[str, Any]]:
        out = []
        for _, r in table.iterrows():
            row = {"dimension": r["dimension"], "key": r["key"],
                   "contribution": num(r["contribution"]),
                   "share_of_change": num(r["share_of_change"]), "effect": r["effect"],
                   "baseline_value": num(r["baseline_value"]),
                   "current_value": num(r["current_value"]),
                   "baseline_share": num(r["baseline_share"]),
                   "current_share": num(r["current_share"]),
                   "rate_effect": num(r["rate_effect"]), "mix_effect": num(r["mix_effect"]),
                   "ci_low": num(r["ci_low"]), "ci_high": num(r["ci_high"]),
                   "surprise": num(r["surprise"]), "noise": bool(r["noise"])}
            if "follows_market" in r:
                row["follows_market"] = bool(r["follows_market"])
            if isinstance(r.get("redundant_with"), str):
                row["redundant_with"] = r["redundant_with"]
            out.append(row)
        return out

    return {"metric": result["metric"], "market": result["market"],
            "kind": EXPLAINABLE[result["metric"]].kind,
            "baseline": result["baseline"], "current": result["current"],
            "change": num(result["change"]), "drivers": rows(result["drivers_table"]),
            "breakdown": rows(result["breakdown_table"]),
            "segments": rows(result["all_segments"])}
