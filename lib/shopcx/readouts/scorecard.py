"""The run index: a cross-market scorecard page linking every readout.

One self-contained HTML page (inline CSS and a few lines of inline script
for sorting; no external request): markets as rows, headline KPIs as
columns with value, change against the baseline, significance and
red/amber/green status against targets; links to every readout; failed
notebooks with their error; run metadata and data-quality warnings.
"""

from __future__ import annotations

import datetime as dt
import html
from typing import Any

import pandas as pd

from shopcx.metrics.dictionary import KPI_BY_NAME
from shopcx.metrics.maturity import moment
from shopcx.readouts.formatting import format_value, plural
from shopcx.readouts.readout import period_label

__all__ = ["DEFAULT_HEADLINE", "render_index"]

DEFAULT_HEADLINE = ("cancellation_rate", "seller_fault_cancellation_rate",
                    "cancel_exit_in_transit", "cancel_request_success_rate",
                    "p90_hours_to_resolve", "cpo", "cancel_cpo", "repeat_contact_rate",
                    "csat_mean", "feedback_negative_share")

SHORT_TITLES = {"summary": "summary", "funnel": "funnel", "cpo": "contacts",
                "escalations": "escalations", "voc": "voice", "root_cause": "why"}

CSS = """
:root { --ink:#1f2328; --muted:#57606a; --line:#e5e7eb; --green:#d8f0dd; --amber:#fcebc5;
        --red:#f8d3d3; --worse:#b3261e; --better:#1e7b34; }
* { box-sizing: border-box; }
body { margin:0; font-family:-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
       color:var(--ink); background:#f6f7f9; font-size:14px; line-height:1.5; }
main { max-width:1400px; margin:0 auto; padding:24px 28px 56px; }
h1 { font-size:26px; margin:0 0 4px; }
h2 { font-size:18px; margin:28px 0 8px; }
.meta { color:var(--muted); margin:0 0 16px; }
.card { background:#fff; border:1px solid var(--line); border-radius:8px; padding:16px 18px;
        overflow-x:auto; }
table { border-collapse:collapse; width:100%; }
th, td { padding:7px 9px; border-bottom:1px solid var(--line); vertical-align:top; }
th { text-align:left; font-size:12px; color:var(--muted); font-weight:600; max-width:120px;
     vertical-align:bottom; background:#fff; }
table.sortable th { cursor:pointer; user-select:none; }
table.sortable th:hover { color:var(--ink); }
th.sorted-asc::after { content:" ▲"; } th.sorted-desc::after { content:" ▼"; }
td.kpi { text-align:right; font-variant-numeric:tabular-nums; white-space:nowrap; }
td.kpi .v { font-weight:600; } td.kpi .c { display:block; font-size:12px; color:var(--muted); }
td.kpi .c.worse { color:var(--worse); font-weight:600; }
td.kpi .c.better { color:var(--better); font-weight:600; }
td.kpi a.why { font-size:11px; }
.young { color:#8a6d00; margin-left:3px; font-size:11px; }
td.green { background:var(--green); } td.amber { background:var(--amber); }
td.red { background:var(--red); }
td.market { font-weight:700; font-size:15px; }
.links { white-space:nowrap; }
.links a, .links span { display:inline-block; margin:0 4px 3px 0; padding:1px 7px; font-size:12.5px;
  border:1px solid #d0d7de; border-radius:10px; color:#0b62d6; text-decoration:none; }
.links a:hover { text-decoration:underline; }
.links .failed { color:var(--worse); font-weight:600; }
.legend span { display:inline-block; padding:1px 8px; margin-right:8px; border-radius:4px; }
.ok { color:var(--better); font-weight:600; } .bad { color:var(--worse); font-weight:600; }
code { font-size:12.5px; background:#f0f1f3; padding:1px 4px; border-radius:3px; }
footer { margin-top:32px; color:var(--muted); font-size:12px; }
td.pains { min-width:210px; font-size:12.5px; } td.pains ol { margin:0; padding-left:18px; }
td.pains .owner { color:var(--muted); font-size:11.5px; }
"""

