"""Root cause of a rate's change between two periods: exact rate/mix decomposition.

Rates over orders (cancellation rates, stage exits, seller-fault rate), over
buyer requests (success rate), and contacts per order (``cpo``, ``cancel_cpo``:
here the contacts of the period *about orders of the cohort*, so that
segments add up; contacts without an order or about older orders are left
out, which makes these values lower than the dictionary's CPO).

For a rate ``R = Σ_s w_s r_s`` over the segments ``s`` of one dimension
(``w_s`` the segment's share of the denominator, ``r_s`` its own rate), the
change between a baseline (0) and a current period (1) splits exactly into

    rate effect_s  = (r1_s − r0_s) × (w0_s + w1_s) / 2
    mix effect_s   = (w1_s − w0_s) × ((r0_s + r1_s) / 2 − R̄)
    contribution_s = rate effect_s + mix effect_s,    Σ_s contribution_s = R1 − R0

with ``R̄ = (R0 + R1) / 2``: a segment whose share grows at the market's own
rate explains nothing (the shares' changes sum to zero, so centring keeps the
sum exact). A segment missing in one period takes the other period's rate, so
it contributes through mix only (its value in that period is reported as
n/a). A driver is ``rate`` when its rate effect is more than twice its mix
effect, ``mix`` in the opposite case, ``both`` otherwise.

**Intervals.** A contribution's sampling variance counts the segment's own
rate (binomial, or Poisson for counts per order, with ``z²/2`` pseudo-events,
Agresti-Coull, so an interval never collapses to zero width at 0 of n or n of
n) and its share of units (multinomial: a mix effect is as uncertain as the
share and the rates it is made of).

**Support.** A segment needs ``MIN_UNITS`` units and ``MIN_EVENTS`` events over
the two periods to be tested; smaller ones are reported (``supported:
false``) but are noise whatever their sign and never drivers.

**Scope.** A dimension set only at a later stage (the carrier, at hand-over)
describes only the units that reached it (:mod:`shopcx.rootcause.dimensions`).
It decomposes the rate among those units; its contributions are scaled by
the mean share of units in scope, so they are in points of the headline, and
the rest of the change is one ``(outside scope)`` row (never a driver), so
the dimension still adds up to the change. A metric whose events all happen
before the scope (awaiting-shipment exits for the carrier) leaves the
dimension out, as do buyer segments when the data lacks their history.

Not every segment with a large contribution is a cause: a segment holding 40%
of the orders contributes about 40% of any market-wide change. A segment's
*surprise* is how far it pushed the rate beyond its proportional share,
``contribution − w̄ × change`` (``w̄`` its mean share of the denominator), with
a variance from the same counts. Drivers are the supported segments whose
surprise goes the way of their own contribution, ranked by absolute
contribution (a segment pushing against the overall change is a driver too,
``against_change``: a seller's burst hidden by a fall elsewhere); a driver is
``noise`` unless its contribution is significant after Benjamini-Hochberg
across the segments, its surprise is significant after Benjamini-Hochberg
across those, and its surprise is at least a tenth of the change
(``MIN_SURPRISE``): a segment holding nearly all orders that "drives" nearly
all the change explains nothing.

Redundant findings are pruned, using the counts of every pair of dimensions:

* ``S`` *reflects* ``D`` (another dimension, a real driver) when at least 75%
  of ``S``'s contribution comes from orders also in ``D`` and those orders' rate
  did not move significantly more than the rest of ``D``; or when, with
  ``D``'s orders taken out of the market, ``S`` keeps less than a quarter of its
  surprise (payment method "wallet" stood out only because many of its parcels
  travel with the failing carrier); or when ``S`` lies within ``D`` (90% of its
  orders) and both contributions sit in the overlap.
  Then ``S`` is dropped from the drivers and names ``D`` in ``redundant_with``:
  a carrier that only reflects one seller's out-of-stock burst gives way to
  the seller. Pairs with a scoped dimension are compared within its scope,
  and only for segments whose contribution lies mostly inside it.
* A *combination* of two dimensions (carrier × category, say) is a driver when
  it is significant and holds at least 75% of the contribution of *each* of
  its two segments (or the rest of the segment did not move significantly)
  without being contained in either, is more surprising than either (it
  explains more, not a diluted part), and each segment shows
  at least half of the combination's contribution on its own (otherwise the
  cell is one segment's effect seen through the other; of combinations sharing
  a segment, the most surprising wins), and its effect is not
  ``mix`` (a shift of shares happens along one dimension: when cash on
  delivery grows, every cell of it grows), and it goes the way of the change
  (thousands of cells are searched; one pushing against the change is more
  often chance than news): it explains clearly more than either alone, and
  both are dropped in its favour.
* A *group*: where two or more segments of a grouped dimension (sellers: many
  small segments, :mod:`shopcx.rootcause.dimensions`) drive the change its
  way, their set is a driver too (Adtributor's and Squeeze's root cause as a
  set of elements), decomposed as one segment with its members merged; the
  members give way to it. It is compared with other segments through the sums
  of its members' pair cells, and with a combination through the
  combination's units counted inside the group (:func:`_count_triples`).

For cancellation metrics the cancel reason and stage are reported separately
as ``breakdown`` (what kind of cancellations moved; not centred, each kind's
contribution is the change of its own rate), since they describe the metric
itself rather than a group of orders.
"""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

import ibis
import numpy as np
import pandas as pd

from shopcx.data.contract import CANCEL_CONTACT_REASONS
from shopcx.data.sources import load_source
from shopcx.errors import InputError
from shopcx.metrics.compare import same_age_as_of
from shopcx.metrics.facts import (
    INITIATORS,
    STAGES,
    order_facts,
    parse_period,
    period_contacts,
    request_facts,
)
from shopcx.metrics.maturity import Maturity, mature_share, moment
from shopcx.metrics.segments import with_buyer_segment
from shopcx.metrics.stats import Z95, benjamini_hochberg
from shopcx.rootcause.dimensions import (
    DIMENSIONS,
    LOOKBACK_DAYS,
    UNKNOWN,
    Dimension,
    first_order,
    segment_window,
)

__all__ = ["EXPLAINABLE", "GROUP_SEP", "MIN_EVENTS", "MIN_SURPRISE", "MIN_UNITS", "decompose",
           "explain", "explain_to_dict", "with_request_outcome"]

ORDER_DIMENSIONS = ("category", "sales_channel", "fulfillment", "payment_method", "carrier",
                    "seller_id", "buyer_segment")
CANCEL_DIMENSIONS = ("cancel_reason", "cancel_stage")
CONTACT_DIMENSIONS = ("channel", "reason")
"""Dimensions of a contact (metrics over contacts only)."""
JOURNEY_DIMENSIONS = ("request_outcome",)
"""The order's journey: the outcome of the buyer's latest cancel request, or none."""

MIN_UNITS = 30
"""Units (orders or requests) a segment needs over both periods to be tested."""
MIN_EVENTS = 5
"""Events (cancellations, contacts, approvals) a segment needs over both periods."""
MIN_SURPRISE = 0.10
"""Share of the change a driver must push beyond its share of units."""
OUTSIDE = "(outside scope)"
"""The key of a scoped dimension's row for the change among units outside its scope."""
GROUP_SEP = " + "
"""Joins a group's members in its key, for display (its ``members`` column lists them)."""
_COUNTS = ["x_0", "n_0", "x_1", "n_1"]


@dataclass(frozen=True)
class _Metric:
    unit: str  # "orders", "requests" or "contacts"
    flag: Any  # function of the unit table -> boolean (or count) column
    unit_filter: Any = None
    kind: str = "proportion"  # or "ratio": a count per unit (Poisson variance)
    contacts: tuple[str, ...] | None = None  # contact reasons counted per order (or the
    #                                          contacts that are the units); () = all
    stages: tuple[str, ...] | None = None  # the cancel stages its events happen at
    escalated: bool = False  # count escalated contacts only
    scale: float = 1.0  # values and contributions in the dictionary's unit (per 1,000)
    dimensions: tuple[str, ...] = ORDER_DIMENSIONS  # searched by default


