"""Targets: when a headline KPI is green, amber or red (``params/targets.yaml``).

A targets file names the headline KPIs and, per KPI, a ``green`` and an
``amber`` limit, with per-market overrides. It is checked completely when
loaded: unknown KPIs, KPIs without a better direction, limits in the wrong
order are errors (:class:`~shopcx.errors.InputError`, exit status 2).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from shopcx.errors import InputError
from shopcx.metrics.dictionary import KPI_BY_NAME
from shopcx.params import load_yaml, market_code, params_file

__all__ = ["Targets", "load_targets"]


@dataclass
class Targets:
    """Red/amber/green thresholds for headline KPIs, with per-market overrides."""

    headline: list[str]
    thresholds: dict[str, dict[str, float]]
    markets: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)

    def threshold(self, market: str, kpi: str) -> dict[str, float] | None:
        return self.markets.get(market, {}).get(kpi) or self.thresholds.get(kpi)

    def for_market(self, market: str) -> dict[str, dict[str, float]]:
        """Every KPI's thresholds in one market (its overrides over the defaults).

        >>> t = Targets(["cpo"], {"cpo": {"green": 0.2, "amber": 0.3}},
        ...             {"TH": {"cpo": {"green": 0.1, "amber": 0.2}}})
        >>> t.for_market("TH")["cpo"], t.for_market("US")["cpo"]["green"]
        ({'green': 0.1, 'amber': 0.2}, 0.2)
        """
        return {**self.thresholds, **self.markets.get(market, {})}

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
        code = market_code(market, where)
        if not isinstance(overrides, dict):
            raise InputError(f"{where}: markets.{market} must map KPI names to thresholds")
        markets[code] = {k: _check_limits(k, v, f"{where}: markets.{code}")
                         for k, v in overrides.items()}
    return Targets(headline, thresholds, markets)
