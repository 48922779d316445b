"""Where a folder source keeps its tables, how the engine reads them, and their fingerprint.

A folder holds, per table, ``NAME.parquet``, ``NAME.csv`` or a folder ``NAME/``
of Parquet files (hive-partitioned sub-folders allowed). This module finds
them, writes the DuckDB view that reads each one (the same view for every
caller: :func:`shopcx.data.sources.load_source` and the quick path of
``shopcx kpis``, :mod:`shopcx.metrics.quick`) and fingerprints the files.
It imports neither Ibis nor pandas.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from shopcx.data.csvfile import check_csv
from shopcx.data.report import CONTRACT_VERSION
from shopcx.errors import InputError

__all__ = ["TABLE_NAMES", "fingerprint", "table_files", "view_sql"]

TABLE_NAMES = ("orders", "cancellations", "contacts", "feedback", "assignments")
"""The contract's tables (:data:`shopcx.data.contract.TABLES`), in its order."""

_HEADERS = {  # each table's first columns (contract.TABLES; tested), to show a good header
    "orders": "order_id,market,buyer_id",
    "cancellations": "request_id,order_id,initiator",
    "contacts": "contact_id,market,buyer_id",
    "feedback": "feedback_id,market,order_id",
    "assignments": "experiment,variant,unit_type",
}


def table_files(root: Path) -> dict[str, Path | None]:
    """Each table's file or folder in ``root`` (None when absent).

    Refuses a folder where two candidates could hold one table, and a table
    folder without Parquet files.
    """
    out: dict[str, Path | None] = {}
    for name in TABLE_NAMES:
        candidates = [p for p in (root / f"{name}.parquet", root / f"{name}.csv", root / name)
                      if p.exists()]
        if len(candidates) > 1:
            raise InputError(f"table {name}: several files in {root} could hold it "
                             f"({', '.join(p.name for p in candidates)}); keep one")
        path = candidates[0] if candidates else None
        if path is not None and path.is_dir() and not any(path.rglob("*.parquet")):
            raise InputError(f"table {name}: folder {path} holds no Parquet files")
        out[name] = path
    return out


def view_sql(name: str, path: Path) -> str:
    """The statement creating the engine's view ``name`` over the table's file(s).

    CSV: a header naming a column twice, an empty file or a non-UTF-8 header
    is refused here (DuckDB would rename or guess); every column is read as
    text and the contract layer casts and reports bad values.
    """
    if path.is_dir():
        files = _quote(str(path / "**" / "*.parquet"))
        return (f'CREATE OR REPLACE TEMP VIEW "{name}" AS SELECT * FROM '
                f"read_parquet({files}, hive_partitioning = true)")
    if path.suffix == ".parquet":
        return f'CREATE OR REPLACE TEMP VIEW "{name}" AS SELECT * FROM read_parquet({_quote(str(path))})'
    check_csv(path, f"table {name}:", scan=False, example=_HEADERS[name] + ",...")
    return (f'CREATE OR REPLACE TEMP VIEW "{name}" AS SELECT * FROM '
            f"read_csv({_quote(str(path))}, all_varchar = true, header = true, auto_detect = true)")


def fingerprint(files: dict[str, Path | None]) -> str:
    """Identifies the files' current content (paths, sizes, modification times) and the
    contract's version: a changed file is a new dataset."""
    h = hashlib.sha256(CONTRACT_VERSION.encode())
    for path in sorted(p for p in files.values() if p is not None):
        found = sorted(path.rglob("*")) if path.is_dir() else [path]
        for f in found:
            if f.is_file():
                st = f.stat()
                h.update(f"{f.resolve()}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:32]


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
