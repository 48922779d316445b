"""A rollout's impact on its target metrics and guardrails (``shopcx impact``).

For one market and change date: the daily panel of the treated and control
markets over ``window`` days before and after the change (cut at the data's
end), then per metric the difference-in-differences estimate with its
day-bootstrap interval, the synthetic-control estimate as a second opinion,
the event study and its pre-trend test (:mod:`shopcx.impact.did`). Target
metrics are those the change aims at; guardrails those it must not harm.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from shopcx.errors import InputError
from shopcx.impact.did import (
    BOOTSTRAP,
    did_estimate,
    event_study,
    placebo_effects,
    synthetic_control,
)
from shopcx.impact.panel import daily_panel
from shopcx.metrics.dictionary import KPI_BY_NAME

__all__ = ["GUARDRAILS", "estimate_rollout", "estimate_staggered"]

GUARDRAILS = ("cpo", "csat_mean", "seller_fault_cancellation_rate")
"""Metrics a change must not harm, checked with every rollout by default."""

INTERVAL = (f"95% percentile interval of a block bootstrap by day ({BOOTSTRAP} resamples: "
            "the same days for every market, before and after the change separately)")


def _num(v: Any) -> float | None:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)


def estimate_rollout(source: Any, market: str, change: Any, metrics: list[str],
                     controls: list[str] | None = None, window: int = 28,
                     guardrails: list[str] | None = None, seed: int = 0) -> dict[str, Any]:
    """Estimate a change's effect in ``market`` from day ``change`` on (see module).

    Returns a JSON-ready dict: ``market``, ``change_date``, ``controls``,
    ``before`` and ``after`` (the days used), ``interval`` (how intervals are
    made) and ``effects``, one per metric with its ``role`` (target or
    guardrail), ``kind``, the four levels, ``effect``, ``ci_low``,
    ``ci_high``, ``p_value``, ``significant``, ``better`` (which direction is
    good for customers), ``verdict``, ``synthetic`` (weights, pre_rmse,
    effect, interval), ``placebo`` (how many fake change dates in the
    pre-period, the largest placebo effect, the share at least as large as
    the effect), ``pre_trend_p`` and ``event_study`` (weekly gaps).
    """
    market = market.upper()
    guardrails = list(GUARDRAILS if guardrails is None else guardrails)
    wanted = list(dict.fromkeys([*metrics, *[g for g in guardrails if g not in metrics]]))
    bad = [m for m in wanted if m not in KPI_BY_NAME or KPI_BY_NAME[m].kind == "count"
           or KPI_BY_NAME[m].kind == "sum"]
    if bad:
        raise InputError(f"metric(s) {', '.join(bad)} cannot be estimated: use rates, means "
                         "or quantiles of the metric dictionary (docs/metrics.md)")
    present = source.markets()
    if market not in present:
        raise InputError(f"market {market} has no orders (markets present: "
                         f"{', '.join(present)})")
    controls = [c.upper() for c in controls] if controls else [m for m in present
                                                                 if m != market]
    if market in controls:
        raise InputError(f"{market} cannot be its own control")
    missing = [c for c in controls if c not in present]
    if missing or not controls:
        raise InputError(f"control market(s) {', '.join(missing) or '(none)'} have no orders "
                         f"(markets present: {', '.join(present)})")
    if not 7 <= window <= 365:
        raise InputError("--window must be between 7 and 365 days")
    day = pd.Timestamp(change).normalize()
    first = day - pd.Timedelta(days=window)
    end = source.data_end()
    last = min(day + pd.Timedelta(days=window), end) if end is not None else day
    if last <= day:
        raise InputError(f"the data ends {end:%Y-%m-%d}: nothing after the change date "
                         f"{day:%Y-%m-%d} to measure")
    panel = daily_panel(source, [market, *controls], wanted, first, last)
    if panel[panel["market"] == market]["day"].min() > first:
        raise InputError("the panel does not reach the change date's pre-period")
    effects = []
    for metric in wanted:
        r = did_estimate(panel, metric, market, controls, day, seed=seed)
        sc = synthetic_control(panel, metric, market, controls, day, seed=seed)
        es = event_study(panel, metric, market, controls, day, seed=seed)
        placebos = [e for _, e in placebo_effects(panel, metric, market, controls, day)
                    if e == e]
        better = KPI_BY_NAME[metric].better
        good = r.significant and better is not None and (
            (r.effect < 0) == (better == "lower"))
        verdict = ("no significant effect" if not r.significant
                   else "better for customers" if good
                   else "worse for customers" if better is not None else "changed")
        effects.append({
            "metric": metric, "role": "target" if metric in metrics else "guardrail",
            "kind": r.kind, "treated_before": _num(r.treated_before),
            "treated_after": _num(r.treated_after), "control_before": _num(r.control_before),
            "control_after": _num(r.control_after), "effect": _num(r.effect),
            "ci_low": _num(r.ci_low), "ci_high": _num(r.ci_high), "p_value": _num(r.p_value),
            "significant": r.significant, "better": better, "verdict": verdict,
            "synthetic": {"weights": sc.weights, "pre_rmse": _num(sc.pre_rmse),
                          "effect": _num(sc.effect), "ci_low": _num(sc.ci_low),
                          "ci_high": _num(sc.ci_high)},
            "placebo": {"dates": len(placebos),
                        "largest": _num(max(placebos, key=abs)) if placebos else None,
                        "as_large": (sum(abs(e) >= abs(r.effect) for e in placebos)
                                     / len(placebos)) if placebos else None},
            "pre_trend_p": _num(es["pre_trend_p"].dropna().iloc[0])
            if es["pre_trend_p"].notna().any() else None,
            "event_study": [{"week": int(w), "gap": _num(g), "ci_low": _num(lo),
                             "ci_high": _num(hi)}
                            for w, g, lo, hi in zip(es["week"], es["gap"], es["ci_low"],
                                                    es["ci_high"], strict=True)],
        })
    return {"market": market, "change_date": f"{day:%Y-%m-%d}", "controls": controls,
            "before": {"start": f"{first:%Y-%m-%d}", "end": f"{day:%Y-%m-%d}"},
            "after": {"start": f"{day:%Y-%m-%d}", "end": f"{last:%Y-%m-%d}"},
            "interval": INTERVAL, "effects": effects}


def estimate_staggered(source: Any, changes: dict[str, Any], metrics: list[str],
                       controls: list[str] | None = None, window: int = 28,
                       guardrails: list[str] | None = None, seed: int = 0) -> dict[str, Any]:
    """One change rolled out in several markets on different dates.

    Each treated market is estimated on its own date by
    :func:`estimate_rollout` against the controls, from which every treated
    market is removed (a market treated at another date is not a clean
    control for either). ``pooled`` averages the markets' effects per metric
    with equal weights (the average effect per market); its interval adds
    the markets' half-widths, the bound for errors that are fully correlated,
    because the markets share their control markets. With a single market
    this is :func:`estimate_rollout` plus a one-market ``pooled``.
    """
    treated = {m.upper(): pd.Timestamp(d).normalize() for m, d in changes.items()}
    if not treated:
        raise InputError("no treated market given")
    present = source.markets()
    base = [c.upper() for c in controls] if controls else [m for m in present
                                                            if m not in treated]
    clean = [c for c in base if c not in treated]
    if not clean:
        raise InputError("no control market left once the treated markets are removed")
    cohorts = [estimate_rollout(source, m, d, metrics, clean, window, guardrails, seed)
               for m, d in sorted(treated.items(), key=lambda kv: (kv[1], kv[0]))]
    pooled = []
    for i, first in enumerate(cohorts[0]["effects"]):
        per = [c["effects"][i] for c in cohorts]
        ok = [e for e in per if e["effect"] is not None and e["ci_low"] is not None]
        if not ok:
            pooled.append({"metric": first["metric"], "role": first["role"],
                           "kind": first["kind"], "effect": None, "ci_low": None,
                           "ci_high": None, "markets": 0, "verdict": "no data"})
            continue
        effect = sum(e["effect"] for e in ok) / len(ok)
        low = effect - sum(e["effect"] - e["ci_low"] for e in ok) / len(ok)
        high = effect + sum(e["ci_high"] - e["effect"] for e in ok) / len(ok)
        significant = low > 0 or high < 0
        better = first["better"]
        verdict = ("no significant effect" if not significant
                   else "changed" if better is None
                   else "better for customers" if (effect < 0) == (better == "lower")
                   else "worse for customers")
        pooled.append({"metric": first["metric"], "role": first["role"], "kind": first["kind"],
                       "effect": effect, "ci_low": low, "ci_high": high, "markets": len(ok),
                       "better": better, "significant": significant, "verdict": verdict})
    return {"staggered": True,
            "changes": {m: f"{d:%Y-%m-%d}" for m, d in treated.items()},
            "controls": clean, "cohorts": cohorts, "pooled": pooled,
            "pooled_interval": ("equal-weight average of the markets' effects; interval: "
                                "the markets' half-widths averaged (correct if their errors "
                                "are fully correlated, conservative otherwise)")}
