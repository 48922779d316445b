"""Data sources: where the four contract tables come from.

This is the only module that knows about paths, file formats and engine URLs.
A source is one of

* a directory with, per table, ``NAME.parquet``, ``NAME.csv`` or a folder
  ``NAME/`` of Parquet files (hive-partitioned sub-folders allowed);
* an Ibis connection URL such as ``duckdb:///path/file.db`` whose engine holds
  tables with the contract's names;
* a mapping of table name to pandas DataFrame (handy in a notebook);
* an already connected Ibis backend holding the tables.

Files are read lazily by the engine (DuckDB by default): nothing is loaded
into pandas until a query result comes back.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import decimal
import hashlib
import json
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from shopcx.cache import kept_file
from shopcx.data import statements
from shopcx.data.contract import (
    TABLES,
    ValidationReport,
    check_schema,
    normalize_table,
    validate_source,
)
from shopcx.data.layout import fingerprint, table_files, view_sql
from shopcx.errors import ContractError, InputError
from shopcx.files import write_atomic

__all__ = ["Source", "key_range", "load_source", "rewind"]

@dataclass
class Source:
    """The four contract tables as Ibis expressions on one engine connection.

    ``raw`` holds the tables as found; ``tables`` the same tables in contract
    types (see :func:`shopcx.data.contract.normalize_table`). Run an expression with
    :meth:`execute`, which returns pandas objects.
    """

    con: Any
    raw: dict[str, ir.Table | None]
    description: str = ""
    fingerprint: str | None = None  # identifies the files' current content, for caching
    as_of: pd.Timestamp | None = None  # the data as it stood at this moment (see :meth:`at`)
    _report: ValidationReport | None = field(default=None, repr=False)
    _kept: dict[tuple[Any, ...], ir.Table] = field(default_factory=dict, repr=False)
    _base: Source | None = field(default=None, repr=False)

    @cached_property
    def tables(self) -> dict[str, ir.Table]:
        """Contract tables in contract types; raises ContractError if the schema is broken."""
        problems = check_schema(self.raw)
        if problems:
            raise ContractError(ValidationReport(findings=problems))
        return {name: self._normal(name, t) for name, t in self.raw.items() if t is not None}

    def _normal(self, name: str, raw: ir.Table) -> ir.Table:
        t = normalize_table(name, raw)
        return t if self.as_of is None else rewind(name, t, self.as_of)

    def at(self, as_of: Any) -> Source:
        """The same data as it stood at ``as_of`` (a date or timestamp, UTC).

        Rows created at or after ``as_of`` do not exist yet; an order's
        ``paid_at``, ``shipped_at`` and ``delivered_at`` from then on are
        still null; a cancellation decided from then on is still
        ``pending`` (no ``resolved_at``, not auto-resolved). See
        :func:`rewind`. Every metric computed on the returned source is the
        metric as it would have been computed at that moment, which is how a
        baseline is measured at the same age as a young period
        (docs/metrics.md, "Maturity").
        """
        ts = pd.Timestamp(as_of)
        if ts.tzinfo is not None:
            ts = ts.tz_convert("UTC").tz_localize(None)
        base = self._base or self
        return Source(self.con, self.raw, self.description,
                      f"{base.fingerprint}@{ts.isoformat()}" if base.fingerprint else None,
                      ts, _base=base)

    def data_end(self) -> pd.Timestamp | None:
        """Midnight after the latest moment recorded in any table (None: no rows).

        Exports cover whole days, so data whose latest event is on 30
        November ends on 1 December: the default ``as_of`` of the maturity
        rules. On a source seen :meth:`at` a moment, that moment.
        """
        if self.as_of is not None:
            return self.as_of
        if "_data_end" not in self.__dict__:
            # a scan of every time column: for a folder of files, kept in the user's
            # cache under the files' fingerprint, like the validation report
            self.__dict__["_data_end"] = _kept_on_disk(
                self.fingerprint, "data_end", self._scan_data_end,
                lambda end: json.dumps({"data_end": None if end is None else end.isoformat()}),
                lambda text: (None if (v := json.loads(text)["data_end"]) is None
                              else pd.Timestamp(v)))
        return self.__dict__["_data_end"]

    def _scan_data_end(self) -> pd.Timestamp | None:
        t = self.tables
        parts = [t[name].aggregate(last=t[name][col].max())
                 for name, cols in _TIME_COLUMNS.items() if name in t for col in cols]
        last = self.execute(ibis.union(*parts).aggregate(last=ibis._["last"].max()))
        value = last["last"].iloc[0] if len(last) else None
        return (None if value is None or pd.isna(value) else
                pd.Timestamp(value).floor("D") + pd.Timedelta(days=1))

    def table(self, name: str) -> ir.Table:
        return self.tables[name]

    def rows(self, name: str, market: Any, column: str, start: Any, end: Any) -> ir.Table:
        """Rows of ``name`` with ``start <= column < end`` (and of one market unless
        ``market`` is None), in contract types.

        The filters are applied to the stored columns where their type allows
        (a timestamp column, time zone or not), before the contract's
        conversions, so the engine can skip files and row groups by their
        statistics; they are applied again after the conversions, so the rows
        are exactly those of the contract's definition. ``market``, ``start``
        and ``end`` may be engine values (parameters of a compiled statement,
        :meth:`statement`) instead of a string and timestamps.
        """
        norm = self.tables[name]
        raw = self.raw[name]
        assert raw is not None
        if market is not None and raw.market.type().is_string():
            raw = raw.filter(raw.market == market)
        kind = raw[column].type()
        if kind.is_timestamp():
            def lit(ts: Any) -> ir.Value:
                if isinstance(ts, ir.Value):  # a parameter, or arithmetic on one (UTC session)
                    return ts.cast(kind)
                value = ts.tz_localize("UTC") if kind.timezone else ts
                return ibis.literal(value.to_pydatetime(), type=kind)
            raw = raw.filter(raw[column] >= lit(start), raw[column] < lit(end))
        t = self._normal(name, raw) if raw is not self.raw[name] else norm
        low, high = (ts if isinstance(ts, ir.Value) else
                     ibis.literal(ts.to_pydatetime(), type="timestamp") for ts in (start, end))
        t = t.filter(t[column] >= low, t[column] < high)
        return t if market is None else t.filter(t.market == market)

    def near(self, name: str, keys: ir.Column, column: str = "order_id") -> ir.Table:
        """Rows of ``name`` whose ``column`` lies between the least and the greatest of
        ``keys`` (a column of another table), in contract types: :func:`key_range`
        on the stored table, before the contract's conversions, so that each
        caller's range reaches the engine's scan (a range on a shared, already
        converted table would sit after it). A stored column of another type
        (integer ids) is ranged after the conversion, on the contract's strings."""
        raw = self.raw[name]
        assert raw is not None
        if raw[column].type().is_string():  # the conversion keeps it as it is
            return self._normal(name, key_range(raw, keys, column))
        return key_range(self.tables[name], keys, column)

    def execute(self, expr: ir.Expr, params: Mapping[Any, Any] | None = None) -> Any:
        """Run an expression on this source's engine; tables come back as pandas.

        ``params`` gives the values of the expression's parameters
        (``ibis.param``). Engines return large sums as decimals; those columns
        come back as int64 (whole numbers) or float64, so results are ready
        for arithmetic.
        """
        result = self.con.execute(expr, params=params)
        if isinstance(result, pd.DataFrame):
            for col in result.columns:
                if result[col].dtype == object:
                    first = result[col].dropna()
                    if len(first) and isinstance(first.iloc[0], decimal.Decimal):
                        values = result[col].astype(float)
                        whole = values.dropna().mod(1).eq(0).all() and result[col].notna().all()
                        result[col] = values.astype("int64") if whole else values
        elif isinstance(result, decimal.Decimal):
            result = int(result) if result == result.to_integral_value() else float(result)
        return result

    def statement(self, kind: str, shape: tuple[Any, ...], values: dict[str, Any],
                  build: Callable[[dict[str, ir.Scalar]], ir.Table]) -> list[dict[str, Any]]:
        """The rows of ``build(params)`` with ``values`` as its parameters, as dicts.

        ``values`` maps each parameter's name to its value (a ``datetime`` or a
        string); ``build`` makes the expression from the parameters
        (``ibis.param``). On a folder of files read by DuckDB the statement is
        compiled once per ``kind`` and ``shape`` and kept on disk, its
        parameters read from DuckDB variables (:mod:`shopcx.data.statements`);
        ``build`` is then not even called. Elsewhere (DataFrames, Spark, a
        source seen :meth:`at` a moment) the expression runs through Ibis.
        """
        params = {name: ibis.param("timestamp" if isinstance(v, _dt.datetime) else "string")
                  for name, v in values.items()}
        if self.fingerprint is not None and self.as_of is None and self.con.name == "duckdb":
            con = self.con.con
            key = statements.statement_key(con, kind, shape)
            sql = statements.stored(key)
            if sql is None:
                sql = statements.compile_with_variables(
                    self.con, build(params), {n: (params[n], v) for n, v in values.items()})
                statements.store(key, sql)
            return statements.run(con, sql, values)
        frame = self.execute(build(params), params={params[n]: v for n, v in values.items()})
        return frame.to_dict("records")

    def aggregate_each(self, table: ir.Table, groups: list[tuple[str, ...]],
                       always: tuple[str, ...] = (), **aggs: Any) -> list[pd.DataFrame]:
        """``table.group_by([*always, *g]).aggregate(**aggs)`` for each group ``g``.

        All groups run as one statement (a union of group-bys), so the engine
        plans and scans once instead of once per group; ``()`` is a group too
        (the total, or per ``always``). ``aggs`` are deferred expressions
        (``ibis._.count()``). The columns of the groups come back as text, one
        frame per group with ``always``, the group's columns and ``aggs``.
        """
        width = max((len(g) for g in groups), default=0)
        parts = []
        for i, g in enumerate(groups):
            keys = {f"_k{j}": (table[g[j]].cast("string") if j < len(g)
                               else ibis.literal(None, type="string")) for j in range(width)}
            keyed = table.mutate(_g=ibis.literal(i, type="int32"), **keys)
            parts.append(keyed.group_by(["_g", *always, *keys]).aggregate(**aggs))
        if not parts:
            return []
        t = self.execute(ibis.union(*parts, distinct=False) if len(parts) > 1 else parts[0])
        by_group = dict(iter(t.groupby("_g", sort=False)))  # one pass, rows in their order
        out = []
        for i, g in enumerate(groups):
            part = by_group.get(i, t.iloc[0:0])
            frame = part[list(always)].reset_index(drop=True)
            for j, column in enumerate(g):
                frame[column] = part[f"_k{j}"].to_numpy(dtype=object)
            for name in aggs:
                frame[name] = part[name].to_numpy()
            out.append(frame)
        return out

    @contextmanager
    def cached(self, expr: ir.Table) -> Iterator[ir.Table]:
        """``expr`` computed once into a temporary engine table for repeated queries.

        Several aggregations of the same derived table (the per-order facts of
        a period, say) then scan it instead of recomputing it from the files.
        The temporary table is dropped on leaving the block.
        """
        if self.con.name != "duckdb":  # e.g. Spark: the engine's own cache (persist)
            cached = expr.cache()
            try:
                yield cached
            finally:
                cached.release()
            return
        name = f"_shopcx_{uuid.uuid4().hex}"
        table = self.con.create_table(name, expr, temp=True)
        try:
            yield table
        finally:
            self.con.drop_table(name, force=True)

    def kept(self, key: tuple[Any, ...], build: Callable[[], ir.Table]) -> ir.Table:
        """``build()`` computed once into an engine table kept while this source is open.

        For derived tables several analyses of a session read (a period's
        per-order facts with buyer segments, say): the first call computes and
        stores them (a temporary table on DuckDB, the engine's cache elsewhere),
        later calls with the same ``key`` get the stored table, which is also a
        much smaller expression to plan.
        """
        table = self._kept.get(key)
        if table is None:
            expr = build()
            if self.con.name == "duckdb":
                table = self.con.create_table(f"_shopcx_kept_{uuid.uuid4().hex}", expr,
                                              temp=True)
            else:
                table = expr.cache()
            self._kept[key] = table
        return table

    def validate(self) -> ValidationReport:
        """The validation report.

        Computed once per source; for a folder of files it is also kept in the
        user's cache (``SHOPCX_CACHE_DIR``, default ``~/.cache/shopcx``) under
        a fingerprint of the files' paths, sizes and modification times, so an
        unchanged dataset is validated once, not on every command.
        """
        if self._base is not None:  # the contract holds for the whole data
            return self._base.validate()
        if self._report is None:
            self._report = _kept_on_disk(self.fingerprint, "validation",
                                         lambda: validate_source(self),
                                         lambda report: report.to_json(),
                                         ValidationReport.from_json)
        return self._report

    def slice_fingerprint(self, market: str, start: Any, end: Any, history_days: int = 180,
                          follow_days: int = 7) -> str:
        """Identifies the content of the rows a market's readouts of ``[start, end)`` read.

        Orders of the market placed from ``history_days`` before ``start`` (buyer
        history) to ``end``; every cancellation of those orders; the market's
        contacts from the same start to ``follow_days`` after ``end`` inclusive (a
        repeat contact comes within 7 days) and every contact about those orders; the
        market's feedback of the same span. Each table is summarised by the
        engine (row count and the sum of a hash of every row's values), so a
        new day of data changes the fingerprint of the periods it touches and
        of no other: an order placed in the new day is outside an older
        period, a late cancellation of an older order is inside its period.
        """
        lo = pd.Timestamp(start) - pd.Timedelta(days=history_days)
        hi = pd.Timestamp(end)
        o = self.rows("orders", market, "created_at", lo, hi)
        ids = o.select("order_id")
        c = self.tables["cancellations"]
        k = self.tables["contacts"]
        k_lo = ibis.literal(lo.to_pydatetime(), type="timestamp")
        k_hi = ibis.literal((hi + pd.Timedelta(days=follow_days)).to_pydatetime(),
                            type="timestamp")
        parts = {
            "orders": o,
            "cancellations": c.filter(c.order_id.isin(ids.order_id)),
            "contacts": k.filter(((k.market == market) & (k.created_at >= k_lo)
                                  & (k.created_at <= k_hi)) | k.order_id.isin(ids.order_id)),
            "feedback": self.rows("feedback", market, "created_at", lo, hi),
        }
        sums = []
        for name, t in parts.items():
            cols = [t[col].cast("string").fill_null("<null>") for col in t.columns]
            row = ibis.literal("|").join(cols) if len(cols) > 1 else cols[0]
            sums.append(t.aggregate(table=ibis.literal(name), n=t.count(),
                                    h=row.hash().cast("decimal(38, 0)").sum()))
        totals = self.execute(ibis.union(*sums))
        h = hashlib.sha256(f"{market}|{lo}|{hi}|{follow_days}".encode())
        for _, r in totals.sort_values("table").iterrows():
            h.update(f"{r['table']}|{r['n']}|{r['h']}\n".encode())
        if self.as_of is not None:
            h.update(f"as of {self.as_of}".encode())
        return h.hexdigest()[:24]

    def markets(self) -> list[str]:
        """The markets present in orders, sorted."""
        o = self.tables["orders"]
        return sorted(self.execute(o.select("market").distinct())["market"].dropna())


