"""The batch runner: every deep-dive notebook for every market, in parallel.

``run`` checks everything first (configuration, notebook parameters, the data
contract) and only then executes: one Papermill run per market and notebook
in a pool of worker processes, each executed notebook rendered to a
code-free HTML readout in the same process, plus the KPI comparison per
market for the index. A failing notebook keeps its executed copy and is
reported; the others still run. Every file is written under a temporary name
and renamed when complete.

Output layout (docs/commands.md)::

    OUT/index.html   OUT/kpis.csv   OUT/run.json
    OUT/<MARKET>/<notebook>.ipynb   OUT/<MARKET>/<notebook>.html
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import platform
import signal
import time
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from shopcx.errors import InputError
from shopcx.files import write_atomic
from shopcx.metrics.facts import parse_period
from shopcx.metrics.maturity import load_maturity
from shopcx.metrics.targets import Targets, load_targets
from shopcx.params import find_project_file
from shopcx.readouts.export import render_html
from shopcx.run.config import RunConfig
from shopcx.run.pool import Outcome, Task, execute

__all__ = [
    "NotebookResult",
    "RunPlan",
    "check_notebook_parameters",
    "default_periods",
    "plan_run",
    "run",
]

COMMON_PARAMETERS = ("market", "start", "end", "baseline_start", "baseline_end", "data",
                     "min_sample")
SET_BY_RUN = (*COMMON_PARAMETERS, "as_of", "maturity", "every", "last", "baseline", "change",
              "changes_file")
SERIES_NOTEBOOKS = ("trends",)
"""Notebooks run once per market over a series of periods (``--every``), not per period."""
IMPACT_NOTEBOOK = "impact"
"""The notebook run once per change or experiment of a period (not per market)."""
RUN_LEVEL = (*SERIES_NOTEBOOKS, IMPACT_NOTEBOOK)
"""Parameters the run sets for each notebook that declares them (from its own settings)."""


# --------------------------------------------------------------------------- plan


@dataclass
class Job:
    """One notebook for one market."""

    market: str
    notebook: str
    input_path: str
    output_dir: str
    parameters: dict[str, Any]
    cwd: str
    timeout: int | None = None
    warm: bool = False  # run on the worker's kept kernel (shopcx.run.kernels)
    key: str = ""  # identifies its inputs: a finished readout with the same key is reused

    @property
    def key_file(self) -> Path:
        return Path(self.output_dir) / f".{self.notebook}.key"

    def finished(self) -> bool:
        """Its readout exists from an earlier run with the same inputs."""
        out = Path(self.output_dir)
        try:
            same = bool(self.key) and self.key_file.read_text() == self.key
        except OSError:
            return False
        return same and (out / f"{self.notebook}.html").exists() and (
            out / f"{self.notebook}.ipynb").exists()


@dataclass
class NotebookResult:
    """What happened to one job."""

    market: str
    notebook: str
    status: str  # "ok" or "failed"
    seconds: float
    error: str | None = None
    ipynb: str | None = None
    html: str | None = None
    reused: bool = False  # kept from an earlier run: its inputs did not change
    output_dir: str = ""  # the job's folder (a series has one per period and market)


@dataclass
class RunPlan:
    """A checked run: resolved periods, markets, notebooks and jobs."""

    config: RunConfig
    data: str
    markets: list[str]
    start: str
    end: str
    baseline_start: str
    baseline_end: str
    notebooks: list[str]
    out: Path
    jobs: list[Job] = field(default_factory=list)
    targets: Targets | None = None
    targets_path: str | None = None
    warnings: list[dict[str, Any]] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    as_of: str = ""  # --as-of as given ("" = the data's end)
    data_end: str | None = None  # the moment maturity is judged at (YYYY-MM-DD)
    maturity_path: str = ""
    changes: list[Any] = field(default_factory=list)  # shopcx.impact.changes.Change
    changes_path: str = ""


def _notebook_dir(notebooks_dir: str | Path | None) -> Path:
    if notebooks_dir is not None:
        folder = Path(notebooks_dir)
    else:
        found = find_project_file("notebooks")
        if found is None:
            raise InputError(f"no notebooks/ folder found above {Path.cwd()}; run from the "
                             "project folder")
        folder = found
    if not folder.is_dir():
        raise InputError(f"notebooks folder {folder} does not exist")
    return folder.resolve()


def _declared(path: Path) -> dict[str, str]:
    """Parameter names and declared types of a notebook's ``parameters`` cell."""
    import nbformat
    from papermill.translators import PythonTranslator

    nb = nbformat.read(path, as_version=4)
    tagged = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(tagged) != 1:
        raise InputError(f"notebook {path.name} must have exactly one cell tagged "
                         f"'parameters' (found {len(tagged)})")
    return {p.name: p.inferred_type_name for p in PythonTranslator.inspect(tagged[0])}


