"""The changes a run measures: ``params/changes.yaml`` and the ``assignments`` table.

A *change* is a policy, tool or flow put live on a date: a **rollout** in one
or several markets (measured against markets that did not change,
:mod:`~shopcx.impact.rollout`), or an **experiment** in the assignments table
(:mod:`~shopcx.impact.experiment`). The file names them, says what they aim
at and when they started::

    changes:
      - id: th_auto_approve_24h
        markets: {TH: 2026-11-04}          # market: first day (several = staggered)
        description: Auto-approve timer for buyer cancel requests cut from 72 h to 24 h
        metrics: [p90_hours_to_resolve, cancel_cpo]
        controls: [VN, PH, SG]             # optional; default every market not changed
        window: 28                         # optional; days before and after
      - id: one_tap_cancel                 # an experiment: id as in assignments
        kind: experiment
        description: One-tap cancel button with in-app request status
        metrics: [cancel_cpo, cancellation_rate]

Experiments in ``assignments`` that the file does not name are measured too,
with the default metrics. :func:`changes_in` picks the changes a run's
period covers.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from shopcx.errors import InputError
from shopcx.metrics.dictionary import KPI_BY_NAME

__all__ = ["Change", "analyse_change", "changes_in", "changes_path", "find_change",
           "load_changes"]


@dataclass(frozen=True)
class Change:
    """One change to measure (see the module)."""

    id: str
    kind: str  # "rollout" or "experiment"
    markets: dict[str, str] = field(default_factory=dict)  # rollout: market -> first day
    description: str = ""
    metrics: tuple[str, ...] = ()
    controls: tuple[str, ...] = ()
    guardrails: tuple[str, ...] | None = None
    window: int = 28
    start: str = ""  # the first day (the earliest market's, or the first assignment)

    @property
    def title(self) -> str:
        return self.description or self.id.replace("_", " ")


_KEYS = {"id", "kind", "markets", "description", "metrics", "controls", "guardrails", "window"}


def _day(value: Any, where: str) -> str:
    if isinstance(value, _dt.date):
        return f"{value:%Y-%m-%d}"
    text = str(value)
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            raise ValueError(text)
        return f"{pd.Timestamp(text):%Y-%m-%d}"
    except (ValueError, TypeError):
        raise InputError(f"{where}: {value!r} is not a date (YYYY-MM-DD)") from None


def _names(value: Any, where: str, kpis: bool = False) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InputError(f"{where}: expected a list of names")
    if kpis:
        unknown = [v for v in value if v not in KPI_BY_NAME]
        if unknown:
            raise InputError(f"{where}: unknown metric(s) {', '.join(unknown)} "
                             "(see docs/metrics.md)")
    return tuple(value)


def load_changes(path: str | Path | None) -> list[Change]:
    """Read and check a changes file (None or a missing default: no changes)."""
    if path is None or str(path) == "":
        return []
    p = Path(path)
    if not p.is_file():
        raise InputError(f"changes file {p} does not exist")
    try:
        doc = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise InputError(f"{p}: not valid YAML ({exc})") from None
    entries = doc.get("changes", []) if isinstance(doc, dict) else None
    if not isinstance(entries, list):
        raise InputError(f"{p}: expected a 'changes' list")
    out: list[Change] = []
    for i, e in enumerate(entries):
        where = f"{p}, changes[{i}]"
        if not isinstance(e, dict) or not e.get("id"):
            raise InputError(f"{where}: each change needs an 'id'")
        where = f"{p}, change {e['id']!r}"
        extra = sorted(set(e) - _KEYS)
        if extra:
            raise InputError(f"{where}: unknown key(s) {', '.join(extra)} "
                             f"(allowed: {', '.join(sorted(_KEYS))})")
        kind = e.get("kind", "rollout")
        if kind not in ("rollout", "experiment"):
            raise InputError(f"{where}: kind must be rollout or experiment, not {kind!r}")
        markets = e.get("markets") or {}
        if kind == "rollout":
            if not isinstance(markets, dict) or not markets:
                raise InputError(f"{where}: a rollout needs 'markets', e.g. {{TH: 2026-11-04}}")
            markets = {str(m).upper(): _day(d, f"{where}, markets.{m}")
                       for m, d in markets.items()}
        window = e.get("window", 28)
        if not isinstance(window, int) or not 7 <= window <= 365:
            raise InputError(f"{where}: window must be a whole number of days, 7 to 365")
        guard = e.get("guardrails")
        out.append(Change(
            str(e["id"]), kind, markets if kind == "rollout" else {},
            str(e.get("description") or ""),
            _names(e.get("metrics"), f"{where}, metrics", kpis=True),
            tuple(m.upper() for m in _names(e.get("controls"), f"{where}, controls")),
            None if guard is None else _names(guard, f"{where}, guardrails", kpis=True),
            window, min(markets.values()) if kind == "rollout" else ""))
        if kind == "rollout" and not out[-1].metrics:
            raise InputError(f"{where}: name the metrics the change aims at ('metrics')")
    ids = [c.id for c in out]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise InputError(f"{p}: change id(s) {', '.join(dup)} appear more than once")
    return out


def changes_in(changes: list[Change], experiments: pd.DataFrame, markets: list[str],
               start: str, end: str) -> list[Change]:
    """The changes whose first day falls in ``[start, end)`` (a run passes its
    baseline's start and its period's end) and that touch one of ``markets``.

    Experiments come from ``experiments`` (:func:`shopcx.impact.experiment.list_experiments`,
    with their ``market``); a file entry of the same id adds its description and
    metrics. Rollouts need a market of the run; experiments the market their
    units ordered in.
    """
    lo, hi = pd.Timestamp(start), pd.Timestamp(end)
    named = {c.id: c for c in changes}
    out = [c for c in changes if c.kind == "rollout" and lo <= pd.Timestamp(c.start) < hi
           and set(c.markets) & set(markets)]
    for _, row in experiments.iterrows():
        if lo <= pd.Timestamp(row["start"]).normalize() < hi and row.get("market") in markets:
            out.append(_experiment(row, named.get(str(row["experiment"]))))
    return sorted(out, key=lambda c: (c.start, c.id))


def _experiment(row: pd.Series, listed: Change | None) -> Change:
    """An experiment of the assignments table (a row of ``list_experiments``), with
    the description, metrics and settings of its entry in the changes file if any."""
    first = f"{pd.Timestamp(row['start']):%Y-%m-%d}"
    base = listed or Change(str(row["experiment"]), "experiment")
    return replace(base, kind="experiment", markets={str(row["market"]): first},
                   start=first)


def changes_path(setting: str | None) -> str:
    """The changes file to use: ``setting`` (a path, or ``none``), else the project's
    params/changes.yaml when there is one; '' for none. An absolute path."""
    from shopcx.params import find_project_file

    if setting is None:
        found = find_project_file("params/changes.yaml")
        setting = str(found) if found is not None else ""
    elif setting.lower() == "none":
        setting = ""
    return str(Path(setting).resolve()) if setting else ""


def analyse_change(source: Any, change: Change, seed: int = 0) -> dict[str, Any]:
    """A change's estimate: :func:`~shopcx.impact.experiment.analyse_experiment`
    for an experiment, :func:`~shopcx.impact.rollout.estimate_rollout` (one
    market) or :func:`~shopcx.impact.rollout.estimate_staggered` (several)."""
    from shopcx.impact.experiment import analyse_experiment
    from shopcx.impact.rollout import estimate_rollout, estimate_staggered

    guard = None if change.guardrails is None else list(change.guardrails)
    if change.kind == "experiment":
        return analyse_experiment(source, change.id, list(change.metrics) or None, guard)
    controls = list(change.controls) or None
    if len(change.markets) == 1:
        (market, day), = change.markets.items()
        return estimate_rollout(source, market, day, list(change.metrics), controls,
                                change.window, guard, seed)
    return estimate_staggered(source, change.markets, list(change.metrics), controls,
                              change.window, guard, seed)


def find_change(source: Any, changes_file: str | None, change_id: str) -> Change:
    """The change ``change_id``: from the changes file (default params/changes.yaml of
    the project), else an experiment of the assignments table with that id."""
    from shopcx.impact.experiment import list_experiments

    path = changes_path(changes_file or None)
    listed = load_changes(path or None)
    found = next((c for c in listed if c.id == change_id), None)
    if found is not None and found.kind == "rollout":
        return found
    experiments = list_experiments(source)
    hit = experiments[experiments["experiment"] == change_id]
    if hit.empty:
        known = [c.id for c in listed] + list(experiments["experiment"])
        raise InputError(f"change {change_id!r} is neither in {path or 'a changes file'} nor "
                         f"an experiment in assignments (known: {', '.join(known) or 'none'})")
    return _experiment(hit.iloc[0], found)
