"""Run configurations: the YAML files that say which readouts to run, for what.

A run configuration says which notebooks to run for which markets and
periods, with which parameters. It is checked completely before anything
runs: unknown names, wrong types, unknown markets and inverted periods are
errors (:class:`~shopcx.errors.InputError`, exit status 2).
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from shopcx.errors import InputError
from shopcx.params import load_yaml, market_code

__all__ = ["RUN_KEYS", "RunConfig", "load_run_config"]

RUN_KEYS = {
    "data": "data folder or engine URL",
    "markets": "list of market codes, or 'all' (every market in the data)",
    "start": "period start, YYYY-MM-DD (default: first day of the last month in the data)",
    "end": "period end, exclusive (default: the month after start)",
    "baseline_start": "baseline start (default: the month before start)",
    "baseline_end": "baseline end, exclusive (default: start)",
    "notebooks": "notebooks to run (default: all in notebooks/)",
    "out": "output folder (default: outputs/run-<start>)",
    "workers": "parallel worker processes (default: number of cores)",
    "fresh_kernels": "start a new kernel for every notebook (default: each worker reuses one)",
    "min_sample": "below this denominator a rate shows as 'too few'",
    "targets": "targets file (default: params/targets.yaml)",
    "every": "week or month: run the readouts for each of the last N complete periods",
    "last": "how many periods with every (default 8 weeks or 6 months)",
    "baseline": "each period's baseline with every: previous (default), earlier:N (N periods "
                "earlier) or fixed (baseline_start and baseline_end)",
    "as_of": "the data as it stood on this date, YYYY-MM-DD (default: the data's end)",
    "maturity": "maturity windows file (default: params/maturity.yaml)",
    "changes": "changes file measured by the impact readouts (default: params/changes.yaml; "
               "'none' for no file; experiments of the assignments table are always measured)",
    "parameters": "extra notebook parameters, by name",
    "market_parameters": "notebook parameters per market: {MARKET: {name: value}}",
}


def _date(value: Any, key: str, where: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.date):
        return value.strftime("%Y-%m-%d")
    try:
        return pd.Timestamp(str(value)).strftime("%Y-%m-%d")
    except ValueError as exc:
        raise InputError(f"{where}: {key} {value!r} is not a date (YYYY-MM-DD)") from exc


@dataclass
class RunConfig:
    """A checked run configuration (dates as YYYY-MM-DD strings, None = default)."""

    data: str | None = None
    markets: list[str] | Literal["all"] = "all"
    start: str | None = None
    end: str | None = None
    baseline_start: str | None = None
    baseline_end: str | None = None
    notebooks: list[str] | None = None
    out: str | None = None
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    fresh_kernels: bool = False
    min_sample: int = 30
    targets: str | None = None
    as_of: str | None = None
    maturity: str | None = None
    changes: str | None = None
    every: str | None = None
    last: int | None = None
    baseline: str = "previous"
    parameters: dict[str, Any] = field(default_factory=dict)
    market_parameters: dict[str, dict[str, Any]] = field(default_factory=dict)
    source_file: str | None = None

    def check(self, where: str = "run configuration") -> RunConfig:
        """Check types and periods; return self (raises InputError)."""
        if self.markets != "all":
            if not isinstance(self.markets, list) or not self.markets:
                raise InputError(f"{where}: markets must be a list of codes or 'all'")
            self.markets = [market_code(m, where) for m in self.markets]
        for key in ("start", "end", "baseline_start", "baseline_end", "as_of"):
            setattr(self, key, _date(getattr(self, key), key, where))
        for a, b in (("start", "end"), ("baseline_start", "baseline_end")):
            lo, hi = getattr(self, a), getattr(self, b)
            if lo and hi and not lo < hi:
                raise InputError(f"{where}: {a} {lo} is not before {b} {hi}")
        if self.notebooks is not None and (
                not isinstance(self.notebooks, list)
                or not all(isinstance(n, str) for n in self.notebooks)):
            raise InputError(f"{where}: notebooks must be a list of notebook names")
        for key in ("workers", "min_sample"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InputError(f"{where}: {key} must be a whole number of at least 1")
        if self.every is not None:
            from shopcx.metrics.periods import EVERY, check_rule

            if self.every not in EVERY:
                raise InputError(f"{where}: every must be week or month, got {self.every!r}")
            if self.start or self.end:
                raise InputError(f"{where}: with every, the periods are the last N complete "
                                 f"{self.every}s; leave start and end out")
            self.last = 8 if self.every == "week" and self.last is None else (
                6 if self.last is None else self.last)
            if isinstance(self.last, bool) or not isinstance(self.last, int) or not (
                    1 <= self.last <= 120):
                raise InputError(f"{where}: last must be a whole number from 1 to 120")
            check_rule(self.baseline, f"{where}: baseline")
            if (self.baseline == "fixed") != bool(self.baseline_start and self.baseline_end):
                raise InputError(f"{where}: baseline_start and baseline_end go with the fixed "
                                 "baseline rule (and it needs them)")
        elif self.last is not None or self.baseline != "previous":
            raise InputError(f"{where}: last and baseline go with every (week or month)")
        if not isinstance(self.fresh_kernels, bool):
            raise InputError(f"{where}: fresh_kernels must be true or false")
        for key in ("data", "out", "targets", "maturity", "changes"):
            value = getattr(self, key)
            if value is not None and not isinstance(value, str):
                raise InputError(f"{where}: {key} must be text")
        if not isinstance(self.parameters, dict):
            raise InputError(f"{where}: parameters must be a mapping of name to value")
        if not isinstance(self.market_parameters, dict) or not all(
                isinstance(v, dict) for v in self.market_parameters.values()):
            raise InputError(f"{where}: market_parameters must map markets to "
                             "mappings of name to value")
        self.market_parameters = {market_code(m, where): v
                                  for m, v in self.market_parameters.items()}
        return self


def load_run_config(path: str | Path | None = None, **overrides: Any) -> RunConfig:
    """Load a run configuration file (optional) and apply overrides (None = keep).

    Unknown keys are errors, so a typo never silently falls back to a default.
    """
    data: dict[str, Any] = {}
    where = "command line"
    if path is not None:
        data = load_yaml(path)
        where = str(path)
        unknown = sorted(set(data) - set(RUN_KEYS))
        if unknown:
            raise InputError(f"{where}: unknown setting(s) {', '.join(unknown)}; "
                             f"known: {', '.join(RUN_KEYS)}")
    if overrides.get("every") is not None:  # --every replaces the file's single period
        for key in ("start", "end", "baseline_start", "baseline_end"):
            if overrides.get(key) is None:
                data.pop(key, None)
    data.update({k: v for k, v in overrides.items() if v is not None})
    config = RunConfig(**data, source_file=str(path) if path else None)
    return config.check(where)
