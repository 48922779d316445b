"""Pain points: VOC themes joined to what happened to the orders, ranked by priority.

:func:`tag_feedback` tags the period's feedback texts (themes and sentiment)
and joins each piece of feedback to its order's facts (cancelled? by whom,
why, at which stage, carrier ...) and to the contacts about that order.
:func:`rank_pain_points` summarises every theme against the baseline period
and ranks them by a priority score:

    priority = 100 × volume × negativity × (1 + growth) × (1 + contacts per order)
               × (1 + cancellation rate)

* volume: the theme's share of the period's feedback texts;
* negativity: the share of the theme's feedback that is negative (rated 1-2,
  or, unrated, with sentiment at or below -0.05); praise scores near 0;
* growth: the relative rise of the theme's share against the baseline,
  counted only when significant (two-proportion test, Benjamini-Hochberg 5%),
  capped at 3 (a theme new in the period counts as 3);
* contacts per order and cancellation rate: of the orders whose feedback
  carries the theme (contacts at any time about those orders).

Each theme keeps its owner team and recommended action from the taxonomy.
"""

from __future__ import annotations

from typing import Any

import ibis
import numpy as np
import pandas as pd

from shopcx.cache import file_fingerprint, memoized
from shopcx.data.contract import CANCEL_CONTACT_REASONS
from shopcx.data.sources import load_source
from shopcx.metrics.facts import enrich_orders, period_feedback
from shopcx.metrics.stats import benjamini_hochberg, two_proportion_test
from shopcx.params import params_file
from shopcx.voc.sentiment import MODELS
from shopcx.voc.tagging import tag_texts
from shopcx.voc.themes import Taxonomy, load_taxonomy

__all__ = [
    "NEGATIVE_SENTIMENT",
    "describe_pain_points",
    "in_period",
    "join_coverage",
    "rank_pain_points",
    "sample_by_theme",
    "tag_feedback",
    "theme_shares",
    "theme_trend",
    "themes_by_segment",
]

NEGATIVE_SENTIMENT = -0.05
GROWTH_CAP = 3.0
MIN_THEME_TEXTS = 10  # a theme needs this many texts in the period to be ranked
LOW_COVERAGE = 0.40  # under this share of texts with a theme, the readout warns


def tag_feedback(source: Any, market: str, start: Any, end: Any,
                 taxonomy: Taxonomy | None = None) -> pd.DataFrame:
    """The period's feedback with themes, sentiment and the facts of its order.

    One row per piece of feedback: ``feedback_id``, ``created_at``, ``source``,
    ``rating``, ``language``, ``text``, ``themes`` (a list of theme ids),
    ``sentiment``, ``sentiment_method``, ``negative``, ``joined`` (its order
    was found), the order's ``cancelled``, ``cancel_initiator``,
    ``cancel_reason``, ``cancel_stage``, ``carrier``, ``category``,
    ``sales_channel``, ``payment_method``, ``seller_id``, ``fulfillment``, and ``contacts``,
    ``cancel_contacts``, ``contact_csat`` (contacts about the order, any time).
    """
    source = load_source(source)
    taxonomy = taxonomy or load_taxonomy()
    lexicons = params_file(None, "sentiment_lexicons.yaml")
    key = (market.upper(), str(start), str(end), taxonomy.source,
           file_fingerprint(taxonomy.source), file_fingerprint(lexicons),
           *(file_fingerprint(m) for m in sorted(MODELS.glob("*.npz"))))
    # the readouts of one market share this result (see shopcx.cache)
    return memoized(source, "tagged-feedback", key,
                    lambda: _tag_feedback(source, market, start, end, taxonomy))


