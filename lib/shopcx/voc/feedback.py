"""Voice of the customer: feedback volume, ratings and verbatims by what happened.

Feedback of a period (F) is the market's feedback created in ``[start,
end)``. Feedback about an order is linked to what happened to that order
(its *experience*: cancelled by whom and why, a rejected request, delivered),
whenever the order was placed, so low ratings can be traced to a cause.
Verbatims come back raw here; show them only through
:func:`shopcx.readouts.privacy.verbatim_table`, which redacts and escapes.
"""

from __future__ import annotations

from typing import Any

import ibis
import numpy as np
import pandas as pd

from shopcx.data.sources import load_source
from shopcx.metrics.facts import enrich_orders, period_feedback, request_facts

__all__ = ["HEADLINE_KPIS", "feedback_by_experience", "feedback_by_source", "language_mix", "sample_verbatims"]


HEADLINE_KPIS = ("feedback", "feedback_mean_rating", "feedback_negative_share", "csat_mean",
                 "csat_satisfied_share", "cancellation_rate")
"""The KPIs the voice-of-customer readout opens with."""


def _rated(t: ibis.Table) -> dict[str, Any]:
    return {"feedback": t.count(), "rated": t.rating.notnull().sum(),
            "mean_rating": t.rating.mean(), "negative": (t.rating <= 2).sum(),
            "with_text": t.text.notnull().sum()}


def _shares(t: pd.DataFrame) -> pd.DataFrame:
    total = t["feedback"].sum()
    t["share"] = t["feedback"] / total if total else np.nan
    t["negative_share"] = np.where(t["rated"] > 0, t["negative"] / t["rated"].clip(1), np.nan)
    return t


def feedback_by_source(source: Any, market: str, start: Any, end: Any) -> pd.DataFrame:
    """Feedback by source: volume, share, mean rating, negative share (1-2), with text."""
    source = load_source(source)
    f = period_feedback(source, market, start, end)
    t = _shares(source.execute(f.group_by("source").aggregate(**_rated(f))))
    return t.sort_values(["feedback", "source"], ascending=[False, True], ignore_index=True)[
        ["source", "feedback", "share", "rated", "mean_rating", "negative_share", "with_text"]]


def _with_experience(source: Any, market: str, start: Any, end: Any) -> ibis.Table:
    f = period_feedback(source, market, start, end)
    orders = source.tables["orders"]
    facts = enrich_orders(source, orders.semi_join(f.select("order_id"), "order_id"))
    r = request_facts(source, facts)
    rejected = r.filter(r.outcome == "rejected").select("order_id").distinct().mutate(
        had_rejection=ibis.literal(True))
    facts = facts.left_join(rejected, "order_id").drop("order_id_right")
    facts = facts.select("order_id", "carrier", "cancelled", "cancel_initiator",
                         "cancel_reason", "delivered_at", "had_rejection",
                         known=ibis.literal(True))
    j = f.left_join(facts, "order_id").drop("order_id_right")
    experience = ibis.cases(
        (j.order_id.isnull(), "not about an order"),
        (j.known.isnull(), "unknown order"),
        (j.cancelled, "cancelled by " + j.cancel_initiator + ": "
         + j.cancel_reason.replace("_", " ")),
        (j.had_rejection.fill_null(False), "cancel request rejected"),
        (j.delivered_at.notnull(), "delivered"),
        else_="open (not delivered yet)")
    return j.mutate(experience=experience)


def feedback_by_experience(source: Any, market: str, start: Any, end: Any,
                           min_feedback: int = 5) -> pd.DataFrame:
    """Feedback by what happened to its order, lowest mean rating first.

    Experiences: ``cancelled by <initiator>: <reason>``, ``cancel request
    rejected`` (but not cancelled), ``delivered``, ``open (not delivered yet)``,
    ``unknown order``, ``not about an order``. Columns: ``experience``,
    ``feedback``, ``share``, ``rated``, ``mean_rating``, ``negative_share``,
    ``with_text``; groups with fewer than ``min_feedback`` pieces are dropped.
    """
    source = load_source(source)
    j = _with_experience(source, market, start, end)
    t = _shares(source.execute(j.group_by("experience").aggregate(**_rated(j))))
    t = t[t["feedback"] >= min_feedback]
    return t.sort_values(["mean_rating", "feedback"], ascending=[True, False],
                         na_position="last", ignore_index=True)[
        ["experience", "feedback", "share", "rated", "mean_rating", "negative_share",
         "with_text"]]


def sample_verbatims(source: Any, market: str, start: Any, end: Any,
                     experiences: list[str] | None = None, per_group: int = 3,
                     seed: int = 0) -> pd.DataFrame:
    """A reproducible random sample of texts per experience (raw: redact before showing).

    Sampling is uniform within each experience (not the longest or the
    angriest), with a fixed ``seed``, drawn in the engine from the texts of the
    period. Columns: ``experience``, ``source``, ``rating``, ``language``,
    ``text``, ``created_at``.
    """
    source = load_source(source)
    j = _with_experience(source, market, start, end)
    j = j.filter(j.text.notnull())
    if experiences:
        j = j.filter(j.experience.isin(experiences))
    # a deterministic pseudo-random order: hash of the key and the seed
    key = (j.feedback_id + f"#{seed}").hash()
    ranked = j.mutate(_rank=ibis.row_number().over(group_by=j.experience, order_by=key))
    t = source.execute(ranked.filter(ranked._rank < per_group).select(
        "experience", "source", "rating", "language", "text", "created_at", "_rank"))
    order = {e: i for i, e in enumerate(experiences or sorted(t["experience"].unique()))}
    t = t.sort_values(["experience", "_rank"],
                      key=lambda s: s.map(order) if s.name == "experience" else s)
    return t.drop(columns="_rank").reset_index(drop=True)


def language_mix(source: Any, market: str, start: Any, end: Any) -> pd.DataFrame:
    """Feedback by language (``unknown`` where not given): count and share."""
    source = load_source(source)
    f = period_feedback(source, market, start, end)
    t = source.execute(f.mutate(language=f.language.fill_null("unknown"))
                       .group_by("language").aggregate(feedback=ibis._.count()))
    t["share"] = t["feedback"] / t["feedback"].sum() if len(t) else []
    return t.sort_values(["feedback", "language"], ascending=[False, True], ignore_index=True)
