"""Compare the readouts of two runs: the same text, tables and charts?

For checking that a change which should not alter results (a refactor, a
faster query) leaves every readout as it was. Run the same params file before
and after the change into two folders, then:

    .venv/bin/python bench/readout_diff.py outputs/demo-before outputs/demo

For every HTML file of the first run (readouts and the index) it compares, with
the second run's file of the same name: the visible text, every table cell by
cell, and the charts (embedded PNG images, byte for byte). Render times
("… on 2026-12-01 08:05 UTC"), run times ("200 s" on the index), scripts,
styles and element ids (pandas' random table ids) are left out. ``kpis.csv`` is compared row by row, in any
order (markets are written as they finish), numbers to 1e-9 relative: DuckDB
sums floating-point values in parallel, so a mean can differ in its last
digits from one run to the next of the same code. Prints one line per file and
exits 1 when any text, table or KPI differs (charts are reported, not judged: a
different matplotlib build may draw the same chart differently).
"""

from __future__ import annotations

import argparse
import csv
import difflib
import hashlib
import re
import sys
from pathlib import Path

from bs4 import BeautifulSoup

TIME = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?( ?UTC|Z|[+-]\d{2}:?\d{2})?")
DURATION = re.compile(r"\b\d+(\.\d+)? ?s\b")  # run times on the index page


def _clean(text: str) -> str:
    return DURATION.sub("<s>", TIME.sub("<time>", text.strip()))


def _read(path: Path) -> tuple[list[str], list[list[list[str]]], list[str]]:
    soup = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
    for tag in soup(["script", "style"]):
        tag.decompose()
    images = [hashlib.sha256(img.get("src", "").encode()).hexdigest()[:12]
              for img in soup.find_all("img")]
    tables = [[[_clean(c.get_text(" ")) for c in row.find_all(["th", "td"])]
               for row in table.find_all("tr")] for table in soup.find_all("table")]
    text = [_clean(line) for line in soup.get_text("\n").splitlines()]
    return [t for t in text if t], tables, images


def _close(a: str, b: str) -> bool:
    try:
        x, y = float(a), float(b)
    except ValueError:
        return a == b
    return x == y or abs(x - y) <= 1e-9 * max(1.0, abs(x), abs(y))


def _same_kpis(a: Path, b: Path) -> bool:
    if not b.exists():
        print("MISSING  kpis.csv")
        return False
    rows_a, rows_b = (sorted(csv.reader(p.open(encoding="utf-8"))) for p in (a, b))
    same = len(rows_a) == len(rows_b) and all(
        len(r) == len(q) and all(_close(x, y) for x, y in zip(r, q, strict=True))
        for r, q in zip(rows_a, rows_b, strict=True))
    inexact = sum(x != y for r, q in zip(rows_a, rows_b, strict=False)
                  for x, y in zip(r, q, strict=False))
    print(f"{'same' if same else 'DIFFERS':8} kpis.csv: {len(rows_a) - 1} rows"
          + (f", {inexact} values equal to 1e-9 only" if same and inexact else ""))
    return same


def compare(before: Path, after: Path) -> int:
    failures = 0
    pages = sorted(p.relative_to(before) for p in before.rglob("*.html"))
    if not pages:
        print(f"no HTML files under {before}")
        return 1
    for rel in pages:
        other = after / rel
        if not other.exists():
            print(f"MISSING  {rel}")
            failures += 1
            continue
        (t0, tab0, img0), (t1, tab1, img1) = _read(before / rel), _read(other)
        same_text, same_tables = t0 == t1, tab0 == tab1
        same_images = sum(a == b for a, b in zip(img0, img1, strict=False))
        status = "same" if same_text and same_tables else "DIFFERS"
        cells = sum(len(r) for t in tab0 for r in t)
        print(f"{status:8} {rel}: {len(t0)} text lines, {len(tab0)} tables ({cells} cells), "
              f"charts {same_images}/{len(img0)} identical"
              + ("" if len(img0) == len(img1) else f" ({len(img1)} after)"))
        if not same_text:
            for line in list(difflib.unified_diff(t0, t1, lineterm="", n=0))[2:12]:
                print("           " + line)
        if not same_tables and same_text:
            print("           tables differ in cells not visible as text lines")
        failures += status != "same"
    if (before / "kpis.csv").exists():
        failures += not _same_kpis(before / "kpis.csv", after / "kpis.csv")
    print(f"{len(pages) + 1 - failures} of {len(pages) + 1} files the same")
    return 1 if failures else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("before", type=Path, help="output folder of the first run")
    parser.add_argument("after", type=Path, help="output folder of the second run")
    args = parser.parse_args(argv)
    return compare(args.before, args.after)


if __name__ == "__main__":
    sys.exit(main())
