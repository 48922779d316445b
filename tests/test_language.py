"""Language detection: missing, wrong and mixed languages (shopcx.voc.language)."""

from __future__ import annotations

from shopcx.voc.language import detect_languages
from shopcx.voc.sentiment import score_sentiment


def test_missing_languages_are_detected() -> None:
    texts = ["Terima kasih, barangnya sudah sampai dengan selamat",
             "Chegou antes do prazo, muito obrigado",
             "El paquete no ha llegado todavía y nadie responde",
             "Giao hàng nhanh, đóng gói cẩn thận",
             "The parcel has not arrived and nobody answers"]
    langs, report = detect_languages(texts)
    assert langs == ["id", "pt", "es", "vi", "en"]
    assert report == {"detected": 5}


def test_wrong_language_is_overruled_only_on_clear_evidence() -> None:
    texts = ["Chegou antes do prazo, muito obrigado pela entrega",  # said to be English
             "ok",                                                  # too short to overrule
             "Barang sudah sampai tapi kotak rosak sikit"]          # Malay said Indonesian
    langs, report = detect_languages(texts, ["en", "es", "id"])
    assert langs == ["pt", "es", "id"]  # id and ms are kin: never overruled by each other
    assert report == {"corrected": 1, "given": 2}


def test_mixed_language_texts() -> None:
    # Malay with English inside, Thai with English inside: the language of most words
    texts = ["Saya nak cancel order ni sebab seller lambat sangat hantar barang",
             "ยกเลิก order ได้ไหมคะ ร้านส่งช้ามาก"]
    langs, _ = detect_languages(texts)
    assert langs[0] in ("ms", "id") and langs[1] == "th"


def test_empty_and_symbol_texts_stay_unknown() -> None:
    langs, report = detect_languages([None, "", "12345 !!!", "👍👍"], [None, None, "xx", None])
    assert langs == [None, None, None, None] and report == {"unknown": 4}


def test_non_english_never_scored_by_vader() -> None:
    # "no" is Portuguese "in the"; VADER would read it as English "no"
    for text, lang in [("chegou no prazo", "pt"), ("no llegó", "es")]:
        assert not score_sentiment(text, lang)[1].startswith("vader")