_TIME_COLUMNS = {
    "orders": ("created_at", "paid_at", "shipped_at", "delivered_at"),
    "cancellations": ("requested_at", "resolved_at"),
    "contacts": ("created_at",),
    "feedback": ("created_at",),
    "assignments": ("assigned_at",),
}


def rewind(name: str, table: ir.Table, as_of: pd.Timestamp) -> ir.Table:
    """A contract table (in contract types) as it stood at ``as_of``.

    Rows created from ``as_of`` on are dropped (orders by ``created_at``,
    cancellations by ``requested_at``, contacts and feedback by
    ``created_at``); an order's later ``paid_at``, ``shipped_at`` and
    ``delivered_at`` become null; a cancellation decided from ``as_of`` on
    becomes ``pending`` with no ``resolved_at`` and ``auto_resolved`` false.
    Columns without a time (a contact's CSAT answer, its escalation flag)
    cannot be rewound and are kept as they are.
    """
    cut = ibis.literal(as_of.to_pydatetime(), type="timestamp")
    if name == "orders":
        t = table.filter(table.created_at < cut)
        return t.mutate(**{c: ibis.ifelse(t[c] < cut, t[c], ibis.null(t[c].type()))
                           for c in ("paid_at", "shipped_at", "delivered_at")})
    if name == "cancellations":
        t = table.filter(table.requested_at < cut)
        open_ = t.resolved_at.isnull() | (t.resolved_at >= cut)
        return t.mutate(outcome=ibis.ifelse(open_, "pending", t.outcome),
                        resolved_at=ibis.ifelse(open_, ibis.null(t.resolved_at.type()),
                                                t.resolved_at),
                        auto_resolved=t.auto_resolved & ~open_)
    if name == "assignments":
        return table.filter(table.assigned_at < cut)
    return table.filter(table.created_at < cut)


