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

Drivers are ranked across dimensions by how much a segment pushed the rate in
the direction of the change *beyond its proportional share* of it,
``sign(change) × (contribution − w̄ × change)`` with ``w̄`` the segment's mean
share: a large segment that merely follows the market does not crowd out the
segment that caused it, and segments that held against the trend come last. For cancellation metrics the cancel reason
and stage are reported separately as ``breakdown`` (what kind of
cancellations moved), since they describe the metric itself rather than a
group of orders.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ibis
import numpy as np
import pandas as pd
from scipy.stats import norm

from shopcx.contract import CANCEL_CONTACT_REASONS
from shopcx.errors import InputError
from shopcx.metrics import (
    INITIATORS,
    STAGES,
    order_facts,
    parse_period,
    period_contacts,
    request_facts,
)
from shopcx.segments import with_buyer_segment
from shopcx.sources import load_source
from shopcx.stats import Z95, benjamini_hochberg

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
    facts = with_buyer_segment(source, order_facts(source, market, start, end), market, start)
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


def _counts(source: Any, units: ibis.Table, dim: str) -> pd.DataFrame:
    keyed = units.mutate(key=units[dim].cast("string").fill_null("(none)"))
    t = source.execute(keyed.group_by("key").aggregate(x=keyed._flag.sum(), n=keyed.count()))
    t["x"] = t["x"].fillna(0).astype(float)
    t["n"] = t["n"].astype(float)
    return t


def explain(source: Any, market: str, metric: str, baseline: tuple[Any, Any],
            current: tuple[Any, Any], dimensions: tuple[str, ...] | None = None,
            top: int = 20) -> dict[str, Any]:
    """Decompose the change of ``metric`` in ``market`` between two periods.

    Returns the overall values and change, and ``drivers``: every segment of
    every dimension ranked by absolute contribution (largest first), each
    with its dimension, key, contribution, share of the change, effect (rate,
    mix, both), shares and values in both periods, interval and noise flag.
    """
    if metric not in EXPLAINABLE:
        raise InputError(f"metric {metric!r} cannot be explained; choose one of "
                         f"{', '.join(EXPLAINABLE)}")
    source = load_source(source)
    b, c = parse_period(*baseline), parse_period(*current)
    dims = dimensions or (ORDER_DIMENSIONS + (CANCEL_DIMENSIONS if metric.startswith(
        ("cancellation_rate", "cancel_exit", "seller_fault")) else ()))
    ub = _units(source, metric, market, b.start, b.end)
    uc = _units(source, metric, market, c.start, c.end)
    totals = {}
    for name, units in (("baseline", ub), ("current", uc)):
        row = source.execute(units.aggregate(x=units._flag.sum(), n=units.count())).iloc[0]
        x, n = float(row["x"] or 0), float(row["n"] or 0)
        totals[name] = x / n if n else None
    change = (None if totals["baseline"] is None or totals["current"] is None
              else totals["current"] - totals["baseline"])
    parts = []
    for dim in dims:
        d = decompose(_counts(source, ub, dim), _counts(source, uc, dim),
                      EXPLAINABLE[metric].kind)
        parts.append(d.assign(dimension=dim))
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    table["share_of_change"] = table["contribution"] / change if change else np.nan
    # many segments are tested at once: noise unless significant after Benjamini-Hochberg
    _, table["p_adjusted"] = benjamini_hochberg(table["p_value"].to_numpy())
    table["noise"] = ~(table["p_adjusted"] < 0.05)
    mean_share = (table["baseline_share"] + table["current_share"]) / 2
    direction = 1.0 if (change or 0.0) >= 0 else -1.0
    table["surprise"] = direction * (table["contribution"] - mean_share * (change or 0.0))
    table = table.sort_values(["surprise", "dimension", "key"], ascending=[False, True, True],
                              kind="stable", ignore_index=True)
    what = table["dimension"].isin(CANCEL_DIMENSIONS)
    drivers = table[~what].reset_index(drop=True)
    breakdown = table[what].reindex(table.loc[what, "contribution"].abs().sort_values(
        ascending=False, kind="stable").index).reset_index(drop=True)
    return {"metric": metric, "market": market,
            "baseline": {"start": f"{b.start:%Y-%m-%d}", "end": f"{b.end:%Y-%m-%d}",
                         "value": totals["baseline"]},
            "current": {"start": f"{c.start:%Y-%m-%d}", "end": f"{c.end:%Y-%m-%d}",
                        "value": totals["current"]},
            "change": change, "drivers_table": drivers.head(top) if top else drivers,
            "breakdown_table": breakdown, "all_segments": table}


def explain_to_dict(result: dict[str, Any]) -> dict[str, Any]:
    """The JSON object of ``shopcx explain --format json`` (COMMANDS.md)."""
    def num(v: Any) -> Any:
        return None if v is None or (isinstance(v, float) and np.isnan(v)) else float(v)

    def rows(table: pd.DataFrame) -> list[dict[str, Any]]:
        return [{"dimension": r["dimension"], "key": r["key"],
                 "contribution": num(r["contribution"]),
                 "share_of_change": num(r["share_of_change"]), "effect": r["effect"],
                 "baseline_value": num(r["baseline_value"]),
                 "current_value": num(r["current_value"]),
                 "baseline_share": num(r["baseline_share"]),
                 "current_share": num(r["current_share"]),
                 "rate_effect": num(r["rate_effect"]), "mix_effect": num(r["mix_effect"]),
                 "ci_low": num(r["ci_low"]), "ci_high": num(r["ci_high"]),
                 "noise": bool(r["noise"])}
                for _, r in table.iterrows()]

    return {"metric": result["metric"], "market": result["market"],
            "baseline": result["baseline"], "current": result["current"],
            "change": num(result["change"]), "drivers": rows(result["drivers_table"]),
            "breakdown": rows(result["breakdown_table"])}
