"""The batch runner end to end, in temporary folders, on small data."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from shopcx.cli import main
from shopcx.data.demo import generate_demo_data
from shopcx.data.sources import load_source
from shopcx.errors import InputError
from shopcx.metrics.dictionary import KPIS
from shopcx.run.config import load_run_config
from shopcx.run.runner import check_notebook_parameters, default_periods, plan_run, run

from .conftest import tiny_tables, write_tables

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
READOUTS = ("summary", "funnel", "cpo", "voc", "root_cause")
CODE_MARKERS = ("import ", "readout.show_table", "plots.plot_", "compare.compare_periods",
                "min_sample: int")


def _broken_notebook(folder: Path) -> None:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('market: str = "US"  # ISO market code')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# Broken\n\nFails on purpose."), params,
                nbformat.v4.new_code_cell('raise RuntimeError(f"planted failure for {market}")')]
    nbformat.write(nb, folder / "broken.ipynb")


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory):
    """Every readout plus a deliberately failing notebook, for US and GB, on the tiny data."""
    root = tmp_path_factory.mktemp("tinyrun")
    data = write_tables(tiny_tables(), root / "data", "parquet")
    notebooks = root / "notebooks"
    shutil.copytree(NOTEBOOKS, notebooks)
    _broken_notebook(notebooks)
    config = load_run_config(data=str(data), markets=["US", "GB"], start="2026-10-01",
                             end="2026-11-01", out=str(root / "out"), workers=2, min_sample=2,
                             notebooks=[*READOUTS, "broken"])
    plan = plan_run(config, notebooks)
    return run(plan, progress=False)


def test_every_readout_is_written_and_the_failure_is_contained(tiny_run) -> None:
    out = tiny_run.plan.out
    assert tiny_run.exit_status == 1
    assert [(r.market, r.notebook) for r in tiny_run.failed] == [("US", "broken"),
                                                                ("GB", "broken")]
    assert "planted failure for US" in tiny_run.failed[0].error
    for market in ("US", "GB"):
        for nb in READOUTS:
            assert (out / market / f"{nb}.html").exists(), (market, nb)
            assert (out / market / f"{nb}.ipynb").exists()
        # the failing notebook keeps its executed copy, with the error in it
        executed = nbformat.read(out / market / "broken.ipynb", as_version=4)
        errors = [o for c in executed.cells if c.cell_type == "code"
                  for o in c.get("outputs", []) if o.get("output_type") == "error"]
        assert errors and errors[0]["ename"] == "RuntimeError"
    # hidden files are only the keys of finished readouts (a rerun reuses them); a
    # failed notebook has none, so a rerun runs it again
    hidden = sorted(str(p.relative_to(out)) for p in out.rglob(".*"))
    assert hidden == sorted(f"{m}/.{nb}.key" for m in ("US", "GB") for nb in READOUTS)


def test_readouts_have_no_code_and_no_external_requests(tiny_run) -> None:
    for market in ("US", "GB"):
        for nb in READOUTS:
            page = (tiny_run.plan.out / market / f"{nb}.html").read_text()
            for marker in CODE_MARKERS:
                assert marker not in page, (market, nb, marker)
            assert "<script src=" not in page
            assert "cdnjs" not in page and "unpkg" not in page
            assert "Definitions" in page and "Data quality" in page


def test_run_json_index_and_kpis_csv(tiny_run) -> None:
    out = tiny_run.plan.out
    record = json.loads((out / "run.json").read_text())
    assert record["status"] == "failed"
    assert record["parameters"]["markets"] == ["US", "GB"]
    assert record["parameters"]["start"] == "2026-10-01"
    assert {n["notebook"]: n["status"] for n in record["notebooks"] if n["market"] == "US"} == {
        "summary": "ok", "funnel": "ok", "cpo": "ok", "voc": "ok", "root_cause": "ok",
        "broken": "failed"}
    assert record["versions"]["papermill"] != "not installed"
    assert record["warning_rows"] == 3
    assert all(n["seconds"] > 0 for n in record["notebooks"])
    kpis = pd.read_csv(out / "kpis.csv")
    assert len(kpis) == 2 * len(KPIS)
    us = kpis[kpis["market"] == "US"].set_index("kpi")
    assert us.loc["orders", "value"] == 6
    assert us.loc["cancellation_rate", "numerator"] == 4
    index = (out / "index.html").read_text()
    assert "US/funnel.html" in index and "GB/voc.html" in index
    assert "Failed (2)" in index and "planted failure for GB" in index
    assert "<script src=" not in index and "http" not in index.replace("http-equiv", "")


def test_demo_stories_reach_the_readouts(tmp_path: Path) -> None:
    data = tmp_path / "demo"
    generate_demo_data(data, orders=40_000, months=2, seed=5, markets=["MY", "TH"])
    config = load_run_config("params/demo.yaml" if Path("params/demo.yaml").exists()
                             else ROOT / "params" / "demo.yaml",
                             data=str(data), markets=["MY"], out=str(tmp_path / "out"),
                             workers=2)
    summary = run(plan_run(config, NOTEBOOKS), progress=False)
    assert summary.exit_status == 0, [r.error for r in summary.failed]
    funnel = (tmp_path / "out" / "MY" / "funnel.html").read_text()
    assert "NinjaVan has the highest cancellation rate of the carriers" in funnel
    assert "Cancelled at stage in transit rose from" in funnel
    index = (tmp_path / "out" / "index.html").read_text()
    assert index.count('class="kpi red"') >= 3  # the incident turns headline KPIs red
    # the root cause: linked from the index and the summary, the carrier named first
    assert 'href="MY/root_cause.html#cancellation_rate"' in index
    summary_page = (tmp_path / "out" / "MY" / "summary.html").read_text()
    assert 'href="root_cause.html#cancellation_rate"' in summary_page
    why = (tmp_path / "out" / "MY" / "root_cause.html").read_text()
    assert '<h2 id="cancellation_rate">' in why
    assert "The largest driver is <strong>carrier NinjaVan</strong>" in why
    assert "where is my order × carrier NinjaVan" in why


def test_unknown_parameter_is_rejected_before_running(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    data = write_tables(tiny_tables(), tmp_path / "data", "csv")
    params = tmp_path / "run.yaml"
    out = tmp_path / "out"
    params.write_text(f"data: {data}\nout: {out}\nparameters:\n  colour: red\n")
    assert main(["run", str(params)]) == 2
    assert "unknown notebook parameter 'colour'" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize(("text", "message"), [
    ("colour: red\n", "unknown setting(s) colour"),
    ("parameters:\n  seller_fault_threshold: high\n",
     "parameters: parameter 'seller_fault_threshold' = 'high' is not a number"),
    ("parameters:\n  min_sample: five\n",
     "parameter 'min_sample' = 'five' is not a whole number, as notebook"),
    ("market_parameters:\n  US:\n    auto_approve_timer_hours: soon\n",
     "market_parameters.US: parameter 'auto_approve_timer_hours' = 'soon' is not a number"),
    ("parameters:\n  market: GB\n", "'market' is set by the run for each notebook"),
    ("min_sample: five\n", "min_sample must be a whole number"),
    ("markets: [BR]\n", "market(s) BR have no orders"),
    ("start: 2026-11-01\nend: 2026-10-01\n", "is not before"),
    ("markets: [USA]\n", "not an ISO alpha-2 code"),
    ("notebooks: [nope]\n", "unknown notebook(s) nope"),
    ("workers: 0\n", "workers must be a whole number"),
    ("start: someday\n", "is not a date"),
])
def test_bad_configurations_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                   text: str, message: str) -> None:
    data = write_tables(tiny_tables(), tmp_path / "data", "csv")
    params = tmp_path / "run.yaml"
    params.write_text(f"data: {data}\nout: {tmp_path / 'out'}\n" + text)
    assert main(["run", str(params)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_broken_data_stops_the_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tables = tiny_tables()
    tables["orders"].loc[0, "payment_method"] = "Cash"
    data = write_tables(tables, tmp_path / "data", "csv")
    assert main(["run", "--data", str(data), "--out", str(tmp_path / "out")]) == 2
    assert "orders.payment_method" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_default_periods_take_the_last_complete_month(tiny: dict) -> None:
    source = load_source(tiny)
    # the latest order is 2026-11-01 00:00, the only order of November: October is
    # the last complete month, September its baseline
    assert default_periods(source, load_run_config()) == (
        "2026-10-01", "2026-11-01", "2026-09-01", "2026-10-01")
    custom = load_run_config(start="2026-10-10", end="2026-10-17")
    assert default_periods(source, custom) == ("2026-10-10", "2026-10-17", "2026-10-03",
                                               "2026-10-10")
    with pytest.raises(InputError, match="both baseline"):
        default_periods(source, load_run_config(baseline_start="2026-09-01"))


def test_params_files_load_and_validate() -> None:
    from shopcx.metrics.maturity import DEFAULT_WINDOWS, load_maturity
    from shopcx.metrics.targets import load_targets
    from shopcx.voc.sentiment import load_lexicons
    from shopcx.voc.themes import load_taxonomy

    files = sorted((ROOT / "params").glob("*.yaml"))
    assert {f.name for f in files} >= {"demo.yaml", "monthly.yaml", "targets.yaml",
                                       "voc_taxonomy.yaml", "sentiment_lexicons.yaml"}
    for path in files:
        if path.name == "targets.yaml":
            targets = load_targets(path)
            assert len(targets.headline) == 10
        elif path.name == "voc_taxonomy.yaml":
            assert len(load_taxonomy(path).themes) >= 20
        elif path.name == "sentiment_lexicons.yaml":
            assert set(load_lexicons(str(path))) == {"id", "ms", "th", "vi", "pt", "es"}
        elif path.name == "maturity.yaml":  # the shipped file states the defaults
            assert load_maturity(path).windows == DEFAULT_WINDOWS
        elif path.name == "changes.yaml":
            from shopcx.impact.changes import load_changes

            assert [(c.id, c.kind, c.markets) for c in load_changes(path)] == [
                ("th_auto_approve_24h", "rollout", {"TH": "2026-11-04"}),
                ("one_tap_cancel", "experiment", {})]
        else:
            config = load_run_config(path)
            names, declared = check_notebook_parameters(config, NOTEBOOKS)
            assert set(names) <= {*READOUTS, "escalations", "trends", "impact"}


def _probe_notebook(folder: Path, name: str, body: str) -> None:
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {
        "display_name": "Python 3", "language": "python", "name": "python3"}})
    params = nbformat.v4.new_code_cell(
        'market: str = "US"  # ISO market code\nstart: str = ""  # period start\n'
        'end: str = ""  # period end\nbaseline_start: str = ""  # baseline start\n'
        'baseline_end: str = ""  # baseline end\ndata: str = ""  # data source\n'
        'min_sample: int = 30  # smallest denominator shown')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(body)]
    nbformat.write(nb, folder / f"{name}.ipynb")


def _printed(path: Path) -> str:
    nb = nbformat.read(path, as_version=4)
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                   for o in c.get("outputs", []))


@pytest.mark.parametrize("fresh", [False, True])
def test_a_kept_kernel_gives_each_notebook_a_clean_namespace(tmp_path: Path, fresh: bool) -> None:
    """One worker runs a notebook that leaves state behind, one that checks for it, one
    that fails and one more: kept kernels are reused, cleaned, and replaced after a failure."""
    data = write_tables(tiny_tables(), tmp_path / "data", "parquet")
    folder = tmp_path / "notebooks"
    folder.mkdir()
    _probe_notebook(folder, "a_dirty", (
        "import os, matplotlib\n"
        "leak = 1\nmatplotlib.rcParams['lines.linewidth'] = 9.0\nos.chdir('/')\n"
        "print('pid', os.getpid())"))
    check = ("import os, matplotlib\n"
             "assert 'leak' not in globals(), 'namespace not cleared'\n"
             "assert matplotlib.rcParams['lines.linewidth'] == 1.5, 'rcParams kept'\n"
             f"assert os.getcwd() == {str(folder)!r}, os.getcwd()\n"
             "print('pid', os.getpid())")
    _probe_notebook(folder, "b_check", check)
    _probe_notebook(folder, "c_fails", "raise RuntimeError('planted')")
    _probe_notebook(folder, "d_after", check)
    config = load_run_config(data=str(data), markets=["US"], start="2026-10-01",
                             end="2026-11-01", out=str(tmp_path / "out"), workers=1,
                             notebooks=["a_dirty", "b_check", "c_fails", "d_after"],
                             fresh_kernels=fresh)
    summary = run(plan_run(config, folder), progress=False)
    status = {r.notebook: r.status for r in summary.results}
    assert status == {"a_dirty": "ok", "b_check": "ok", "c_fails": "failed", "d_after": "ok"}
    pid = {n: _printed(tmp_path / "out" / "US" / f"{n}.ipynb").split()[-1]
           for n in ("a_dirty", "b_check", "d_after")}
    assert (pid["a_dirty"] == pid["b_check"]) is not fresh  # kept, unless fresh kernels
    assert pid["d_after"] != pid["b_check"]  # a failed notebook's kernel is not reused
