"""A/B experiments: estimates by hand, simulated coverage, the planted ID test."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from shopcx.cli import main
from shopcx.data.demo import generate_demo_data
from shopcx.data.sources import load_source
from shopcx.impact.experiment import (
    analyse_experiment,
    benjamini_hochberg,
    ratio_effect,
    sample_ratio,
    unit_sums,
)


def test_sample_ratio_by_hand() -> None:
    # 5,100 v 4,900 against 50/50: chi2 = 2 * 100^2 / 5,000 = 4.0, p = P(chi2_1 > 4) = 0.0455
    srm = sample_ratio({"a": 5100, "b": 4900})
    assert srm["chi2"] == pytest.approx(4.0)
    assert srm["p_value"] == pytest.approx(0.04550, abs=1e-5)
    assert not srm["mismatch"]  # below 0.05 but not below 0.001: no alarm
    assert sample_ratio({"a": 5100, "b": 4900}, {"a": 51, "b": 49})["chi2"] == pytest.approx(0)
    # 5,300 v 4,700: chi2 = 2 * 300^2 / 5,000 = 36, p = 2.0e-9: the split is broken
    bad = sample_ratio({"a": 5300, "b": 4700})
    assert bad["chi2"] == pytest.approx(36.0) and bad["mismatch"]
    assert bad["p_value"] == pytest.approx(1.973e-9, rel=1e-3)


def test_benjamini_hochberg_by_hand() -> None:
    # sorted 0.01, 0.03, 0.04, 0.5 times 4/rank: 0.04, 0.06, 0.0533, 0.5; then the running
    # minimum from the top: 0.04, 0.0533, 0.0533, 0.5
    adj = benjamini_hochberg([0.01, 0.04, 0.03, 0.5, float("nan")])
    assert adj[:4] == pytest.approx([0.04, 0.16 / 3, 0.16 / 3, 0.5])
    assert math.isnan(adj[4])


def test_ratio_effect_delta_method_by_hand() -> None:
    # control: y = 0,1,1,2 over d = 1,1,2,2 -> R = 4/6; linearised (y - R d) / mean(d):
    # -4/9, 2/9, -2/9, 4/9; sample variance 40/243; var(R) = 40/243 / 4 = 10/243
    # treatment: y = d -> R = 1, variance 0. Effect 1/3, se sqrt(10/243) = 0.20286
    r = ratio_effect(unit_sums([0, 1, 1, 2], [1, 1, 2, 2]), unit_sums([1, 1, 2, 2], [1, 1, 2, 2]))
    assert r.control == pytest.approx(2 / 3) and r.treatment == pytest.approx(1.0)
    assert r.effect == pytest.approx(1 / 3)
    assert r.se == pytest.approx(math.sqrt(10 / 243))
    assert r.p_value == pytest.approx(0.10036, abs=1e-4)  # z = 1.6432
    assert r.ci == pytest.approx((1 / 3 - 1.959964 * 0.202860, 1 / 3 + 1.959964 * 0.202860),
                                 abs=1e-5)
    assert not r.cuped and r.mde == pytest.approx((1.959964 + 0.841621) * 0.202860, abs=1e-5)
    assert r.relative == pytest.approx(0.5)


def test_cuped_by_hand() -> None:
    # one value per unit (d = m = 1): ratios are means.
    # control  y 2,3,5,6 (mean 4)  x 1,2,4,5 (mean 3): var y 10/3, var x 10/3, cov 10/3
    # variant  y 4,4,7,9 (mean 6)  x 3,2,5,6 (mean 4): var y 6,    var x 10/3, cov 13/3
    # per arm (divide by n = 4): var R 5/6 and 3/2, var Q 5/6 and 5/6, cov 5/6 and 13/12
    # theta = (5/6 + 13/12) / (5/6 + 5/6) = 23/20
    # effect = (6 - 4) - 23/20 * (4 - 3) = 0.85
    # var = 7/3 - 2 * 23/20 * 23/12 + (23/20)^2 * 20/12 = 31/240; plain var 7/3
    one = [1, 1, 1, 1]
    c = unit_sums([2, 3, 5, 6], one, [1, 2, 4, 5], one)
    t = unit_sums([4, 4, 7, 9], one, [3, 2, 5, 6], one)
    r = ratio_effect(c, t)
    assert r.cuped and r.theta == pytest.approx(23 / 20)
    assert r.effect == pytest.approx(0.85)
    assert r.se == pytest.approx(math.sqrt(31 / 240))
    assert r.variance_reduction == pytest.approx(1 - 31 / 560)
    plain = ratio_effect(c, t, cuped=False)
    assert plain.effect == pytest.approx(2.0) and plain.se == pytest.approx(math.sqrt(7 / 3))
    # no pre-period in either arm: CUPED is off, not an error
    assert not ratio_effect(unit_sums([1, 2], one[:2]), unit_sums([2, 3], one[:2])).cuped


def _simulate(rng: np.random.Generator, effect: float, units: int = 1500
              ) -> tuple[dict[str, float], dict[str, float]]:
    """Buyers with their own order rate and cancellation propensity (persistent across
    periods); the variant moves each order's cancellation probability by ``effect``."""
    sums = []
    for arm in (0, 1):
        rate = rng.gamma(1.5, 1.2, units)
        p = rng.beta(2, 10, units)
        d = rng.poisson(rate)
        y = rng.binomial(d, np.clip(p + effect * arm, 0, 1))
        m = rng.poisson(rate)
        x = rng.binomial(m, p)
        sums.append(unit_sums(y, d, x, m))
    return sums[0], sums[1]


