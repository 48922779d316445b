"""The changes a run measures: the changes file, which changes a period covers, and
the impact readouts of ``shopcx run``."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from shopcx.cli import main
from shopcx.data.demo import generate_demo_data
from shopcx.errors import InputError
from shopcx.impact.changes import Change, changes_in, load_changes

GOOD = """
changes:
  - id: timer
    markets: {TH: 2026-11-04}
    description: shorter timer
    metrics: [p90_hours_to_resolve, cancel_cpo]
    controls: [VN, PH]
    window: 14
  - id: staggered
    markets: {VN: 2026-10-20, PH: 2026-11-10}
    metrics: cancel_cpo
  - id: one_tap_cancel
    kind: experiment
    description: one tap
    metrics: [cancel_cpo]
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "changes.yaml"
    path.write_text(text)
    return path


def test_changes_file_loads(tmp_path: Path) -> None:
    timer, staggered, one_tap = load_changes(_write(tmp_path, GOOD))
    assert timer == Change("timer", "rollout", {"TH": "2026-11-04"}, "shorter timer",
                           ("p90_hours_to_resolve", "cancel_cpo"), ("VN", "PH"), None, 14,
                           "2026-11-04")
    assert staggered.start == "2026-10-20" and staggered.metrics == ("cancel_cpo",)
    assert one_tap.kind == "experiment" and one_tap.markets == {}
    assert load_changes(None) == []


