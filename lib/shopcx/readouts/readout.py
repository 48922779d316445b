"""Helpers that notebooks call to open data and show tables the house way.

Tables come back as pandas Stylers (rendered as HTML in JupyterLab and in the
readouts) with every cell HTML-escaped, numbers formatted (rates as
percentages) and rates below the minimum sample shown as "too few".
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
from IPython.display import HTML, Markdown
from pandas.io.formats.style import Styler

from shopcx.data.contract import count_market_warnings
from shopcx.data.sources import Source, load_source
from shopcx.errors import ContractError, InputError
from shopcx.metrics.dictionary import KPI_BY_NAME
from shopcx.metrics.facts import parse_period
from shopcx.metrics.targets import Targets
from shopcx.params import find_project_file
from shopcx.readouts.formatting import format_interval, format_value, maturity_statement, no_data
from shopcx.readouts.privacy import safe_text, verbatim_table

__all__ = [
    "DEMO_DATA",
    "data_quality",
    "definitions",
    "biggest_movers",
    "buyer_segment_table",
    "emerging_table",
    "headline_table",
    "join_note",
    "kpi_value",
    "pain_point_table",
    "open_source",
    "period_header",
    "period_label",
    "readout_links",
    "segment_table",
    "show_table",
    "verbatims",
]

DEMO_DATA = "outputs/demo-data"
RAG_COLOURS = {"green": "#d8f0dd", "amber": "#fcebc5", "red": "#f8d3d3"}
NOTEBOOK_TITLES = {"summary": "Executive summary", "funnel": "Funnel and cancellations",
                   "cpo": "Contacts and effort", "escalations": "Escalations",
                   "voc": "Voice of the customer", "root_cause": "Root cause"}


def open_source(data: str = "", as_of: str = "") -> Source:
    """Open and validate a data source; an empty string means the project's demo data.

    The demo data is generated (deterministically, in a few seconds) when it
    does not exist yet, so a notebook's defaults always run. Raises
    :class:`ContractError` when the data breaks the contract. With ``as_of``
    (a date), the data as it stood then (:meth:`Source.at`); a date after
    the data's end is an InputError.
    """
    if not data:
        found = find_project_file(DEMO_DATA)
        if found is None:
            root = find_project_file("params")
            if root is None:
                raise FileNotFoundError(
                    f"no data given and no {DEMO_DATA} found above {Path.cwd()}; "
                    "pass data=... (a folder or an engine URL)")
            from shopcx.data.demo import generate_demo_data

            found = root.parent / DEMO_DATA
            generate_demo_data(found)
        data = str(found)
    source = load_source(data)
    report = source.validate()
    if not report.ok:
        raise ContractError(report)
    if as_of:
        moment = pd.Timestamp(as_of)
        end = source.data_end()
        if end is not None and moment > end:
            raise InputError(f"as_of {as_of} is after the data's end {end:%Y-%m-%d}")
        source = source.at(moment)
    return source


def period_header(changes: pd.DataFrame, market: str, start: Any, end: Any,
                  baseline_start: Any, baseline_end: Any) -> Markdown:
    """The readout's first line: market, period, baseline, and how a young period is
    compared (:func:`shopcx.readouts.formatting.maturity_statement`)."""
    text = (f"**{market} · {period_label(start, end)}**, against "
            f"{period_label(baseline_start, baseline_end)}")
    note = maturity_statement(changes)
    return Markdown(text + (f"\n\n> {note}" if note else ""))


def period_label(start: Any, end: Any) -> str:
    """'November 2026' for a calendar month, else '2026-11-01 to 2026-11-14'.

    >>> period_label("2026-11-01", "2026-12-01"), period_label("2026-11-01", "2026-11-15")
    ('November 2026', '2026-11-01 to 2026-11-14')
    """
    p = parse_period(start, end)
    if p.start.day == 1 and p.end == p.start + pd.offsets.MonthBegin(1):
        return f"{p.start:%B %Y}"
    return f"{p.start:%Y-%m-%d} to {p.end - pd.Timedelta(days=1):%Y-%m-%d}"


def _fmt(kind: str) -> Any:
    def fmt(v: Any) -> str:
        return format_value(kind, v)
    return fmt


FORMATS = {"pct": "proportion", "int": "count", "usd": "sum", "ratio": "ratio",
           "num": "mean"}


def show_table(frame: pd.DataFrame, formats: Mapping[str, str] | None = None,
               caption: str | None = None, rename: Mapping[str, str] | None = None,
               empty: str | None = None) -> Styler | Markdown:
    """A table for a readout: escaped cells, formatted numbers, no index.

    ``formats`` maps column names to ``pct``, ``int``, ``usd``, ``ratio``
    (3 decimals) or ``num`` (2 decimals); other integer columns get thousands
    separators, dates show as YYYY-MM-DD, booleans as yes/no, the rest as
    text. Numbers are right-aligned; underscores in column names become spaces.
    A table without rows is never shown as a header: ``empty`` (or a generic
    sentence) says why there is nothing.
    """
    if frame.empty:
        return Markdown(f"*{empty or 'Nothing to show for this period.'}*")
    frame = frame.copy()
    formats = dict(formats or {})
    for col in frame.columns:
        if col in formats:
            continue
        if pd.api.types.is_bool_dtype(frame[col]):
            frame[col] = frame[col].map({True: "yes", False: "no"})
        elif pd.api.types.is_integer_dtype(frame[col]):
            formats[col] = "int"
        elif pd.api.types.is_datetime64_any_dtype(frame[col]):
            frame[col] = frame[col].dt.strftime("%Y-%m-%d")
    formatters = {col: _fmt(FORMATS[f]) for col, f in formats.items() if col in frame.columns}
    labels = {c: (rename or {}).get(c, str(c).replace("_", " ")) for c in frame.columns}
    styler = frame.style.format(formatters, na_rep="n/a", escape="html").hide(axis="index")
    styler = styler.relabel_index([html.escape(labels[c]) for c in frame.columns], axis=1)
    numeric = [c for c in frame.columns if c in formatters
               or pd.api.types.is_numeric_dtype(frame[c])]
    if numeric:
        styler = styler.set_properties(subset=numeric, **{"text-align": "right"})
    if caption:
        styler = styler.set_caption(html.escape(caption))
    return styler.set_table_attributes('class="shopcx-table"')


def segment_table(overview: pd.DataFrame) -> Styler:
    """Segments as rows, KPIs as columns ("19.2% (18.3–20.1%)" or "too few")."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    # a KPI no segment has a case of (no buyer requests at all, say) is left out
    has = overview.groupby("kpi")["denominator"].sum(min_count=1).fillna(0)
    overview = overview[overview["kpi"].map(has) > 0]
    for _, r in overview.iterrows():
        segment = str(r["segment"])
        if segment == "(none)" and r["dimension"] == "carrier":
            segment = "not handed over"  # no carrier yet: cancelled before hand-over
        row = rows.setdefault((r["dimension"], segment),
                              {"dimension": r["dimension"].replace("_", " "),
                               "segment": segment})
        label = KPI_BY_NAME[r["kpi"]].label
        if r["too_few"]:
            row[label] = f"too few ({int(r['denominator'] or 0)})"
        else:
            row[label] = (f"{format_value('proportion', r['value'])} "
                          f"({format_interval(r['ci_low'], r['ci_high'])})")
        if r["kpi"] == "cancellation_rate":
            row["orders"] = int(r["denominator"] or 0)
    frame = pd.DataFrame(list(rows.values()))
    first = ["dimension", "segment"] + (["orders"] if "orders" in frame.columns else [])
    frame = frame[first + [c for c in frame.columns if c not in first]]
    styler = show_table(frame)
    rates = [c for c in frame.columns if c not in ("dimension", "segment")]
    return styler.set_properties(subset=rates, **{"text-align": "right"})


