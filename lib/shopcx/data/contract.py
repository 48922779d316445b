"""The data contract: the four tables (and optional ``assignments``), their rules, validation.

Everything here is expressed as Ibis expressions, so validation runs inside the
engine (DuckDB by default) as a handful of aggregate queries; no table is
loaded into pandas.

``normalize_table`` turns a table as found (CSV strings, integer IDs,
timezone-aware timestamps ...) into the contract's types: IDs and enums as
strings, timestamps as naive UTC, ``rating``/``csat`` as integers.
``validate_source`` returns a :class:`ValidationReport` with one
:class:`Finding` per broken rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import pandas as pd

from shopcx.data.report import Finding, ValidationReport

__all__ = [
    "CANCEL_CONTACT_REASONS",
    "CANCEL_REASONS",
    "REQUIRED_TABLES",
    "TABLES",
    "Column",
    "TableSpec",
    "check_schema",
    "count_market_warnings",
    "normalize_table",
    "validate_source",
]

ColumnType = Literal["string", "float", "int", "bool", "timestamp"]


@dataclass(frozen=True)
class Column:
    """One contract column: its type, whether nulls are allowed, its closed value list."""

    name: str
    type: ColumnType
    nullable: bool = False
    values: tuple[str, ...] | None = None
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True)
class TableSpec:
    """One contract table: its unique key and its columns in contract order."""

    name: str
    key: str
    columns: tuple[Column, ...]
    optional: bool = False  # a missing table turns its feature off instead of an error
    unique: tuple[str, ...] = ()  # the columns no two rows share (default: the key)

    @property
    def unique_key(self) -> tuple[str, ...]:
        return self.unique or (self.key,)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


CANCEL_REASONS: dict[str, tuple[str, ...]] = {
    "buyer": (
        "changed_mind", "better_price", "ordered_by_mistake", "delivery_too_slow",
        "payment_issue", "address_change", "duplicate_order", "other",
    ),
    "seller": ("out_of_stock", "pricing_error", "cannot_ship", "suspected_fraud", "other"),
    "system": (
        "unpaid_timeout", "ship_deadline_missed", "logistics_failure", "risk_control", "other",
    ),
}
CANCEL_REASONS["platform"] = CANCEL_REASONS["buyer"]
ALL_CANCEL_REASONS = tuple(sorted({r for rs in CANCEL_REASONS.values() for r in rs}))

CANCEL_CONTACT_REASONS = ("cancel_request", "cancel_status", "refund_status")

TABLES: dict[str, TableSpec] = {
    "orders": TableSpec("orders", "order_id", (
        Column("order_id", "string"),
        Column("market", "string"),
        Column("buyer_id", "string"),
        Column("seller_id", "string"),
        Column("category", "string"),
        Column("sales_channel", "string",
               values=("livestream", "short_video", "shop_tab", "search", "other")),
        Column("fulfillment", "string", values=("seller_shipped", "platform_fulfilled")),
        Column("payment_method", "string",
               values=("card", "wallet", "cod", "bnpl", "bank_transfer", "other")),
        Column("carrier", "string", nullable=True),
        Column("gmv_usd", "float", low=0),
        Column("created_at", "timestamp"),
        Column("paid_at", "timestamp", nullable=True),
        Column("shipped_at", "timestamp", nullable=True),
        Column("delivered_at", "timestamp", nullable=True),
    )),
    "cancellations": TableSpec("cancellations", "request_id", (
        Column("request_id", "string"),
        Column("order_id", "string"),
        Column("initiator", "string", values=("buyer", "seller", "system", "platform")),
        Column("reason", "string", values=ALL_CANCEL_REASONS),
        Column("requested_at", "timestamp"),
        Column("outcome", "string", values=("approved", "rejected", "withdrawn", "pending")),
        Column("resolved_at", "timestamp", nullable=True),
        Column("auto_resolved", "bool"),
    )),
    "contacts": TableSpec("contacts", "contact_id", (
        Column("contact_id", "string"),
        Column("market", "string"),
        Column("buyer_id", "string"),
        Column("order_id", "string", nullable=True),
        Column("created_at", "timestamp"),
        Column("channel", "string", values=("bot", "chat", "email", "phone")),
        Column("reason", "string", values=(
            "cancel_request", "cancel_status", "refund_status", "where_is_my_order",
            "delivery_issue", "return_request", "payment_issue", "product_question",
            "account_issue", "other",
        )),
        Column("handle_time_s", "float", nullable=True, low=0),
        Column("escalated", "bool"),
        Column("csat", "int", nullable=True, low=1, high=5),
    )),
    "feedback": TableSpec("feedback", "feedback_id", (
        Column("feedback_id", "string"),
        Column("market", "string"),
        Column("order_id", "string", nullable=True),
        Column("buyer_id", "string", nullable=True),
        Column("created_at", "timestamp"),
        Column("source", "string", values=(
            "order_review", "cancellation_survey", "contact_survey", "app_review", "social",
        )),
        Column("rating", "int", nullable=True, low=1, high=5),
        Column("text", "string", nullable=True),
        Column("language", "string", nullable=True),
    )),
    "assignments": TableSpec("assignments", "unit_id", (
        Column("experiment", "string"),
        Column("variant", "string"),
        Column("unit_type", "string", values=("buyer", "order")),
        Column("unit_id", "string"),
        Column("assigned_at", "timestamp"),
    ), optional=True, unique=("experiment", "unit_id")),
}
REQUIRED_TABLES = tuple(name for name, spec in TABLES.items() if not spec.optional)
"""The four tables every source has; ``assignments`` (A/B tests) is optional."""

_IBIS_TYPE = {
    "string": dt.string,
    "float": dt.float64,
    "int": dt.int64,
    "bool": dt.boolean,
    "timestamp": dt.Timestamp(),
}


# --------------------------------------------------------------------------- schema


def _raw_kind(dtype: dt.DataType) -> str:
    if dtype.is_string():
        return "string"
    if dtype.is_boolean():
        return "bool"
    if dtype.is_integer():
        return "int"
    if dtype.is_floating() or dtype.is_decimal():
        return "float"
    if dtype.is_timestamp() or dtype.is_date():
        return "timestamp"
    if dtype.is_null():
        return "null"
    return str(dtype)


_COMPATIBLE = {
    # expected type -> raw kinds that are cast without row-level checking
    "string": {"string", "int", "null"},
    "float": {"float", "int", "null"},
    "int": {"int", "null"},
    "bool": {"bool", "null"},
    "timestamp": {"timestamp", "null"},
}
# raw kinds that are cast row by row; a row that does not convert is a type error
_CASTABLE = {
    "float": {"string"},
    "int": {"string", "float"},
    "bool": {"string", "int"},
    "timestamp": {"string"},
}


def check_schema(raw: dict[str, ir.Table | None]) -> list[Finding]:
    """Errors for missing tables, missing columns and columns of an impossible type."""
    out: list[Finding] = []
    for name, spec in TABLES.items():
        table = raw.get(name)
        if table is None and spec.optional:
            continue
        if table is None:
            out.append(Finding("error", name, None, "table-missing",
                               "table is missing from the data source", 0))
            continue
        schema = table.schema()
        for col in spec.columns:
            if col.name not in schema:
                out.append(Finding("error", name, col.name, "column-missing",
                                   "required column is missing", 0))
                continue
            kind = _raw_kind(schema[col.name])
            if kind not in _COMPATIBLE[col.type] | _CASTABLE.get(col.type, set()):
                out.append(Finding("error", name, col.name, "type",
                                   f"column has type {schema[col.name]}, expected {col.type}",
                                   0))
    return out


@ibis.udf.scalar.builtin(name="epoch_us")
def _epoch_us(ts: dt.Timestamp(timezone="UTC")) -> dt.int64:  # type: ignore[valid-type]
    """DuckDB: microseconds since the epoch of a timezone-aware timestamp."""


@ibis.udf.scalar.builtin(name="make_timestamp")
def _make_timestamp(us: dt.int64) -> dt.Timestamp():  # type: ignore[valid-type]
    """DuckDB: the naive timestamp ``us`` microseconds after the epoch."""


def _on_duckdb(value: ir.Expr) -> bool:
    try:
        return value._find_backend().name == "duckdb"
    except Exception:  # unbound expression (e.g. a pandas memtable): the default engine
        return ibis.get_backend().name == "duckdb"


def _converted(col: Column, value: ir.Column) -> ir.Column:
    """The raw column cast to the contract type; rows that do not convert become null."""
    kind = _raw_kind(value.type())
    if col.type == "timestamp":
        if kind == "string":
            value = value.try_cast(dt.Timestamp(timezone="UTC"))
        elif value.type().is_timestamp() and value.type().timezone and _on_duckdb(value):
            # same instant as naive UTC; several times faster than DuckDB's cast
            # (which converts through the ICU calendar) and keeps filters cheap
            return _make_timestamp(_epoch_us(value))
        return value.cast(dt.Timestamp())  # timezone-aware -> UTC wall time (session is UTC)
    if col.type == "int" and kind in ("string", "float"):
        as_float = value.try_cast(dt.float64) if kind == "string" else value.cast(dt.float64)
        whole = as_float == as_float.round(0)
        return ibis.ifelse(whole, as_float, ibis.null()).cast(dt.int64)
    if col.type == "bool" and kind == "int":
        return ibis.cases((value == 1, True), (value == 0, False), else_=ibis.null()).cast(
            dt.boolean)
    if kind == "string" and col.type != "string":
        return value.try_cast(_IBIS_TYPE[col.type])
    if col.type == "string" and kind == "string":
        return value
    return value.cast(_IBIS_TYPE[col.type])


def normalize_table(name: str, raw: ir.Table) -> ir.Table:
    """Select the contract columns of ``raw`` in contract types (extra columns dropped).

    Timestamps come out as naive UTC; values that do not convert become null
    (``validate_source`` reports them as type errors).
    """
    return raw.select(**_converted_columns(name, raw))


def _converted_columns(name: str, raw: ir.Table) -> dict[str, ir.Column]:
    return {c.name: _converted(c, raw[c.name]) for c in TABLES[name].columns}


# --------------------------------------------------------------------------- validation

Check = tuple[Finding, Any, Any]  # (template finding, condition, offending value)


def _row_checks(name: str, raw: ir.Table, norm: ir.Table) -> list[Check]:
    spec = TABLES[name]
    checks: list[Check] = []

    def add(severity: str, column: str | None, rule: str, message: str,
            cond: ir.BooleanValue, value: ir.Value | None = None) -> None:
        checks.append((Finding(severity, name, column, rule, message, 0), cond, value))

    for col in spec.columns:
        r, n = raw[col.name], norm[col.name]
        if not col.nullable:
            add("error", col.name, "not-null", "null in a non-null column", r.isnull())
        if _raw_kind(r.type()) != col.type or col.type == "timestamp":
            add("error", col.name, "type", f"value is not a valid {col.type}",
                r.notnull() & n.isnull(), r.cast(dt.string))
        if col.values is not None:
            add("error", col.name, "allowed-values",
                f"value outside the allowed list ({', '.join(col.values)})",
                n.notnull() & ~n.isin(col.values), n)
        if col.low is not None:
            add("error", col.name, "range",
                f"value below {col.low:g}" if col.high is None
                else f"value outside {col.low:g}..{col.high:g}",
                (n < col.low) | (n > col.high) if col.high is not None else n < col.low, n)
    if "market" in spec.names:
        m = norm.market
        add("error", "market", "market-code", "market is not an upper-case ISO alpha-2 code",
            m.notnull() & ~m.re_search(r"^[A-Z]{2}$"), m)

    if name == "orders":
        for later, earlier, label in (("paid_at", "created_at", "paid before created"),
                                      ("shipped_at", "paid_at", "shipped before paid"),
                                      ("delivered_at", "shipped_at", "delivered before shipped")):
            add("warning", later, "timestamp-order", label,
                norm[later] < norm[earlier], norm[later].cast(dt.string))
    if name == "cancellations":
        init, reason = norm.initiator, norm.reason
        wrong = ibis.or_(*[(init == k) & ~reason.isin(v) for k, v in CANCEL_REASONS.items()])
        add("error", "reason", "reason-for-initiator",
            "reason is not allowed for its initiator", wrong & reason.isin(ALL_CANCEL_REASONS),
            init.concat(":", reason))
        out = norm.outcome
        add("error", "resolved_at", "pending-resolved",
            "outcome is pending but resolved_at is set",
            (out == "pending") & raw.resolved_at.notnull(), out)
        add("error", "resolved_at", "resolved-missing",
            "outcome is not pending but resolved_at is null",
            out.isin(("approved", "rejected", "withdrawn")) & raw.resolved_at.isnull(), out)
        add("warning", "resolved_at", "timestamp-order", "resolved before requested",
            norm.resolved_at < norm.requested_at, norm.resolved_at.cast(dt.string))
    return checks


def _run_checks(source: Any, table: ir.Table, key: str, checks: list[Check],
                extra: dict[str, Any] | None = None) -> tuple[list[Finding], dict[str, Any]]:
    """Evaluate many checks on one table; return findings with rows > 0.

    One aggregate query counts the rows breaking each rule; a second one, only
    when something failed, picks an example key (and value) per failing rule.
    """
    aggs: dict[str, Any] = dict(extra or {})
    conds = [cond.fill_null(False) for _, cond, _ in checks]
    for i, cond in enumerate(conds):
        aggs[f"n{i}"] = cond.sum()
    row = source.execute(table.aggregate(**aggs)).iloc[0]
    failing = [i for i in range(len(checks)) if int(row[f"n{i}"] or 0)]
    examples: dict[str, Any] = {}
    if failing:
        ex: dict[str, Any] = {}
        for i in failing:
            ex[f"k{i}"] = table[key].cast(dt.string).min(where=conds[i])
            value = checks[i][2]
            if value is not None:
                ex[f"v{i}"] = value.cast(dt.string).argmin(table[key], where=conds[i])
        examples = source.execute(table.aggregate(**ex)).iloc[0].to_dict()
    found = []
    for i in failing:
        tmpl = checks[i][0]
        example = f"{key}={examples[f'k{i}']}"
        value = examples.get(f"v{i}")
        if value is not None and not pd.isna(value):
            example += f" (value {value!r})"
        found.append(Finding(tmpl.severity, tmpl.table, tmpl.column, tmpl.rule, tmpl.message,
                             int(row[f"n{i}"]), example))
    return found, {k: row[k] for k in (extra or {})}


def validate_source(source: Any) -> ValidationReport:
    """Check a data source against the contract.

    ``source`` is a :class:`shopcx.data.sources.Source`. Returns a report of row
    counts and findings; errors mean the numbers cannot be trusted.
    """
    report = ValidationReport()
    report.findings.extend(check_schema(source.raw))
    broken = {f.table for f in report.errors}
    norms: dict[str, ir.Table] = {}
    for name, spec in TABLES.items():
        if name in broken or source.raw.get(name) is None:
            continue
        raw = source.raw[name]
        norm = normalize_table(name, raw)
        norms[name] = norm
        # one query: the raw and the normalized columns side by side
        both = raw.select(*[raw[c].name(f"raw__{c}") for c in spec.names],
                          **_converted_columns(name, raw))
        checks = _row_checks(name, _Proxy(both, "raw__"), _Proxy(both, ""))
        found, extra = _run_checks(source, both, spec.key, checks, {"__rows": both.count()})
        report.rows[name] = int(extra["__rows"])
        report.findings.extend(found)
        unique = list(spec.unique_key)
        dup = (norm.group_by(unique).aggregate(n=norm.count())
               .filter(lambda t: t.n > 1))
        label = ibis.literal("").concat(*[
            ibis.literal(f"{'; ' if i else ''}{c}=").concat(dup[c].cast(dt.string))
            for i, c in enumerate(unique)])
        drow = source.execute(dup.aggregate(rows=dup.n.sum(), keys=dup.count(),
                                            example=label.min())).iloc[0]
        if int(drow["keys"] or 0):
            message = ("duplicate key" if len(unique) == 1 else
                       "duplicate key: a unit assigned more than once in one experiment")
            report.findings.append(Finding(
                "error", name, spec.key if len(unique) == 1 else ",".join(unique),
                "unique-key", message, int(drow["rows"]), str(drow["example"])))
    report.findings.extend(_relational_checks(source, norms))
    return report


class _Proxy:
    """Column access by contract name on a side-by-side table (raw columns prefixed)."""

    def __init__(self, table: ir.Table, prefix: str) -> None:
        self._t, self._p = table, prefix

    def __getitem__(self, name: str) -> ir.Column:
        return self._t[self._p + name]

    def __getattr__(self, name: str) -> ir.Column:
        return self._t[self._p + name]


def _assignment_checks(source: Any, a: ir.Table | None, order_ids: ir.Table) -> list[Finding]:
    """Rules across an experiment's rows: one unit type, two variants or more, known orders."""
    if a is None:
        return []
    out: list[Finding] = []
    per = a.group_by("experiment").aggregate(types=a.unit_type.nunique(),
                                             variants=a.variant.nunique())
    for column, cond, rule, severity, message in (
            ("unit_type", per.types > 1, "one-unit-type", "error",
             "an experiment mixes buyer and order units (randomise one kind of unit)"),
            ("variant", per.variants < 2, "two-variants", "warning",
             "an experiment with a single variant has nothing to compare (not analysed)")):
        bad = per.filter(cond)
        row = source.execute(bad.aggregate(n=bad.count(), example=bad.experiment.min())).iloc[0]
        if int(row["n"]):
            out.append(Finding(severity, "assignments", column, rule, message, int(row["n"]),
                               f"experiment={row['example']}"))
    orphans = a.filter(a.unit_type == "order").anti_join(
        order_ids.rename(unit_id="order_id"), "unit_id")
    row = source.execute(orphans.aggregate(n=orphans.count(),
                                           example=orphans.unit_id.min())).iloc[0]
    if int(row["n"]):
        out.append(Finding("warning", "assignments", "unit_id", "unknown-order",
                           "an order unit not found in orders (counted in the sample-ratio "
                           "check, no outcomes)", int(row["n"]), f"unit_id={row['example']}"))
    return out