def _tag_feedback(source: Any, market: str, start: Any, end: Any,
                  taxonomy: Taxonomy) -> pd.DataFrame:
    f = period_feedback(source, market, start, end)
    orders = source.tables["orders"]
    facts = enrich_orders(source, orders.semi_join(f.select("order_id"), "order_id")).select(
        "order_id", "cancelled", "cancel_initiator", "cancel_reason", "cancel_stage", "carrier",
        "category", "sales_channel", "payment_method", "seller_id", "fulfillment",
        joined=ibis.literal(True))
    c = source.tables["contacts"]
    c = c.semi_join(f.select("order_id"), "order_id")
    per_order = c.group_by("order_id").aggregate(
        contacts=c.count(), cancel_contacts=c.reason.isin(CANCEL_CONTACT_REASONS).sum(),
        contact_csat=c.csat.mean())
    j = f.left_join(facts, "order_id").drop("order_id_right")
    j = j.left_join(per_order, "order_id").drop("order_id_right")
    t = source.execute(j.select("feedback_id", "order_id", "created_at", "source", "rating",
                                "language", "text", "joined", "cancelled", "cancel_initiator",
                                "cancel_reason", "cancel_stage", "carrier", "category",
                                "sales_channel", "payment_method", "seller_id",
                                "fulfillment", "contacts",
                                "cancel_contacts", "contact_csat"))
    t = t.sort_values("feedback_id", ignore_index=True)
    t["joined"] = t["joined"].fillna(False).astype(bool)
    t["cancelled"] = t["cancelled"].fillna(False).astype(bool)
    for col in ("contacts", "cancel_contacts"):
        t[col] = t[col].fillna(0).astype(int)
    texts = t["text"].where(t["text"].notna(), None).tolist()
    # typed columns, so that a period without feedback gives an empty table of the same shape
    tagged = tag_texts(texts, [x if isinstance(x, str) else None for x in t["language"]],
                       [None if pd.isna(r) else r for r in t["rating"]], taxonomy)
    t["themes"] = pd.Series([[m.theme for m in ms] for ms in tagged.matches],
                            index=t.index, dtype=object)
    scores = tagged.sentiment
    t["sentiment"] = pd.Series([s for s, _ in scores], index=t.index, dtype=float)
    t["sentiment_method"] = pd.Series([m for _, m in scores], index=t.index, dtype=object)
    rating = pd.to_numeric(t["rating"], errors="coerce")
    t["negative"] = np.where(rating.notna(), rating <= 2, t["sentiment"] <= NEGATIVE_SENTIMENT)
    return t


def theme_shares(tagged: pd.DataFrame) -> pd.DataFrame:
    """Feedback texts per theme: ``theme``, ``feedback``, ``share`` of texts in the period."""
    texts = int(tagged["text"].notna().sum())
    exploded = tagged[["feedback_id", "themes"]].explode("themes").dropna(subset=["themes"])
    counts = exploded.groupby("themes")["feedback_id"].nunique()
    out = pd.DataFrame({"theme": counts.index.astype(str), "feedback": counts.to_numpy()})
    out["share"] = out["feedback"] / texts if texts else np.nan
    return out


def theme_coverage(tagged: pd.DataFrame, low: float | None = None) -> dict[str, Any]:
    """How much of the period's text the themes describe.

    ``texts`` (feedback with text), ``tagged`` (with any theme), ``coverage``
    (their share, NaN without text) and ``low``: coverage under ``low``
    (default :data:`LOW_COVERAGE`), when a ranking of themes speaks for a
    minority of what customers wrote.

    >>> theme_coverage(pd.DataFrame({"text": ["a", "b", None, "c"],
    ...                              "themes": [["refund/slow"], [], [], []]}))
    {'texts': 3, 'tagged': 1, 'coverage': 0.3333333333333333, 'low': True}
    """
    low = LOW_COVERAGE if low is None else low
    has_text = tagged["text"].notna().to_numpy()
    texts = int(has_text.sum())
    with_theme = int(sum(bool(t) for t, h in zip(tagged["themes"], has_text, strict=True)
                         if h and isinstance(t, list)))
    coverage = with_theme / texts if texts else float("nan")
    return {"texts": texts, "tagged": with_theme, "coverage": coverage,
            "low": bool(texts and coverage < low)}


