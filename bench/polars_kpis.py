"""The KPIs in Polars: the peer an analyst would pick today, for the benchmark.

What a competent analyst would write with Polars' lazy API: scan the Parquet
files, filter by market and period, join and aggregate, collect once per
table. It computes every KPI of the metric dictionary the way ``shopcx``
defines them (``bench/bench.py`` checks that the values agree), so the
comparison is like for like. Polars is a benchmark-only dependency (the
``bench`` extra); nothing in ``shopcx`` imports it.

Run alone (``python bench/polars_kpis.py DATA MARKET START END``) it prints
the KPIs as JSON: that is the whole process the benchmark times against
``shopcx kpis --format json``.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path

import polars as pl

CANCEL_CONTACT_REASONS = ["cancel_request", "cancel_status", "refund_status"]
STAGES = ("unpaid", "awaiting_shipment", "in_transit", "delivered")
INITIATORS = ("buyer", "seller", "system", "platform")


def _scan(root: Path, name: str) -> pl.LazyFrame:
    path = root / name
    frame = pl.scan_parquet(str(path / "**" / "*.parquet") if path.is_dir()
                            else str(root / f"{name}.parquet"), hive_partitioning=True)
    # timestamps compared as naive UTC, like shopcx
    schema = frame.collect_schema()
    return frame.with_columns([pl.col(c).dt.replace_time_zone(None)
                               for c, t in schema.items()
                               if isinstance(t, pl.Datetime) and t.time_zone is not None])


def _rate(a: float, b: float) -> float | None:
    return float(a) / float(b) if b else None


def kpis(root: str | Path, market: str, start: str, end: str) -> dict[str, float | None]:
    root = Path(root)
    t0, t1 = datetime.fromisoformat(start), datetime.fromisoformat(end)
    in_period = (pl.col("market") == market) & pl.col("created_at").is_between(
        t0, t1, closed="left")
    o = _scan(root, "orders").filter(in_period).select(
        "order_id", "gmv_usd", "created_at", "paid_at", "shipped_at", "delivered_at")
    c = (_scan(root, "cancellations")
         .select("request_id", "order_id", "initiator", "reason", "requested_at", "outcome",
                 "resolved_at", "auto_resolved")
         .join(o.select("order_id", "paid_at", "shipped_at", "delivered_at"), on="order_id")
         .with_columns(
             stage=pl.when(pl.col("paid_at").is_null()
                           | (pl.col("requested_at") < pl.col("paid_at"))).then(pl.lit("unpaid"))
             .when(pl.col("shipped_at").is_null()
                   | (pl.col("requested_at") < pl.col("shipped_at")))
             .then(pl.lit("awaiting_shipment"))
             .when(pl.col("delivered_at").is_null()
                   | (pl.col("requested_at") < pl.col("delivered_at")))
             .then(pl.lit("in_transit")).otherwise(pl.lit("delivered")),
             hours=(pl.col("resolved_at") - pl.col("requested_at")).dt.total_microseconds() / 3.6e9,
         )).collect()
    # the order's cancellation: its first approved request
    first = (c.filter(pl.col("outcome") == "approved").sort(["requested_at", "request_id"])
             .unique("order_id", keep="first").select("order_id", "initiator", "reason", "stage"))
    f = o.collect().join(first, on="order_id", how="left").with_columns(
        cancelled=pl.col("initiator").is_not_null(),
        seller_fault=(pl.col("initiator") == "seller")
        | ((pl.col("initiator") == "system") & (pl.col("reason") == "ship_deadline_missed")))
    r = c.filter(pl.col("initiator") == "buyer")
    resolved = pl.col("outcome").is_in(["approved", "rejected"])
    per_order = r.group_by("order_id").len()
    n = f.height
    of = f.select(
        gmv=pl.col("gmv_usd").sum(), paid=pl.col("paid_at").is_not_null().sum(),
        shipped=pl.col("shipped_at").is_not_null().sum(),
        delivered=pl.col("delivered_at").is_not_null().sum(),
        cancelled=pl.col("cancelled").sum(), fault=pl.col("seller_fault").fill_null(False).sum(),
        **{f"i_{i}": (pl.col("initiator") == i).sum() for i in INITIATORS},
        **{f"s_{s}": (pl.col("stage") == s).sum() for s in STAGES}).row(0, named=True)
    rf = r.select(
        n=pl.len(), approved=(pl.col("outcome") == "approved").sum(), resolved=resolved.sum(),
        withdrawn=(pl.col("outcome") == "withdrawn").sum(),
        pending=(pl.col("outcome") == "pending").sum(),
        auto=(resolved & pl.col("auto_resolved")).sum(),
        median=pl.col("hours").filter(resolved).quantile(0.5, interpolation="linear"),
        p90=pl.col("hours").filter(resolved).quantile(0.9, interpolation="linear"),
        **{f"a_{s}": ((pl.col("stage") == s) & (pl.col("outcome") == "approved")).sum()
           for s in STAGES},
        **{f"r_{s}": ((pl.col("stage") == s) & resolved).sum() for s in STAGES},
    ).row(0, named=True)
    out: dict[str, float | None] = {
        "orders": float(n), "gmv_usd": float(of["gmv"] or 0.0),
        "paid_rate": _rate(of["paid"], n), "shipped_rate": _rate(of["shipped"], n),
        "delivered_rate": _rate(of["delivered"], n),
        "cancellation_rate": _rate(of["cancelled"], n),
        "seller_fault_cancellation_rate": _rate(of["fault"], n),
        "buyer_cancel_requests": float(rf["n"]),
        "cancel_request_success_rate": _rate(rf["approved"], rf["resolved"]),
        "cancel_withdrawal_rate": _rate(rf["withdrawn"], rf["n"]),
        "cancel_pending": float(rf["pending"]),
        "median_hours_to_resolve": rf["median"], "p90_hours_to_resolve": rf["p90"],
        "auto_resolved_share": _rate(rf["auto"], rf["resolved"]),
        "repeat_request_rate": _rate(per_order.filter(pl.col("len") >= 2).height,
                                     per_order.height),
    }
    for i in INITIATORS:
        out[f"cancellation_rate_{i}"] = _rate(of[f"i_{i}"], n)
    for s in STAGES:
        out[f"cancel_exit_{s}"] = _rate(of[f"s_{s}"], n)
        out[f"cancel_request_success_rate_{s}"] = _rate(rf[f"a_{s}"], rf[f"r_{s}"])
    out.update(_contacts(root, market, t0, t1, f, n))
    fb = (_scan(root, "feedback").filter(in_period).select(
        n=pl.len(), mean=pl.col("rating").mean(), rated=pl.col("rating").count(),
        negative=(pl.col("rating") <= 2).sum()).collect().row(0, named=True))
    out.update({"feedback": float(fb["n"]), "feedback_mean_rating": fb["mean"],
                "feedback_negative_share": _rate(fb["negative"], fb["rated"])})
    return out


def _contacts(root: Path, market: str, t0: datetime, t1: datetime, f: pl.DataFrame,
              n: int) -> dict[str, float | None]:
    allc = _scan(root, "contacts").select(
        "contact_id", "market", "order_id", "created_at", "channel", "reason", "handle_time_s",
        "escalated", "csat")
    about = allc.filter(pl.col("order_id").is_not_null()).select(
        "order_id", id2="contact_id", t2="created_at", r2="reason")
    k = allc.filter((pl.col("market") == market)
                    & pl.col("created_at").is_between(t0, t1, closed="left")).collect()
    # repeat: another contact on the same order within (0, 168 h]
    later = (k.lazy().filter(pl.col("order_id").is_not_null())
             .select("contact_id", "order_id", "created_at").join(about, on="order_id")
             .filter(((pl.col("t2") - pl.col("created_at")) > pl.duration(hours=0))
                     & ((pl.col("t2") - pl.col("created_at")) <= pl.duration(hours=168)))
             .select(pl.col("contact_id").n_unique()).collect().item())
    cancel = pl.col("reason").is_in(CANCEL_CONTACT_REASONS)
    cancelled_orders = f.filter(pl.col("cancelled")).select("order_id")
    about_cancelled = (allc.filter(cancel & pl.col("order_id").is_not_null())
                       .join(cancelled_orders.lazy(), on="order_id")
                       .select(pl.len()).collect().item())
    # escalations: earlier contacts about the same order, hours since its first
    # cancellation contact at or before the escalation (the escalation included)
    esc = k.lazy().filter(pl.col("escalated") & pl.col("order_id").is_not_null()).select(
        "contact_id", "order_id", "created_at", "reason")
    prior = (esc.join(about, on="order_id")
             .filter((pl.col("t2") <= pl.col("created_at"))
                     & (pl.col("id2") != pl.col("contact_id")))
             .group_by("contact_id").agg(
                 n_before=(pl.col("t2") < pl.col("created_at")).sum(),
                 first_cancel=pl.col("t2").filter(pl.col("r2").is_in(CANCEL_CONTACT_REASONS))
                 .min()))
    e = (esc.join(prior, on="contact_id", how="left").with_columns(
        n_before=pl.col("n_before").fill_null(0),
        first=pl.min_horizontal("first_cancel", pl.when(cancel).then(pl.col("created_at"))))
        .select(n_before=pl.col("n_before").mean(),
                hours=((pl.col("created_at") - pl.col("first")).dt.total_microseconds() / 3.6e9)
                .quantile(0.5, interpolation="linear")).collect().row(0, named=True))
    s = k.select(
        n=pl.len(), cancel=cancel.sum(), with_order=pl.col("order_id").is_not_null().sum(),
        escalated=pl.col("escalated").sum(), cancel_escalated=(pl.col("escalated") & cancel).sum(),
        escalated_csat=pl.col("csat").filter(pl.col("escalated")).mean(),
        bot=(pl.col("channel") == "bot").sum(), handle=(pl.col("handle_time_s") / 60).mean(),
        csat=pl.col("csat").mean(), rated=pl.col("csat").count(),
        satisfied=(pl.col("csat") >= 4).sum()).row(0, named=True)
    return {
        "contacts": float(s["n"]), "cpo": _rate(s["n"], n), "cancel_cpo": _rate(s["cancel"], n),
        "contacts_per_cancelled_order": _rate(about_cancelled,
                                              f.filter(pl.col("cancelled")).height),
        "repeat_contact_rate": _rate(later, s["with_order"]),
        "escalation_rate": _rate(s["escalated"], s["n"]),
        "escalations_per_1000_orders": None if not n else 1000 * s["escalated"] / n,
        "cancel_escalation_rate": _rate(s["cancel_escalated"], s["cancel"]),
        "escalated_csat_mean": s["escalated_csat"],
        "contacts_before_escalation": e["n_before"],
        "median_hours_to_escalation": e["hours"],
        "bot_contact_share": _rate(s["bot"], s["n"]),
        "mean_handle_minutes": s["handle"], "csat_mean": s["csat"],
        "csat_response_rate": _rate(s["rated"], s["n"]),
        "csat_satisfied_share": _rate(s["satisfied"], s["rated"]),
    }


if __name__ == "__main__":
    print(json.dumps(kpis(*sys.argv[1:5])))