def _metrics() -> dict[str, _Metric]:
    m: dict[str, _Metric] = {
        "cancellation_rate": _Metric("orders", lambda t: t.cancelled),
        "seller_fault_cancellation_rate": _Metric("orders", lambda t: t.seller_fault),
        "cancel_request_success_rate": _Metric(
            "requests", lambda t: t.outcome == "approved",
            lambda t: t.outcome.isin(("approved", "rejected"))),
    }
    m["cpo"] = _Metric("orders", lambda t: t._contacts, kind="ratio", contacts=())
    m["cancel_cpo"] = _Metric("orders", lambda t: t._contacts, kind="ratio",
                              contacts=CANCEL_CONTACT_REASONS)
    m["escalations_per_1000_orders"] = _Metric(
        "orders", lambda t: t._contacts, kind="ratio", contacts=(), escalated=True,
        scale=1000.0, dimensions=(*ORDER_DIMENSIONS, *JOURNEY_DIMENSIONS))
    m["cancel_escalation_rate"] = _Metric(
        "contacts", lambda t: t.escalated, contacts=CANCEL_CONTACT_REASONS,
        dimensions=(*CONTACT_DIMENSIONS, *JOURNEY_DIMENSIONS,
                    *(d for d in ORDER_DIMENSIONS if d not in ("carrier", "buyer_segment"))))
    for i in INITIATORS:
        m[f"cancellation_rate_{i}"] = _Metric(
            "orders", lambda t, i=i: (t.cancel_initiator == i).fill_null(False))
    for s in STAGES:
        m[f"cancel_exit_{s}"] = _Metric(
            "orders", lambda t, s=s: (t.cancel_stage == s).fill_null(False), stages=(s,))
    return m


EXPLAINABLE = _metrics()
"""The metrics ``explain`` decomposes (rates over orders or over buyer requests)."""

_PSEUDO = Z95 ** 2 / 2  # Agresti-Coull pseudo-count of events


def _period_variance(x: Any, n: Any, total: float, centre: float, kind: str) -> np.ndarray:
    """Sampling variance of a segment's centred contribution in one period,
    ``Σ_{i in s} (f_i − R̄) / N`` for the ``n`` of ``N`` units in the segment.

    By the law of total variance: the segment's own rate (binomial, or Poisson
    for counts per unit, with ``z²/2`` pseudo-events so it is never zero at 0
    of n or n of n) plus its share of units (multinomial), weighted by how far
    its rate is from the centre ``R̄``.
    """
    x, n = np.asarray(x, dtype=float), np.asarray(n, dtype=float)
    if not total:
        return np.zeros_like(x)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(n > 0, x / np.where(n > 0, n, 1), 0.0)
        if kind == "ratio":
            within = x + _PSEUDO
        else:
            smoothed = (x + _PSEUDO) / (n + 2 * _PSEUDO)
            within = (n + 2 * _PSEUDO) * smoothed * (1 - smoothed)
    share = n * (1 - n / total) * (r - centre) ** 2
    return (within + share) / total ** 2


def _p_value(estimate: Any, se: Any) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, np.abs(estimate) / se, np.where(np.abs(estimate) > 1e-12,
                                                              np.inf, 0.0))
    from scipy.special import ndtr  # the normal CDF (scipy.stats takes 1.4 s to import)

    return 2 * ndtr(-z)


def decompose(baseline: pd.DataFrame, current: pd.DataFrame,
              kind: str = "proportion", centred: bool = True) -> pd.DataFrame:
    """Rate/mix decomposition of one dimension from per-segment counts.

    ``baseline`` and ``current`` have columns ``key``, ``x`` (numerator) and
    ``n`` (denominator). Returns one row per segment with shares, rates
    (NaN in a period without units), effects, ``contribution``, its interval,
    ``effect`` and ``supported``; contributions add up to the change of the
    overall rate.

    >>> b = pd.DataFrame({"key": ["a", "b"], "x": [5, 5], "n": [50, 50]})
    >>> c = pd.DataFrame({"key": ["a", "b"], "x": [20, 5], "n": [50, 50]})
    >>> d = decompose(b, c)
    >>> d["contribution"].round(3).tolist(), d["effect"].tolist()
    ([0.15, 0.0], ['rate', 'both'])
    """
    return _decompose(_outer(baseline, current), kind, centred)


def _outer(baseline: pd.DataFrame, current: pd.DataFrame) -> pd.DataFrame:
    """Both periods' counts side by side (``x_0``, ``n_0``, ``x_1``, ``n_1``; 0 where a
    segment has no units in a period), one row per key of either."""
    return baseline.merge(current, on="key", how="outer", suffixes=("_0", "_1")).fillna(
        {"x_0": 0, "n_0": 0, "x_1": 0, "n_1": 0})


def _decompose(t: pd.DataFrame, kind: str, centred: bool) -> pd.DataFrame:
    """:func:`decompose` of counts already side by side (:func:`_outer`), row for row.

    The arithmetic runs on NumPy arrays (a pandas operation costs tens of
    microseconds whatever its size, and a readout decomposes hundreds of
    small tables); the values are the same, operation for operation."""
    x0, n0s, x1, n1s = (t[c].to_numpy(float) for c in ("x_0", "n_0", "x_1", "n_1"))
    n0, n1 = n0s.sum(), n1s.sum()
    w0 = n0s / n0 if n0 else n0s * 0.0
    w1 = n1s / n1 if n1 else n1s * 0.0
    v0, v1 = _rates(x0, n0s), _rates(x1, n1s)
    r0 = _filled(_filled(v0, v1), 0.0)
    r1 = _filled(_filled(v1, v0), 0.0)
    overall = [x / n for x, n in ((x0.sum(), n0), (x1.sum(), n1)) if n]
    centre = float(np.mean(overall)) if overall and centred else 0.0
    rate = (r1 - r0) * (w0 + w1) / 2
    mix = (w1 - w0) * ((r0 + r1) / 2 - centre)
    contribution = rate + mix
    se = np.sqrt(_period_variance(x0, n0s, n0, centre, kind)
                 + _period_variance(x1, n1s, n1, centre, kind))
    mix_se = np.sqrt(_mix_variance((x0, x1), (n0s, n1s), (w0, w1), (v0, v1), kind, centre))
    effect = np.select([np.abs(rate) > 2 * np.abs(mix), np.abs(mix) > 2 * np.abs(rate)],
                       ["rate", "mix"], "both")
    # a mix effect is tested on its own: it is far more precise than the segment's
    # contribution, whose rate part carries the noise of the segment's own events
    is_mix = effect == "mix"
    ci_low, ci_high = contribution - Z95 * se, contribution + Z95 * se
    mix_low, mix_high = mix - Z95 * mix_se, mix + Z95 * mix_se
    supported = (n0s + n1s >= MIN_UNITS) & (x0 + x1 >= MIN_EVENTS)
    low, high = np.where(is_mix, mix_low, ci_low), np.where(is_mix, mix_high, ci_high)
    return pd.DataFrame({
        "key": t["key"], "baseline_share": w0, "current_share": w1,
        "baseline_value": v0, "current_value": v1, "rate_effect": rate,
        "mix_effect": mix, "contribution": contribution,
        "baseline_orders": t["n_0"], "current_orders": t["n_1"],
        "ci_low": ci_low, "ci_high": ci_high, "mix_ci_low": mix_low, "mix_ci_high": mix_high,
        "effect": effect,
        "p_value": np.where(is_mix, _p_value(mix, mix_se), _p_value(contribution, se)),
        "supported": supported, "noise": ~supported | ((low <= 0) & (high >= 0)),
    }, index=t.index)


