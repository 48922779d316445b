"""The escalations readout: paths, journeys, sellers and what escalated customers wrote.

The numbers come from :mod:`shopcx.metrics.escalations` (paths and sellers)
and :mod:`shopcx.rootcause` (drivers); this module lays them out as tables
and charts, and says who owns each path and what to do next.
"""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from shopcx.metrics.escalations import PATHS
from shopcx.readouts.plots import PALETTE, _done, _empty

__all__ = [
    "ESCALATION_KPIS",
    "escalated_feedback",
    "path_actions",
    "path_table",
    "plot_journeys",
    "plot_paths",
    "seller_table",
]

ESCALATION_KPIS = ("escalations_per_1000_orders", "escalation_rate", "cancel_escalation_rate",
                   "escalated_csat_mean", "contacts_before_escalation",
                   "median_hours_to_escalation")
"""The KPIs the escalations readout opens with."""

PATH_OWNERS = {
    "request rejected": ("Seller operations with Cancellation policy",
                         "Review the rejections behind these escalations: which sellers, "
                         "at which stage, for which reasons; where a seller rejects requests "
                         "it should approve, enforce the policy or auto-approve requests "
                         "made before shipment."),
    "request pending past its timer": ("Cancellation policy",
                                       "Requests outlived the auto-approve timer: check the "
                                       "timer fires, and whether it should be shorter."),
    "request pending": ("Seller operations",
                        "Buyers escalate while waiting for an answer: push sellers to answer "
                        "faster, and show the request's status and timer in the app."),
    "seller cancelled after payment": ("Seller operations with Payments",
                                       "Paid orders cancelled by the seller: apply the "
                                       "seller-fault policy and tell buyers when their refund "
                                       "will arrive."),
    "approved, then escalated": ("Payments",
                                 "Escalations after an approved cancellation are usually "
                                 "about the refund: check refund times and the message "
                                 "buyers get."),
    "request withdrawn": ("CX programme", "Read these contacts: buyers who withdrew and still "
                                          "escalated often could not get an answer in time."),
    "no cancel request": ("CX programme",
                          "Escalations about orders without a cancel request: check whether "
                          "buyers could not find how to cancel, or escalated about delivery."),
    "no order": ("Customer service", "Escalations not tied to an order: review the contact "
                                     "reasons and the routing of these contacts."),
}
"""Who owns each path to an escalation, and the next step."""


def _merged(current: pd.DataFrame, baseline: pd.DataFrame) -> pd.DataFrame:
    b = baseline.set_index("path")[["escalations", "share"]].rename(
        columns={"escalations": "baseline_escalations", "share": "baseline_share"})
    return current.join(b, on="path")


def path_table(current: pd.DataFrame, baseline: pd.DataFrame) -> pd.DataFrame:
    """The paths to escalation, most common first: escalations and share now and in
    the baseline, and the journey's median hours between steps."""
    t = _merged(current, baseline)
    t = t[(t["escalations"] > 0) | (t["baseline_escalations"] > 0)]

    def hours(v: Any) -> str:
        return "" if pd.isna(v) else f"{v:,.1f} h"

    return pd.DataFrame({
        "path": t["path"],
        "escalations": [f"{e:,} ({s:.0%})" if e else "0" for e, s in
                        zip(t["escalations"], t["share"].fillna(0), strict=True)],
        "baseline": [f"{e:,} ({s:.0%})" if e else "0" for e, s in
                     zip(t["baseline_escalations"].fillna(0).astype(int),
                         t["baseline_share"].fillna(0), strict=True)],
        "order → request": t["hours_order_to_request"].map(hours),
        "request → decision": t["hours_request_to_outcome"].map(hours),
        "decision → escalation": t["hours_outcome_to_escalation"].map(hours),
        "order → escalation": t["hours_order_to_escalation"].map(hours),
        "contacts before": t["contacts_before"].map(lambda v: "" if pd.isna(v) else f"{v:.2f}"),
        "CSAT": t["csat"].map(lambda v: "" if pd.isna(v) else f"{v:.2f}"),
    }).reset_index(drop=True)


def path_actions(current: pd.DataFrame, baseline: pd.DataFrame, top: int = 3
                 ) -> pd.DataFrame:
    """Owner team and next step for the paths with the most escalations (and the most
    growth), with the evidence."""
    t = _merged(current, baseline)
    t = t[t["escalations"] > 0].copy()
    t["growth"] = t["escalations"] - t["baseline_escalations"].fillna(0)
    t = t.sort_values(["escalations", "growth"], ascending=False).head(top)
    return pd.DataFrame({
        "path": t["path"],
        "owner": [PATH_OWNERS[p][0] for p in t["path"]],
        "next step": [PATH_OWNERS[p][1] for p in t["path"]],
        "evidence": [f"{int(e):,} escalations ({s:.0%}), {int(b):,} in the baseline"
                     for e, s, b in zip(t["escalations"], t["share"],
                                        t["baseline_escalations"].fillna(0), strict=True)],
    }).reset_index(drop=True)