def describe_coverage(coverage: dict[str, Any], min_texts: int | None = None) -> str:
    """One or two Markdown sentences on coverage, with the warning when it is low."""
    min_texts = MIN_THEME_TEXTS if min_texts is None else min_texts
    if not coverage["texts"]:
        return "No feedback text in this period: nothing to rank."
    text = (f"Themes describe {coverage['tagged']:,} of {coverage['texts']:,} feedback texts "
            f"({coverage['coverage']:.0%}); a theme is ranked from {min_texts} texts up.")
    if coverage["low"]:
        text += (f" **Low coverage:** fewer than {LOW_COVERAGE:.0%} of texts carry a theme, so "
                 "the ranking speaks for a minority of what customers wrote; read the "
                 "emerging themes and the verbatims below, and consider new rules or a "
                 "trained model (`shopcx tag --train`).")
    return text


def rank_pain_points(tagged: pd.DataFrame, baseline: pd.DataFrame,
                     taxonomy: Taxonomy | None = None, alpha: float = 0.05,
                     min_texts: int | None = None) -> pd.DataFrame:
    """Every theme of the period with its behaviour, growth and priority, highest first.

    A theme with fewer than ``min_texts`` texts in the period (default
    :data:`MIN_THEME_TEXTS`) is listed after the ranked ones, without a rank
    (``rank`` is missing): a handful of texts is not a pain point yet.

    Columns: ``rank``, ``theme``, ``label``, ``owner``, ``action``, ``feedback``,
    ``share``, ``baseline_share``, ``growth`` (relative), ``p_adjusted``,
    ``growing`` (significant rise), ``negativity``, ``mean_sentiment``,
    ``mean_rating``, ``orders`` (distinct orders joined), ``cancellation_rate``,
    ``contacts_per_order``, ``contact_csat``, ``top_cancel_reason``,
    ``top_cancel_stage``, ``top_carrier``, ``top_carrier_share``, ``priority``.
    """
    taxonomy = taxonomy or load_taxonomy()
    now = theme_shares(tagged)
    before = theme_shares(baseline).rename(columns={"feedback": "baseline_feedback",
                                                    "share": "baseline_share"})
    t = now.merge(before, on="theme", how="left").fillna({"baseline_feedback": 0,
                                                          "baseline_share": 0.0})
    n_now = int(tagged["text"].notna().sum())
    n_before = int(baseline["text"].notna().sum())
    _, p = two_proportion_test(t["feedback"].to_numpy(), n_now,
                               t["baseline_feedback"].to_numpy(), max(n_before, 0))
    _, t["p_adjusted"] = benjamini_hochberg(p, alpha)
    rising = (t["share"] > t["baseline_share"]) & (t["p_adjusted"] < alpha)
    with np.errstate(divide="ignore", invalid="ignore"):
        relative = np.where(t["baseline_share"] > 0,
                            t["share"] / t["baseline_share"].where(t["baseline_share"] > 0) - 1,
                            GROWTH_CAP)
    t["growth"] = relative
    t["growing"] = rising.to_numpy()
    exploded = tagged.explode("themes").dropna(subset=["themes"])
    rows = []
    for theme, g in exploded.groupby("themes"):
        linked = g[g["joined"]].drop_duplicates("order_id")
        cancelled = linked[linked["cancelled"]]
        carriers = linked["carrier"].dropna()
        rows.append({
            "theme": theme,
            "negativity": float(g["negative"].mean()),
            "mean_sentiment": float(g["sentiment"].mean()),
            "mean_rating": float(pd.to_numeric(g["rating"], errors="coerce").mean()),
            "orders": len(linked),
            "cancellation_rate": float(linked["cancelled"].mean()) if len(linked) else np.nan,
            "contacts_per_order": float(linked["contacts"].mean()) if len(linked) else np.nan,
            "contact_csat": float(linked["contact_csat"].mean()) if len(linked) else np.nan,
            "top_cancel_reason": (cancelled["cancel_initiator"] + ": "
                                  + cancelled["cancel_reason"]).mode().iloc[0]
            if len(cancelled) else None,
            "top_cancel_stage": cancelled["cancel_stage"].mode().iloc[0]
            if len(cancelled) else None,
            "top_carrier": carriers.mode().iloc[0] if len(carriers) else None,
            "top_carrier_share": float((carriers == carriers.mode().iloc[0]).mean())
            if len(carriers) else np.nan,
        })
    behaviour = pd.DataFrame(rows, columns=[
        "theme", "negativity", "mean_sentiment", "mean_rating", "orders", "cancellation_rate",
        "contacts_per_order", "contact_csat", "top_cancel_reason", "top_cancel_stage",
        "top_carrier", "top_carrier_share"])
    t = t.merge(behaviour, on="theme", how="left")
    meta = taxonomy.frame().set_index("theme")
    t["label"] = t["theme"].map(meta["label"]).fillna(t["theme"])
    t["owner"] = t["theme"].map(meta["owner"])
    t["action"] = t["theme"].map(meta["action"])
    growth = np.where(t["growing"], np.clip(t["growth"].fillna(0), 0, GROWTH_CAP), 0.0)
    t["priority"] = (100 * t["share"] * t["negativity"] * (1 + growth)
                     * (1 + t["contacts_per_order"].fillna(0).clip(0, 5))
                     * (1 + t["cancellation_rate"].fillna(0)))
    min_texts = MIN_THEME_TEXTS if min_texts is None else min_texts
    t["ranked"] = t["feedback"] >= min_texts
    t = t.sort_values(["ranked", "priority", "feedback", "theme"],
                      ascending=[False, False, False, True], ignore_index=True)
    rank = pd.array(np.arange(1, len(t) + 1), dtype="Int64")
    t.insert(0, "rank", pd.Series(rank).where(t["ranked"].to_numpy(), pd.NA))
    return t[["rank", "theme", "label", "owner", "action", "feedback", "share",
              "baseline_share", "growth", "p_adjusted", "growing", "negativity",
              "mean_sentiment", "mean_rating", "orders", "cancellation_rate",
              "contacts_per_order", "contact_csat", "top_cancel_reason", "top_cancel_stage",
              "top_carrier", "top_carrier_share", "priority"]]