SCRIPT = """
document.querySelectorAll('table.sortable').forEach(function (table) {
  table.querySelectorAll('th').forEach(function (th, col) {
    th.addEventListener('click', function () {
      var body = table.tBodies[0];
      var asc = !th.classList.contains('sorted-asc');
      table.querySelectorAll('th').forEach(function (h) {
        h.classList.remove('sorted-asc', 'sorted-desc'); });
      th.classList.add(asc ? 'sorted-asc' : 'sorted-desc');
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = a.cells[col].getAttribute('data-sort'), y = b.cells[col].getAttribute('data-sort');
        var nx = parseFloat(x), ny = parseFloat(y);
        var cmp = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : String(x).localeCompare(String(y));
        if (x === '' || x === null) { return 1; }
        if (y === '' || y === null) { return -1; }
        return asc ? cmp : -cmp;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
});
"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _change(row: pd.Series) -> tuple[str, str]:
    if pd.isna(row["change"]) or row["too_few"]:
        return "", "too few" if row["too_few"] else ""
    arrow = "▲" if row["change"] > 0 else ("▼" if row["change"] < 0 else "■")
    if row["kind"] == "proportion":
        text = f"{arrow} {abs(row['change']) * 100:.2f} pts"
    elif row["kind"] == "quantile":
        text = f"{arrow} {abs(row['change']):.1f} h"
    elif pd.isna(row["relative_change"]):
        text = arrow
    else:
        text = f"{arrow} {abs(row['relative_change']):.1%}"
    cls = row["assessment"] if row["significant"] and row["assessment"] in ("better",
                                                                             "worse") else ""
    if row["significant"]:
        text += " *"
    return text, cls


def _kpi_cell(row: pd.Series | None, status: str | None, min_sample: int,
              why: str | None = None) -> str:
    if row is None:
        return '<td class="kpi" data-sort="">n/a</td>'
    few = row["kind"] in ("proportion", "ratio") and (
        pd.isna(row["denominator"]) or row["denominator"] < min_sample)
    value = "too few" if few else format_value(row["kind"], row["value"])
    change, cls = _change(row)
    sort = "" if few or pd.isna(row["value"]) else f"{float(row['value']):.10g}"
    status_cls = f" {status}" if status and not few else ""
    title = f"baseline {format_value(row['kind'], row['baseline'])}"
    young = ""
    if bool(row.get("same_age", False)):
        title += (f" at the same age (events up to {moment(pd.Timestamp(row['baseline_as_of']))}"
                  f"; whole baseline {format_value(row['kind'], row['naive_baseline'])}); "
                  f"{row['mature_share']:.0%} of the period is {int(row['maturity_days'])} "
                  "days old or more")
        young = '<span class="young" aria-label="young period">◔</span>'
    link = (f'<a class="why" href="{_e(why)}" title="root cause of this change">why?</a>'
            if why else "")
    return (f'<td class="kpi{status_cls}" data-sort="{sort}" title="{_e(title)}">'
            f'<span class="v">{_e(value)}{young}</span><span class="c {cls}">{_e(change)}</span>'
            f'{link}</td>')


def _young_note(kpis: pd.DataFrame, as_of: str | None) -> str:
    """The index's statement on young periods: which KPIs are compared at the same age."""
    if kpis.empty or "same_age" not in kpis.columns:
        return ""
    young = kpis[kpis["same_age"].fillna(False).astype(bool)]
    if young.empty:
        return ""
    aged = moment(pd.Timestamp(young["baseline_as_of"].dropna().iloc[0]))
    windows = sorted({int(d) for d in young["maturity_days"]})
    days = " or ".join(f"{d}" for d in windows)
    return (f'<p class="meta young-note"><span class="young">◔</span> <b>Young period.</b> At '
            f"the data's end ({_e(as_of or 'n/a')}) not every order (or contact) of the period "
            f"is {days} days old, so the KPIs marked ◔ are compared with the baseline "
            f"<b>at the same age</b>: its events counted up to {_e(aged)}, as far after the "
            "baseline's end as the data reaches after the period's end. Hover a value for "
            "the share of its period that is mature and the whole baseline.</p>")


