"""Contacts and customer effort: the tables behind the CPO readout.

Contacts of a period (C) are those of the market created in ``[start, end)``;
orders (O) are the period's cohort. Contacts per order divides the two, as in
the metric dictionary.
"""

from __future__ import annotations

from typing import Any

import ibis
import numpy as np
import pandas as pd

from shopcx.data.contract import CANCEL_CONTACT_REASONS
from shopcx.data.sources import load_source
from shopcx.metrics.facts import (
    cohort,
    enrich_orders,
    order_facts,
    parse_period,
    period_contacts,
    request_facts,
    stage_of,
)

__all__ = [
    "HEADLINE_KPIS",
    "contact_reasons",
    "contacts_by_channel",
    "contacts_by_request_outcome",
    "contacts_by_stage",
    "effort_by_cancellation",
]

HEADLINE_KPIS = (
    "orders", "contacts", "cpo", "cancel_cpo", "contacts_per_cancelled_order",
    "repeat_contact_rate", "escalation_rate", "bot_contact_share", "mean_handle_minutes",
    "csat_mean", "csat_response_rate", "csat_satisfied_share",
)
"""The KPIs the contacts readout opens with."""

REQUEST_EXPERIENCES = ("no request", "approved within 24 h", "approved after 24 h",
                       "rejected", "pending", "withdrawn")


def _profile(c: ibis.Table, by: str) -> ibis.Table:
    return c.group_by(by).aggregate(
        contacts=c.count(), repeat=c.repeat.sum(), with_order=c.order_id.notnull().sum(),
        escalated=c.escalated.sum(), handle_minutes=(c.handle_time_s / 60).mean(),
        csat=c.csat.mean(), csat_answers=c.csat.notnull().sum())


def _finish(t: pd.DataFrame, orders: int) -> pd.DataFrame:
    total = t["contacts"].sum()
    t["share"] = t["contacts"] / total if total else np.nan
    t["per_order"] = t["contacts"] / orders if orders else np.nan
    t["repeat_rate"] = np.where(t["with_order"] > 0, t["repeat"] / t["with_order"].clip(1),
                                np.nan)
    t["escalation_rate"] = t["escalated"] / t["contacts"]
    return t.drop(columns=["repeat", "with_order", "escalated"])


def _orders(source: Any, market: str, start: Any, end: Any) -> int:
    return int(source.execute(cohort(source, market, start, end).count()))


def contact_reasons(source: Any, market: str, start: Any, end: Any) -> pd.DataFrame:
    """Contacts by reason, largest first, with the Pareto share and quality by reason.

    Columns: ``reason``, ``contacts``, ``share``, ``cumulative_share``,
    ``per_order`` (contacts per cohort order), ``cancellation_related``,
    ``repeat_rate``, ``escalation_rate``, ``handle_minutes``, ``csat``,
    ``csat_answers``.
    """
    source = load_source(source)
    c = period_contacts(source, market, start, end)
    t = _finish(source.execute(_profile(c, "reason")), _orders(source, market, start, end))
    t = t.sort_values(["contacts", "reason"], ascending=[False, True], ignore_index=True)
    t["cumulative_share"] = t["share"].cumsum()
    t["cancellation_related"] = t["reason"].isin(CANCEL_CONTACT_REASONS)
    return t[["reason", "contacts", "share", "cumulative_share", "per_order",
              "cancellation_related", "repeat_rate", "escalation_rate", "handle_minutes",
              "csat", "csat_answers"]]


def contacts_by_channel(source: Any, market: str, start: Any, end: Any) -> pd.DataFrame:
    """Contacts by channel (bot, chat, email, phone) with handle time, CSAT, escalation."""
    source = load_source(source)
    c = period_contacts(source, market, start, end)
    t = _finish(source.execute(_profile(c, "channel")), _orders(source, market, start, end))
    order = {"bot": 0, "chat": 1, "email": 2, "phone": 3}
    return t.sort_values("channel", key=lambda s: s.map(order), ignore_index=True)[
        ["channel", "contacts", "share", "per_order", "handle_minutes", "csat",
         "csat_answers", "repeat_rate", "escalation_rate"]]


def contacts_by_stage(source: Any, market: str, start: Any, end: Any) -> pd.DataFrame:
    """Contacts by where their order stood when the customer got in touch.

    Stages as for cancellation requests (unpaid, awaiting shipment, in transit,
    delivered), plus ``after cancellation`` (the order's cancelling request
    came first), ``unknown order`` (order_id not in orders) and ``no order``. Columns as :func:`contact_reasons`, plus
    ``cancellation_related`` share.
    """
    source = load_source(source)
    c = period_contacts(source, market, start, end)
    orders = source.tables["orders"]
    facts = enrich_orders(source, orders.semi_join(c.select("order_id"), "order_id")).select(
        "order_id", "paid_at", "shipped_at", "delivered_at", "cancelled_at",
        known=ibis.literal(True))
    j = c.left_join(facts, "order_id").drop("order_id_right")
    stage = ibis.cases(
        (j.order_id.isnull(), "no order"),
        (j.known.isnull(), "unknown order"),
        (j.cancelled_at.notnull() & (j.created_at >= j.cancelled_at), "after cancellation"),
        else_=stage_of(j.created_at, j.paid_at, j.shipped_at, j.delivered_at))
    j = j.mutate(stage=stage, related=j.reason.isin(CANCEL_CONTACT_REASONS))
    t = source.execute(j.group_by("stage").aggregate(
        contacts=j.count(), repeat=j.repeat.sum(), with_order=j.order_id.notnull().sum(),
        escalated=j.escalated.sum(), handle_minutes=(j.handle_time_s / 60).mean(),
        csat=j.csat.mean(), csat_answers=j.csat.notnull().sum(), related=j.related.sum()))
    t = _finish(t, _orders(source, market, start, end))
    t["cancellation_related_share"] = t.pop("related") / t["contacts"]
    order = {s: i for i, s in enumerate(("unpaid", "awaiting_shipment", "in_transit",
                                         "delivered", "after cancellation", "unknown order",
                                         "no order"))}
    t = t.sort_values("stage", key=lambda s: s.map(order), ignore_index=True)
    return t[["stage", "contacts", "share", "per_order", "cancellation_related_share",
              "repeat_rate", "escalation_rate", "handle_minutes", "csat", "csat_answers"]]