def join_coverage(tagged: pd.DataFrame) -> dict[str, int]:
    """How much feedback could be joined to an order: counts for the readout."""
    return {"feedback": len(tagged), "with_order_id": int(tagged["order_id"].notna().sum()),
            "joined": int(tagged["joined"].sum()),
            "not_joined": int((tagged["order_id"].notna() & ~tagged["joined"]).sum())}


def in_period(tagged: pd.DataFrame, start: Any, end: Any) -> pd.DataFrame:
    """The rows of a tagged table created in ``[start, end)``."""
    from shopcx.metrics.facts import parse_period

    p = parse_period(start, end)
    created = pd.to_datetime(tagged["created_at"])
    return tagged[(created >= p.start) & (created < p.end)].reset_index(drop=True)


def theme_trend(tagged: pd.DataFrame, themes: list[str], freq: str = "W") -> pd.DataFrame:
    """Share of feedback texts carrying each theme, per week (``W``, from Monday) or day."""
    t = tagged[tagged["text"].notna()].copy()
    if t.empty:
        return pd.DataFrame(columns=["period", "theme", "share", "feedback"])
    t["period"] = pd.to_datetime(t["created_at"]).dt.to_period(
        "W-SUN" if freq == "W" else "D").dt.start_time
    totals = t.groupby("period").size()
    exploded = t.explode("themes")
    counts = (exploded[exploded["themes"].isin(themes)].groupby(["period", "themes"]).size()
              .unstack(fill_value=0).reindex(index=totals.index, columns=themes, fill_value=0))
    shares = counts.div(totals, axis=0)
    out = shares.stack().rename("share").reset_index().rename(columns={"themes": "theme"})
    out["feedback"] = out["period"].map(totals)
    return out


