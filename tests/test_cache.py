"""Results shared between readouts: computed once, never stale."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pandas as pd

from shopcx.data.sources import load_source
from shopcx.metrics.compare import compare_periods

from .conftest import PERIOD, tiny_tables, write_tables

BASE = ("2026-09-01", "2026-10-01")


def _rate(changes: pd.DataFrame) -> float:
    return float(changes.set_index("kpi").loc["cancellation_rate", "value"])


def test_a_result_is_reused_until_a_file_changes(tmp_path: Path, monkeypatch) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv("SHOPCX_CACHE_DIR", str(cache))
    tables = tiny_tables()
    data = write_tables(tables, tmp_path / "data", "parquet")
    first = compare_periods(str(data), "US", *PERIOD, *BASE)
    assert _rate(first) == 4 / 6
    stored = list((cache / "results").rglob("compare-*.pkl"))
    assert len(stored) == 1
    # the same call reads the stored result (same values, same file)
    again = compare_periods(str(data), "US", *PERIOD, *BASE)
    pd.testing.assert_frame_equal(first, again)
    assert list((cache / "results").rglob("compare-*.pkl")) == stored
    # a changed file is a new dataset: O9 is no longer cancelled
    tables["cancellations"] = tables["cancellations"][tables["cancellations"]["order_id"] != "O9"]
    time.sleep(0.01)
    write_tables(tables, data, "parquet")
    os.utime(data / "cancellations.parquet")
    changed = compare_periods(str(data), "US", *PERIOD, *BASE)
    assert _rate(changed) == 3 / 6


def test_dataframes_are_never_cached(tmp_path: Path, monkeypatch) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv("SHOPCX_CACHE_DIR", str(cache))
    source = load_source(tiny_tables())
    assert _rate(compare_periods(source, "US", *PERIOD, *BASE)) == 4 / 6
    assert not (cache / "results").exists()
