"""Series of periods (`shopcx run --every week --last N`): layout, trends, reuse."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from shopcx.data.demo import generate_demo_data
from shopcx.data.sources import load_source
from shopcx.errors import InputError
from shopcx.metrics.kpis import compute_kpis, compute_period_kpis
from shopcx.metrics.maturity import Maturity
from shopcx.run.config import load_run_config
from shopcx.run.series import plan_series, run_series

from .test_maturity import tables as maturity_tables

ROOT = Path(__file__).resolve().parents[1]
PARAMS = ('market: str = "US"  # ISO market code\nstart: str = ""  # period start\n'
          'end: str = ""  # period end\nbaseline_start: str = ""  # baseline start\n'
          'baseline_end: str = ""  # baseline end\ndata: str = ""  # data source\n'
          'min_sample: int = 30  # smallest denominator shown')


def test_period_kpis_in_one_pass_equal_each_period_alone() -> None:
    source = load_source(maturity_tables())
    weeks = [("2026-11-09", "2026-11-16"), ("2026-11-16", "2026-11-23"),
             ("2026-11-23", "2026-11-30")]
    together = compute_period_kpis(source, "MY", weeks, Maturity())
    assert list(dict.fromkeys(together["period"])) == ["2026-11-09", "2026-11-16",
                                                       "2026-11-23"]
    for start, end in weeks:
        alone = compute_kpis(source, "MY", start, end, Maturity()).set_index("kpi")
        mine = together[together["period"] == start].set_index("kpi")
        cols = ["value", "numerator", "denominator", "ci_low", "ci_high", "mature_share"]
        pd.testing.assert_frame_equal(mine[cols].astype(float), alone[cols].astype(float))
    t = together.set_index(["period", "kpi"])
    # the empty week: no orders, no contacts; counts 0, rates undefined
    assert t.loc[("2026-11-09", "orders"), "value"] == 0
    assert pd.isna(t.loc[("2026-11-09", "cancellation_rate"), "value"])
    # by hand (tests/test_maturity.py): 1 of 4 cancelled in each week; contacts K1, K2
    # in the first week (K2 on 25 Nov belongs to the second by its own time)
    assert t.loc[("2026-11-16", "cancellation_rate"), "value"] == 0.75
    assert t.loc[("2026-11-23", "cancellation_rate"), "value"] == 0.25
    assert t.loc[("2026-11-16", "contacts"), "value"] == 1
    assert t.loc[("2026-11-23", "contacts"), "value"] == 3
    with pytest.raises(InputError, match="overlap"):
        compute_period_kpis(source, "MY", [("2026-11-09", "2026-11-20"),
                                           ("2026-11-16", "2026-11-23")])


def _probe(folder: Path) -> None:
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {
        "display_name": "Python 3", "language": "python", "name": "python3"}})
    params = nbformat.v4.new_code_cell(PARAMS)
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell("print(market, start, end, baseline_start)")]
    nbformat.write(nb, folder / "probe.ipynb")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("series")
    generate_demo_data(root / "data", orders=6000, months=2, seed=3, markets=["MY", "TH"])
    (root / "notebooks").mkdir()
    _probe(root / "notebooks")
    shutil.copy(ROOT / "notebooks" / "trends.ipynb", root / "notebooks" / "trends.ipynb")
    return root


def _series(project: Path, **more):
    config = load_run_config(data=str(project / "data"), markets=["MY", "TH"], every="week",
                             last=4, out=str(project / "out"), workers=2, min_sample=5,
                             notebooks=["probe", "trends"], **more)
    return plan_series(config, project / "notebooks")


def test_a_weekly_series_lays_out_periods_and_trends(project: Path) -> None:
    series = _series(project)
    # the demo data ends on 1 Dec (a Tuesday): the last complete week is 23-29 Nov
    assert [s.label for s in series.spans] == ["2026-W45", "2026-W46", "2026-W47",
                                               "2026-W48"]
    assert series.plans[-1].start == "2026-11-23" and series.plans[-1].end == "2026-11-30"
    assert (series.plans[-1].baseline_start, series.plans[-1].baseline_end) == (
        "2026-11-16", "2026-11-23")
    done = run_series(series, progress=False)
    assert done.exit_status == 0, [r.error for r in done.failed]
    out = project / "out"
    for label in ("2026-W45", "2026-W48"):
        for market in ("MY", "TH"):
            assert (out / label / market / "probe.html").exists()
        assert (out / label / "index.html").exists() and (out / label / "kpis.csv").exists()
    assert (out / "MY" / "trends.html").exists() and (out / "index.html").exists()
    # trends.csv, from the one-pass computation, equals each period's own kpis.csv
    trends = pd.read_csv(out / "trends.csv")
    assert sorted(trends["period"].unique()) == ["2026-W45", "2026-W46", "2026-W47",
                                                 "2026-W48"]
    for span in series.spans:
        per = pd.read_csv(out / span.label / "kpis.csv").set_index(["market", "kpi"])
        mine = trends[trends["period"] == span.label].set_index(["market", "kpi"])
        for col in ("value", "numerator", "denominator", "mature_share"):
            pd.testing.assert_series_equal(mine[col].astype(float), per.loc[mine.index, col]
                                           .astype(float), check_names=False)
    # the last week is young and compared at the same age, stated in the index
    young = trends[(trends["period"] == "2026-W48") & (trends["kpi"] == "cancellation_rate")]
    assert young["mature_share"].iloc[0] == 0 and bool(young["same_age"].iloc[0])
    index = (out / "index.html").read_text()
    assert "2026-W48, is young" in index and "at the same age" in index
    assert 'href="2026-W47/MY/probe.html"' in index and 'href="MY/trends.html"' in index
    record = json.loads((out / "run.json").read_text())
    assert record["every"] == "week" and len(record["periods"]) == 4


def test_a_new_day_of_data_reruns_only_the_weeks_it_touches(project: Path) -> None:
    run_series(_series(project), progress=False)  # everything computed (or kept) once
    again = run_series(_series(project), progress=False)
    assert len(again.reused) == len(again.results) == 10  # 4 weeks x 2 markets + 2 trends
    # a new day: orders placed on 1 December (outside every week of the series)
    orders = pd.read_parquet(project / "data" / "orders")
    new = orders[orders["market"] == "MY"].head(3).copy()
    new["order_id"] = ["NEW1", "NEW2", "NEW3"]
    new["created_at"] = pd.Timestamp("2026-12-01 10:00", tz="UTC")
    new["paid_at"] = pd.Timestamp("2026-12-01 10:05", tz="UTC")
    new["shipped_at"] = new["delivered_at"] = pd.NaT
    new["carrier"] = pd.Series([None] * 3, dtype=orders["carrier"].dtype, index=new.index)
    new.to_parquet(project / "data" / "orders" / "zz-new-day.parquet")
    done = run_series(_series(project), progress=False)
    reused = sorted(f"{Path(r.output_dir).parent.name}/{Path(r.output_dir).name}"
                    for r in done.reused)
    # W45 and W46 are mature (14 days old at 2 Dec) and their data did not change;
    # W47 and W48 are still maturing, so the later data's end reruns them; so do the
    # trends, which cover every week
    assert reused == ["2026-W45/MY", "2026-W45/TH", "2026-W46/MY", "2026-W46/TH"]
    assert done.exit_status == 0


@pytest.mark.parametrize(("settings", "message"), [
    ({"every": "week", "start": "2026-11-01"}, "leave start and end out"),
    ({"every": "day"}, "every must be week or month"),
    ({"every": "week", "last": 0}, "last must be a whole number"),
    ({"every": "week", "baseline": "last_year"}, "not a baseline rule"),
    ({"every": "week", "baseline": "fixed"}, "go with the fixed baseline rule"),
    ({"last": 4}, "go with every"),
])
def test_series_settings_are_checked(settings: dict, message: str) -> None:
    with pytest.raises(InputError, match=message):
        load_run_config(**settings)


def test_every_on_the_command_line_replaces_the_files_period(tmp_path: Path) -> None:
    f = tmp_path / "p.yaml"
    f.write_text("start: 2026-10-01\nend: 2026-11-01\nmarkets: [MY]\n")
    config = load_run_config(f, every="month", last=3, baseline="earlier:12")
    assert (config.start, config.end, config.last, config.baseline) == (
        None, None, 3, "earlier:12")
    assert load_run_config(every="week").last == 8 and load_run_config(every="month").last == 6
