"""Benchmarks of the workbook against its baselines; prints a table, writes JSON.

    python bench/bench.py                       # everything (make bench)
    python bench/bench.py --only kpis,explain   # a part
    python bench/bench.py --sizes 1000000 --repeat 3

Parts:

* ``kpis`` -- ``shopcx kpis`` for one market and month on demo datasets of each
  size, against (a) the peer an analyst would pick today, a Polars script
  with lazy scans (``bench/polars_kpis.py``), (b) a straightforward pandas
  implementation (``bench/pandas_kpis.py``), both computing the same KPIs
  (values checked equal), and (c) DuckDB's bare scan of the same columns for
  the market's and period's rows, the practical floor (also with every row the
  dictionary reads beyond them: contacts of any market and time about an
  order, for contacts before an escalation, and the week after the period, for
  repeat contacts). Two views: the *work* (wall time and
  peak memory in a fresh process, imports timed apart) and the *whole
  process* as a user meets it (``shopcx kpis --format json`` against
  ``python bench/polars_kpis.py`` and friends, start-up included), in paired
  runs that alternate the contenders.
* ``explain`` -- ``shopcx explain`` for one market on the largest dataset.
* ``tag`` -- ``shopcx tag`` of 100,000 real texts (``../shared/corpora``,
  repeated as needed), whole process; skipped without the corpora.
* ``run`` -- ``shopcx run`` of every notebook for every demo market against the
  naive loop (``papermill`` then ``jupyter nbconvert --no-input`` per notebook,
  one after the other), and the floor of one notebook: starting a kernel and
  importing the libraries.

Each figure is the median of ``--repeat`` runs (``--run-repeat`` for the slow
``run`` part), with min and max. Datasets are generated under
``outputs/bench/`` when absent; the dataset's validation is cached before
timing (it is reported once, separately). Results: ``outputs/bench/results.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "outputs" / "bench"
BIN = Path(sys.executable).parent
MARKET, START, END = "MY", "2026-11-01", "2026-12-01"
BASELINE = ("2026-10-01", "2026-11-01")
TARGETS = {"kpis_vs_scan": 2.0, "kpis_vs_polars_process": 1.0, "pandas_vs_kpis": 5.0,
           "kpis_peak_mb": 2048.0, "naive_vs_run": 5.0, "explain_seconds": 10.0,
           "tag_seconds": 60.0}
CORPORA = ROOT.parent / "shared" / "corpora"

PROBE = r"""
import json, resource, sys, time
task, args = sys.argv[1], json.loads(sys.argv[2])
sys.path.insert(0, args["bench"])
imported = time.perf_counter()
if task == "kpis":  # what the command imports, timed apart from the work (the quick path)
    import shopcx.cli, shopcx.metrics.quick
elif task == "explain":
    import shopcx.cli, shopcx.metrics.kpis, shopcx.readouts.formatting, shopcx.rootcause.drivers
imports = time.perf_counter() - imported
if task == "kpis":
    from shopcx.cli import main
    import contextlib, io
    t = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()) as out:
        status = main(["kpis", "--data", args["data"], "--market", args["market"],
                       "--start", args["start"], "--end", args["end"], "--format", "json"])
    seconds = time.perf_counter() - t
    assert status == 0
    values = {k: v["value"] for k, v in json.loads(out.getvalue())["kpis"].items()}
elif task in ("pandas", "polars"):
    import importlib
    t = time.perf_counter()
    peer = importlib.import_module(f"{task}_kpis")
    imports = time.perf_counter() - t
    t = time.perf_counter()
    values = peer.kpis(args["data"], args["market"], args["start"], args["end"])
    seconds = time.perf_counter() - t
elif task in ("scan", "scan_all"):
    import duckdb
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    sql = args["sql"]
    t = time.perf_counter()
    for q in sql:
        con.execute(q).fetchall()
    seconds = time.perf_counter() - t
    values = {}