def _rates(x: np.ndarray, n: np.ndarray) -> np.ndarray:
    """``x / n`` where ``n > 0``, NaN elsewhere."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(n > 0, x / n, np.nan)


def _filled(values: np.ndarray, other: Any) -> np.ndarray:
    """``values`` with NaN replaced by ``other`` (an array of the same length or a number)."""
    return np.where(np.isnan(values), other, values)


def _rate_variance(x: Any, n: Any, kind: str) -> np.ndarray:
    """Variance of a rate ``x / n`` (Agresti-Coull pseudo-events; ``inf`` without units)."""
    x, n = np.asarray(x, dtype=float), np.asarray(n, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        if kind == "ratio":
            return np.where(n > 0, (x + _PSEUDO) / n ** 2, np.inf)
        smoothed = (x + _PSEUDO) / (n + 2 * _PSEUDO)
        return np.where(n > 0, smoothed * (1 - smoothed) / (n + 2 * _PSEUDO), np.inf)


def _mix_variance(xs: tuple[np.ndarray, np.ndarray], ns: tuple[np.ndarray, np.ndarray],
                  ws: tuple[np.ndarray, np.ndarray], rates: tuple[np.ndarray, np.ndarray],
                  kind: str, centre: float) -> np.ndarray:
    """Sampling variance of the mix effect ``Δw × (r̄ − R̄)`` (delta method), from each
    period's events ``xs``, units ``ns``, shares ``ws`` and rates (NaN without units),
    as :func:`_decompose` computed them.

    The shares are multinomial; ``r̄ − R̄`` moves with the segment's mean rate
    and, through ``R̄``, with the rest's. A segment seen in one period only
    has its rate from that period.
    """
    (n0, n1), (x0, x1) = (float(a.sum()) for a in ns), (float(a.sum()) for a in xs)
    var_share = sum(ns[p] / n * (1 - ns[p] / n) / n for p, n in ((0, n0), (1, n1)) if n)
    w0, w1 = ws
    w = (w0 + w1) / 2
    own = [_rate_variance(xs[p], ns[p], kind) for p in (0, 1)]
    rest = [_rate_variance(x - xs[p], n - ns[p], kind)
            for p, x, n in ((0, x0, n0), (1, x1, n1))]
    mean_own = np.where(np.isinf(own[0]), own[1], np.where(np.isinf(own[1]), own[0],
                                                            (own[0] + own[1]) / 4))
    mean_rest = np.where(np.isinf(rest[0]) | np.isinf(rest[1]), 0.0, (rest[0] + rest[1]) / 4)
    r0, r1 = rates
    mean = _filled((_filled(r0, r1) + _filled(r1, r0)) / 2, centre)
    mean_own = np.where(np.isinf(mean_own), 0.0, mean_own)
    moved = w1 - w0
    return (np.asarray(var_share, dtype=float) * (mean - centre) ** 2
            + moved ** 2 * ((1 - w) ** 2 * mean_own + w ** 2 * mean_rest))


def _units(source: Any, metric: str, market: str, start: Any, end: Any,
           lookback: int | None, outcome: bool = False) -> ibis.Table:
    spec = EXPLAINABLE[metric]
    p = parse_period(start, end)

    def build() -> ibis.Table:
        facts = order_facts(source, market, p.start, p.end)
        if lookback is None:
            return facts.mutate(buyer_segment=ibis.literal(None, type="string"))
        return with_buyer_segment(source, facts, market, p.start, lookback)

    # shared by every metric explained for this period
    if spec.unit == "contacts":
        return _contact_units(source, spec, market, p.start, p.end)
    facts = source.kept(("segmented-order-facts", market.upper(), p.start, p.end, lookback),
                        build)
    if outcome:  # the journey dimension: one more pass over the requests
        facts = with_request_outcome(source, facts)
    if spec.contacts is not None:  # contacts of the period about each order
        c = period_contacts(source, market, start, end)
        if spec.contacts:
            c = c.filter(c.reason.isin(spec.contacts))
        if spec.escalated:
            c = c.filter(c.escalated)
        per = c.group_by("order_id").aggregate(_contacts=c.count())
        facts = facts.left_join(per, "order_id").drop("order_id_right")
        facts = facts.mutate(_contacts=facts._contacts.fill_null(0))
    if spec.unit == "requests":
        r = request_facts(source, facts)
        dims = facts.select("order_id", *ORDER_DIMENSIONS, *CANCEL_DIMENSIONS)
        units = r.select("request_id", "order_id", "outcome", "stage").join(dims, "order_id")
    else:
        units = facts
    if spec.unit_filter is not None:
        units = units.filter(spec.unit_filter(units))
    return units.mutate(_flag=spec.flag(units))


def with_request_outcome(source: Any, orders: ibis.Table) -> ibis.Table:
    """``orders`` with ``request_outcome``: the outcome of the buyer's latest cancel
    request on the order (approved, rejected, pending, withdrawn), or ``no request``."""
    r = request_facts(source, orders)
    r = r.mutate(_rank=ibis.row_number().over(
        group_by=r.order_id, order_by=[ibis.desc(r.requested_at), ibis.desc(r.request_id)]))
    last = r.filter(r._rank == 0).select("order_id", request_outcome="outcome")
    out = orders.left_join(last, "order_id").drop("order_id_right")
    return out.mutate(request_outcome=out.request_outcome.fill_null("no request"))


def _contact_units(source: Any, spec: _Metric, market: str, start: Any, end: Any
                   ) -> ibis.Table:
    """The period's contacts (of the metric's reasons) with their order's dimensions
    (any order, whenever placed; null for contacts without one) and journey."""
    c = period_contacts(source, market, start, end)
    if spec.contacts:
        c = c.filter(c.reason.isin(spec.contacts))
    order_dims = [d for d in spec.dimensions if d in ORDER_DIMENSIONS]
    o = source.tables["orders"]
    mine = o.filter(o.order_id.isin(c.order_id))
    o = with_request_outcome(source, mine).select("order_id", *order_dims,
                                                  "request_outcome")
    units = c.select("contact_id", "order_id", "escalated", *CONTACT_DIMENSIONS).left_join(
        o, "order_id").drop("order_id_right")
    units = units.mutate(request_outcome=ibis.ifelse(
        units.order_id.isnull(), ibis.null("string"), units.request_outcome))
    if spec.unit_filter is not None:
        units = units.filter(spec.unit_filter(units))
    return units.mutate(_flag=spec.flag(units))


THETA = 0.75
"""Share of a segment's contribution that must lie in an overlap to call it redundant."""
WITHIN = 0.9
"""Share of a segment's orders inside another segment for it to lie within it."""
PARENT = 0.5
"""Share of a combination's contribution each of its segments must show on its own."""
SEP = " × "


def _counts(source: Any, units: ibis.Table, groups: list[tuple[str, ...]]
            ) -> list[pd.DataFrame]:
    """Flagged units ``x`` and units ``n`` per segment of each group of dimensions
    (one statement for all groups; ``()`` is the total). Each frame has ``key``
    (values joined by ``SEP``; null as ``(unknown)``), ``x`` and ``n``."""
    out = []
    for dims, t in zip(groups, source.aggregate_each(units, groups, x=ibis._._flag.sum(),
                                                     n=ibis._.count()), strict=True):
        values = t[list(dims)].astype(object).fillna(UNKNOWN).astype(str)
        key = values.iloc[:, 0] if dims else pd.Series([""] * len(t), index=t.index)
        for d in dims[1:]:
            key = key + SEP + values[d]
        out.append(pd.DataFrame({"key": pd.Series(key.to_numpy(), dtype=object),
                                 "x": t["x"].fillna(0).astype(float),
                                 "n": t["n"].astype(float)}))
    return out


def _variance(x: Any, n: Any, kind: str) -> Any:
    """Variance of a count ``x`` of ``n`` units: binomial, or Poisson for ratios."""
    if kind == "ratio":
        return x
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(n > 0, x * (1 - x / np.where(n > 0, n, 1)), 0.0)


@dataclass
class _Frame:
    """The units a group of dimensions is decomposed over: all, or a dimension's scope.

    ``totals`` per period (events, units) of the frame; ``scale`` turns the
    frame's points into headline points (its mean share of all units).
    """

    totals: dict[str, tuple[float, float]]
    scale: float = 1.0
    change: float = field(init=False)
    centre: float = field(init=False)

    def __post_init__(self) -> None:
        (x0, n0), (x1, n1) = self.totals["baseline"], self.totals["current"]
        self.change = (x1 / n1 if n1 else 0.0) - (x0 / n0 if n0 else 0.0)
        rates = [x / n for x, n in ((x0, n0), (x1, n1)) if n]
        self.centre = sum(rates) / len(rates) if rates else 0.0

    def share(self, row: Any) -> float:
        """Mean share of the frame's units in a segment (row with ``n_0``, ``n_1``)."""
        (_, n0), (_, n1) = self.totals["baseline"], self.totals["current"]
        return ((row["n_0"] / n0 if n0 else 0.0) + (row["n_1"] / n1 if n1 else 0.0)) / 2

    def points(self, row: Any) -> float:
        """A segment's contribution in the frame's own points (rate effect plus mix
        effect centred on the frame's mean rate)."""
        (_, n0), (_, n1) = self.totals["baseline"], self.totals["current"]
        moved = (row["n_1"] / n1 if n1 else 0.0) - (row["n_0"] / n0 if n0 else 0.0)
        return ((row["x_1"] / n1 if n1 else 0.0) - (row["x_0"] / n0 if n0 else 0.0)
                - moved * self.centre)

    def beyond(self, row: Any) -> Any:
        """A segment's points beyond its share of the frame's change."""
        return self.points(row) - self.share(row) * self.change

    def without(self, row: Any) -> _Frame:
        """The frame without a segment's units: its own totals, rates and change."""
        return _Frame({k: (x - row[f"x_{p}"], n - row[f"n_{p}"])
                       for p, (k, (x, n)) in enumerate(self.totals.items())})