_TYPE_WORDS = {"int": "whole number", "float": "number", "str": "text",
               "bool": "true or false"}


def _type_ok(value: Any, declared: str) -> bool:
    if declared in ("None", ""):
        return True
    if declared == "str":
        return isinstance(value, str)
    if declared == "bool":
        return isinstance(value, bool)
    if declared == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if declared == "float":
        return isinstance(value, int | float) and not isinstance(value, bool)
    return True


def _month_start(ts: pd.Timestamp) -> pd.Timestamp:
    return pd.Timestamp(ts.year, ts.month, 1)


def default_periods(source: Any, config: RunConfig) -> tuple[str, str, str, str]:
    """Fill in the periods a configuration leaves open.

    With no start: the last complete calendar month in the data (the month of
    the latest order if the data has orders on that month's last day, else
    the month before). With no end: one month after start. With no baseline:
    the same length right before the period (the previous month for a month).
    """
    if config.start:
        start = pd.Timestamp(config.start)
    else:
        o = source.tables["orders"]
        last = source.execute(o.created_at.max())
        if last is None or pd.isna(last):
            raise InputError("the data has no orders, so there is no default period; "
                             "give --start and --end")
        last_day = pd.Timestamp(last).normalize()
        start = _month_start(last_day)
        if (last_day + pd.Timedelta(days=1)).month == last_day.month:
            start = _month_start(start - pd.Timedelta(days=1))
    end = pd.Timestamp(config.end) if config.end else start + pd.DateOffset(months=1)
    parse_period(start, end)
    monthly = start.day == 1 and end == start + pd.DateOffset(months=1)
    if config.baseline_start and config.baseline_end:
        b_start, b_end = pd.Timestamp(config.baseline_start), pd.Timestamp(config.baseline_end)
    elif config.baseline_start or config.baseline_end:
        raise InputError("give both baseline_start and baseline_end, or neither")
    elif monthly:
        b_start, b_end = start - pd.DateOffset(months=1), start
    else:
        b_start, b_end = start - (end - start), start
    parse_period(b_start, b_end)
    fmt = "%Y-%m-%d"
    return start.strftime(fmt), end.strftime(fmt), b_start.strftime(fmt), b_end.strftime(fmt)


def check_notebook_parameters(config: RunConfig, notebooks_dir: str | Path | None = None
                              ) -> tuple[list[str], dict[str, dict[str, str]]]:
    """Check the configuration's notebooks and parameters against the notebooks' cells.

    Every notebook must exist and have exactly one ``parameters`` cell; every
    parameter the configuration sets must be declared by at least one notebook of
    the folder (settings for notebooks left out of this run are ignored), with
    a value of the declared type, wherever it is set (the params file's
    ``parameters``, each market's ``market_parameters``; Papermill itself would
    only warn). Returns the notebook names and their declared parameters.
    """
    folder = _notebook_dir(notebooks_dir)
    available = sorted(p.stem for p in folder.glob("*.ipynb"))
    names = ([n for n in available if n not in RUN_LEVEL] if config.notebooks is None
             else config.notebooks)
    unknown = [n for n in names if n not in available]
    if unknown:
        raise InputError(f"unknown notebook(s) {', '.join(unknown)}; available: "
                         f"{', '.join(available)}")
    declared = {n: _declared(folder / f"{n}.ipynb") for n in names}
    others = {n: _declared(folder / f"{n}.ipynb") for n in available if n not in names}
    where = config.source_file or "command line"
    settings = [(f"{where}, parameters", k, v) for k, v in config.parameters.items()]
    settings += [(f"{where}, market_parameters.{m}", k, v)
                 for m, values in config.market_parameters.items() for k, v in values.items()]
    settings += [(where, k, None) for k in COMMON_PARAMETERS]  # declared by every notebook
    for origin, name, value in settings:
        if value is not None and name in SET_BY_RUN and name != "min_sample":
            raise InputError(f"{origin}: {name!r} is set by the run for each notebook; "
                             "use the top-level setting or the command line instead")
        takers = [n for n, d in declared.items() if name in d]
        if not takers and any(name in d for d in others.values()):
            continue  # meant for a notebook not selected in this run
        if not takers:
            raise InputError(f"unknown notebook parameter {name!r}: none of "
                             f"{', '.join(names)} declares it")
        for n in takers:
            if value is not None and not _type_ok(value, declared[n][name]):
                raise InputError(
                    f"{origin}: parameter {name!r} = {value!r} is not a "
                    f"{_TYPE_WORDS.get(declared[n][name], declared[n][name])}, as notebook "
                    f"{n} declares ({name}: {declared[n][name]})")
    return names, declared


