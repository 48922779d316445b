"""Where the time of ``shopcx kpis`` goes: each engine statement, timed.

    .venv/bin/python bench/profile_kpis.py [DATA] [--market MY] [--repeat 3]

DATA defaults to the benchmark's 10-million-order dataset
(``outputs/bench/demo-10m``, made by ``make bench``). Prints, per run, every
temporary table built and every statement executed with its seconds, the
total, and what is left for Python (planning and compiling with Ibis, turning
results into the KPI table).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="?", default=str(ROOT / "outputs" / "bench" / "demo-10m"))
    parser.add_argument("--market", default="MY")
    parser.add_argument("--start", default="2026-11-01")
    parser.add_argument("--end", default="2026-12-01")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    began = time.perf_counter()
    import ibis.backends.duckdb as duckdb_backend

    from shopcx.cli import main as shopcx
    from shopcx.data import sources

    print(f"imports: {time.perf_counter() - began:.2f} s")
    spent: list[tuple[str, float]] = []

    def timed(label: str, fn: Any) -> Any:
        def wrapper(*a: Any, **k: Any) -> Any:
            t = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                spent.append((label, time.perf_counter() - t))
        return wrapper

    sources.Source.execute = timed("statement", sources.Source.execute)
    duckdb_backend.Backend.create_table = timed("temporary table",
                                                duckdb_backend.Backend.create_table)
    command = ["kpis", "--data", args.data, "--market", args.market, "--start", args.start,
               "--end", args.end, "--format", "json"]
    for run in range(1, args.repeat + 1):
        spent.clear()
        t = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            status = shopcx(command)
        total = time.perf_counter() - t
        engine = sum(s for _, s in spent)
        print(f"run {run} (exit {status}): total {total:.3f} s")
        for label, seconds in spent:
            print(f"  {label:<16} {seconds:.3f} s (includes compiling it)")
        print(f"  {'rest (Python)':<16} {total - engine:.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