def headline_table(changes: pd.DataFrame, kpis: Iterable[str], min_sample: int = 30,
                   targets: Targets | None = None, market: str | None = None) -> Styler:
    """The headline numbers: current (95% interval), baseline, change, significance, status.

    Rates whose denominator is below ``min_sample`` show "too few"; the status
    column (red / amber / green against ``targets``) appears when targets
    are given.
    """
    t = changes.set_index("kpi")
    missing = no_data(changes)
    rows = []
    for name in kpis:
        r = t.loc[name]
        kind = r["kind"]
        if name in missing:  # the data holds no contacts (requests, feedback) at all
            row = {"KPI": r["label"], "current": "no data", "95% interval": "",
                   "baseline": "no data", "change": "", "significance": f"no {missing[name]}"}
            if targets is not None and market is not None:
                row["status"] = "–"
            rows.append(row)
            continue
        few_now = kind in ("proportion", "ratio") and (pd.isna(r["denominator"])
                                                       or r["denominator"] < min_sample)
        few_then = kind in ("proportion", "ratio") and (
            pd.isna(r["baseline_denominator"]) or r["baseline_denominator"] < min_sample)
        current = "too few" if few_now else format_value(kind, r["value"])
        interval = format_interval(r["ci_low"], r["ci_high"]) if not few_now else ""
        baseline = "too few" if few_then else format_value(kind, r["baseline"])
        if few_now or few_then or pd.isna(r["change"]):
            change = ""
        elif kind == "proportion":
            change = f"{r['change'] * 100:+.2f} pts"
        elif kind == "quantile":
            change = f"{r['change']:+.1f} h"
        else:
            change = f"{r['relative_change']:+.1%}" if not pd.isna(r["relative_change"]) else ""
        if r["too_few"] or few_now or few_then:
            verdict = "too few to judge"
        elif kind not in ("proportion", "ratio"):
            verdict = "not tested"
        elif r["significant"]:
            arrow = "▲" if r["change"] > 0 else "▼"
            verdict = f"{arrow} " + {"better": "better", "worse": "worse"}.get(
                r["assessment"], "significant")
        else:
            verdict = "no significant change"
        row = {"KPI": r["label"], "current": current, "95% interval": interval,
               "baseline": baseline, "change": change, "significance": verdict}
        if targets is not None and market is not None:
            status = None if few_now else targets.status(market, name, r["value"])
            row["status"] = status or "–"
        rows.append(row)
    frame = pd.DataFrame(rows)
    styler = frame.style.format(escape="html").hide(axis="index")
    if "status" in frame.columns:
        styler = styler.map(lambda v: f"background-color: {RAG_COLOURS[v]}; font-weight: 600"
                            if v in RAG_COLOURS else "", subset=["status"])
    styler = styler.set_properties(subset=["current", "95% interval", "baseline", "change"],
                                   **{"text-align": "right"})
    styler = styler.map(lambda v: "color: #b3261e; font-weight: 600" if "worse" in str(v)
                        else ("color: #1e7b34; font-weight: 600" if "better" in str(v) else ""),
                        subset=["significance"])
    return styler.set_table_attributes('class="shopcx-table shopcx-headline"')


