"""The demo generator: deterministic, valid, and its planted stories are there."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest

from shopcx.cli import main
from shopcx.data.demo import DEMO_MARKETS, POLICY, chronic_sellers, generate_demo_data
from shopcx.data.sources import load_source
from shopcx.metrics.facts import order_facts, request_facts
from shopcx.metrics.kpis import compute_kpis


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("demo") / "data"
    summary = generate_demo_data(out, orders=120_000, seed=11)
    return load_source(out), summary


def kpi(source, market: str, start: str, end: str, name: str) -> float:
    return compute_kpis(source, market, start, end).set_index("kpi").loc[name, "value"]


def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for table in ("orders", "cancellations", "contacts", "feedback"):
        frame = pd.read_parquet(folder / table)
        h.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return h.hexdigest()


def test_deterministic_for_a_seed(tmp_path: Path) -> None:
    a = generate_demo_data(tmp_path / "a", orders=8_000, months=2, seed=3)
    b = generate_demo_data(tmp_path / "b", orders=8_000, months=2, seed=3)
    generate_demo_data(tmp_path / "c", orders=8_000, months=2, seed=4)
    assert a.rows == b.rows
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    assert _digest(tmp_path / "a") != _digest(tmp_path / "c")
    assert a.start == "2026-10-01" and a.end == "2026-12-01"


def test_valid_complete_and_in_range(demo) -> None:
    source, summary = demo
    report = source.validate()
    assert report.ok, str(report)
    assert summary.rows["orders"] == 120_000
    assert source.markets() == sorted(DEMO_MARKETS)
    o = source.tables["orders"]
    lo, hi = source.execute(o.aggregate(lo=o.created_at.min(), hi=o.created_at.max())).iloc[0]
    assert lo >= pd.Timestamp("2026-06-01") and hi < pd.Timestamp("2026-12-01")
    # the only warnings are the realistic ones the generator plants on purpose
    assert {f.rule for f in report.warnings} <= {"after-delivery"}


def test_cod_markets_cancel_more_while_unpaid(demo) -> None:
    source, _ = demo
    rate = {m: kpi(source, m, "2026-10-01", "2026-11-01", "cancel_exit_unpaid")
            for m in ("US", "GB", "VN", "PH", "ID")}
    assert min(rate["VN"], rate["PH"], rate["ID"]) > 2 * max(rate["US"], rate["GB"])


def test_mega_sale_spike_with_out_of_stock(demo) -> None:
    source, _ = demo
    f = source.execute(order_facts(source, "ID", "2026-11-01", "2026-12-01")
                       .select("created_at", "cancel_reason"))
    day = f["created_at"].dt.day
    assert (day == 11).sum() > 2.5 * f.groupby(day).size().median()
    oos = f["cancel_reason"].eq("out_of_stock")
    assert oos[day.between(10, 12)].mean() > 4 * oos[~day.between(10, 12)].mean()


def test_carrier_incident(demo) -> None:
    source, _ = demo
    oct_, nov = ("2026-10-01", "2026-11-01"), ("2026-11-01", "2026-12-01")
    assert kpi(source, "MY", *nov, "cancel_exit_in_transit") > 2 * kpi(
        source, "MY", *oct_, "cancel_exit_in_transit")
    assert kpi(source, "MY", *nov, "cpo") > 1.5 * kpi(source, "MY", *oct_, "cpo")
    assert kpi(source, "MY", *nov, "feedback_negative_share") > kpi(
        source, "MY", *oct_, "feedback_negative_share")
    # the in-transit cancellations point at the carrier
    f = source.execute(order_facts(source, "MY", *nov).select("carrier", "cancel_stage"))
    transit = f[f["cancel_stage"] == "in_transit"]
    assert transit["carrier"].value_counts(normalize=True).idxmax() == "NinjaVan"
    # and the other markets show no such jump
    assert kpi(source, "SG", *nov, "cancel_exit_in_transit") < 1.5 * kpi(
        source, "SG", *oct_, "cancel_exit_in_transit")


def test_auto_approve_policy_change(demo) -> None:
    source, _ = demo
    r = source.execute(request_facts(source, order_facts(source, "TH", "2026-09-01",
                                                           "2026-11-25")))
    r = r[r["stage"] == "awaiting_shipment"]
    after = r["requested_at"] >= pd.Timestamp(POLICY["date"])
    hours = r["hours_to_resolve"]
    assert hours[~after].quantile(0.9) > 60          # the 72 h timer before
    assert hours[after].quantile(0.9) <= 24.5         # the 24 h timer after
    assert hours[after].median() < 0.8 * hours[~after].median()
    # fewer cancel-status contacts per buyer request afterwards
    c = source.tables["contacts"]
    status = source.execute(c.filter(c.market == "TH", c.reason == "cancel_status")
                            .select("created_at"))["created_at"]
    before_rate = status.between("2026-10-01", "2026-11-01").sum() / (
        kpi(source, "TH", "2026-10-01", "2026-11-01", "buyer_cancel_requests"))
    after_rate = status.between("2026-11-05", "2026-12-01").sum() / (
        kpi(source, "TH", "2026-11-05", "2026-12-01", "buyer_cancel_requests"))
    assert after_rate < 0.85 * before_rate


def test_chronic_sellers_top_the_seller_fault_list(demo) -> None:
    source, summary = demo
    f = source.execute(order_facts(source, "US", "2026-06-01", "2026-12-01")
                       .select("seller_id", "seller_fault"))
    by_seller = f.groupby("seller_id")["seller_fault"].agg(["size", "mean"])
    top = by_seller[by_seller["size"] >= 40].sort_values("mean", ascending=False)
    assert set(top.index[:3]) == set(summary.chronic_sellers["US"])
    assert top["mean"].iloc[2] > 4 * top["mean"].median()
    assert summary.chronic_sellers["US"] == chronic_sellers("US", _pool(source))


def _pool(source) -> int:
    o = source.tables["orders"]
    n = int(source.execute(o.filter(o.market == "US").count()))
    return max(60, n // 150)


def test_rejections_bring_repeat_contacts_and_low_csat(demo) -> None:
    source, _ = demo
    c = source.execute(source.tables["contacts"].filter(lambda t: t.market == "US"))
    rej = source.execute(source.tables["cancellations"].filter(
        lambda t: (t.outcome == "rejected") & (t.initiator == "buyer")))
    on_rejected = c["order_id"].isin(rej["order_id"])
    assert c.loc[on_rejected, "csat"].mean() < c.loc[~on_rejected, "csat"].mean() - 0.5
    per_order = c[on_rejected].groupby("order_id").size().mean()
    assert per_order > 1.5


def test_feedback_languages_and_personal_data(demo) -> None:
    source, _ = demo
    fb = source.execute(source.tables["feedback"].select("market", "language", "text"))
    for market, lang in (("ID", "id"), ("TH", "th"), ("VN", "vi"), ("MY", "ms")):
        assert (fb[fb["market"] == market]["language"] == lang).mean() > 0.3
    assert (fb[fb["market"] == "US"]["language"].dropna() == "en").all()
    text = fb["text"].dropna()
    assert text.str.contains(r"@\w+\.\w+").any()          # e-mail addresses to redact
    assert text.str.contains(r"\+\d{2} \d").any()         # phone numbers to redact
    assert text.str.contains("<").any()                   # markup to escape


def test_cli_writes_and_replaces_atomically(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "demo"
    args = ["demo-data", "--out", str(out), "--orders", "4000", "--months", "1"]
    assert main(args) == 0
    assert "4,000 orders" in capsys.readouterr().out
    assert main(args) == 0  # a rerun replaces the folder
    assert sorted(p.name for p in out.iterdir()) == [  # assignments: ID's November A/B test
        "assignments", "cancellations", "contacts", "demo_manifest.json", "feedback", "orders"]
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir())
    assert main(["demo-data", "--out", str(out), "--orders", "10"]) == 2


def test_new_complaint_surfaces_as_an_emerging_theme(demo) -> None:
    from shopcx.voc.emerging import emerging_themes
    from shopcx.voc.painpoints import in_period, tag_feedback

    source, _ = demo
    tagged = tag_feedback(source, "PH", "2026-10-01", "2026-12-01")
    clusters = emerging_themes(in_period(tagged, "2026-11-01", "2026-12-01"),
                               in_period(tagged, "2026-10-01", "2026-11-01"))
    growing = clusters[clusters["growing"]]
    assert growing["top_terms"].str.contains("packaging|fee|checkout|surprise").any()


def test_delivery_theme_leads_the_incident_market(demo) -> None:
    from shopcx.voc.painpoints import in_period, rank_pain_points, tag_feedback

    source, _ = demo
    tagged = tag_feedback(source, "MY", "2026-10-01", "2026-12-01")
    ranking = rank_pain_points(in_period(tagged, "2026-11-01", "2026-12-01"),
                               in_period(tagged, "2026-10-01", "2026-11-01"))
    top = ranking.iloc[0]
    assert top["theme"].startswith("delivery/") and top["growing"]
    assert top["top_carrier"] == "NinjaVan" and top["top_carrier_share"] > 0.8


def test_explain_ranks_the_incident_carrier_first(demo) -> None:
    from shopcx.rootcause.drivers import explain

    source, _ = demo
    r = explain(source, "MY", "cancellation_rate", ("2026-10-01", "2026-11-01"),
                ("2026-11-01", "2026-12-01"))
    top = r["drivers_table"].iloc[0]
    assert (top["dimension"], top["key"], top["effect"]) == ("carrier", "NinjaVan", "rate")
    assert not top["noise"] and top["share_of_change"] > 0.5


def test_anomalies_date_the_policy_change_and_the_incident(demo) -> None:
    from shopcx.rootcause.anomalies import anomalies, contact_bursts

    source, _ = demo
    oct_, nov = ("2026-10-01", "2026-11-01"), ("2026-11-01", "2026-12-01")
    th = anomalies(source, "TH", oct_, nov, metrics=("p90_hours_to_resolve",))
    assert th["started"]["p90_hours_to_resolve"]["change_point"] == pd.Timestamp(POLICY["date"])
    cps = th["change_points"]
    assert len(cps) == 1 and cps.iloc[0]["change"] < -30  # 72 h -> 24 h, nothing else
    bursts = contact_bursts(source, "MY", oct_, nov, top=3)
    first = bursts.iloc[0]
    assert (first["reason"], first["attributes"]) == ("where_is_my_order",
                                                      {"carrier": "NinjaVan"})
    assert pd.Timestamp("2026-11-09") <= first["started"] <= pd.Timestamp("2026-11-16")