def _kept_on_disk(fingerprint: str | None, kind: str, compute: Callable[[], Any],
                  dump: Callable[[Any], str], load: Callable[[str], Any]) -> Any:
    """``compute()``, kept in the user's cache under the files' ``fingerprint``.

    Read back with ``load`` when stored and readable, else computed and stored
    with ``dump`` (a read-only home is no reason to fail). Without a
    fingerprint (DataFrames, engine URLs) it is computed every time.
    """
    path = None if fingerprint is None else kept_file(kind, fingerprint)
    if path is not None and path.exists():
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            return load(path.read_text())
    value = compute()
    if path is not None:
        with contextlib.suppress(OSError):
            write_atomic(path, dump(value))
    return value


def _duckdb() -> Any:
    con = ibis.duckdb.connect()
    con.raw_sql("SET TimeZone='UTC'")
    return con


def _view(con: Any, name: str, path: Path | None) -> ir.Table | None:
    if path is None:
        return None
    con.raw_sql(view_sql(name, path))
    return con.table(name)


def key_range(table: ir.Table, keys: ir.Column, column: str = "order_id") -> ir.Table:
    """``table``'s rows whose ``column`` lies between the least and the greatest of ``keys``.

    Put before a join of ``table`` on ``column`` with the rows holding ``keys``,
    it changes no result (a row that joins has a key in that range; empty or
    all-null ``keys`` join nothing and keep nothing), but the engine reads the
    two bounds first and skips the files and row groups whose statistics lie
    outside them. Order ids of one market and period are usually close
    (exports are written in time order, ids are mostly time-ordered), so the
    cancellations and contacts of other markets and months are not read at
    all; on ids without that order the range covers everything and only a
    small aggregate is spent.
    """
    col = table[column]
    return table.filter(col >= keys.min(), col <= keys.max())


