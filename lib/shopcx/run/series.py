"""Series of readouts: every readout for each of the last N weeks or months, and trends.

``shopcx run --every week --last 8`` plans one ordinary run per period
(:func:`shopcx.run.runner.plan_run`, each against its baseline rule) into
``OUT/<period>/``, plus the series notebooks (``trends``) once per market into
``OUT/<MARKET>/``, and runs them all in one pool. Alongside, per market, the
KPIs of every period are computed in one pass
(:func:`shopcx.metrics.kpis.compute_period_kpis`) for ``OUT/trends.csv`` and
the trends view of ``OUT/index.html``. Readouts whose inputs did not change
(the period's data slice, parameters, code) are reused, so a weekly job only
computes the new week and the periods still maturing.

Layout::

    OUT/index.html  OUT/trends.csv  OUT/run.json
    OUT/<MARKET>/trends.html                  (the trends readout)
    OUT/<period>/index.html, kpis.csv, run.json
    OUT/<period>/<MARKET>/<notebook>.html     (each period's readouts)
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from shopcx.errors import InputError
from shopcx.files import write_atomic
from shopcx.metrics.periods import Span, baseline_of, last_periods
from shopcx.run.config import RunConfig
from shopcx.run.pool import Outcome, Task, execute
from shopcx.run.runner import (
    IMPACT_NOTEBOOK,
    RUN_LEVEL,
    SERIES_NOTEBOOKS,
    Job,
    NotebookResult,
    RunPlan,
    RunSummary,
    _declared,
    _job_key,
    _notebook_dir,
    _reusable,
    _shared_inputs,
    compare_task,
    job_results,
    job_tasks,
    open_data,
    plan_run,
    remove_partial,
    summarize,
    write_period,
)

__all__ = ["SeriesPlan", "SeriesSummary", "TREND_COLUMNS", "plan_series", "run_series",
           "trend_market"]


@dataclass
class SeriesPlan:
    """A checked series: one plan per period, and the series notebooks per market."""

    config: RunConfig
    out: Path
    every: str
    spans: list[Span]
    plans: list[RunPlan]
    series_jobs: list[Job] = field(default_factory=list)

    @property
    def markets(self) -> list[str]:
        return self.plans[-1].markets

    @property
    def jobs(self) -> list[Job]:
        return [j for p in self.plans for j in p.jobs] + self.series_jobs


def plan_series(config: RunConfig, notebooks_dir: str | Path | None = None) -> SeriesPlan:
    """Check a ``every``/``last`` configuration and plan each period's run.

    The periods are the last ``last`` complete weeks (Monday to Sunday) or
    months before ``as_of`` (the data's end by default); each gets its
    baseline by the configuration's rule. Raises like :func:`plan_run`.
    """
    assert config.every is not None and config.last is not None
    folder = _notebook_dir(notebooks_dir)
    available = sorted(p.stem for p in folder.glob("*.ipynb"))
    names = [n for n in available if n not in RUN_LEVEL] if config.notebooks is None \
        else [n for n in config.notebooks if n != IMPACT_NOTEBOOK]
    unknown = [n for n in names if n not in available]
    if unknown:
        raise InputError(f"unknown notebook(s) {', '.join(unknown)}; available: "
                         f"{', '.join(available)}")
    series_names = [n for n in names if n in SERIES_NOTEBOOKS]
    if config.notebooks is None:
        series_names = [n for n in SERIES_NOTEBOOKS if n in available]
    per_period = [n for n in names if n not in SERIES_NOTEBOOKS]
    out = Path(config.out or f"outputs/run-every-{config.every}").resolve()
    _, source = open_data(config)  # the data's end places the series
    as_of = config.as_of or source.data_end()
    if as_of is None:
        raise InputError("the data has no rows, so there is no period to run")
    spans = last_periods(as_of, config.every, config.last)
    plans = []
    for span in spans:
        b_start, b_end = baseline_of(span, config.every, config.baseline,
                                     (config.baseline_start, config.baseline_end))
        sub = dataclasses.replace(config, every=None, last=None, baseline="previous",
                                  start=span.dates[0], end=span.dates[1],
                                  baseline_start=b_start, baseline_end=b_end,
                                  notebooks=per_period, out=str(out / span.label))
        plans.append(plan_run(sub, folder, changes=False))
    series = SeriesPlan(config, out, config.every, spans, plans)
    last = plans[-1]
    for n in series_names:
        declared = _declared(folder / f"{n}.ipynb")
        inputs = _shared_inputs(folder, [n])[n]
        for market in last.markets:
            values = {"market": market, "every": config.every, "last": config.last,
                      "baseline": config.baseline, "data": last.data,
                      "min_sample": config.min_sample, "as_of": last.as_of,
                      "maturity": last.maturity_path, "targets": last.targets_path or "",
                      "link_to": ("root_cause" if "root_cause" in per_period
                                  else per_period[0] if per_period else "root_cause"),
                      **config.parameters, **config.market_parameters.get(market, {})}
            params = {k: v for k, v in values.items() if k in declared}
            data_key = "|".join(j.key for p in plans for j in p.jobs if j.market == market)
            key = _job_key(params, inputs, data_key or str(spans), last.data_end)
            series.series_jobs.append(Job(market, n, str(folder / f"{n}.ipynb"),
                                          str(out / market), params, str(folder),
                                          warm=not config.fresh_kernels, key=key))
    return series


TREND_COLUMNS = ["market", "period", "start", "end", "kpi", "kind", "value", "ci_low",
                 "ci_high", "numerator", "denominator", "maturity_days", "mature_share",
                 "baseline", "change", "p_adjusted", "significant", "same_age", "status"]


def trend_market(data: str, market: str, spans: list[Span], as_of: str = "",
                 maturity: str = "") -> pd.DataFrame:
    """Every KPI of one market for each period, in one pass (in a worker)."""
    from shopcx.data.sources import load_source
    from shopcx.metrics.maturity import load_maturity
    from shopcx.readouts.trends import period_table

    source = load_source(data)
    if as_of:
        source = source.at(as_of)
    table = period_table(source, market, spans, load_maturity(maturity))
    table.insert(0, "market", market)
    return table


@dataclass
class SeriesSummary:
    """The outcome of :func:`run_series`: one summary per period, trends, series readouts."""

    series: SeriesPlan
    periods: list[RunSummary]
    series_results: list[NotebookResult]
    trends: pd.DataFrame
    trend_errors: dict[str, str]
    seconds: float
    interrupted: int | None = None

    @property
    def results(self) -> list[NotebookResult]:
        return [r for s in self.periods for r in s.results] + self.series_results

    @property
    def failed(self) -> list[NotebookResult]:
        return [r for r in self.results if r.status != "ok"]

    @property
    def reused(self) -> list[NotebookResult]:
        return [r for r in self.results if r.reused]

    @property
    def not_run(self) -> list[Job]:
        done = {(r.output_dir, r.notebook) for r in self.results}
        return [j for j in self.series.jobs if (j.output_dir, j.notebook) not in done]

    @property
    def exit_status(self) -> int:
        if self.interrupted is not None:
            return 128 + self.interrupted
        errors = self.trend_errors or any(s.kpi_errors for s in self.periods)
        return 1 if self.failed or errors else 0


def _trend_task(series: SeriesPlan, market: str) -> Task:
    last = series.plans[-1]
    return Task(("trend", market), trend_market,
                (last.data, market, series.spans, last.as_of, last.maturity_path),
                f"{market} trend")


def _trends(series: SeriesPlan, outcome: Outcome, periods: list[RunSummary]
            ) -> tuple[pd.DataFrame, dict[str, str]]:
    """trends.csv: the one-pass values, with each period's comparison and target status."""
    tables, errors = [], {}
    for market in series.markets:
        key = ("trend", market)
        if key in outcome.values:
            tables.append(outcome.values[key])
        elif key in outcome.errors:
            errors[market] = outcome.errors[key]
    if not tables:
        return pd.DataFrame(columns=TREND_COLUMNS), errors
    trends = pd.concat(tables, ignore_index=True)
    compared = []
    for span, summary in zip(series.spans, periods, strict=True):
        if not summary.kpis.empty:
            compared.append(summary.kpis[["market", "kpi", "baseline", "change", "p_adjusted",
                                          "significant", "same_age"]].assign(period=span.label))
    if compared:
        trends = trends.merge(pd.concat(compared), on=["market", "period", "kpi"], how="left")
    else:
        trends = trends.assign(baseline=None, change=None, p_adjusted=None, significant=None,
                               same_age=None)
    targets = series.plans[-1].targets
    trends["status"] = [targets.status(m, k, v) if targets is not None and k in
                        targets.thresholds else None
                        for m, k, v in zip(trends["market"], trends["kpi"], trends["value"],
                                           strict=True)]
    return trends[TREND_COLUMNS], errors


def run_series(series: SeriesPlan, progress: bool = True) -> SeriesSummary:
    """Run every period's readouts and the series notebooks in one pool; write each
    period's index, ``trends.csv``, ``run.json`` and the series index.

    Stops on signals and resumes like :func:`shopcx.run.runner.run`.
    """
    from shopcx.readouts.scorecard import render_index
    from shopcx.readouts.trends import render_series_index

    began = time.perf_counter()
    started_at = dt.datetime.now(dt.UTC)
    series.out.mkdir(parents=True, exist_ok=True)
    remove_partial(series.out)
    kept, todo = _reusable(series.jobs)
    tasks = [compare_task(p, m) for p in series.plans for m in p.markets]
    tasks += [_trend_task(series, m) for m in series.markets] + job_tasks(todo)
    outcome = execute(tasks, series.config.workers, progress, done=len(kept),
                      cleanup=lambda: remove_partial(series.out))
    with outcome.signals_held():
        results = kept + job_results(todo, outcome)
        seconds = round(time.perf_counter() - began, 2)
        periods = []
        for plan in series.plans:
            summary = summarize(plan, results, outcome, seconds)
            write_period(summary, started_at)
            write_atomic(plan.out / "index.html", render_index(summary))
            periods.append(summary)
        own = {(j.output_dir, j.notebook) for j in series.series_jobs}
        series_results = [r for r in results if (r.output_dir, r.notebook) in own]
        trends, errors = _trends(series, outcome, periods)
        done = SeriesSummary(series, periods, series_results, trends, errors, seconds,
                             outcome.interrupted)
        write_atomic(series.out / "trends.csv", trends.to_csv(index=False))
        write_atomic(series.out / "run.json", json.dumps(_series_record(done, started_at),
                                                         indent=2, default=str))
        write_atomic(series.out / "index.html", render_series_index(done))
        return done


def _series_record(done: SeriesSummary, started_at: dt.datetime) -> dict[str, Any]:
    import signal

    s = done.series
    last = s.plans[-1]
    return {
        "status": ("interrupted" if done.interrupted is not None
                   else "failed" if done.exit_status else "ok"),
        "interrupted_by": (None if done.interrupted is None
                           else signal.Signals(done.interrupted).name),
        "started_at": started_at.isoformat(timespec="seconds"),
        "seconds": done.seconds,
        "every": s.every, "last": len(s.spans), "baseline": s.config.baseline,
        "as_of": last.data_end, "markets": s.markets,
        "periods": [{"period": sp.label, "start": sp.dates[0], "end": sp.dates[1],
                     "baseline_start": p.baseline_start, "baseline_end": p.baseline_end,
                     "folder": sp.label} for sp, p in zip(s.spans, s.plans, strict=True)],
        "readouts": len(done.results), "failed": [f"{r.output_dir}/{r.notebook}: {r.error}"
                                                  for r in done.failed],
        "reused": len(done.reused),
        "not_run": [f"{Path(j.output_dir).relative_to(s.out)}/{j.notebook}"
                    for j in done.not_run],
        "trend_errors": done.trend_errors,
    }