def verbatims(sample: pd.DataFrame, market: str | None = None) -> HTML:
    """Verbatims as an HTML table: redacted, escaped, with their theme (or experience)."""
    if sample.empty:
        return HTML("<p>No feedback text in this period.</p>")
    columns = ["theme", "experience", "source", "rating", "sentiment", "language"]
    return HTML(verbatim_table(sample, "text", [c for c in columns if c in sample.columns],
                               region=market))


def pain_point_table(ranking: pd.DataFrame, top: int | None = None) -> Styler | Markdown:
    """The ranked pain points: theme, owner, volume, growth, behaviour, priority, action."""
    t = ranking[(ranking["priority"] > 0) & ranking["rank"].notna()] if top else ranking
    t = t.head(top) if top else t
    if t.empty:
        return Markdown("*No pain points: no negative theme in this period's feedback.*")
    frame = pd.DataFrame({
        "rank": [str(int(r)) if pd.notna(r) else "too few texts" for r in t["rank"]],
        "theme": t["label"], "owner": t["owner"],
        "feedback": t["feedback"], "share": t["share"], "baseline share": t["baseline_share"],
        "growing": t["growing"].map({True: "▲ growing", False: ""}),
        "negative": t["negativity"], "cancelled": t["cancellation_rate"],
        "contacts per order": (t["contacts_per_order"] if t["contacts_per_order"].fillna(0).any()
                               else None),
        "top carrier": [f"{c} ({s:.0%})" if isinstance(c, str) else ""
                        for c, s in zip(t["top_carrier"], t["top_carrier_share"], strict=True)],
        "priority": t["priority"], "next step": t["action"]})
    if frame["contacts per order"].isna().all():  # no contacts in the data: no column
        frame = frame.drop(columns="contacts per order")
    return show_table(frame, {"share": "pct", "baseline share": "pct", "negative": "pct",
                              "cancelled": "pct", "contacts per order": "num",
                              "priority": "num"})


