"""``shopcx tag``: any CSV of free text gets themes and sentiment, every column kept."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from shopcx.cli import main


@pytest.fixture
def survey(tmp_path: Path) -> Path:
    path = tmp_path / "survey.csv"
    pd.DataFrame({
        "response_id": ["r1", "r2", "r3", "r4", "r5"],
        "comment": ["The seller rejected my cancellation, refund late", "ส่งช้ามากพัสดุค้าง",
                    "Giao hàng nhanh, cảm ơn shop!", "", "Paket hilang, kecewa"],
        "lang": ["en", "th", "vi", "en", "id"],
        "score": ["1", "2", "5", "4", "1"],
        "note": ["keep, me", "001", "", "x", "y"],
    }).to_csv(path, index=False)
    return path


def test_tag_keeps_columns_and_adds_three(survey: Path, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "tagged.csv"
    code = main(["tag", "--input", str(survey), "--text-column", "comment",
                 "--language-column", "lang", "--rating-column", "score", "--out", str(out)])
    assert code == 0 and "tagged 5 rows" in capsys.readouterr().out
    t = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert list(t.columns) == ["response_id", "comment", "lang", "score", "note", "themes",
                               "sentiment", "sentiment_method"]
    assert t["note"].tolist() == ["keep, me", "001", "", "x", "y"]  # untouched, as text
    assert t["themes"].tolist() == [
        "cancellation/request_rejected;refund/slow", "delivery/late", "delivery/fast", "",
        "delivery/lost_parcel"]
    assert t["sentiment_method"].tolist() == ["vader", "model:th", "lexicon:vi", "rating",
                                              "model:id"]
    sentiment = t["sentiment"].astype(float)
    assert sentiment[0] < 0 and sentiment[1] < 0 and sentiment[2] > 0 and sentiment[4] < 0
    assert sentiment[3] == 0.5  # no text: (4 - 3) / 2


def test_tag_with_one_language_and_explanations(survey: Path, tmp_path: Path) -> None:
    out = tmp_path / "tagged.csv"
    assert main(["tag", "--input", str(survey), "--text-column", "comment", "--language", "en",
                 "--explain", "--out", str(out)]) == 0
    t = pd.read_csv(out, keep_default_na=False)
    assert t.loc[0, "theme_rules"].startswith("cancellation/request_rejected=any[en] ")


@pytest.mark.parametrize(("args", "message"), [
    (["--text-column", "body"], "column 'body' not found"),
    (["--text-column", "comment", "--language-column", "nope"], "column 'nope' not found"),
])
def test_tag_errors(survey: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                    args: list[str], message: str) -> None:
    out = tmp_path / "tagged.csv"
    assert main(["tag", "--input", str(survey), *args, "--out", str(out)]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_tag_missing_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tag", "--input", str(tmp_path / "none.csv"), "--text-column", "x",
                 "--out", str(tmp_path / "o.csv")]) == 2
    assert "not found" in capsys.readouterr().err


def test_parallel_chunks_equal_one_process(tmp_path: Path) -> None:
    """Chunks tagged by worker processes come back complete and in order."""
    from shopcx.voc.tagging import tag_csv

    texts = ["Refund belum masuk", "ส่งช้ามาก", "Entrega atrasada, péssimo", "great seller",
             "", "Chegou rápido"] * 9
    src = tmp_path / "in.csv"
    pd.DataFrame({"id": range(len(texts)), "text": texts}).to_csv(src, index=False)
    one, two = tmp_path / "one.csv", tmp_path / "two.csv"
    rows1, report1 = tag_csv(src, one, "text", chunk_rows=10, workers=1)
    rows2, report2 = tag_csv(src, two, "text", chunk_rows=10, workers=2)
    assert rows1 == rows2 == 54 and report1 == report2
    assert one.read_text() == two.read_text()
    assert pd.read_csv(two)["id"].tolist() == list(range(54))


@pytest.mark.parametrize(("content", "message"), [
    (b"", "the file is empty; a CSV with a header row is needed"),
    ("text,lang\nNão chegou,pt\n".encode("latin-1"),
     "not UTF-8 text (byte 0xe3 at position 11, line 2); save it as UTF-8"),
    (b"text,lang,text\na,en,b\n", "column 'text' appears twice in the header (columns 1 and 3)"),
])
def test_tag_bad_input_files(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                             content: bytes, message: str) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes(content)
    code = main(["tag", "--input", str(path), "--text-column", "text",
                 "--out", str(tmp_path / "out.csv")])
    err = capsys.readouterr().err
    assert code == 2 and message in err and str(path) in err
    assert "Traceback" not in err and not (tmp_path / "out.csv").exists()


def test_tag_reads_excel_utf8_with_bom(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes("\ufefftext\nRefund belum masuk\n".encode())
    out = tmp_path / "out.csv"
    assert main(["tag", "--input", str(path), "--text-column", "text", "--language", "id",
                 "--out", str(out)]) == 0
    assert pd.read_csv(out)["themes"].tolist() == ["refund/slow"]
