"""The impact readout: tables, charts and sentences of a change's estimate.

The estimate itself comes from :func:`shopcx.impact.changes.analyse_change`
(a rollout, a staggered rollout or an A/B experiment); this module only
shows it: one row per metric with its levels, effect, interval and verdict,
the event study as a chart (the pre-trend check), and the run index's list
of the changes with their readouts.
"""

from __future__ import annotations

import html
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from shopcx.metrics.dictionary import KPI_BY_NAME
from shopcx.readouts.formatting import format_delta, format_value
from shopcx.readouts.plots import PALETTE, _done, _empty

__all__ = [
    "change_list",
    "effects_table",
    "experiment_table",
    "method_note",
    "metrics_of",
    "impact_summary",
    "plot_event_studies",
    "plot_impact",
    "rollout_table",
]


def _label(metric: str) -> str:
    return KPI_BY_NAME[metric].label if metric in KPI_BY_NAME else metric


def _pre_trend(p: float | None) -> str:
    if p is None:
        return "n/a"
    return f"{p:.3f}" + (" ⚠ drifting before" if p < 0.05 else "")


def rollout_table(doc: dict[str, Any]) -> pd.DataFrame:
    """One row per metric of a rollout (one market): before → after in the market
    and its controls, the effect with its 95% interval, the verdict, the
    synthetic control's estimate, the pre-trend p-value and the placebos."""
    rows = []
    for e in doc["effects"]:
        k = e["kind"]
        sc, pl = e["synthetic"], e["placebo"]
        rows.append({
            "metric": _label(e["metric"]), "role": e["role"],
            f"{doc['market']} before → after":
                f"{format_value(k, e['treated_before'])} → {format_value(k, e['treated_after'])}",
            "controls before → after":
                f"{format_value(k, e['control_before'])} → {format_value(k, e['control_after'])}",
            "effect": format_delta(k, e["effect"]),
            "95% interval": f"{format_delta(k, e['ci_low'])} to {format_delta(k, e['ci_high'])}",
            "verdict": e["verdict"],
            "synthetic control": format_delta(k, sc["effect"]),
            "pre-trend p": _pre_trend(e["pre_trend_p"]),
            "placebos as large": "n/a" if not pl["dates"] else
            f"{round((pl['as_large'] or 0) * pl['dates'])} of {pl['dates']}",
        })
    return pd.DataFrame(rows)


def experiment_table(doc: dict[str, Any]) -> pd.DataFrame:
    """One row per metric and variant of an experiment: both levels with their
    intervals, the effect with its interval, BH-adjusted p, CUPED, MDE, verdict."""
    rows = []
    for e in doc["effects"]:
        k = e["kind"]
        rows.append({
            "metric": _label(e["metric"]), "role": e["role"], "variant": e["variant"],
            doc["control"]: format_value(k, e["control_value"]),
            "variant value": format_value(k, e["variant_value"]),
            "effect": format_delta(k, e["effect"]),
            "95% interval": f"{format_delta(k, e['ci_low'])} to {format_delta(k, e['ci_high'])}",
            "p (BH)": "n/a" if e["p_adjusted"] is None else f"{e['p_adjusted']:.3g}",
            "CUPED": "off" if not e["cuped"] else
            f"variance {100 * (e['variance_reduction'] or 0):.1f}% lower",
            "detectable (MDE)": format_delta(k, e["mde"]).lstrip("+"),
            "verdict": e["verdict"],
        })
    return pd.DataFrame(rows)


def _rollout_sentences(doc: dict[str, Any]) -> list[str]:
    out = []
    for e in doc["effects"]:
        k = e["kind"]
        line = (f"**{_label(e['metric'])}** ({e['role']}): {format_delta(k, e['effect'])} "
                f"(95% interval {format_delta(k, e['ci_low'])} to {format_delta(k, e['ci_high'])}), "
                f"{e['verdict']}")
        p, pl = e["pre_trend_p"], e["placebo"]
        if p is not None and p < 0.05:
            line += (f"; but {doc['market']} was already drifting from its controls before "
                     f"the change (pre-trend p {p:.3f}): treat this estimate with caution")
        elif pl["dates"] and e["significant"] and (pl["as_large"] or 0) > 0:
            line += (f"; {round(pl['as_large'] * pl['dates'])} of {pl['dates']} placebo "
                     "dates show an effect as large: not clear evidence")
        out.append(line + ".")
    return out


