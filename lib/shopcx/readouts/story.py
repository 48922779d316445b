"""The root-cause readout: what changed, when it started, who drives it, what to do.

Used by the ``root_cause`` notebook and by the links of the summary readout
and the run index. The building blocks are :mod:`shopcx.rootcause.drivers` (drivers),
:mod:`shopcx.rootcause.anomalies` (when, contact bursts) and :mod:`shopcx.voc.painpoints`
(what customers said); this module chooses which metrics to explain and
turns the results into sections of a readout.

* :func:`moved_metrics` -- which metrics a root-cause readout covers: the
  explainable metrics that changed significantly, in order of importance.
* :func:`prepare` -- computes everything one story needs.
* :func:`show` -- displays one metric's story (heading with an anchor that
  the links use, summary, when it started, waterfall, drivers, rate versus
  mix, what kind of cancellations, what customers said, suggested actions).
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from IPython.display import HTML, Markdown, display

from shopcx.errors import InputError
from shopcx.metrics.dictionary import KPI_BY_NAME
from shopcx.metrics.maturity import Maturity
from shopcx.readouts import plots
from shopcx.readouts.formatting import (
    explain_maturity_note,
    format_value,
    no_data,
    scope_notes,
    tested_interval,
)
from shopcx.readouts.narrative import describe_change
from shopcx.readouts.readout import definitions as kpi_definitions
from shopcx.readouts.readout import show_table
from shopcx.rootcause.anomalies import DAILY_METRICS, MIN_DAILY_EVENTS, anomalies
from shopcx.rootcause.dimensions import DIMENSIONS, UNKNOWN
from shopcx.rootcause.drivers import EXPLAINABLE, GROUP_SEP, OUTSIDE, SEP, explain
from shopcx.voc.painpoints import tag_feedback
from shopcx.voc.themes import load_taxonomy

__all__ = ["ACTIONS", "METHOD", "ORDER", "Story", "actions_for", "burst_table", "definitions",
           "driver_table", "moved_metrics", "plot_timing", "prepare", "prepare_all",
           "root_cause_links", "show", "show_all", "timing_table",
           "voice_for"]

ORDER = ("cancellation_rate", "seller_fault_cancellation_rate", "cancel_request_success_rate",
         "cpo", "cancel_cpo", "cancel_exit_in_transit", "cancel_exit_awaiting_shipment",
         "cancel_exit_unpaid", "cancel_exit_delivered", "cancellation_rate_buyer",
         "cancellation_rate_seller", "cancellation_rate_system", "cancellation_rate_platform")
"""Explainable metrics in the order a root-cause readout takes them."""

DAILY = {"cancellation_rate": "cancellation_rate",
         "seller_fault_cancellation_rate": "seller_fault_cancellation_rate",
         "cancel_request_success_rate": "cancel_request_success_rate", "cpo": "cpo",
         "cancel_cpo": "cpo"}
"""The daily series that dates each metric's change (cancellation rates by default)."""

ACTIONS = {
    "carrier": ("Logistics", "Review {key}'s pickups and transit times with the carrier; "
                "shift volume to other carriers while its rate stays high."),
    "seller_id": ("Seller operations", "Contact {key} about stock sync, handling "
                  "time and listing accuracy; apply the seller-fault policy if it persists."),
    "category": ("Category management", "Check {key} listings for stock and price accuracy, "
                 "and the sellers behind the rise."),
    "payment_method": ("Payments", "Review the {key} checkout: payment confirmation, COD "
                       "verification, unpaid-order timers."),
    "sales_channel": ("Content and live operations", "Check {key} sessions: delivery dates "
                      "promised, stock shown against stock available."),
    "fulfillment": ("Fulfillment operations", "Review {key} handling times and ship "
                    "deadlines."),
    "buyer_segment": ("CX programme", "Reach {key} buyers before they cancel: proactive "
                      "order-status messages, clear cancellation rules."),
}
"""Owner team and next step per dimension of a driver."""


@dataclass
class Story:
    """Everything one metric's root-cause section shows."""

    metric: str
    market: str
    change: pd.Series | None
    result: dict[str, Any]
    timing: dict[str, Any] | None = None
    voice: dict[str, pd.DataFrame] = field(default_factory=dict)


