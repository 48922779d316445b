"""Plotting helpers: one consistent style, titles that state the finding.

Every function takes a table produced by the analysis modules and returns a
matplotlib Figure, already closed so that a notebook shows it once, as the
cell's result (embedded as an image in the HTML readouts). Rates are drawn on
percentage axes.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

__all__ = [
    "PALETTE",
    "plot_contact_pareto",
    "plot_daily_band",
    "plot_funnel",
    "plot_hours_histogram",
    "plot_kpi_trends",
    "plot_rate_trend",
    "plot_reasons",
    "plot_segments",
    "plot_theme_trend",
    "plot_waterfall",
    "plot_seller_fault",
    "set_style",
]

PALETTE = {"buyer": "#4C72B0", "seller": "#DD8452", "system": "#8172B3", "platform": "#55A868",
           "current": "#C44E52", "baseline": "#A0A0A0", "threshold": "#C44E52",
           "neutral": "#4C72B0"}


def set_style() -> None:
    """The house style: white grid, readable sizes, inline PNG at a crisp resolution."""
    sns.set_theme(style="whitegrid", context="notebook", font_scale=0.95)
    plt.rcParams.update({"figure.dpi": 110, "savefig.dpi": 110, "axes.titleweight": "bold",
                         "axes.titlesize": 12, "axes.titlelocation": "left",
                         "figure.autolayout": True})


def _percent(ax: plt.Axes, axis: str = "y", decimals: int | None = None) -> None:
    """Percent tick labels with as many decimals as the ticks need to differ
    (``decimals`` is a preference matplotlib overrides: never "2%, 2%, 2%")."""
    del decimals  # automatic: the formatter derives the decimals from the axis range
    fmt = PercentFormatter(1.0, decimals=None)
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(fmt)


def _done(fig: Figure) -> Figure:
    plt.close(fig)
    return fig


def _empty(title: str) -> Figure:
    fig, ax = plt.subplots(figsize=(8, 1.6))
    ax.axis("off")
    ax.text(0, 0.5, title, fontsize=11, va="center")
    return _done(fig)


def plot_funnel(funnel: pd.DataFrame) -> Figure:
    """Orders reaching each step, with the cancellations that leave at each step."""
    placed = int(funnel["orders"].iloc[0]) if len(funnel) else 0
    if not placed:
        return _empty("No orders in this period.")
    worst = funnel.loc[funnel["cancelled"].idxmax()]
    title = (f"{funnel['exit_rate'].sum():.1%} of orders were cancelled; most leave at "
             f"'{worst['step']}' ({worst['exit_rate']:.1%} of orders)")
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 3.4), gridspec_kw={"width_ratios": [3, 2]})
    a1.barh(funnel["step"], funnel["share"], color=PALETTE["neutral"])
    a1.invert_yaxis()
    _percent(a1, "x")
    a1.set_xlim(0, 1.08)
    for y, (share, n) in enumerate(zip(funnel["share"], funnel["orders"], strict=True)):
        a1.text(share + 0.01, y, f"{share:.1%} ({n:,})", va="center", fontsize=9)
    a1.set_xlabel("share of placed orders reaching the step")
    a1.set_title(title)
    left = np.zeros(len(funnel))
    for who in ("buyer", "seller", "system", "platform"):
        values = funnel[f"cancelled_{who}"] / placed
        a2.barh(funnel["step"], values, left=left, color=PALETTE[who], label=who)
        left += values.to_numpy()
    a2.invert_yaxis()
    a2.set_yticklabels([])
    _percent(a2, "x", 1)
    a2.set_xlabel("cancelled at this step, share of placed orders")
    a2.legend(title="initiator", fontsize=8, title_fontsize=8, ncol=4, loc="upper center",
              bbox_to_anchor=(0.5, -0.28), frameon=False)
    return _done(fig)


def plot_rate_trend(trend: pd.DataFrame, column: str = "rate", label: str = "cancellation rate",
                    split: pd.Timestamp | str | None = None, by_initiator: bool = False) -> Figure:
    """Daily (or weekly) rate with a 7-point rolling mean; ``split`` marks the period start."""
    if trend.empty:
        return _empty(f"No orders to show a {label} trend.")
    peak = trend.loc[trend[column].idxmax()]
    title = f"{label.capitalize()} peaked at {peak[column]:.1%} on {peak['period']:%d %b}"
    fig, ax = plt.subplots(figsize=(11, 3.6))
    if by_initiator:
        bottom = np.zeros(len(trend))
        for who in ("buyer", "seller", "system", "platform"):
            values = trend[f"rate_{who}"].to_numpy(dtype=float)
            ax.fill_between(trend["period"], bottom, bottom + values, step="mid",
                            color=PALETTE[who], alpha=0.75, label=who, linewidth=0)
            bottom += values
        ax.legend(title="initiator", fontsize=8, title_fontsize=8, ncol=4, loc="upper left")
    else:
        ax.plot(trend["period"], trend[column], color=PALETTE["neutral"], alpha=0.45,
                label="daily")
        ax.plot(trend["period"], trend[column].rolling(7, min_periods=1).mean(),
                color=PALETTE["neutral"], linewidth=2.2, label="7-day mean")
        ax.legend(fontsize=8, loc="upper left")
    if split is not None:
        ax.axvline(pd.Timestamp(split), color="#333333", linestyle="--", linewidth=1)
        ax.text(pd.Timestamp(split), ax.get_ylim()[1] * 0.97, " current period", fontsize=8,
                va="top")
    _percent(ax, "y", 1)
    ax.set_ylabel(label)
    ax.set_xlabel("order date")
    ax.set_title(title)
    return _done(fig)


def plot_reasons(current: pd.DataFrame, baseline: pd.DataFrame | None = None,
                 top: int = 12) -> Figure:
    """Cancellation rate by initiator and reason, current against baseline."""
    if current.empty:
        return _empty("No cancellations in this period.")
    cur = current.assign(key=current["initiator"] + ": " + current["reason"].str.replace("_", " "))
    cur = cur.nlargest(top, "rate")
    data = cur[["key", "rate"]].assign(period="current")
    if baseline is not None and not baseline.empty:
        base = baseline.assign(key=baseline["initiator"] + ": "
                               + baseline["reason"].str.replace("_", " "))
        data = pd.concat([data, base[base["key"].isin(cur["key"])][["key", "rate"]]
                          .assign(period="baseline")])
    top_row = cur.iloc[0]
    fig, ax = plt.subplots(figsize=(10, 0.36 * len(cur) + 1.4))
    sns.barplot(data=data, y="key", x="rate", hue="period", order=cur["key"], ax=ax,
                palette={"current": PALETTE["current"], "baseline": PALETTE["baseline"]})
    _percent(ax, "x", 1)
    ax.set_xlabel("cancelled orders, share of all orders")
    ax.set_ylabel("")
    ax.set_title(f"Largest cause: {top_row['key']} ({top_row['rate']:.2%} of orders)")
    return _done(fig)


def plot_hours_histogram(hours: pd.DataFrame, median: float | None, p90: float | None,
                         timer: float | None = None) -> Figure:
    """Distribution of hours to resolve, with the median, p90 and the auto-approve timer."""
    if hours["requests"].sum() == 0:
        return _empty("No resolved cancel requests in this period.")
    fig, ax = plt.subplots(figsize=(11, 3.4))
    width = float(hours["hours_from"].iloc[1] - hours["hours_from"].iloc[0])
    total = hours["requests"].sum()
    auto = hours["auto"] / total
    ax.bar(hours["hours_from"], auto, width=width * 0.92, align="edge",
           color=PALETTE["platform"], label="decided by rule or timer")
    ax.bar(hours["hours_from"], hours["share"] - auto, bottom=auto, width=width * 0.92,
           align="edge", color=PALETTE["neutral"], label="decided by a person")
    for value, name, style in ((median, "median", ":"), (p90, "p90", "--"),
                               (timer, "auto-approve timer", "-")):
        if value is not None and not pd.isna(value):
            ax.axvline(value, color=PALETTE["threshold"] if name.startswith("auto") else "#333",
                       linestyle=style, linewidth=1.4)
            ax.text(value, ax.get_ylim()[1] * 0.95, f" {name} {value:.0f} h", fontsize=8,
                    va="top")
    _percent(ax, "y", 0)
    ax.set_xlabel(f"hours from request to decision (last bar: {hours['hours_from'].iloc[-1]:.0f} h"
                  " or more)")
    ax.set_ylabel("share of decided requests")
    title = "Time to resolve buyer cancel requests"
    if median is not None and not pd.isna(median):
        title = f"Half of cancel requests are decided within {median:.0f} h; 90% within {p90:.0f} h"
    ax.set_title(title)
    ax.legend(fontsize=8, loc="upper right")
    return _done(fig)


def plot_seller_fault(sellers: pd.DataFrame, market_rate: float | None,
                      threshold: float, min_orders: int = 20) -> Figure:
    """The sellers with most seller-fault cancellations, their rate against the threshold
    (sellers with fewer than ``min_orders`` orders are not ranked)."""
    if sellers.empty:
        if market_rate is not None and not pd.isna(market_rate) and market_rate > 0:
            return _empty(f"Sellers with {min_orders}+ orders: none had a seller-fault "
                          f"cancellation. The {market_rate:.2%} comes from smaller sellers.")
        return _empty("No seller-fault cancellations in this period.")
    over = int((sellers["rate"] > threshold).sum())
    fig, ax = plt.subplots(figsize=(10, 0.36 * len(sellers) + 1.4))
    colors = [PALETTE["current"] if r > threshold else PALETTE["baseline"]
              for r in sellers["rate"]]
    ax.barh(sellers["seller_id"], sellers["rate"], color=colors)
    ax.errorbar(sellers["rate"], sellers["seller_id"],
                xerr=[sellers["rate"] - sellers["ci_low"], sellers["ci_high"] - sellers["rate"]],
                fmt="none", ecolor="#333", elinewidth=1, capsize=2)
    ax.invert_yaxis()
    ax.axvline(threshold, color=PALETTE["threshold"], linestyle="--")
    ax.text(threshold, -0.7, f" threshold {threshold:.1%}", fontsize=8, color=PALETTE["threshold"])
    if market_rate is not None and not pd.isna(market_rate):
        ax.axvline(market_rate, color="#333", linestyle=":")
        ax.text(market_rate, len(sellers) - 0.3, f" market {market_rate:.1%}", fontsize=8)
    _percent(ax, "x", 0)
    ax.set_xlabel("seller-fault cancellations, share of the seller's orders (95% interval)")
    ax.set_title(f"{over} of the top {len(sellers)} sellers are above the {threshold:.1%} "
                 f"threshold; they caused {sellers['share'].sum():.0%} of seller-fault "
                 "cancellations")
    return _done(fig)


def plot_segments(overview: pd.DataFrame, kpi: str = "cancellation_rate",
                  label: str = "cancellation rate") -> Figure:
    """A KPI per segment with its 95% interval, one panel per dimension.

    ``overview`` is :func:`shopcx.metrics.funnel.segment_overview`; suppressed
    (too small) segments and orders without a value (e.g. never handed to a
    carrier) are left out; the panels share one axis.
    """
    data = overview[(overview["kpi"] == kpi) & ~overview["too_few"]
                    & (overview["segment"] != "(none)")]
    dims = list(dict.fromkeys(data["dimension"]))
    if data.empty:
        return _empty("Every segment is too small to show.")
    heights = [max(1, data["dimension"].eq(d).sum()) for d in dims]
    fig, axes = plt.subplots(len(dims), 1, figsize=(9, 0.3 * sum(heights) + 1.1 * len(dims)),
                             gridspec_kw={"height_ratios": heights}, squeeze=False,
                             sharex=True)
    top = data.sort_values("value", ascending=False).iloc[0]
    for ax, dim in zip(axes[:, 0], dims, strict=True):
        d = data[data["dimension"] == dim].sort_values("value", ascending=False)
        ax.errorbar(d["value"], d["segment"].astype(str),
                    xerr=[d["value"] - d["ci_low"], d["ci_high"] - d["value"]],
                    fmt="o", color=PALETTE["neutral"], ecolor="#777", capsize=3)
        ax.invert_yaxis()
        _percent(ax, "x", 1)
        ax.set_ylabel(dim.replace("_", " "))
    axes[0, 0].set_title(f"{label.capitalize()} is highest for {top['dimension']} = "
                         f"{top['segment']} ({top['value']:.1%})")
    axes[-1, 0].set_xlabel(f"{label} (95% interval)")
    return _done(fig)


def plot_contact_pareto(reasons: pd.DataFrame) -> Figure:
    """Contacts by reason, largest first, with the cumulative share."""
    if reasons.empty:
        return _empty("No contacts in this period.")
    fig, ax = plt.subplots(figsize=(11, 3.6))
    colors = [PALETTE["current"] if rel else PALETTE["neutral"]
              for rel in reasons["cancellation_related"]]
    ax.bar(reasons["reason"].str.replace("_", " "), reasons["per_order"], color=colors)
    ax.set_ylabel("contacts per order")
    ax.tick_params(axis="x", rotation=30)
    ax2 = ax.twinx()
    ax2.plot(reasons["reason"].str.replace("_", " "), reasons["cumulative_share"], color="#333",
             marker="o", linewidth=1.2)
    ax2.set_ylim(0, 1.05)
    _percent(ax2, "y", 0)
    ax2.set_ylabel("cumulative share of contacts")
    ax2.grid(False)
    n80 = int((reasons["cumulative_share"] < 0.8).sum()) + 1
    top = reasons.iloc[0]
    ax.set_title(f"{n80} reasons make up 80% of contacts; '{top['reason'].replace('_', ' ')}' "
                 f"alone is {top['share']:.0%} (red: cancellation-related)")
    return _done(fig)


def plot_theme_trend(trend: pd.DataFrame, labels: dict[str, str],
                     split: pd.Timestamp | str | None = None) -> Figure:
    """Weekly share of feedback carrying each of the top themes."""
    if trend.empty:
        return _empty("No feedback text to show themes over time.")
    fig, ax = plt.subplots(figsize=(11, 3.6))
    for theme, g in trend.groupby("theme", sort=False):
        ax.plot(g["period"], g["share"], marker="o", linewidth=1.8,
                label=labels.get(theme, theme))
    if split is not None:
        ax.axvline(pd.Timestamp(split), color="#333333", linestyle="--", linewidth=1)
    _percent(ax, "y", 0)
    ax.set_ylabel("share of feedback texts")
    ax.set_xlabel("week")
    last = trend[trend["period"] == trend["period"].max()].sort_values("share")
    top = last.iloc[-1]
    ax.set_title(f"{labels.get(top['theme'], top['theme'])} is the largest theme in the last "
                 f"week ({top['share']:.0%} of feedback)")
    ax.legend(fontsize=8, loc="upper left", ncol=2)
    return _done(fig)


def plot_daily_band(band: pd.DataFrame, change_points: pd.DataFrame, label: str,
                    kind: str = "rate", split: str | pd.Timestamp | None = None) -> Figure:
    """A daily series with its expected band, anomalous days and change points.

    ``band`` comes from :func:`shopcx.rootcause.anomalies.expected_band` (``day``,
    ``value``, ``expected``, ``low``, ``high``, ``anomaly``); change points are
    drawn as vertical lines labelled with their date.
    """
    if band.empty:
        return _empty(f"No daily {label} to show.")
    fig, ax = plt.subplots(figsize=(11, 3.6))
    ax.fill_between(band["day"], band["low"], band["high"], color=PALETTE["baseline"],
                    alpha=0.25, linewidth=0, label="expected band")
    ax.plot(band["day"], band["expected"], color=PALETTE["baseline"], linewidth=1,
            linestyle=":", label="expected")
    ax.plot(band["day"], band["value"], color=PALETTE["neutral"], linewidth=1.6, label="daily")
    out = band[band["anomaly"] != ""]
    ax.scatter(out["day"], out["value"], color=PALETTE["current"], s=18, zorder=3,
               label="outside the band")
    first = None
    for _, cp in change_points.sort_values("day").iterrows():
        ax.axvline(cp["day"], color=PALETTE["current"], linewidth=1.2)
        ax.text(cp["day"], ax.get_ylim()[1], f" {cp['day']:%d %b}", color=PALETTE["current"],
                fontsize=8, va="top")
        if first is None and (split is None or cp["day"] >= pd.Timestamp(split)):
            first = cp["day"]
    if split is not None:
        ax.axvline(pd.Timestamp(split), color="#333333", linestyle="--", linewidth=1)
    if kind == "rate":
        _percent(ax, "y", 1)
    ax.set_ylabel(label)
    ax.legend(fontsize=8, loc="upper left", ncol=4)
    title = (f"{label.capitalize()} changed level on {first:%d %b}" if first is not None
             else f"{label.capitalize()} by day, against its expected band")
    ax.set_title(title)
    return _done(fig)


def plot_waterfall(segments: pd.DataFrame, baseline: float, current: float, dimension: str,
                   kind: str = "proportion", top: int = 6,
                   lead: str | list[str] | None = None) -> Figure:
    """From the baseline value to the current one, segment by segment of one dimension.

    ``segments`` holds one dimension of :func:`shopcx.rootcause.drivers.explain`'s
    ``all_segments``; ``lead`` (the driver the text names, or a group driver's
    members) comes first, then the largest contributions get a bar each up to
    ``top``, the rest one "other" bar, so the bars add up exactly to the change.
    """
    if segments.empty or baseline is None or current is None:
        return _empty("No change to decompose.")
    seg = segments.reindex(segments["contribution"].abs().sort_values(ascending=False).index)
    group = [lead] if isinstance(lead, str) else list(lead or [])
    if group and seg["key"].isin(group).any():
        first = seg[seg["key"].isin(group)].set_index("key", drop=False).reindex(
            [k for k in group if k in set(seg["key"])])
        seg = pd.concat([first, seg[~seg["key"].isin(group)]])
        top = max(top, len(first))
    names = {"(outside scope)": "outside scope", "(unknown)": "not recorded"}
    shown = seg.head(top)
    steps = [(names.get(str(k), str(k)), float(c)) for k, c in zip(
        shown["key"], shown["contribution"], strict=True)]
    rest = float(seg["contribution"].iloc[top:].sum())
    if len(seg) > top:
        steps.append((f"other {len(seg) - top}", rest))
    fig, ax = plt.subplots(figsize=(11, 3.8))
    labels = ["before"] + [k for k, _ in steps] + ["after"]
    level = baseline
    ax.bar(0, baseline, color=PALETTE["baseline"])
    for i, (_, c) in enumerate(steps, start=1):
        ax.bar(i, c, bottom=level, color=PALETTE["current"] if c > 0 else PALETTE["platform"])
        level += c
    ax.bar(len(steps) + 1, current, color=PALETTE["neutral"])
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels(labels, rotation=20, ha="right", fontsize=8)
    if kind == "proportion":
        _percent(ax, "y", 1)
    n = len(group) if len(group) > 1 and len(steps) >= len(group) else 1
    first = sum(c for _, c in steps[:n])
    change = current - baseline
    share = f" ({first / change:.0%} of the change)" if change else ""
    if n > 1:
        names = [k for k, _ in steps[:n]]
        who, verb = f"{', '.join(names[:-1])} and {names[-1]}", "drive it together"
    else:
        who = steps[0][0] if steps else ""
        verb = "is the driver" if lead is not None else "contributes the most"
    ax.set_title(f"By {dimension}: {who} {verb}{share}")
    levels = np.cumsum([baseline] + [c for _, c in steps])
    lo, hi = float(min(levels.min(), current)), float(max(levels.max(), current))
    pad = (hi - lo) * 0.25 or abs(hi) * 0.1 or 0.01
    ax.set_ylim(max(0.0, lo - pad), hi + pad)  # zoom on the steps; the end bars are cut
    return _done(fig)


def plot_kpi_trends(trend: pd.DataFrame, kpis: list[str],
                    labels: dict[str, str] | None = None,
                    thresholds: dict[str, dict[str, float]] | None = None,
                    columns: int = 2) -> Figure:
    """Small multiples: each KPI over the periods, with its 95% interval (proportions),
    its green and amber targets, young periods hollow and anomalies in red.

    ``trend`` comes from :func:`shopcx.readouts.trends.flag_anomalies` (``period``,
    ``kpi``, ``kind``, ``value``, ``ci_low``, ``ci_high``, ``mature_share``,
    ``maturity_days``, ``anomaly``).
    """
    from shopcx.metrics.dictionary import KPI_BY_NAME

    labels = labels or {k: KPI_BY_NAME[k].label for k in kpis if k in KPI_BY_NAME}
    kpis = [k for k in kpis if (trend["kpi"] == k).any()]
    if not kpis:
        return _empty("No KPI to show over the periods.")
    rows = -(-len(kpis) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(11, 2.5 * rows), squeeze=False)
    for ax, kpi in zip(axes.flat, kpis, strict=False):
        g = trend[trend["kpi"] == kpi].reset_index(drop=True)
        x = np.arange(len(g))
        values = g["value"].astype(float)
        ax.plot(x, values, color=PALETTE["neutral"], linewidth=1.4)
        if (g["kind"] == "proportion").all():
            low = (values - g["ci_low"].astype(float)).clip(lower=0)
            high = (g["ci_high"].astype(float) - values).clip(lower=0)
            ax.errorbar(x, values, yerr=[low.fillna(0), high.fillna(0)], fmt="none",
                        ecolor=PALETTE["baseline"], elinewidth=1, capsize=2)
            _percent(ax, "y", 1)
        young = (g["maturity_days"].fillna(0) > 0) & (g["mature_share"].fillna(1) < 1)
        odd = g["anomaly"].eq(True) if "anomaly" in g else pd.Series(False, index=g.index)
        plain = ~young & ~odd
        ax.scatter(x[plain], values[plain], color=PALETTE["neutral"], s=16, zorder=3)
        if young.any():
            ax.scatter(x[young], values[young], facecolor="white", edgecolor="#8a6d00", s=22,
                       zorder=3, label="young (still maturing)")
        if odd.any():
            ax.scatter(x[odd], values[odd], color=PALETTE["current"], s=30, zorder=4,
                       label="anomaly")
        limits = (thresholds or {}).get(kpi)
        if limits:
            ax.axhline(limits["green"], color="#1e7b34", linestyle=":", linewidth=1)
            ax.axhline(limits["amber"], color="#b3261e", linestyle=":", linewidth=1)
        ax.set_xticks(x, g["period"], fontsize=7, rotation=45, ha="right")
        ax.set_title(labels.get(kpi, kpi), fontsize=10)
        if young.any() or odd.any():
            ax.legend(fontsize=7, loc="best")
    for ax in list(axes.flat)[len(kpis):]:
        ax.set_visible(False)
    return _done(fig)
