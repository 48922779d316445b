"""The ``shopcx`` command: formats, arguments and exit statuses."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from shopcx.cli import main
from shopcx.metrics.dictionary import KPIS
from shopcx.metrics.kpis import SEGMENT_DIMENSIONS

from .conftest import PERIOD


def kpis_args(folder: Path, *extra: str) -> list[str]:
    return ["kpis", "--data", str(folder), "--market", "US", "--start", PERIOD[0],
            "--end", PERIOD[1], *extra]


def test_json_has_every_kpi_with_the_right_fields(tiny_parquet: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert main(kpis_args(tiny_parquet, "--format", "json")) == 0
    doc = json.loads(capsys.readouterr().out)
    assert (doc["market"], doc["start"], doc["end"]) == ("US", *PERIOD)
    assert list(doc["kpis"]) == [k.name for k in KPIS]
    for k in KPIS:
        fields = set(doc["kpis"][k.name])
        if k.kind == "proportion":
            assert fields == {"value", "numerator", "denominator", "ci_low", "ci_high"}
        elif k.kind == "ratio":
            assert fields == {"value", "numerator", "denominator"}
        else:
            assert fields == {"value"}
    assert doc["kpis"]["orders"]["value"] == 6 and isinstance(doc["kpis"]["orders"]["value"], int)
    assert doc["kpis"]["cancellation_rate"]["numerator"] == 4
    assert doc["kpis"]["cancel_request_success_rate_unpaid"]["value"] == 0.0
    assert "segments" not in doc


def test_json_segments(tiny_parquet: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(kpis_args(tiny_parquet, "--format", "json", "--by", "category")) == 0
    doc = json.loads(capsys.readouterr().out)
    keys = [s["key"] for s in doc["segments"]]
    assert keys == ["Beauty", "Home"]  # 3 orders each: ties by key
    beauty = doc["segments"][0]["kpis"]
    assert beauty["orders"]["value"] == 3  # O1 O2 O5
    assert list(beauty) == [k.name for k in KPIS]


def test_by_buyer_segment_needs_history(tiny_parquet: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    # the data starts on 30 September, one day before the period: every buyer would be
    # "new" for want of history, so buyer segments are refused with the reason
    assert main(kpis_args(tiny_parquet, "--format", "json", "--by", "buyer_segment")) == 2
    err = capsys.readouterr().err
    assert "--by buyer_segment for US" in err and "28+ days of order history" in err
    assert "the data starts 2026-09-30, 1 day before the period" in err
    assert "Traceback" not in err


def test_by_buyer_segment_on_a_shortened_history(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    from .conftest import tiny_tables, write_tables

    tables = tiny_tables()
    o = tables["orders"]
    earlier = o[o["order_id"] == "O1"].assign(order_id="O0", payment_method="card",
                                              created_at=pd.Timestamp("2026-08-01"),
                                              paid_at=pd.NaT, shipped_at=pd.NaT,
                                              delivered_at=pd.NaT, carrier=None)
    tables["orders"] = pd.concat([earlier, o], ignore_index=True)
    folder = write_tables(tables, tmp_path / "history", "parquet")
    assert main(kpis_args(folder, "--format", "json", "--by", "buyer_segment")) == 0
    doc = json.loads(capsys.readouterr().out)
    # 61 days of data before 1 October: the window is shortened to them, and said so
    assert doc["buyer_history"]["window_days"] == 61 and doc["buyer_history"]["shortened"]
    assert doc["buyer_history"]["note"].startswith("history window shortened to 61 days")
    segments = {s["key"]: s["kpis"]["orders"]["value"] for s in doc["segments"]}
    # B1 ordered once before (O0: card, not cancelled, GMV 10); the history's other buyer,
    # B8 (O8 on 30 September, GMV 80), sets the top quarter at 10 + 0.75 x 70 = 62.5:
    # B1 is "regular"; the five other October buyers have no earlier order
    assert segments == {"new": 5, "regular": 1}
    assert main(kpis_args(folder, "--format", "csv", "--by", "buyer_segment")) == 0
    assert "note: buyer segments: history window shortened to 61 days" in capsys.readouterr().err


def test_null_segment_is_json_null(tiny_parquet: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(kpis_args(tiny_parquet, "--format", "json", "--by", "carrier")) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["segments"][0]["key"] is None
    assert doc["segments"][0]["kpis"]["orders"]["value"] == 4


def test_empty_period_json_uses_null(tiny_parquet: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["kpis", "--data", str(tiny_parquet), "--market", "US", "--start", "2027-01-01",
            "--end", "2027-02-01", "--format", "json"]
    assert main(args) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["kpis"]["cancellation_rate"] == {"value": None, "numerator": 0, "denominator": 0,
                                                "ci_low": None, "ci_high": None}


def test_csv_is_long_and_complete(tiny_csv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(kpis_args(tiny_csv, "--format", "csv", "--by", "fulfillment")) == 0
    frame = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert list(frame.columns) == ["market", "start", "end", "dimension", "segment", "kpi",
                                   "kind", "value", "numerator", "denominator", "ci_low",
                                   "ci_high"]
    overall = frame[frame["dimension"].isna()]
    assert len(overall) == len(KPIS)
    seg = frame[frame["dimension"] == "fulfillment"]
    assert sorted(seg["segment"].unique()) == ["platform_fulfilled", "seller_shipped"]
    assert seg.query("kpi == 'orders'")["value"].sum() == 6


def test_table_is_readable(tiny_parquet: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(kpis_args(tiny_parquet)) == 0
    out = capsys.readouterr().out
    assert "US · 2026-10-01 to 2026-11-01" in out
    assert "cancellation_rate" in out and "66.67%" in out and "4 / 6" in out
    assert main(kpis_args(tiny_parquet, "--by", "sales_channel")) == 0
    out = capsys.readouterr().out
    assert "livestream" in out and "by sales_channel" in out


@pytest.mark.parametrize("extra", [["--market", "BR"], ["--start", "2026-12-01"],
                                   ["--by", "seller_id"], ["--format", "xml"],
                                   ["--start", "someday"]])
def test_bad_arguments_exit_2(tiny_parquet: Path, capsys: pytest.CaptureFixture[str],
                              extra: list[str]) -> None:
    args = kpis_args(tiny_parquet)
    for i in range(0, len(extra), 2):
        if extra[i] in args:
            args[args.index(extra[i]) + 1] = extra[i + 1]
        else:
            args += extra[i:i + 2]
    with pytest.raises(SystemExit) as exc:
        raise SystemExit(main(args))
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "error" in err and "Traceback" not in err


def test_unknown_market_names_the_markets_present(tiny_parquet: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    args = kpis_args(tiny_parquet)
    args[args.index("US")] = "BR"
    assert main(args) == 2
    assert "markets present: GB, US" in capsys.readouterr().err


def test_validate_prints_a_summary(tiny_csv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--data", str(tiny_csv)]) == 0
    out = capsys.readouterr().out
    assert "orders" in out and "9 rows" in out
    assert "0 error(s), 3 warning row(s) in 3 warning(s)" in out


def test_console_script_gives_no_traceback(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("shopcx")
    result = subprocess.run([str(exe), "kpis", "--data", str(tmp_path / "missing"), "--market",
                             "US", "--start", "2026-10-01", "--end", "2026-11-01"],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: data source {tmp_path / 'missing'} is not a " \
                                    "directory or an engine URL"


def test_console_script_prints_everything_before_it_leaves(tiny_parquet: Path) -> None:
    """kpis and explain leave without Python's teardown: the output is complete, the
    status is the command's, and a second run (the quick path) says the same."""
    exe = Path(sys.executable).with_name("shopcx")
    docs = []
    for _ in range(2):
        result = subprocess.run([str(exe), "kpis", "--data", str(tiny_parquet), "--market", "US",
                                 "--start", PERIOD[0], "--end", PERIOD[1], "--format", "json"],
                                capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stderr
        docs.append(json.loads(result.stdout))
    assert docs[0] == docs[1]
    assert docs[0]["kpis"]["orders"]["value"] == 6
    bad = subprocess.run([str(exe), "explain", "--data", str(tiny_parquet), "--market", "US",
                          "--metric", "no_such_metric", "--baseline", "2026-09-01:2026-10-01",
                          "--current", ":".join(PERIOD)], capture_output=True, text=True,
                         check=False)
    assert bad.returncode == 2 and "no_such_metric" in bad.stderr and not bad.stdout


def test_segment_dimensions_are_the_spec_list() -> None:
    assert SEGMENT_DIMENSIONS == ("category", "sales_channel", "fulfillment", "payment_method",
                                  "carrier")