@pytest.mark.parametrize(("text", "message"), [
    ("changes:\n  - markets: {TH: 2026-11-04}\n", "each change needs an 'id'"),
    ("changes:\n  - id: a\n    market: TH\n", "unknown key(s) market"),
    ("changes:\n  - id: a\n    markets: {TH: 4 Nov}\n    metrics: [cpo]\n", "is not a date"),
    ("changes:\n  - id: a\n    markets: {TH: 2026-11-04}\n", "name the metrics"),
    ("changes:\n  - id: a\n    markets: {TH: 2026-11-04}\n    metrics: [cpoo]\n",
     "unknown metric(s) cpoo"),
    ("changes:\n  - id: a\n    metrics: [cpo]\n", "a rollout needs 'markets'"),
    ("changes:\n  - id: a\n    kind: ab\n", "kind must be rollout or experiment"),
    ("changes:\n  - id: a\n    markets: {TH: 2026-11-04}\n    metrics: [cpo]\n    window: 3\n",
     "window must be"),
    ("changes:\n  - {id: a, kind: experiment}\n  - {id: a, kind: experiment}\n",
     "appear more than once"),
    ("changes: {id: a}\n", "expected a 'changes' list"),
])
def test_bad_changes_files_are_refused(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_changes(_write(tmp_path, text))


def test_changes_in_a_period(tmp_path: Path) -> None:
    listed = load_changes(_write(tmp_path, GOOD))
    experiments = pd.DataFrame({"experiment": ["one_tap_cancel", "old_test", "my_test"],
                                "market": ["ID", "ID", "MY"],
                                "start": pd.to_datetime(["2026-11-01 00:00", "2026-08-01 00:00",
                                                         "2026-11-20 13:00"])})
    # baseline start 1 Oct to period end 1 Dec; markets TH, ID, PH
    found = changes_in(listed, experiments, ["TH", "ID", "PH"], "2026-10-01", "2026-12-01")
    assert [(c.id, c.kind, c.start) for c in found] == [
        ("staggered", "rollout", "2026-10-20"),         # PH is in the run
        ("one_tap_cancel", "experiment", "2026-11-01"),  # the file adds its metrics
        ("timer", "rollout", "2026-11-04")]
    assert found[1].metrics == ("cancel_cpo",) and found[1].markets == {"ID": "2026-11-01"}
    # the first day is what counts: the period's end is excluded, markets must match
    assert [c.id for c in changes_in(listed, experiments, ["MY"], "2026-11-20",
                                     "2026-12-01")] == ["my_test"]
    assert changes_in(listed, experiments, ["TH"], "2026-11-05", "2026-12-01") == []


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("changes") / "data"
    generate_demo_data(out, orders=16_000, months=2, seed=3, markets=["TH", "VN", "PH", "ID"])
    return out


def test_run_measures_the_changes_of_its_period(data: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    changes = _write(tmp_path, GOOD)
    out = tmp_path / "run"
    args = ["run", "--data", str(data), "--markets", "TH,ID", "--start", "2026-11-01",
            "--end", "2026-12-01", "--notebooks", "summary,impact", "--changes", str(changes),
            "--out", str(out), "--workers", "2", "--no-progress"]
    assert main(args) == 0, capsys.readouterr().err
    err = capsys.readouterr().err
    assert "4 notebooks for 2 markets and 2 changes" in err  # staggered: neither VN nor PH run
    for change in ("timer", "one_tap_cancel"):
        page = (out / "impact" / change / "impact.html").read_text()
        assert "Did it work?" in page and "Traceback" not in page
    timer = (out / "impact" / "timer" / "impact.html").read_text()
    assert "shorter timer" in timer and "pre-trend p" in timer
    assert "sample ratio" in (out / "impact" / "one_tap_cancel" / "impact.html").read_text()
    index = (out / "index.html").read_text()
    assert "Changes and experiments" in index
    assert 'href="impact/timer/impact.html"' in index
    assert 'href="impact/one_tap_cancel/impact.html"' in index
    summary = (out / "TH" / "summary.html").read_text()
    assert "../impact/timer/impact.html" in summary and "Changes in this period" in summary
    assert "../impact/one_tap_cancel/impact.html" in (out / "ID" / "summary.html").read_text()
    record = json.loads((out / "run.json").read_text())
    assert sorted(n["notebook"] for n in record["notebooks"]) == [
        "impact", "impact", "summary", "summary"]
    assert main(args) == 0  # nothing changed: every readout reused
    assert "4 reused" in capsys.readouterr().out
    # no changes file: only the experiment of the assignments table
    assert main([*args[:-7], "--changes", "none", "--out", str(tmp_path / "none"),
                 "--workers", "2", "--no-progress"]) == 0
    assert sorted(p.name for p in (tmp_path / "none" / "impact").iterdir()
                  if p.name != "logs") == ["one_tap_cancel"]


def test_a_bad_changes_file_stops_the_run_before_it_starts(
        data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = _write(tmp_path, "changes:\n  - id: a\n    markets: {TH: 2026-11-04}\n")
    assert main(["run", "--data", str(data), "--markets", "TH", "--notebooks", "summary",
                 "--changes", str(bad), "--out", str(tmp_path / "o"), "--no-progress"]) == 2
    assert "name the metrics" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_the_demo_changes_are_recovered(tmp_path: Path) -> None:
    """On the demo data of `make demo` (generated whole: 500,000 orders, 5 s), with
    params/changes.yaml: TH's timer shortens the p90 hours to resolve and cuts
    cancellation contacts with a clean pre-trend; ID's A/B test is recovered within its
    interval and leaves the cancellation rate unchanged."""
    from shopcx.data.sources import load_source
    from shopcx.impact.changes import analyse_change

    summary = generate_demo_data(tmp_path / "demo")
    source = load_source(tmp_path / "demo")
    timer, one_tap = load_changes(Path(__file__).resolve().parents[1] / "params"
                                  / "changes.yaml")
    rollout = {e["metric"]: e for e in analyse_change(source, timer)["effects"]}
    for metric in ("p90_hours_to_resolve", "cancel_cpo"):
        e = rollout[metric]
        assert e["ci_high"] < 0 and e["verdict"] == "better for customers", e
        assert e["pre_trend_p"] > 0.05, e
        assert e["placebo"]["as_large"] == 0
    assert -48 < rollout["p90_hours_to_resolve"]["effect"] < -40  # 72 h -> 24 h, capped
    found = changes_in([one_tap], pd.DataFrame(
        {"experiment": ["one_tap_cancel"], "market": ["ID"],
         "start": [pd.Timestamp("2026-11-01")]}), ["ID"], "2026-11-01", "2026-12-01")
    test = analyse_change(source, found[0])
    truth = summary.stories["experiment"]["true_effect_cancel_cpo"]
    cpo = next(e for e in test["effects"] if e["metric"] == "cancel_cpo")
    assert cpo["ci_low"] <= truth <= cpo["ci_high"] and cpo["verdict"] == "better"
    rate = next(e for e in test["effects"] if e["metric"] == "cancellation_rate")
    assert rate["verdict"] == "no significant effect"
    assert not test["sample_ratio"]["mismatch"]