def _relational_checks(source: Any, norms: dict[str, ir.Table]) -> list[Finding]:
    out: list[Finding] = []
    orders = norms.get("orders")
    if orders is None:
        return out
    ids = orders.select("order_id")
    for name in ("cancellations", "contacts"):
        t = norms.get(name)
        if t is None:
            continue
        key = TABLES[name].key
        orphans = t.filter(t.order_id.notnull()).anti_join(ids, "order_id")
        row = source.execute(orphans.aggregate(n=orphans.count(),
                                               example=orphans[key].min())).iloc[0]
        if int(row["n"]):
            out.append(Finding("warning", name, "order_id", "unknown-order",
                               "order_id not found in orders (excluded from order-linked "
                               "metrics)", int(row["n"]), f"{key}={row['example']}"))
    out.extend(_assignment_checks(source, norms.get("assignments"), ids))
    c = norms.get("cancellations")
    if c is not None:
        j = c.join(orders.select("order_id", "delivered_at"), "order_id")
        late = j.filter(j.delivered_at.notnull() & (j.requested_at >= j.delivered_at))
        row = source.execute(late.aggregate(n=late.count(),
                                            example=late.request_id.min())).iloc[0]
        if int(row["n"]):
            out.append(Finding("warning", "cancellations", "requested_at", "after-delivery",
                               "cancellation requested at or after delivery", int(row["n"]),
                               f"request_id={row['example']}"))
    return out