def open_data(config: RunConfig) -> tuple[str, Any]:
    """The configuration's data (an absolute path or URL; the demo data when empty),
    opened and validated: ``(data, source)``."""
    from shopcx.readouts.readout import open_source

    if config.data:
        data = config.data if "://" in config.data else str(Path(config.data).resolve())
    else:
        data = ""
    try:
        source = open_source(data)
    except FileNotFoundError as exc:
        raise InputError(str(exc)) from exc
    return data or str(Path(source.description).resolve()), source


def plan_run(config: RunConfig, notebooks_dir: str | Path | None = None,
             changes: bool = True) -> RunPlan:
    """Check a configuration against the notebooks and the data; build the jobs.

    With ``changes``, also one ``impact`` job per change or experiment that
    started in the baseline or the period (:func:`plan_changes`).

    Raises InputError (bad settings, unknown or mistyped parameters, unknown
    markets or notebooks) or ContractError (the data breaks the contract)
    before anything is executed.
    """
    folder = _notebook_dir(notebooks_dir)
    names, declared = check_notebook_parameters(config, folder)
    measure = changes and (folder / f"{IMPACT_NOTEBOOK}.ipynb").exists() and (
        config.notebooks is None or IMPACT_NOTEBOOK in names)
    names = [n for n in names if n != IMPACT_NOTEBOOK]  # run per change, not per market
    data, source = open_data(config)
    present = source.markets()
    markets = present if config.markets == "all" else list(config.markets)
    missing = [m for m in markets if m not in present]
    if missing:
        raise InputError(f"market(s) {', '.join(missing)} have no orders in the data "
                         f"(markets present: {', '.join(present) or 'none'})")
    start, end, b_start, b_end = default_periods(source, config)
    # targets colour the index and the summary; the project's file is the default
    targets_path = config.targets or find_project_file("params/targets.yaml")
    targets = None
    if targets_path is not None:
        targets_path = str(Path(targets_path).resolve())
        targets = load_targets(targets_path)
    out = Path(config.out or f"outputs/run-{start}").resolve()
    report = source.validate()
    data_end = source.data_end()
    if config.as_of and data_end is not None and pd.Timestamp(config.as_of) > data_end:
        raise InputError(f"as_of {config.as_of} is after the data's end {data_end:%Y-%m-%d}")
    as_of = pd.Timestamp(config.as_of) if config.as_of else data_end
    maturity_path = config.maturity or find_project_file("params/maturity.yaml")
    maturity_path = str(Path(maturity_path).resolve()) if maturity_path else ""
    load_maturity(maturity_path)  # checked before anything runs
    changes_path = _changes_path(config.changes)
    plan = RunPlan(config, data, markets, start, end, b_start, b_end, names, out,
                   targets=targets, targets_path=targets_path,
                   warnings=[asdict(f) for f in report.warnings], rows=dict(report.rows),
                   as_of=config.as_of or "",
                   data_end=None if as_of is None else f"{as_of:%Y-%m-%d}",
                   maturity_path=maturity_path, changes_path=changes_path)
    inputs = _shared_inputs(folder, names)
    seen = source.at(as_of) if config.as_of and as_of is not None else source
    young = as_of is not None and as_of < max(pd.Timestamp(end), pd.Timestamp(b_end)) + \
        pd.Timedelta(days=_longest_window(maturity_path))
    for market in markets:
        data_key = seen.slice_fingerprint(market, min(start, b_start), max(end, b_end))
        values = {"market": market, "start": start, "end": end, "baseline_start": b_start,
                  "baseline_end": b_end, "data": data, "min_sample": config.min_sample,
                  "as_of": plan.as_of, "maturity": maturity_path,
                  "targets": targets_path or "", "changes_file": changes_path,
                  **config.parameters,
                  **config.market_parameters.get(market, {})}
        for n in names:
            params = {k: v for k, v in values.items() if k in declared[n]}
            key = _job_key(params, inputs[n], data_key, plan.data_end if young else None)
            plan.jobs.append(Job(market, n, str(folder / f"{n}.ipynb"),
                                 str(out / market), params, str(folder),
                                 warm=not config.fresh_kernels, key=key))
    if measure:
        plan_changes(plan, source, folder)
    return plan


