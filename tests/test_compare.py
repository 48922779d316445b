"""Period comparison, generated sentences and actions, targets."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from shopcx.errors import InputError
from shopcx.metrics.compare import compare_kpis, compare_periods
from shopcx.metrics.targets import Targets, load_targets
from shopcx.readouts.narrative import recommend_actions, summarize_changes

from .conftest import PERIOD


def _kpis(rows: list[tuple]) -> pd.DataFrame:
    cols = ["kpi", "kind", "label", "value", "numerator", "denominator", "ci_low", "ci_high"]
    return pd.DataFrame([(*r, np.nan, np.nan) for r in rows], columns=cols)


CURRENT = _kpis([("orders", "count", "Orders", 100.0, None, None),
                 ("cancellation_rate", "proportion", "Cancellation rate", 0.30, 30, 100),
                 ("cpo", "ratio", "Contacts per order", 0.30, 30, 100),
                 ("csat_mean", "mean", "CSAT mean", 3.1, None, None)])
BASELINE = _kpis([("orders", "count", "Orders", 80.0, None, None),
                  ("cancellation_rate", "proportion", "Cancellation rate", 0.15, 15, 100),
                  ("cpo", "ratio", "Contacts per order", 0.15, 15, 100),
                  ("csat_mean", "mean", "CSAT mean", 3.5, None, None)])


def test_compare_kpis_tests_rates_only() -> None:
    t = compare_kpis(CURRENT, BASELINE).set_index("kpi")
    # two-proportion z-test: pooled .225, z = .15 / sqrt(.225 * .775 * .02) = 2.540
    z = 0.15 / math.sqrt(0.225 * 0.775 * 0.02)
    assert t.loc["cancellation_rate", "p_value"] == pytest.approx(math.erfc(z / math.sqrt(2)))
    # exact rate test: 30 of 45 events in half the exposure, binomial p = .0357
    assert t.loc["cpo", "p_value"] == pytest.approx(0.035698, abs=1e-6)
    # BH over the two tests: .0111 * 2 / 1 = .0222 and .0357 * 2 / 2 = .0357
    assert t.loc["cancellation_rate", "p_adjusted"] == pytest.approx(
        2 * t.loc["cancellation_rate", "p_value"])
    assert t.loc["cpo", "p_adjusted"] == pytest.approx(t.loc["cpo", "p_value"])
    assert t.loc[["cancellation_rate", "cpo"], "significant"].tolist() == [True, True]
    assert t.loc["cancellation_rate", "assessment"] == "worse"
    assert t.loc["orders", "change"] == 20 and t.loc["orders", "relative_change"] == 0.25
    assert np.isnan(t.loc["orders", "p_value"]) and not t.loc["orders", "significant"]
    assert t.loc["csat_mean", "change"] == pytest.approx(-0.4)
    assert pd.isna(t.loc["csat_mean", "assessment"])


def test_too_few_is_never_significant() -> None:
    t = compare_kpis(CURRENT, BASELINE, min_sample=101).set_index("kpi")
    assert t.loc["cancellation_rate", "too_few"] and not t.loc["cancellation_rate",
                                                                 "significant"]


def test_compare_periods_on_the_fixture(tiny: dict) -> None:
    t = compare_periods(tiny, "US", *PERIOD, "2026-09-01", "2026-10-01", min_sample=1)
    t = t.set_index("kpi")
    assert t.loc["orders", "value"] == 6 and t.loc["orders", "baseline"] == 1  # O8 in Sept
    assert t.loc["cancellation_rate", "baseline"] == 0


def test_summary_sentences() -> None:
    t = compare_kpis(CURRENT, BASELINE)
    text = summarize_changes(t, market="US", period="October 2026")
    assert text.startswith("In US, October 2026, 2 of 4 KPIs shown changed significantly "
                           "against the baseline: 2 for the worse, 0 for the better.")
    assert "- Cancellation rate rose from 15.00% to 30.00% (+15.0 pts), a significant " \
           "change for the worse." in text
    calm = compare_kpis(CURRENT, CURRENT)
    assert "0 of 4 KPIs" in summarize_changes(calm)


def _changes(**values: tuple) -> pd.DataFrame:
    rows = []
    for kpi, (value, baseline, significant, assessment) in values.items():
        rows.append({"kpi": kpi, "kind": "proportion", "value": value, "baseline": baseline,
                     "significant": significant, "assessment": assessment})
    return pd.DataFrame(rows)


def test_actions_fire_on_their_evidence_only() -> None:
    calm = _changes(seller_fault_cancellation_rate=(0.01, 0.01, False, None),
                    cancel_exit_in_transit=(0.01, 0.01, False, None))
    assert recommend_actions(calm).empty
    sellers = pd.DataFrame({"seller_id": ["S9", "S1"], "rate": [0.30, 0.01],
                            "share": [0.40, 0.05]})
    carriers = pd.DataFrame({"dimension": ["carrier"] * 3, "segment": ["A", "B", "(none)"],
                             "kpi": ["cancellation_rate"] * 3, "value": [0.05, 0.20, 0.9],
                             "too_few": [False, False, False]})
    hot = _changes(seller_fault_cancellation_rate=(0.04, 0.01, True, "worse"),
                   cancel_exit_in_transit=(0.07, 0.01, True, "worse"),
                   p90_hours_to_resolve=(71.0, 70.0, False, None))
    t = recommend_actions(hot, 0.025, 72, sellers, carriers)
    assert t["owner"].tolist() == ["Seller operations", "Logistics", "Product and policy"]
    assert "Sellers S9 alone caused 40%" in t.loc[0, "evidence"]
    assert "B has the highest cancellation rate" in t.loc[1, "evidence"]


def test_targets_status_both_directions() -> None:
    t = Targets(["csat_mean", "cpo"], {"csat_mean": {"green": 4.0, "amber": 3.3},
                                       "cpo": {"green": 0.15, "amber": 0.25}},
                {"ID": {"cpo": {"green": 0.3, "amber": 0.4}}})
    assert [t.status("US", "csat_mean", v) for v in (4.1, 3.5, 3.0)] == [
        "green", "amber", "red"]
    assert t.status("US", "cpo", 0.29) == "red" and t.status("ID", "cpo", 0.29) == "green"
    assert t.status("US", "escalation_rate", 0.5) is None


@pytest.mark.parametrize(("text", "message"), [
    ("headline: [nope]\n", "not in the metric dictionary"),
    ("headline: [cpo]\ntargets:\n  cpo: {green: 0.3, amber: 0.2}\n", "green must be below"),
    ("headline: [cpo]\ntargets:\n  csat_mean: {green: 3, amber: 4}\n", "green must be above"),
    ("headline: [cpo]\ntargets:\n  feedback: {green: 1, amber: 2}\n", "no better direction"),
    ("headline: [cpo]\ntargets:\n  cpo: {green: 0.1}\n", "needs numbers"),
    ("headline: [cpo]\ncolour: red\n", "unknown setting"),
])
def test_bad_targets_are_rejected(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "targets.yaml"
    path.write_text(text)
    with pytest.raises(InputError, match=message):
        load_targets(path)