def _surprise(t: pd.DataFrame, frame: _Frame, kind: str) -> pd.DataFrame:
    """Surprise (contribution beyond the proportional share), its standard error, p-value.

    In frame points, ``surprise = contribution − w̄ × R``, where ``R`` is the
    dimension's rate effect (the sum of its segments' rate effects): were
    every segment's rate to move alike and no share to move, each segment
    would contribute its share of ``R`` and nothing else. A mix effect is
    therefore surprise in full: a growing segment with a rate above the
    market's is not "its share of the change" however large it grows. The
    variance is approximately ``(1 − w̄)²`` times the segment's plus ``w̄²``
    times the rest's.
    """
    x0, n0, x1, n1 = (t[c].to_numpy(float) for c in ("x_0", "n_0", "x_1", "n_1"))
    w = frame.share({"n_0": n0, "n_1": n1})
    out = pd.DataFrame(index=t.index)
    moved_alike = float(t["rate_effect"].sum())
    out["surprise"] = t["contribution"].to_numpy() - w * moved_alike
    var = np.zeros(len(t))
    for x, n, (xa, na) in ((x0, n0, frame.totals["baseline"]), (x1, n1, frame.totals["current"])):
        var += ((1 - w) ** 2 * _period_variance(x, n, na, frame.centre, kind)
                + w ** 2 * _period_variance(xa - x, na - n, na, frame.centre, kind))
    se = np.sqrt(var)
    # a mix segment's surprise is its mix effect, tested with the mix effect's own variance
    is_mix = (t["effect"] == "mix").to_numpy()
    mix_se = (t["mix_ci_high"] - t["mix_ci_low"]).to_numpy(float) / (2 * Z95)
    out["surprise"] = np.where(is_mix, t["mix_effect"], out["surprise"])
    out["surprise_se"] = np.where(is_mix, mix_se, se)
    out["surprise_p"] = _p_value(out["surprise"].to_numpy(), out["surprise_se"].to_numpy())
    return out


_SCALED = ("rate_effect", "mix_effect", "contribution", "ci_low", "ci_high", "mix_ci_low",
           "mix_ci_high", "surprise", "surprise_se")


def _table(c0: pd.DataFrame, c1: pd.DataFrame, frame: _Frame, kind: str,
           centred: bool = True) -> pd.DataFrame:
    """Decomposition of one dimension (or pair) with raw counts and surprise, in
    headline points."""
    raw = _outer(c0, c1)
    d = _decompose(raw, kind, centred)  # row for row with raw: its counts join by position
    d = pd.concat([d, raw[["x_0", "n_0", "x_1", "n_1"]]], axis=1)
    d = pd.concat([d, _surprise(d, frame, kind)], axis=1)
    if frame.scale != 1.0:
        d[list(_SCALED)] = d[list(_SCALED)] * frame.scale
    return d


def _adjust(table: pd.DataFrame, change: float) -> pd.DataFrame:
    """Benjamini-Hochberg over the supported segments of a family; ``noise`` and
    ``distinct`` flags (unsupported segments are never significant)."""
    if table.empty:
        return table.assign(p_adjusted=[], surprise_p_adjusted=[], noise=[], distinct=[])
    ok = table["supported"].to_numpy(bool)
    table["p_adjusted"] = benjamini_hochberg(np.where(ok, table["p_value"].to_numpy(float),
                                                      np.nan))[1]
    table["noise"] = ~(table["p_adjusted"] < 0.05)
    # the surprise is tested among the segments whose contribution is significant
    real = ~table["noise"].to_numpy(bool)
    table["surprise_p_adjusted"] = benjamini_hochberg(
        np.where(real, table["surprise_p"].to_numpy(float), np.nan))[1]
    way = np.sign(table["contribution"].to_numpy(float))
    table["distinct"] = ((table["surprise_p_adjusted"] < 0.05)
                         & (way * table["surprise"] >= MIN_SURPRISE * abs(change))
                         & (way * table["surprise"] > 0))
    return table


def _same_way(value: float, change: float) -> bool:
    return value * (1.0 if change >= 0 else -1.0) > 1e-12


