"""Every readout renders on a small, sparse market without claims its data cannot back.

The market (``tests/sparse.py``): about 500 orders a month, one seller with most
of them and hundreds with one, no contacts, no buyer cancel requests, feedback
on one order in ten.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from shopcx.run.config import load_run_config
from shopcx.run.runner import plan_run, run

from .conftest import write_tables
from .sparse import generate

ROOT = Path(__file__).resolve().parents[1]
READOUTS = ("summary", "funnel", "cpo", "voc", "root_cause")


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("sparse")
    data = write_tables(generate(), root / "data", "csv")
    config = load_run_config(data=str(data), markets=["BR"], start="2026-11-01",
                             end="2026-12-01", baseline_start="2026-10-01",
                             baseline_end="2026-11-01", out=str(root / "out"), workers=2,
                             min_sample=30)
    summary = run(plan_run(config, ROOT / "notebooks"), progress=False)
    assert summary.exit_status == 0, [r.error for r in summary.failed]
    out = root / "out"
    found = {nb: (out / "BR" / f"{nb}.html").read_text() for nb in READOUTS}
    found["index"] = (out / "index.html").read_text()
    return found


def _text(page: str) -> str:
    page = re.sub(r"<(style|script)[^>]*>.*?</\1>", " ", page, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))


def test_no_table_is_a_header_alone(pages: dict[str, str]) -> None:
    for name, page in pages.items():
        for body in re.findall(r"<tbody[^>]*>(.*?)</tbody>", page, flags=re.S):
            assert "<tr" in body, f"{name}: a table with a header and no rows"


def test_absent_contacts_and_requests_are_no_data_not_zero(pages: dict[str, str]) -> None:
    cpo = _text(pages["cpo"])
    assert "Contacts per order no data" in cpo and "0.000" not in cpo
    assert "The data holds no contacts for this market in either period" in cpo
    summary = _text(pages["summary"])
    assert "Contacts per order no data no data no contacts –" in summary
    assert "Cancel request success rate no data" in summary
    assert "No buyer cancel requests on this period's orders." in _text(pages["funnel"])
    assert "there is nothing to search for bursts" in _text(pages["root_cause"])
    # the pain points say nothing about contacts they do not have
    assert "its orders: 0% cancelled; 100% with Correios." in _text(pages["voc"])


def test_no_zero_width_interval_and_no_unsupported_claim(pages: dict[str, str]) -> None:
    for name, page in pages.items():
        text = _text(page)
        same = re.findall(r"([-+]?\d+\.\d+ pts) \.\. \1(?!\d)", text)
        assert not same, (name, same)
    why = _text(pages["root_cause"])
    assert "too sparse to date when the change started" in why
    assert "changed level on" not in why
    assert "(none)" not in why and "not handed to a carrier" not in why
    # a seller with one order is never a driver, and nothing here is significant
    assert "The largest driver" not in why


def test_words_agree_with_numbers(pages: dict[str, str]) -> None:
    assert "1 markets" not in pages["index"] and "1 market," in _text(pages["index"])
    funnel = _text(pages["funnel"])
    assert "carrier not handed over" in funnel  # not a "(none)" carrier
    # the headline's largest move is the cancellation rate itself, in points
    assert "The largest move: Cancellation rate fell" in funnel
    voc = _text(pages["voc"])
    assert "No category has 20 or more feedback texts" in voc


def test_customer_text_is_redacted(pages: dict[str, str]) -> None:
    for name, page in pages.items():
        assert "joao.silva@example.com" not in page, name
        assert "98765-4321" not in page, name