ESCALATION_METRICS = ("escalations_per_1000_orders", "cancel_escalation_rate")
ESCALATION_ACTIONS = {
    "seller_id": ("Seller operations", "Review the decisions of {key} on cancel requests "
                  "(rejections, response times) against the cancellation policy; enforce "
                  "it, or auto-approve their requests made before shipment."),
    "category": ("Category management with Seller operations", "Find the sellers of {key} "
                 "behind the escalations (the sellers table) and how they handle cancel "
                 "requests."),
    "channel": ("Customer service", "Review how {key} contacts about cancellations are "
                "handled and routed: answers available, hand-over to an agent."),
    "reason": ("Customer service", "Review the answers given to {key} contacts: is the "
               "request's status and the next step clear?"),
}
"""Owner and next step per dimension when the explained metric is about escalations."""


def moved_metrics(changes: pd.DataFrame, metric: str = "auto", limit: int = 3) -> list[str]:
    """The metrics a root-cause readout explains.

    ``metric`` names one explainable metric, or ``"auto"``: the explainable
    metrics that changed significantly, in :data:`ORDER`, at most ``limit``;
    the cancellation rate when none did (the readout then says so).
    """
    if metric != "auto":
        if metric not in EXPLAINABLE:
            raise InputError(f"metric {metric!r} cannot be explained; choose one of "
                             f"{', '.join(EXPLAINABLE)} or auto")
        return [metric]
    sig = set(changes.loc[changes["significant"].fillna(False).astype(bool), "kpi"])
    picked = [m for m in ORDER if m in sig][:limit]
    return picked or ["cancellation_rate"]


def _in_tagged(tagged: pd.DataFrame, dimension: str, key: str,
               members: Any = None) -> pd.Series | None:
    """The texts of a driver's units (a group's: its members')."""
    dims, keys = dimension.split(SEP), key.split(SEP)
    mask = pd.Series(True, index=tagged.index)
    for d, k in zip(dims, keys, strict=True):
        if d not in tagged.columns:
            return None
        values = tagged[d].astype(object).where(tagged[d].notna(), "(none)").astype(str)
        mask &= values.isin(members) if isinstance(members, (list, tuple)) else values == k
    return mask


def voice_for(tagged: pd.DataFrame, drivers: pd.DataFrame, labels: dict[str, str],
              top: int = 3, min_texts: int = 5) -> dict[str, pd.DataFrame]:
    """What customers of each driver segment said: top themes, against the rest."""
    out: dict[str, pd.DataFrame] = {}
    if tagged.empty:
        return out
    texts = tagged[tagged["text"].notna()]
    for _, d in drivers.iterrows():
        mask = _in_tagged(texts, d["dimension"], d["key"], d.get("members"))
        if mask is None or mask.sum() < min_texts:
            continue
        inside, rest = texts[mask], texts[~mask]
        ex_in = inside[["feedback_id", "themes"]].explode("themes").dropna()
        ex_rest = rest[["feedback_id", "themes"]].explode("themes").dropna()
        share_in = ex_in.groupby("themes")["feedback_id"].nunique() / len(inside)
        share_rest = (ex_rest.groupby("themes")["feedback_id"].nunique() / len(rest)
                      if len(rest) else share_in * 0)
        t = pd.DataFrame({"share": share_in}).join(
            pd.DataFrame({"rest_of_market": share_rest}), how="left").fillna(0.0)
        t = t.sort_values("share", ascending=False).head(top)
        t.insert(0, "theme", [labels.get(i, i) for i in t.index])
        t["texts"] = len(inside)
        out[f"{d['dimension']}={d['key']}"] = t.reset_index(drop=True)
    return out


