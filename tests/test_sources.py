"""Data sources: CSV, Parquet, Parquet folders, DuckDB files and DataFrames agree."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from shopcx.data.sources import load_source
from shopcx.errors import InputError
from shopcx.metrics.kpis import compute_kpis

from .conftest import PERIOD, tiny_tables, write_tables


def _kpis(source: object) -> pd.DataFrame:
    return compute_kpis(source, "US", *PERIOD)


def test_csv_and_parquet_give_identical_results(tiny_csv: Path, tiny_parquet: Path) -> None:
    from_csv, from_parquet = _kpis(tiny_csv), _kpis(tiny_parquet)
    assert_frame_equal(from_csv, from_parquet)
    assert_frame_equal(from_csv, _kpis(tiny_tables()))
    assert from_csv.set_index("kpi").loc["orders", "value"] == 6


def test_parquet_folder_with_hive_partitions(tmp_path: Path) -> None:
    tables = tiny_tables()
    root = write_tables({k: v for k, v in tables.items() if k != "orders"}, tmp_path, "parquet")
    for market, part in tables["orders"].groupby("market"):
        folder = root / "orders" / f"region={market}"
        folder.mkdir(parents=True)
        part.to_parquet(folder / "part-0.parquet", index=False)
    src = load_source(root)
    assert "region" in src.raw["orders"].columns  # partition columns are extra columns
    assert_frame_equal(_kpis(src), _kpis(tables))


def test_duckdb_file_url(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(path))
    for name, df in tiny_tables().items():
        con.register("df", df)
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM df")
        con.unregister("df")
    con.close()
    assert_frame_equal(_kpis(f"duckdb:///{path}"), _kpis(tiny_tables()))


def test_extra_columns_are_ignored(tmp_path: Path) -> None:
    tables = tiny_tables()
    tables["orders"]["warehouse_note"] = "x"
    tables["contacts"]["agent_id"] = 7
    src = load_source(write_tables(tables, tmp_path, "csv"))
    assert src.validate().ok
    assert_frame_equal(_kpis(src), _kpis(tiny_tables()))


def test_timezones_are_converted_to_utc(tmp_path: Path) -> None:
    """02:00 on 1 Oct in Bangkok (UTC+7) is 30 Sep 19:00 UTC: outside October."""
    tables = tiny_tables()
    orders = tables["orders"]
    # O1 was created at exactly 2026-10-01 00:00 UTC; move it to 02:00 Bangkok time
    local = pd.Timestamp("2026-10-01 02:00", tz="Asia/Bangkok")
    as_csv = orders.astype({"created_at": object})
    as_csv.loc[as_csv.order_id == "O1", "created_at"] = local.isoformat()
    rest = as_csv.loc[as_csv.order_id != "O1", "created_at"]
    as_csv.loc[as_csv.order_id != "O1", "created_at"] = [t.isoformat() for t in rest]
    csv_dir = write_tables({**tables, "orders": as_csv}, tmp_path / "csv", "csv")
    # the same in Parquet with a timezone-aware column
    aware = orders.copy()
    aware["created_at"] = aware["created_at"].dt.tz_localize("UTC").dt.tz_convert("Asia/Bangkok")
    aware.loc[aware.order_id == "O1", "created_at"] = local
    pq_dir = write_tables({**tables, "orders": aware}, tmp_path / "pq", "parquet")
    for folder in (csv_dir, pq_dir):
        k = _kpis(folder).set_index("kpi")
        assert k.loc["orders", "value"] == 5, folder  # O1 moved into September
        sept = compute_kpis(folder, "US", "2026-09-30", "2026-10-01").set_index("kpi")
        assert sept.loc["orders", "value"] == 2  # O8 and O1


def test_integer_ids_are_read_as_strings(tmp_path: Path) -> None:
    tables = tiny_tables()
    tables["orders"]["buyer_id"] = range(len(tables["orders"]))
    src = load_source(write_tables(tables, tmp_path, "parquet"))
    assert src.validate().ok
    assert src.tables["orders"].schema()["buyer_id"].is_string()


def test_missing_folder_and_ambiguous_tables(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not a directory"):
        load_source(tmp_path / "nope")
    folder = write_tables(tiny_tables(), tmp_path / "both", "csv")
    tiny_tables()["orders"].to_parquet(folder / "orders.parquet")
    with pytest.raises(InputError, match="several files"):
        load_source(folder)


def test_validation_report_is_cached_by_fingerprint(tiny_parquet: Path) -> None:
    first = load_source(tiny_parquet)
    report = first.validate()
    again = load_source(tiny_parquet)
    assert again.fingerprint == first.fingerprint
    assert str(again.validate()) == str(report)
    # changing a file changes the fingerprint
    tiny_tables()["feedback"].head(2).to_parquet(tiny_parquet / "feedback.parquet", index=False)
    assert load_source(tiny_parquet).fingerprint != first.fingerprint


def test_a_csv_header_naming_a_column_twice_is_refused(tmp_path: Path, capsys) -> None:
    from shopcx.cli import main

    data = write_tables(tiny_tables(), tmp_path / "data", "csv")
    path = data / "orders.csv"
    lines = path.read_text().splitlines()
    lines[0] = lines[0].replace("gmv_usd", "carrier")  # a second "carrier" column
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match=r"table orders: .*orders\.csv: column 'carrier' "
                                         r"appears twice in the header \(columns 9 and 10\)"):
        load_source(data)
    assert main(["validate", "--data", str(data)]) == 2
    assert "appears twice" in capsys.readouterr().err
    path.write_text("")  # an empty file: said so, with the columns expected
    with pytest.raises(InputError, match="orders.csv: the file is empty; .* order_id,market"):
        load_source(data)


def _numbered(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The tiny tables with order ids stored as integers (O12 -> 12)."""
    out = {k: v.copy() for k, v in tables.items()}
    for df in out.values():
        if "order_id" in df:
            df["order_id"] = df["order_id"].str[1:].astype("Int64")
    return out


@pytest.mark.parametrize("numbered", [False, True])
def test_near_keeps_the_rows_whose_key_lies_in_the_keys_range(tmp_path: Path,
                                                              numbered: bool) -> None:
    tables = _numbered(tiny_tables()) if numbered else tiny_tables()
    src = load_source(write_tables(tables, tmp_path, "parquet"))
    o = src.tables["orders"]

    def near(table: str, ids: tuple[str, ...]) -> list[str]:
        keys = o.filter(o.order_id.isin(ids))
        rows = src.execute(src.near(table, keys.order_id).select("order_id"))
        return sorted(rows["order_id"])

    # by hand: text ids compare as text, "O2" <= id <= "O5"; stored integers are
    # compared as the contract's strings ("2" <= id <= "5"), so 404 is in range
    assert near("cancellations", ("O2", "O5") if not numbered else ("2", "5")) == (
        ["O2", "O2", "O3", "O3", "O4", "O4", "O404", "O5"] if not numbered
        else ["2", "2", "3", "3", "4", "4", "404", "5"])
    assert near("contacts", ("O6", "O7") if not numbered else ("6", "7")) == (
        ["O6", "O7"] if not numbered else ["6", "7"])  # the null order id is never in range
    assert near("cancellations", ()) == []  # no keys: nothing joins, nothing is kept


def test_integer_order_ids_give_the_same_kpis(tmp_path: Path) -> None:
    """The ranges of Source.near on ids stored as integers lose no row."""
    src = load_source(write_tables(_numbered(tiny_tables()), tmp_path, "parquet"))
    assert src.validate().ok
    assert_frame_equal(_kpis(src), _kpis(tiny_tables()))
