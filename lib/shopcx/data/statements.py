"""Compiled statements, kept on disk and run with DuckDB variables.

Compiling a large Ibis expression to SQL takes about half a second, on every
command, for the same statement with other literals. A statement whose
changing inputs (the market, the period's bounds, maturity cuts) are Ibis
*parameters* is compiled once per query shape instead: the parameters become
DuckDB variables (``getvariable('shopcx_start')``), which DuckDB folds into
constants when it plans, so file and row-group pruning by market and time
still applies. The SQL is kept in the user's cache (``SHOPCX_CACHE_DIR``)
under a key made of

* the statement's kind and shape (which maturity windows, say),
* the names and types of the columns of the contract's views (a CSV folder,
  read as text, is another shape than Parquet files),
* the library's code, Ibis's and DuckDB's versions,

so a new release or another layout recompiles, and a new day of data does
not. :func:`run` needs only DuckDB: the quick path of ``shopcx kpis``
(:mod:`shopcx.metrics.quick`) runs a stored statement without importing Ibis
or pandas. Compiling (:func:`compile_with_variables`) needs Ibis and is
imported late.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import importlib.metadata
import re
from decimal import Decimal
from typing import Any

import duckdb

from shopcx.cache import cache_dir, code_fingerprint
from shopcx.data.layout import TABLE_NAMES
from shopcx.files import write_atomic

__all__ = ["compile_with_variables", "run", "statement_key", "stored", "store"]

PREFIX = "shopcx_"


def statement_key(con: duckdb.DuckDBPyConnection, kind: str, shape: tuple[Any, ...]) -> str:
    """The key of a statement of ``kind`` and ``shape`` on the views open in ``con``."""
    names = ", ".join(f"'{n}'" for n in TABLE_NAMES)
    columns = con.execute(
        "SELECT table_name, column_name, data_type FROM duckdb_columns() "
        f"WHERE table_name IN ({names}) ORDER BY table_name, column_index").fetchall()
    text = repr((kind, shape, columns, code_fingerprint(), duckdb.__version__,
                 importlib.metadata.version("ibis-framework")))
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _path(key: str) -> Any:
    return cache_dir() / "statements" / f"{key}.sql"


def stored(key: str) -> str | None:
    """The statement kept under ``key``; None when there is none (or it cannot be read)."""
    with contextlib.suppress(OSError, UnicodeDecodeError):
        return _path(key).read_text()
    return None


def store(key: str, sql: str) -> None:
    """Keep ``sql`` under ``key`` (a read-only cache is no reason to fail)."""
    with contextlib.suppress(OSError):
        write_atomic(_path(key), sql)


def _sentinel(i: int, value: Any) -> Any:
    """A value of the parameter's type that no real statement holds."""
    if isinstance(value, _dt.datetime):
        return _dt.datetime(2101 + i, 1, 1, 0, 0, 0, 4242)
    if isinstance(value, str):
        return f"shopcx-parameter-{i}-sentinel"
    raise TypeError(f"no sentinel for a parameter of type {type(value).__name__}")


def compile_with_variables(backend: Any, expr: Any, params: dict[str, tuple[Any, Any]]) -> str:
    """The DuckDB SQL of ``expr`` with each parameter read from its variable.

    ``params`` maps a variable's name to (the Ibis parameter in ``expr``, an
    example value, which gives its type). Each parameter is compiled as a
    sentinel literal, then the literal's text is replaced by
    ``getvariable('shopcx_NAME')``; a sentinel left over (or a parameter not
    found) is an error, never a wrong statement.
    """
    import ibis

    sentinels = {name: _sentinel(i, value) for i, (name, (_, value)) in enumerate(params.items())}
    sql = str(backend.compile(expr, params={p: sentinels[name]
                                           for name, (p, _) in params.items()}))
    for name, (p, _) in params.items():
        alone = str(backend.compile(ibis.literal(sentinels[name], type=p.type()).name("v")))
        match = re.fullmatch(r'SELECT (.+) AS "v"', alone.strip(), flags=re.DOTALL)
        if match is None or match.group(1) not in sql:
            raise RuntimeError(f"statement parameter {name}: its literal was not found")
        sql = sql.replace(match.group(1), f"getvariable('{PREFIX}{name}')")
    leftover = [n for n, v in sentinels.items() if str(v) in sql or
                (isinstance(v, _dt.datetime) and f"({v.year}," in sql)]
    if leftover:
        raise RuntimeError(f"statement parameters {leftover}: a literal was left in the SQL")
    return sql


def _literal(value: Any) -> str:
    if isinstance(value, _dt.datetime) and value.tzinfo is None:
        return f"TIMESTAMP '{value.isoformat(sep=' ')}'"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise TypeError(f"no SQL literal for a variable of type {type(value).__name__}")


def _plain(v: Any) -> Any:
    if isinstance(v, Decimal):  # engines return large sums as decimals
        return int(v) if v == v.to_integral_value() else float(v)
    return v


def run(con: duckdb.DuckDBPyConnection, sql: str, variables: dict[str, Any]
        ) -> list[dict[str, Any]]:
    """Set the variables, run ``sql`` and return its rows as dicts of Python values."""
    for name, value in variables.items():  # literals: binding a parameter imports pandas
        con.execute(f"SET VARIABLE {PREFIX}{name} = {_literal(value)}")
    cursor = con.execute(sql)
    names = [d[0] for d in cursor.description]
    return [{n: _plain(v) for n, v in zip(names, row, strict=True)} for row in cursor.fetchall()]