def prepare(source: Any, market: str, metric: str, start: Any, end: Any, baseline_start: Any,
            baseline_end: Any, changes: pd.DataFrame | None = None,
            tagged: pd.DataFrame | None = None, labels: dict[str, str] | None = None,
            top: int = 12, maturity: Maturity | None = None) -> Story:
    """Compute one metric's story: drivers, timing, and the voice of driver segments.

    A young period's metric is explained against its baseline at the same age
    (see :func:`shopcx.rootcause.explain`), like the KPI comparison."""
    result = explain(source, market, metric, (baseline_start, baseline_end), (start, end),
                     top=top, maturity=maturity)
    row = None
    if changes is not None and (changes["kpi"] == metric).any():
        row = changes[changes["kpi"] == metric].iloc[0]
    timing = None
    if metric in DAILY or metric.startswith(("cancel_exit", "cancellation_rate")):
        daily = DAILY.get(metric, "cancellation_rate")
        timing = anomalies(source, market, (baseline_start, baseline_end), (start, end),
                           metrics=(daily,))
        timing["metric"] = daily
    drivers = _significant(result["drivers_table"])
    voice = voice_for(tagged, drivers.head(3), labels or {}) if tagged is not None else {}
    return Story(metric, market.upper(), row, result, timing, voice)


def _significant(drivers: pd.DataFrame) -> pd.DataFrame:
    return drivers[~drivers["noise"].astype(bool)].reset_index(drop=True)


def _pts(kind: str, v: float) -> str:
    return f"{v:+.3f}" if kind == "ratio" else f"{v * 100:+.2f} pts"


def _members(dimension: str, key: str) -> list[str] | None:
    """A group driver's members (its key joins them), or None for one segment."""
    if dimension in DIMENSIONS and DIMENSIONS[dimension].grouped and GROUP_SEP in key:
        return key.split(GROUP_SEP)
    return None


def _named(dimension: str, key: str) -> str:
    """A driver's segment as the next step names it: "seller S1", "sellers S1, S2 and S3"."""
    members = _members(dimension, key)
    noun = dimension.removesuffix("_id").replace("_", " ")
    if members is not None:
        return f"{noun}s {', '.join(members[:-1])} and {members[-1]}"
    return f"{noun} {key}" if dimension == "seller_id" else key


def _label(dimension: str, key: str) -> str:
    def one(d: str, k: str) -> str:
        if _members(d, k) is not None:
            return f"{_named(d, k)} together"
        name = d.replace("_", " ")
        if k == UNKNOWN:  # inside the dimension's scope, the value was not recorded
            return f"orders whose {name} was not recorded"
        if k == OUTSIDE:
            return f"orders outside the {name}'s scope (not handed over)"
        return f"{name} {k}"
    return " and ".join(one(d, k) for d, k in zip(dimension.split(SEP), key.split(SEP),
                                                   strict=True))


def driver_table(story: Story, others: int = 5) -> pd.DataFrame:
    """The drivers as a readout table: every significant driver, then the ``others``
    largest segments that followed the market or stayed within noise."""
    kind = EXPLAINABLE[story.metric].kind
    d = story.result["drivers_table"]
    d = pd.concat([d[~d["noise"]], d[d["noise"]].head(others)])
    segments = story.result["all_segments"]
    tested = int(segments["supported"].fillna(False).astype(bool).sum())
    def value(v: float) -> str:
        if pd.isna(v):  # no orders in that period
            return "n/a"
        return f"{v:.3f}" if kind == "ratio" else f"{v:.1%}"

    return pd.DataFrame({
        "segment": [_label(r["dimension"], r["key"]) for _, r in d.iterrows()],
        "contribution": [_pts(kind, v) for v in d["contribution"]],
        "share of change": [f"{v:.0%}" if pd.notna(v) else "" for v in d["share_of_change"]],
        "effect": d["effect"],
        "before → after": [f"{value(a)} → {value(b)}" for a, b in zip(
            d["baseline_value"], d["current_value"], strict=True)],
        "share of orders": [f"{a:.1%} → {b:.1%}" for a, b in zip(
            d["baseline_share"], d["current_share"], strict=True)],
        "95% interval": [_interval(r, kind) for _, r in d.iterrows()],
        "verdict": [_verdict(r, tested) for _, r in d.iterrows()],
    })


def _interval(r: pd.Series, kind: str) -> str:
    low, high, mix = tested_interval(r)
    text = f"{_pts(kind, low)} .. {_pts(kind, high)}"
    return f"{text} (mix effect {_pts(kind, r['mix_effect'])})" if mix else text


