"""The quick path of ``shopcx kpis --format json``: DuckDB and the standard library only.

Importing pandas and Ibis takes longer than computing a month of KPIs on ten
million orders, so ``shopcx kpis --format json`` for one market and period
(no ``--by``, no ``--as-of``) on a folder of files first tries to answer
without them, from what earlier commands kept in the user's cache
(``SHOPCX_CACHE_DIR``) under the files' fingerprint:

* the validation report (its warnings are printed as always),
* the data's end (the maturity rules' ``as_of``),
* the compiled KPI statement of this layout and library version
  (:mod:`shopcx.data.statements`, written by
  :func:`shopcx.metrics.kpis.compute_kpis`).

It opens the same views as :func:`shopcx.data.sources.load_source`
(:func:`shopcx.data.layout.view_sql`), runs the statement with the market,
period and maturity cuts as variables, and makes the KPIs with the
dictionary's own arithmetic (:func:`shopcx.metrics.dictionary.kpi_rows`), so
the document is the one the full path prints. When anything is missing (a
new or changed file, a first run, a period without orders, whose market must
then be checked) :func:`kpis_document` returns None and the command takes the
full path, which also stores what the next run needs.
"""

from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path
from typing import Any

import duckdb

from shopcx.cache import kept_file
from shopcx.data import statements
from shopcx.data.layout import fingerprint, table_files, view_sql
from shopcx.data.report import ValidationReport
from shopcx.metrics.dictionary import KPIS, kpi_entries, kpi_rows, maturity_entries
from shopcx.metrics.maturity import load_maturity
from shopcx.params import market_code

__all__ = ["kpis_document"]


def _day(text: str) -> _dt.datetime | None:
    """A plain ISO date or time (naive, UTC); None for anything the full path should judge."""
    try:
        value = _dt.datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None
    return value if value.tzinfo is None else None


def _kept(kind: str, fp: str) -> str | None:
    try:
        return kept_file(kind, fp).read_text()
    except (OSError, UnicodeDecodeError):
        return None


def kpis_document(data: str, market: str, start: str, end: str,
                  maturity_path: str | None = None) -> tuple[dict[str, Any], list[str]] | None:
    """The JSON document of ``shopcx kpis --format json`` and the validation warnings to
    print, or None when the quick path cannot answer (see the module's docstring).

    Bad arguments raise the same InputError as the full path (a bad market, a
    bad maturity file, a folder holding a table twice).
    """
    market = market_code(market)
    maturity = load_maturity(maturity_path)
    root = Path(data)
    s, e = _day(start), _day(end)
    if not root.is_dir() or s is None or e is None or not s < e:
        return None
    files = table_files(root)
    fp = fingerprint(files)
    report_text, end_text = _kept("validation", fp), _kept("data_end", fp)
    if report_text is None or end_text is None:
        return None
    try:
        report = ValidationReport.from_json(report_text)
        as_of = json.loads(end_text)["data_end"]
    except (ValueError, KeyError, TypeError):
        return None
    if not report.ok or as_of is None:
        return None
    data_end = _dt.datetime.fromisoformat(as_of)
    windows = sorted({maturity.days(k.name) for k in KPIS} - {0})
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone='UTC'")
        for name, path in files.items():
            if path is not None:
                con.execute(view_sql(name, path))
        sql = statements.stored(statements.statement_key(con, "kpis", tuple(windows)))
        if sql is None:
            return None
        values: dict[str, Any] = {"market": market, "start": s, "end": e}
        values.update({f"cut_{w}": data_end - _dt.timedelta(days=w) for w in windows})
        (aggregates,) = statements.run(con, sql, values)
    finally:
        con.close()
    if not aggregates["n_orders"]:  # is the market in the data at all? the full path says
        return None
    rows = kpi_rows(aggregates, maturity)
    doc: dict[str, Any] = {"market": market, "start": f"{s:%Y-%m-%d}", "end": f"{e:%Y-%m-%d}",
                           "kpis": kpi_entries(rows)}
    doc.update(maturity_entries(rows, f"{data_end:%Y-%m-%d}"))
    return doc, [str(f) for f in report.warnings]
