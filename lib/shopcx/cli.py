"""The ``shopcx`` command (docs/commands.md).

Exit status: 0 success (warnings allowed); 1 some work failed; 2 bad input
or bad arguments. Errors are printed to stderr as plain sentences; ``--debug``
shows the traceback as well.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import sys
import traceback
from collections.abc import Sequence
from typing import Any

import duckdb

from shopcx.errors import ContractError, InputError, ShopcxError

__all__ = ["main"]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # plain sentence, exit 2
        self.print_usage(sys.stderr)
        print(f"error: {message}", file=sys.stderr)
        raise SystemExit(2)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="shopcx", description="Cancellation-experience analysis workbook.")
    p.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    d = sub.add_parser("demo-data", help="write the synthetic demo dataset")
    d.add_argument("--out", required=True, help="folder to write the four tables to")
    d.add_argument("--orders", type=int, default=500_000, help="total orders (default 500000)")
    d.add_argument("--months", type=int, default=6, help="months up to 2026-12-01 (default 6)")
    d.add_argument("--seed", type=int, default=7, help="random seed (default 7)")

    v = sub.add_parser("validate", help="check a data source against the data contract")
    v.add_argument("--data", required=True, help="data folder or engine URL")

    k = sub.add_parser("kpis", help="every KPI of the metric dictionary for a market and period")
    k.add_argument("--data", required=True, help="data folder or engine URL")
    k.add_argument("--market", required=True, help="ISO market code, e.g. US")
    k.add_argument("--start", required=True, help="period start YYYY-MM-DD (inclusive)")
    k.add_argument("--end", required=True, help="period end YYYY-MM-DD (exclusive)")
    k.add_argument("--by", help="also per segment of an order dimension "
                   "(category, sales_channel, fulfillment, payment_method, carrier) or "
                   "buyer_segment (derived from each buyer's history)")
    k.add_argument("--format", choices=("json", "csv", "table"), default="table")
    _maturity_args(k)

    e = sub.add_parser("explain", help="root cause of a rate's change between two periods")
    e.add_argument("--data", required=True, help="data folder or engine URL")
    e.add_argument("--market", required=True, help="ISO market code")
    e.add_argument("--metric", required=True, help="rate to explain, e.g. cancellation_rate")
    e.add_argument("--baseline", required=True, help="baseline period START:END")
    e.add_argument("--current", required=True, help="current period START:END")
    e.add_argument("--top", type=int, default=20, help="drivers to show (default 20)")
    e.add_argument("--format", choices=("json", "table"), default="table")
    _maturity_args(e)
    e.add_argument("--naive", action="store_true",
                   help="compare with the whole baseline even when the current period is "
                        "young (default: at the same age)")

    t = sub.add_parser("tag", help="tag a CSV of free text with VOC themes and sentiment "
                       "(or, with --train, learn a theme model from labelled texts)")
    t.add_argument("--input", help="CSV file to tag")
    t.add_argument("--text-column", help="column holding the text (default with --train: text)")
    lang = t.add_mutually_exclusive_group()
    lang.add_argument("--language", help="ISO 639-1 code of every text (e.g. en, id, th)")
    lang.add_argument("--language-column", help="column holding each text's language")
    t.add_argument("--rating-column", help="column with a 1-5 rating, the sentiment fallback")
    t.add_argument("--taxonomy", help="taxonomy file (default: params/voc_taxonomy.yaml)")
    t.add_argument("--explain", action="store_true",
                   help="also add theme_rules (the rule or model terms behind each theme) "
                   "and language_used")
    t.add_argument("--out", help="CSV file to write")
    t.add_argument("--train", metavar="LABELLED.csv",
                   help="learn a model from a labelled CSV into --model: themes (text, themes) "
                   "or sentiment (text, sentiment or rating)")
    t.add_argument("--kind", choices=("themes", "sentiment"),
                   help="with --train: what to learn (default: themes if the file has a "
                   "themes column, else sentiment)")
    t.add_argument("--model", action="append", default=[],
                   help="model file: written by --train; when tagging, a theme model is "
                   "combined with the rules and a sentiment model reads its language "
                   "(repeatable)")

    ev = sub.add_parser("evaluate", help="score the VOC tagger against a labelled CSV: "
                        "precision, recall and F1 per theme, coverage, sentiment AUC")
    ev.add_argument("labelled", help="CSV with a text column and 'themes' (top or top/sub, "
                    "';'-separated), 'sentiment' and/or 'rating' columns")
    ev.add_argument("--text-column", default="text", help="column holding the text "
                    "(default text)")
    ev.add_argument("--language", help="ISO 639-1 code of every text (default: the "
                    "'language' column if present, else detected)")
    ev.add_argument("--themes", help="comma-separated themes to score (default: every theme "
                    "the labels name)")
    ev.add_argument("--taxonomy", help="taxonomy file (default: params/voc_taxonomy.yaml)")
    ev.add_argument("--model", action="append", default=[],
                    help="a model from tag --train (theme or sentiment); repeatable")
    ev.add_argument("--format", choices=("json", "table"), default="table")

    im = sub.add_parser("impact", help="did a change in one market work? difference-in-"
                                       "differences against control markets")
    im.add_argument("--data", required=True, help="data folder or engine URL")
    im.add_argument("--market", required=True, help="the market that changed; several, "
                    "comma-separated, for a staggered rollout")
    im.add_argument("--change-date", required=True, help="the first day of the change; one "
                    "per market, comma-separated, for a staggered rollout")
    im.add_argument("--metrics", required=True, help="comma-separated target metrics, e.g. "
                                                     "p90_hours_to_resolve,cancel_cpo")
    im.add_argument("--control", help="comma-separated control markets (default: every "
                                      "other market)")
    im.add_argument("--window", type=int, default=28, help="days before and after the "
                                                           "change (default 28)")
    im.add_argument("--guardrails", help="comma-separated guardrail metrics (default: cpo, "
                                         "csat_mean, seller_fault_cancellation_rate)")
    im.add_argument("--format", choices=("json", "table"), default="table")

    ex = sub.add_parser("experiment", help="an A/B test of the assignments table: sample "
                        "ratio, effects with intervals, CUPED, guardrails, verdict")
    ex.add_argument("--data", required=True, help="data folder or engine URL")
    ex.add_argument("--experiment", help="experiment id (omit to list the experiments)")
    ex.add_argument("--metrics", help="comma-separated target metrics (default: cancel_cpo, "
                    "cancellation_rate, cancel_request_success_rate)")
    ex.add_argument("--guardrails", help="comma-separated guardrail metrics (default: cpo, "
                    "csat_mean, seller_fault_cancellation_rate)")
    ex.add_argument("--control-variant", help="the variant others are compared with "
                    "(default: 'control')")
    ex.add_argument("--split", help="planned shares per variant, e.g. control=50,one_tap=50 "
                    "(default: equal)")
    ex.add_argument("--pre-days", type=int, default=28, help="pre-period for CUPED, days "
                    "before the first assignment (default 28; 0 turns CUPED off)")
    ex.add_argument("--end", help="last day measured, exclusive (default: the data's end)")
    ex.add_argument("--market", help="the market (default: where the units' orders are)")
    ex.add_argument("--format", choices=("json", "table"), default="table")

    r = sub.add_parser("run", help="run the deep-dive notebooks per market, render readouts "
                       "and the run index")
    r.add_argument("params", nargs="?", help="run configuration (YAML), e.g. params/demo.yaml")
    r.add_argument("--data", help="data folder or engine URL")
    r.add_argument("--markets", help="comma-separated market codes, or 'all'")
    r.add_argument("--start", help="period start YYYY-MM-DD")
    r.add_argument("--end", help="period end YYYY-MM-DD (exclusive)")
    r.add_argument("--baseline-start", help="baseline start YYYY-MM-DD")
    r.add_argument("--baseline-end", help="baseline end YYYY-MM-DD (exclusive)")
    r.add_argument("--notebooks", help="comma-separated notebook names (default: all)")
    r.add_argument("--out", help="output folder")
    r.add_argument("--workers", type=int, help="parallel worker processes (default: cores)")
    r.add_argument("--fresh-kernels", action="store_true", default=None,
                   help="a new kernel for every notebook (default: each worker keeps one)")
    r.add_argument("--min-sample", type=int, help="minimum denominator to show a rate")
    r.add_argument("--every", choices=("week", "month"),
                   help="run each of the last N complete weeks or months (with --last)")
    r.add_argument("--last", type=int, help="how many periods with --every (default 8 weeks, "
                                            "6 months)")
    r.add_argument("--baseline", help="each period's baseline with --every: previous "
                                      "(default), earlier:N, or fixed")
    _maturity_args(r)
    r.add_argument("--changes", help="changes measured by impact readouts (default: "
                   "params/changes.yaml; 'none' for no file)")
    r.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def _maturity_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--as-of", help="the data as it stood on this date, YYYY-MM-DD (default: "
                                   "the data's end)")
    p.add_argument("--maturity", help="maturity windows file (default: params/maturity.yaml)")


def _as_of(source: Any, as_of: str | None, start: Any) -> Any:
    """``source`` as it stood at ``--as-of`` (checked against the data's end and the
    period); unchanged without it."""
    import pandas as pd

    from shopcx.metrics.facts import parse_period

    if not as_of:
        return source
    moment = parse_period(as_of, "2999-01-01").start
    end = source.data_end()
    if end is not None and moment > end:
        raise InputError(f"--as-of {as_of} is after the data's end {end:%Y-%m-%d}: the data "
                         "cannot say what had happened by then")
    if moment <= pd.Timestamp(start):
        raise InputError(f"--as-of {as_of} is not after the period's start {start}: none of "
                         "its orders existed yet")
    return source.at(moment)


def _open_valid_source(data: str) -> Any:
    """Open a source and validate it; warnings to stderr, ContractError on errors."""
    from shopcx.data.sources import load_source

    source = load_source(data)
    report = source.validate()
    if not report.ok:
        raise ContractError(report)
    for finding in report.warnings:
        print(finding, file=sys.stderr)
    return source


def _cmd_demo_data(args: argparse.Namespace) -> int:
    from shopcx.data.demo import generate_demo_data

    if args.orders < 1000:
        raise InputError("--orders must be at least 1000")
    if not 1 <= args.months <= 24:
        raise InputError("--months must be between 1 and 24")
    summary = generate_demo_data(args.out, orders=args.orders, months=args.months, seed=args.seed)
    rows = ", ".join(f"{n:,} {t}" for t, n in summary.rows.items())
    print(f"wrote {summary.path} ({summary.start} to {summary.end}): {rows}")
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    from shopcx.data.sources import load_source

    source = load_source(args.data)
    report = source.validate()
    print(f"data source: {source.description}")
    for table, n in report.rows.items():
        print(f"  {table:<14} {n:>12,} rows")
    for finding in report.findings:
        print(finding)
    print(f"{len(report.errors)} error(s), "
          f"{sum(f.rows for f in report.warnings):,} warning row(s) in "
          f"{len(report.warnings)} warning(s)")
    return 0 if report.ok else 2


def _cmd_kpis(args: argparse.Namespace) -> int:
    if args.format == "json" and not args.by and not args.as_of:
        # DuckDB alone, from what earlier runs kept (docs/performance.md); else the full path
        from shopcx.metrics.quick import kpis_document

        quick = kpis_document(args.data, args.market, args.start, args.end, args.maturity)
        if quick is not None:
            doc, warnings = quick
            for warning in warnings:
                print(warning, file=sys.stderr)
            print(json.dumps(doc, indent=2, allow_nan=False))
            return 0
    from shopcx import metrics
    from shopcx.metrics.maturity import load_maturity
    from shopcx.readouts import formatting

    period = metrics.parse_period(args.start, args.end)
    market = args.market.upper()
    if args.by and args.by not in metrics.BY_DIMENSIONS:
        raise InputError(f"--by {args.by!r} is not one of {', '.join(metrics.BY_DIMENSIONS)}")
    maturity = load_maturity(args.maturity)
    source = _as_of(_open_valid_source(args.data), args.as_of, period.start)
    kpis = metrics.compute_kpis(source, market, period.start, period.end, maturity)
    orders = kpis.set_index("kpi").at["orders", "value"]
    if orders == 0 and market not in (markets := source.markets()):  # checked only when empty
        raise InputError(f"market {market} has no orders in {source.description} "
                         f"(markets present: {', '.join(markets) or 'none'})")
    history = _buyer_history(source, market, period.start) if args.by == "buyer_segment" else None
    segments = (metrics.compute_segment_kpis(
        source, market, period.start, period.end, args.by,
        **({"lookback_days": history["window_days"]} if history else {}))
        if args.by else None)
    if args.format == "json":
        doc = metrics.kpis_to_dict(kpis, market, period.start, period.end, segments)
        doc.update(formatting.maturity_dict(kpis, source.data_end()))
        if history:
            doc["buyer_history"] = history
        print(json.dumps(doc, indent=2, allow_nan=False))
    elif args.format == "csv":
        frame = formatting.kpis_long_frame(kpis, market, period, args.by, segments)
        frame.to_csv(sys.stdout, index=False)
    else:
        formatting.print_kpi_table(kpis, market, period, args.by, segments)
    if history and history["shortened"] and args.format != "json":
        print(f"note: buyer segments: {history['note']}", file=sys.stderr)
    if args.format != "json":
        for line in formatting.maturity_notes(kpis, source.data_end()):
            print(f"note: {line}", file=sys.stderr)
    return 0


def _buyer_history(source: Any, market: str, start: Any) -> dict[str, Any]:
    """The buyer-history window before the period (docs/root_cause.md, "Buyer history");
    without enough history, buyer segments cannot be told apart: exit 2 with the reason."""
    from shopcx.rootcause.dimensions import LOOKBACK_DAYS, first_order, segment_window

    days, why = segment_window(first_order(source, market), start, start_name="the period")
    if days is None:
        raise InputError(f"--by buyer_segment for {market}: {why}")
    return {"window_days": days, "shortened": days < LOOKBACK_DAYS, "note": why}


def _period_arg(value: str, name: str) -> tuple[str, str]:
    parts = value.split(":")
    if len(parts) != 2:
        raise InputError(f"--{name} must be START:END, e.g. 2026-10-01:2026-11-01")
    return parts[0], parts[1]


def _cmd_explain(args: argparse.Namespace) -> int:
    from shopcx import metrics, rootcause
    from shopcx.readouts import formatting

    baseline = _period_arg(args.baseline, "baseline")
    current = _period_arg(args.current, "current")
    metrics.parse_period(*baseline)
    metrics.parse_period(*current)
    if args.metric not in rootcause.EXPLAINABLE:
        raise InputError(f"--metric {args.metric!r} cannot be explained; choose one of "
                         f"{', '.join(rootcause.EXPLAINABLE)}")
    from shopcx.metrics.maturity import load_maturity

    maturity = load_maturity(args.maturity)
    source = _open_valid_source(args.data)
    market = args.market.upper()
    if market not in source.markets():
        raise InputError(f"market {market} has no orders in {source.description}")
    source = _as_of(source, args.as_of, current[0])
    result = rootcause.explain(source, market, args.metric, baseline, current, top=args.top,
                               maturity=maturity, same_age=not args.naive)
    doc = rootcause.explain_to_dict(result)
    if args.format == "json":
        print(json.dumps(doc, indent=2, allow_nan=False))
    else:
        formatting.print_explanation(doc)
    return 0


def _cmd_impact(args: argparse.Namespace) -> int:
    from shopcx.impact.rollout import estimate_rollout
    from shopcx.metrics.facts import parse_period

    dates = [d.strip() for d in args.change_date.split(",") if d.strip()]
    for d in dates:
        parse_period(d, "2999-01-01")  # a date, or exit 2
    source = _open_valid_source(args.data)
    names = [m.strip() for m in args.metrics.split(",") if m.strip()]
    guard = (None if args.guardrails is None
             else [m.strip() for m in args.guardrails.split(",") if m.strip()])
    controls = [m.strip() for m in args.control.split(",")] if args.control else None
    markets = [m.strip() for m in args.market.split(",") if m.strip()]
    if len(markets) > 1:
        if len(dates) == 1:
            dates = dates * len(markets)
        if len(dates) != len(markets):
            raise InputError(f"--change-date gives {len(dates)} dates for {len(markets)} "
                             "markets: give one date, or one per market in the same order")
        from shopcx.impact.rollout import estimate_staggered

        doc = estimate_staggered(source, dict(zip(markets, dates, strict=True)), names,
                                 controls, args.window, guard)
    else:
        if len(dates) != 1:
            raise InputError(f"--change-date gives {len(dates)} dates for one market")
        doc = estimate_rollout(source, markets[0], dates[0], names, controls, args.window,
                               guard)
    if args.format == "json":
        print(json.dumps(doc, indent=2, allow_nan=False))
        return 0
    from shopcx.readouts.formatting import print_impact

    for one in doc.get("cohorts", [doc]):
        print_impact(one)
    if "pooled" in doc:
        from shopcx.readouts.formatting import print_pooled

        print_pooled(doc)
    return 0


def _shares(text: str | None) -> dict[str, float] | None:
    if not text:
        return None
    out: dict[str, float] = {}
    for part in text.split(","):
        name, _, share = part.partition("=")
        try:
            out[name.strip()] = float(share)
        except ValueError:
            raise InputError(f"--split {text!r}: write variant=share pairs, e.g. "
                             "control=50,treatment=50") from None
    if any(v <= 0 for v in out.values()):
        raise InputError(f"--split {text!r}: every share must be positive")
    return out


def _cmd_experiment(args: argparse.Namespace) -> int:
    from shopcx.impact.experiment import analyse_experiment, list_experiments
    from shopcx.metrics.facts import parse_period

    source = _open_valid_source(args.data)
    if not args.experiment:
        found = list_experiments(source)
        if args.format == "json":
            print(found.assign(start=found["start"].astype(str),
                               last_assigned=found["last_assigned"].astype(str)
                               ).to_json(orient="records", indent=2))
        elif found.empty:
            print("no experiments: the data has no assignments table (or it is empty)")
        else:
            print(found.to_string(index=False))
        return 0
    if args.end:
        parse_period("1970-01-01", args.end)
    if args.pre_days < 0:
        raise InputError("--pre-days must be 0 or more")

    def names(text: str | None) -> list[str] | None:
        return None if text is None else [m.strip() for m in text.split(",") if m.strip()]

    doc = analyse_experiment(source, args.experiment, names(args.metrics),
                             names(args.guardrails), args.control_variant, _shares(args.split),
                             args.pre_days, args.end, args.market)
    if args.format == "json":
        print(json.dumps(doc, indent=2, allow_nan=False))
        return 0
    from shopcx.readouts.formatting import print_experiment

    print_experiment(doc)
    return 0


def _cmd_tag(args: argparse.Namespace) -> int:
    from shopcx.voc.tagging import tag_csv, train_csv

    if args.train:
        if len(args.model) != 1:
            raise InputError("--train needs one --model FILE to write the model to")
        if args.input or args.out:
            raise InputError("--train learns a model; tag with a second command: "
                             "shopcx tag --input F --text-column C --model M --out O")
        model = train_csv(args.train, args.model[0], text_column=args.text_column or "text",
                          language=args.language, taxonomy_path=args.taxonomy, kind=args.kind)
        if model.kind == "sentiment":
            print(f"learned {model.meta['language']} sentiment from {model.meta['texts']:,} "
                  f"negative or positive texts into {args.model[0]}; cross-validated AUC "
                  f"(5-fold, out of fold): {model.meta['cv_auc']:.3f}")
            return 0
        print(f"learned {len(model.heads)} theme(s) from {model.meta['texts']:,} texts "
              f"into {args.model[0]}; cross-validated (5-fold, out of fold):")
        for theme, row in model.meta["cv"].items():
            if "skipped" in row:
                print(f"  {theme:<28} {row['examples']:>6,} examples: skipped, {row['skipped']}")
            else:
                print(f"  {theme:<28} {row['examples']:>6,} examples: precision "
                      f"{row['cv_precision']:.2f}, recall {row['cv_recall']:.2f}")
        return 0
    missing = [f"--{n}" for n, v in (("input", args.input), ("text-column", args.text_column),
                                      ("out", args.out)) if not v]
    if missing:
        raise InputError(f"tagging needs {', '.join(missing)}")
    rows, languages = tag_csv(args.input, args.out, args.text_column, language=args.language,
                              language_column=args.language_column,
                              rating_column=args.rating_column, taxonomy_path=args.taxonomy,
                              explain=args.explain, model_paths=args.model)
    print(f"tagged {rows:,} rows into {args.out}")
    if languages.get("detected") or languages.get("corrected"):
        print(f"languages: {languages.get('given', 0):,} as given, "
              f"{languages.get('detected', 0):,} detected, "
              f"{languages.get('corrected', 0):,} corrected (the given language was clearly "
              f"wrong), {languages.get('unknown', 0):,} unknown", file=sys.stderr)
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from shopcx.voc.evaluate import evaluate_file

    themes = [t.strip() for t in args.themes.split(",") if t.strip()] if args.themes else None
    result = evaluate_file(args.labelled, text_column=args.text_column,
                           language=args.language, themes=themes,
                           taxonomy_path=args.taxonomy, model_paths=args.model)
    if args.format == "json":
        print(json.dumps(result.to_dict(), indent=2, allow_nan=False))
    else:
        print(result.to_table())
    return 0


def _split(value: str | None) -> list[str] | str | None:
    if value is None:
        return None
    if value.strip().lower() == "all":
        return "all"
    return [v.strip() for v in value.split(",") if v.strip()]


def _cmd_run(args: argparse.Namespace) -> int:
    from shopcx.readouts.formatting import plural
    from shopcx.run.config import load_run_config
    from shopcx.run.runner import plan_run, run

    config = load_run_config(
        args.params, data=args.data, markets=_split(args.markets), start=args.start,
        end=args.end, baseline_start=args.baseline_start, baseline_end=args.baseline_end,
        notebooks=_split(args.notebooks), out=args.out, workers=args.workers,
        fresh_kernels=args.fresh_kernels, min_sample=args.min_sample, as_of=args.as_of,
        maturity=args.maturity, every=args.every, last=args.last, baseline=args.baseline,
        changes=args.changes)
    if config.every is not None:
        return _run_series(config, args)
    plan = plan_run(config)
    for w in plan.warnings:
        print(f"warning: {w['table']}.{w['column']}: {w['message']} [{w['rule']}]: "
              f"{w['rows']:,} rows", file=sys.stderr)
    jobs, markets = plural(len(plan.jobs), "notebook"), plural(len(plan.markets), "market")
    if plan.changes:
        markets += f" and {plural(len(plan.changes), 'change')}"
    print(f"running {jobs} for {markets}, "
          f"{plan.start} to {plan.end} against {plan.baseline_start} to {plan.baseline_end}, "
          f"into {plan.out}", file=sys.stderr)
    summary = run(plan, progress=not args.no_progress and sys.stderr.isatty())
    ok = len(summary.results) - len(summary.failed)
    reused = f" ({len(summary.reused)} reused)" if summary.reused else ""
    if summary.interrupted is not None:
        import signal

        print(f"interrupted by {signal.Signals(summary.interrupted).name}: {ok} of "
              f"{len(plan.jobs)} readouts finished{reused}, {len(summary.not_run)} not run; "
              f"index of the finished: {plan.out / 'index.html'}; run the same command "
              "again to resume", file=sys.stderr)
        return summary.exit_status
    for r in summary.failed:
        print(f"failed: {r.market}/{r.notebook}: {r.error}", file=sys.stderr)
    for market, error in summary.kpi_errors.items():
        print(f"failed: {market} KPI comparison: {error}", file=sys.stderr)
    print(f"{ok} of {len(summary.results)} readouts{reused} in {summary.seconds:.0f} s; "
          f"index: {plan.out / 'index.html'}")
    return summary.exit_status


def _run_series(config: Any, args: argparse.Namespace) -> int:
    import signal

    from shopcx.readouts.formatting import plural
    from shopcx.run.series import plan_series, run_series

    series = plan_series(config)
    first = series.plans[0]
    for w in first.warnings:
        print(f"warning: {w['table']}.{w['column']}: {w['message']} [{w['rule']}]: "
              f"{w['rows']:,} rows", file=sys.stderr)
    spans = series.spans
    print(f"running {plural(len(series.jobs), 'notebook')} for "
          f"{plural(len(series.markets), 'market')} and {plural(len(spans), series.every)}, "
          f"{spans[0].label} to {spans[-1].label} (each against its baseline: "
          f"{config.baseline}), into {series.out}", file=sys.stderr)
    done = run_series(series, progress=not args.no_progress and sys.stderr.isatty())
    ok = len(done.results) - len(done.failed)
    reused = f" ({len(done.reused)} reused)" if done.reused else ""
    if done.interrupted is not None:
        print(f"interrupted by {signal.Signals(done.interrupted).name}: {ok} of "
              f"{len(series.jobs)} readouts finished{reused}, {len(done.not_run)} not run; "
              f"index of the finished: {series.out / 'index.html'}; run the same command "
              "again to resume", file=sys.stderr)
        return done.exit_status
    for r in done.failed:
        print(f"failed: {r.output_dir}/{r.notebook}: {r.error}", file=sys.stderr)
    for market, error in done.trend_errors.items():
        print(f"failed: {market} trend: {error}", file=sys.stderr)
    print(f"{ok} of {len(done.results)} readouts{reused} in {done.seconds:.0f} s; "
          f"index: {series.out / 'index.html'}")
    return done.exit_status


COMMANDS = {"demo-data": _cmd_demo_data, "validate": _cmd_validate, "kpis": _cmd_kpis,
            "explain": _cmd_explain, "impact": _cmd_impact, "experiment": _cmd_experiment, "tag": _cmd_tag,
            "evaluate": _cmd_evaluate, "run": _cmd_run}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    return _run(_parser().parse_args(argv))


def _run(args: argparse.Namespace) -> int:
    """Run a parsed command; errors become one sentence and exit status 2 (1 for the
    engine's own)."""
    try:
        return COMMANDS[args.command](args)
    except ContractError as exc:
        for finding in exc.report.findings:
            print(finding, file=sys.stderr)
        errors = len(exc.report.errors)
        print(f"the data breaks the data contract ({errors} error{'s' * (errors != 1)}); "
              "nothing was computed", file=sys.stderr)
        return 2
    except ShopcxError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (OSError, ValueError, duckdb.Error) as exc:  # unreadable files, bad values
        if args.debug:
            traceback.print_exc()
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # the engine's own errors: still a sentence, not a traceback
        if args.debug:
            traceback.print_exc()
        print(f"error: {type(exc).__name__}: {exc} (run with --debug for details)",
              file=sys.stderr)
        return 1


_QUICK_EXIT = frozenset({"validate", "kpis", "explain", "impact", "experiment"})
"""Commands that start no process and leave nothing to finish once they return."""


def entry() -> None:
    """The ``shopcx`` console script: what :func:`main` does, then the process ends.

    After the commands of ``_QUICK_EXIT`` the process leaves without Python's
    teardown of every imported module, which took 0.3-0.5 s once pandas and
    Ibis were loaded (a twentieth of ``explain``, a third of a quick ``kpis``
    on the full path): by then the command has printed everything and written
    its files (atomically, before returning); unreachable objects are
    collected first, so engine connections close (DuckDB removes its spill
    files), and the output streams are flushed. Other commands (``run``,
    ``tag`` and ``demo-data`` start processes) exit normally.
    """
    args = _parser().parse_args()
    code = _run(args)
    if args.command not in _QUICK_EXIT:
        raise SystemExit(code)
    gc.collect()
    for stream in (sys.stdout, sys.stderr):
        # a reader that went away (`| head`), a closed stream: nothing more to say
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    entry()

