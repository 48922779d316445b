"""Safe to share: customer text is redacted and escaped in every readout."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from shopcx.readouts.privacy import redact, safe_text, verbatim_table
from shopcx.run.config import load_run_config
from shopcx.run.runner import plan_run, run

from .conftest import tiny_tables, write_tables

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("text", [
    "jo.tan@example.com", "JO_TAN+cx@mail.example.co.id", "a.b-c@sub.domain.org",
])
def test_emails_are_redacted(text: str) -> None:
    assert redact(f"write to {text} please") == "write to [email] please"


@pytest.mark.parametrize(("text", "region"), [
    ("+62 812-3456-7890", None), ("(415) 555-0143", None), ("0917 555 1234", None),
    ("+44 7700 900123", None), ("+66 81 234 5678", None), ("081234567890", None),
    ("+1-202-555-0143", None), ("202.555.0143", None), ("9123 4567", "SG"),
    ("0812-3456-7890", "ID"),
])
def test_phone_numbers_are_redacted(text: str, region: str | None) -> None:
    assert redact(f"call {text} now", region) == "call [phone] now"


@pytest.mark.parametrize("text", [
    "ordered on 2026-11-12", "the 11.11 sale", "order 12345 is late", "paid $1,234.50",
    "3 items, 2 days late", "rated 5/5",
])
def test_ordinary_numbers_are_kept(text: str) -> None:
    assert redact(text, "US") == text


def test_safe_text_escapes_markup() -> None:
    text = '<script>alert("x")</script><img src=x onerror=alert(1)> "quoted" & more'
    out = safe_text(text)
    assert "<" not in out and ">" not in out and '"' not in out
    assert out.startswith("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img")
    assert safe_text(None) == ""


def test_verbatim_table_never_shows_buyer_ids() -> None:
    frame = pd.DataFrame({"buyer_id": ["B-SECRET"], "rating": [1],
                          "text": ["<b>bad</b> mail me x@y.com"]})
    page = verbatim_table(frame, columns=["buyer_id", "rating"])
    assert "B-SECRET" not in page and "buyer" not in page
    assert "&lt;b&gt;bad&lt;/b&gt; mail me [email]" in page


def _tags(page: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    """Every start tag of a page, as an HTML parser (a browser) sees it."""
    found: list[tuple[str, list[tuple[str, str | None]]]] = []

    class Collector(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            found.append((tag, attrs))

    Collector().feed(page)
    return found


NASTY = [
    "<script>alert('pwned')</script> cancel failed",
    '<img src=x onerror="alert(1)"> refund late',
    '<a href="javascript:alert(2)" onclick="steal()">click</a>',
    "Email me at jo.tan@example.com about it",
    "Call +62 812-3456-7890 or 0917 555 1234",
    "my US number is (415) 555-0143, UK +44 7700 900123",
    "<div style=\"background:url(x)\" onmouseover=alert(3)>hover</div>",
    "<<SCRIPT>alert(4)//<</SCRIPT>",
]


def test_readouts_escape_and_redact_feedback(tmp_path: Path) -> None:
    tables = tiny_tables()
    fb = tables["feedback"]
    rows = [{"feedback_id": f"FX{i}", "market": "US", "order_id": "O3",
             "buyer_id": "BUYER-SECRET-7", "created_at": pd.Timestamp("2026-10-12"),
             "source": "cancellation_survey", "rating": 1, "text": f"{text} - refund late",
             "language": "en"}
            for i, text in enumerate(NASTY)]
    tables["feedback"] = pd.concat([fb, pd.DataFrame(rows)], ignore_index=True)
    tables["feedback"]["rating"] = tables["feedback"]["rating"].astype("Int64")
    data = write_tables(tables, tmp_path / "data", "parquet")
    config = load_run_config(data=str(data), markets=["US"], start="2026-10-01",
                             end="2026-11-01", out=str(tmp_path / "out"), workers=2,
                             min_sample=2, notebooks=["voc", "summary"],
                             parameters={"verbatims_per_theme": 20})
    summary = run(plan_run(config, ROOT / "notebooks"), progress=False)
    assert summary.exit_status == 0, [r.error for r in summary.failed]
    pages = [(tmp_path / "out" / name).read_text() for name in
             ("US/voc.html", "US/summary.html", "index.html")]
    voc = pages[0]
    assert "cancel failed" in voc and "refund late" in voc  # the verbatims are shown...
    assert "&lt;script&gt;alert('pwned')&lt;/script&gt;" in voc  # ...as text
    for name, page in zip(("voc", "summary", "index"), pages, strict=True):
        tags = _tags(page)
        # no element carries an event handler, no script but the index's own sorter,
        # no image but the embedded charts
        assert not [(t, a) for t, attrs in tags for a, _ in attrs if a.startswith("on")]
        assert sum(t == "script" for t, _ in tags) == (1 if name == "index" else 0)
        assert all(v.startswith("data:image/") for t, attrs in tags if t == "img"
                   for a, v in attrs if a == "src")
        assert not [v for t, attrs in tags for a, v in attrs
                    if a == "href" and v and v.startswith("javascript")]
        assert "jo.tan@example.com" not in page
        for phone in ("812-3456-7890", "0917 555 1234", "555-0143", "7700 900123"):
            assert phone not in page
        assert "BUYER-SECRET-7" not in page
    assert voc.count("[email]") >= 1 and voc.count("[phone]") >= 4
