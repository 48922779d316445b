"""Impact estimates: difference-in-differences by hand, and its intervals by simulation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shopcx.errors import InputError
from shopcx.impact.did import (
    did_estimate,
    event_study,
    placebo_dates,
    placebo_effects,
    synthetic_control,
)
from shopcx.impact.panel import daily_panel

from .test_maturity import tables as maturity_tables


def _panel(rows: list[tuple], kpi: str = "cancellation_rate",
           kind: str = "proportion") -> pd.DataFrame:
    """(market, day, numerator, denominator) or (market, day, value) rows."""
    out = []
    for r in rows:
        market, day, *v = r
        if len(v) == 2:
            out.append({"market": market, "day": pd.Timestamp(day), "kpi": kpi, "kind": kind,
                        "value": v[0] / v[1] if v[1] else np.nan, "numerator": v[0],
                        "denominator": v[1]})
        else:
            out.append({"market": market, "day": pd.Timestamp(day), "kpi": kpi, "kind": kind,
                        "value": v[0], "numerator": np.nan, "denominator": np.nan})
    return pd.DataFrame(out)


def test_did_of_a_rate_by_hand() -> None:
    p = _panel([("TH", "2026-11-01", 10, 100), ("TH", "2026-11-02", 20, 100),
                ("TH", "2026-11-03", 30, 100), ("TH", "2026-11-04", 30, 100),
                ("VN", "2026-11-01", 5, 50), ("VN", "2026-11-02", 5, 50),
                ("VN", "2026-11-03", 7, 50), ("VN", "2026-11-04", 8, 50),
                ("PH", "2026-11-01", 5, 50), ("PH", "2026-11-02", 5, 50),
                ("PH", "2026-11-03", 8, 50), ("PH", "2026-11-04", 7, 50)])
    r = did_estimate(p, "cancellation_rate", "TH", ["VN", "PH"], "2026-11-03")
    # TH 30/200 = .15 -> 60/200 = .30; controls pooled 20/200 = .10 -> 30/200 = .15
    assert (r.treated_before, r.treated_after) == (pytest.approx(0.15), pytest.approx(0.30))
    assert (r.control_before, r.control_after) == (pytest.approx(0.10), pytest.approx(0.15))
    assert r.effect == pytest.approx(0.10)
    assert (r.days_before, r.days_after) == (2, 2)
    assert r.ci_low <= r.effect <= r.ci_high


def test_identical_days_leave_no_uncertainty() -> None:
    rows = [(m, f"2026-11-0{d}", n, 100) for m, pre, post in (("TH", 10, 25), ("VN", 10, 12))
            for d, n in ((1, pre), (2, pre), (3, post), (4, post))]
    r = did_estimate(_panel(rows), "cancellation_rate", "TH", ["VN"], "2026-11-03")
    # (.25 - .10) - (.12 - .10) = .13, and every resample of days gives the same
    assert r.effect == pytest.approx(0.13)
    assert r.ci_low == pytest.approx(0.13) and r.ci_high == pytest.approx(0.13)
    assert r.p_value == 0 and r.significant


def test_did_of_a_mean_by_hand() -> None:
    # hours to resolve: the mean of daily values; a day without one is left out
    p = _panel([("TH", "2026-11-01", 10.0), ("TH", "2026-11-02", 20.0),
                ("TH", "2026-11-03", 5.0), ("TH", "2026-11-04", np.nan),
                ("VN", "2026-11-01", 10.0), ("VN", "2026-11-02", 10.0),
                ("VN", "2026-11-03", 9.0), ("VN", "2026-11-04", 11.0)],
               kpi="median_hours_to_resolve", kind="quantile")
    r = did_estimate(p, "median_hours_to_resolve", "TH", ["VN"], "2026-11-03")
    assert (r.treated_before, r.treated_after) == (15.0, 5.0)
    assert r.effect == pytest.approx((5 - 15) - (10 - 10))


def test_bad_requests_are_refused() -> None:
    p = _panel([("TH", "2026-11-01", 1, 10), ("VN", "2026-11-01", 1, 10)])
    with pytest.raises(InputError, match="its own control"):
        did_estimate(p, "cancellation_rate", "TH", ["TH"], "2026-11-01")
    with pytest.raises(InputError, match="must fall inside"):
        did_estimate(p, "cancellation_rate", "TH", ["VN"], "2026-12-01")
    with pytest.raises(InputError, match="no market"):
        did_estimate(p, "cancellation_rate", "TH", ["ID"], "2026-11-01")


def _simulate(rng: np.random.Generator, effect: float, pre: int = 56, post: int = 28,
              controls: int = 6) -> pd.DataFrame:
    """A treated market and controls: a base rate per market, a shock per day shared by
    every market, market-day noise, binomial orders; ``effect`` after the change."""
    days = pd.date_range("2026-09-01", periods=pre + post, freq="D")
    shock = rng.normal(0, 0.01, len(days))
    rows = []
    for m in range(controls + 1):
        base = rng.uniform(0.06, 0.12)
        n = rng.poisson(400, len(days))
        p = np.clip(base + shock + rng.normal(0, 0.005, len(days))
                    + (effect * (np.arange(len(days)) >= pre) if m == 0 else 0), 0.001, 0.999)
        x = rng.binomial(n, p)
        rows += [(f"M{m}", d, float(xi), float(ni)) for d, xi, ni in zip(days, x, n,
                                                                         strict=True)]
    return _panel(rows)


def test_intervals_cover_the_truth_and_placebos_stay_quiet() -> None:
    """200 simulated rollouts with a known effect: the 95% intervals cover it 92-98% of
    the time; 200 without an effect: 3-7% are called significant."""
    rng = np.random.default_rng(20261202)
    covered = false_positive = 0
    for i in range(200):
        p = _simulate(rng, 0.02)
        change = p["day"].min() + pd.Timedelta(days=56)
        controls = [f"M{m}" for m in range(1, 7)]
        r = did_estimate(p, "cancellation_rate", "M0", controls, change, seed=i,
                         resamples=400)
        covered += r.ci_low <= 0.02 <= r.ci_high
        q = did_estimate(_simulate(rng, 0.0), "cancellation_rate", "M0", controls, change,
                         seed=i, resamples=400)
        false_positive += q.ci_low > 0 or q.ci_high < 0
    assert 0.92 <= covered / 200 <= 0.98, covered
    assert 0.03 <= false_positive / 200 <= 0.07, false_positive


def test_event_study_and_placebo_dates() -> None:
    rng = np.random.default_rng(7)
    p = _simulate(rng, 0.03)
    change = p["day"].min() + pd.Timedelta(days=56)
    es = event_study(p, "cancellation_rate", "M0", ["M1", "M2", "M3"], change,
                     resamples=400).set_index("week")
    assert list(es.index) == list(range(-8, 4))
    assert es.loc[-1, ["gap", "ci_low", "ci_high"]].tolist() == [0, 0, 0]  # the reference
    # after the change the gaps average the planted effect; parallel before it
    assert es.loc[0:3, "gap"].mean() == pytest.approx(0.03, abs=0.01)
    assert es.loc[-8, "pre_trend_p"] > 0.05
    # a treated market drifting away before the change fails the pre-trend check
    drift = p.copy()
    mine = drift["market"] == "M0"
    days = (drift.loc[mine, "day"] - drift["day"].min()).dt.days
    drift.loc[mine, "numerator"] += (0.001 * days * drift.loc[mine, "denominator"]).round()
    bad = event_study(drift, "cancellation_rate", "M0", ["M1", "M2", "M3"], change,
                      resamples=400).set_index("week")
    assert bad.loc[-8, "pre_trend_p"] < 0.01
    dates = placebo_dates(p, change)
    assert dates[0] == p["day"].min() + pd.Timedelta(days=28)
    assert all(d + pd.Timedelta(days=28) <= change for d in dates)


def test_pre_trend_check_is_calibrated() -> None:
    """200 simulated markets with parallel trends (28 days before the change): the
    pre-trend check flags 3-7% of them at 5% (a Wald test on the bootstrap
    covariance of the weekly gaps, its first version, flagged 13.5%)."""
    rng = np.random.default_rng(99)
    flagged = 0
    for i in range(200):
        p = _simulate(rng, 0.0, pre=28, post=28)
        change = p["day"].min() + pd.Timedelta(days=28)
        es = event_study(p, "cancellation_rate", "M0", ["M1", "M2", "M3"], change, seed=i,
                         resamples=20)
        flagged += es["pre_trend_p"].dropna().iloc[0] < 0.05
    assert 0.03 <= flagged / 200 <= 0.07, flagged


def test_pre_trend_p_by_hand() -> None:
    # daily gaps (treated - control) of three pre-weeks, 7 days each, around week means
    # 2, 3 and 4: an analysis of variance of the gaps by week
    from scipy import stats

    from shopcx.impact.did import _pre_trend_p

    gaps = np.array([1, 2, 3, 1, 2, 3, 2, 2, 3, 4, 2, 3, 4, 3, 3, 4, 5, 3, 4, 5, 4], float)
    week = np.repeat([-3, -2, -1], 7)
    t = np.column_stack([gaps + 10, np.ones(21)])
    c = np.column_stack([np.full(21, 10.0), np.ones(21)])
    # each week's days: mean m, squares about it 1+0+1+1+0+1+0 = 4 -> within SS 12, df 18;
    # between SS = 7 * ((2-3)^2 + 0 + (4-3)^2) = 14, df 2 -> F = 7 / (12/18) = 10.5
    assert _pre_trend_p(t, c, week) == pytest.approx(stats.f.sf(10.5, 2, 18))
    assert _pre_trend_p(t, c, np.repeat([-1, 0, 1], 7)) != _pre_trend_p(t, c, week)
    assert np.isnan(_pre_trend_p(t, c, np.repeat([-1, 0, 1], 7)))  # one pre-week: no test


def test_placebos_of_a_steady_market_are_zero() -> None:
    # TH and VN each repeat the same day for 4 weeks before a change: every fake
    # change date in that pre-period shows no effect
    rows = [(m, f"{d:%Y-%m-%d}", n, 100)
            for m, n in (("TH", 12), ("VN", 9))
            for d in pd.date_range("2026-10-01", periods=35, freq="D")]
    found = placebo_effects(_panel(rows), "cancellation_rate", "TH", ["VN"], "2026-10-29")
    assert [f"{d:%m-%d}" for d, _ in found] == ["10-08", "10-15", "10-22"]
    assert all(e == pytest.approx(0.0) for _, e in found)


def test_daily_panel_from_the_engine() -> None:
    panel = daily_panel(maturity_tables(), ["MY"], ["cancellation_rate", "orders"],
                        "2026-11-22", "2026-11-25")
    t = panel.set_index(["day", "kpi"])
    # 22 Nov: B3 (cancelled later) -> 1 of 1; 23 Nov: C1 (cancelled) -> 1 of 1; 24 Nov none
    assert t.loc[(pd.Timestamp("2026-11-22"), "cancellation_rate"), "numerator"] == 1
    assert t.loc[(pd.Timestamp("2026-11-23"), "orders"), "value"] == 1
    assert t.loc[(pd.Timestamp("2026-11-24"), "cancellation_rate"), "denominator"] == 0
    assert len(panel) == 3 * 2


def test_synthetic_control_recovers_weights_and_effect_by_hand() -> None:
    # before the change TH is exactly half A plus half B; after it, 0.05 higher
    a = [0.10, 0.12, 0.11, 0.13, 0.10, 0.12]
    b = [0.20, 0.18, 0.22, 0.19, 0.21, 0.20]
    c = [0.50, 0.40, 0.45, 0.55, 0.50, 0.45]
    days = [f"2026-11-0{d}" for d in range(1, 7)]
    th = [(x + y) / 2 + (0.05 if i >= 4 else 0) for i, (x, y) in enumerate(zip(a, b,
                                                                              strict=True))]
    rows = [(m, d, v) for m, vals in (("TH", th), ("A", a), ("B", b), ("C", c))
            for d, v in zip(days, vals, strict=True)]
    r = synthetic_control(_panel(rows), "cancellation_rate", "TH", ["A", "B", "C"],
                          "2026-11-05", resamples=200)
    assert r.weights == {"A": pytest.approx(0.5, abs=1e-6), "B": pytest.approx(0.5, abs=1e-6),
                         "C": pytest.approx(0.0, abs=1e-6)}
    assert r.pre_rmse == pytest.approx(0.0, abs=1e-9)
    assert r.effect == pytest.approx(0.05)
    assert r.ci_low == pytest.approx(0.05) and r.ci_high == pytest.approx(0.05)


def test_the_impact_command(tmp_path, capsys) -> None:
    import json

    from shopcx.cli import main
    from shopcx.data.demo import generate_demo_data

    data = tmp_path / "data"
    generate_demo_data(data, orders=8000, months=3, seed=4, markets=["TH", "VN", "PH"])
    args = ["impact", "--data", str(data), "--market", "TH", "--change-date", "2026-11-04",
            "--metrics", "p90_hours_to_resolve", "--control", "VN,PH", "--window", "21",
            "--guardrails", "cpo", "--format", "json"]
    assert main(args) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["controls"] == ["VN", "PH"]
    assert doc["before"] == {"start": "2026-10-14", "end": "2026-11-04"}
    assert doc["after"] == {"start": "2026-11-04", "end": "2026-11-25"}
    assert [(e["metric"], e["role"]) for e in doc["effects"]] == [
        ("p90_hours_to_resolve", "target"), ("cpo", "guardrail")]
    p90 = doc["effects"][0]
    assert p90["ci_low"] <= p90["effect"] <= p90["ci_high"]
    assert p90["effect"] == pytest.approx(
        (p90["treated_after"] - p90["treated_before"])
        - (p90["control_after"] - p90["control_before"]))
    assert [w["week"] for w in p90["event_study"]] == [-3, -2, -1, 0, 1, 2]
    # 21 days before: fake changes 7 and 14 days in, each on 7 days either side
    assert p90["placebo"]["dates"] == 2 and 0 <= p90["placebo"]["as_large"] <= 1
    # the demo's TH timer went from 72 to 24 hours on 4 November (few orders here: the
    # daily p90 is noisy, so only the direction and the verdict's consistency are checked)
    assert p90["effect"] < 0
    assert p90["verdict"] == ("better for customers" if p90["significant"]
                              else "no significant effect")
    for bad, message in ((["--control", "TH"], "its own control"),
                         (["--metrics", "orders"], "cannot be estimated"),
                         (["--change-date", "2027-01-01"], "nothing after the change")):
        argv = [*args]
        for flag, value in zip(bad[::2], bad[1::2], strict=True):
            argv[argv.index(flag) + 1] = value
        assert main(argv) == 2
        assert message in capsys.readouterr().err
    # a staggered rollout: TH on 4 November, VN a week later; PH is the only clean control
    staggered = ["impact", "--data", str(data), "--market", "TH,VN", "--change-date",
                 "2026-11-04,2026-11-11", "--metrics", "cancel_cpo", "--guardrails", "",
                 "--window", "14", "--format", "json"]
    assert main(staggered) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["changes"] == {"TH": "2026-11-04", "VN": "2026-11-11"}
    assert doc["controls"] == ["PH"]
    assert [(c["market"], c["change_date"], c["controls"]) for c in doc["cohorts"]] == [
        ("TH", "2026-11-04", ["PH"]), ("VN", "2026-11-11", ["PH"])]
    th, vn = (c["effects"][0] for c in doc["cohorts"])
    pooled = doc["pooled"][0]
    assert pooled["markets"] == 2
    assert pooled["effect"] == pytest.approx((th["effect"] + vn["effect"]) / 2)
    assert pooled["ci_low"] == pytest.approx(
        pooled["effect"] - ((th["effect"] - th["ci_low"]) + (vn["effect"] - vn["ci_low"])) / 2)
    staggered[staggered.index("--change-date") + 1] = "2026-11-04,2026-11-11,2026-11-18"
    assert main(staggered) == 2
    assert "3 dates for 2 markets" in capsys.readouterr().err
    staggered[staggered.index("--change-date") + 1] = "2026-11-04"
    assert main([*staggered[:-2], "--format", "table"]) == 0
    assert "staggered rollout (TH on 2026-11-04, VN on 2026-11-04)" in capsys.readouterr().out
