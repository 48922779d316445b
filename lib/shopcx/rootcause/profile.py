"""The buyer-segment profile: how each buyer segment fared and its share of a change.

Buyer segments (new, cancel-prone, COD user, high value, regular) come from
each buyer's order history (:mod:`shopcx.metrics.segments`); this module sets
their KPIs now against the baseline and splits the change of the market's
cancellation rate among them with the rate/mix decomposition of
:func:`shopcx.rootcause.drivers.decompose`. The summary and root-cause
readouts show it.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from shopcx.cache import memoized
from shopcx.data.sources import load_source
from shopcx.metrics.kpis import compute_segment_kpis
from shopcx.metrics.segments import BUYER_SEGMENTS
from shopcx.rootcause.dimensions import first_order, segment_window
from shopcx.rootcause.drivers import decompose

__all__ = ["PROFILE_KPIS", "segment_profile"]

PROFILE_KPIS = ("cancellation_rate", "cancel_request_success_rate", "cpo", "csat_mean")
"""What :func:`segment_profile` shows per buyer segment."""


def segment_profile(source: Any, market: str, start: Any, end: Any, baseline_start: Any,
                    baseline_end: Any) -> pd.DataFrame:
    """Per buyer segment: orders, share, the :data:`PROFILE_KPIS` now and before, and
    the segment's contribution to the change of the cancellation rate.

    One row per segment of the current period, in :data:`BUYER_SEGMENTS` order:
    ``segment``, ``orders``, ``share``, for each KPI ``<kpi>`` and
    ``<kpi>_baseline``, and ``contribution`` (rate and mix effects together, see
    :func:`shopcx.rootcause.drivers.decompose`; they add up to the change of the
    market's cancellation rate) with ``effect``.
    """
    source = load_source(source)
    key = (market.upper(), str(start), str(end), str(baseline_start), str(baseline_end))
    # the summary and root-cause readouts share this result (see shopcx.cache)
    return memoized(source, "segment-profile", key, lambda: _segment_profile(
        source, market, start, end, baseline_start, baseline_end))


def _segment_profile(source: Any, market: str, start: Any, end: Any, baseline_start: Any,
                     baseline_end: Any) -> pd.DataFrame:
    window, why = segment_window(first_order(source, market),
                                 min(pd.Timestamp(baseline_start), pd.Timestamp(start)))
    if window is None:  # the labels would mean different things in the two periods
        return pd.DataFrame({"reason": pd.Series([], dtype=object)}).assign(note=why)
    now = compute_segment_kpis(source, market, start, end, "buyer_segment", window)
    before = compute_segment_kpis(source, market, baseline_start, baseline_end, "buyer_segment",
                                  window)
    rows = []
    for seg in BUYER_SEGMENTS:
        cur, base = now[now["segment"] == seg], before[before["segment"] == seg]
        if cur.empty:
            continue
        row: dict[str, Any] = {"segment": seg}
        cur, base = cur.set_index("kpi"), base.set_index("kpi")
        row["orders"] = int(cur.loc["orders", "value"])
        for k in PROFILE_KPIS:
            row[k] = cur.loc[k, "value"]
            row[f"{k}_baseline"] = base.loc[k, "value"] if k in base.index else float("nan")
        rows.append(row)
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    out["share"] = out["orders"] / out["orders"].sum()

    def counts(t: pd.DataFrame) -> pd.DataFrame:
        c = t[t["kpi"] == "cancellation_rate"]
        return pd.DataFrame({"key": c["segment"].astype(str),
                             "x": c["numerator"].astype(float),
                             "n": c["denominator"].astype(float)})

    d = decompose(counts(before), counts(now)).set_index("key")
    out["contribution"] = out["segment"].map(d["contribution"])
    out["effect"] = out["segment"].map(d["effect"])
    out["history_days"] = window
    out["history"] = why
    return out[["segment", "orders", "share"] + [c for c in out.columns if c not in (
        "segment", "orders", "share")]]