def plot_paths(current: pd.DataFrame, baseline: pd.DataFrame) -> Figure:
    """Escalations by path, this period against the baseline (horizontal bars)."""
    t = _merged(current, baseline)
    t = t[(t["escalations"] > 0) | (t["baseline_escalations"] > 0)]
    if t.empty:
        return _empty("No escalation in either period.")
    t = t.iloc[::-1]
    y = np.arange(len(t))
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(t) + 1.2))
    ax.barh(y + 0.2, t["baseline_escalations"].fillna(0), height=0.4,
            color=PALETTE["baseline"], label="baseline")
    ax.barh(y - 0.2, t["escalations"], height=0.4, color=PALETTE["current"], label="period")
    ax.set_yticks(y, t["path"])
    ax.set_xlabel("escalations")
    ax.legend(loc="lower right", frameon=False)
    return _done(fig)


def plot_journeys(current: pd.DataFrame) -> Figure:
    """The journey to escalation per path: median hours from the order to the buyer's
    cancel request, to its decision, to the escalation, drawn as a timeline."""
    t = current[(current["escalations"] > 0) & current["path"].isin(PATHS[:6])]
    if t.empty:
        return _empty("No escalation with a cancellation journey in the period.")
    t = t.iloc[::-1]
    fig, ax = plt.subplots(figsize=(10, 0.55 * len(t) + 1.4))
    colours = ("#8172B3", "#DD8452", PALETTE["current"], PALETTE["baseline"])
    labels = ("order → request", "request → decision", "decision → escalation",
              "→ escalation (no decided request)")
    seen: set[str] = set()
    for row, (_, r) in enumerate(t.iterrows()):
        left = 0.0
        req, total = r["hours_order_to_request"], r["hours_order_to_escalation"]
        steps = [req, r["hours_request_to_outcome"], r["hours_outcome_to_escalation"]]
        if pd.isna(req):  # no request: the order, then the escalation
            steps = [np.nan, np.nan, np.nan, total]
        elif pd.isna(r["hours_request_to_outcome"]):  # undecided: up to the escalation
            steps = [req, np.nan, np.nan, total - req if pd.notna(total) else np.nan]
        for k, (h, c) in enumerate(zip(steps, colours, strict=False)):
            if pd.isna(h) or h <= 0:
                continue
            ax.barh(row, h, left=left, color=c, height=0.5,
                    label=None if labels[k] in seen else labels[k])
            seen.add(labels[k])
            left += h
        ax.text(left, row, f"  {int(r['escalations'])} escalations", va="center", fontsize=8)
    ax.set_yticks(np.arange(len(t)), t["path"])
    ax.set_xlabel("median hours since the order was placed")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=4, frameon=False,
              fontsize=8)
    return _done(fig)


def seller_table(sellers: pd.DataFrame) -> pd.DataFrame:
    """Sellers by excess escalations (see :func:`shopcx.metrics.escalations.seller_escalations`)."""
    return pd.DataFrame({
        "seller": sellers["seller_id"],
        "orders": sellers["orders"].map(lambda v: f"{int(v):,}"),
        "escalations": sellers["escalations"].map(lambda v: f"{int(v):,}"),
        "per 1,000 orders": sellers["per_1000"].map(lambda v: f"{v:.1f}"),
        "95% interval": [f"{a:.1f} – {b:.1f}" for a, b in
                         zip(sellers["ci_low"], sellers["ci_high"], strict=True)],
        "market": sellers["market_per_1000"].map(lambda v: f"{v:.1f}"),
        "excess escalations": sellers["excess"].map(lambda v: f"{v:+.1f}"),
        "share of escalations": sellers["share"].map(lambda v: f"{v:.0%}"),
        "verdict": np.where(sellers["above_market"], "above the market",
                            "within noise"),
    })


def escalated_feedback(source: Any, tagged: pd.DataFrame, market: str, start: Any,
                       end: Any) -> pd.DataFrame:
    """The tagged feedback (:func:`shopcx.voc.painpoints.tag_feedback`) about orders
    with an escalated contact in ``[start, end)``."""
    from shopcx.metrics.facts import period_contacts

    c = period_contacts(source, market, start, end)
    ids = source.execute(c.filter(c.escalated, c.order_id.notnull()).select(
        "order_id").distinct())["order_id"]
    return tagged[tagged["order_id"].isin(set(ids))].reset_index(drop=True)