def _verdict(r: pd.Series, tested: int) -> str:
    if r.get("follows_market"):
        return "follows the market"
    if r["noise"]:
        if not r.get("supported", True):
            return "too few orders to judge"
        low, high, _ = tested_interval(r)
        if low > 0 or high < 0:  # its own interval excludes zero
            return f"within noise once {tested} segments are tested"
        return "within noise"
    return "driver, against the change" if r.get("against_change") else "driver"


def actions_for(story: Story, limit: int = 3) -> pd.DataFrame:
    """Suggested next step and owner team per significant driver."""
    rows = []
    kpi = KPI_BY_NAME.get(story.metric)
    better = kpi.better if kpi is not None else "lower"
    change = story.result["change"] or 0.0
    worse = (change > 0) == (better == "lower")
    actions = {**ACTIONS, **ESCALATION_ACTIONS} if story.metric in ESCALATION_METRICS \
        else ACTIONS
    for _, d in _significant(story.result["drivers_table"]).head(limit).iterrows():
        dims, keys = d["dimension"].split(SEP), d["key"].split(SEP)
        owners = [actions.get(x, ("Analytics", ""))[0] for x in dims]
        if worse:
            steps = [actions.get(x, ("", "Investigate {key}."))[1].format(key=_named(x, k))
                     if k != UNKNOWN else f"Find out why {x.replace('_', ' ')} is missing "
                     "on these orders, then look at them again."
                     for x, k in zip(dims, keys, strict=True)]
            step = " ".join(steps)
        else:
            step = (f"An improvement led by {_label(d['dimension'], d['key'])}: find out "
                    "what changed there and spread it.")
        orders = int(d.get("n_0", 0) + d.get("n_1", 0))
        rows.append({"driver": _label(d["dimension"], d["key"]),
                     "owner": " with ".join(dict.fromkeys(owners)), "next step": step,
                     "evidence": f"{_pts(EXPLAINABLE[story.metric].kind, d['contribution'])}"
                                 f" of {_pts(EXPLAINABLE[story.metric].kind, change)}, "
                                 f"{orders:,} {_unit(story.metric, orders)} over both periods"})
    return pd.DataFrame(rows, columns=["driver", "owner", "next step", "evidence"])


def _timing_sentence(story: Story) -> str:
    if story.timing is None:
        return ""
    name = story.timing["metric"]
    st = story.timing["started"][name]
    label = KPI_BY_NAME[name].label.lower() if name in KPI_BY_NAME else name
    if st.get("events_per_day", MIN_DAILY_EVENTS) < MIN_DAILY_EVENTS:
        return (f"With {st['events_per_day']:.1f} events a day, the daily {label} is too "
                "sparse to date when the change started.")
    if st["change_point"] is not None:
        cp = story.timing["change_points"]
        row = cp[(cp["metric"] == name) & (cp["day"] == st["change_point"])].iloc[0]
        kind = DAILY_METRICS[name][0]
        fmt = (lambda v: f"{v:.1%}") if kind == "rate" else (lambda v: f"{v:.3f}")
        text = (f"The daily {label} changed level on **{st['change_point']:%d %b %Y}** "
                f"(from {fmt(row['before'])} to {fmt(row['after'])}, weekday-adjusted)")
    elif st["first_anomaly"] is not None:
        text = f"The daily {label} first left its expected band on " \
               f"**{st['first_anomaly']:%d %b %Y}**"
    else:
        return (f"The daily {label} stayed within its expected band: no single day or "
                "shift stands out.")
    return text + f"; {st['anomalous_days']} of {st['days']} days were outside the band."