def _changes_path(setting: str | None) -> str:
    """The run's changes file (:func:`shopcx.impact.changes.changes_path`), checked here,
    before anything runs."""
    from shopcx.impact.changes import changes_path, load_changes

    path = changes_path(setting)
    load_changes(path or None)
    return path


def plan_changes(plan: RunPlan, source: Any, folder: Path) -> None:
    """Add the impact jobs: one per change of the changes file (``changes`` setting,
    default params/changes.yaml) or experiment of the assignments table whose
    first day is in ``[baseline_start, end)`` and which touches a market of the run.
    Each readout lands in ``OUT/impact/<id>/impact.html``."""
    from shopcx.impact.changes import changes_in, load_changes
    from shopcx.impact.experiment import list_experiments

    config = plan.config
    path = plan.changes_path
    plan.changes = changes_in(load_changes(path or None), list_experiments(source),
                              plan.markets, plan.baseline_start, plan.end)
    if not plan.changes:
        return
    declared = _declared(folder / f"{IMPACT_NOTEBOOK}.ipynb")
    inputs = _shared_inputs(folder, [IMPACT_NOTEBOOK])[IMPACT_NOTEBOOK]
    data_key = source.fingerprint or plan.data
    for c in plan.changes:
        values = {"change": c.id, "changes_file": path, "data": plan.data,
                  "as_of": plan.as_of}
        params = {k: v for k, v in values.items() if k in declared}
        key = _job_key(params, inputs, data_key, plan.data_end)
        plan.jobs.append(Job(c.id, IMPACT_NOTEBOOK, str(folder / f"{IMPACT_NOTEBOOK}.ipynb"),
                             str(plan.out / "impact" / c.id), params, str(folder),
                             warm=not config.fresh_kernels, key=key))


def _shared_inputs(folder: Path, names: list[str]) -> dict[str, str]:
    """Per notebook, a fingerprint of what its readout depends on besides its parameters
    and data: the notebook, the library's code and the project's params files."""
    from shopcx.cache import code_fingerprint, file_fingerprint

    params = find_project_file("params")
    files = sorted(params.glob("*.yaml")) if params is not None else []
    shared = code_fingerprint() + "".join(file_fingerprint(f) for f in files)
    return {n: shared + file_fingerprint(folder / f"{n}.ipynb") for n in names}


def _longest_window(maturity_path: str) -> int:
    m = load_maturity(maturity_path)
    return max([*m.windows.values(), *m.kpis.values(), 0])


