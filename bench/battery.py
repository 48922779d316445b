"""Planted-cause battery: hit rates of ``explain`` over twenty seeds per case.

    python bench/battery.py [--seeds 20] [--cases a,b] [--jobs 2]

Prints, per case, the hit rate (the planted cause first among the significant
drivers with the right effect; nothing significant for a control), the
misses with what was found first, and the time per run. The datasets come
from ``tests/battery.py`` (not the demo generator); see docs/root_cause.md.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.battery import CASES, VOLUMES, run


def _one(job: tuple[str, int]) -> tuple[str, int, bool, str, float]:
    warnings.simplefilter("ignore")
    case, seed = job
    started = time.perf_counter()
    ok, found, result = run(case, seed)
    if not ok and CASES[case].expect is not None:
        found += _planted(case, result)
    return case, seed, ok, found, time.perf_counter() - started


def _planted(case: str, result: dict) -> str:
    """How strong the planted segment looks in this dataset: its contribution (its mix
    effect, for a mix segment) and its surprise in standard errors."""
    dim, key = CASES[case].expect
    seg = result["all_segments"]
    row = seg[(seg["dimension"] == dim) & (seg["key"] == key)]
    if row.empty:
        return ""
    r = row.iloc[0]
    low, high, value = ((r["mix_ci_low"], r["mix_ci_high"], r["mix_effect"])
                        if r["effect"] == "mix" else (r["ci_low"], r["ci_high"], r["contribution"]))
    z = value / ((high - low) / (2 * 1.959964))
    return f" [planted: z {z:.1f}, surprise z {r['surprise'] / r['surprise_se']:.1f}]"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--cases", default=",".join(CASES))
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                    help="processes running seeds side by side")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    cases = args.cases.split(",")
    jobs = [(case, seed) for case in cases for seed in range(args.seeds)]
    with multiprocessing.get_context("spawn").Pool(args.jobs) as pool:
        done = pool.map(_one, jobs, chunksize=1)
    total = hits = large_total = large_hits = 0
    print(f"{'case':24s} {'hits':>7s}  {'s/run':>6s}  misses (seed, orders a month: found first)")
    for case in cases:
        mine = [d for d in done if d[0] == case]
        ok_count = sum(d[2] for d in mine)
        misses = [f"{seed} ({VOLUMES[seed % len(VOLUMES)]:,}): {found}"
                  for _, seed, ok, found, _ in mine if not ok]
        took = sum(d[4] for d in mine) / len(mine)
        print(f"{case:24s} {ok_count:>3d}/{len(mine):<3d}  {took:6.1f}  "
              + ("; ".join(misses) or "-"), flush=True)
        total += len(mine)
        hits += ok_count
        if CASES[case].large:
            large_total += len(mine)
            large_hits += ok_count
    print(f"overall {hits}/{total} = {hits / total:.1%}; large effects and controls "
          f"{large_hits}/{large_total} = {large_hits / max(large_total, 1):.1%}")
    # the planted large effects (controls apart) by market size: where does power end?
    print("large effects by orders a month: " + "; ".join(
        f"{volume:,}: {sum(d[2] for d in rows)}/{len(rows)}"
        for volume in VOLUMES
        if (rows := [d for d in done if CASES[d[0]].large and CASES[d[0]].expect is not None
                     and VOLUMES[d[1] % len(VOLUMES)] == volume])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