def _summary(story: Story) -> str:
    r = story.result
    kind = EXPLAINABLE[story.metric].kind
    parts = []
    if story.change is not None:
        parts.append(describe_change(story.change))
    elif r["change"] is not None:
        parts.append(f"{story.metric} moved {_pts(kind, r['change'])}.")
    drivers = _significant(r["drivers_table"])
    if r["change"] is None:
        parts.append("One of the periods has no data, so nothing can be attributed.")
    elif drivers.empty:
        parts.append("No segment stands out: no driver is significant beyond what the "
                     "whole market did or what chance would produce.")
    else:
        top = drivers.iloc[0]
        effect = {"rate": "its own rate moved", "mix": "its share of orders moved",
                  "both": "both its rate and its share moved"}[top["effect"]]
        parts.append(f"The largest driver is **{_label(top['dimension'], top['key'])}**, "
                     f"{_pts(kind, top['contribution'])} ({top['share_of_change']:.0%} of the "
                     f"change): {effect}.")
        if len(drivers) > 1:
            others = ", ".join(_label(x["dimension"], x["key"])
                               for _, x in drivers.iloc[1:4].iterrows())
            parts.append(f"Also significant: {others}.")
    timing = _timing_sentence(story)
    if timing:
        parts.append(timing)
    return " ".join(parts)


def _unit(metric: str, count: int) -> str:
    unit = EXPLAINABLE[metric].unit.rstrip("s")
    return unit if count == 1 else unit + "s"


def _waterfall_dimension(story: Story) -> str | None:
    """The dimension of the top driver the summary names (a combination's first one);
    None when nothing is significant: a waterfall would then name no cause."""
    drivers = _significant(story.result["drivers_table"])
    return None if drivers.empty else drivers.iloc[0]["dimension"].split(SEP)[0]


def show(story: Story) -> None:
    """Display one metric's root-cause section (for a notebook cell)."""
    r = story.result
    label = KPI_BY_NAME[story.metric].label if story.metric in KPI_BY_NAME else story.metric
    kind = EXPLAINABLE[story.metric].kind
    value = "proportion" if kind == "proportion" else "ratio"
    display(HTML(f'<h2 id="{html.escape(story.metric)}">{html.escape(label)}: '
                 f'{format_value(value, r["baseline"]["value"])} → '
                 f'{format_value(value, r["current"]["value"])}</h2>'))
    display(Markdown(_summary(story)))
    young = explain_maturity_note(r)
    if young:
        display(Markdown(f"*{young}*"))
    if story.timing is not None:
        name = story.timing["metric"]
        daily = story.timing["daily"]
        display(plots.plot_daily_band(daily[daily["metric"] == name],
                                      story.timing["change_points"].query("metric == @name"),
                                      KPI_BY_NAME[name].label if name in KPI_BY_NAME else name,
                                      DAILY_METRICS[name][0], r["current"]["start"]))
    dim = _waterfall_dimension(story)
    if dim is not None and r["change"] is not None:
        seg = r["all_segments"][r["all_segments"]["dimension"] == dim]
        top = _significant(r["drivers_table"]).iloc[0]
        lead = top["key"].split(SEP)[0]
        members = _members(top["dimension"], lead)  # a group: its members, together
        display(plots.plot_waterfall(seg, r["baseline"]["value"], r["current"]["value"],
                                     dim.replace("_", " "), kind,
                                     lead=members if members is not None else lead))
        rate, mix = seg["rate_effect"].sum(), seg["mix_effect"].sum()
        display(Markdown(
            f"**Rate or mix?** Across {dim.replace('_', ' ')}, the segments' own rates "
            f"account for {_pts(kind, rate)} and shifts in their share of orders for "
            f"{_pts(kind, mix)} of the {_pts(kind, r['change'])} change."))
    display(HTML("<h3>Drivers</h3>"))
    if r["drivers_table"].empty:
        display(Markdown("No segment large enough to test pushed the change beyond its "
                         "share of orders."))
    else:
        display(show_table(driver_table(story)))
        display(Markdown(
            "Contribution: how much of the change the segment accounts for (within a "
            "dimension the contributions add up to the change). *Follows the market*: the "
            "segment moved like everyone else; *within noise*: chance could explain it. "
            "Segments that only reflect another driver are left out."))
    display(Markdown(" ".join(scope_notes(r, lambda v: _pts(kind, v), _unit(story.metric, 2),
                                          mark=lambda name: f"*{name}*"))))
    b = r["breakdown_table"]
    if not b.empty and r["change"] is not None:
        kinds = b.head(6)
        journey = story.metric in ESCALATION_METRICS
        display(HTML("<h3>How the escalations came about: the buyer's latest cancel "
                     "request</h3>" if journey else
                     "<h3>What kind of cancellations moved</h3>"))
        display(show_table(pd.DataFrame({
            "by": kinds["dimension"].str.replace("cancel_", "", regex=False),
            "value": kinds["key"].astype(str),
            "contribution": [_pts(kind, v) for v in kinds["contribution"]],
            f"share of {_unit(story.metric, 2)}": [f"{a:.1%} → {c:.1%}" for a, c in zip(
                kinds["baseline_share"], kinds["current_share"], strict=True)]})))
    if story.voice:
        display(HTML("<h3>What customers of these segments said</h3>"))
        for who, t in story.voice.items():
            dim_, key = who.split("=", 1)
            display(show_table(t.drop(columns="texts"), formats={
                "share": "pct", "rest_of_market": "pct"},
                caption=f"{_label(dim_, key)}: {int(t['texts'].iloc[0])} feedback texts"))
    acts = actions_for(story)
    if not acts.empty:
        display(HTML("<h3>Suggested actions</h3>"))
        display(show_table(acts))


