"""Series of periods: the last N complete weeks or months, and each one's baseline.

Weekly business reviews look at last week against the week before (or the
same week some weeks earlier), with the trend of the last 8 to 13 weeks;
monthly reviews the same by month. This module turns "the last 8 weeks as of
the data's end" into periods, each with its label and its baseline:

* weeks run Monday to Sunday (ISO weeks, labelled ``2026-W48``); months are
  calendar months (``2026-11``);
* a period is *complete* when it ends at or before ``as_of`` (the data's end
  by default), so the current, partial week is never part of a series;
* the baseline rule is ``previous`` (the period right before), ``earlier:N``
  (the same kind of period N periods earlier: ``earlier:52`` for the same
  week last year), or ``fixed`` (one baseline for every period).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd

from shopcx.errors import InputError

__all__ = ["EVERY", "Span", "baseline_of", "check_rule", "last_periods"]

EVERY = ("week", "month")


@dataclass(frozen=True)
class Span:
    """One period of a series: ``[start, end)`` and its label."""

    start: pd.Timestamp
    end: pd.Timestamp
    label: str

    @property
    def dates(self) -> tuple[str, str]:
        return f"{self.start:%Y-%m-%d}", f"{self.end:%Y-%m-%d}"


def _span(start: pd.Timestamp, every: Literal["week", "month"]) -> Span:
    if every == "week":
        iso = start.isocalendar()
        return Span(start, start + pd.Timedelta(days=7), f"{iso.year}-W{iso.week:02d}")
    return Span(start, start + pd.DateOffset(months=1), f"{start:%Y-%m}")


def _period_start(ts: pd.Timestamp, every: Literal["week", "month"]) -> pd.Timestamp:
    day = ts.normalize()
    if every == "week":
        return day - pd.Timedelta(days=day.weekday())
    return pd.Timestamp(day.year, day.month, 1)


def last_periods(as_of: Any, every: str, last: int) -> list[Span]:
    """The last ``last`` complete weeks or months before ``as_of``, oldest first.

    >>> [s.label for s in last_periods("2026-12-01", "week", 3)]
    ['2026-W46', '2026-W47', '2026-W48']
    >>> last_periods("2026-12-01", "week", 1)[0].dates
    ('2026-11-23', '2026-11-30')
    >>> [s.label for s in last_periods("2026-12-01", "month", 2)]
    ['2026-10', '2026-11']
    """
    if every not in EVERY:
        raise InputError(f"every must be one of {', '.join(EVERY)}, got {every!r}")
    if isinstance(last, bool) or not isinstance(last, int) or not 1 <= last <= 120:
        raise InputError(f"last must be a whole number from 1 to 120, got {last!r}")
    end = pd.Timestamp(as_of)
    spans = []
    current = _span(_period_start(end, every), every)  # the period as_of falls in
    if current.end > end:  # the period containing as_of is not complete
        current = _span(_step(current.start, every, -1), every)
    for _ in range(last):
        spans.append(current)
        current = _span(_step(current.start, every, -1), every)
    return spans[::-1]


def _step(start: pd.Timestamp, every: str, n: int) -> pd.Timestamp:
    return start + (pd.Timedelta(weeks=n) if every == "week" else pd.DateOffset(months=n))


_RULE = re.compile(r"^(previous|fixed|earlier:(\d+))$")


def check_rule(rule: str, where: str = "baseline") -> str:
    """A baseline rule, checked: ``previous``, ``earlier:N`` (N >= 1) or ``fixed``."""
    m = _RULE.match(str(rule))
    if not m or (m.group(2) is not None and int(m.group(2)) < 1):
        raise InputError(f"{where}: {rule!r} is not a baseline rule; use previous, "
                         "earlier:N (N periods earlier, e.g. earlier:52 for the same week "
                         "last year) or fixed")
    return rule


def baseline_of(span: Span, every: str, rule: str,
                fixed: tuple[Any, Any] | None = None) -> tuple[str, str]:
    """The baseline ``[start, end)`` of one period under a rule.

    >>> w = last_periods("2026-12-01", "week", 1)[0]
    >>> baseline_of(w, "week", "previous"), baseline_of(w, "week", "earlier:4")
    (('2026-11-16', '2026-11-23'), ('2026-10-26', '2026-11-02'))
    >>> baseline_of(w, "week", "fixed", ("2026-10-01", "2026-11-01"))
    ('2026-10-01', '2026-11-01')
    """
    check_rule(rule)
    if rule == "fixed":
        if not fixed or not all(fixed):
            raise InputError("the fixed baseline rule needs baseline_start and baseline_end")
        return tuple(f"{pd.Timestamp(v):%Y-%m-%d}" for v in fixed)  # type: ignore[return-value]
    n = 1 if rule == "previous" else int(rule.split(":")[1])
    return _span(_step(span.start, every, -n), every).dates  # type: ignore[arg-type]
