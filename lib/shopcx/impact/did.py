"""Difference-in-differences for a rollout in one market against control markets.

The treated market's KPI after the change minus before, less the same for
the control markets pooled: what changed in the treated market beyond what
changed everywhere else (seasonality, a sale, a platform-wide incident).

* A **rate** KPI (proportions and ratios of the metric dictionary) is, in
  each group and period, the sum of its daily numerators over the sum of its
  daily denominators; a **mean or quantile** KPI (hours to resolve, CSAT) is
  the mean of its daily values (days without a value left out).
* **Intervals** come from a bootstrap that resamples whole days, the same
  days for every market (a block bootstrap by day): day-to-day shocks shared
  by markets, and the days' own noise, are what makes the estimate uncertain.
  Days are resampled separately before and after the change. The 95% interval
  is the 2.5th to 97.5th percentile of the bootstrap estimates, the p-value the
  share of bootstrap estimates on the other side of zero, doubled.
* The **event study** gives the gap between treated and control per week
  relative to the last week before the change, with the same bootstrap: the
  pre-period weeks should hover around zero (parallel trends).
* **Placebos** repeat the estimate with fake change dates in the pre-period;
  a real effect should stand out of them.

Assumptions (docs/impact.md, in plain words): without the change the treated
market would have moved like the controls (parallel trends); nothing else
changed in the treated market alone at the same time; the change did not
spill over into the controls.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from shopcx.errors import InputError

__all__ = ["DidResult", "SynthResult", "did_estimate", "event_study", "placebo_dates",
           "placebo_effects", "synthetic_control"]

BOOTSTRAP = 2000
"""Bootstrap resamples of days."""


@dataclass(frozen=True)
class DidResult:
    """A difference-in-differences estimate with its day-bootstrap interval."""

    kpi: str
    kind: str
    treated_before: float
    treated_after: float
    control_before: float
    control_after: float
    effect: float
    ci_low: float
    ci_high: float
    p_value: float
    days_before: int
    days_after: int

    @property
    def significant(self) -> bool:
        return bool(self.p_value < 0.05)


def _is_rate(kind: str) -> bool:
    return kind in ("proportion", "ratio")


def _arrays(panel: pd.DataFrame, kpi: str, treated: str, controls: list[str]
            ) -> tuple[str, pd.DatetimeIndex, np.ndarray, np.ndarray]:
    """Per day: (numerator, denominator) of the treated market and the pooled controls;
    for means, (value, 1) with 0 weight on days without a value."""
    g = panel[panel["kpi"] == kpi]
    if g.empty:
        raise InputError(f"the panel has no KPI {kpi}")
    kind = str(g["kind"].iloc[0])
    missing = [m for m in [treated, *controls] if m not in set(g["market"])]
    if missing:
        raise InputError(f"the panel has no market(s) {', '.join(missing)}")
    days = pd.DatetimeIndex(sorted(g["day"].unique()))

    def per_day(markets: list[str]) -> np.ndarray:
        rows = g[g["market"].isin(markets)]
        if _is_rate(kind):
            s = rows.groupby("day")[["numerator", "denominator"]].sum().reindex(days)
            return s.fillna(0.0).to_numpy(dtype=float)
        v = rows.groupby("day")["value"].mean().reindex(days)
        have = v.notna().to_numpy()
        return np.column_stack([v.fillna(0.0).to_numpy(dtype=float), have.astype(float)])

    return kind, days, per_day([treated]), per_day(controls)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def _effect(t: np.ndarray, c: np.ndarray, before: np.ndarray, w: np.ndarray
            ) -> np.ndarray:
    """DiD for each row of day weights ``w`` (resample counts; ``before`` marks days)."""
    def level(x: np.ndarray, mask: np.ndarray) -> np.ndarray:
        ww = w * mask
        return _ratio(ww @ x[:, 0], ww @ x[:, 1])

    after = ~before
    return (level(t, after) - level(t, before)) - (level(c, after) - level(c, before))


def did_estimate(panel: pd.DataFrame, kpi: str, treated: str, controls: list[str],
                 change: Any, seed: int = 0, resamples: int = BOOTSTRAP) -> DidResult:
    """The effect of a change on ``kpi`` in ``treated`` from day ``change`` on.

    ``panel`` is :func:`shopcx.impact.panel.daily_panel` (its days before
    ``change`` are the pre-period, the others the post-period).
    """
    if treated in controls:
        raise InputError(f"{treated} cannot be its own control")
    if not controls:
        raise InputError("give at least one control market")
    kind, days, t, c = _arrays(panel, kpi, treated, controls)
    before = np.asarray(days < pd.Timestamp(change))
    if before.all() or not before.any():
        raise InputError(f"the change date {change} must fall inside the panel's days "
                         f"({days[0]:%Y-%m-%d} to {days[-1]:%Y-%m-%d})")
    point = _effect(t, c, before, np.ones((1, len(days))))[0]
    rng = np.random.default_rng(seed)
    resamples = max(int(resamples), 0)  # 0: the point estimate alone (placebos)
    w = np.zeros((resamples, len(days)))
    for mask in (before, ~before):
        idx = np.flatnonzero(mask)
        draws = rng.integers(0, len(idx), size=(resamples, len(idx)))
        np.add.at(w, (np.repeat(np.arange(resamples), len(idx)), idx[draws].ravel()), 1.0)
    boot = _effect(t, c, before, w) if resamples else np.array([])
    boot = boot[np.isfinite(boot)]
    low, high = (np.percentile(boot, [2.5, 97.5]) if len(boot) else (np.nan, np.nan))
    p = min(1.0, 2 * min((boot <= 0).mean(), (boot >= 0).mean())) if len(boot) else np.nan
    ones = np.ones(len(days))

    def level(x: np.ndarray, mask: np.ndarray) -> float:
        return float(_ratio(np.array([(ones * mask) @ x[:, 0]]),
                            np.array([(ones * mask) @ x[:, 1]]))[0])

    return DidResult(kpi, kind, level(t, before), level(t, ~before), level(c, before),
                     level(c, ~before), float(point), float(low), float(high), float(p),
                     int(before.sum()), int((~before).sum()))


def event_study(panel: pd.DataFrame, kpi: str, treated: str, controls: list[str],
                change: Any, seed: int = 0, resamples: int = BOOTSTRAP) -> pd.DataFrame:
    """The treated-minus-control gap per week, relative to the last week before the change.

    Weeks are counted from the change (week 0 starts on the change day; week
    -1 is the 7 days before it, the reference). Returns ``week``, ``start``,
    ``gap`` (the week's gap minus the reference week's), ``ci_low``, ``ci_high``
    (day bootstrap within each week) and ``pre_trend_p``: for the pre-period
    rows, the p-value of the test that every pre-period week had the same gap
    (:func:`_pre_trend_p`, an F-test on the daily gaps; small values mean the
    trends were not parallel before the change).
    """
    kind, days, t, c = _arrays(panel, kpi, treated, controls)
    offset = (days - pd.Timestamp(change)).days
    week = np.floor_divide(offset, 7)
    weeks = sorted(set(week))
    if -1 not in weeks:
        raise InputError("the panel needs the week before the change (the reference week)")
    rng = np.random.default_rng(seed)

    def gaps(w: np.ndarray) -> np.ndarray:
        out = []
        for k in weeks:
            m = week == k
            ww = w * m
            out.append(_ratio(ww @ t[:, 0], ww @ t[:, 1]) - _ratio(ww @ c[:, 0], ww @ c[:, 1]))
        g = np.column_stack(out)
        return g - g[:, [weeks.index(-1)]]

    point = gaps(np.ones((1, len(days))))[0]
    w = np.zeros((resamples, len(days)))
    for k in weeks:  # resample days within each week
        idx = np.flatnonzero(week == k)
        draws = rng.integers(0, len(idx), size=(resamples, len(idx)))
        np.add.at(w, (np.repeat(np.arange(resamples), len(idx)), idx[draws].ravel()), 1.0)
    boot = gaps(w)
    low, high = np.nanpercentile(boot, 2.5, axis=0), np.nanpercentile(boot, 97.5, axis=0)
    p = _pre_trend_p(t, c, week)
    return pd.DataFrame({
        "week": weeks, "start": [pd.Timestamp(change) + pd.Timedelta(weeks=int(k))
                                 for k in weeks],
        "gap": point, "ci_low": low, "ci_high": high,
        "pre_trend_p": [p if k < -1 else np.nan for k in weeks]})


def _pre_trend_p(t: np.ndarray, c: np.ndarray, week: np.ndarray) -> float:
    """Were the weeks before the change alike? The p-value of a one-way analysis of
    variance of the daily treated-minus-control gaps, grouped by pre-period week.

    Under parallel trends every pre-period week has the same mean gap and the
    days only add noise; the F-test compares the spread between the weeks with
    the spread of days within them, so it accounts for day-to-day noise
    estimated from the data itself (NaN with fewer than two pre-period weeks).
    """
    from scipy import stats

    gap = _ratio(t[:, 0], t[:, 1]) - _ratio(c[:, 0], c[:, 1])
    groups = [gap[(week == k) & np.isfinite(gap)] for k in sorted(set(week[week < 0]))]
    groups = [g for g in groups if len(g)]
    if len(groups) < 2 or sum(len(g) for g in groups) <= len(groups):
        return float("nan")
    if all(np.ptp(g) == 0 for g in groups):  # no day-to-day noise at all
        return 1.0 if np.ptp([g[0] for g in groups]) == 0 else 0.0
    return float(stats.f_oneway(*groups).pvalue)


def placebo_effects(panel: pd.DataFrame, kpi: str, treated: str, controls: list[str],
                    change: Any) -> list[tuple[pd.Timestamp, float]]:
    """The difference-in-differences estimate at fake change dates a week apart in the
    pre-period, each on the pre-period days within a quarter of the pre-period
    (at least 7 days) on either side: the effects a change that did not happen
    would show."""
    change = pd.Timestamp(change)
    pre = panel[panel["day"] < change]
    days = pd.DatetimeIndex(sorted(pre["day"].unique()))
    if len(days) < 14:
        return []
    window = max(7, len(days) // 4)
    out = []
    for d in placebo_dates(pre, change, window):
        part = pre[(pre["day"] >= d - pd.Timedelta(days=window))
                   & (pre["day"] < d + pd.Timedelta(days=window))]
        r = did_estimate(part, kpi, treated, controls, d, resamples=0)
        out.append((d, r.effect))
    return out


def placebo_dates(panel: pd.DataFrame, change: Any, window: int | None = None,
                  every: int = 7) -> list[pd.Timestamp]:
    """Fake change dates in the pre-period, each with ``window`` days before and after
    it inside the pre-period (default: half the pre-period), ``every`` days apart."""
    days = pd.DatetimeIndex(sorted(panel["day"].unique()))
    first, change = days[0], pd.Timestamp(change)
    pre_days = int((change - first).days)
    window = window or pre_days // 2
    out, d = [], first + pd.Timedelta(days=window)
    while d + pd.Timedelta(days=window) <= change:
        out.append(d)
        d += pd.Timedelta(days=every)
    return out


@dataclass(frozen=True)
class SynthResult:
    """A synthetic-control estimate: control weights, pre-period fit, effect and interval."""

    kpi: str
    weights: dict[str, float]
    pre_rmse: float
    effect: float
    ci_low: float
    ci_high: float
    p_value: float


def synthetic_control(panel: pd.DataFrame, kpi: str, treated: str, controls: list[str],
                      change: Any, seed: int = 0, resamples: int = BOOTSTRAP) -> SynthResult:
    """The effect of a change against a weighted mix of control markets.

    The weights (non-negative, adding up to 1) make the mix follow the treated
    market's daily KPI as closely as possible before the change (least
    squares); the effect is the treated market's mean gap to the mix after the
    change less its mean gap before (which is about zero when the fit is
    good; ``pre_rmse`` says how good). The interval resamples days, before
    and after separately, with the weights held fixed.
    """
    from scipy.optimize import nnls

    if treated in controls or not controls:
        raise InputError("give control markets other than the treated one")
    g = panel[panel["kpi"] == kpi]
    wide = g.pivot_table(index="day", columns="market", values="value", aggfunc="first")
    missing = [m for m in [treated, *controls] if m not in wide.columns]
    if missing:
        raise InputError(f"the panel has no market(s) {', '.join(missing)}")
    wide = wide[[treated, *controls]].dropna()
    before = np.asarray(wide.index < pd.Timestamp(change))
    if before.sum() < 2 or (~before).sum() < 1:
        raise InputError(f"the change date {change} leaves too few days with values on "
                         "one side")
    y, x = wide[treated].to_numpy(float), wide[controls].to_numpy(float)
    scale = max(float(np.abs(y[before]).mean()), 1e-12)
    lam = 1e3 * np.sqrt(before.sum())  # a heavy row of ones: the weights add up to 1
    a = np.vstack([x[before] / scale, lam * np.ones(len(controls))])
    b = np.concatenate([y[before] / scale, [lam]])
    w, _ = nnls(a, b)
    w = w / w.sum() if w.sum() > 0 else np.full(len(controls), 1 / len(controls))
    gap = y - x @ w
    pre_rmse = float(np.sqrt(np.mean(gap[before] ** 2)))
    effect = float(gap[~before].mean() - gap[before].mean())
    rng = np.random.default_rng(seed)
    pre_idx, post_idx = np.flatnonzero(before), np.flatnonzero(~before)
    boot = (gap[post_idx[rng.integers(0, len(post_idx), (resamples, len(post_idx)))]].mean(1)
            - gap[pre_idx[rng.integers(0, len(pre_idx), (resamples, len(pre_idx)))]].mean(1))
    low, high = np.percentile(boot, [2.5, 97.5])
    p = min(1.0, 2 * min((boot <= 0).mean(), (boot >= 0).mean()))
    return SynthResult(kpi, {m: float(v) for m, v in zip(controls, w, strict=True)}, pre_rmse,
                       effect, float(low), float(high), float(p))
