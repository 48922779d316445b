"""Plain-language summaries and recommended actions, generated from the numbers.

The sentences are built from a comparison table (:func:`shopcx.metrics.compare.compare_kpis`)
so every readout opens with the same kind of statement, and every statement
can be traced to a number in the table below it. Output is Markdown with no
customer text in it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

from shopcx.readouts.formatting import format_value, no_data, plural

__all__ = ["describe_change", "recommend_actions", "summarize_changes"]


def _change_text(kind: str, change: float) -> str:
    sign = "+" if change > 0 else "−"
    if kind == "proportion":
        return f"{sign}{abs(change) * 100:.1f} pts"
    if kind == "quantile":
        return f"{sign}{abs(change):.1f} h"
    if kind in ("count", "sum"):
        return f"{sign}{format_value(kind, abs(change))}"
    return f"{sign}{abs(change):.3f}" if kind == "ratio" else f"{sign}{abs(change):.2f}"


def describe_change(row: pd.Series) -> str:
    """One sentence for one KPI's change, e.g. 'Cancellation rate rose from 10.2% to 19.2%'.

    >>> row = pd.Series({"label": "Cancellation rate", "kind": "proportion", "value": 0.192,
    ...                  "baseline": 0.102, "change": 0.09, "significant": True,
    ...                  "assessment": "worse", "too_few": False})
    >>> describe_change(row)
    'Cancellation rate rose from 10.20% to 19.20% (+9.0 pts), a significant change for the worse.'
    """
    label, kind = row["label"], row["kind"]
    if pd.isna(row["value"]) or pd.isna(row["baseline"]):
        return f"{label} cannot be compared: one of the periods has no data."
    now, before = format_value(kind, row["value"]), format_value(kind, row["baseline"])
    if row["change"] == 0:
        return f"{label} held at {now}."
    verb = "rose" if row["change"] > 0 else "fell"
    text = f"{label} {verb} from {before} to {now} ({_change_text(kind, row['change'])})"
    if row.get("too_few"):
        return text + ", on too few cases to judge."
    if row.get("significant"):
        judgement = {"better": " for the better", "worse": " for the worse"}.get(
            row.get("assessment") or "", "")
        return text + f", a significant change{judgement}."
    if kind in ("proportion", "ratio"):
        return text + ", within what chance alone would produce."
    return text + "."


def summarize_changes(changes: pd.DataFrame, kpis: Iterable[str] | None = None,
                      market: str = "", period: str = "", top: int = 5) -> str:
    """A short Markdown summary of what changed, most significant first."""
    t = changes if kpis is None else changes.set_index("kpi").loc[list(kpis)].reset_index()
    missing = no_data(changes)
    absent = sorted({missing[k] for k in t["kpi"] if k in missing})
    t = t[~t["kpi"].isin(list(missing))]
    sig = t[t["significant"].fillna(False).astype(bool)].copy()
    worse = int((sig["assessment"] == "worse").sum())
    better = int((sig["assessment"] == "better").sum())
    where = f"In {market}" if market else "In this period"
    when = f", {period}," if period else ""
    head = (f"{where}{when} {len(sig)} of {plural(len(t), 'KPI')} shown changed significantly "
            f"against the baseline: {worse} for the worse, {better} for the better.")
    if absent:
        head += (f" The data holds no {' and no '.join(absent)} for this market in either "
                 "period, so their KPIs show no data.")
    if sig.empty:
        largest = _largest_move(t)
        return head if largest is None else head + " The largest move: " + describe_change(
            largest)
    sig["order"] = sig["p_adjusted"].fillna(1.0)
    sig = sig.sort_values(["order", "relative_change"], key=lambda s: s if s.name == "order"
                          else -s.abs())
    lines = [f"- {describe_change(r)}" for _, r in sig.head(top).iterrows()]
    more = f"\n\n…and {len(sig) - top} more in the table." if len(sig) > top else ""
    return head + "\n\n" + "\n".join(lines) + more


def _largest_move(t: pd.DataFrame) -> pd.Series | None:
    """The move that matters most to the headline: the largest change in points among
    the rates judged on enough cases (the first KPI, the headline, wins ties); counts
    and other KPIs only when no rate can be judged."""
    rates = t[t["kind"].isin(("proportion", "ratio")) & ~t["too_few"].fillna(True).astype(bool)
              & t["change"].notna() & (t["change"] != 0)]
    if not rates.empty:
        return rates.loc[rates["change"].abs().sort_values(ascending=False,
                                                           kind="stable").index[0]]
    moved = t.assign(size=t["relative_change"].abs()).dropna(subset=["size"])
    moved = moved[moved["size"] > 0]
    return None if moved.empty else moved.sort_values("size", ascending=False).iloc[0]


def _kpi(changes: pd.DataFrame, name: str) -> pd.Series | None:
    rows = changes[changes["kpi"] == name]
    return None if rows.empty else rows.iloc[0]


def recommend_actions(changes: pd.DataFrame, seller_fault_threshold: float = 0.025,
                      auto_approve_timer_hours: float | None = None,
                      sellers: pd.DataFrame | None = None,
                      carriers: pd.DataFrame | None = None) -> pd.DataFrame:
    """Suggested next steps with an owner team and the evidence behind each.

    Rules (each fires only on the evidence it names): seller-fault rate above
    the threshold (seller operations, naming the top sellers); a significant
    rise of in-transit cancellations (logistics, naming the carrier with the
    highest cancellation rate when ``carriers`` holds segment rates); requests
    waiting for the auto-approve timer (product/policy); a significant drop
    of request success (seller operations); a significant rise of
    cancellation contacts or repeat contacts (customer service); high unpaid
    cancellations (payments). Returns columns ``owner``, ``action``,
    ``evidence``; empty when nothing calls for action.
    """
    actions: list[dict[str, Any]] = []

    def add(owner: str, action: str, evidence: str) -> None:
        actions.append({"owner": owner, "action": action, "evidence": evidence})

    sf = _kpi(changes, "seller_fault_cancellation_rate")
    if sf is not None and not pd.isna(sf["value"]) and sf["value"] > seller_fault_threshold:
        names = ""
        if sellers is not None and not sellers.empty:
            over = sellers[sellers["rate"] > seller_fault_threshold].head(3)
            if not over.empty:
                names = (f" Sellers {', '.join(over['seller_id'])} alone caused "
                         f"{over['share'].sum():.0%} of them.")
        add("Seller operations",
            "Put the sellers above the seller-fault threshold on a performance plan "
            "(stock sync, shipping SLAs) and review listing limits before the next sale.",
            f"Seller-fault cancellation rate {sf['value']:.2%} is above the "
            f"{seller_fault_threshold:.1%} threshold.{names}")
    transit = _kpi(changes, "cancel_exit_in_transit")
    if transit is not None and transit["significant"] and transit["assessment"] == "worse":
        where = ""
        if carriers is not None and "dimension" in carriers.columns:
            carriers = carriers[carriers["dimension"] == "carrier"]
        if carriers is not None and not carriers.empty:
            c = carriers[(carriers["kpi"] == "cancellation_rate") & ~carriers["too_few"]
                         & (carriers["segment"] != "(none)")]
            if not c.empty:
                worst = c.sort_values("value", ascending=False).iloc[0]
                where = (f" {worst['segment']} has the highest cancellation rate of the "
                         f"carriers ({worst['value']:.1%}).")
        add("Logistics",
            "Review the carrier's performance for the period, tell affected buyers about "
            "delays before they ask, and offer cancellation with instant refund on "
            "parcels past their promised date.",
            f"In-transit cancellations rose from {transit['baseline']:.2%} to "
            f"{transit['value']:.2%} of orders.{where}")
    p90 = _kpi(changes, "p90_hours_to_resolve")
    if (p90 is not None and auto_approve_timer_hours and not pd.isna(p90["value"])
            and p90["value"] >= 0.9 * auto_approve_timer_hours):
        add("Product and policy",
            "Many cancel requests run into the auto-approve timer: shorten the timer or "
            "nudge sellers to answer earlier.",
            f"90% of requests are decided within {p90['value']:.0f} h, against a "
            f"{auto_approve_timer_hours:.0f} h auto-approve timer.")
    success = _kpi(changes, "cancel_request_success_rate")
    if success is not None and success["significant"] and success["assessment"] == "worse":
        add("Seller operations",
            "Audit recent rejections of buyer cancel requests; remind sellers of the "
            "rules for rejecting and follow up with those rejecting most.",
            f"Cancel request success fell from {success['baseline']:.1%} to "
            f"{success['value']:.1%}.")
    evidence = []
    for name, what in (("cancel_cpo", "cancellation contacts per order"),
                       ("repeat_contact_rate", "the repeat-contact rate")):
        k = _kpi(changes, name)
        if k is not None and k["significant"] and k["assessment"] == "worse":
            evidence.append(f"{what.capitalize()} rose from "
                            f"{format_value(k['kind'], k['baseline'])} to "
                            f"{format_value(k['kind'], k['value'])}.")
    if evidence:
        add("Customer service",
            "Give buyers the status of their cancellation and refund in the app and the "
            "bot, so they do not need to ask again; check macros for the top reasons.",
            " ".join(evidence))
    unpaid = _kpi(changes, "cancel_exit_unpaid")
    if unpaid is not None and not pd.isna(unpaid["value"]) and unpaid["value"] > 0.04:
        add("Payments",
            "Shorten cash-on-delivery confirmation and retry failed payments before the "
            "unpaid timeout cancels the order.",
            f"{unpaid['value']:.1%} of orders are cancelled before payment or confirmation.")
    return pd.DataFrame(actions, columns=["owner", "action", "evidence"])
