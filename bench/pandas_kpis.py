"""A straightforward pandas implementation of the KPIs, the benchmark's baseline.

What an analyst would write without an engine: read the Parquet files with
pandas (the columns needed, every row), filter in pandas, merge and aggregate.
It computes the KPIs of the metric dictionary the same way as ``shopcx`` (the
benchmark checks that the values agree), so the comparison is like for like.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

CANCEL_CONTACT_REASONS = ("cancel_request", "cancel_status", "refund_status")
STAGES = ("unpaid", "awaiting_shipment", "in_transit", "delivered")


def _read(root: Path, name: str, columns: list[str]) -> pd.DataFrame:
    path = root / name if (root / name).is_dir() else root / f"{name}.parquet"
    frame = pd.read_parquet(path, columns=columns)
    for col in frame.columns:
        if isinstance(frame[col].dtype, pd.DatetimeTZDtype):
            frame[col] = frame[col].dt.tz_convert("UTC").dt.tz_localize(None)
    return frame


def kpis(root: str | Path, market: str, start: str, end: str) -> dict[str, float | None]:
    root = Path(root)
    t0, t1 = pd.Timestamp(start), pd.Timestamp(end)
    o = _read(root, "orders", ["order_id", "market", "gmv_usd", "created_at", "paid_at",
                               "shipped_at", "delivered_at"])
    o = o[(o["market"] == market) & (o["created_at"] >= t0) & (o["created_at"] < t1)]
    c = _read(root, "cancellations", ["request_id", "order_id", "initiator", "reason",
                                      "requested_at", "outcome", "resolved_at",
                                      "auto_resolved"])
    c = c.merge(o[["order_id", "paid_at", "shipped_at", "delivered_at"]], on="order_id")
    rq = c["requested_at"]
    c["stage"] = np.select(
        [c["paid_at"].isna() | (rq < c["paid_at"]),
         c["shipped_at"].isna() | (rq < c["shipped_at"]),
         c["delivered_at"].isna() | (rq < c["delivered_at"])],
        ["unpaid", "awaiting_shipment", "in_transit"], "delivered")
    c["hours"] = (c["resolved_at"] - rq).dt.total_seconds() / 3600
    first = (c[c["outcome"] == "approved"].sort_values(["requested_at", "request_id"])
             .drop_duplicates("order_id"))
    f = o.merge(first[["order_id", "initiator", "reason", "stage"]], on="order_id", how="left")
    f["cancelled"] = f["initiator"].notna()
    f["seller_fault"] = (f["initiator"] == "seller") | (
        (f["initiator"] == "system") & (f["reason"] == "ship_deadline_missed"))
    r = c[c["initiator"] == "buyer"]
    per_order = r.groupby("order_id").size()
    resolved = r["outcome"].isin(["approved", "rejected"])
    n = len(f)

    def rate(a: float, b: float) -> float | None:
        return a / b if b else None

    out: dict[str, float | None] = {
        "orders": float(n), "gmv_usd": float(f["gmv_usd"].sum()),
        "paid_rate": rate(f["paid_at"].notna().sum(), n),
        "shipped_rate": rate(f["shipped_at"].notna().sum(), n),
        "delivered_rate": rate(f["delivered_at"].notna().sum(), n),
        "cancellation_rate": rate(f["cancelled"].sum(), n),
        "seller_fault_cancellation_rate": rate(f["seller_fault"].sum(), n),
        "buyer_cancel_requests": float(len(r)),
        "cancel_request_success_rate": rate((r["outcome"] == "approved").sum(), resolved.sum()),
        "cancel_withdrawal_rate": rate((r["outcome"] == "withdrawn").sum(), len(r)),
        "cancel_pending": float((r["outcome"] == "pending").sum()),
        "median_hours_to_resolve": (float(r.loc[resolved, "hours"].quantile(0.5))
                                    if resolved.any() else None),
        "p90_hours_to_resolve": (float(r.loc[resolved, "hours"].quantile(0.9))
                                 if resolved.any() else None),
        "auto_resolved_share": rate((resolved & r["auto_resolved"]).sum(), resolved.sum()),
        "repeat_request_rate": rate((per_order >= 2).sum(), (per_order >= 1).sum()),
    }
    for i in ("buyer", "seller", "system", "platform"):
        out[f"cancellation_rate_{i}"] = rate((f["initiator"] == i).sum(), n)
    for s in STAGES:
        out[f"cancel_exit_{s}"] = rate((f["stage"] == s).sum(), n)
        at = r["stage"] == s
        out[f"cancel_request_success_rate_{s}"] = rate(
            (at & (r["outcome"] == "approved")).sum(), (at & resolved).sum())
    allc = _read(root, "contacts", ["contact_id", "market", "order_id", "created_at", "channel",
                                    "reason", "handle_time_s", "escalated", "csat"])
    k = allc[(allc["market"] == market) & (allc["created_at"] >= t0)
             & (allc["created_at"] < t1)]
    # repeat: another contact on the same order within (0, 168 h]
    pairs = k[k["order_id"].notna()][["contact_id", "order_id", "created_at"]].merge(
        allc[allc["order_id"].notna()][["order_id", "created_at"]], on="order_id",
        suffixes=("", "_next"))
    gap = pairs["created_at_next"] - pairs["created_at"]
    repeat = pairs.loc[(gap > pd.Timedelta(0)) & (gap <= pd.Timedelta(hours=168)),
                       "contact_id"].nunique()
    with_order = k["order_id"].notna().sum()
    csat = k["csat"].dropna()
    cancel_contacts = allc[allc["reason"].isin(CANCEL_CONTACT_REASONS)
                           & allc["order_id"].isin(f.loc[f["cancelled"], "order_id"])]
    out.update({
        "contacts": float(len(k)), "cpo": rate(len(k), n),
        "cancel_cpo": rate(k["reason"].isin(CANCEL_CONTACT_REASONS).sum(), n),
        "contacts_per_cancelled_order": rate(len(cancel_contacts), f["cancelled"].sum()),
        "repeat_contact_rate": rate(repeat, with_order),
        "escalation_rate": rate(k["escalated"].sum(), len(k)),
        "bot_contact_share": rate((k["channel"] == "bot").sum(), len(k)),
        "mean_handle_minutes": (float((k["handle_time_s"] / 60).mean())
                                if k["handle_time_s"].notna().any() else None),
        "csat_mean": float(csat.mean()) if len(csat) else None,
        "csat_response_rate": rate(len(csat), len(k)),
        "csat_satisfied_share": rate((csat >= 4).sum(), len(csat)),
    })
    fb = _read(root, "feedback", ["market", "created_at", "rating"])
    fb = fb[(fb["market"] == market) & (fb["created_at"] >= t0) & (fb["created_at"] < t1)]
    rated = fb["rating"].dropna()
    out.update({"feedback": float(len(fb)),
                "feedback_mean_rating": float(rated.mean()) if len(rated) else None,
                "feedback_negative_share": rate((rated <= 2).sum(), len(rated))})
    return out


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(kpis(*sys.argv[1:5])))
