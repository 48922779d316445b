"""Run configurations and targets: the YAML files in ``params/``, loaded and checked.

A run configuration says which notebooks to run for which markets and
periods; targets say when a headline KPI is green, amber or red. Both are
checked completely before anything runs: unknown names, wrong types, unknown
markets or KPIs and inverted periods are errors (:class:`InputError`, exit 2).
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import yaml

from shopcx.errors import InputError
from shopcx.metrics import KPI_BY_NAME

__all__ = [
    "RUN_KEYS",
    "RunConfig",
    "Targets",
    "find_project_file",
    "load_run_config",
    "load_targets",
    "load_yaml",
    "params_file",
]

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
    "parameters": "extra notebook parameters, by name",
    "market_parameters": "notebook parameters per market: {MARKET: {name: value}}",
}


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping; a missing file or bad YAML is an InputError."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError as exc:
        raise InputError(f"{path}: file not found") from exc
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: not valid YAML ({exc})") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a mapping of names to values at the top level")
    return data


def find_project_file(relative: str, start: Path | None = None) -> Path | None:
    """``relative`` under the nearest folder that has it: from ``start`` (cwd) upwards,
    then from the package's own folder upwards (the project of an editable install)."""
    for origin in (start or Path.cwd(), Path(__file__).parent):
        here = origin.resolve()
        for folder in (here, *here.parents):
            candidate = folder / relative
            if candidate.exists():
                return candidate
    return None


def params_file(path: str | Path | None, name: str) -> Path:
    """``path`` if given, else the project's ``params/<name>`` (InputError when absent)."""
    if path not in (None, ""):
        return Path(path)
    found = find_project_file(f"params/{name}")
    if found is None:
        raise InputError(f"no file given and params/{name} not found above {Path.cwd()}")
    return found


def _date(value: Any, key: str, where: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.date):
        return value.strftime("%Y-%m-%d")
    try:
        return pd.Timestamp(str(value)).strftime("%Y-%m-%d")
    except ValueError as exc:
        raise InputError(f"{where}: {key} {value!r} is not a date (YYYY-MM-DD)") from exc


def _market_code(value: Any, where: str) -> str:
    if not isinstance(value, str) or len(value) != 2 or not value.isalpha():
        raise InputError(f"{where}: market {value!r} is not an ISO alpha-2 code such as US")
    return value.upper()


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
    parameters: dict[str, Any] = field(default_factory=dict)
    market_parameters: dict[str, dict[str, Any]] = field(default_factory=dict)
    source_file: str | None = None

    def check(self, where: str = "run configuration") -> RunConfig:
        """Check types and periods; return self (raises InputError)."""
        if self.markets != "all":
            if not isinstance(self.markets, list) or not self.markets:
                raise InputError(f"{where}: markets must be a list of codes or 'all'")
            self.markets = [_market_code(m, where) for m in self.markets]
        for key in ("start", "end", "baseline_start", "baseline_end"):
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
        if not isinstance(self.fresh_kernels, bool):
            raise InputError(f"{where}: fresh_kernels must be true or false")
        for key in ("data", "out", "targets"):
            value = getattr(self, key)
            if value is not None and not isinstance(value, str):
                raise InputError(f"{where}: {key} must be text")
        if not isinstance(self.parameters, dict):
            raise InputError(f"{where}: parameters must be a mapping of name to value")
        if not isinstance(self.market_parameters, dict) or not all(
                isinstance(v, dict) for v in self.market_parameters.values()):
            raise InputError(f"{where}: market_parameters must map markets to "
                             "mappings of name to value")
        self.market_parameters = {_market_code(m, where): v
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
    data.update({k: v for k, v in overrides.items() if v is not None})
    config = RunConfig(**data, source_file=str(path) if path else None)
    return config.check(where)


# --------------------------------------------------------------------------- targets


@dataclass
class Targets:
    """Red/amber/green thresholds for headline KPIs, with per-market overrides."""

    headline: list[str]
    thresholds: dict[str, dict[str, float]]
    markets: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)

    def threshold(self, market: str, kpi: str) -> dict[str, float] | None:
        return self.markets.get(market, {}).get(kpi) or self.thresholds.get(kpi)

    def status(self, market: str, kpi: str, value: float | None) -> str | None:
        """'green', 'amber' or 'red' for a value; None without a target or a value.

        Green at or better than ``green``; amber at or better than ``amber``;
        red beyond. "Better" follows the KPI's direction (lower cancellation
        rates, higher CSAT).

        >>> t = Targets(["cpo"], {"cpo": {"green": 0.2, "amber": 0.3}})
        >>> [t.status("US", "cpo", v) for v in (0.2, 0.25, 0.31, None)]
        ['green', 'amber', 'red', None]
        """
        limits = self.threshold(market, kpi)
        if limits is None or value is None or pd.isna(value):
            return None
        sign = 1 if KPI_BY_NAME[kpi].better == "lower" else -1
        if sign * value <= sign * limits["green"]:
            return "green"
        if sign * value <= sign * limits["amber"]:
            return "amber"
        return "red"


def _check_limits(kpi: str, limits: Any, where: str) -> dict[str, float]:
    if kpi not in KPI_BY_NAME:
        raise InputError(f"{where}: {kpi!r} is not a KPI of the metric dictionary")
    better = KPI_BY_NAME[kpi].better
    if better is None:
        raise InputError(f"{where}: {kpi} has no better direction, so it cannot have a target")
    if not isinstance(limits, dict) or set(limits) != {"green", "amber"} or not all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in limits.values()):
        raise InputError(f"{where}: {kpi} needs numbers 'green' and 'amber', got {limits!r}")
    ordered = limits["green"] <= limits["amber"] if better == "lower" else (
        limits["green"] >= limits["amber"])
    if not ordered:
        raise InputError(f"{where}: {kpi}: green must be {'below' if better == 'lower' else 'above'}"
                         f" amber ({better} is better)")
    return {k: float(v) for k, v in limits.items()}


def load_targets(path: str | Path | None = None) -> Targets:
    """Load and check a targets file (default: the project's ``params/targets.yaml``)."""
    path = params_file(path, "targets.yaml")
    data = load_yaml(path)
    where = str(path)
    unknown = sorted(set(data) - {"headline", "targets", "markets"})
    if unknown:
        raise InputError(f"{where}: unknown setting(s) {', '.join(unknown)}")
    headline = data.get("headline") or []
    if not isinstance(headline, list) or not headline:
        raise InputError(f"{where}: headline must be a non-empty list of KPI names")
    for kpi in headline:
        if kpi not in KPI_BY_NAME:
            raise InputError(f"{where}: headline KPI {kpi!r} is not in the metric dictionary")
    thresholds = {k: _check_limits(k, v, where) for k, v in (data.get("targets") or {}).items()}
    markets = {}
    for market, overrides in (data.get("markets") or {}).items():
        code = _market_code(market, where)
        if not isinstance(overrides, dict):
            raise InputError(f"{where}: markets.{market} must map KPI names to thresholds")
        markets[code] = {k: _check_limits(k, v, f"{where}: markets.{code}")
                         for k, v in overrides.items()}
    return Targets(headline, thresholds, markets)