def impact_summary(doc: dict[str, Any]) -> str:
    """The readout's opening in Markdown: the verdict first, then one line per metric."""
    if "sample_ratio" in doc:
        srm = doc["sample_ratio"]
        units = ", ".join(f"{v} {n:,}" for v, n in srm["units"].items())
        return (f"**{html.escape(doc['verdict'])}**\n\n"
                f"{doc['market']}, {doc['unit_type']} units ({units}), from "
                f"{doc['window']['start']} to {doc['window']['end']}; sample ratio "
                f"p = {srm['p_value']:.3g}"
                + (" — **mismatch: the split is broken**" if srm["mismatch"] else " (fine)")
                + (f"; CUPED pre-period {doc['window']['pre_period']}"
                   if doc["window"]["pre_period"] else "; no pre-period (CUPED off)") + ".")
    docs = doc.get("cohorts", [doc])
    lines = []
    for d in docs:
        lines.append(f"**{d['market']}**, changed {d['change_date']}, against "
                     f"{', '.join(d['controls'])} ({d['before']['start']} to "
                     f"{d['after']['end']}):")
        lines += [f"- {s}" for s in _rollout_sentences(d)]
    if "pooled" in doc:
        lines.append("**All markets** (average effect per market):")
        lines += [f"- **{_label(p['metric'])}**: {format_delta(p['kind'], p['effect'])} "
                  f"({format_delta(p['kind'], p['ci_low'])} to {format_delta(p['kind'], p['ci_high'])}), "
                  f"{p['verdict']}." for p in doc["pooled"]]
    return "\n".join(lines)


def plot_event_studies(doc: dict[str, Any], columns: int = 2) -> Figure:
    """The weekly gap between the changed market and its controls, relative to the
    week before the change, with 95% intervals: flat around zero before the
    change (week < 0) if the trends were parallel; the effect after it."""
    panels = [(d["market"], e) for d in doc.get("cohorts", [doc]) for e in d["effects"]
              if e.get("event_study")]
    if not panels:
        return _empty("No event study to show.")
    rows = -(-len(panels) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(11, 2.8 * rows), squeeze=False)
    for ax, (market, e) in zip(axes.flat, panels, strict=False):
        es = pd.DataFrame(e["event_study"])
        x = es["week"].to_numpy()
        gap = es["gap"].astype(float).to_numpy()
        low = (gap - es["ci_low"].astype(float).to_numpy()).clip(min=0)
        high = (es["ci_high"].astype(float).to_numpy() - gap).clip(min=0)
        after = x >= 0
        ax.axhline(0, color=PALETTE["baseline"], linewidth=1)
        ax.axvline(-0.5, color=PALETTE["baseline"], linestyle="--", linewidth=1)
        for sel, colour in ((~after, PALETTE["neutral"]), (after, PALETTE["current"])):
            ax.errorbar(x[sel], gap[sel], yerr=[np.nan_to_num(low[sel]),
                                                np.nan_to_num(high[sel])],
                        fmt="o", color=colour, ecolor=colour, capsize=2, markersize=4)
        p = e["pre_trend_p"]
        ax.set_title(f"{market} · {_label(e['metric'])}"
                     + (f" (pre-trend p {p:.2f})" if p is not None else ""), fontsize=10)
        ax.set_xlabel("weeks from the change")
        if e["kind"] == "proportion":
            ax.yaxis.set_major_formatter(lambda v, _: f"{v * 100:+.1f} pts")
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    return _done(fig)


def change_list(changes: list[Any], results: dict[str, Any], period_start: str,
                period_end: str) -> str:
    """The run index's section: each change or experiment, its date, what it aims at,
    and a link to its impact readout (HTML, escaped)."""
    if not changes:
        return ""
    items = []
    for c in changes:
        r = results.get(c.id)
        if r is not None and r.status == "ok" and r.html:
            link = f'<a href="impact/{html.escape(c.id)}/impact.html">impact readout</a>'
        elif r is not None:
            link = '<span class="failed">impact readout failed</span>'
        else:
            link = ""
        where = ", ".join(f"{m} {d}" for m, d in c.markets.items()) or c.start
        within = period_start <= c.start < period_end
        aims = ", ".join(_label(m) for m in c.metrics) or "default metrics"
        items.append(f"<tr><td>{html.escape(c.title)}</td><td>{html.escape(c.kind)}</td>"
                     f"<td>{html.escape(where)}{'' if within else ' (baseline)'}</td>"
                     f"<td>{html.escape(aims)}</td><td>{link}</td></tr>")
    return ('<h2>Changes and experiments</h2><p class="meta">Policies, tools and flows that '
            "went live in the period or its baseline (params/changes.yaml, and the "
            "experiments of the assignments table), each measured against what did not "
            "change.</p><div class=\"card\"><table><thead><tr><th>change</th><th>kind</th>"
            "<th>markets, first day</th><th>aims at</th><th></th></tr></thead><tbody>"
            + "".join(items) + "</tbody></table></div>")


