"""Every rule of the data contract, fed to ``shopcx kpis`` as a violating file.

Errors must stop the command with exit status 2 and a line naming the table,
the column, the rule, the row count and an example key; warnings let it run
(exit 0) and are printed to stderr.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from shopcx.cli import main
from shopcx.data.contract import ValidationReport
from shopcx.data.sources import load_source

from .conftest import PERIOD, tiny_tables, write_tables

Tables = dict[str, pd.DataFrame]


def run_kpis(folder: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["kpis", "--data", str(folder), "--market", "US", "--start", PERIOD[0],
                 "--end", PERIOD[1], "--format", "json"])
    out, err = capsys.readouterr()
    return code, out, err


def _set(table: str, key: str, column: str, value: object) -> Callable[[Tables], None]:
    def change(t: Tables) -> None:
        df = t[table]
        if df[column].dtype != object:
            df[column] = df[column].astype(object)
        df.loc[df[df.columns[0]] == key, column] = value
    return change


def _drop_column(table: str, column: str) -> Callable[[Tables], None]:
    def change(t: Tables) -> None:
        t[table] = t[table].drop(columns=column)
    return change


def _duplicate(table: str) -> Callable[[Tables], None]:
    def change(t: Tables) -> None:
        t[table] = pd.concat([t[table], t[table].iloc[[0]]], ignore_index=True)
    return change


# (case id, change, expected "table.column" in the message, rule id, example key)
ERRORS = [
    ("null-order-id", _set("orders", "O3", "buyer_id", None), "orders.buyer_id", "not-null",
     "order_id=O3"),
    ("null-requested", _set("cancellations", "R2", "requested_at", None),
     "cancellations.requested_at", "not-null", "request_id=R2"),
    ("gmv-text", _set("orders", "O2", "gmv_usd", "twenty"), "orders.gmv_usd", "type",
     "order_id=O2"),
    ("created-text", _set("orders", "O4", "created_at", "yesterday"), "orders.created_at",
     "type", "order_id=O4"),
    ("bool-text", _set("cancellations", "R3", "auto_resolved", "maybe"),
     "cancellations.auto_resolved", "type", "request_id=R3"),
    ("csat-fraction", _set("contacts", "C1", "csat", 4.5), "contacts.csat", "type",
     "contact_id=C1"),
    ("duplicate-order", _duplicate("orders"), "orders.order_id", "unique-key", "order_id=O1"),
    ("duplicate-contact", _duplicate("contacts"), "contacts.contact_id", "unique-key",
     "contact_id=C1"),
    ("duplicate-feedback", _duplicate("feedback"), "feedback.feedback_id", "unique-key",
     "feedback_id=FB1"),
    ("channel-enum", _set("orders", "O1", "sales_channel", "tv"), "orders.sales_channel",
     "allowed-values", "order_id=O1"),
    ("payment-enum", _set("orders", "O2", "payment_method", "Cash"), "orders.payment_method",
     "allowed-values", "order_id=O2"),
    ("fulfillment-enum", _set("orders", "O2", "fulfillment", "dropship"), "orders.fulfillment",
     "allowed-values", "order_id=O2"),
    ("initiator-enum", _set("cancellations", "R1", "initiator", "agent"),
     "cancellations.initiator", "allowed-values", "request_id=R1"),
    ("outcome-enum", _set("cancellations", "R1", "outcome", "done"), "cancellations.outcome",
     "allowed-values", "request_id=R1"),
    ("reason-enum", _set("cancellations", "R1", "reason", "bored"), "cancellations.reason",
     "allowed-values", "request_id=R1"),
    ("contact-channel", _set("contacts", "C2", "channel", "fax"), "contacts.channel",
     "allowed-values", "contact_id=C2"),
    ("contact-reason", _set("contacts", "C2", "reason", "complaint"), "contacts.reason",
     "allowed-values", "contact_id=C2"),
    ("feedback-source", _set("feedback", "FB1", "source", "email"), "feedback.source",
     "allowed-values", "feedback_id=FB1"),
    ("reason-for-initiator", _set("cancellations", "R5", "reason", "changed_mind"),
     "cancellations.reason", "reason-for-initiator", "request_id=R5"),
    ("system-reason", _set("cancellations", "R7", "reason", "out_of_stock"),
     "cancellations.reason", "reason-for-initiator", "request_id=R7"),
    ("rating-high", _set("feedback", "FB1", "rating", 6), "feedback.rating", "range",
     "feedback_id=FB1"),
    ("csat-low", _set("contacts", "C1", "csat", 0), "contacts.csat", "range", "contact_id=C1"),
    ("gmv-negative", _set("orders", "O2", "gmv_usd", -1.5), "orders.gmv_usd", "range",
     "order_id=O2"),
    ("pending-resolved", _set("cancellations", "R8", "resolved_at", "2026-10-03T00:00:00"),
     "cancellations.resolved_at", "pending-resolved", "request_id=R8"),
    ("approved-unresolved", _set("cancellations", "R4", "resolved_at", None),
     "cancellations.resolved_at", "resolved-missing", "request_id=R4"),
    ("market-lowercase", _set("orders", "O9", "market", "us"), "orders.market", "market-code",
     "order_id=O9"),
    ("missing-column", _drop_column("orders", "gmv_usd"), "orders.gmv_usd", "column-missing",
     None),
    ("missing-column-contacts", _drop_column("contacts", "escalated"), "contacts.escalated",
     "column-missing", None),
]


@pytest.mark.parametrize(("case", "change", "where", "rule", "example"), ERRORS,
                         ids=[e[0] for e in ERRORS])
def test_error_rule_stops_kpis(tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str,
                               change: Callable[[Tables], None], where: str, rule: str,
                               example: str | None) -> None:
    tables = tiny_tables()
    change(tables)
    code, out, err = run_kpis(write_tables(tables, tmp_path, "csv"), capsys)
    assert code == 2
    assert out == ""
    line = next((ln for ln in err.splitlines() if where in ln and f"[{rule}]" in ln), None)
    assert line is not None, err
    assert line.startswith("error: ")
    if example:
        assert f"e.g. {example}" in line
        assert " 1 row" in line or " 2 rows" in line
    assert "Traceback" not in err


def test_missing_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = write_tables(tiny_tables(), tmp_path, "csv")
    (folder / "feedback.csv").unlink()
    code, _, err = run_kpis(folder, capsys)
    assert code == 2
    assert "error: feedback: table is missing" in err


def test_wrong_column_type_in_parquet(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tables = tiny_tables()
    tables["orders"]["created_at"] = np.arange(len(tables["orders"]))  # integers, not times
    code, _, err = run_kpis(write_tables(tables, tmp_path, "parquet"), capsys)
    assert code == 2
    assert "orders.created_at: column has type int64, expected timestamp [type]" in err


def test_empty_feedback_and_contacts_are_allowed(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    tables = tiny_tables()
    tables["feedback"] = tables["feedback"].iloc[0:0]
    tables["contacts"] = tables["contacts"].iloc[0:0]
    code, out, _ = run_kpis(write_tables(tables, tmp_path, "csv"), capsys)
    assert code == 0
    assert '"contacts": {\n      "value": 0' in out


WARNINGS = [
    ("orphan-cancellation", None, "cancellations.order_id", "unknown-order", "request_id=R11"),
    ("orphan-contact", None, "contacts.order_id", "unknown-order", "contact_id=C12"),
    ("after-delivery", None, "cancellations.requested_at", "after-delivery", "request_id=R2"),
    ("paid-before-created", _set("orders", "O3", "paid_at", "2026-10-02T00:00:00"),
     "orders.paid_at", "timestamp-order", "order_id=O3"),
    ("shipped-before-paid", _set("orders", "O3", "shipped_at", "2026-10-03T00:30:00"),
     "orders.shipped_at", "timestamp-order", "order_id=O3"),
    ("delivered-before-shipped", _set("orders", "O1", "delivered_at", "2026-10-01T12:00:00"),
     "orders.delivered_at", "timestamp-order", "order_id=O1"),
    ("resolved-before-requested", _set("cancellations", "R1", "resolved_at",
                                       "2026-10-01T11:00:00"),
     "cancellations.resolved_at", "timestamp-order", "request_id=R1"),
]


@pytest.mark.parametrize(("case", "change", "where", "rule", "example"), WARNINGS,
                         ids=[w[0] for w in WARNINGS])
def test_warning_rule_lets_kpis_run(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                    case: str, change: Callable[[Tables], None] | None,
                                    where: str, rule: str, example: str) -> None:
    tables = tiny_tables()
    if change:
        change(tables)
    code, out, err = run_kpis(write_tables(tables, tmp_path, "csv"), capsys)
    assert code == 0, err
    assert out.startswith("{")
    line = next((ln for ln in err.splitlines() if where in ln and f"[{rule}]" in ln), None)
    assert line is not None, err
    assert line.startswith("warning: ") and f"e.g. {example}" in line


def test_clean_fixture_has_exactly_the_planted_warnings(tiny: dict) -> None:
    report = load_source(tiny).validate()
    assert report.ok
    assert report.rows == {"orders": 9, "cancellations": 12, "contacts": 12, "feedback": 6}
    assert sorted((f.table, f.rule, f.rows) for f in report.warnings) == [
        ("cancellations", "after-delivery", 1),   # R2 at exactly delivered_at
        ("cancellations", "unknown-order", 1),    # R11
        ("contacts", "unknown-order", 1),         # C12
    ]


def test_report_round_trips_through_json(tiny: dict) -> None:
    report = load_source(tiny).validate()
    again = ValidationReport.from_json(report.to_json())
    assert again.rows == report.rows and again.findings == report.findings


def _assignments() -> pd.DataFrame:
    """Two buyers of the tiny fixture in an A/B test, and one order in another."""
    return pd.DataFrame({
        "experiment": ["X1", "X1", "X2", "X2"],
        "variant": ["control", "treatment", "control", "treatment"],
        "unit_type": ["buyer", "buyer", "order", "order"],
        "unit_id": ["B1", "B2", "O1", "O2"],
        "assigned_at": pd.to_datetime(["2026-10-01", "2026-10-01", "2026-10-01",
                                       "2026-10-01"]),
    })


ASSIGNMENT_ERRORS = [
    ("unit-type", _set("assignments", "X1", "unit_type", "session"), "assignments.unit_type",
     "allowed-values", "unit_id=B1"),
    ("null-variant", _set("assignments", "X2", "variant", None), "assignments.variant",
     "not-null", "unit_id=O1"),
    ("assigned-twice", _duplicate("assignments"), "assignments.experiment,unit_id", "unique-key",
     "experiment=X1; unit_id=B1"),
    ("mixed-units", lambda t: t["assignments"].loc.__setitem__((3, "unit_type"), "buyer"),
     "assignments.unit_type", "one-unit-type", None),
    ("no-time", _drop_column("assignments", "assigned_at"), "assignments.assigned_at",
     "column-missing", None),
]


@pytest.mark.parametrize(("case", "change", "where", "rule", "example"), ASSIGNMENT_ERRORS,
                         ids=[e[0] for e in ASSIGNMENT_ERRORS])
def test_assignments_error_rules(tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str,
                                 change: Callable[[Tables], None], where: str, rule: str,
                                 example: str | None) -> None:
    tables = {**tiny_tables(), "assignments": _assignments()}
    change(tables)
    code, out, err = run_kpis(write_tables(tables, tmp_path, "csv"), capsys)
    assert code == 2, err
    line = next((ln for ln in err.splitlines() if where in ln and f"[{rule}]" in ln), None)
    assert line is not None, err
    if example:
        assert f"e.g. {example}" in line


def test_assignments_are_optional_and_checked(tmp_path: Path) -> None:
    tables = {**tiny_tables(), "assignments": _assignments()}
    assert load_source(tiny_tables()).validate().rows.get("assignments") is None  # feature off
    tables["assignments"].loc[3, "unit_id"] = "O99"   # an order the orders table lacks
    tables["assignments"].loc[len(tables["assignments"])] = [
        "X3", "control", "buyer", "B1", pd.Timestamp("2026-10-02")]  # one variant only
    report = load_source(write_tables(tables, tmp_path, "parquet")).validate()
    assert report.ok and report.rows["assignments"] == 5
    assert sorted((f.table, f.rule, f.rows, f.example) for f in report.warnings
                  if f.table == "assignments") == [
        ("assignments", "two-variants", 1, "experiment=X3"),
        ("assignments", "unknown-order", 1, "unit_id=O99")]