def emerging_table(clusters: pd.DataFrame, market: str | None = None) -> HTML:
    """Emerging themes with their typical texts (redacted and escaped)."""
    if clusters.empty:
        return HTML("<p>Too few untagged texts to look for emerging themes.</p>")
    rows = []
    for _, c in clusters.iterrows():
        examples = "<br>".join(f"“{safe_text(e, market)}”"
                               for e in dict.fromkeys(c["examples"]))  # each text once
        flag = "▲ growing" if c["growing"] else ""
        rows.append(f"<tr><td>{int(c['cluster'])}</td><td>{html.escape(c['top_terms'])}</td>"
                    f"<td style='text-align:right'>{int(c['texts']):,}</td>"
                    f"<td style='text-align:right'>{c['share']:.1%}</td>"
                    f"<td style='text-align:right'>{c['baseline_share']:.1%}</td>"
                    f"<td>{flag}</td><td class='verbatim'>{examples}</td></tr>")
    return HTML("<table class='shopcx-verbatims'><thead><tr><th>#</th><th>top terms</th>"
                "<th>texts</th><th>share</th><th>baseline share</th><th></th>"
                "<th>typical texts</th></tr></thead><tbody>" + "".join(rows)
                + "</tbody></table>")


def join_note(tagged: pd.DataFrame) -> str:
    """One sentence on how much feedback could be joined to its order."""
    from shopcx.voc.painpoints import join_coverage

    c = join_coverage(tagged)
    return (f"Of {c['feedback']:,} pieces of feedback in the period, {c['with_order_id']:,} "
            f"name an order and {c['joined']:,} were joined to it; {c['not_joined']:,} name "
            "an order that is not in the data and are left out of the behaviour columns.")


def kpi_value(changes: pd.DataFrame, name: str) -> float | None:
    """The current value of one KPI from a comparison table (None when undefined)."""
    value = changes.set_index("kpi").loc[name, "value"]
    return None if pd.isna(value) else float(value)


def biggest_movers(changes: pd.DataFrame, top: int = 8,
                   min_sample: int = 30) -> Styler | Markdown:
    """The significant changes among all KPIs, largest relative change first."""
    sig = changes[changes["significant"]].copy()
    if sig.empty:
        return Markdown("*No KPI changed significantly against the baseline.*")
    sig = sig.reindex(sig["relative_change"].abs().sort_values(ascending=False).index)
    return headline_table(sig.head(top), sig.head(top)["kpi"], min_sample)


