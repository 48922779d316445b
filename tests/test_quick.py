"""The quick path of ``shopcx kpis --format json`` and the compiled statements behind it."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import ibis
import numpy as np
import pandas as pd
import pytest

from shopcx.cli import main
from shopcx.data import layout, statements
from shopcx.data.contract import TABLES
from shopcx.metrics.dictionary import wilson
from shopcx.metrics.quick import kpis_document
from shopcx.metrics.stats import wilson_interval

from .conftest import PERIOD, tiny_tables, write_tables


def _full(folder: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> dict:
    assert main(["kpis", "--data", str(folder), "--market", "US", "--start", PERIOD[0],
                 "--end", PERIOD[1], "--format", "table", *extra]) == 0  # full path, stores
    capsys.readouterr()
    assert main(["kpis", "--data", str(folder), "--market", "US", "--start", PERIOD[0],
                 "--end", PERIOD[1], "--format", "json", "--as-of", "2026-11-03", *extra]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_quick_document_equals_the_full_paths(tmp_path: Path, fmt: str,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    folder = write_tables(tiny_tables(), tmp_path / fmt, fmt)
    # --as-of the data's end (2026-11-03) forces the full path: the same figures
    full = _full(folder, capsys)
    quick = kpis_document(str(folder), "us", *PERIOD)
    assert quick is not None
    doc, warnings = quick
    assert doc == full
    assert doc["kpis"]["orders"] == {"value": 6}
    assert doc["kpis"]["cancellation_rate"]["numerator"] == 4
    assert doc["as_of"] == full["as_of"]
    assert all(w.startswith("warning: ") for w in warnings)


def test_quick_path_imports_neither_pandas_nor_ibis(tiny_parquet: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    full = _full(tiny_parquet, capsys)
    code = ("import sys, json\nfrom shopcx.cli import main\n"
            f"main(['kpis', '--data', {str(tiny_parquet)!r}, '--market', 'US', '--start', "
            f"{PERIOD[0]!r}, '--end', {PERIOD[1]!r}, '--format', 'json'])\n"
            "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'pandas', 'ibis', "
            "'numpy', 'scipy', 'sklearn', 'matplotlib', 'nbconvert'})\n"
            "print(json.dumps(heavy))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=os.environ, check=True).stdout
    doc, heavy = out.rsplit("\n", 2)[0], out.rsplit("\n", 2)[1]
    assert json.loads(heavy) == []
    assert json.loads(doc) == full


def test_quick_path_steps_aside(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tables = tiny_tables()
    folder = write_tables(tables, tmp_path / "data", "parquet")
    assert kpis_document(str(folder), "US", *PERIOD) is None  # never validated: full path
    _full(folder, capsys)
    assert kpis_document(str(folder), "US", *PERIOD) is not None
    assert kpis_document(str(folder), "US", "2026-12-01", "2027-01-01") is None  # no orders
    assert kpis_document(str(folder), "US", "2026-10-01T00:00:00+07:00", PERIOD[1]) is None
    assert kpis_document(str(folder), "US", PERIOD[1], PERIOD[0]) is None  # full path's error
    maturity = tmp_path / "maturity.yaml"
    maturity.write_text("windows:\n  contacts: 3\n")
    assert kpis_document(str(folder), "US", *PERIOD, str(maturity)) is None  # another shape
    _full(folder, capsys, "--maturity", str(maturity))
    doc, _ = kpis_document(str(folder), "US", *PERIOD, str(maturity))
    assert doc["maturity"]["csat_mean"]["window_days"] == 3
    # a changed file is a new dataset: validated and measured again by the full path
    tables["orders"] = tables["orders"].iloc[1:]
    write_tables(tables, folder, "parquet")
    os.utime(folder / "orders.parquet", ns=(1, 1))
    assert kpis_document(str(folder), "US", *PERIOD) is None
    assert main(["kpis", "--data", str(folder), "--market", "US", "--start", PERIOD[0],
                 "--end", PERIOD[1], "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["kpis"]["orders"]["value"] == 5


def test_compiled_statement_reads_its_variables(tmp_path: Path) -> None:
    frame = pd.DataFrame({"market": ["MY", "MY", "VN", "O'K"],
                          "t": pd.to_datetime(["2026-01-01 00:00:00.000000", "2026-01-31 23:59:59.999999",
                                               "2026-01-15 00:00:00.000000", "2026-01-02 00:00:00.000000"])})
    backend = ibis.duckdb.connect()
    table = backend.create_table("orders", frame)
    m, s = ibis.param("string"), ibis.param("timestamp")
    kept = table.filter(table.market == m, table.t >= s, table.t < s + ibis.interval(days=31))
    expr = kept.aggregate(n=kept.count())
    sql = statements.compile_with_variables(
        backend, expr, {"market": (m, "MY"), "start": (s, dt.datetime(2026, 1, 1))})
    assert "getvariable('shopcx_market')" in sql and "2101" not in sql
    con = backend.con
    assert statements.run(con, sql, {"market": "MY", "start": dt.datetime(2026, 1, 1)}) == [
        {"n": 2}]
    assert statements.run(con, sql, {"market": "O'K", "start": dt.datetime(2026, 1, 1)}) == [
        {"n": 1}]
    assert statements.run(con, sql, {"market": "MY", "start": dt.datetime(2026, 1, 2)}) == [
        {"n": 1}]
    unused = ibis.param("string")
    with pytest.raises(RuntimeError, match="not found"):
        statements.compile_with_variables(backend, expr, {
            "market": (m, "MY"), "start": (s, dt.datetime(2026, 1, 1)), "x": (unused, "a")})


def test_statement_key_follows_the_layout(tiny_parquet: Path, tiny_csv: Path) -> None:
    def key(folder: Path) -> str:
        con = duckdb.connect()
        for name, path in layout.table_files(folder).items():
            if path is not None:
                con.execute(layout.view_sql(name, path))
        return statements.statement_key(con, "kpis", (7, 14))

    assert key(tiny_parquet) != key(tiny_csv)  # CSV columns are text: another statement
    assert key(tiny_parquet) == key(tiny_parquet)


def test_wilson_for_one_value_equals_the_vectorised_interval() -> None:
    x = np.array([0, 1, 3, 8, 10, 50, 999, 1000, 7])
    n = np.array([1, 1, 10, 10, 10, 2000, 1000, 1000, 7])
    lo, hi = wilson_interval(x, n)
    for i in range(len(x)):
        assert wilson(int(x[i]), int(n[i])) == pytest.approx((lo[i], hi[i]), abs=1e-15)
    assert wilson(0, 0) == (None, None)


def test_csv_header_examples_are_the_contracts_columns() -> None:
    assert tuple(TABLES) == layout.TABLE_NAMES
    for name, spec in TABLES.items():
        assert layout._HEADERS[name] == ",".join(c.name for c in spec.columns[:3])