def prepare_all(source: Any, market: str, metrics: list[str], start: Any, end: Any,
                baseline_start: Any, baseline_end: Any, changes: pd.DataFrame | None = None,
                maturity: Maturity | None = None) -> list[Story]:
    """:func:`prepare` for several metrics, tagging the period's feedback once."""
    taxonomy = load_taxonomy()
    tagged = tag_feedback(source, market, start, end, taxonomy)
    labels = {t.id: t.label for t in taxonomy.themes.values()}
    return [prepare(source, market, m, start, end, baseline_start, baseline_end, changes,
                    tagged, labels, maturity=maturity) for m in metrics]


def show_all(stories: list[Story]) -> None:
    """:func:`show` for each story, in order."""
    for s in stories:
        show(s)


def timing_table(timing: dict[str, Any]) -> pd.DataFrame:
    """When each daily series changed: change points and days outside the band."""
    rows = []
    cps = timing["change_points"]
    for name, st in timing["started"].items():
        if not st["days"] or not st.get("events_per_day", 1.0):  # no data for this series
            continue
        kind = DAILY_METRICS[name][0]
        fmt = ((lambda v: f"{v:.1%}") if kind == "rate" else
               (lambda v: f"{v:.1f} h") if kind == "hours" else (lambda v: f"{v:.3f}"))
        mine = cps[cps["metric"] == name] if len(cps) else cps
        shifts = "; ".join(f"{r['day']:%d %b}: {fmt(r['before'])} → {fmt(r['after'])}"
                           for _, r in mine.iterrows())
        rows.append({"metric": KPI_BY_NAME[name].label if name in KPI_BY_NAME else name,
                     "started": "" if st["change_point"] is None
                     else f"{st['change_point']:%d %b %Y}",
                     "first day outside the band": "" if st["first_anomaly"] is None
                     else f"{st['first_anomaly']:%d %b %Y}",
                     "days outside the band": f"{st['anomalous_days']} of {st['days']}",
                     "level shifts (weekday-adjusted)": shifts or (
                         "none" if st.get("events_per_day", MIN_DAILY_EVENTS)
                         >= MIN_DAILY_EVENTS else
                         f"too sparse to date ({st['events_per_day']:.1f} events a day)")})
    return pd.DataFrame(rows)


def plot_timing(timing: dict[str, Any], split: Any = None) -> Any:
    """The daily series that changed level in the current period (or the first one)."""
    started = [m for m, st in timing["started"].items() if st["change_point"] is not None]
    name = started[0] if started else next(iter(timing["started"]))
    daily, cps = timing["daily"], timing["change_points"]
    label = KPI_BY_NAME[name].label if name in KPI_BY_NAME else name
    return plots.plot_daily_band(daily[daily["metric"] == name],
                                 cps[cps["metric"] == name] if len(cps) else cps, label,
                                 DAILY_METRICS[name][0], split)