def _explained(plan: Any, results: dict[tuple[str, str], Any], market: str,
               table: pd.DataFrame | None) -> set[str]:
    """Headline KPIs of a market that its root-cause readout explains (significant moves)."""
    r = results.get((market, "root_cause"))
    if table is None or r is None or r.status != "ok":
        return set()
    from shopcx.errors import ShopcxError
    from shopcx.readouts.story import moved_metrics

    job = next((j for j in plan.jobs if j.market == market and j.notebook == "root_cause"), None)
    params = job.parameters if job is not None else {}
    changes = table.reset_index()
    significant = set(changes.loc[changes["significant"].fillna(False).astype(bool), "kpi"])
    try:
        picked = moved_metrics(changes, str(params.get("metric", "auto")),
                               int(params.get("max_metrics", 3)))
    except ShopcxError:  # a metric name the notebook will reject itself
        return set()
    return set(picked) & significant


def render_index(summary: Any) -> str:
    """The index page of a run (see the module docstring)."""
    plan = summary.plan
    targets = plan.targets
    headline = list(targets.headline if targets else DEFAULT_HEADLINE)
    kpis = summary.kpis
    by_market = {m: g.set_index("kpi") for m, g in kpis.groupby("market")} if len(kpis) else {}
    results = {(r.market, r.notebook): r for r in summary.results}
    period = period_label(plan.start, plan.end)
    baseline = period_label(plan.baseline_start, plan.baseline_end)

    head = "".join(f'<th title="{_e(KPI_BY_NAME[k].definition)}">{_e(KPI_BY_NAME[k].label)}</th>'
                   for k in headline)
    rows = []
    for market in plan.markets:
        links = []
        for nb in plan.notebooks:
            r = results.get((market, nb))
            title = SHORT_TITLES.get(nb, nb)
            if r is None:
                continue
            if r.status == "ok" and r.html:
                links.append(f'<a href="{_e(market)}/{_e(nb)}.html">{_e(title)}</a>')
            elif r.html:
                links.append(f'<a class="failed" href="{_e(market)}/{_e(nb)}.html">'
                             f'{_e(title)} (failed)</a>')
            else:
                links.append(f'<span class="failed">{_e(title)} (failed)</span>')
        cells = []
        table = by_market.get(market)
        explained = _explained(plan, results, market, table)
        for k in headline:
            row = table.loc[k] if table is not None and k in table.index else None
            status = (targets.status(market, k, row["value"]) if targets is not None
                      and row is not None else None)
            why = f"{market}/root_cause.html#{k}" if k in explained else None
            cells.append(_kpi_cell(row, status, plan.config.min_sample, why))
        pains = getattr(summary, "pain_points", {}).get(market, [])
        pain_html = "".join(
            f'<li>{_e(p["label"])} <span class="owner">{_e(p["owner"])}, {p["share"]:.0%}'
            f'{" ▲" if p["growing"] else ""}</span></li>' for p in pains)
        rows.append(f'<tr><td class="market" data-sort="{_e(market)}">{_e(market)}</td>'
                    f'<td class="links" data-sort="{_e(market)}">{"".join(links)}</td>'
                    f'{"".join(cells)}<td class="pains" data-sort="{_e(pains[0]["label"] if pains else "")}">'
                    f'<ol>{pain_html}</ol></td></tr>')

    failed = [r for r in summary.results if r.status != "ok"]
    if failed or summary.kpi_errors:
        items = ""
        for r in failed:
            folder = f"impact/{r.market}" if r.notebook == "impact" else r.market
            link = (f'<a href="{_e(folder)}/{_e(r.notebook)}.ipynb">executed notebook</a>'
                    if r.ipynb else "")
            items += (f"<tr><td>{_e(r.market)}</td><td>{_e(r.notebook)}</td>"
                      f"<td><code>{_e(r.error)}</code></td><td>{link}</td></tr>")
        items += "".join(f"<tr><td>{_e(m)}</td><td>KPI comparison</td><td><code>{_e(e)}</code>"
                         "</td><td></td></tr>" for m, e in summary.kpi_errors.items())
        failures = (f'<h2 class="bad">Failed ({len(failed) + len(summary.kpi_errors)})</h2>'
                    '<div class="card"><table><thead><tr><th>market</th><th>notebook</th>'
                    f"<th>error</th><th></th></tr></thead><tbody>{items}</tbody></table></div>")
    else:
        failures = ""
    ok = sum(r.status == "ok" for r in summary.results)
    warn_rows = "".join(
        f"<tr><td>{_e(w['table'])}.{_e(w['column'])}</td><td>{_e(w['rule'])}</td>"
        f"<td>{_e(w['message'])}</td><td class='kpi'>{int(w['rows']):,}</td></tr>"
        for w in plan.warnings)
    warnings = ('<div class="card"><table><thead><tr><th>where</th><th>rule</th><th>what</th>'
                f'<th>rows</th></tr></thead><tbody>{warn_rows}</tbody></table></div>'
                if plan.warnings else '<p class="meta">No data-quality warnings.</p>')
    generated = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    status_line = (f'<span class="ok">{plural(ok, "readout")}</span>'
                   + (f' · <span class="bad">{len(failed)} failed</span>' if failed else ""))
    reused = sum(bool(getattr(r, "reused", False)) for r in summary.results)
    if reused:
        status_line += f" ({reused} reused from an earlier run, inputs unchanged)"
    stopped = getattr(summary, "interrupted", None)
    if stopped is not None:
        import signal

        missing = len(summary.not_run)
        status_line += (f' · <span class="bad">interrupted by {signal.Signals(stopped).name}: '
                        f'{plural(missing, "readout")} not run; run the same command again to '
                        "resume</span>")
    rows_line = " · ".join(f"{n:,} {t}" for t, n in plan.rows.items())
    young = _young_note(kpis, getattr(plan, "data_end", None))
    from shopcx.readouts.impact import change_list

    changes = change_list(getattr(plan, "changes", []),
                          {r.market: r for r in summary.results if r.notebook == "impact"},
                          plan.start, plan.end)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Cancellation experience · {_e(period)}</title>