class _Overlaps:
    """Counts of every pair of dimensions, to compare a segment with another.

    Everything is compared within the pair's frame (a scoped dimension's scope),
    from the pair's own cells and their sums per segment.
    """

    def __init__(self, pairs: dict[tuple[str, str], pd.DataFrame],
                 frames: dict[tuple[str, str], _Frame], change: float, kind: str) -> None:
        self.pairs, self.frames, self.change, self.kind = pairs, frames, change, kind
        self._margins: dict[tuple[str, str], list[pd.DataFrame]] = {}
        self._keys: dict[tuple[str, str], pd.DataFrame] = {}
        # a combination and a group: the cell of their overlap (counted apart, three
        # dimensions), the combination, the group within its frame, the frame
        self.triples: dict[tuple[str, str], tuple[pd.Series, pd.Series, pd.Series, _Frame]] = {}

    def split(self, pair: tuple[str, str]) -> pd.DataFrame:
        """A pair's cell keys split into its two dimensions' keys (columns 0 and 1)."""
        if pair not in self._keys:
            t = self.pairs[pair]
            parts = [k.partition(SEP) for k in t["key"]]
            self._keys[pair] = pd.DataFrame({0: [p[0] for p in parts],
                                             1: [p[2] for p in parts]}, index=t.index)
        return self._keys[pair]

    def comparable(self, a: pd.Series, b: pd.Series) -> bool:
        """Two segments of other dimensions, or a combination and a group counted apart."""
        if a["dimension"] == b["dimension"]:
            return False
        if SEP in a["dimension"] or SEP in b["dimension"]:
            return (_label(a), _label(b)) in self.triples or (_label(b), _label(a)) in self.triples
        return True

    def margins(self, pair: tuple[str, str]) -> list[pd.DataFrame]:
        """Per-segment sums of a pair's cells, for each of its two dimensions."""
        if pair not in self._margins:
            t, keys = self.pairs[pair], self.split(pair)
            self._margins[pair] = [t[_COUNTS].groupby(keys[i].to_numpy()).sum() for i in (0, 1)]
        return self._margins[pair]

    def find(self, a: pd.Series, b: pd.Series) -> tuple | None:
        """The cell of segments ``a`` and ``b``, their sums in its frame, and the frame.

        A group's cell and sums add up its members'."""
        if (_label(a), _label(b)) in self.triples:
            return self.triples[_label(a), _label(b)]
        if (_label(b), _label(a)) in self.triples:
            cell, mb, ma, f = self.triples[_label(b), _label(a)]
            return cell, ma, mb, f
        for pair, order in (((a["dimension"], b["dimension"]), (0, 1)),
                            ((b["dimension"], a["dimension"]), (1, 0))):
            if pair in self.pairs:
                t = self.pairs[pair]
                first, second = (a, b) if order == (0, 1) else (b, a)
                m = self.margins(pair)
                ka, kb = _members(a), _members(b)
                if len(ka) == 1 and len(kb) == 1:
                    row = t[t["key"] == first["key"] + SEP + second["key"]]
                    if row.empty:
                        return None
                    return (row.iloc[0], m[order[0]].loc[a["key"]], m[order[1]].loc[b["key"]],
                            self.frames[pair])
                keys = self.split(pair)
                k1, k2 = (ka, kb) if order == (0, 1) else (kb, ka)
                rows = t[keys[0].isin(k1).to_numpy() & keys[1].isin(k2).to_numpy()]
                if rows.empty:
                    return None
                return (rows[_COUNTS].sum(), m[order[0]].reindex(ka).fillna(0.0).sum(),
                        m[order[1]].reindex(kb).fillna(0.0).sum(), self.frames[pair])
        return None

    def moved_more(self, cell: pd.Series, outer: pd.Series, way: float) -> bool:
        """Did the overlap's rate move significantly more (in the ``way``) than the rest?"""
        rest = {k: outer[k] - cell[k] for k in ("x_0", "n_0", "x_1", "n_1")}
        if min(cell["n_0"], cell["n_1"], rest["n_0"], rest["n_1"]) <= 0:
            return False
        diff = ((cell["x_1"] / cell["n_1"] - cell["x_0"] / cell["n_0"])
                - (rest["x_1"] / rest["n_1"] - rest["x_0"] / rest["n_0"]))
        var = sum(float(_variance(np.float64(x[f"x_{p}"]), np.float64(x[f"n_{p}"]), self.kind))
                  / x[f"n_{p}"] ** 2 for x in (cell, rest) for p in (0, 1))
        if not _same_way(diff, way):
            return False
        return var == 0 or abs(diff) / np.sqrt(var) > Z95

    def _explained_by(self, s: pd.Series, d: pd.Series, cell: pd.Series, f: _Frame,
                      way: float) -> bool:
        """Does ``s`` stand out only through its overlap with ``d``?

        Take ``d``'s units out of the frame: what is left of ``s`` should then
        push the remaining change beyond its share by at least a quarter of its
        surprise, or ``s`` is explained by ``d``.
        """
        w_d = f.share(d)
        surprise = f.beyond(s)
        if not _same_way(surprise, way) or w_d >= 1:
            return False
        rest = f.without(d)
        if min(n for _, n in rest.totals.values()) <= 0:
            return False
        left = {c: s[c] - cell[c] for c in ("x_0", "n_0", "x_1", "n_1")}
        return way * rest.beyond(left) * (1 - w_d) < 0.25 * way * surprise

    def relation(self, s: pd.Series, d: pd.Series) -> str | None:
        """``"reflects"`` when ``s`` only reflects ``d``, ``"reflected"`` for the reverse.

        A shift of shares cannot come from a rate moving in another dimension
        (a new-buyer influx raises the rate of cash on delivery, whose buyers
        are more often new; cash on delivery's rate does not bring new
        buyers): a ``mix`` segment never reflects a ``rate`` one.
        """
        rel = self._relation(s, d)
        if rel == "reflects" and _shift_from_rate(s, d):
            return "reflected" if self._relation(d, s) == "reflects" else None
        if rel == "reflected" and _shift_from_rate(d, s):
            return "reflects" if self._relation(d, s) == "reflected" else None
        return rel

    def _relation(self, s: pd.Series, d: pd.Series) -> str | None:
        found = self.find(s, d)
        if found is None:
            return None
        cell, ms, md, f = found
        c, cs, cd = f.points(cell), f.points(ms), f.points(md)
        way = 1.0 if s["contribution"] >= 0 else -1.0  # the way s moved the rate
        if not _same_way(c, way):
            return None
        if f.scale != 1.0 and not all(  # within a scope: only if both mostly lie inside it
                _same_way(x["contribution"], way)
                and f.scale * inner / x["contribution"] >= THETA
                for x, inner in ((s, cs), (d, cd))):
            return None
        in_s = _same_way(cs, way) and c / cs >= THETA
        in_d = _same_way(cd, way) and c / cd >= THETA

        def within(inner: pd.Series) -> bool:
            shares = [cell[f"n_{p}"] / inner[f"n_{p}"] for p in (0, 1) if inner[f"n_{p}"] > 0]
            return bool(shares) and min(shares) >= WITHIN

        if in_s and in_d:
            if within(md):  # also when both are the same orders: keep the higher-ranked
                return "reflects"
            if within(ms):
                return "reflected"
            # one's shares moved, the other's rate: the rate moved with the shares
            if d["effect"] == "mix" and s["effect"] != "mix":
                return "reflects"
            if s["effect"] == "mix" and d["effect"] != "mix":
                return "reflected"
            return None  # a combination of the two: see the combination search
        if in_s and not self.moved_more(cell, md, way):
            return "reflects"
        if self._explained_by(ms, md, cell, f, way):
            return "reflects"
        if in_d and not self.moved_more(cell, ms, way):
            return "reflected"
        return None


def _shift_from_rate(s: pd.Series, d: pd.Series) -> bool:
    """Would ``s`` reflecting ``d`` mean a shift of shares caused by a rate?"""
    return s["effect"] == "mix" and d["effect"] == "rate"


def _rest_moved(f: _Frame, margin: pd.DataFrame, cells: pd.DataFrame, sign: np.ndarray,
                kind: str) -> np.ndarray:
    """Did the rest of each cell's segment (the segment without the cell) push the rate
    significantly the cell's way, beyond its share of what the rest of the market did?
    If not, the cell holds all of the segment's effect that is more than noise."""
    cols = ["x_0", "n_0", "x_1", "n_1"]
    rest = margin[cols].to_numpy(float) - cells[cols].to_numpy(float)
    rest = pd.DataFrame(np.clip(rest, 0, None), columns=cols)
    var = sum(_period_variance(rest[f"x_{p}"], rest[f"n_{p}"], f.totals[k][1], f.centre, kind)
              for p, k in ((0, "baseline"), (1, "current")))
    cell = cells[cols].reset_index(drop=True)
    beyond = f.points(rest) - f.share(rest) * (f.change - f.points(cell))
    return beyond.to_numpy(float) * sign > Z95 * np.sqrt(var)


def _at_keys(table: pd.DataFrame, keys: pd.Series) -> pd.DataFrame:
    """``table.loc[keys]`` (every key present), by position: faster on text keys."""
    at = table.index.get_indexer(keys.to_numpy())
    if (at < 0).any():
        raise KeyError(f"{keys[at < 0].iloc[0]!r} is not a segment of the margins")
    return table.iloc[at]


def _combinations(overlaps: _Overlaps, change: float) -> pd.DataFrame:
    """Two-dimension cells that hold most of both their segments' contributions."""
    found = []
    for (a, b), t in overlaps.pairs.items():
        if t.empty:
            continue
        f = overlaps.frames[a, b]
        keys = overlaps.split((a, b))
        ma, mb = (_at_keys(m, keys[i]) for i, m in enumerate(overlaps.margins((a, b))))
        sign = np.sign(t["contribution"].to_numpy(float))  # each cell in its own way
        ca, cb = (f.scale * f.points(m).to_numpy() * sign for m in (ma, mb))
        cells = t[["n_0", "n_1"]].to_numpy()
        c = t["contribution"].to_numpy() * sign
        with np.errstate(divide="ignore", invalid="ignore"):
            inside = [np.nanmin(np.where(m[["n_0", "n_1"]].to_numpy() > 0,
                                         cells / m[["n_0", "n_1"]].to_numpy(), np.inf), axis=1)
                      for m in (ma, mb)]
        still = [~_rest_moved(f, m, t, sign, overlaps.kind) for m in (ma, mb)]
        holds = [(c >= THETA * cp) | rest for cp, rest in zip((ca, cb), still, strict=True)]
        # and it is more surprising than either segment (it explains more, not less),
        # unless the rest of that segment stayed within noise or the cell's rate moved
        # significantly more than the rest's (a diluted part moves like the rest)
        cols = ["x_0", "n_0", "x_1", "n_1"]
        cell = t[cols].reset_index(drop=True)
        mine = f.beyond(cell).to_numpy(float) * sign
        sharper = [(mine >= f.beyond(m[cols].reset_index(drop=True)).to_numpy(float) * sign)
                   | rest for m, rest in zip((ma, mb), still, strict=True)]
        ok = ((c > 1e-12) & (sign * change > 0)  # a combination goes the change's way
              & (ca >= PARENT * c) & (cb >= PARENT * c) & holds[0] & holds[1]
              & (inside[0] < WITHIN) & (inside[1] < WITHIN)
              & ~t["noise"].to_numpy(bool) & t["distinct"].to_numpy(bool)
              & (t["rate_effect"].to_numpy(float) * sign > t["mix_effect"].abs().to_numpy()))
        for i in np.flatnonzero(ok & ~(sharper[0] & sharper[1])):
            ok[i] = all(sharp[i] or overlaps.moved_more(t.iloc[i], m.iloc[i], sign[i])
                        for sharp, m in zip(sharper, (ma, mb), strict=True))
        if ok.any():
            hit = t[ok].copy()
            hit["dimension"] = a + SEP + b
            hit["parents"] = [((a, x), (b, y)) for x, y in zip(keys[0][ok], keys[1][ok],
                                                               strict=True)]
            found.append(hit)
    if not found:
        return pd.DataFrame()
    # combinations sharing a segment compete: the most surprising one explains it
    combos = pd.concat(found, ignore_index=True)
    combos = combos.reindex(combos["surprise"].abs().sort_values(ascending=False,
                                                                 kind="stable").index)
    taken: set[tuple[str, str]] = set()
    keep = []
    for i, parents in combos["parents"].items():
        if not taken & set(parents):
            keep.append(i)
            taken |= set(parents)
    return combos.loc[keep].reset_index(drop=True)


