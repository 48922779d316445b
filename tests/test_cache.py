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


def test_the_data_end_is_scanned_once_per_dataset(tmp_path: Path, monkeypatch) -> None:
    """The data's end (midnight after its latest event) needs a scan of every time
    column; a folder's is kept under the files' fingerprint and rescanned when a
    file changes."""
    from shopcx.data.sources import Source

    monkeypatch.setenv("SHOPCX_CACHE_DIR", str(tmp_path / "cache"))
    tables = tiny_tables()
    data = write_tables(tables, tmp_path / "data", "parquet")
    end = load_source(str(data)).data_end()
    latest = max(tables["orders"][c].max() for c in ("created_at", "paid_at", "shipped_at",
                                                       "delivered_at"))
    latest = max([latest] + [tables[t][c].max() for t, c in (
        ("cancellations", "requested_at"), ("cancellations", "resolved_at"),
        ("contacts", "created_at"), ("feedback", "created_at"))])
    assert end == pd.Timestamp(latest).floor("D") + pd.Timedelta(days=1)
    assert len(list((tmp_path / "cache" / "data_end").glob("*.json"))) == 1

    def no_query(self: Source, expr: object) -> None:
        raise AssertionError("the data's end was scanned again")

    monkeypatch.setattr(Source, "execute", no_query)
    assert load_source(str(data)).data_end() == end  # from the cache, no query
    monkeypatch.undo()
    monkeypatch.setenv("SHOPCX_CACHE_DIR", str(tmp_path / "cache"))
    later = tables["feedback"].copy()
    later.loc[later.index[0], "created_at"] = pd.Timestamp(end) + pd.Timedelta(days=3)
    tables["feedback"] = later
    time.sleep(0.01)
    write_tables(tables, data, "parquet")
    os.utime(data / "feedback.parquet")
    assert load_source(str(data)).data_end() == pd.Timestamp(end) + pd.Timedelta(days=4)
