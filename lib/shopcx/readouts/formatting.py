"""Presenting KPI tables: number formats, the terminal table and the long CSV.

Formatting lives here so the command line, notebooks and HTML readouts show
numbers the same way (rates as percentages, counts with thousands separators).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pandas as pd
from rich.console import Console
from rich.table import Table

from shopcx.metrics.dictionary import maturity_entries

__all__ = ["explain_maturity_note", "format_delta", "format_interval", "format_value", "kpis_long_frame",
           "maturity_dict", "maturity_notes", "maturity_statement", "print_explanation",
           "print_impact", "print_kpi_table"]


def tested_interval(driver: Any) -> tuple[Any, Any, bool]:
    """The interval a driver is judged on (``explain``): its mix effect's for a ``mix``
    effect, more precise than the whole contribution's, else its contribution's; and
    whether it is the mix effect's. ``driver`` is a JSON row or a table row."""
    low = driver.get("mix_ci_low")
    if driver["effect"] == "mix" and low is not None and low == low:  # not None, not NaN
        return low, driver["mix_ci_high"], True
    return driver["ci_low"], driver["ci_high"], False


def format_value(kind: str, value: Any) -> str:
    """A KPI value as people read it.

    >>> format_value("proportion", 0.0812), format_value("proportion", 0.00005)
    ('8.12%', '0.005%')
    >>> format_value("count", 12345.0)
    '12,345'
    >>> format_value("sum", 1234.5), format_value("ratio", 0.1234), format_value("mean", None)
    ('$1,234.50', '0.123', 'n/a')
    >>> format_value("quantile", 38.76), format_value("mean", 3.456)
    ('38.8 h', '3.46')
    """
    if value is None or (isinstance(value, float) and math.isnan(value)) or pd.isna(value):
        return "n/a"
    if kind == "proportion":
        return f"{value:.3%}" if 0 < value < 0.001 else f"{value:.2%}"
    if kind == "count":
        return f"{value:,.0f}"
    if kind == "sum":
        return f"${value:,.2f}"
    if kind == "ratio":
        return f"{value:.3f}"
    if kind == "quantile":  # the quantile KPIs are hours to resolve
        return f"{value:,.1f} h"
    return f"{value:,.2f}"


def format_interval(low: Any, high: Any) -> str:
    """A 95% interval of a proportion, e.g. ``6.70%–9.70%``; empty when undefined."""
    if low is None or pd.isna(low) or high is None or pd.isna(high):
        return ""
    return f"{low:.2%}–{high:.2%}"


