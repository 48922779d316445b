"""The benchmark's peers compute the same KPIs as ``shopcx kpis``.

``bench/bench.py`` times ``shopcx kpis`` against a Polars script and a pandas
script; a comparison is only fair if all three compute the same numbers. They
are checked here on the hand-made fixture (nulls, pending and withdrawn
requests, contacts without an order, escalations) and on a generated month.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from shopcx.cli import main
from shopcx.data.demo import generate_demo_data

from .conftest import tiny_tables, write_tables

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))


def _shopcx(data: Path, market: str, start: str, end: str,
            capsys: pytest.CaptureFixture[str]) -> dict[str, float | None]:
    capsys.readouterr()
    assert main(["kpis", "--data", str(data), "--market", market, "--start", start,
                 "--end", end, "--format", "json"]) == 0
    return {k: v["value"] for k, v in json.loads(capsys.readouterr().out)["kpis"].items()}


def _differ(mine: dict, theirs: dict) -> list[str]:
    def close(a: float | None, b: float | None) -> bool:
        if a is None or b is None:
            return a is None and b is None
        return abs(a - b) <= 1e-9 * max(1.0, abs(b))
    return [k for k in mine if k not in theirs or not close(mine[k], theirs[k])]


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("peers") / "d"
    generate_demo_data(out, orders=40_000, months=2, markets=["MY", "VN"])
    return out


@pytest.mark.parametrize("which", ["tiny", "generated"])
def test_polars_peer_computes_every_kpi_alike(which: str, tmp_path: Path, generated: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("polars")
    import polars_kpis

    if which == "tiny":
        data, market, period = write_tables(tiny_tables(), tmp_path / "t", "parquet"), "US", \
            ("2026-10-01", "2026-11-01")
    else:
        data, market, period = generated, "MY", ("2026-11-01", "2026-12-01")
    mine = _shopcx(data, market, *period, capsys)
    theirs = polars_kpis.kpis(data, market, *period)
    assert set(theirs) == set(mine)
    assert _differ(mine, theirs) == []
    if which == "tiny":  # the fixture's values by hand (tests/test_metrics.py)
        assert theirs["escalations_per_1000_orders"] == pytest.approx(1000 / 3)
        assert theirs["cancel_escalation_rate"] == pytest.approx(2 / 7)


def test_pandas_baseline_computes_its_kpis_alike(generated: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    import pandas_kpis

    mine = _shopcx(generated, "MY", "2026-11-01", "2026-12-01", capsys)
    theirs = pandas_kpis.kpis(generated, "MY", "2026-11-01", "2026-12-01")
    assert _differ({k: mine[k] for k in theirs}, theirs) == []