def count_market_warnings(source: Any, market: str) -> pd.DataFrame:
    """The contract's warnings counted for one market (rows involving its orders).

    Cancellations and contacts with an unknown order are counted for the
    market only where the row says its market (contacts); cancellations carry
    no market, so those appear with ``market_known = False`` and the
    source-wide count. Columns: ``table``, ``column``, ``rule``, ``message``,
    ``rows``, ``market_known``.
    """
    report = source.validate()
    t = source.tables
    o = t["orders"].filter(t["orders"].market == market)
    rows: list[dict[str, Any]] = []

    def add(table: str, column: str, rule: str, message: str, n: Any, known: bool = True) -> None:
        if int(n or 0):
            rows.append({"table": table, "column": column, "rule": rule, "message": message,
                         "rows": int(n), "market_known": known})

    counts = source.execute(o.aggregate(
        paid=(o.paid_at < o.created_at).sum(), shipped=(o.shipped_at < o.paid_at).sum(),
        delivered=(o.delivered_at < o.shipped_at).sum())).iloc[0]
    add("orders", "paid_at", "timestamp-order", "paid before created", counts["paid"])
    add("orders", "shipped_at", "timestamp-order", "shipped before paid", counts["shipped"])
    add("orders", "delivered_at", "timestamp-order", "delivered before shipped",
        counts["delivered"])
    c = t["cancellations"].join(o.select("order_id", "delivered_at"), "order_id")
    counts = source.execute(c.aggregate(
        resolved=(c.resolved_at < c.requested_at).sum(),
        after=(c.delivered_at.notnull() & (c.requested_at >= c.delivered_at)).sum())).iloc[0]
    add("cancellations", "resolved_at", "timestamp-order", "resolved before requested",
        counts["resolved"])
    add("cancellations", "requested_at", "after-delivery",
        "cancellation requested at or after delivery", counts["after"])
    contacts = t["contacts"].filter(t["contacts"].market == market,
                                    t["contacts"].order_id.notnull())
    orphans = contacts.anti_join(t["orders"].select("order_id"), "order_id")
    add("contacts", "order_id", "unknown-order", "order_id not found in orders",
        source.execute(orphans.count()))
    for f in report.warnings:
        if f.table == "cancellations" and f.rule == "unknown-order":
            add("cancellations", "order_id", "unknown-order",
                "order_id not found in orders (all markets: cancellations carry no market)",
                f.rows, known=False)
    return pd.DataFrame(rows, columns=["table", "column", "rule", "message", "rows",
                                       "market_known"])
