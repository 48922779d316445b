"""Trends over a series of periods: the series index, and the trends readout's pieces.

* :func:`render_series_index` -- ``OUT/index.html`` of ``shopcx run --every``:
  per market and headline KPI a sparkline of the periods with the latest
  value, its change against its baseline (significance, target status, ◔ for
  a young period compared at the same age), then a market × period grid
  whose cells open that period's readouts;
* :func:`trend_frame` -- the KPIs of a market's last N periods in one pass;
* :func:`flag_anomalies` -- which periods lie outside the others' control limits;
* :func:`trend_summary` -- the trends readout's table per KPI.
"""

from __future__ import annotations

import datetime as dt
import html
import math
from typing import Any

import pandas as pd

from shopcx.metrics.dictionary import KPI_BY_NAME
from shopcx.metrics.maturity import Maturity, moment
from shopcx.metrics.periods import Span, last_periods
from shopcx.readouts.formatting import format_value, plural
from shopcx.readouts.scorecard import CSS, DEFAULT_HEADLINE, SCRIPT, _kpi_cell

__all__ = ["anomaly_list", "flag_anomalies", "maturity_note", "period_table",
           "render_series_index", "sparkline", "trend_frame", "trend_summary"]

LIMIT_Z = 3.0
"""A period is an anomaly beyond 3 robust standard errors of the others (flag_anomalies)."""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def sparkline(values: list[float | None], young: list[bool], width: int = 110,
              height: int = 26) -> str:
    """An inline SVG line of the values (gaps for missing ones); young periods hollow.

    >>> '<polyline' in sparkline([0.1, 0.2, None, 0.15], [False, False, False, True])
    True
    """
    points = [(i, v) for i, v in enumerate(values) if v is not None and not math.isnan(v)]
    if not points:
        return ""
    lo, hi = min(v for _, v in points), max(v for _, v in points)
    span = hi - lo or 1.0
    step = (width - 6) / max(len(values) - 1, 1)

    def xy(i: int, v: float) -> tuple[float, float]:
        return 3 + i * step, height - 3 - (v - lo) / span * (height - 6)

    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(i, v) for i, v in points))
    hollow, solid = 'fill="#fff" stroke="#8a6d00"', 'fill="#0b62d6"'
    dots = "".join(
        f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.2" {hollow if young[i] else solid}/>'
        for i, v in points if i == points[-1][0] or young[i] for x, y in [xy(i, v)])
    return (f'<svg class="spark" width="{width}" height="{height}" role="img" '
            f'aria-label="trend"><polyline fill="none" stroke="#0b62d6" stroke-width="1.5" '
            f'points="{line}"/>{dots}</svg>')


def period_table(source: Any, market: str, spans: list[Span],
                 maturity: Maturity | None = None) -> pd.DataFrame:
    """Every KPI of ``market`` for each of ``spans`` in one pass, with ``period`` (its
    label), ``start`` and ``end``."""
    from shopcx.metrics.kpis import compute_period_kpis

    t = compute_period_kpis(source, market, [s.dates for s in spans], maturity or Maturity())
    by_start = {s.dates[0]: s for s in spans}
    t.insert(1, "start", t["period"])
    t.insert(2, "end", [by_start[p].dates[1] for p in t["period"]])
    t["period"] = [by_start[p].label for p in t["period"]]
    return t


def trend_frame(source: Any, market: str, every: str, last: int,
                maturity: Maturity | None = None) -> pd.DataFrame:
    """:func:`period_table` of ``market``'s last ``last`` complete weeks or months before
    the source's data end."""
    return period_table(source, market, last_periods(source.data_end(), every, last), maturity)