def _label(row: pd.Series) -> str:
    return f"{row['dimension']}={row['key']}"


def _members(row: pd.Series) -> list[str]:
    """A group's members, or the segment's own key."""
    members = row.get("members")
    return list(members) if isinstance(members, (list, tuple)) else [row["key"]]


def _groups(segments: pd.DataFrame,
            counted: dict[str, tuple[dict[str, pd.DataFrame], _Frame]], kind: str,
            change: float) -> pd.DataFrame:
    """The drivers of each grouped dimension taken together, where there are two or more.

    The members are the dimension's segments that drive the change its way (supported,
    significant and distinct); the group is decomposed as one segment of the
    dimension with its members merged, so its contribution is theirs summed and
    its interval comes from its own counts. ``counted``: per dimension, its counts
    per period (``baseline``, ``current``) and the frame they are in.
    """
    found = []
    for d in dict.fromkeys(segments["dimension"]):
        if d not in DIMENSIONS or not DIMENSIONS[d].grouped:
            continue
        mine = segments[(segments["dimension"] == d) & segments["supported"].astype(bool)
                        & ~segments["noise"].astype(bool) & segments["distinct"].astype(bool)
                        & ~segments["key"].isin((OUTSIDE, UNKNOWN))]
        mine = mine[[_same_way(v, change) for v in mine["contribution"]]]
        if len(mine) < 2:
            continue
        members = [str(k) for k in mine.sort_values(
            "contribution", key=abs, ascending=False, kind="stable")["key"]]
        key = GROUP_SEP.join(members)
        periods, frame = counted[d]
        merged = [t.assign(key=t["key"].where(~t["key"].isin(members), key)).groupby(
            "key", as_index=False, sort=False)[["x", "n"]].sum()
            for t in (periods["baseline"], periods["current"])]
        row = _table(*merged, frame, kind).query("key == @key").assign(dimension=d)
        way = 1.0 if change >= 0 else -1.0
        # its members passed the tests of their family; the group is tested on its own
        row["p_adjusted"], row["surprise_p_adjusted"] = row["p_value"], row["surprise_p"]
        row["noise"] = ~(row["p_value"] < 0.05)
        row["distinct"] = ((row["surprise_p"] < 0.05) & (way * row["surprise"] > 0)
                           & (way * row["surprise"] >= MIN_SURPRISE * abs(change)))
        row["members"] = [members]
        found.append(row)
    return pd.concat(found, ignore_index=True) if found else pd.DataFrame()


def _count_triples(overlaps: _Overlaps, combos: pd.DataFrame, groups: pd.DataFrame,
                   count: Any, frame_of: Any) -> None:
    """Count each combination's units inside each group, so the two can be compared.

    ``count(frame, dimension, members, pairs)`` returns, per period, the counts of a
    group's units in a frame per cell of each pair (``()`` first: the group in the frame).
    """
    if combos.empty or groups.empty:
        return
    pairs = list(dict.fromkeys(tuple(d.split(SEP)) for d in combos["dimension"]))
    for _, g in groups.iterrows():
        for frame in dict.fromkeys(frame_of(p) for p in pairs):
            mine = [p for p in pairs if frame_of(p) == frame]
            counts = count(frame, g["dimension"], g["members"], mine)
            inside = _cells(counts, ())
            for _, c in combos[combos["dimension"].isin([SEP.join(p) for p in mine])].iterrows():
                cells = _cells(counts, tuple(c["dimension"].split(SEP)))
                cell = (cells.loc[c["key"]] if c["key"] in cells.index
                        else pd.Series(0.0, index=_COUNTS))
                overlaps.triples[_label(c), _label(g)] = (
                    cell, c[_COUNTS].astype(float), inside.iloc[0] if len(inside) else
                    pd.Series(0.0, index=_COUNTS), overlaps.frames[tuple(c["dimension"].split(SEP))])


def _cells(counts: dict[str, dict[tuple[str, ...], pd.DataFrame]], group: tuple[str, ...]
           ) -> pd.DataFrame:
    """One group of dimensions' counts of both periods side by side, indexed by key."""
    t = counts["baseline"][group].merge(counts["current"][group], on="key", how="outer",
                                        suffixes=("_0", "_1")).fillna(0.0)
    return t.set_index("key")[_COUNTS]


def _prune(one: pd.DataFrame, combos: pd.DataFrame, groups: pd.DataFrame,
           overlaps: _Overlaps, change: float, candidates: int = 40) -> pd.DataFrame:
    """The drivers: supported segments pushing the change beyond their share, without
    redundant ones, ranked by |contribution|.

    Fills ``one["redundant_with"]`` for the segments left out. Only the
    ``candidates`` most surprising are compared with each other (pairwise checks).
    """
    redundant: dict[tuple[str, str], str] = {}
    # a combination holds its segments' rates; a segment whose share moved keeps its own
    shifted = set(zip(one["dimension"][one["effect"] == "mix"], one["key"][one["effect"] == "mix"],
                      strict=True))
    for _, combo in combos.iterrows() if not combos.empty else ():
        for parent in combo["parents"]:
            if parent not in shifted:
                redundant.setdefault(parent, _label(combo))
    way = np.where(one["contribution"].to_numpy(float) >= 0, 1.0, -1.0)  # as _same_way
    ok = (one["supported"].to_numpy(bool) & (one["key"] != OUTSIDE).to_numpy(bool)
          & (one["surprise"].to_numpy(float) * way > 1e-12))
    rows = [r for _, r in one[ok].iterrows()]
    redundant.update(_other_side(rows))
    if not combos.empty:
        rows += [r for _, r in combos.drop(columns="parents").iterrows()]
    for _, g in groups.iterrows() if not groups.empty else ():
        rows.append(g)
        for m in g["members"]:  # the group holds its members' contributions
            redundant.setdefault((g["dimension"], m), _label(g))
    rows.sort(key=lambda r: (r["noise"] or not r["distinct"], -abs(r["surprise"]),
                             r["dimension"], r["key"]))
    kept: list[pd.Series] = []
    for r in rows[:candidates]:
        me = (r["dimension"], r["key"])
        if me not in redundant:
            # only a real driver of another dimension can explain a segment away
            # (a combination only a group counted apart, or the reverse)
            for d in [d for d in kept if overlaps.comparable(r, d)
                      and not d["noise"] and d["distinct"]
                      and (d["dimension"], d["key"]) not in redundant]:
                rel = overlaps.relation(r, d)
                if rel == "reflects":
                    redundant[me] = _label(d)
                    break
                if rel == "reflected" and not r["noise"] and r["distinct"]:
                    redundant[d["dimension"], d["key"]] = _label(r)
        if me not in redundant:
            kept.append(r)
    kept += rows[candidates:]
    kept = [r for r in kept if (r["dimension"], r["key"]) not in redundant]
    one["redundant_with"] = [redundant.get((d, k)) for d, k in zip(
        one["dimension"], one["key"], strict=True)]
    drivers = pd.DataFrame(kept).reset_index(drop=True) if kept else one.iloc[0:0].copy()
    if not drivers.empty:
        drivers = drivers.reindex(drivers["contribution"].abs().sort_values(
            ascending=False, kind="stable").index)
    drivers = drivers.reset_index(drop=True)
    significant, distinct = ~drivers["noise"].astype(bool), drivers["distinct"].astype(bool)
    drivers["follows_market"] = significant & ~distinct
    drivers["against_change"] = drivers["contribution"].to_numpy(float) * change < 0
    drivers["noise"] = ~(significant & distinct)
    drivers["redundant_with"] = None
    return drivers


