"""Maturity: how long after an order (or a contact) its KPIs stop changing.

An order placed yesterday has not yet had time to be shipped, cancelled in
transit or contacted about; a contact made yesterday has not yet had its
seven days for a repeat contact. A KPI's *maturity window* is the number of
days after its unit (the order, for KPIs of the order cohort; the contact,
for contact KPIs) by which it is taken to be complete. At ``as_of`` (the
data's end by default) a unit is *mature* when it is at least that many days
old, and a KPI reports the share of its cohort that is mature.

Windows are set per group of KPIs, with per-KPI overrides, in
``params/maturity.yaml``; :data:`DEFAULT_WINDOWS` applies without a file.
KPIs whose inputs are all known the moment their rows exist (orders, GMV,
contacts per order, feedback) have no window: they are mature at once.

How a young period is compared with its baseline "at the same age" is in
:func:`shopcx.metrics.compare.compare_periods` and docs/metrics.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from shopcx.errors import InputError
from shopcx.params import find_project_file, load_yaml

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DEFAULT_WINDOWS", "GROUPS", "Maturity", "kpi_group", "load_maturity", "mature_share", "moment"]

GROUPS: dict[str, tuple[Literal["order", "contact"], str]] = {
    "fulfillment": ("order", "paid, shipped and delivered rates"),
    "cancellations": ("order", "cancellation rates, exits by stage, seller fault, buyer "
                               "cancel requests and their outcomes, contacts per cancelled "
                               "order"),
    "contacts": ("contact", "repeat contacts, escalations and CSAT (they arrive after the "
                            "contact)"),
}
"""Groups of KPIs with a maturity window: the unit whose age counts, and what they hold."""

DEFAULT_WINDOWS = {"fulfillment": 14, "cancellations": 14, "contacts": 7}
"""Days, per group, when no ``params/maturity.yaml`` says otherwise."""

_CONTACT_KPIS = ("repeat_contact_rate", "escalation_rate", "csat_mean", "csat_response_rate",
                 "csat_satisfied_share", "escalations_per_1000_orders",
                 "cancel_escalation_rate", "escalated_csat_mean", "contacts_before_escalation",
                 "median_hours_to_escalation")
_AT_ONCE = ("orders", "gmv_usd", "contacts", "cpo", "cancel_cpo", "bot_contact_share",
            "mean_handle_minutes", "feedback", "feedback_mean_rating",
            "feedback_negative_share")


def kpi_group(kpi: str) -> str | None:
    """The maturity group of a KPI; None for KPIs that are complete at once.

    >>> [kpi_group(k) for k in ("cancel_exit_in_transit", "delivered_rate", "csat_mean", "cpo")]
    ['cancellations', 'fulfillment', 'contacts', None]
    """
    if kpi in _AT_ONCE:
        return None
    if kpi in _CONTACT_KPIS:
        return "contacts"
    if kpi in ("paid_rate", "shipped_rate", "delivered_rate"):
        return "fulfillment"
    return "cancellations"


@dataclass(frozen=True)
class Maturity:
    """Maturity windows in days: per group, with per-KPI overrides."""

    windows: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_WINDOWS))
    kpis: dict[str, int] = field(default_factory=dict)

    def days(self, kpi: str) -> int:
        """The KPI's window in days (0: mature at once)."""
        if kpi in self.kpis:
            return self.kpis[kpi]
        group = kpi_group(kpi)
        return 0 if group is None else self.windows.get(group, 0)

    def unit(self, kpi: str) -> Literal["order", "contact"]:
        """Whose age counts: the order's (cohort KPIs) or the contact's."""
        group = kpi_group(kpi)
        return "contact" if group == "contacts" else "order"

    def key(self) -> tuple[Any, ...]:
        """A hashable identity, for cache keys."""
        return tuple(sorted(self.windows.items())), tuple(sorted(self.kpis.items()))


def _days(value: Any, where: str, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 365:
        raise InputError(f"{where}: {name} must be a whole number of days from 0 to 365, "
                         f"got {value!r}")
    return value


def load_maturity(path: str | Path | None = None) -> Maturity:
    """The maturity windows of ``path``, else of the project's ``params/maturity.yaml``,
    else :data:`DEFAULT_WINDOWS`. Checked completely (InputError, exit status 2)."""
    from shopcx.metrics.dictionary import KPI_BY_NAME

    if path in (None, ""):
        path = find_project_file("params/maturity.yaml")
        if path is None:
            return Maturity()
    data = load_yaml(path)
    where = str(path)
    unknown = sorted(set(data) - {"windows", "kpis"})
    if unknown:
        raise InputError(f"{where}: unknown setting(s) {', '.join(unknown)}; known: windows, kpis")
    windows = dict(DEFAULT_WINDOWS)
    for name, value in (data.get("windows") or {}).items():
        if name not in GROUPS:
            raise InputError(f"{where}: windows.{name} is not a group; groups: "
                             f"{', '.join(GROUPS)}")
        windows[name] = _days(value, where, f"windows.{name}")
    kpis = {}
    for name, value in (data.get("kpis") or {}).items():
        if name not in KPI_BY_NAME:
            raise InputError(f"{where}: kpis.{name} is not a KPI of the metric dictionary")
        kpis[name] = _days(value, where, f"kpis.{name}")
    return Maturity(windows, kpis)


def mature_share(source: Any, market: str, start: Any, end: Any, days: int,
                 unit: Literal["order", "contact"] = "order") -> float | None:
    """The share of a period's orders (or contacts) at least ``days`` old at the
    source's data end; None when the period has none (one small aggregate)."""
    import ibis
    import pandas as pd

    from shopcx.metrics.facts import cohort, parse_period, period_contacts

    as_of = source.data_end()
    if as_of is None:
        return None
    p = parse_period(start, end)
    rows = (cohort(source, market, p.start, p.end) if unit == "order"
            else period_contacts(source, market, p.start, p.end))
    cut = ibis.timestamp((as_of - pd.Timedelta(days=days)).to_pydatetime())
    counts = source.execute(rows.aggregate(n=rows.count(), mature=(rows.created_at <= cut).sum()))
    n = int(counts["n"].iloc[0] or 0)
    return float(counts["mature"].iloc[0] or 0) / n if n else None


def moment(ts: pd.Timestamp) -> str:
    """A moment as text: the date alone at midnight, else date and time (UTC).

    >>> import pandas as pd
    >>> moment(pd.Timestamp("2026-11-24")), moment(pd.Timestamp("2026-11-24 06:30"))
    ('2026-11-24', '2026-11-24 06:30')
    """
    return f"{ts:%Y-%m-%d}" if ts == ts.normalize() else f"{ts:%Y-%m-%d %H:%M}"