def flag_anomalies(trend: pd.DataFrame, min_sample: int = 30) -> pd.DataFrame:
    """Per period and rate KPI: does it break from the other periods?

    Robust control limits, so that one incident week does not make every
    ordinary week look odd: the centre is the median of the other *mature*
    periods' values; the spread combines the sampling error of a rate on this
    period's denominator (binomial for proportions, Poisson for ratios) with
    the other periods' own variation (1.4826 × their median absolute
    deviation). A period is an anomaly beyond ``LIMIT_Z`` (3) such standard
    errors. Young periods are not judged (their own readout compares them at
    the same age); nor are periods under ``min_sample`` or with fewer than 3
    others to compare with. Adds ``expected``, ``z`` and ``anomaly`` (True,
    False or None when not judged).
    """
    out = trend.copy()
    out["expected"], out["z"], out["anomaly"] = math.nan, math.nan, None
    if "mature_share" not in out:
        out["mature_share"] = 1.0
    rates = out["kind"].isin(("proportion", "ratio"))
    for _, g in out[rates].groupby("kpi", sort=False):
        mature = (g["mature_share"].fillna(1.0) >= 1.0) | (g.get("maturity_days", 0) == 0)
        for idx, row in g.iterrows():
            n = row["denominator"]
            if pd.isna(n) or n < min_sample or not bool(mature.loc[idx]) or pd.isna(
                    row["value"]):
                continue
            others = g.loc[mature & (g.index != idx), "value"].dropna().astype(float)
            if len(others) < 3:
                continue
            c = float(others.median())
            spread = 1.4826 * float((others - c).abs().median())
            sampling = c * (1 - c) / float(n) if row["kind"] == "proportion" else c / float(n)
            var = max(sampling, 0.0) + spread ** 2
            if var <= 0:
                continue
            z = (float(row["value"]) - c) / math.sqrt(var)
            out.loc[idx, ["expected", "z"]] = [c, z]
            out.loc[idx, "anomaly"] = abs(z) > LIMIT_Z
    return out


def trend_summary(trend: pd.DataFrame, kpis: list[str]) -> pd.DataFrame:
    """One row per KPI: its value in each period (young ones marked ◔, anomalies ⚠)."""
    flagged = flag_anomalies(trend)
    rows = []
    for kpi in kpis:
        g = flagged[flagged["kpi"] == kpi]
        row: dict[str, Any] = {"KPI": KPI_BY_NAME[kpi].label}
        for _, r in g.iterrows():
            text = format_value(r["kind"], r["value"])
            if r.get("anomaly") is True:
                text += " ⚠"
            if r.get("mature_share") is not None and r["mature_share"] < 1 and \
                    r.get("maturity_days", 0) > 0:
                text += " ◔"
            row[r["period"]] = text
        rows.append(row)
    return pd.DataFrame(rows)


def _latest(done: Any, market: str) -> pd.DataFrame | None:
    kpis = done.periods[-1].kpis
    if kpis.empty:
        return None
    return kpis[kpis["market"] == market].set_index("kpi")