def _other_side(rows: list[pd.Series]) -> dict[tuple[str, str], str]:
    """A share shift has two sides: when cash on delivery grows, card shrinks. A
    shrinking segment's mix effect is the other side of a growing segment's of
    the same dimension pushing the same way, which names the shift."""
    real = [r for r in rows if r["effect"] == "mix" and not r["noise"] and r["distinct"]]
    out = {}
    for r in real:
        if r["current_share"] >= r["baseline_share"]:
            continue
        growing = [g for g in real if g["dimension"] == r["dimension"]
                   and g["current_share"] > g["baseline_share"]
                   and _same_way(g["contribution"], r["contribution"])]
        if growing:
            top = max(growing, key=lambda g: abs(g["contribution"]))
            out[r["dimension"], r["key"]] = _label(top)
    return out


def _plan(source: Any, market: str, metric: str, baseline_start: Any,
          dimensions: tuple[str, ...]) -> tuple[list[dict[str, Any]], int | None]:
    """Each dimension's scope, null policy and status (used or left out, why)."""
    spec = EXPLAINABLE[metric]
    lookback = None
    plan = []
    for name in dimensions:
        dim = DIMENSIONS.get(name)
        row: dict[str, Any] = {"dimension": name, "scope": "all units", "nulls": "unknown",
                               "used": True, "reason": None}
        if name in CONTACT_DIMENSIONS and spec.unit != "contacts":
            row["used"], row["reason"] = False, f"{name} describes contacts, not {spec.unit}"
        elif name in JOURNEY_DIMENSIONS and spec.unit == "requests":
            row["used"], row["reason"] = False, "the requests' outcome is what is measured"
        elif spec.unit == "contacts" and name in ("buyer_segment", "carrier", *CANCEL_DIMENSIONS):
            row["used"], row["reason"] = False, f"{name} is not set on contacts"
        elif dim is not None:
            row["scope"], row["nulls"] = dim.scope or f"all {spec.unit}", dim.nulls
            if not dim.applies_to(spec.stages):
                row["used"] = False
                row["reason"] = (f"{name} is set at hand-over and every {metric} event "
                                 "happens before it")
        if name == "buyer_segment" and row["used"]:
            lookback, why = segment_window(first_order(source, market), baseline_start,
                                           LOOKBACK_DAYS)
            row["reason"], row["used"] = why, lookback is not None
            row["window_days"] = lookback
            row["shortened"] = lookback is not None and lookback < LOOKBACK_DAYS
        plan.append(row)
    return plan, lookback


def _scope_column(name: str) -> str:
    return f"_in_{name}"


def _maturity(source: Any, market: str, metric: str, baseline: Any, current: Any,
              maturity: Maturity | None, same_age: bool) -> dict[str, Any]:
    """The metric's maturity in the current period and the moment its baseline is
    measured at (``baseline_as_of``: None for a naive comparison)."""
    maturity = maturity or Maturity()
    days = maturity.days(metric)
    as_of = source.data_end()
    share = mature_share(source, market, current.start, current.end, days,
                         maturity.unit(metric)) if days else 1.0
    aged_at = None
    if same_age and as_of is not None and share is not None and share < 1:
        aged_at = same_age_as_of(as_of, current.end, baseline.end)
        aged_at = aged_at if aged_at < as_of else None
    return {"as_of": None if as_of is None else f"{as_of:%Y-%m-%d}", "window_days": days,
            "mature_share": share, "same_age": aged_at is not None,
            "baseline_as_of": None if aged_at is None else moment(aged_at)}


def explain(source: Any, market: str, metric: str, baseline: tuple[Any, Any],
            current: tuple[Any, Any], dimensions: tuple[str, ...] | None = None,
            top: int = 20, combinations: bool = True, maturity: Maturity | None = None,
            same_age: bool = True) -> dict[str, Any]:
    """Decompose the change of ``metric`` in ``market`` between two periods.

    Returns the overall values and change; ``drivers_table``: the drivers
    (segments and two-dimension combinations pushing the change, redundant
    ones pruned) ranked by absolute contribution, each with its dimension, key,
    contribution, share of the change, effect (rate, mix, both), shares and
    values in both periods, interval and noise flag; ``all_segments``: every
    segment of every dimension (contributions add up to the change within a
    dimension), with ``redundant_with`` for pruned ones; ``breakdown_table``
    for cancel reason and stage; ``combinations_table``; ``dimensions``: each
    dimension's scope, null policy, and whether it was used (with the reason
    when not, or the buyer-history window); ``maturity``: the metric's window,
    the current period's mature share at the data's end (``as_of``) and,
    when it is below 1 and ``same_age`` holds, the moment the baseline was
    measured at (``baseline_as_of``, see
    :func:`shopcx.metrics.compare.compare_periods`).
    """
    if metric not in EXPLAINABLE:
        raise InputError(f"metric {metric!r} cannot be explained; choose one of "
                         f"{', '.join(EXPLAINABLE)}")
    source = load_source(source)
    spec = EXPLAINABLE[metric]
    b, c = parse_period(*baseline), parse_period(*current)
    plan, lookback = _plan(source, market, metric, b.start,
                           tuple(dimensions or spec.dimensions))
    dims = tuple(p["dimension"] for p in plan if p["used"])
    scoped = {d: DIMENSIONS[d] for d in dims if d in DIMENSIONS and DIMENSIONS[d].scope}
    what = CANCEL_DIMENSIONS if dimensions is None and metric.startswith(
        ("cancellation_rate", "cancel_exit", "seller_fault")) else ()
    # the journey says how escalations came about, not who or where: a breakdown
    what += tuple(d for d in dims if d in JOURNEY_DIMENSIONS)
    dims = tuple(d for d in dims if d not in JOURNEY_DIMENSIONS)
    cols = dims + what
    pairs_wanted = [(a, bdim) for i, a in enumerate(dims) for bdim in dims[i + 1:]
                    if not (a in scoped and bdim in scoped)] if combinations else []
    with ExitStack() as stack:
        return _explain(source, market, metric, spec, b, c, plan, cols, what, dims, scoped,
                        pairs_wanted, lookback, maturity, same_age, top, stack)


