"""Sentiment on labelled hand-written examples in every supported language."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from shopcx.errors import InputError
from shopcx.voc.sentiment import load_lexicons, score_sentiment, score_sentiments

POSITIVE = [
    ("Arrived fast and well packed, thank you! Great seller.", "en", "vader"),
    ("Barang cepat sampai dan dikemas rapi, mantap, terima kasih!", "id", "model:id"),
    ("Barang sampai cepat, penjual bagus dan mesra", "ms", "model:id"),
    ("ของมาถึงเร็วมากประทับใจขอบคุณค่ะ", "th", "model:th"),
    ("Giao hàng nhanh, đóng gói cẩn thận, cảm ơn shop!", "vi", "lexicon:vi"),
    ("Chegou rápido, ótimo vendedor, recomendo", "pt", "lexicon:pt"),
    ("Entrega rápida, excelente, gracias", "es", "lexicon:es"),
]
NEGATIVE = [
    ("Terrible. The seller rejected my cancellation and support was useless.", "en", "vader"),
    ("Paket hilang, kecewa sekali, pengiriman lambat", "id", "model:id"),
    ("Penghantaran lambat, barang rosak, kecewa", "ms", "model:id"),
    ("ส่งช้ามากผิดหวังพัสดุหาย", "th", "model:th"),
    ("Giao hàng chậm, hàng kém, thất vọng", "vi", "lexicon:vi"),
    ("Entrega atrasada, péssimo, produto ruim", "pt", "lexicon:pt"),
    ("Pésimo servicio, entrega tardía y mala calidad", "es", "lexicon:es"),
]


@pytest.mark.parametrize(("text", "lang", "method"), POSITIVE)
def test_positive(text: str, lang: str, method: str) -> None:
    score, used = score_sentiment(text, lang)
    assert used == method and 0.3 < score <= 1


@pytest.mark.parametrize(("text", "lang", "method"), NEGATIVE)
def test_negative(text: str, lang: str, method: str) -> None:
    score, used = score_sentiment(text, lang)
    assert used == method and -1 <= score < -0.3


@pytest.mark.parametrize(("text", "lang"), [
    ("Barang tidak bagus", "id"),       # negated positive turns negative
    ("Hàng không tốt", "vi"),
    ("ไม่ประทับใจ", "th"),
    ("Não é bom", "pt"),
])
def test_negation(text: str, lang: str) -> None:  # the lexicons' negators
    assert score_sentiment(text, lang, lexicons=load_lexicons())[0] < 0


def test_longer_terms_win() -> None:
    # 'tidak sesuai' (-2.0) is one negative term, not a negated 'sesuai' (+1.5)
    score, _ = score_sentiment("barang tidak sesuai", "id", lexicons=load_lexicons())
    assert score == pytest.approx(-2.0 / math.sqrt(4 + 15))


def test_language_unknown_and_mixed() -> None:
    assert score_sentiment("ส่งช้ามาก")[1] == "model:th"       # Thai script detected
    assert score_sentiment("Paket hilang, kecewa sekali")[1] in ("model:id", "model:ms")
    score, method = score_sentiment("Refund belum masuk, so disappointed", "id")
    assert score < 0 and method == "model:id"
    # Portuguese is never read by VADER: "no" is not the English "no"
    score, method = score_sentiment("chegou no prazo", "pt")
    assert method == "lexicon:pt" and score >= 0


def test_batch_equals_one_by_one() -> None:
    texts = ["Barang bagus, mantap", "ส่งช้ามาก", "Great, thanks", None, "Chegou rápido"]
    langs = ["id", "th", "en", "en", "pt"]
    batch = score_sentiments(texts, langs, [None, None, None, 4, None])
    single = [score_sentiment(t, lang, r)
              for t, lang, r in zip(texts, langs, [None, None, None, 4, None], strict=True)]
    assert [m for _, m in batch] == [m for _, m in single]
    assert [s for s, _ in batch] == pytest.approx([s for s, _ in single], abs=1e-5)


def test_rating_fallback() -> None:
    assert score_sentiment(None, "en", 5) == (1.0, "rating")
    assert score_sentiment("", None, 3) == (0.0, "rating")
    assert score_sentiment("Đơn hàng số 123", "vi", 2) == (-0.5, "rating")
    score, method = score_sentiment(None)
    assert math.isnan(score) and method == "none"


def test_bad_lexicon(tmp_path: Path) -> None:
    path = tmp_path / "lex.yaml"
    path.write_text("id:\n  terms:\n    bagus: 9\n")
    with pytest.raises(InputError, match="valence"):
        load_lexicons(str(path))