def load_source(spec: Any) -> Source:
    """Open a data source (directory, engine URL, DataFrames or Ibis backend).

    >>> import pandas as pd
    >>> src = load_source({name: pd.DataFrame() for name in
    ...                    ("orders", "cancellations", "contacts", "feedback")})
    >>> sorted(name for name, table in src.raw.items() if table is not None)
    ['cancellations', 'contacts', 'feedback', 'orders']
    >>> src.raw["assignments"] is None  # the optional table of A/B tests, absent
    True
    """
    if isinstance(spec, Source):
        return spec
    if isinstance(spec, Mapping):
        con = _duckdb()
        raw: dict[str, ir.Table | None] = {}
        for name in TABLES:
            df = spec.get(name)
            raw[name] = None if df is None else ibis.memtable(df)
        return Source(con, raw, "pandas DataFrames")
    if isinstance(spec, ibis.BaseBackend):
        return _from_backend(spec, f"{spec.name} connection")
    text = str(spec)
    if "://" in text:
        try:
            con = ibis.connect(text)
        except Exception as exc:  # engine-specific errors: report them as input errors
            raise InputError(f"cannot connect to data source {text}: {exc}") from exc
        return _from_backend(con, text)
    root = Path(text)
    if not root.is_dir():
        raise InputError(f"data source {text} is not a directory or an engine URL")
    files = table_files(root)
    con = _duckdb()
    raw = {name: _view(con, name, files[name]) for name in TABLES}
    return Source(con, raw, str(root), fingerprint(files))


def _from_backend(con: Any, description: str) -> Source:
    if con.name == "duckdb":
        con.raw_sql("SET TimeZone='UTC'")
    present = set(con.list_tables())
    raw = {name: con.table(name) if name in present else None for name in TABLES}
    return Source(con, raw, description)