<style>{CSS}</style></head>
<body><main>
<h1>Cancellation experience · {_e(period)}</h1>
<p class="meta">{plural(len(plan.markets), "market")}, against {_e(baseline)} · {status_line} ·
run took {summary.seconds:.0f} s · generated {generated}</p>
<h2>Scorecard</h2>
<p class="meta legend">Click a column to sort. Status against targets:
<span style="background:var(--green)">green</span><span style="background:var(--amber)">amber</span><span style="background:var(--red)">red</span>
Change against the baseline: ▲▼ with <b>*</b> when significant (Benjamini–Hochberg, 5%),
<span style="color:var(--worse);font-weight:600">red</span> when worse for customers,
<span style="color:var(--better);font-weight:600">green</span> when better.
Hover a value for its baseline, a header for its definition.</p>
{young}
<div class="card"><table class="sortable"><thead><tr><th>market</th><th>readouts</th>{head}
<th title="highest-priority themes in customer feedback (voice readout)">top pain points</th>
</tr></thead><tbody>{"".join(rows)}</tbody></table></div>
{changes}
{failures}
<h2>Data quality</h2>
<p class="meta">Checked against the data contract before the run: {_e(rows_line)}.</p>
{warnings}
<h2>Run</h2>
<div class="card"><table><tbody>
<tr><th>period</th><td>{_e(plan.start)} to {_e(plan.end)} (end excluded)</td></tr>
<tr><th>baseline</th><td>{_e(plan.baseline_start)} to {_e(plan.baseline_end)}</td></tr>
<tr><th>data</th><td><code>{_e(plan.data)}</code></td></tr>
<tr><th>notebooks</th><td>{_e(", ".join(plan.notebooks))}</td></tr>
<tr><th>minimum sample</th><td>{plan.config.min_sample}</td></tr>
<tr><th>data as of</th><td>{_e(getattr(plan, "data_end", None) or "n/a")}{
    " (--as-of)" if getattr(plan, "as_of", "") else " (the data's end)"}</td></tr>
<tr><th>details</th><td><a href="run.json">run.json</a> · <a href="kpis.csv">kpis.csv</a></td></tr>
</tbody></table></div>
<footer>shopcx · customer text in the readouts is shown with e-mail addresses and phone
numbers redacted · internal: share within the company only</footer>
</main><script>{SCRIPT}</script></body></html>
"""
