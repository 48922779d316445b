"""The metric dictionary (docs/metrics.md): each KPI, and how its value is made.

The KPIs' aggregates are computed in the engine (:mod:`shopcx.metrics.kpis`);
what a KPI's value, interval and maturity share are, given its aggregates, is
written here once, in plain Python, for every caller: the pandas tables of
:func:`~shopcx.metrics.kpis.compute_kpis` and the quick path of ``shopcx kpis``
(:mod:`shopcx.metrics.quick`), which imports neither Ibis nor pandas.

* :data:`KPIS` and :data:`KPI_BY_NAME` -- the dictionary itself (name, kind,
  numerator, denominator, label, which direction is better, definition);
* :func:`kpi_rows` -- every KPI's value from one row of aggregates;
* :func:`kpi_entries` and :func:`maturity_entries` -- the JSON of ``shopcx kpis``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:  # maturity reads the dictionary; the dictionary only takes its windows
    from shopcx.metrics.maturity import Maturity

__all__ = [
    "INITIATORS",
    "KPIS",
    "KPI_BY_NAME",
    "STAGES",
    "Kpi",
    "kpi_entries",
    "kpi_rows",
    "maturity_entries",
    "wilson",
]

INITIATORS = ("buyer", "seller", "system", "platform")
STAGES = ("unpaid", "awaiting_shipment", "in_transit", "delivered")

Kind = Literal["count", "sum", "mean", "quantile", "ratio", "proportion"]


@dataclass(frozen=True)
class Kpi:
    """One KPI of the dictionary: how its value is made from the aggregates."""

    name: str
    kind: Kind
    numerator: str
    denominator: str | None = None
    label: str = ""
    better: Literal["lower", "higher"] | None = None  # which way is good for customers
    definition: str = ""  # one sentence, shown in every readout's definitions section
    scale: float = 1.0  # a rate's value is numerator / denominator * scale (per 1,000)

    @property
    def is_rate(self) -> bool:
        return self.kind in ("ratio", "proportion")


def _kpis() -> tuple[Kpi, ...]:
    k: list[Kpi] = [
        Kpi("orders", "count", "n_orders", label="Orders"),
        Kpi("gmv_usd", "sum", "gmv_usd", label="GMV (USD)"),
        Kpi("paid_rate", "proportion", "n_paid", "n_orders", "Paid rate"),
        Kpi("shipped_rate", "proportion", "n_shipped", "n_orders", "Shipped rate"),
        Kpi("delivered_rate", "proportion", "n_delivered", "n_orders", "Delivered rate"),
        Kpi("cancellation_rate", "proportion", "n_cancelled", "n_orders", "Cancellation rate"),
    ]
    k += [Kpi(f"cancellation_rate_{i}", "proportion", f"n_cancelled_{i}", "n_orders",
              f"Cancellation rate, {i}-initiated") for i in INITIATORS]
    k += [Kpi(f"cancel_exit_{s}", "proportion", f"n_exit_{s}", "n_orders",
              f"Cancelled at stage {s.replace('_', ' ')}") for s in STAGES]
    k += [
        Kpi("seller_fault_cancellation_rate", "proportion", "n_seller_fault", "n_orders",
            "Seller-fault cancellation rate"),
        Kpi("buyer_cancel_requests", "count", "n_requests", label="Buyer cancel requests"),
        Kpi("cancel_request_success_rate", "proportion", "n_req_approved", "n_req_resolved",
            "Cancel request success rate"),
    ]
    k += [Kpi(f"cancel_request_success_rate_{s}", "proportion", f"n_req_approved_{s}",
              f"n_req_resolved_{s}", f"Cancel request success rate, {s.replace('_', ' ')}")
          for s in ("awaiting_shipment", "unpaid", "in_transit", "delivered")]
    k += [
        Kpi("cancel_withdrawal_rate", "proportion", "n_req_withdrawn", "n_requests",
            "Cancel request withdrawal rate"),
        Kpi("cancel_pending", "count", "n_req_pending", label="Pending cancel requests"),
        Kpi("median_hours_to_resolve", "quantile", "median_hours", label="Median hours to resolve"),
        Kpi("p90_hours_to_resolve", "quantile", "p90_hours", label="P90 hours to resolve"),
        Kpi("auto_resolved_share", "proportion", "n_req_auto", "n_req_resolved",
            "Auto-resolved share"),
        Kpi("repeat_request_rate", "proportion", "n_repeat_requesters", "n_requesters",
            "Repeat request rate"),
        Kpi("contacts", "count", "n_contacts", label="Contacts"),
        Kpi("cpo", "ratio", "n_contacts", "n_orders", "Contacts per order"),
        Kpi("cancel_cpo", "ratio", "n_cancel_contacts", "n_orders",
            "Cancellation contacts per order"),
        Kpi("contacts_per_cancelled_order", "ratio", "n_cancelled_order_contacts", "n_cancelled",
            "Contacts per cancelled order"),
        Kpi("repeat_contact_rate", "proportion", "n_repeat_contacts", "n_contacts_with_order",
            "Repeat contact rate (7 days)"),
        Kpi("escalation_rate", "proportion", "n_escalated", "n_contacts", "Escalation rate"),
        Kpi("escalations_per_1000_orders", "ratio", "n_escalated", "n_orders",
            "Escalations per 1,000 orders", scale=1000.0),
        Kpi("cancel_escalation_rate", "proportion", "n_cancel_escalated", "n_cancel_contacts",
            "Escalation rate of cancellation contacts"),
        Kpi("escalated_csat_mean", "mean", "escalated_csat_mean",
            label="CSAT of escalated contacts"),
        Kpi("contacts_before_escalation", "mean", "contacts_before_escalation",
            label="Contacts before escalation"),
        Kpi("median_hours_to_escalation", "quantile", "median_hours_to_escalation",
            label="Median hours from first cancellation contact to escalation"),
        Kpi("bot_contact_share", "proportion", "n_bot", "n_contacts", "Bot contact share"),
        Kpi("mean_handle_minutes", "mean", "mean_handle_minutes", label="Mean handle minutes"),
        Kpi("csat_mean", "mean", "csat_mean", label="CSAT mean"),
        Kpi("csat_response_rate", "proportion", "n_csat", "n_contacts", "CSAT response rate"),
        Kpi("csat_satisfied_share", "proportion", "n_csat_satisfied", "n_csat",
            "CSAT satisfied share (4-5)"),
        Kpi("feedback", "count", "n_feedback", label="Feedback"),
        Kpi("feedback_mean_rating", "mean", "feedback_mean_rating", label="Feedback mean rating"),
        Kpi("feedback_negative_share", "proportion", "n_negative", "n_rated",
            "Negative feedback share (1-2)"),
    ]
    return tuple(replace(kpi, better=_better(kpi.name), definition=_definition(kpi.name))
                 for kpi in k)


def _definition(name: str) -> str:
    """The one-sentence definition of a KPI (docs/metrics.md has the full text)."""
    orders = "orders placed in the period (the cohort)"
    for prefix, text in (
        ("cancellation_rate_", "cohort orders cancelled with this cancel initiator / {o}"),
        ("cancel_exit_", "cohort orders cancelled at this stage (unpaid, awaiting shipment, "
                         "in transit, delivered) / {o}"),
        ("cancel_request_success_rate_", "approved / approved or rejected buyer cancel "
                                         "requests made at this stage"),
    ):
        if name.startswith(prefix):
            return text.format(o=orders)
    return {
        "orders": orders,
        "gmv_usd": "order value in USD of the cohort",
        "paid_rate": f"cohort orders paid (COD: confirmed) / {orders}",
        "shipped_rate": f"cohort orders handed to a carrier / {orders}",
        "delivered_rate": f"cohort orders delivered / {orders}",
        "cancellation_rate": f"cohort orders with an approved cancellation / {orders}",
        "seller_fault_cancellation_rate": "cohort orders cancelled by the seller, or by the "
                                          f"system for a missed ship deadline / {orders}",
        "buyer_cancel_requests": "buyer cancel requests on cohort orders, whenever made",
        "cancel_request_success_rate": "approved / approved or rejected buyer cancel requests",
        "cancel_withdrawal_rate": "withdrawn / all buyer cancel requests",
        "cancel_pending": "buyer cancel requests not yet decided",
        "median_hours_to_resolve": "median hours from request to decision (approved or "
                                   "rejected requests)",
        "p90_hours_to_resolve": "90th percentile of hours from request to decision",
        "auto_resolved_share": "decided by a rule or timer / decided buyer cancel requests",
        "repeat_request_rate": "orders with two or more buyer requests / orders with at least one",
        "contacts": "customer-service contacts created in the period",
        "cpo": "contacts in the period / orders in the period",
        "cancel_cpo": "contacts about cancel requests, cancel status or refunds / orders in the "
                      "period",
        "contacts_per_cancelled_order": "cancellation-related contacts (any time) about "
                                        "cancelled cohort orders / cancelled cohort orders",
        "repeat_contact_rate": "contacts followed by another contact on the same order within "
                               "7 days / contacts about an order",
        "escalation_rate": "escalated contacts / contacts",
        "escalations_per_1000_orders": "escalated contacts in the period / orders in the "
                                       "period, times 1,000",
        "cancel_escalation_rate": "escalated cancellation-related contacts / "
                                  "cancellation-related contacts",
        "escalated_csat_mean": "mean satisfaction score (1-5) of escalated contacts",
        "contacts_before_escalation": "mean number of earlier contacts about the same order, "
                                      "per escalated contact about an order",
        "median_hours_to_escalation": "median hours from the order's first "
                                      "cancellation-related contact to the escalated contact",
        "bot_contact_share": "contacts handled by the bot / contacts",
        "mean_handle_minutes": "mean agent handle time in minutes",
        "csat_mean": "mean post-contact satisfaction score (1-5)",
        "csat_response_rate": "contacts with a satisfaction answer / contacts",
        "csat_satisfied_share": "satisfaction answers of 4 or 5 / satisfaction answers",
        "feedback": "feedback received in the period",
        "feedback_mean_rating": "mean feedback rating (1-5)",
        "feedback_negative_share": "feedback rated 1 or 2 / rated feedback",
    }[name]


_HIGHER_IS_BETTER = ("orders", "gmv_usd", "paid_rate", "shipped_rate", "delivered_rate",
                     "cancel_request_success_rate", "csat_mean", "csat_satisfied_share",
                     "feedback_mean_rating", "escalated_csat_mean")
_NEUTRAL = ("buyer_cancel_requests", "cancel_withdrawal_rate", "auto_resolved_share",
            "bot_contact_share", "mean_handle_minutes", "csat_response_rate", "feedback",
            "median_hours_to_escalation")


def _better(name: str) -> Literal["lower", "higher"] | None:
    if name.startswith(_HIGHER_IS_BETTER):
        return "higher"
    return None if name in _NEUTRAL else "lower"


KPIS: tuple[Kpi, ...] = _kpis()
"""Every KPI of the metric dictionary, in dictionary order."""

KPI_BY_NAME = {k.name: k for k in KPIS}


# --------------------------------------------------------------------------- values

_Z95 = 1.959964  # shopcx.metrics.stats.Z95 (tested equal; stats needs numpy)


def wilson(successes: int, trials: int) -> tuple[float | None, float | None]:
    """Wilson 95% score interval of ``successes / trials``; (None, None) without trials.

    The one-value form of :func:`shopcx.metrics.stats.wilson_interval` (tested equal).

    >>> tuple(round(v, 4) for v in wilson(8, 10))
    (0.4902, 0.9433)
    """
    if trials <= 0:
        return None, None
    x, n, z = float(successes), float(trials), _Z95
    centre = (x + z * z / 2) / (n + z * z)
    half = z * math.sqrt(x * (n - x) / n + z * z / 4) / (n + z * z)
    share = x / n  # rounding must not put the estimate outside its own interval
    return (min(max(min(centre - half, share), 0.0), 1.0),
            min(max(max(centre + half, share), 0.0), 1.0))


def _number(v: Any) -> float | None:
    """An aggregate as a float; None for null (None, NaN, pandas' NA)."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    try:
        return float(v)
    except TypeError:  # pandas.NA and the like
        return None


def _count(v: Any) -> int:
    n = _number(v)
    return 0 if n is None else int(n)


def _mature_share(a: Mapping[str, Any], k: Kpi, maturity: Maturity) -> float | None:
    """The share of the KPI's units (orders or contacts) at least its window old."""
    days = maturity.days(k.name)
    unit = "contacts" if maturity.unit(k.name) == "contact" else "orders"
    total = _count(a.get(f"n_{unit}"))
    if not total:
        return None
    if days == 0:
        return 1.0
    column = f"n_{unit}_mature_{days}"
    return _count(a[column]) / total if column in a else None


def kpi_rows(a: Mapping[str, Any], maturity: Maturity | None = None) -> list[dict[str, Any]]:
    """Every KPI, in dictionary order, from one row ``a`` of aggregates.

    Each row has ``kpi``, ``kind``, ``label``, ``value`` (None when undefined:
    a zero denominator, no values), for rates ``numerator`` and
    ``denominator``, for proportions ``ci_low`` and ``ci_high`` (Wilson 95%),
    and with ``maturity`` its ``maturity_days`` and ``mature_share``.
    """
    rows = []
    for k in KPIS:
        row: dict[str, Any] = {"kpi": k.name, "kind": k.kind, "label": k.label, "value": None,
                               "numerator": None, "denominator": None,
                               "ci_low": None, "ci_high": None}
        if k.kind == "count":
            row["value"] = float(_count(a[k.numerator]))
        elif k.kind == "sum":
            row["value"] = _number(a[k.numerator]) or 0.0
        elif k.kind in ("mean", "quantile"):
            row["value"] = _number(a[k.numerator])
        else:
            num, den = _count(a[k.numerator]), _count(a[k.denominator])
            row.update(numerator=num, denominator=den,
                       value=num / den * k.scale if den else None)
            if k.kind == "proportion":
                row["ci_low"], row["ci_high"] = wilson(num, den)
        if maturity is not None:
            row.update(maturity_days=maturity.days(k.name),
                       mature_share=_mature_share(a, k, maturity))
        rows.append(row)
    return rows


def _plain(v: Any) -> Any:
    """A JSON value: None for NaN and NA, Python numbers for numpy's."""
    if v is None or isinstance(v, (str, bool)):
        return v
    if isinstance(v, numbers.Integral):  # numpy's integers too
        return int(v)
    return _number(v)


def kpi_entries(rows: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """The ``kpis`` object of ``shopcx kpis --format json`` from :func:`kpi_rows`' rows."""
    out: dict[str, dict[str, Any]] = {}
    for r in rows:
        kind = r["kind"]
        value = _plain(r["value"])
        if kind == "count" and value is not None:
            value = int(value)
        entry: dict[str, Any] = {"value": value}
        if kind in ("ratio", "proportion"):
            entry["numerator"] = _plain(r["numerator"])
            entry["denominator"] = _plain(r["denominator"])
        if kind == "proportion":
            entry["ci_low"] = _plain(r["ci_low"])
            entry["ci_high"] = _plain(r["ci_high"])
        out[r["kpi"]] = entry
    return out


def maturity_entries(rows: Iterable[Mapping[str, Any]], as_of: str | None) -> dict[str, Any]:
    """The ``as_of`` (``YYYY-MM-DD``, the data's end) and ``maturity`` entries of
    ``shopcx kpis --format json``: per KPI, its window in days and the share of its
    cohort that old."""
    out = {r["kpi"]: {"window_days": int(r["maturity_days"]),
                      "mature_share": _plain(r.get("mature_share"))} for r in rows}
    return {"as_of": as_of, "maturity": out}