def _job_key(params: dict[str, Any], inputs: str, data: str, as_of: str | None) -> str:
    """A job's inputs in one hash: parameters, notebook, code, params files, the data it
    reads and, for a period still maturing, the moment the data is seen at."""
    text = json.dumps({"parameters": params, "inputs": inputs, "data": data, "as_of": as_of},
                      sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


# --------------------------------------------------------------------------- execution


def _error_text(exc: BaseException) -> str:
    ename = getattr(exc, "ename", None)
    if ename:
        cell = getattr(exc, "exec_count", None)
        where = f" (cell {cell})" if cell else ""
        return f"{ename}: {getattr(exc, 'evalue', '')}{where}"
    return f"{type(exc).__name__}: {exc}"


def execute_job(job: Job) -> NotebookResult:
    """Execute one notebook with Papermill and render its readout (in a worker)."""
    import papermill as pm

    from shopcx.run.kernels import ENGINE, worker_kernel

    began = time.perf_counter()
    out_dir = Path(job.output_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    final = out_dir / f"{job.notebook}.ipynb"
    tmp = out_dir / f".{job.notebook}.{os.getpid()}.tmp.ipynb"
    error = None
    # the kernel writes its own log lines to stderr; keep them in OUT/logs, not on screen
    log = Path(job.output_dir).parent / "logs" / f"{job.market}-{job.notebook}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    kernel = worker_kernel(log.parent) if job.warm else None
    saved = os.dup(2)
    try:
        with open(log, "wb") as handle:
            os.dup2(handle.fileno(), 2)
        extra: dict[str, Any] = {}
        if kernel is not None:
            extra = {"engine_name": ENGINE, "km": kernel.prepare(job.cwd)}
        pm.execute_notebook(job.input_path, str(tmp), parameters=job.parameters,
                            kernel_name="python3", language="python", cwd=job.cwd,
                            progress_bar=False,
                            log_output=False, execution_timeout=job.timeout,
                            request_save_on_cell_execute=False, **extra)
    except Exception as exc:  # the executed copy (if any) is kept with the error in it
        error = _error_text(exc)
        if kernel is not None:  # the next notebook gets a new kernel
            kernel.discard()
    finally:
        os.dup2(saved, 2)
        os.close(saved)
    ipynb = html = None
    if tmp.exists():
        os.replace(tmp, final)
        ipynb = str(final)
        try:
            render_html(final, out_dir / f"{job.notebook}.html")
            html = str(out_dir / f"{job.notebook}.html")
        except Exception as exc:
            error = error or f"rendering failed: {_error_text(exc)}"
    if error is None and job.key:  # a rerun reuses this readout while its inputs stay
        write_atomic(job.key_file, job.key)
    else:
        job.key_file.unlink(missing_ok=True)
    return NotebookResult(job.market, job.notebook, "failed" if error else "ok",
                          round(time.perf_counter() - began, 2), error, ipynb, html,
                          output_dir=job.output_dir)


def compare_market(data: str, market: str, start: str, end: str, baseline_start: str,
                   baseline_end: str, min_sample: int, as_of: str = "", maturity: str = ""
                   ) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """The KPI comparison and top pain points of one market (in a worker), for the index."""
    from shopcx.data.sources import load_source
    from shopcx.metrics.compare import compare_periods
    from shopcx.voc.painpoints import in_period, rank_pain_points, tag_feedback

    source = load_source(data)
    if as_of:
        source = source.at(as_of)
    changes = compare_periods(source, market, start, end, baseline_start, baseline_end,
                              min_sample=min_sample, maturity=load_maturity(maturity))
    tagged = tag_feedback(source, market, min(start, baseline_start), max(end, baseline_end))
    ranking = rank_pain_points(in_period(tagged, start, end),
                               in_period(tagged, baseline_start, baseline_end))
    top = ranking[ranking["priority"] > 0].head(3)
    pains = [{"label": r["label"], "owner": r["owner"], "share": float(r["share"]),
              "growing": bool(r["growing"])} for _, r in top.iterrows()]
    return changes.assign(market=market), pains


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for pkg in ("shopcx", "pandas", "numpy", "ibis-framework", "duckdb", "papermill",
                "nbconvert", "seaborn", "matplotlib", "scipy"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


@dataclass
class RunSummary:
    """The outcome of :func:`run`."""

    plan: RunPlan
    results: list[NotebookResult]
    kpis: pd.DataFrame
    seconds: float
    kpi_errors: dict[str, str]
    pain_points: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    interrupted: int | None = None  # the signal that stopped the run, if one did

    @property
    def failed(self) -> list[NotebookResult]:
        return [r for r in self.results if r.status != "ok"]

    @property
    def reused(self) -> list[NotebookResult]:
        return [r for r in self.results if r.reused]

    @property
    def not_run(self) -> list[Job]:
        """Jobs an interruption left without a result."""
        done = {(r.market, r.notebook) for r in self.results}
        return [j for j in self.plan.jobs if (j.market, j.notebook) not in done]

    @property
    def exit_status(self) -> int:
        """0 all done; 1 some readout failed; 128 + the signal when interrupted (130 for
        Ctrl-C, 143 for a scheduler's SIGTERM), as shells report a process so stopped."""
        if self.interrupted is not None:
            return 128 + self.interrupted
        return 1 if self.failed or self.kpi_errors else 0


def remove_partial(out: Path) -> None:
    """Temporary files of notebooks an interruption cut short (never under a final name)."""
    for tmp in out.glob("**/.*.tmp.ipynb"):
        tmp.unlink(missing_ok=True)


def _reusable(jobs: list[Job]) -> tuple[list[NotebookResult], list[Job]]:
    """Readouts kept from an earlier run (their inputs did not change), and the jobs to run."""
    kept = [NotebookResult(j.market, j.notebook, "ok", 0.0, None,
                           str(Path(j.output_dir) / f"{j.notebook}.ipynb"),
                           str(Path(j.output_dir) / f"{j.notebook}.html"), reused=True,
                           output_dir=j.output_dir)
            for j in jobs if j.finished()]
    done = {(r.output_dir, r.notebook) for r in kept}
    return kept, [j for j in jobs if (j.output_dir, j.notebook) not in done]


def job_tasks(jobs: list[Job]) -> list[Task]:
    """One pool task per job to run; a crashed worker's job becomes a failed result."""
    return [Task(("job", j.output_dir, j.notebook), execute_job, (j,),
                 f"{j.market}/{j.notebook}") for j in jobs]


def job_results(jobs: list[Job], outcome: Outcome) -> list[NotebookResult]:
    """The results of the jobs that ran (not those an interruption stopped)."""
    out = []
    for j in jobs:
        key = ("job", j.output_dir, j.notebook)
        if key in outcome.values:
            out.append(outcome.values[key])
        elif key in outcome.errors:
            out.append(NotebookResult(j.market, j.notebook, "failed", 0.0, outcome.errors[key],
                                      output_dir=j.output_dir))
    return out


def run(plan: RunPlan, progress: bool = True) -> RunSummary:
    """Execute a planned run; write readouts, ``kpis.csv``, ``run.json`` and ``index.html``.

    Readouts whose inputs did not change since an earlier run into the same
    folder (:attr:`Job.key`) are reused, not recomputed. SIGINT (Ctrl-C, to the
    process or its group), SIGTERM and SIGHUP stop the run within seconds
    (:func:`shopcx.run.pool.execute`): the readouts finished so far keep their
    index, ``run.json`` says ``interrupted``, and the summary's exit status is
    128 + the signal. Running the same command again resumes.
    """
    from shopcx.readouts.scorecard import render_index

    began = time.perf_counter()
    started_at = dt.datetime.now(dt.UTC)
    plan.out.mkdir(parents=True, exist_ok=True)
    remove_partial(plan.out)
    kept, todo = _reusable(plan.jobs)
    tasks = [compare_task(plan, m) for m in plan.markets] + job_tasks(todo)
    outcome = execute(tasks, plan.config.workers, progress, done=len(kept),
                      cleanup=lambda: remove_partial(plan.out))
    with outcome.signals_held():
        results = kept + job_results(todo, outcome)
        summary = summarize(plan, results, outcome, round(time.perf_counter() - began, 2))
        write_period(summary, started_at)
        write_atomic(plan.out / "index.html", render_index(summary))
        return summary


def compare_task(plan: RunPlan, market: str) -> Task:
    """The pool task of one market's KPI comparison and pain points (for the index)."""
    return Task(("kpis", str(plan.out), market), compare_market,
                (plan.data, market, plan.start, plan.end, plan.baseline_start,
                 plan.baseline_end, plan.config.min_sample, plan.as_of, plan.maturity_path),
                f"{market} kpis")


def summarize(plan: RunPlan, results: list[NotebookResult], outcome: Outcome,
              seconds: float) -> RunSummary:
    """One period's summary from the pool's outcome (results in the plan's job order)."""
    order = {(j.output_dir, j.notebook): i for i, j in enumerate(plan.jobs)}
    results = sorted((r for r in results if (r.output_dir, r.notebook) in order),
                     key=lambda r: order[(r.output_dir, r.notebook)])
    comparisons, pains, errors = [], {}, {}
    for market in plan.markets:
        key = ("kpis", str(plan.out), market)
        if key in outcome.values:
            comparisons.append(outcome.values[key][0])
            pains[market] = outcome.values[key][1]
        elif key in outcome.errors:
            errors[market] = outcome.errors[key]
    kpis = pd.concat(comparisons, ignore_index=True) if comparisons else pd.DataFrame()
    return RunSummary(plan, results, kpis, seconds, errors, pains,
                      interrupted=outcome.interrupted)


def write_period(summary: RunSummary, started_at: dt.datetime) -> None:
    """A period's ``kpis.csv`` and ``run.json`` (the index is written by the caller)."""
    _write_kpis_csv(summary.plan, summary.kpis)
    write_atomic(summary.plan.out / "run.json",
                 json.dumps(_run_record(summary, started_at), indent=2, default=str))


def _write_kpis_csv(plan: RunPlan, kpis: pd.DataFrame) -> None:
    cols = ["market", "kpi", "kind", "value", "baseline", "change", "relative_change",
            "ci_low", "ci_high", "numerator", "denominator", "baseline_numerator",
            "baseline_denominator", "p_value", "p_adjusted", "significant", "too_few",
            "assessment", "status", "maturity_days", "mature_share", "same_age",
            "baseline_as_of", "naive_baseline"]
    if kpis.empty:
        write_atomic(plan.out / "kpis.csv", ",".join(cols) + "\n")
        return
    frame = kpis.copy()
    frame["status"] = [plan.targets.status(m, k, v) if plan.targets else None
                       for m, k, v in zip(frame["market"], frame["kpi"], frame["value"],
                                          strict=True)]
    frame.insert(1, "start", plan.start)
    frame.insert(2, "end", plan.end)
    frame.insert(3, "baseline_start", plan.baseline_start)
    frame.insert(4, "baseline_end", plan.baseline_end)
    write_atomic(plan.out / "kpis.csv", frame[["market", "start", "end", "baseline_start",
                                               "baseline_end", *cols[1:]]].to_csv(index=False))


def _run_record(summary: RunSummary, started_at: dt.datetime) -> dict[str, Any]:
    plan = summary.plan
    return {
        "status": ("interrupted" if summary.interrupted is not None
                   else "failed" if summary.exit_status else "ok"),
        "interrupted_by": (None if summary.interrupted is None
                           else signal.Signals(summary.interrupted).name),
        "not_run": [f"{j.market}/{j.notebook}" for j in summary.not_run],
        "started_at": started_at.isoformat(timespec="seconds"),
        "seconds": summary.seconds,
        "parameters": {
            "data": plan.data, "markets": plan.markets, "start": plan.start, "end": plan.end,
            "baseline_start": plan.baseline_start, "baseline_end": plan.baseline_end,
            "notebooks": plan.notebooks, "out": str(plan.out),
            "workers": plan.config.workers, "min_sample": plan.config.min_sample,
            "targets": plan.targets_path, "parameters": plan.config.parameters,
            "as_of": plan.data_end, "as_of_given": plan.as_of or None,
            "maturity": plan.maturity_path or None,
            "market_parameters": plan.config.market_parameters,
            "params_file": plan.config.source_file,
        },
        "versions": _versions(),
        "host": {"machine": platform.machine(), "cores": os.cpu_count()},
        "data": {"rows": plan.rows},
        "warnings": plan.warnings,
        "warning_rows": sum(w["rows"] for w in plan.warnings),
        "notebooks": [asdict(r) for r in summary.results],
        "kpi_errors": summary.kpi_errors,
        "pain_points": summary.pain_points,
    }