elif task == "explain":
    from shopcx.cli import main
    import contextlib, io
    t = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        status = main(["explain", "--data", args["data"], "--market", args["market"],
                       "--metric", "cancellation_rate", "--baseline", args["baseline"],
                       "--current", args["current"], "--format", "json"])
    seconds = time.perf_counter() - t
    assert status == 0
    values = {}
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "imports": imports, "peak_mb": peak, "values": values}))
"""


def _probe(task: str, **args: Any) -> dict[str, Any]:
    args["bench"] = str(ROOT / "bench")
    if task in ("scan", "scan_all"):
        args["sql"] = _scan_sql(args["data"], args["market"], args["start"], args["end"],
                                every_row=task == "scan_all")
    done = subprocess.run([sys.executable, "-c", PROBE, task, json.dumps(args)],
                          capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"{task} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _commands(data: Path) -> dict[str, list[str]]:
    """Each contender as a user runs it: a whole process, printing the KPIs."""
    common = [MARKET, START, END]
    scan = ("import duckdb, sys; c = duckdb.connect(); c.execute(\"SET TimeZone='UTC'\");"
            "[c.execute(q).fetchall() for q in sys.argv[1:]]")
    return {
        "kpis": [str(BIN / "shopcx"), "kpis", "--data", str(data), "--market", MARKET,
                 "--start", START, "--end", END, "--format", "json"],
        "polars": [sys.executable, str(ROOT / "bench" / "polars_kpis.py"), str(data), *common],
        "pandas": [sys.executable, str(ROOT / "bench" / "pandas_kpis.py"), str(data), *common],
        "scan": [sys.executable, "-c", scan, *_scan_sql(str(data), *common)],
        "scan_all": [sys.executable, "-c", scan, *_scan_sql(str(data), *common, every_row=True)],
    }


def _scan_sql(d: str, m: str, s: str, e: str, every_row: bool = False) -> list[str]:
    """The bare scan: the columns the KPIs read, of the market's and period's rows (the
    floor of issue 6). With ``every_row``, also the rows beyond them that the dictionary
    reads: contacts of every market and time about an order (contacts before an
    escalation, issue 16) and of every market in the week after the period (repeat
    contacts)."""
    more = [
        f"select count(*), max(contact_id), max(order_id), epoch(max(created_at)), max(reason) "
        f"from read_parquet('{d}/contacts/**/*.parquet', hive_partitioning=true) "
        f"where order_id is not null",
        f"select count(*), max(order_id), epoch(max(created_at)) "
        f"from read_parquet('{d}/contacts/**/*.parquet', hive_partitioning=true) "
        f"where created_at >= '{s}' and created_at <= timestamp '{e}' + interval 7 day "
        f"and order_id is not null",
    ] if every_row else []
    return more + [
        f"select count(*), max(order_id), max(buyer_id), max(seller_id), max(category), "
        f"max(sales_channel), max(fulfillment), max(payment_method), max(carrier), "
        f"sum(gmv_usd), epoch(max(paid_at)), epoch(max(shipped_at)), epoch(max(delivered_at)) "
        f"from read_parquet('{d}/orders/**/*.parquet', hive_partitioning=true) "
        f"where market = '{m}' and created_at >= '{s}' and created_at < '{e}'",
        f"select count(*), max(request_id), max(order_id), max(initiator), max(reason), "
        f"epoch(max(requested_at)), max(outcome), epoch(max(resolved_at)), bool_or(auto_resolved) "
        f"from read_parquet('{d}/cancellations/**/*.parquet', hive_partitioning=true)",
        f"select count(*), max(contact_id), max(order_id), max(channel), max(reason), "
        f"sum(handle_time_s), bool_or(escalated), sum(csat) "
        f"from read_parquet('{d}/contacts/**/*.parquet', hive_partitioning=true) "
        f"where market = '{m}' and created_at >= '{s}' and created_at < '{e}'",
        f"select count(*), sum(rating) "
        f"from read_parquet('{d}/feedback/**/*.parquet', hive_partitioning=true) "
        f"where market = '{m}' and created_at >= '{s}' and created_at < '{e}'",
    ]


def _processes(data: Path, repeat: int) -> dict[str, dict[str, float]]:
    """Whole-process wall times, the contenders alternating within each round."""
    commands = _commands(data)
    times: dict[str, list[float]] = {k: [] for k in commands}
    for _ in range(repeat):
        for name, cmd in commands.items():
            t = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True, cwd=ROOT)
            times[name].append(time.perf_counter() - t)
    return {k: _stats(v) for k, v in times.items()}


def _stats(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "runs": len(values)}


def _dataset(size: int) -> Path:
    path = OUT / f"demo-{size // 1_000_000}m" if size >= 1_000_000 else OUT / f"demo-{size}"
    if not (path / "demo_manifest.json").exists():
        print(f"generating a {size:,}-order demo dataset in {path} ...", flush=True)
        subprocess.run([str(BIN / "shopcx"), "demo-data", "--out", str(path), "--orders",
                        str(size)], check=True)
    return path


def _validate(path: Path) -> float:
    t = time.perf_counter()
    subprocess.run([str(BIN / "shopcx"), "validate", "--data", str(path)], check=True,
                   capture_output=True)
    return time.perf_counter() - t


def bench_kpis(sizes: list[int], repeat: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for size in sizes:
        data = _dataset(size)
        # a cache of this run's own: the first validation and the first kpis (which keeps
        # the data's end and compiles the statement) are timed apart, once
        os.environ["SHOPCX_CACHE_DIR"] = tempfile.mkdtemp(prefix="shopcx-bench-cache-")
        validation = _validate(data)
        t = time.perf_counter()
        subprocess.run(_commands(data)["kpis"], check=True, capture_output=True, cwd=ROOT)
        first = time.perf_counter() - t
        common = {"data": str(data), "market": MARKET, "start": START, "end": END}
        runs: dict[str, list[dict[str, Any]]] = {"kpis": [], "polars": [], "pandas": [],
                                                 "scan": [], "scan_all": []}
        for _ in range(repeat):
            for task in runs:
                runs[task].append(_probe(task, **common))
        mine = runs["kpis"][0]["values"]
        row = {task: {"seconds": _stats([r["seconds"] for r in rs]),
                      "imports_seconds": _stats([r["imports"] for r in rs]),
                      "peak_mb": _stats([r["peak_mb"] for r in rs])}
               for task, rs in runs.items()}
        row["validation_seconds"] = validation
        row["first_kpis_seconds"] = first
        for peer in ("polars", "pandas"):
            theirs = runs[peer][0]["values"]
            row[f"{peer}_values_differ"] = [k for k, v in theirs.items()
                                            if not _close(v, mine.get(k))]
            row[f"{peer}_values_compared"] = len(theirs)
        row["process"] = _processes(data, repeat)
        k, po, p, s = (row[t]["seconds"]["median"] for t in ("kpis", "polars", "pandas", "scan"))
        whole = {t: row["process"][t]["median"] for t in row["process"]}
        row["ratios"] = {"kpis_vs_scan": k / s, "kpis_vs_polars": k / po,
                         "pandas_vs_kpis": p / k,
                         "pandas_vs_kpis_memory": row["pandas"]["peak_mb"]["median"]
                         / row["kpis"]["peak_mb"]["median"],
                         "kpis_vs_polars_process": whole["kpis"] / whole["polars"],
                         "kpis_vs_scan_process": whole["kpis"] / whole["scan"],
                         "kpis_vs_scan_all": k / row["scan_all"]["seconds"]["median"]}
        out[str(size)] = row
    return out


def _close(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return abs(float(a) - float(b)) <= 1e-9 * max(1.0, abs(float(b)))


def bench_explain(size: int, repeat: int) -> dict[str, Any]:
    data = _dataset(size)
    _validate(data)
    command = [str(BIN / "shopcx"), "explain", "--data", str(data), "--market", MARKET,
               "--metric", "cancellation_rate", "--baseline", ":".join(BASELINE),
               "--current", f"{START}:{END}", "--format", "json"]
    runs, whole = [], []
    for _ in range(repeat):  # the work in a probe, then the command as a user runs it
        runs.append(_probe("explain", data=str(data), market=MARKET,
                           baseline=":".join(BASELINE), current=f"{START}:{END}"))
        t = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, cwd=ROOT)
        whole.append(time.perf_counter() - t)
    return {"size": size, "seconds": _stats([r["seconds"] for r in runs]),
            "imports": _stats([r["imports"] for r in runs]), "process": _stats(whole),
            "peak_mb": _stats([r["peak_mb"] for r in runs])}


def bench_tag(n: int = 100_000) -> dict[str, Any] | None:
    """``shopcx tag`` of ``n`` real texts, whole process (None without the corpora)."""
    if not CORPORA.is_dir():
        return None
    from bench_voc import tagging_speed

    return tagging_speed(CORPORA, n)


def _cold_cache(path: Path) -> dict[str, str]:
    """An environment whose shopcx cache starts empty, so each contender pays in full."""
    return {**os.environ, "SHOPCX_CACHE_DIR": str(path)}


def _naive_loop(data: Path, markets: list[str], notebooks: list[str], out: Path) -> float:
    """The naive way: papermill then nbconvert --no-input, one notebook after another."""
    env = _cold_cache(out / "cache")
    t = time.perf_counter()
    for market in markets:
        for nb in notebooks:
            executed = out / market / f"{nb}.ipynb"
            executed.parent.mkdir(parents=True, exist_ok=True)
            params = ["-p", "market", market, "-p", "start", START, "-p", "end", END,
                      "-p", "baseline_start", BASELINE[0], "-p", "baseline_end", BASELINE[1],
                      "-p", "data", str(data)]
            subprocess.run([str(BIN / "papermill"), str(ROOT / "notebooks" / f"{nb}.ipynb"),
                            str(executed), *params, "--cwd", str(ROOT / "notebooks"),
                            "--no-progress-bar", "--log-level", "ERROR"], check=True,
                           capture_output=True, env=env)
            subprocess.run([str(BIN / "jupyter"), "nbconvert", "--to", "html", "--no-input",
                            str(executed)], check=True, capture_output=True)
    return time.perf_counter() - t


def _floor_notebook(out: Path) -> float:
    """Papermill + nbconvert of a notebook that only imports what the readouts import."""
    import nbformat

    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {
        "display_name": "Python 3", "language": "python", "name": "python3"}})
    params = nbformat.v4.new_code_cell('market: str = "MY"  # ISO market code')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(
        "from shopcx.metrics import compare, funnel\n"
        "from shopcx.readouts import plots, readout, story\n"
        "from shopcx.rootcause import drivers\n"
        "from shopcx.voc import painpoints\n"
        "plots.set_style()")]
    src = out / "floor.ipynb"
    out.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, src)
    t = time.perf_counter()
    subprocess.run([str(BIN / "papermill"), str(src), str(out / "floor-out.ipynb"),
                    "--no-progress-bar", "--log-level", "ERROR"], check=True,
                   capture_output=True)
    subprocess.run([str(BIN / "jupyter"), "nbconvert", "--to", "html", "--no-input",
                    str(out / "floor-out.ipynb")], check=True, capture_output=True)
    return time.perf_counter() - t


def bench_run(markets: list[str], repeat: int) -> dict[str, Any]:
    data = ROOT / "outputs" / "demo-data"
    if not (data / "demo_manifest.json").exists():
        subprocess.run([str(BIN / "shopcx"), "demo-data", "--out", str(data)], check=True)
    notebooks = sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb"))
    shopcx_runs, naive_runs, floors = [], [], []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory(dir=OUT) as tmp:
            floors.append(_floor_notebook(Path(tmp) / "floor"))
            print(f"floor notebook: {floors[-1]:.1f} s", flush=True)
            t = time.perf_counter()
            subprocess.run([str(BIN / "shopcx"), "run", str(ROOT / "params" / "demo.yaml"),
                            "--markets", ",".join(markets), "--notebooks", ",".join(notebooks),
                            "--out", str(Path(tmp) / "run")], check=True, capture_output=True,
                           cwd=ROOT, env=_cold_cache(Path(tmp) / "cache-run"))
            shopcx_runs.append(time.perf_counter() - t)
            print(f"shopcx run: {shopcx_runs[-1]:.1f} s", flush=True)
            naive_runs.append(_naive_loop(data, markets, notebooks, Path(tmp) / "naive"))
            print(f"naive loop: {naive_runs[-1]:.1f} s", flush=True)
    count = len(markets) * len(notebooks)
    run, naive = statistics.median(shopcx_runs), statistics.median(naive_runs)
    return {"markets": markets, "notebooks": notebooks, "readouts": count,
            "shopcx_run": _stats(shopcx_runs), "naive_loop": _stats(naive_runs),
            "floor_per_notebook": _stats(floors),
            "ratios": {"naive_vs_run": naive / run,
                       "naive_per_notebook_vs_floor": naive / count / statistics.median(floors),
                       "run_per_notebook_vs_floor": run / count / statistics.median(floors)}}


def _fmt(s: dict[str, float], unit: str = "s") -> str:
    return f"{s['median']:.2f} {unit} ({s['min']:.2f}–{s['max']:.2f})"


def report(results: dict[str, Any]) -> str:
    lines = ["| measure | figure (median, min–max) | target | met |", "|---|---|---|---|"]
    for size, row in results.get("kpis", {}).items():
        n = f"{int(size):,}"
        r = row["ratios"]
        proc = row.get("process", {})
        lines += [
            f"| kpis, {n} orders: shopcx, work | {_fmt(row['kpis']['seconds'])} (+ "
            f"{row['kpis']['imports_seconds']['median']:.2f} s imports), peak "
            f"{row['kpis']['peak_mb']['median']:.0f} MB | peak < 2 GiB | "
            f"{'yes' if row['kpis']['peak_mb']['median'] < TARGETS['kpis_peak_mb'] else 'no'} |",
            f"| kpis, {n} orders: Polars, work | {_fmt(row['polars']['seconds'])} (+ "
            f"{row['polars']['imports_seconds']['median']:.2f} s imports), peak "
            f"{row['polars']['peak_mb']['median']:.0f} MB | | |",
            f"| kpis, {n} orders: bare DuckDB scan | {_fmt(row['scan']['seconds'])}, peak "
            f"{row['scan']['peak_mb']['median']:.0f} MB | | |",
            f"| kpis, {n} orders: pandas, work | {_fmt(row['pandas']['seconds'])}, peak "
            f"{row['pandas']['peak_mb']['median']:.0f} MB | | |",
            f"| kpis, {n} orders: bare scan with every row the dictionary reads | "
            f"{_fmt(row['scan_all']['seconds'])} | | |",
            f"| kpis work / bare scan, {n} | {r['kpis_vs_scan']:.1f}x | ≤ 2x | "
            f"{'yes' if r['kpis_vs_scan'] <= TARGETS['kpis_vs_scan'] else 'no'} |",
            f"| kpis work / bare scan with every row read, {n} | {r['kpis_vs_scan_all']:.1f}x "
            f"| | |",
            f"| kpis work / Polars work, {n} | {r['kpis_vs_polars']:.2f}x | | |",
        ]
        for name, label in (("kpis", "`shopcx kpis --format json`"),
                            ("polars", "`python bench/polars_kpis.py`"),
                            ("pandas", "`python bench/pandas_kpis.py`"),
                            ("scan", "bare DuckDB scan"),
                            ("scan_all", "bare scan, every row read")):
            if name in proc:
                lines.append(f"| whole process, {n}: {label} | {_fmt(proc[name])} | | |")
        if proc:
            lines.append(
                f"| whole process shopcx / Polars, {n} | {r['kpis_vs_polars_process']:.2f}x | "
                f"≤ 1x | {'yes' if r['kpis_vs_polars_process'] <= 1 else 'no'} |")
        if "first_kpis_seconds" in row:
            lines.append(
                f"| once per dataset, {n}: `shopcx validate` {row['validation_seconds']:.1f} s;"
                f" first `shopcx kpis` (data end, compiles the statement) "
                f"{row['first_kpis_seconds']:.1f} s | | |")
        lines += [
            f"| pandas / kpis, {n} | {r['pandas_vs_kpis']:.1f}x faster, "
            f"{r['pandas_vs_kpis_memory']:.1f}x less memory | ≥ 5x at 10M | "
            + ("yes |" if r["pandas_vs_kpis"] >= TARGETS["pandas_vs_kpis"] else "no |"),
        ]
    sizes = sorted(int(s) for s in results.get("kpis", {}))
    if len(sizes) >= 2:
        small, large = (results["kpis"][str(s)]["kpis"]["seconds"]["median"]
                        for s in (sizes[0], sizes[-1]))
        growth = large / small
        lines.append(f"| kpis time {sizes[0]:,} → {sizes[-1]:,} orders | {growth:.1f}x for "
                     f"{sizes[-1] / sizes[0]:.0f}x the orders | at most linear | "
                     f"{'yes' if growth <= sizes[-1] / sizes[0] else 'no'} |")
    if "explain" in results:
        e = results["explain"]
        lines.append(f"| explain, one market of {e['size']:,} orders, work | "
                     f"{_fmt(e['seconds'])} (+ {e['imports']['median']:.2f} s imports), "
                     f"peak {e['peak_mb']['median']:.0f} MB | | |")
        lines.append(f"| explain, one market of {e['size']:,} orders, whole process | "
                     f"{_fmt(e['process'])} | < 10 s | "
                     f"{'yes' if e['process']['median'] < TARGETS['explain_seconds'] else 'no'} |")
    if results.get("tag"):
        t = results["tag"]
        lines.append(f"| tag, {t['texts']:,} real texts, whole process | {t['seconds']:.1f} s "
                     f"({t['per_second']:,} texts/s) | < 60 s | "
                     f"{'yes' if t['seconds'] < TARGETS['tag_seconds'] else 'no'} |")
    if "run" in results:
        r = results["run"]
        lines += [
            f"| shopcx run, {r['readouts']} readouts | {_fmt(r['shopcx_run'])} | | |",
            f"| naive papermill + nbconvert loop | {_fmt(r['naive_loop'])} | | |",
            f"| naive / shopcx run | {r['ratios']['naive_vs_run']:.1f}x | ≥ 5x | "
            f"{'yes' if r['ratios']['naive_vs_run'] >= TARGETS['naive_vs_run'] else 'no'} |",
            f"| floor: kernel + imports per notebook | {_fmt(r['floor_per_notebook'])} | | |",
            f"| per notebook: run / floor, naive / floor | "
            f"{r['ratios']['run_per_notebook_vs_floor']:.1f}x, "
            f"{r['ratios']['naive_per_notebook_vs_floor']:.1f}x | | |",
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="kpis,explain,run,tag",
                        help="comma-separated parts: kpis, explain, run, tag")
    parser.add_argument("--sizes", default="1000000,10000000",
                        help="dataset sizes (orders) for kpis; explain uses the largest")
    parser.add_argument("--repeat", type=int, default=5, help="runs per figure (kpis, explain)")
    parser.add_argument("--run-repeat", type=int, default=1, help="runs of the run comparison")
    parser.add_argument("--markets", default="US,GB,ID,MY,TH,VN,PH,SG",
                        help="markets of the run comparison")
    args = parser.parse_args(argv)
    parts = set(args.only.split(","))
    sizes = [int(s) for s in args.sizes.split(",")]
    OUT.mkdir(parents=True, exist_ok=True)
    previous = OUT / "results.json"
    # a partial run (--only) keeps the other parts of the last results
    results: dict[str, Any] = (json.loads(previous.read_text()) if previous.exists()
                               and parts != {"kpis", "explain", "run", "tag"} else {})
    results.update({
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform()},
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "targets": TARGETS})
    if "kpis" in parts:
        results["kpis"] = bench_kpis(sizes, args.repeat)
    if "explain" in parts:
        results["explain"] = bench_explain(max(sizes), max(1, min(args.repeat, 3)))
    if "run" in parts:
        results["run"] = bench_run(args.markets.split(","), args.run_repeat)
    if "tag" in parts:
        results["tag"] = bench_tag()
    results["table"] = report(results)
    tmp = OUT / "results.json.tmp"
    tmp.write_text(json.dumps(results, indent=2))
    tmp.replace(OUT / "results.json")
    print(results["table"])
    print(f"\nwritten: {OUT / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
