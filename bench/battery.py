"""Planted-cause battery: hit rates of ``explain`` over twenty seeds per case.

    python bench/battery.py [--seeds 20] [--cases a,b]

Prints, per case, the hit rate (the planted cause first among the significant
drivers with the right effect; nothing significant for a control), the
misses with what was found first, and the time per run. The datasets come
from ``tests/battery.py`` (not the demo generator); see docs/root_cause.md.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.battery import CASES, VOLUMES, run


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--cases", default=",".join(CASES))
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    total = hits = 0
    large_total = large_hits = 0
    print(f"{'case':24s} {'hits':>7s}  {'s/run':>6s}  misses (seed, orders a month: found first)")
    for case in args.cases.split(","):
        ok_count, misses, started = 0, [], time.perf_counter()
        for seed in range(args.seeds):
            ok, found, _ = run(case, seed)
            ok_count += ok
            if not ok:
                misses.append(f"{seed} ({VOLUMES[seed % len(VOLUMES)]:,}): {found}")
        took = (time.perf_counter() - started) / args.seeds
        print(f"{case:24s} {ok_count:>3d}/{args.seeds:<3d}  {took:6.1f}  "
              + ("; ".join(misses) or "-"), flush=True)
        total += args.seeds
        hits += ok_count
        if CASES[case].large:
            large_total += args.seeds
            large_hits += ok_count
    print(f"overall {hits}/{total} = {hits / total:.1%}; large effects and controls "
          f"{large_hits}/{large_total} = {large_hits / max(large_total, 1):.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