@pytest.mark.parametrize("cuped", [True, False])
def test_simulated_coverage_and_false_positives(cuped: bool) -> None:
    """200 simulated experiments with a known effect (-2 points on each order's
    probability, which is the ratio's true difference since the probability does not
    depend on the number of orders) and 200 without."""
    rng = np.random.default_rng(20261202)
    truth = -0.02
    covered = false_pos = 0
    reductions = []
    for _ in range(200):
        r = ratio_effect(*_simulate(rng, truth), cuped=cuped)
        covered += r.ci[0] <= truth <= r.ci[1]
        if cuped:
            reductions.append(r.variance_reduction)
        false_pos += ratio_effect(*_simulate(rng, 0.0), cuped=cuped).p_value < 0.05
    assert 0.92 <= covered / 200 <= 0.98, covered
    assert 0.03 <= false_pos / 200 <= 0.07, false_pos
    if cuped:  # the pre-period explains part of the variance: intervals narrow
        assert np.mean(reductions) > 0.02  # 3.6% with this seed


@pytest.fixture(scope="module")
def id_demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("exp") / "demo"
    summary = generate_demo_data(out, orders=40_000, months=2, markets=["ID", "VN"])
    return out, summary.stories["experiment"]


def test_unit_sums_from_the_engine_match_a_pandas_count(id_demo: tuple[Path, dict]) -> None:
    """The engine's per-buyer aggregation against an independent count of the raw rows."""
    folder, _ = id_demo
    src = load_source(folder)
    doc = analyse_experiment(src, "one_tap_cancel", ["cancel_cpo", "cancellation_rate"], [],
                             pre_days=0)
    a = pd.read_parquet(folder / "assignments")
    o = pd.read_parquet(folder / "orders").merge(a, left_on="buyer_id", right_on="unit_id")
    o = o[o["created_at"] >= o["assigned_at"]]
    cx = pd.read_parquet(folder / "cancellations")
    cancelled = set(cx.loc[cx["outcome"] == "approved", "order_id"])
    c = pd.read_parquet(folder / "contacts").merge(a, left_on="buyer_id", right_on="unit_id")
    c = c[(c["created_at"] >= c["assigned_at"])
          & c["reason"].isin(["cancel_request", "cancel_status", "refund_status"])]
    per = a.set_index("unit_id")[["variant"]].assign(
        orders=o.groupby("unit_id").size(), cancelled=o[o["order_id"].isin(cancelled)]
        .groupby("unit_id").size(), contacts=c.groupby("unit_id").size()).fillna(0)
    arms = {v: g for v, g in per.groupby("variant")}
    for metric, num in (("cancel_cpo", "contacts"), ("cancellation_rate", "cancelled")):
        want = ratio_effect(*(unit_sums(arms[v][num], arms[v]["orders"])
                              for v in ("control", "one_tap")), cuped=False)
        got = next(e for e in doc["effects"] if e["metric"] == metric)
        assert got["effect"] == pytest.approx(want.effect, abs=1e-12)
        assert got["ci_low"] == pytest.approx(want.ci[0], abs=1e-12)
        assert got["control_value"] == pytest.approx(want.control)


def test_planted_one_tap_test_is_recovered(id_demo: tuple[Path, dict],
                                           capsys: pytest.CaptureFixture[str]) -> None:
    folder, story = id_demo
    assert main(["experiment", "--data", str(folder), "--experiment", "one_tap_cancel",
                 "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert not doc["sample_ratio"]["mismatch"]
    assert doc["unit_type"] == "buyer" and doc["market"] == "ID"
    cpo = next(e for e in doc["effects"] if e["metric"] == "cancel_cpo")
    assert cpo["ci_low"] <= story["true_effect_cancel_cpo"] <= cpo["ci_high"]
    assert cpo["verdict"] == "better" and cpo["cuped"]
    rate = next(e for e in doc["effects"] if e["metric"] == "cancellation_rate")
    assert rate["verdict"] == "no significant effect"
    assert doc["verdict"].startswith("one_tap improved cancellation contacts per order")
    assert main(["experiment", "--data", str(folder), "--experiment", "one_tap_cancel"]) == 0
    assert "Sample ratio" in capsys.readouterr().out


@pytest.mark.parametrize(("args", "message"), [
    (["--experiment", "nope"], "is not in assignments"),
    (["--experiment", "one_tap_cancel", "--metrics", "p90_hours_to_resolve"],
     "only rates and means"),
    (["--experiment", "one_tap_cancel", "--control-variant", "b"], "is not one of"),
    (["--experiment", "one_tap_cancel", "--split", "control=half"], "variant=share"),
    (["--experiment", "one_tap_cancel", "--split", "control=50"], "no share for variant"),
])
def test_bad_experiment_arguments_exit_2(id_demo: tuple[Path, dict], args: list[str],
                                         message: str,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    folder, _ = id_demo
    assert main(["experiment", "--data", str(folder), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_no_assignments_table_turns_experiments_off(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    generate_demo_data(tmp_path / "d", orders=2000, months=1, markets=["VN"])
    assert main(["experiment", "--data", str(tmp_path / "d")]) == 0
    assert "no experiments" in capsys.readouterr().out
    assert main(["experiment", "--data", str(tmp_path / "d"), "--experiment", "x"]) == 2
    assert "has no assignments table" in capsys.readouterr().err
