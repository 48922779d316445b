"""A/B experiments from the ``assignments`` table (``shopcx experiment``).

An experiment randomises units (buyers or orders) into variants. Every KPI
that is a ratio of sums over units (rates such as the cancellation rate,
contacts per order, CSAT as the sum of scores over answers) is compared
between each variant and the control:

* **per unit, in the engine**: each unit's numerator and denominator after its
  assignment (to the data's end), and before the experiment started (the
  pre-period, buyers only), by :func:`shopcx.metrics.kpis.unit_aggregates`;
  only sums per variant (of values, squares and cross products) come back;
* **the difference** between variants with a delta-method standard error:
  the unit is what was randomised, so a buyer's orders are not independent
  of each other and the variance is computed over buyers, not orders;
* **CUPED**: the difference adjusted by the same metric in the pre-period,
  ``effect - theta * (pre-period difference)`` with ``theta`` chosen to
  minimise the variance; randomisation makes the pre-period difference zero
  on average, so the estimate stays unbiased and its interval narrows by the
  share of variance the pre-period explains;
* **Benjamini-Hochberg** across all metrics tested; a **sample-ratio
  mismatch** check (chi-square of units per variant against the planned
  split); the **minimum detectable effect** at 80% power for this sample.

All functions below :func:`analyse_experiment` work on those sums and are
tested by hand; :func:`unit_sums` makes them from a frame of units.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import ibis
import numpy as np
import pandas as pd
from scipy import stats

from shopcx.errors import InputError
from shopcx.metrics.dictionary import KPI_BY_NAME
from shopcx.metrics.kpis import unit_aggregates, unit_measure
from shopcx.metrics.stats import benjamini_hochberg as bh_correction

__all__ = [
    "EXPERIMENT_GUARDRAILS",
    "EXPERIMENT_METRICS",
    "RatioEffect",
    "analyse_experiment",
    "benjamini_hochberg",
    "list_experiments",
    "ratio_effect",
    "sample_ratio",
    "unit_sums",
]

EXPERIMENT_METRICS = ("cancel_cpo", "cancellation_rate", "cancel_request_success_rate")
"""Targets tested when none are named."""
EXPERIMENT_GUARDRAILS = ("cpo", "csat_mean", "seller_fault_cancellation_rate")
"""Metrics a variant must not harm, tested with every experiment by default."""
SRM_ALPHA = 0.001
"""A sample-ratio p-value below this means the split is broken (the usual threshold)."""
Z95 = 1.959963984540054
Z80 = 0.8416212335729143

_SUMS = ("n", "y", "d", "yy", "dd", "yd", "x", "m", "xx", "mm", "xm", "yx", "ym", "dx", "dm")


def unit_sums(y: Any, d: Any, x: Any = None, m: Any = None) -> dict[str, float]:
    """The sums :func:`ratio_effect` needs, from per-unit arrays.

    ``y``/``d``: each unit's numerator and denominator in the experiment;
    ``x``/``m``: the same in the pre-period (zeros when absent).
    """
    y, d = np.asarray(y, float), np.asarray(d, float)
    x = np.zeros_like(y) if x is None else np.asarray(x, float)
    m = np.zeros_like(y) if m is None else np.asarray(m, float)
    v = {"y": y, "d": d, "x": x, "m": m}
    out = {"n": float(len(y))}
    for name in _SUMS[1:]:
        a, b = (name[0], name[1]) if len(name) == 2 else (name, None)
        out[name] = float((v[a] * v[b]).sum()) if b else float(v[a].sum())
    return out


@dataclass(frozen=True)
class _Arm:
    n: float
    ratio: float        # R = sum y / sum d
    var: float          # delta-method variance of R
    pre: float          # Q = sum x / sum m (nan without pre-period)
    pre_var: float
    cov: float          # covariance of R and Q


def _arm(s: dict[str, float]) -> _Arm:
    n = s["n"]
    if n < 2 or s["d"] <= 0:
        return _Arm(n, math.nan, math.nan, math.nan, math.nan, math.nan)
    c = n / (n - 1)  # sample (not population) covariances

    def cov(a: str, b: str) -> float:
        key = a + b if a + b in s else b + a
        return c * (s[key] / n - (s[a] / n) * (s[b] / n))

    dbar, r = s["d"] / n, s["y"] / s["d"]
    var = (cov("y", "y") - 2 * r * cov("y", "d") + r * r * cov("d", "d")) / (dbar**2 * n)
    if s["m"] <= 0:
        return _Arm(n, r, max(var, 0.0), math.nan, math.nan, math.nan)
    mbar, q = s["m"] / n, s["x"] / s["m"]
    pre_var = (cov("x", "x") - 2 * q * cov("x", "m") + q * q * cov("m", "m")) / (mbar**2 * n)
    cross = (cov("y", "x") - r * cov("d", "x") - q * cov("y", "m") + r * q * cov("d", "m")) / (
        dbar * mbar * n)
    return _Arm(n, r, max(var, 0.0), q, max(pre_var, 0.0), cross)


@dataclass(frozen=True)
class RatioEffect:
    """One metric, one variant against the control."""

    control: float
    treatment: float
    control_ci: tuple[float, float]
    treatment_ci: tuple[float, float]
    effect: float
    se: float
    ci: tuple[float, float]
    p_value: float
    relative: float | None      # effect / control
    cuped: bool                 # adjusted by the pre-period
    theta: float | None
    variance_reduction: float | None  # 1 - var(CUPED) / var(plain)
    mde: float                  # smallest effect detected 80% of the time (alpha 0.05)


def ratio_effect(control: dict[str, float], treatment: dict[str, float],
                 cuped: bool = True) -> RatioEffect:
    """Difference of a ratio metric between two arms (treatment - control).

    Delta-method variances per arm; with ``cuped`` and a pre-period in both
    arms, the difference is adjusted by ``theta`` times the pre-period
    difference, ``theta`` = pooled cov(R, Q) / pooled var(Q) (the variance
    minimiser). Interval and p-value from the normal distribution.
    """
    a, b = _arm(control), _arm(treatment)
    plain = b.ratio - a.ratio
    plain_var = a.var + b.var
    use = cuped and all(math.isfinite(v) for v in (a.pre_var, b.pre_var)) and (
        a.pre_var + b.pre_var) > 0
    theta = (a.cov + b.cov) / (a.pre_var + b.pre_var) if use else None
    if theta is not None:
        effect = plain - theta * (b.pre - a.pre)
        var = plain_var - 2 * theta * (a.cov + b.cov) + theta**2 * (a.pre_var + b.pre_var)
        var = max(var, 0.0)
    else:
        effect, var = plain, plain_var
    se = math.sqrt(var) if math.isfinite(var) else math.nan
    if se > 0:
        p = float(2 * stats.norm.sf(abs(effect) / se))
    else:
        p = math.nan if not math.isfinite(effect) else (1.0 if effect == 0 else 0.0)

    def ci(value: float, v: float) -> tuple[float, float]:
        half = Z95 * math.sqrt(v) if math.isfinite(v) else math.nan
        return value - half, value + half

    reduction = (1 - var / plain_var) if theta is not None and plain_var > 0 else None
    return RatioEffect(
        a.ratio, b.ratio, ci(a.ratio, a.var), ci(b.ratio, b.var), effect, se,
        (effect - Z95 * se, effect + Z95 * se), p,
        effect / a.ratio if a.ratio else None, theta is not None, theta, reduction,
        (Z95 + Z80) * se)


def sample_ratio(counts: dict[str, int], split: dict[str, float] | None = None
                 ) -> dict[str, Any]:
    """Sample-ratio-mismatch check: chi-square of units per variant against ``split``.

    ``split`` gives each variant's planned share (default: equal). A p-value
    below :data:`SRM_ALPHA` means the assignment is broken (a bug, a bot, a
    variant that drops users) and no difference between variants can be trusted.
    """
    names = sorted(counts)
    observed = np.array([counts[v] for v in names], float)
    if split:
        missing = [v for v in names if v not in split]
        if missing:
            raise InputError(f"--split names no share for variant(s) {', '.join(missing)}")
        w = np.array([split[v] for v in names], float)
    else:
        w = np.ones(len(names))
    expected = observed.sum() * w / w.sum()
    chi2 = float(((observed - expected) ** 2 / expected).sum())
    p = float(stats.chi2.sf(chi2, len(names) - 1))
    return {"units": {v: int(c) for v, c in zip(names, observed, strict=True)},
            "expected": {v: float(e) for v, e in zip(names, expected, strict=True)},
            "chi2": chi2, "p_value": p, "mismatch": p < SRM_ALPHA}


def benjamini_hochberg(p: list[float]) -> list[float]:
    """Benjamini-Hochberg adjusted p-values (NaN kept as NaN), from
    :func:`shopcx.metrics.stats.benjamini_hochberg`."""
    return bh_correction(p)[1].tolist()


# --------------------------------------------------------------------------- on a source


def list_experiments(source: Any) -> pd.DataFrame:
    """The experiments in ``assignments``: id, unit type, variants, units, first and last
    assignment, and the market most of its units' orders are in (empty when the
    table is absent)."""
    a = source.tables.get("assignments")
    cols = ["experiment", "market", "unit_type", "variants", "units", "start",
            "last_assigned"]
    if a is None:
        return pd.DataFrame(columns=cols)
    per = a.group_by("experiment").aggregate(
        unit_type=a.unit_type.min(), variants=a.variant.nunique(), units=a.count(),
        start=a.assigned_at.min(), last_assigned=a.assigned_at.max())
    o = source.tables["orders"]
    hits = []
    for key, kind in (("buyer_id", "buyer"), ("order_id", "order")):
        k = a.filter(a.unit_type == kind)
        hits.append(k.join(o.select(key, "market"), k.unit_id == o[key]).select(
            "experiment", "market"))
    hit = ibis.union(*hits)
    counts = hit.group_by("experiment", "market").aggregate(n=hit.count())
    top = counts.mutate(rank=ibis.row_number().over(
        group_by=counts.experiment, order_by=[ibis.desc(counts.n), counts.market]))
    top = top.filter(top["rank"] == 0).select("experiment", "market")
    frame = source.execute(per.left_join(top, "experiment").drop("experiment_right")
                           .order_by("start", "experiment"))
    return frame[cols]


def _sums_by_variant(source: Any, t: Any, measures: dict[str, tuple[str, str]],
                     pre: bool) -> dict[str, dict[str, dict[str, float]]]:
    """Per metric and variant, the sums of :func:`unit_sums`, in one engine query."""
    aggs: dict[str, Any] = {"n": t.count()}
    for name, (num, den) in measures.items():
        y, d = t[num].cast("float64"), t[den].cast("float64")
        x = t[f"pre_{num}"].cast("float64") if pre else y * 0
        m = t[f"pre_{den}"].cast("float64") if pre else y * 0
        v = {"y": y, "d": d, "x": x, "m": m}
        for key in _SUMS[1:]:
            expr = v[key[0]] * v[key[1]] if len(key) == 2 else v[key]
            aggs[f"{name}__{key}"] = expr.sum()
    frame = source.execute(t.group_by("variant").aggregate(**aggs))
    out: dict[str, dict[str, dict[str, float]]] = {}
    for name in measures:
        out[name] = {str(r["variant"]): {"n": float(r["n"]), **{
            k: float(r[f"{name}__{k}"] or 0) for k in _SUMS[1:]}} for _, r in frame.iterrows()}
    return out


def analyse_experiment(source: Any, experiment: str, metrics: list[str] | None = None,
                       guardrails: list[str] | None = None, control: str | None = None,
                       split: dict[str, float] | None = None, pre_days: int = 28,
                       end: Any = None, market: str | None = None) -> dict[str, Any]:
    """Analyse one experiment of the ``assignments`` table (see the module).

    Each unit counts from its ``assigned_at`` to ``end`` (default: the data's
    end); the pre-period for CUPED is the ``pre_days`` before the first
    assignment (buyer units only: an order has no past). ``control`` is the
    variant named ``control`` unless given (else the first in name order).
    Returns a JSON-ready dict: ``experiment``, ``market``, ``unit_type``,
    ``variants``, ``control``, ``window``, ``sample_ratio``, ``effects``
    (per metric and variant: both levels with intervals, effect, interval,
    p-value, BH-adjusted p-value, relative effect, CUPED theta and variance
    reduction, MDE, verdict), ``verdict`` (one sentence).
    """
    a = source.tables.get("assignments")
    if a is None:
        raise InputError("the data has no assignments table: A/B experiments need one "
                         "(see docs/data_contract.md)")
    known = list_experiments(source)
    if experiment not in set(known["experiment"]):
        listed = ", ".join(known["experiment"]) or "none"
        raise InputError(f"experiment {experiment!r} is not in assignments (found: {listed})")
    info = known[known["experiment"] == experiment].iloc[0]
    unit_type = str(info["unit_type"])
    a = a.filter(a.experiment == experiment)
    variants = sorted(source.execute(a.select("variant").distinct())["variant"])
    if len(variants) < 2:
        raise InputError(f"experiment {experiment!r} has a single variant: nothing to compare")
    if control is None:
        control = "control" if "control" in variants else variants[0]
    elif control not in variants:
        raise InputError(f"--control-variant {control!r} is not one of {', '.join(variants)}")
    metrics = list(metrics or EXPERIMENT_METRICS)
    guardrails = list(EXPERIMENT_GUARDRAILS if guardrails is None else guardrails)
    wanted = list(dict.fromkeys([*metrics, *guardrails]))
    bad = [k for k in wanted if k not in KPI_BY_NAME or unit_measure(KPI_BY_NAME[k]) is None]
    if bad:
        raise InputError(f"cannot test {', '.join(bad)} in an experiment: only rates and means "
                         "(ratios of sums over units) can; see docs/impact.md")
    start = pd.Timestamp(info["start"])
    stop = pd.Timestamp(end) if end is not None else source.data_end()
    if stop is None or stop <= start:
        raise InputError(f"experiment {experiment!r} has no data after its start {start}")
    if market:
        market = market.upper()
    elif pd.isna(info["market"]):
        raise InputError(f"no order in the data belongs to experiment {experiment!r}'s units")
    else:
        market = str(info["market"])

    post_units = a.select("unit_id", "variant", t0=a.assigned_at,
                          t1=ibis.literal(stop.to_pydatetime()))
    post = unit_aggregates(source, market, post_units, unit_type)
    table = a.select("unit_id", "variant").join(post, "unit_id")
    pre = None
    if unit_type == "buyer" and pre_days > 0:
        lo = start - pd.Timedelta(days=pre_days)
        pre_units = a.select("unit_id", t0=ibis.literal(lo.to_pydatetime()),
                             t1=ibis.literal(start.to_pydatetime()))
        pre = unit_aggregates(source, market, pre_units, unit_type)
        pre = pre.rename({f"pre_{c}": c for c in pre.columns if c != "unit_id"})
        table = table.join(pre, "unit_id")

    counts = source.execute(a.group_by("variant").aggregate(n=a.count()))
    srm = sample_ratio(dict(zip(counts["variant"], counts["n"].astype(int), strict=True)),
                       split)
    measures = {name: unit_measure(KPI_BY_NAME[name]) for name in wanted}
    all_sums = _sums_by_variant(source, table, measures, pre is not None)  # type: ignore[arg-type]
    rows: list[dict[str, Any]] = []
    for name in wanted:
        kpi = KPI_BY_NAME[name]
        sums = all_sums[name]
        for v in variants:
            if v == control:
                continue
            r = ratio_effect(sums[control], sums[v], cuped=pre is not None)
            rows.append({"metric": name, "label": kpi.label, "kind": kpi.kind,
                         "role": "target" if name in metrics else "guardrail",
                         "variant": v, "better": kpi.better, **_effect_dict(r)})
    adjusted = benjamini_hochberg([r["p_value"] for r in rows])
    for r, q in zip(rows, adjusted, strict=True):
        r["p_adjusted"] = _num(q)
        r["significant"] = q is not None and math.isfinite(q) and q < 0.05
        r["verdict"] = _direction(r)
    return {
        "experiment": experiment, "market": market, "unit_type": unit_type,
        "variants": variants, "control": control,
        "window": {"start": f"{start:%Y-%m-%d %H:%M}", "end": f"{stop:%Y-%m-%d}",
                   "pre_period": (f"{start - pd.Timedelta(days=pre_days):%Y-%m-%d} to "
                                  f"{start:%Y-%m-%d}") if pre is not None else None},
        "sample_ratio": srm,
        "method": ("difference of ratio metrics over units, delta-method standard errors, "
                   "CUPED adjustment by the pre-period where there is one, normal 95% "
                   "intervals, Benjamini-Hochberg across all metrics and variants"),
        "effects": rows,
        "verdict": experiment_verdict(rows, srm, control),
    }


def _num(v: Any) -> float | None:
    return None if v is None or not math.isfinite(float(v)) else float(v)


def _effect_dict(r: RatioEffect) -> dict[str, Any]:
    return {
        "control_value": _num(r.control), "control_ci": [_num(c) for c in r.control_ci],
        "variant_value": _num(r.treatment), "variant_ci": [_num(c) for c in r.treatment_ci],
        "effect": _num(r.effect), "ci_low": _num(r.ci[0]), "ci_high": _num(r.ci[1]),
        "p_value": _num(r.p_value), "relative": _num(r.relative), "cuped": r.cuped,
        "theta": _num(r.theta), "variance_reduction": _num(r.variance_reduction),
        "mde": _num(r.mde),
    }


def _direction(r: dict[str, Any]) -> str:
    if not r["significant"]:
        return "no significant effect"
    up = (r["effect"] or 0) > 0
    if r["better"] is None:
        return "higher" if up else "lower"
    good = up == (r["better"] == "higher")
    return "better" if good else "worse"


def _fmt(kind: str, v: float | None) -> str:
    if v is None:
        return "n/a"
    return f"{abs(v) * 100:.2f} pts" if kind == "proportion" else f"{abs(v):.3f}"


def _moved(r: dict[str, Any]) -> str:
    """'cancellation contacts per order (lower by 0.029, 95% CI 0.020 to 0.039)'."""
    way = "lower" if r["effect"] < 0 else "higher"
    near, far = sorted((abs(r["ci_low"]), abs(r["ci_high"])))
    return (f"{r['label'].lower()} ({way} by {_fmt(r['kind'], r['effect'])}, 95% CI "
            f"{_fmt(r['kind'], near)} to {_fmt(r['kind'], far)})")


def experiment_verdict(rows: list[dict[str, Any]], srm: dict[str, Any], control: str) -> str:
    """One sentence for a program manager: what the variant did, and whether to trust it."""
    if srm["mismatch"]:
        return (f"Do not trust this test: units per variant are off the planned split "
                f"(sample-ratio p = {srm['p_value']:.2g}); fix the assignment first.")
    parts = []
    for v in dict.fromkeys(r["variant"] for r in rows):
        mine = [r for r in rows if r["variant"] == v]
        wins = [r for r in mine if r["role"] == "target" and r["verdict"] == "better"]
        losses = [r for r in mine if r["verdict"] == "worse"]
        if wins:
            text = f"{v} improved " + ", ".join(_moved(r) for r in wins)
        else:
            text = f"{v} showed no significant improvement on its targets against {control}"
        if losses:
            text += "; but worsened " + ", ".join(r["label"].lower() for r in losses)
        else:
            text += ", with no metric significantly worse"
        parts.append(text)
    return "; ".join(parts) + "."