def burst_table(bursts: pd.DataFrame, changes: pd.DataFrame | None = None
                ) -> pd.DataFrame | str:
    """Contact bursts as a readout table (``changes`` tells whether there are contacts)."""
    if bursts.empty:
        if changes is not None and "contacts" in no_data(changes):
            return pd.DataFrame({"finding": ["The data holds no contacts for this market: "
                                             "there is nothing to search for bursts."]})
        return pd.DataFrame({"finding": ["No contact reason rose beyond what the volume of "
                                         "orders explains."]})
    return pd.DataFrame({
        "contact reason and attributes": bursts["label"].str.replace("_", " "),
        "contacts before": bursts["baseline"].astype(int),
        "contacts now": bursts["current"].astype(int),
        "expected now": bursts["expected"].round().astype(int),
        "excess": bursts["excess"].round().astype(int),
        "started": [("" if pd.isna(d) else f"{d:%d %b %Y}") for d in bursts["started"]],
    })


METHOD = (
    "**Method.** *Contribution* of a segment: its part of the change of the rate, split "
    "exactly into a *rate* effect (its own rate moved) and a *mix* effect (its share of "
    "orders moved, counted against the market's mean rate, so a segment growing at the "
    "market's own rate explains nothing); within one dimension the contributions add up "
    "to the change. Intervals count the uncertainty of both the rates and the shares. "
    "Drivers are the segments with at least 30 orders and 5 events that pushed the rate "
    "beyond their share of orders, ranked by contribution; *within noise* when chance "
    "could explain it (95%, Benjamini–Hochberg across all segments), *follows the "
    "market* when it moved like everyone else. The carrier describes only orders handed "
    "to a carrier; buyer segments are used only when the data holds the buyer history "
    "they are defined on. "
    "Segments that only reflect another driver (a carrier that only carries one failing "
    "seller) are left out, and a combination of two dimensions replaces both when it holds "
    "most of each. *Expected band*: the baseline's level and weekday rhythm ± 3 standard "
    "deviations; *change points*: PELT on the weekday-adjusted daily series. *Contact "
    "bursts*: contacts per reason and order attributes against the baseline scaled by "
    "orders (Poisson test). Details: `docs/root_cause.md`.")


def definitions(metrics: list[str]) -> str:
    """The definitions of the explained metrics, then the method (Markdown)."""
    return kpi_definitions([m for m in metrics if m in KPI_BY_NAME]) + "\n\n" + METHOD


def root_cause_links(changes: pd.DataFrame, limit: int = 3, page: str = "root_cause.html"
                     ) -> str:
    """Markdown links to the root-cause sections of the metrics that moved significantly."""
    picked = moved_metrics(changes, "auto", limit)
    sig = set(changes.loc[changes["significant"].fillna(False).astype(bool), "kpi"])
    moved = [m for m in picked if m in sig]
    if not moved:
        return (f"No explainable metric changed significantly; the [root-cause readout]({page}) "
                "shows the cancellation rate's drivers anyway.")
    links = [f"[{KPI_BY_NAME[m].label}]({page}#{m})" for m in moved]
    return "Why did it change? Root cause of: " + " · ".join(links)


def changes_note(source: Any, changes_file: str, market: str, start: str, end: str,
                 page: str = "../impact/{id}/impact.html") -> str:
    """Markdown: the changes and experiments of ``market`` whose first day is in
    ``[start, end)`` (the changes file, default params/changes.yaml, and the
    assignments table), each with a link to its impact readout."""
    from shopcx.impact.changes import changes_in, changes_path, load_changes
    from shopcx.impact.experiment import list_experiments

    found = changes_in(load_changes(changes_path(changes_file or None) or None),
                       list_experiments(source), [market], start, end)
    if not found:
        return (f"No change or experiment recorded for {market} in this period "
                "(params/changes.yaml and the assignments table).")
    lines = []
    for c in found:
        aims = ", ".join(KPI_BY_NAME[m].label.lower() for m in c.metrics if m in KPI_BY_NAME)
        lines.append(f"- **{html.escape(c.title)}** ({c.kind}, from {c.start}"
                     + (f"; aims at {aims}" if aims else "") + "): "
                     f"[did it work?]({page.format(id=c.id)})")
    return "\n".join(lines)