def _explain(source: Any, market: str, metric: str, spec: _Metric, b: Any, c: Any,
             plan: list[dict[str, Any]], cols: tuple[str, ...], what: tuple[str, ...],
             dims: tuple[str, ...], scoped: dict[str, Dimension],
             pairs_wanted: list[tuple[str, str]], lookback: int | None,
             maturity: Maturity | None, same_age: bool, top: int,
             stack: ExitStack) -> dict[str, Any]:
    """:func:`explain` once its dimensions are planned; ``stack`` holds each period's
    units in the engine while the drivers are compared."""
    kind = spec.kind
    # groups per frame: all units, and each scoped dimension's units
    frame_groups: dict[str | None, list[tuple[str, ...]]] = {
        None: [(), *((d,) for d in cols if d not in scoped),
               *(p for p in pairs_wanted if not set(p) & set(scoped))]}
    for name in scoped:
        frame_groups[name] = [(), (name,), *(p for p in pairs_wanted if name in p)]
    counted: dict[str, dict[tuple[str | None, tuple[str, ...]], pd.DataFrame]] = {}
    cached: dict[str, tuple[Any, Any]] = {}
    matured = _maturity(source, market, metric, b, c, maturity, same_age)
    aged = source.at(matured["baseline_as_of"]) if matured["same_age"] else source
    for period, p in (("baseline", b), ("current", c)):
        src = aged if period == "baseline" else source
        units = _units(src, metric, market, p.start, p.end, lookback,
                       "request_outcome" in cols)
        units = units.mutate(**{_scope_column(n): d.in_scope(units, spec.unit)
                                for n, d in scoped.items()})
        units = units.select(*cols, "_flag", *(_scope_column(n) for n in scoped))
        counted[period] = {}
        u = stack.enter_context(src.cached(units))
        cached[period] = (src, u)
        for frame, groups in frame_groups.items():
            rows = u if frame is None else u.filter(u[_scope_column(frame)])
            for g, t in zip(groups, _counts(src, rows, groups), strict=True):
                counted[period][frame, g] = t

    def totals(frame: str | None) -> dict[str, tuple[float, float]]:
        return {k: (float(v[frame, ()]["x"].sum()), float(v[frame, ()]["n"].sum()))
                for k, v in counted.items()}

    everything = _Frame(totals(None))
    (_, n0), (_, n1) = everything.totals["baseline"], everything.totals["current"]
    frames: dict[str | None, _Frame] = {None: everything}
    for name in scoped:
        t = totals(name)
        share = ((t["baseline"][1] / n0 if n0 else 0.0) + (t["current"][1] / n1 if n1 else 0.0)) / 2
        frames[name] = _Frame(t, scale=share)
    values = {k: (x / n if n else None) for k, (x, n) in everything.totals.items()}
    change = (None if values["baseline"] is None or values["current"] is None
              else values["current"] - values["baseline"])
    delta = change or 0.0

    def frame_of(group: tuple[str, ...]) -> str | None:
        return next((d for d in group if d in scoped), None)

    parts = []
    for d in cols:
        f = frame_of((d,))
        part = _table(counted["baseline"][f, (d,)], counted["current"][f, (d,)], frames[f],
                      kind, centred=d not in what).assign(dimension=d)
        if f is not None:
            inside = float(part["contribution"].sum())
            part = pd.concat([part, _outside(frames[f], everything, delta - inside, d)],
                             ignore_index=True)
        parts.append(part)
    table = _adjust(pd.concat(parts, ignore_index=True), delta)
    table["share_of_change"] = table["contribution"] / change if change else np.nan
    pairs = {g: _adjust(_table(counted["baseline"][frame_of(g), g],
                               counted["current"][frame_of(g), g], frames[frame_of(g)], kind),
                        delta) for g in pairs_wanted}
    if pairs:  # one family for all cells: Benjamini-Hochberg across every pair
        cells = _adjust(pd.concat([t.assign(_pair=i) for i, t in enumerate(pairs.values())],
                                  ignore_index=True), delta)
        pairs = {k: cells[cells["_pair"] == i].drop(columns="_pair").reset_index(drop=True)
                 for i, k in enumerate(pairs)}
    overlaps = _Overlaps(pairs, {g: frames[frame_of(g)] for g in pairs}, delta, kind)
    is_what = table["dimension"].isin(what)
    segments = table[~is_what].reset_index(drop=True)
    combos = _combinations(overlaps, delta) if pairs else pd.DataFrame()
    groups = _groups(segments, {d: ({k: counted[k][frame_of((d,)), (d,)] for k in counted},
                                    frames[frame_of((d,))]) for d in dims}, kind, delta)
    for t in (combos, groups):
        if not t.empty:
            t["share_of_change"] = t["contribution"] / change if change else np.nan

    def count(frame: str | None, dimension: str, members: list[str],
              groups: list[tuple[str, ...]]) -> dict[str, dict[tuple[str, ...], pd.DataFrame]]:
        out = {}
        for period, (src, u) in cached.items():
            rows = u.filter(u[dimension].isin(members))
            rows = rows if frame is None else rows.filter(rows[_scope_column(frame)])
            out[period] = dict(zip([(), *groups], _counts(src, rows, [(), *groups]),
                                   strict=True))
        return out

    _count_triples(overlaps, combos, groups, count, frame_of)
    drivers = _prune(segments, combos, groups, overlaps, delta)
    breakdown = table[is_what & (table["key"] != UNKNOWN)]  # (unknown): not cancelled
    breakdown = breakdown.reindex(breakdown["contribution"].abs().sort_values(
        ascending=False, kind="stable").index).reset_index(drop=True)
    for p in plan:
        if p["dimension"] in frames:
            f = frames[p["dimension"]]
            p["share_in_scope"] = [f.totals[k][1] / n if n else None
                                   for k, n in (("baseline", n0), ("current", n1))]
            mine = table[(table["dimension"] == p["dimension"]) & (table["key"] != OUTSIDE)]
            p["explained"] = float(mine["contribution"].sum())
    if spec.scale != 1.0:  # per 1,000 orders: values and contributions in that unit
        values = {k: None if v is None else v * spec.scale for k, v in values.items()}
        change = None if change is None else change * spec.scale
        segments, combos, drivers, breakdown, table = (
            _rescaled(t, spec.scale) for t in (segments, combos, drivers, breakdown, table))
        for p in plan:
            if "explained" in p:
                p["explained"] *= spec.scale
    return {"metric": metric, "market": market,
            "baseline": {"start": f"{b.start:%Y-%m-%d}", "end": f"{b.end:%Y-%m-%d}",
                         "value": values["baseline"]},
            "current": {"start": f"{c.start:%Y-%m-%d}", "end": f"{c.end:%Y-%m-%d}",
                        "value": values["current"]},
            "change": change, "drivers_table": drivers.head(top) if top else drivers,
            "breakdown_table": breakdown,
            "all_segments": pd.concat([segments, table[is_what]], ignore_index=True),
            "combinations_table": combos, "dimensions": plan, "maturity": matured,
            "min_support": {"units": MIN_UNITS, "events": MIN_EVENTS}}


_VALUES = (*_SCALED, "baseline_value", "current_value")


def _rescaled(table: pd.DataFrame, scale: float) -> pd.DataFrame:
    """A result table with its rates and contributions multiplied by ``scale``."""
    if table is None or table.empty:
        return table
    out = table.copy()
    cols = [c for c in _VALUES if c in out.columns]
    out[cols] = out[cols].astype(float) * scale
    return out


def _outside(scope: _Frame, everything: _Frame, rest_of_change: float,
             dimension: str) -> pd.DataFrame:
    """The row of a scoped dimension for the change outside its scope (never a driver)."""
    rest = {k: (everything.totals[k][0] - scope.totals[k][0],
                everything.totals[k][1] - scope.totals[k][1]) for k in everything.totals}
    row = {"key": OUTSIDE, "dimension": dimension,
           "contribution": rest_of_change,
           "baseline_orders": rest["baseline"][1], "current_orders": rest["current"][1],
           "x_0": rest["baseline"][0], "n_0": rest["baseline"][1],
           "x_1": rest["current"][0], "n_1": rest["current"][1],
           "supported": False, "p_value": np.nan, "surprise_p": np.nan, "surprise": 0.0,
           "effect": "both", "rate_effect": np.nan, "mix_effect": np.nan}
    for p, k in (("baseline", "baseline"), ("current", "current")):
        x, n = rest[k]
        total = everything.totals[k][1]
        row[f"{p}_value"] = x / n if n else np.nan
        row[f"{p}_share"] = n / total if total else 0.0
    row["ci_low"] = row["ci_high"] = np.nan
    return pd.DataFrame([row])


def explain_to_dict(result: dict[str, Any]) -> dict[str, Any]:
    """The JSON object of ``shopcx explain --format json`` (COMMANDS.md)."""
    def num(v: Any) -> Any:
        return None if v is None or (isinstance(v, float) and np.isnan(v)) else float(v)

    def rows(table: pd.DataFrame) -> list[dict[str, Any]]:
        out = []
        for r in table.to_dict("records"):
            row = {"dimension": r["dimension"], "key": r["key"],
                   "contribution": num(r["contribution"]),
                   "share_of_change": num(r["share_of_change"]), "effect": r["effect"],
                   "baseline_value": num(r["baseline_value"]),
                   "current_value": num(r["current_value"]),
                   "baseline_share": num(r["baseline_share"]),
                   "current_share": num(r["current_share"]),
                   "rate_effect": num(r["rate_effect"]), "mix_effect": num(r["mix_effect"]),
                   "ci_low": num(r["ci_low"]), "ci_high": num(r["ci_high"]),
                   "mix_ci_low": num(r.get("mix_ci_low")),
                   "mix_ci_high": num(r.get("mix_ci_high")),
                   "surprise": num(r["surprise"]), "noise": bool(r["noise"]),
                   "units": [num(r.get("n_0")), num(r.get("n_1"))],
                   "supported": bool(r.get("supported", True))}
            if isinstance(r.get("members"), (list, tuple)):
                row["members"] = [str(m) for m in r["members"]]
            if "follows_market" in r:
                row["follows_market"] = bool(r["follows_market"])
            if bool(r.get("against_change", False)):
                row["against_change"] = True
            if isinstance(r.get("redundant_with"), str):
                row["redundant_with"] = r["redundant_with"]
            if UNKNOWN in str(r["key"]).split(SEP):
                row["unknown"] = True
            if r["key"] == OUTSIDE:
                row["outside_scope"] = True
            out.append(row)
        return out

    return {"metric": result["metric"], "market": result["market"],
            "kind": EXPLAINABLE[result["metric"]].kind,
            "baseline": result["baseline"], "current": result["current"],
            "change": num(result["change"]), "maturity": result.get("maturity"),
            "drivers": rows(result["drivers_table"]),
            "breakdown": rows(result["breakdown_table"]),
            "segments": rows(result["all_segments"]),
            "dimensions": result["dimensions"], "min_support": result["min_support"]}