def kpis_long_frame(kpis: pd.DataFrame, market: str, period: Any, by: str | None = None,
                    segments: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per (segment, KPI): the CSV layout of ``shopcx kpis --format csv``.

    Overall rows have an empty ``dimension`` and ``segment``.
    """
    cols = ["kpi", "kind", "value", "numerator", "denominator", "ci_low", "ci_high"]
    parts = [kpis[cols].assign(dimension="", segment="")]
    if segments is not None:
        parts.append(segments[cols + ["segment"]].assign(dimension=by))
    out = pd.concat(parts, ignore_index=True)
    out.insert(0, "market", market)
    out.insert(1, "start", f"{period.start:%Y-%m-%d}")
    out.insert(2, "end", f"{period.end:%Y-%m-%d}")
    return out[["market", "start", "end", "dimension", "segment", *cols]]


def _console() -> Console:
    import sys

    return Console(width=None if sys.stdout.isatty() else 160, highlight=False)


def print_kpi_table(kpis: pd.DataFrame, market: str, period: Any, by: str | None = None,
                    segments: pd.DataFrame | None = None, console: Console | None = None) -> None:
    """Print the KPIs as a terminal table; with segments, one column per segment."""
    console = console or _console()
    title = f"{market} · {period.start:%Y-%m-%d} to {period.end:%Y-%m-%d} (end exclusive)"
    if segments is None:
        table = Table(title=title, title_justify="left")
        table.add_column("KPI")
        table.add_column("value", justify="right")
        table.add_column("numerator / denominator", justify="right")
        table.add_column("95% interval", justify="right")
        for _, r in kpis.iterrows():
            nd = "" if pd.isna(r["denominator"]) else f"{r['numerator']:,} / {r['denominator']:,}"
            table.add_row(r["kpi"], format_value(r["kind"], r["value"]), nd,
                          format_interval(r["ci_low"], r["ci_high"]))
        console.print(table)
        return
    table = Table(title=f"{title}, by {by}", title_justify="left")
    table.add_column("KPI")
    table.add_column("all", justify="right")
    keys = list(dict.fromkeys(segments["segment"].tolist()))
    for key in keys:
        table.add_column("(none)" if key is None or pd.isna(key) else str(key), justify="right")
    by_key = {key: g.set_index("kpi") for key, g in segments.groupby("segment", sort=False,
                                                                     dropna=False)}
    for _, r in kpis.iterrows():
        cells = [format_value(r["kind"], r["value"])]
        for key in keys:
            g = by_key.get(key)
            if g is None:  # a null key groups under NaN
                g = next(v for k, v in by_key.items() if k is None or pd.isna(k))
            cells.append(format_value(r["kind"], g.loc[r["kpi"], "value"]))
        table.add_row(r["kpi"], *cells)
    console.print(table)


def _interval_text(driver: dict[str, Any], change: Any) -> str:
    low, high, mix = tested_interval(driver)
    return f"{change(low)}..{change(high)}" + (" (mix effect)" if mix else "")


def print_explanation(doc: dict[str, Any], console: Console | None = None) -> None:
    """Print an ``explain`` result: the change, then drivers ranked, as a terminal table."""
    console = console or _console()
    b, c = doc["baseline"], doc["current"]
    ratio = doc.get("kind") == "ratio"

    def value(v: float | None) -> str:
        return "n/a" if v is None else (f"{v:.3f}" if ratio else f"{v:.1%}")

    def change(v: float | None) -> str:
        return "n/a" if v is None else (f"{v:+.3f}" if ratio else f"{v * 100:+.2f} pts")

    console.print(f"{doc['metric']} in {doc['market']}: {value(b['value'])} "
                  f"({b['start']} to {b['end']}) → {value(c['value'])} "
                  f"({c['start']} to {c['end']}), {change(doc['change'])}")
    note = explain_maturity_note(doc)
    if note:
        console.print(note, markup=False)
    if doc["drivers"]:
        table = Table(title="drivers (largest contribution first)", title_justify="left")
        for col in ("dimension", "segment", "contribution", "share of change", "effect",
                    "value before → after", "share before → after", "95% interval", ""):
            table.add_column(col, justify="left" if col in ("dimension", "segment") else "right")
        for r in doc["drivers"]:
            note = ("follows the market" if r.get("follows_market")
                    else "noise" if r["noise"] else "")
            table.add_row(
                r["dimension"], str(r["key"]), change(r["contribution"]),
                "" if r["share_of_change"] is None else f"{r['share_of_change']:.0%}",
                r["effect"], f"{value(r['baseline_value'])} → {value(r['current_value'])}",
                f"{r['baseline_share']:.1%} → {r['current_share']:.1%}",
                _interval_text(r, change), note)
        console.print(table)
    for line in scope_notes(doc, change):
        console.print(line, markup=False)
    rows = doc.get("breakdown", [])[:8]
    if rows:
        table = Table(title="what kind of cancellations moved", title_justify="left")
        for col in ("", "value", "contribution", "share of change", "orders before → after"):
            table.add_column(col, justify="left" if col in ("", "value") else "right")
        for r in rows:
            table.add_row(r["dimension"].replace("cancel_", ""), str(r["key"]),
                          change(r["contribution"]),
                          "" if r["share_of_change"] is None else f"{r['share_of_change']:.0%}",
                          f"{r['baseline_share']:.1%} → {r['current_share']:.1%}")
        console.print(table)


def scope_notes(doc: dict[str, Any], change: Callable[[float], str],
                units: str = "orders (or requests)",
                mark: Callable[[str], str] = lambda name: name) -> list[str]:
    """What an ``explain`` result could describe, one sentence each: the minimum
    support, then every dimension left out, with a scope, or on a shortened buyer
    history. ``doc`` is the result or its JSON object; ``mark`` decorates a
    dimension's name (emphasis in a readout)."""
    support = doc["min_support"]
    lines = [f"A segment needs {support['units']} {units} and {support['events']} events "
             "over the two periods before it can be a driver; smaller ones count as noise."]
    for d in doc.get("dimensions", []):
        name = d["dimension"].replace("_", " ")
        title = mark(name.capitalize())
        if not d["used"]:
            lines.append(f"{title} is not used: {d['reason']}.")
        elif d.get("share_in_scope") and doc.get("change") is not None:
            b, c = (("n/a" if v is None else f"{v:.0%}") for v in d["share_in_scope"])
            lines.append(f"{title} describes {d['scope']}, {b} → {c} of them; "
                         f"{change(doc['change'] - d['explained'])} of the change happened "
                         f"outside that scope and is not attributed to any {name}.")
        elif d.get("shortened"):
            lines.append(f"{title}: {d['reason']}.")
    return lines


DATA_SOURCES: dict[str, tuple[str, tuple[str, ...]]] = {
    "contacts": ("contacts", (
        "contacts", "cpo", "cancel_cpo", "contacts_per_cancelled_order", "repeat_contact_rate",
        "escalation_rate", "bot_contact_share", "mean_handle_minutes", "csat_mean",
        "csat_response_rate", "csat_satisfied_share")),
    "buyer_cancel_requests": ("buyer cancel requests", (
        "buyer_cancel_requests", "cancel_request_success_rate",
        "cancel_request_success_rate_awaiting_shipment", "cancel_request_success_rate_unpaid",
        "cancel_request_success_rate_in_transit", "cancel_request_success_rate_delivered",
        "cancel_withdrawal_rate", "cancel_pending", "median_hours_to_resolve",
        "p90_hours_to_resolve", "auto_resolved_share", "repeat_request_rate")),
    "feedback": ("feedback", ("feedback", "feedback_mean_rating", "feedback_negative_share")),
}
"""Count KPIs that tell whether a kind of data exists, and the KPIs made from it."""


def no_data(changes: pd.DataFrame) -> dict[str, str]:
    """KPIs without data: their source (contacts, buyer cancel requests, feedback) has no
    row in either period, so a 0 would be a claim the data cannot make.

    Returns ``{kpi: what is missing}``.

    >>> t = pd.DataFrame({"kpi": ["contacts", "cpo", "feedback"], "value": [0, 0.0, 3],
    ...                   "baseline": [0, 0.0, 1]})
    >>> sorted(no_data(t))
    ['bot_contact_share', 'cancel_cpo', 'contacts', 'contacts_per_cancelled_order', 'cpo', 'csat_mean', 'csat_response_rate', 'csat_satisfied_share', 'escalation_rate', 'mean_handle_minutes', 'repeat_contact_rate']
    """
    t = changes.set_index("kpi")
    out: dict[str, str] = {}
    for count, (what, kpis) in DATA_SOURCES.items():
        if count not in t.index:
            continue
        now, before = t.loc[count, "value"], t.loc[count, "baseline"]
        if (pd.isna(now) or now == 0) and (pd.isna(before) or before == 0):
            out.update(dict.fromkeys(kpis, what))
    return out


def plural(count: int, word: str, many: str | None = None) -> str:
    """``"1 market"``, ``"2 markets"`` (thousands separated).

    >>> plural(1, "market"), plural(1200, "order"), plural(2, "reply", "replies")
    ('1 market', '1,200 orders', '2 replies')
    """
    return f"{count:,} {word if count == 1 else (many or word + 's')}"


def _young_groups(table: pd.DataFrame) -> list[tuple[str, int, float]]:
    """(group, window days, mature share) of each maturity group with a share below 1,
    from a KPI or comparison table with ``maturity_days`` and ``mature_share``."""
    from shopcx.metrics.maturity import kpi_group

    out: dict[str, tuple[str, int, float]] = {}
    for _, r in table.iterrows():
        group, share = kpi_group(r["kpi"]), r.get("mature_share")
        if group and r["maturity_days"] > 0 and share is not None and share == share \
                and share < 1 and group not in out:
            out[group] = (group, int(r["maturity_days"]), float(share))
    return list(out.values())


_GROUP_WORDS = {"fulfillment": ("orders", "paid, shipped and delivered rates"),
                "cancellations": ("orders", "cancellation KPIs and buyer requests"),
                "contacts": ("contacts", "repeat contacts, escalations and CSAT")}


def _young_clauses(groups: list[tuple[str, int, float]]) -> list[str]:
    """One clause per unit, window and share (groups alike are named together)."""
    alike: dict[tuple[str, int, float], list[str]] = {}
    for g, days, share in groups:
        alike.setdefault((_GROUP_WORDS[g][0], days, share), []).append(_GROUP_WORDS[g][1])
    return [f"{share:.0%} of the period's {unit} are {days} days old or more "
            f"({'; '.join(what)})" for (unit, days, share), what in alike.items()]


def maturity_dict(kpis: pd.DataFrame, as_of: Any) -> dict[str, Any]:
    """The ``as_of`` and ``maturity`` entries of ``shopcx kpis --format json``: the data's
    end and, per KPI, its window in days and the share of its cohort that old."""
    return maturity_entries(kpis.to_dict("records"),
                            None if as_of is None else f"{pd.Timestamp(as_of):%Y-%m-%d}")


def maturity_notes(kpis: pd.DataFrame, as_of: Any) -> list[str]:
    """One sentence per maturity group whose cohort is not wholly mature at ``as_of``."""
    groups = _young_groups(kpis)
    if not groups or as_of is None:
        return []
    return [f"data as of {pd.Timestamp(as_of):%Y-%m-%d}: {clause}; they may still change "
            "as the period ages" for clause in _young_clauses(groups)]


def maturity_statement(changes: pd.DataFrame) -> str | None:
    """How a comparison treats a young period, in plain words; None when the whole period
    is mature. ``changes`` is :func:`shopcx.metrics.compare.compare_periods`' table."""
    if "mature_share" not in changes.columns:
        return None
    groups = _young_groups(changes)
    if not groups:
        return None
    as_of = changes["as_of"].dropna()
    when = f"At the data's end ({pd.Timestamp(as_of.iloc[0]):%Y-%m-%d})" if len(as_of) \
        else "At the data's end"
    text = f"{when} the period is young: " + "; ".join(_young_clauses(groups)) + "."
    aged = changes.loc[changes["same_age"].astype(bool), "baseline_as_of"].dropna()
    if len(aged):
        from shopcx.metrics.maturity import moment

        text += (" These KPIs are compared with the baseline **at the same age**: the "
                 f"baseline's events are counted up to {moment(pd.Timestamp(aged.iloc[0]))}, "
                 "as far after the baseline's end as the data reaches after this period's "
                 "end, so young orders are never set against fully grown ones.")
    else:
        text += " They are compared with the whole baseline (not at the same age)."
    return text


def explain_maturity_note(doc: dict[str, Any]) -> str | None:
    """The ``explain`` result's maturity in one sentence; None when the period is mature."""
    m = doc.get("maturity") or {}
    share = m.get("mature_share")
    if not m.get("window_days") or share is None or share >= 1:
        return None
    text = (f"At the data's end ({m['as_of']}) {share:.0%} of the current period's units are "
            f"{m['window_days']} days old or more")
    if m.get("same_age"):
        return (text + f"; the baseline is measured at the same age (its events up to "
                f"{m['baseline_as_of']}).")
    return text + "; the baseline is taken whole (not at the same age), so the change "\
        "mixes young and grown orders."


def print_impact(doc: dict[str, Any], console: Console | None = None) -> None:
    """Print a ``shopcx impact`` result: one row per metric, targets then guardrails."""
    console = console or _console()
    console.print(f"{doc['market']}: change on {doc['change_date']}, against "
                  f"{', '.join(doc['controls'])}; before {doc['before']['start']} to "
                  f"{doc['before']['end']}, after {doc['after']['start']} to "
                  f"{doc['after']['end']} (end excluded)", markup=False)
    table = Table(title="difference-in-differences (synthetic control as a second opinion)",
                  title_justify="left")
    for col in ("metric", "role", "treated before → after", "controls before → after",
                "effect", "95% interval", "verdict", "synthetic control", "pre-trend p",
                "placebos as large"):
        table.add_column(col, justify="left" if col in ("metric", "role", "verdict")
                         else "right")
    for e in doc["effects"]:
        kind = e["kind"]

        def v(x: Any, kind: str = kind) -> str:
            return format_value(kind, x)

        def d(x: Any, kind: str = kind) -> str:
            return format_delta(kind, x)

        sc = e["synthetic"]
        table.add_row(e["metric"], e["role"],
                      f"{v(e['treated_before'])} → {v(e['treated_after'])}",
                      f"{v(e['control_before'])} → {v(e['control_after'])}",
                      d(e["effect"]), f"{d(e['ci_low'])} to {d(e['ci_high'])}", e["verdict"],
                      f"{d(sc['effect'])} (fit {sc['pre_rmse']:.3g})"
                      if sc["pre_rmse"] is not None else "n/a",
                      "n/a" if e["pre_trend_p"] is None else f"{e['pre_trend_p']:.3f}",
                      "n/a" if not e["placebo"]["dates"] else
                      f"{round(e['placebo']['as_large'] * e['placebo']['dates'])} of "
                      f"{e['placebo']['dates']}")
    console.print(table)
    console.print(f"Intervals: {doc['interval']}. A pre-trend p below 0.05 means the market "
                  "was already drifting from its controls before the change: do not trust "
                  "that estimate as it stands. Placebos: fake change dates in the "
                  "pre-period; an effect no larger than theirs is not evidence "
                  "(docs/impact.md).", markup=False)


def format_delta(kind: str, x: Any) -> str:
    """A difference of a KPI as people read it: points for proportions.

    >>> format_delta("proportion", 0.0123), format_delta("ratio", -0.0784)
    ('+1.23 pts', '-0.0784')
    >>> format_delta("mean", None)
    'n/a'
    """
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{x * 100:+.2f} pts" if kind == "proportion" else f"{x:+,.3g}"


def print_pooled(doc: dict[str, Any], console: Console | None = None) -> None:
    """Print the pooled effects of a staggered ``shopcx impact`` (several markets)."""
    console = console or _console()
    changes = ", ".join(f"{m} on {d}" for m, d in doc["changes"].items())
    table = Table(title=f"staggered rollout ({changes}): average effect per market",
                  title_justify="left")
    for col in ("metric", "role", "effect", "95% interval", "markets", "verdict"):
        table.add_column(col, justify="left" if col in ("metric", "role", "verdict")
                         else "right")
    for e in doc["pooled"]:
        table.add_row(e["metric"], e["role"], format_delta(e["kind"], e["effect"]),
                      f"{format_delta(e['kind'], e['ci_low'])} to "
                      f"{format_delta(e['kind'], e['ci_high'])}",
                      str(e["markets"]), e["verdict"])
    console.print(table)
    console.print(f"Pooled: {doc['pooled_interval']}.", markup=False)


def print_experiment(doc: dict[str, Any], console: Console | None = None) -> None:
    """Print a ``shopcx experiment`` result: sample ratio, one row per metric, verdict."""
    console = console or _console()
    srm = doc["sample_ratio"]
    units = ", ".join(f"{v} {n:,}" for v, n in srm["units"].items())
    console.print(f"{doc['experiment']} in {doc['market']} ({doc['unit_type']} units: "
                  f"{units}); from {doc['window']['start']} to {doc['window']['end']}; "
                  f"control: {doc['control']}", markup=False)
    console.print(f"Sample ratio: chi-square {srm['chi2']:.2f}, p = {srm['p_value']:.3g} "
                  + ("MISMATCH: the split is broken, do not trust the effects"
                     if srm["mismatch"] else "(no mismatch)"), markup=False)
    table = Table(title="effects (variant - control)", title_justify="left")
    for col in ("metric", "role", "variant", "control", "variant value", "effect",
                "95% interval", "p (BH)", "CUPED", "MDE", "verdict"):
        table.add_column(col, justify="left" if col in ("metric", "role", "variant",
                                                        "verdict") else "right")
    for e in doc["effects"]:
        kind = e["kind"]
        cuped = ("off" if not e["cuped"] else
                 f"var {(e['variance_reduction'] or 0) * 100:.1f}% lower")
        table.add_row(e["metric"], e["role"], e["variant"],
                      format_value(kind, e["control_value"]),
                      format_value(kind, e["variant_value"]), format_delta(kind, e["effect"]),
                      f"{format_delta(kind, e['ci_low'])} to "
                      f"{format_delta(kind, e['ci_high'])}",
                      "n/a" if e["p_adjusted"] is None else f"{e['p_adjusted']:.3g}",
                      cuped, format_delta(kind, e["mde"]).lstrip("+"), e["verdict"])
    console.print(table)
    console.print(f"Verdict: {doc['verdict']}", markup=False)
    console.print(f"Method: {doc['method']}. MDE: the smallest effect this sample detects "
                  "80% of the time (docs/impact.md).", markup=False)