def effects_table(doc: dict[str, Any]) -> pd.DataFrame:
    """The effects of any estimate: :func:`experiment_table` for an experiment,
    :func:`rollout_table` for a rollout (one block per market when staggered,
    with the pooled average last)."""
    if "sample_ratio" in doc:
        return experiment_table(doc)
    if "cohorts" not in doc:
        return rollout_table(doc)
    parts = []
    for d in doc["cohorts"]:
        t = rollout_table(d).rename(columns={f"{d['market']} before → after":
                                             "market before → after"})
        t.insert(0, "market", d["market"])
        parts.append(t)
    pooled = pd.DataFrame([{
        "market": "all (average)", "metric": _label(p["metric"]), "role": p["role"],
        "effect": format_delta(p["kind"], p["effect"]),
        "95% interval": f"{format_delta(p['kind'], p['ci_low'])} to {format_delta(p['kind'], p['ci_high'])}",
        "verdict": p["verdict"]} for p in doc["pooled"]])
    return pd.concat([*parts, pooled], ignore_index=True).fillna("")


def metrics_of(doc: dict[str, Any]) -> list[str]:
    """The metrics an estimate reports, in its order (for the definitions section)."""
    effects = doc["cohorts"][0]["effects"] if "cohorts" in doc else doc["effects"]
    return list(dict.fromkeys(e["metric"] for e in effects))


def method_note(doc: dict[str, Any]) -> str:
    """How the estimate was made and what it assumes, in plain words (Markdown)."""
    if "sample_ratio" in doc:
        return (
            f"Units ({doc['unit_type']}s) were assigned at random to "
            f"{', '.join(doc['variants'])}; each unit counts from its assignment to "
            f"{doc['window']['end']}. Each metric is a ratio of sums over units (for example "
            "cancellation contacts over orders); its standard error is computed over units "
            "(the delta method), because one buyer's orders are not independent. Where "
            "buyers have a pre-period, the difference is adjusted by the same metric before "
            "the test (CUPED), which narrows the interval without biasing it. p-values are "
            "adjusted with Benjamini–Hochberg across all metrics, so testing many metrics "
            "does not manufacture winners. The sample-ratio check compares units per "
            "variant with the planned split: a mismatch (p < 0.001) means the assignment "
            "is broken and no effect can be trusted. MDE: the smallest effect this sample "
            "detects 80% of the time. Assumes units do not affect each other (a seller "
            "serving both variants could). See docs/impact.md.")
    one = doc["cohorts"][0] if "cohorts" in doc else doc
    return (
        "Difference-in-differences: the change in the market after its change date minus "
        "the change in the control markets over the same days, on daily values of each "
        f"metric. Interval: {one['interval']}. Second opinion: a synthetic control (control "
        "markets weighted to match the market before the change). Checks: the weekly "
        "event study (a pre-trend p below 0.05 means the market was already drifting from "
        "its controls), and placebo changes at fake dates before the real one (an effect "
        "no larger than theirs is not evidence). Assumes the market would have moved like "
        "its controls without the change, and that nothing else changed in it at the same "
        "time. See docs/impact.md.")


def plot_experiment(doc: dict[str, Any]) -> Figure:
    """Each metric's effect relative to the control (%), with its 95% interval: green
    when significantly better for customers, red when worse, grey otherwise."""
    rows = [e for e in doc["effects"] if e["control_value"] and e["effect"] is not None]
    if not rows:
        return _empty("No effect to show.")
    fig, ax = plt.subplots(figsize=(9, 0.5 * len(rows) + 1.2))
    y = np.arange(len(rows))[::-1]
    colours = {"better": "#2E7D32", "worse": PALETTE["current"]}
    for yi, e in zip(y, rows, strict=True):
        base = e["control_value"]
        mid, lo, hi = (100 * e[k] / base for k in ("effect", "ci_low", "ci_high"))
        colour = colours.get(e["verdict"], PALETTE["neutral"])
        ax.errorbar([mid], [yi], xerr=[[mid - lo], [hi - mid]], fmt="o", color=colour,
                    ecolor=colour, capsize=3)
    ax.axvline(0, color=PALETTE["baseline"], linewidth=1)
    ax.set_yticks(y, [f"{_label(e['metric'])} ({e['variant']})" for e in rows])
    ax.set_xlabel(f"effect relative to {doc['control']} (%), 95% interval")
    return _done(fig)


def plot_impact(doc: dict[str, Any]) -> Figure:
    """The picture of an estimate: the event studies of a rollout
    (:func:`plot_event_studies`), the effects of an experiment (:func:`plot_experiment`)."""
    return plot_experiment(doc) if "sample_ratio" in doc else plot_event_studies(doc)