def render_series_index(done: Any) -> str:
    """``OUT/index.html`` of a series run (see the module docstring)."""
    series = done.series
    last = series.plans[-1]
    targets = last.targets
    headline = list(targets.headline if targets else DEFAULT_HEADLINE)
    spans = series.spans
    trends = done.trends
    labels = [s.label for s in spans]
    results = {(r.output_dir, r.notebook): r for r in done.results}
    head = "".join(f'<th title="{_e(KPI_BY_NAME[k].definition)}">{_e(KPI_BY_NAME[k].label)}'
                   "</th>" for k in headline)
    rows = []
    for market in series.markets:
        t = trends[trends["market"] == market] if len(trends) else trends
        latest = _latest(done, market)
        cells = []
        for k in headline:
            g = t[t["kpi"] == k].set_index("period").reindex(labels) if len(t) else None
            spark = ""
            if g is not None:
                young = [bool(pd.notna(s) and s < 1 and d > 0) for s, d in
                         zip(g["mature_share"], g["maturity_days"].fillna(0), strict=True)]
                spark = sparkline([None if pd.isna(v) else float(v) for v in g["value"]], young)
            row = latest.loc[k] if latest is not None and k in latest.index else None
            status = (targets.status(market, k, row["value"]) if targets is not None
                      and row is not None else None)
            cell = _kpi_cell(row, status, last.config.min_sample)
            cells.append(cell.replace('<span class="v">', f"{spark}<span class=\"v\">", 1))
        trend_job = next((j for j in series.series_jobs if j.market == market), None)
        link = ""
        if trend_job is not None:
            r = results.get((trend_job.output_dir, trend_job.notebook))
            if r is not None and r.status == "ok":
                link = f'<a href="{_e(market)}/{_e(trend_job.notebook)}.html">trends</a>'
        rows.append(f'<tr><td class="market" data-sort="{_e(market)}">{_e(market)}</td>'
                    f'<td class="links">{link}</td>{"".join(cells)}</tr>')
    grid = []
    first_nb = last.notebooks[0] if last.notebooks else None
    for market in series.markets:
        cells = []
        for span, plan in zip(spans, series.plans, strict=True):
            out = str(plan.out / market)
            r = results.get((out, first_nb)) if first_nb else None
            value = ""
            if len(trends):
                m = trends[(trends["market"] == market) & (trends["period"] == span.label)
                           & (trends["kpi"] == headline[0])]
                if len(m):
                    value = format_value(m.iloc[0]["kind"], m.iloc[0]["value"])
            if r is not None and r.status == "ok":
                cells.append(f'<td class="kpi"><a href="{_e(span.label)}/{_e(market)}/'
                             f'{_e(first_nb)}.html" title="{_e(market)} {_e(span.label)} '
                             f'readouts">{_e(value) or "open"}</a></td>')
            elif r is not None:
                cells.append('<td class="kpi bad">failed</td>')
            else:
                cells.append(f'<td class="kpi" title="not run">{_e(value)}</td>')
        grid.append(f'<tr><td class="market">{_e(market)}</td>{"".join(cells)}</tr>')
    grid_head = "".join(
        f'<th><a href="{_e(s.label)}/index.html" title="{_e(s.dates[0])} to '
        f'{_e(s.dates[1])} (end excluded)">{_e(s.label)}</a></th>' for s in spans)
    ok = sum(r.status == "ok" for r in done.results)
    failed = len(done.failed)
    status_line = f'<span class="ok">{plural(ok, "readout")}</span>'
    if failed:
        status_line += f' · <span class="bad">{failed} failed</span>'
    if done.reused:
        status_line += f" ({len(done.reused)} reused from an earlier run, inputs unchanged)"
    if done.interrupted is not None:
        import signal

        status_line += (f' · <span class="bad">interrupted by '
                        f"{signal.Signals(done.interrupted).name}: "
                        f'{plural(len(done.not_run), "readout")} not run; run the same command '
                        "again to resume</span>")
    young_note = ""
    latest_all = done.periods[-1].kpis
    if not latest_all.empty and "same_age" in latest_all and \
            latest_all["same_age"].fillna(False).astype(bool).any():
        aged = latest_all.loc[latest_all["same_age"].fillna(False).astype(bool),
                              "baseline_as_of"].dropna()
        young_note = (
            f'<p class="meta young-note"><span class="young">◔</span> <b>The latest period, '
            f"{_e(spans[-1].label)}, is young.</b> At the data's end ({_e(last.data_end)}) its "
            "orders have not all had their maturity window, so its KPIs marked ◔ are compared "
            f"with their baseline <b>at the same age</b> (the baseline's events counted up to "
            f"{_e(moment(pd.Timestamp(aged.iloc[0])) if len(aged) else 'n/a')}). In the "
            "sparklines, young periods are hollow dots: their values may still rise.</p>")
    every = "Weekly" if series.every == "week" else "Monthly"
    generated = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    rule = series.config.baseline
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Cancellation experience · {_e(every.lower())} trends</title>
<style>{CSS}
svg.spark {{ display:block; margin:0 0 2px auto; }}
td.kpi a {{ color:#0b62d6; text-decoration:none; }}
</style></head>
<body><main>
<h1>Cancellation experience · {_e(every.lower())}, {_e(labels[0])} to {_e(labels[-1])}</h1>
<p class="meta">{plural(len(series.markets), "market")} · {plural(len(spans), series.every)} ·
each against its baseline ({_e(rule)}) · {status_line} · run took {done.seconds:.0f} s ·
generated {generated}</p>
<h2>Trends</h2>
<p class="meta legend">Each cell: the trend over the {plural(len(spans), series.every)}
(sparkline), the latest {series.every}'s value, and its change against its baseline with
<b>*</b> when significant. Status of the latest value against targets:
<span style="background:var(--green)">green</span><span style="background:var(--amber)">amber</span><span style="background:var(--red)">red</span>.
Hover a value for its baseline.</p>
{young_note}
<div class="card"><table class="sortable"><thead><tr><th>market</th><th>readout</th>{head}
</tr></thead><tbody>{"".join(rows)}</tbody></table></div>
<h2>Readouts by {_e(series.every)}</h2>
<p class="meta">{_e(KPI_BY_NAME[headline[0]].label)} per {_e(series.every)}; a cell opens that
{_e(series.every)}'s readouts for the market, a column header its scorecard.</p>
<div class="card"><table><thead><tr><th>market</th>{grid_head}</tr></thead>
<tbody>{"".join(grid)}</tbody></table></div>
<h2>Run</h2>
<div class="card"><table><tbody>
<tr><th>periods</th><td>{_e(spans[0].dates[0])} to {_e(spans[-1].dates[1])} (end excluded),
{plural(len(spans), series.every)}</td></tr>
<tr><th>baseline rule</th><td>{_e(rule)}</td></tr>
<tr><th>data</th><td><code>{_e(last.data)}</code></td></tr>
<tr><th>data as of</th><td>{_e(last.data_end or "n/a")}</td></tr>
<tr><th>details</th><td><a href="run.json">run.json</a> · <a href="trends.csv">trends.csv</a>
</td></tr>
</tbody></table></div>
<footer>shopcx · customer text in the readouts is shown with e-mail addresses and phone
numbers redacted · internal: share within the company only</footer>
</main><script>{SCRIPT}</script></body></html>
"""


def anomaly_list(trend: pd.DataFrame, kpis: list[str], market: str,
                 min_sample: int = 30, readout: str = "root_cause") -> str:
    """Markdown: each anomalous period of a headline KPI, with a link to that period's
    ``readout`` (``../<period>/<MARKET>/root_cause.html#<kpi>``, as a series run lays
    them out)."""
    flagged = flag_anomalies(trend[trend["kpi"].isin(kpis)], min_sample)
    odd = flagged[flagged["anomaly"].eq(True)]
    if odd.empty:
        return ("*No period of a headline KPI breaks from the other periods (beyond "
                f"{LIMIT_Z:.0f} robust standard errors).*")
    lines = []
    for _, r in odd.iterrows():
        label = KPI_BY_NAME[r["kpi"]].label
        way = "above" if r["z"] > 0 else "below"
        anchor = f"#{r['kpi']}" if readout == "root_cause" else ""
        link = f"../{r['period']}/{market}/{readout}.html{anchor}"
        what = "root cause" if readout == "root_cause" else readout.replace("_", " ")
        lines.append(
            f"- **{r['period']}**: {label} {format_value(r['kind'], r['value'])}, {way} the "
            f"other periods' median {format_value(r['kind'], r['expected'])} "
            f"({abs(r['z']):.1f} standard errors) · [{what} of {r['period']}]({link})")
    return "\n".join(lines)


def maturity_note(trend: pd.DataFrame) -> str | None:
    """Which periods of the trend are young, in one sentence; None when none is."""
    young = trend[(trend["maturity_days"] > 0) & (trend["mature_share"].fillna(1) < 1)]
    if young.empty:
        return None
    shares = young.groupby("period", sort=False)["mature_share"].min()
    parts = [f"{p} ({s:.0%} mature)" for p, s in shares.items()]
    return ("Young periods, whose orders have not all had their maturity window at the "
            f"data's end: {', '.join(parts)}. Their cancellation and contact KPIs may still "
            "rise; they are drawn hollow, and each period's own readouts compare them with "
            "their baseline at the same age.")