def themes_by_segment(tagged: pd.DataFrame, by: str, themes: list[str],
                      min_feedback: int = 20) -> pd.DataFrame:
    """Share of each segment's feedback texts carrying each theme (segments of the order).

    Rows: segments of ``by`` (an order dimension) with at least ``min_feedback``
    texts, largest first; columns: ``feedback`` and one share per theme.
    """
    t = tagged[tagged["text"].notna() & tagged["joined"]].copy()
    # a carrier is null before hand-over: those orders are "not handed over", not a carrier
    t[by] = t[by].fillna("not handed over" if by == "carrier" else "(not recorded)")
    totals = t.groupby(by).size().rename("feedback")
    exploded = t.explode("themes")
    counts = (exploded[exploded["themes"].isin(themes)].groupby([by, "themes"]).size()
              .unstack(fill_value=0).reindex(index=totals.index, columns=themes, fill_value=0))
    out = counts.div(totals, axis=0)
    out.insert(0, "feedback", totals)
    out = out[out["feedback"] >= min_feedback].sort_values("feedback", ascending=False)
    return out.reset_index()


def sample_by_theme(tagged: pd.DataFrame, themes: list[str], per_theme: int = 3,
                    seed: int = 0) -> pd.DataFrame:
    """A reproducible random sample of texts per theme (raw: redact before showing).

    Uniform within the theme (not the longest or the angriest); columns
    ``theme``, ``source``, ``rating``, ``sentiment``, ``language``, ``text``.
    """
    t = tagged[tagged["text"].notna()].explode("themes")
    parts = []
    for i, theme in enumerate(themes):
        rows = t[t["themes"] == theme]
        if len(rows):
            parts.append(rows.sample(n=min(per_theme, len(rows)), random_state=seed + i))
    if not parts:
        return pd.DataFrame(columns=["theme", "source", "rating", "sentiment", "language",
                                     "text"])
    out = pd.concat(parts).rename(columns={"themes": "theme"})
    out["sentiment"] = out["sentiment"].round(2)
    return out[["theme", "source", "rating", "sentiment", "language", "text"]].reset_index(
        drop=True)


def top_themes(ranking: pd.DataFrame, n: int = 5) -> list[str]:
    """The ids of the ``n`` first themes of the ranking, for charts and verbatims.

    Ranked themes come first; when fewer than ``n`` are ranked, the biggest of the
    too-small ones fill in (their texts are still worth reading).
    """
    return list(ranking["theme"].head(n))


def describe_pain_points(ranking: pd.DataFrame, top: int = 3) -> str:
    """Markdown sentences on the top pain points (no customer text in them)."""
    ranked = ranking[ranking["rank"].notna() & (ranking["priority"] > 0)]
    if ranked.empty:
        return "No negative theme stands out in this period's feedback."
    lines = []
    contacts = bool(ranking["contacts_per_order"].fillna(0).any())  # none: no contacts data
    for _, r in ranked.head(top).iterrows():
        trend = (f"up from {r['baseline_share']:.1%}, a significant rise" if r["growing"]
                 else f"against {r['baseline_share']:.1%} in the baseline")
        text = (f"- **{r['label']}** ({r['owner']}): {r['share']:.1%} of feedback texts, "
                f"{trend}; {r['negativity']:.0%} negative")
        if r["orders"]:
            text += f"; its orders: {r['cancellation_rate']:.0%} cancelled"
            if contacts:
                text += f", {r['contacts_per_order']:.1f} contacts per order"
        if isinstance(r["top_carrier"], str) and r["theme"].startswith("delivery/"):
            text += f"; {r['top_carrier_share']:.0%} with {r['top_carrier']}"
        lines.append(text + ".")
    return "The top pain points:\n\n" + "\n".join(lines)