def data_quality(source: Source, market: str) -> Styler | Markdown:
    """The contract's warnings that concern this market, or a sentence if there are none."""
    t = count_market_warnings(source, market)
    if t.empty:
        return Markdown("*No data-quality warnings for this market.*")
    t["where"] = t["table"] + "." + t["column"]
    return show_table(t[["where", "rule", "message", "rows"]], {"rows": "int"},
                      caption="Data-quality warnings (rows concerned; they are excluded or "
                              "used as given, see docs/data_contract.md)")


def definitions(kpis: Iterable[str]) -> str:
    """Markdown list of the definitions of the given KPIs."""
    lines = []
    for name in kpis:
        k = KPI_BY_NAME[name]
        lines.append(f"- **{k.label}** (`{k.name}`): {k.definition}.")
    return ("**Definitions.** Periods are half-open `[start, end)` in UTC; orders are "
            "counted in the period they were placed. Intervals are Wilson 95%; changes "
            "are tested with a two-proportion z-test (rates) or an exact rate test "
            "(contacts per order), Benjamini–Hochberg adjusted.\n\n" + "\n".join(lines))


def readout_links(current: str, notebooks: Iterable[str] = tuple(NOTEBOOK_TITLES)) -> str:
    """Markdown links to the market's other readouts (same folder in a run's output)."""
    links = [f"[{NOTEBOOK_TITLES.get(n, n)}]({n}.html)" for n in notebooks if n != current]
    return "Other readouts for this market: " + " · ".join(links)


def buyer_segment_table(profile: pd.DataFrame) -> Styler | Markdown:
    """Buyer segments (:func:`shopcx.rootcause.profile.segment_profile`) as a readout table."""
    if profile.empty:
        if "reason" in profile.columns:  # the data lacks the buyer history they need
            return Markdown("*Buyer segments are not shown: they need 28 or more days of "
                            "order history before each period, and the data starts too "
                            "late.*")
        return Markdown("*No orders in the period.*")

    def pair(v: Any, b: Any, kind: str) -> str:
        return f"{format_value(kind, v)} (before {format_value(kind, b)})"

    frame = pd.DataFrame({
        "buyer segment": profile["segment"], "orders": profile["orders"],
        "share of orders": profile["share"],
        "cancellation rate": [pair(v, b, "proportion") for v, b in zip(
            profile["cancellation_rate"], profile["cancellation_rate_baseline"], strict=True)],
        "request success": [pair(v, b, "proportion") for v, b in zip(
            profile["cancel_request_success_rate"],
            profile["cancel_request_success_rate_baseline"], strict=True)],
        "contacts per order": [pair(v, b, "ratio") for v, b in zip(
            profile["cpo"], profile["cpo_baseline"], strict=True)],
        "CSAT": [pair(v, b, "mean") for v, b in zip(
            profile["csat_mean"], profile["csat_mean_baseline"], strict=True)],
        "contribution to the change": [
            "n/a" if pd.isna(c) else f"{c * 100:+.2f} pts ({e})"
            for c, e in zip(profile["contribution"], profile["effect"], strict=True)],
    })
    # a column with no value in either period (no requests, contacts or CSAT) says nothing
    for col, now, then in (("request success", "cancel_request_success_rate",
                            "cancel_request_success_rate_baseline"),
                           ("contacts per order", "cpo", "cpo_baseline"),
                           ("CSAT", "csat_mean", "csat_mean_baseline")):
        if profile[now].isna().all() and profile[then].isna().all() or (
                col == "contacts per order" and not profile[now].fillna(0).any()
                and not profile[then].fillna(0).any()):
            frame = frame.drop(columns=col)
    caption = None
    if "history_days" in profile.columns and profile["history_days"].iloc[0] < 180:
        caption = (f"Segments from each buyer's orders in the {profile['history_days'].iloc[0]} "
                   "days before each period (the data does not reach 180 days back)")
    return show_table(frame, formats={"share of orders": "pct"}, caption=caption)
