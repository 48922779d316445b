"""Shared fixtures: a tiny hand-made dataset whose KPIs are worked out by hand.

The dataset ("tiny") is built in code so every row carries a comment saying
which rule it exercises. Expected values live in tests/test_metrics.py next
to the arithmetic that produces them.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

T = pd.Timestamp

PERIOD = ("2026-10-01", "2026-11-01")  # the period every tiny-fixture test uses


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Keep validation caches of the tests out of the user's home."""
    mp = pytest.MonkeyPatch()
    mp.setenv("SHOPCX_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    yield
    mp.undo()


def _orders() -> pd.DataFrame:
    cols = ["order_id", "market", "buyer_id", "seller_id", "category", "sales_channel",
            "fulfillment", "payment_method", "carrier", "gmv_usd", "created_at", "paid_at",
            "shipped_at", "delivered_at"]
    rows = [
        # O1: exactly at the period start (in), delivered; a rejected request then a
        # rejected request made exactly at delivery (stage `delivered`)
        ("O1", "US", "B1", "S1", "Beauty", "livestream", "seller_shipped", "card", "UPS", 10.0,
         T("2026-10-01 00:00:00"), T("2026-10-01 00:10"), T("2026-10-02"), T("2026-10-05")),
        # O2: COD never confirmed, cancelled by the system while unpaid
        ("O2", "US", "B2", "S1", "Beauty", "short_video", "seller_shipped", "cod", None, 20.0,
         T("2026-10-02"), None, None, None),
        # O3: a rejected request while unpaid, then an approved one made exactly at shipping
        ("O3", "US", "B3", "S2", "Home", "livestream", "platform_fulfilled", "card", "FedEx",
         30.0, T("2026-10-03"), T("2026-10-03 01:00"), T("2026-10-04"), None),
        # O4: a seller and a system cancellation at the same instant (tie -> smaller request_id)
        ("O4", "US", "B4", "S2", "Home", "search", "seller_shipped", "wallet", None, 40.0,
         T("2026-10-04"), T("2026-10-04 00:05"), None, None),
        # O5: one second before the period end (in); its request comes after the period
        ("O5", "US", "B5", "S3", "Beauty", "livestream", "seller_shipped", "card", None, 50.0,
         T("2026-10-31 23:59:59"), None, None, None),
        # O6: exactly at the period end (out)
        ("O6", "US", "B6", "S3", "Beauty", "livestream", "seller_shipped", "card", None, 60.0,
         T("2026-11-01 00:00:00"), None, None, None),
        # O7: another market (out)
        ("O7", "GB", "B7", "S4", "Beauty", "livestream", "seller_shipped", "card", None, 70.0,
         T("2026-10-10"), None, None, None),
        # O8: one second before the period start (out)
        ("O8", "US", "B8", "S3", "Beauty", "livestream", "seller_shipped", "card", None, 80.0,
         T("2026-09-30 23:59:59"), None, None, None),
        # O9: cancelled by the system for a missed ship deadline (seller fault)
        ("O9", "US", "B9", "S3", "Home", "search", "seller_shipped", "card", None, 15.0,
         T("2026-10-06"), T("2026-10-06 00:05"), None, None),
    ]
    return pd.DataFrame(rows, columns=cols)


def _cancellations() -> pd.DataFrame:
    cols = ["request_id", "order_id", "initiator", "reason", "requested_at", "outcome",
            "resolved_at", "auto_resolved"]
    rows = [
        ("R1", "O1", "buyer", "changed_mind", T("2026-10-01 12:00"), "rejected",
         T("2026-10-01 18:00"), False),                        # awaiting_shipment, 6 h
        ("R2", "O1", "buyer", "changed_mind", T("2026-10-05 00:00"), "rejected",
         T("2026-10-05 10:00"), True),                         # delivered (at delivery), 10 h
        ("R3", "O3", "buyer", "better_price", T("2026-10-03 00:30"), "rejected",
         T("2026-10-03 02:30"), False),                        # unpaid, 2 h
        ("R4", "O3", "buyer", "better_price", T("2026-10-04 00:00"), "approved",
         T("2026-10-04 12:00"), True),                         # in_transit (at shipping), 12 h
        ("R5", "O4", "seller", "out_of_stock", T("2026-10-05"), "approved",
         T("2026-10-05"), False),                              # cancelling row (tie, R5 < R6)
        ("R6", "O4", "system", "ship_deadline_missed", T("2026-10-05"), "approved",
         T("2026-10-05"), True),
        ("R7", "O2", "system", "unpaid_timeout", T("2026-10-03"), "approved",
         T("2026-10-03"), True),
        ("R8", "O2", "buyer", "changed_mind", T("2026-10-02 06:00"), "pending", None, False),
        ("R9", "O5", "buyer", "ordered_by_mistake", T("2026-11-01 00:10"), "withdrawn",
         T("2026-11-01 01:00"), False),                        # after the period: still counts
        ("R10", "O6", "buyer", "changed_mind", T("2026-11-01 02:00"), "approved",
         T("2026-11-01 03:00"), False),                        # order outside the cohort
        ("R11", "O404", "buyer", "changed_mind", T("2026-10-10"), "approved",
         T("2026-10-10 01:00"), False),                        # unknown order: ignored
        ("R12", "O9", "system", "ship_deadline_missed", T("2026-10-09 00:05"), "approved",
         T("2026-10-09 00:05"), True),
    ]
    return pd.DataFrame(rows, columns=cols)


def _contacts() -> pd.DataFrame:
    cols = ["contact_id", "market", "buyer_id", "order_id", "created_at", "channel", "reason",
            "handle_time_s", "escalated", "csat"]
    rows = [
        ("C1", "US", "B1", "O1", T("2026-10-01 13:00"), "chat", "cancel_request", 600.0,
         False, 2),                                            # C2 follows exactly 168 h later
        ("C2", "US", "B1", "O1", T("2026-10-08 13:00"), "chat", "cancel_status", 300.0,
         True, None),                                          # C3 follows 168 h + 1 s later
        ("C3", "US", "B1", "O1", T("2026-10-15 13:00:01"), "bot", "cancel_status", None,
         False, 5),
        ("C4", "US", "B3", "O3", T("2026-10-04 01:00"), "bot", "refund_status", None, False, 4),
        ("C5", "US", "B3", "O3", T("2026-10-04 01:00"), "phone", "refund_status", 900.0,
         True, 1),                                             # same instant as C4: gap 0
        ("C6", "US", "B6", None, T("2026-10-20"), "email", "account_issue", 120.0, False, None),
        ("C7", "US", "B4", "O4", T("2026-10-31 20:00"), "chat", "where_is_my_order", 240.0,
         False, 3),                                            # C8 follows 28 h later
        ("C8", "US", "B4", "O4", T("2026-11-02 00:00"), "chat", "cancel_status", 200.0,
         False, None),                                         # after the period
        ("C9", "US", "B6", "O6", T("2026-10-15"), "chat", "cancel_request", 60.0, False, None),
        ("C10", "GB", "B7", "O7", T("2026-10-15"), "chat", "cancel_request", 60.0, False, 5),
        ("C11", "US", "B2", "O2", T("2026-09-30"), "chat", "cancel_status", 60.0, False, 5),
        ("C12", "US", "B9", "O404", T("2026-10-16"), "bot", "cancel_status", None, False, None),
    ]
    df = pd.DataFrame(rows, columns=cols)
    df["csat"] = df["csat"].astype("Int64")
    return df


def _feedback() -> pd.DataFrame:
    cols = ["feedback_id", "market", "order_id", "buyer_id", "created_at", "source", "rating",
            "text", "language"]
    rows = [
        ("FB1", "US", "O1", "B1", T("2026-10-06"), "order_review", 5, "Great", "en"),
        ("FB2", "US", "O3", "B3", T("2026-10-05"), "cancellation_survey", 1,
         "Refund late, mail me at jo@example.com", "en"),
        ("FB3", "US", None, None, T("2026-10-20"), "app_review", None, None, None),
        ("FB4", "US", "O2", "B2", T("2026-10-31 23:59:59"), "cancellation_survey", 2,
         "Pesanan dibatalkan", "id"),
        ("FB5", "US", "O1", "B1", T("2026-11-01"), "order_review", 1, "late", "en"),
        ("FB6", "GB", "O7", "B7", T("2026-10-10"), "order_review", 1, "bad", "en"),
    ]
    df = pd.DataFrame(rows, columns=cols)
    df["rating"] = df["rating"].astype("Int64")
    return df


def tiny_tables() -> dict[str, pd.DataFrame]:
    """The four contract tables of the tiny fixture, as pandas DataFrames."""
    return {"orders": _orders(), "cancellations": _cancellations(), "contacts": _contacts(),
            "feedback": _feedback()}


def write_tables(tables: dict[str, pd.DataFrame], folder: Path, fmt: str = "csv") -> Path:
    """Write tables as ``NAME.csv`` (ISO-8601 timestamps) or ``NAME.parquet``."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, df in tables.items():
        if fmt == "csv":
            df.to_csv(folder / f"{name}.csv", index=False, date_format="%Y-%m-%dT%H:%M:%S")
        else:
            df.to_parquet(folder / f"{name}.parquet", index=False)
    return folder


@pytest.fixture
def tiny() -> dict[str, pd.DataFrame]:
    return tiny_tables()


@pytest.fixture
def tiny_csv(tmp_path: Path) -> Path:
    return write_tables(tiny_tables(), tmp_path / "csv", "csv")


@pytest.fixture
def tiny_parquet(tmp_path: Path) -> Path:
    return write_tables(tiny_tables(), tmp_path / "parquet", "parquet")