def _request_experience(source: Any, facts: ibis.Table) -> ibis.Table:
    """Per cohort order, the worst thing that happened to its buyer cancel requests."""
    r = request_facts(source, facts)
    per = r.group_by("order_id").aggregate(
        rejected=(r.outcome == "rejected").any(), pending=(r.outcome == "pending").any(),
        slow=((r.outcome == "approved") & (r.hours_to_resolve > 24)).any(),
        approved=(r.outcome == "approved").any(), withdrawn=(r.outcome == "withdrawn").any())
    j = facts.select("order_id").left_join(per, "order_id").drop("order_id_right")
    return j.mutate(experience=ibis.cases(
        (j.rejected, "rejected"), (j.pending, "pending"), (j.slow, "approved after 24 h"),
        (j.approved, "approved within 24 h"), (j.withdrawn, "withdrawn"),
        else_="no request")).select("order_id", "experience")


def contacts_by_request_outcome(source: Any, market: str, start: Any,
                                end: Any) -> pd.DataFrame:
    """Which cancel-request outcomes generate contacts.

    Each cohort order is classed by its buyer cancel requests, worst first:
    rejected, pending, approved after 24 h, approved within 24 h, withdrawn,
    no request. For each class: ``orders``, ``contacts`` about those orders
    (created at any time), ``contacts_per_order``, ``cancel_contacts_per_order``
    (cancellation-related reasons), ``csat``, ``escalation_rate`` and
    ``share_of_cancel_contacts``.
    """
    source = load_source(source)
    facts = order_facts(source, market, start, end)
    exp = _request_experience(source, facts)
    contacts = source.tables["contacts"]
    c = contacts.join(exp, "order_id")
    per_class = source.execute(exp.group_by("experience").aggregate(orders=ibis._.count()))
    t = source.execute(c.group_by("experience").aggregate(
        contacts=c.count(), cancel_contacts=c.reason.isin(CANCEL_CONTACT_REASONS).sum(),
        csat=c.csat.mean(), escalated=c.escalated.sum()))
    t = per_class.merge(t, on="experience", how="left").fillna(
        {"contacts": 0, "cancel_contacts": 0, "escalated": 0})
    t["contacts_per_order"] = t["contacts"] / t["orders"]
    t["cancel_contacts_per_order"] = t["cancel_contacts"] / t["orders"]
    t["escalation_rate"] = np.where(t["contacts"] > 0, t["escalated"] / t["contacts"].clip(1),
                                    np.nan)
    total = t["cancel_contacts"].sum()
    t["share_of_cancel_contacts"] = t["cancel_contacts"] / total if total else np.nan
    order = {e: i for i, e in enumerate(REQUEST_EXPERIENCES)}
    t = t.sort_values("experience", key=lambda s: s.map(order), ignore_index=True)
    t = t[["experience", "orders", "contacts", "contacts_per_order", "cancel_contacts",
           "cancel_contacts_per_order", "share_of_cancel_contacts", "csat",
           "escalation_rate"]].astype({"contacts": int, "cancel_contacts": int})
    return t if t["contacts"].sum() else t.iloc[0:0]  # no contacts: nothing to compare


def effort_by_cancellation(source: Any, market: str, start: Any, end: Any,
                           by: str = "cancel_initiator") -> pd.DataFrame:
    """Customer effort of cancelled orders: cancellation contacts per cancelled order.

    Grouped by ``cancel_initiator``, ``cancel_stage`` or ``cancel_reason``:
    ``cancelled`` orders, ``contacts`` with a cancellation-related reason
    (any time) and ``contacts_per_cancelled_order``.
    """
    if by not in ("cancel_initiator", "cancel_stage", "cancel_reason"):
        raise ValueError("by must be cancel_initiator, cancel_stage or cancel_reason")
    parse_period(start, end)
    source = load_source(source)
    facts = order_facts(source, market, start, end)
    cancelled = facts.filter(facts.cancelled).select("order_id", by)
    contacts = source.tables["contacts"]
    cc = contacts.filter(contacts.reason.isin(CANCEL_CONTACT_REASONS)).select("order_id")
    per = cc.join(cancelled, "order_id").group_by(by).aggregate(contacts=ibis._.count())
    base = cancelled.group_by(by).aggregate(cancelled=ibis._.count())
    t = source.execute(base.left_join(per, by).drop(f"{by}_right"))
    t["contacts"] = t["contacts"].fillna(0).astype(int)
    t["contacts_per_cancelled_order"] = t["contacts"] / t["cancelled"]
    if not t["contacts"].sum():  # no cancellation contact at all: no effort to compare
        return t.iloc[0:0]
    return t.sort_values(["cancelled", by], ascending=[False, True], ignore_index=True)
