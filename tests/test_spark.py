"""The same metric code on Spark: every KPI on the fixture equals DuckDB's.

Runs a local Spark session through Ibis's PySpark backend (the ``spark`` extra,
which ``make test`` installs). Skips, saying why, only where PySpark or Java is
missing; it installs nothing itself.
"""

from __future__ import annotations

import math
import os
import shutil

import pandas as pd
import pytest

from shopcx.data.sources import load_source
from shopcx.metrics.dictionary import KPIS
from shopcx.metrics.kpis import compute_kpis, compute_segment_kpis
from shopcx.rootcause.drivers import explain

from .conftest import PERIOD, tiny_tables, write_tables

pyspark = pytest.importorskip("pyspark", reason="PySpark is not installed "
                              "(pip install -e '.[spark]'; make test installs it)")
if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
    pytest.skip("Java is not installed: Spark needs a JVM (Java 17)", allow_module_level=True)


@pytest.fixture(scope="module")
def spark_source(tmp_path_factory: pytest.TempPathFactory):
    import ibis
    from pyspark.sql import SparkSession

    warehouse = tmp_path_factory.mktemp("spark-warehouse")
    session = (SparkSession.builder.master("local[2]").appName("shopcx-tests")
               .config("spark.sql.warehouse.dir", str(warehouse))
               .config("spark.sql.session.timeZone", "UTC")
               .config("spark.ui.enabled", "false")
               .config("spark.sql.shuffle.partitions", "2")
               .config("spark.driver.memory", "1g")
               .getOrCreate())
    # the fixture as Parquet files read by Spark, as a cluster would read a lake
    data = write_tables(tiny_tables(), tmp_path_factory.mktemp("data"), "parquet")
    for name in tiny_tables():
        session.read.parquet(str(data / f"{name}.parquet")).createOrReplaceTempView(name)
    yield load_source(ibis.pyspark.connect(session))
    session.stop()


def _same(a: float, b: float) -> bool:
    if a is None or b is None or (isinstance(a, float) and math.isnan(a)):
        return (b is None or (isinstance(b, float) and math.isnan(b))) and (
            a is None or math.isnan(a))
    return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)


def _compare(spark: pd.DataFrame, duck: pd.DataFrame) -> list[str]:
    bad = []
    for (_, s), (_, d) in zip(spark.iterrows(), duck.iterrows(), strict=True):
        for col in ("value", "numerator", "denominator", "ci_low", "ci_high"):
            sv = None if pd.isna(s[col]) else float(s[col])
            dv = None if pd.isna(d[col]) else float(d[col])
            if not (sv is None and dv is None) and not (
                    sv is not None and dv is not None and _same(sv, dv)):
                bad.append(f"{s['kpi']}.{col}: spark {sv} duckdb {dv}")
    return bad


def test_every_kpi_on_spark_equals_duckdb(spark_source) -> None:
    assert spark_source.con.name == "pyspark"
    for market, period in (("US", PERIOD), ("US", ("2026-09-01", "2026-10-01")),
                           ("GB", PERIOD)):
        spark = compute_kpis(spark_source, market, *period)
        duck = compute_kpis(tiny_tables(), market, *period)
        assert spark["kpi"].tolist() == [k.name for k in KPIS]
        assert _compare(spark, duck) == [], (market, period)
    # and a value worked out by hand, so that both are also right
    us = compute_kpis(spark_source, "US", *PERIOD).set_index("kpi")
    assert us.loc["cancellation_rate", "value"] == pytest.approx(4 / 6)


def test_segments_on_spark_equal_duckdb(spark_source) -> None:
    spark = compute_segment_kpis(spark_source, "US", *PERIOD, by="carrier")
    duck = compute_segment_kpis(tiny_tables(), "US", *PERIOD, by="carrier")
    assert spark["segment"].tolist() == duck["segment"].tolist()
    assert _compare(spark, duck) == []


def test_explain_on_spark_equals_duckdb(spark_source) -> None:
    args = ("US", "cancellation_rate", ("2026-09-01", "2026-10-01"), PERIOD)
    spark = explain(spark_source, *args, top=0)["all_segments"]
    duck = explain(tiny_tables(), *args, top=0)["all_segments"]
    key = ["dimension", "key"]
    spark, duck = spark.sort_values(key, ignore_index=True), duck.sort_values(key,
                                                                             ignore_index=True)
    assert spark[key].equals(duck[key])
    for col in ("contribution", "rate_effect", "mix_effect"):
        assert spark[col].to_numpy() == pytest.approx(duck[col].to_numpy(), abs=1e-12,
                                                      nan_ok=True)  # outside scope: n/a


@pytest.mark.parametrize("metric", ["escalations_per_1000_orders", "cancel_escalation_rate"])
def test_escalation_explain_and_paths_on_spark_equal_duckdb(spark_source, metric) -> None:
    from shopcx.metrics.escalations import escalation_paths, seller_escalations

    args = ("US", metric, ("2026-09-01", "2026-10-01"), PERIOD)
    spark = explain(spark_source, *args, top=0, combinations=False)
    duck = explain(tiny_tables(), *args, top=0, combinations=False)
    assert spark["current"]["value"] == pytest.approx(duck["current"]["value"])
    key = ["dimension", "key"]
    s = spark["all_segments"].sort_values(key, ignore_index=True)
    d = duck["all_segments"].sort_values(key, ignore_index=True)
    assert s[key].equals(d[key])
    assert s["contribution"].to_numpy() == pytest.approx(d["contribution"].to_numpy(),
                                                         abs=1e-9, nan_ok=True)
    if metric == "cancel_escalation_rate":
        return
    sp = escalation_paths(spark_source, "US", *PERIOD)
    dp = escalation_paths(tiny_tables(), "US", *PERIOD)
    assert sp["path"].tolist() == dp["path"].tolist()
    assert sp["escalations"].tolist() == dp["escalations"].tolist()
    for col in ("hours_order_to_request", "hours_order_to_escalation", "contacts_before"):
        assert sp[col].to_numpy() == pytest.approx(dp[col].to_numpy(), nan_ok=True)
    ss = seller_escalations(spark_source, "US", *PERIOD, min_orders=1)
    ds = seller_escalations(tiny_tables(), "US", *PERIOD, min_orders=1)
    assert ss[["seller_id", "orders", "escalations"]].equals(
        ds[["seller_id", "orders", "escalations"]])
