"""Escalations: the path to each one and the sellers behind them, by hand on the tiny
fixture (tests/conftest.py), and the planted VN story on the demo generator.

US, October 2026: the escalated contacts are C2 (order O1, 8 Oct 13:00) and C5 (order
O3, 4 Oct 01:00).
- C2: O1's latest buyer request before it is R2 (5 Oct 00:00), rejected at 10:00 ->
  "request rejected"; O1 placed 1 Oct 00:00, first request R1 at 12:00 (12 h); R2
  decided in 10 h; 75 h from the decision to C2; 181 h from the order; C1 before it.
- C5: O3's latest request before it is R4 (4 Oct 00:00), approved only at 12:00, so
  still pending when C5 came an hour later -> "request pending" (the order counts as
  cancelled from R4's request, but the path is the journey as it stood then); O3
  placed 3 Oct 00:00, first request R3 at 00:30 (0.5 h); 25 h from the order.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from shopcx.data.demo import generate_demo_data, rejecting_sellers
from shopcx.data.sources import load_source
from shopcx.metrics.escalations import PATHS, escalation_paths, seller_escalations

from .conftest import PERIOD


def test_paths_by_hand(tiny: dict) -> None:
    t = escalation_paths(tiny, "US", *PERIOD).set_index("path")
    assert list(t.index[:2]) == ["request rejected", "request pending"]  # tie: list order
    assert set(t.index) == set(PATHS)
    assert t["escalations"].to_dict() == {p: int(p in ("request rejected", "request pending"))
                                          for p in PATHS}
    assert t.loc["request rejected", "share"] == 0.5
    rejected = t.loc["request rejected"]
    assert (rejected["hours_order_to_request"], rejected["hours_request_to_outcome"],
            rejected["hours_outcome_to_escalation"], rejected["hours_order_to_escalation"],
            rejected["contacts_before"]) == (12.0, 10.0, 75.0, 181.0, 1.0)
    assert math.isnan(rejected["csat"])
    pending = t.loc["request pending"]
    assert (pending["hours_order_to_request"], pending["hours_order_to_escalation"],
            pending["contacts_before"], pending["csat"]) == (0.5, 25.0, 0.0, 1.0)
    assert math.isnan(pending["hours_request_to_outcome"])
    # C5 waited exactly one hour: with a one-hour timer it is past it (boundary included)
    short = escalation_paths(tiny, "US", *PERIOD, timer_hours=1).set_index("path")
    assert short.loc["request pending past its timer", "escalations"] == 1
    assert short.loc["request pending", "escalations"] == 0
    # an empty period: every path, no escalations
    empty = escalation_paths(tiny, "US", "2027-01-01", "2027-02-01")
    assert empty["escalations"].sum() == 0 and len(empty) == len(PATHS)


def test_sellers_by_hand(tiny: dict) -> None:
    # cohort orders by seller: S1 O1 O2, S2 O3 O4, S3 O5 O9; escalations C2 (O1), C5 (O3):
    # market 2 per 6 orders = 333.3 per 1,000; S1 and S2 one each (500), S3 none
    t = seller_escalations(tiny, "US", *PERIOD, min_orders=1)
    assert list(t["seller_id"]) == ["S1", "S2", "S3"]
    s1 = t.iloc[0]
    assert (s1["orders"], s1["escalations"], s1["per_1000"]) == (2, 1, 500.0)
    assert s1["market_per_1000"] == pytest.approx(1000 / 3)
    assert s1["excess"] == pytest.approx(1 - 2 / 3)
    assert s1["p_value"] == pytest.approx(1 - math.exp(-2 / 3))  # P(X >= 1), mean 2/3
    assert s1["ci_low"] == pytest.approx(12.66, abs=0.01)    # exact Poisson, x = 1, n = 2
    assert s1["ci_high"] == pytest.approx(2785.8, abs=0.1)
    assert not t["above_market"].any()
    assert seller_escalations(tiny, "US", *PERIOD, min_orders=3).empty


@pytest.fixture(scope="module")
def vn_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("esc") / "d"
    generate_demo_data(out, orders=120_000, months=2, markets=["VN", "TH"])
    return out


def test_planted_vn_sellers_lead_the_escalations(vn_demo: Path) -> None:
    """VN's five largest sellers refuse cancel requests from 10 November (demo story):
    November's escalations come first from rejected requests, and those sellers lead
    the excess escalations; October has neither."""
    src = load_source(vn_demo)
    nov = escalation_paths(src, "VN", "2026-11-01", "2026-12-01")
    oct_ = escalation_paths(src, "VN", "2026-10-01", "2026-11-01")
    assert nov["path"].iloc[0] == "request rejected"
    assert oct_["path"].iloc[0] != "request rejected"
    top = seller_escalations(src, "VN", "2026-11-01", "2026-12-01")
    group = set(rejecting_sellers("VN"))
    assert set(top["seller_id"].head(3)) <= group
    assert top[top["seller_id"].isin(group)]["above_market"].sum() >= 3
    before = seller_escalations(src, "VN", "2026-10-01", "2026-11-01")
    assert not before[before["seller_id"].isin(group)]["above_market"].any()
    assert rejecting_sellers("TH") == []


def test_explain_names_the_refusing_sellers_first(vn_demo: Path) -> None:
    """The planted story through ``explain``: the sellers who refuse cancel requests,
    as one group, lead the drivers of escalations per 1,000 orders; "rejected" leads
    the journey breakdown."""
    from shopcx.rootcause.drivers import explain

    r = explain(vn_demo, "VN", "escalations_per_1000_orders", ("2026-10-01", "2026-11-01"),
                ("2026-11-01", "2026-12-01"))
    drivers = r["drivers_table"][~r["drivers_table"]["noise"].astype(bool)]
    top = drivers.iloc[0]
    assert top["dimension"] == "seller_id" and len(top["members"]) >= 2
    assert set(top["members"]) <= set(rejecting_sellers("VN"))
    assert r["breakdown_table"].iloc[0]["key"] == "rejected"


def test_request_outcome_by_hand(tiny: dict) -> None:
    from shopcx.metrics.facts import order_facts
    from shopcx.rootcause.drivers import with_request_outcome

    src = load_source(tiny)
    t = src.execute(with_request_outcome(src, order_facts(src, "US", *PERIOD)).select(
        "order_id", "request_outcome"))
    # the buyer's latest request: O1 R2 rejected, O2 R8 pending (R7 is the system's),
    # O3 R4 approved, O5 R9 withdrawn; O4 (seller and system rows) and O9 none
    assert dict(zip(t["order_id"], t["request_outcome"], strict=True)) == {
        "O1": "rejected", "O2": "pending", "O3": "approved", "O4": "no request",
        "O5": "withdrawn", "O9": "no request"}


def test_explain_escalations_by_hand(tiny: dict) -> None:
    from shopcx.rootcause.drivers import explain

    # September: O8 only, no escalation (C11 is about O2 and not escalated) -> 0;
    # October: C2 (O1) and C5 (O3) over 6 orders -> 333.3 per 1,000 (escalations about
    # orders of the cohort: here all of them)
    r = explain(tiny, "US", "escalations_per_1000_orders", ("2026-09-01", "2026-10-01"),
                PERIOD, dimensions=("seller_id", "request_outcome"), combinations=False)
    assert r["baseline"]["value"] == 0 and r["current"]["value"] == pytest.approx(1000 / 3)
    assert r["change"] == pytest.approx(1000 / 3)
    seg = r["all_segments"]
    for dim in ("seller_id", "request_outcome"):  # contributions add up, in per-1,000 units
        assert seg[seg["dimension"] == dim]["contribution"].sum() == pytest.approx(1000 / 3)
    s1 = seg[(seg["dimension"] == "seller_id") & (seg["key"] == "S1")].iloc[0]
    assert s1["current_value"] == pytest.approx(500.0)  # 1 escalation over O1 O2
    # the escalation rate of cancellation contacts: units are contacts; September C11
    # (0 of 1), October C1 C2 C3 C4 C5 C9 C12 (C2 and C5 escalated: 2 of 7)
    c = explain(tiny, "US", "cancel_escalation_rate", ("2026-09-01", "2026-10-01"), PERIOD,
                combinations=False)
    assert c["current"]["value"] == pytest.approx(2 / 7) and c["baseline"]["value"] == 0
    used = {p["dimension"]: p["used"] for p in c["dimensions"]}
    assert used["channel"] and used["reason"] and used["seller_id"]
    chat = c["all_segments"]
    chat = chat[(chat["dimension"] == "channel") & (chat["key"] == "chat")].iloc[0]
    assert chat["current_value"] == pytest.approx(1 / 3)  # C1 C2 C9: C2 escalated
    assert set(c["breakdown_table"]["key"]) <= {"rejected", "approved", "pending",
                                                 "withdrawn", "no request"}
    with pytest.raises(Exception, match="cannot be explained"):
        explain(tiny, "US", "escalation_rate", ("2026-09-01", "2026-10-01"), PERIOD)


def test_escalations_readout_tells_the_vn_story(vn_demo: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    from shopcx.cli import main

    out = tmp_path / "run"
    assert main(["run", "--data", str(vn_demo), "--markets", "VN", "--start", "2026-11-01",
                 "--end", "2026-12-01", "--notebooks", "escalations", "--changes", "none",
                 "--out", str(out), "--no-progress"]) == 0, capsys.readouterr().err
    page = (out / "VN" / "escalations.html").read_text()
    assert "Traceback" not in page
    paths = page.index("How customers got there")
    assert page.index("request rejected", paths) < page.index("no cancel request", paths)
    assert "How the escalations came about" in page            # the journey breakdown
    assert "The largest driver is <strong>sellers SVN" in page  # the refusing sellers' group
    sellers = page.index("Sellers with the most escalations")
    first = page.index("SVN00000", sellers)
    assert page[first:first + 9] in set(rejecting_sellers("VN"))
    assert "above the market" in page[sellers:]
    assert "Cancel request rejected" in page[page.index("What escalated customers wrote"):]
    assert "Seller operations" in page[page.index("Who should act"):]
    assert 'href="VN/escalations.html"' in (out / "index.html").read_text()
