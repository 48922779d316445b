"""Theme tagging: every rule type, every language, Thai without spaces, mixed languages."""

from __future__ import annotations

from pathlib import Path

import pytest

from shopcx.errors import InputError
from shopcx.voc.themes import OWNERS, TOP_THEMES, load_taxonomy, normalize

ROOT = Path(__file__).resolve().parents[1]

RULES = """
themes:
  delivery:
    label: Delivery
    subthemes:
      late:
        label: Late
        owner: logistics
        action: Chase the carrier.
        rules:
          any:
            en: ["parcel late", "deliver* slow*"]
            id: ["paket terlambat"]
            ms: ["bungkusan lewat"]
            th: ["ส่งช้า"]
            vi: ["giao hàng chậm"]
            pt: ["entrega atrasada"]
            es: ["entrega tardía"]
          none:
            en: ["not late"]
            id: ["tidak terlambat"]
            th: ["ไม่ช้า"]
  refund:
    label: Refund
    subthemes:
      slow_after_cancel:
        label: Refund slow after a cancellation
        owner: payments
        rules:
          all:
            - en: ["refund"]
              id: ["dana"]
              th: ["เงินคืน"]
              vi: ["hoàn tiền"]
              pt: ["reembolso"]
              es: ["reembolso"]
              ms: ["duit"]
            - en: ["cancel*"]
              id: ["batal*"]
              th: ["ยกเลิก"]
              vi: ["hủy"]
              pt: ["cancel*"]
              es: ["cancel*"]
              ms: ["batal*"]
"""


@pytest.fixture(scope="module")
def rules(tmp_path_factory: pytest.TempPathFactory):
    path = tmp_path_factory.mktemp("tax") / "taxonomy.yaml"
    path.write_text(RULES)
    return load_taxonomy(path)


def themes(taxonomy, text: str) -> list[str]:
    return [m.theme for m in taxonomy.tag(text)]


@pytest.mark.parametrize(("text", "expected"), [
    # any-of, one sentence per language
    ("My parcel is late again", ["delivery/late"]),             # one word in between
    ("Paket saya terlambat lagi", ["delivery/late"]),
    ("Bungkusan saya lewat", ["delivery/late"]),
    ("ส่งช้ามากรอนาน", ["delivery/late"]),                        # Thai, no spaces
    ("Giao hàng quá chậm", ["delivery/late"]),
    ("Entrega atrasada de novo", ["delivery/late"]),
    ("Una entrega tardía", ["delivery/late"]),
    # inflections, accents and typos
    ("deliveries were slower than promised", ["delivery/late"]),
    ("giao hang qua cham", ["delivery/late"]),                   # accents missing
    ("Una entrega tardia", ["delivery/late"]),
    ("PARCEL LATE!!!", ["delivery/late"]),
    # none-of cancels the match
    ("the parcel is late? no, it is not late", []),
    ("Paket terlambat? tidak terlambat kok", []),
    ("ส่งช้าไหมไม่ช้าเลย", []),
    # all-of needs one phrase of every group, in any language
    ("I cancelled but the refund never came", ["refund/slow_after_cancel"]),
    ("refund please", []),
    ("Đã hủy đơn mà chưa hoàn tiền", ["refund/slow_after_cancel"]),
    ("ยกเลิกแล้วยังไม่ได้เงินคืน", ["refund/slow_after_cancel"]),
    ("Pedido cancelado, reembolso nada", ["refund/slow_after_cancel"]),
    # mixed languages: English and Indonesian in one text
    ("Sudah batal tapi my refund belum masuk", ["refund/slow_after_cancel"]),
    ("parcel late, dan sudah batal, dana belum kembali",
     ["delivery/late", "refund/slow_after_cancel"]),
    ("", []),
])
def test_rule_types(rules, text: str, expected: list[str]) -> None:
    assert themes(rules, text) == expected


def test_matches_say_which_rule_fired(rules) -> None:
    (m,) = rules.tag("Giao hàng quá chậm")
    assert (m.theme, m.rule, m.language) == ("delivery/late", "any[vi] 'giao hàng chậm'", "vi")
    (m,) = rules.tag("I cancelled but the refund never came")
    assert m.rule == "all[en] 'refund'"


def test_typos_only_on_long_words(rules) -> None:
    assert themes(rules, "deliverys were slwo") == []        # 'slow*' is a prefix pattern
    assert themes(rules, "parcle late") == []                 # 'parcel' is too short for typos


@pytest.mark.parametrize(("text", "theme"), [
    ("I asked to cancel and the seller rejected it.", "cancellation/request_rejected"),
    ("Pengajuan pembatalan ditolak tanpa alasan", "cancellation/request_rejected"),
    ("Permintaan pembatalan ditolak tanpa sebab", "cancellation/request_rejected"),
    ("คำขอยกเลิกถูกปฏิเสธโดยไม่มีเหตุผล", "cancellation/request_rejected"),
    ("Yêu cầu hủy bị từ chối không lý do", "cancellation/request_rejected"),
    ("O vendedor recusou, cancelamento recusado", "cancellation/request_rejected"),
    ("No pude cancelar el pedido", "cancellation/request_rejected"),
    ("Where is my refund? money still not back", "refund/slow"),
    ("Refund belum masuk padahal pesanan sudah batal", "refund/slow"),
    ("ยังไม่ได้รับเงินคืนเลย", "refund/slow"),
    ("Tiền hoàn chưa về dù đơn đã hủy", "refund/slow"),
    ("NinjaVan lost my parcel", "delivery/lost_parcel"),
    ("Seller cancelled my order, out of stock", "seller/out_of_stock"),
    ("Shop tự hủy đơn, báo hết hàng", "seller/out_of_stock"),
    ("Cannot find where to cancel an order in the app", "cancellation/cannot_find_cancel"),
    ("หาปุ่มยกเลิกคำสั่งซื้อในแอปไม่เจอ", "cancellation/cannot_find_cancel"),
    ("Payment failed twice", "payment/failed"),
    ("The chatbot kept looping", "service/bot_loop"),
    ("La entrega tardía otra vez", "delivery/late"),
    ("Chegou rápido, entrega rápida", "delivery/fast"),
])
def test_project_taxonomy_on_hand_written_sentences(text: str, theme: str) -> None:
    taxonomy = load_taxonomy(ROOT / "params" / "voc_taxonomy.yaml")
    assert theme in themes(taxonomy, text)


def test_project_taxonomy_is_complete() -> None:
    taxonomy = load_taxonomy(ROOT / "params" / "voc_taxonomy.yaml")
    assert {t.top for t in taxonomy.themes.values()} == set(TOP_THEMES)
    assert {t.owner for t in taxonomy.themes.values()} == set(OWNERS)
    for theme in taxonomy.themes.values():
        phrases = [p for m in theme.mentions for p in m.any] if theme.mentions else theme.any
        assert {p.language for p in phrases} >= {"en", "id", "ms", "th", "vi", "pt", "es"}, \
            theme.id
    assert {t.id for t in taxonomy.themes.values() if t.mentions} == {
        f"{top}/other" for top in TOP_THEMES}


@pytest.mark.parametrize(("text", "message"), [
    ("themes:\n  weather:\n    subthemes:\n      rain: {owner: product, rules: {any: {en: [rain]}}}\n",
     "top-level theme must be one of"),
    ("themes:\n  app:\n    subthemes:\n      crash: {owner: marketing, rules: {any: {en: [crash]}}}\n",
     "owner must be one of"),
    ("themes:\n  app:\n    subthemes:\n      crash: {owner: product, rules: {any: {xx: [crash]}}}\n",
     "unknown language 'xx'"),
    ("themes:\n  app:\n    subthemes:\n      crash: {owner: product, rules: {none: {en: [x]}}}\n",
     "needs 'any' or 'all'"),
    ("themes:\n  app:\n    subthemes:\n      crash: {owner: product, rules: {any: {en: ['  ']}}}\n",
     "non-empty"),
])
def test_bad_taxonomies_are_rejected(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(text)
    with pytest.raises(InputError, match=message):
        load_taxonomy(path)


def test_normalize_keeps_thai_marks_and_drops_latin_accents() -> None:
    assert normalize("Đơn HÀNG") == "don hang"
    assert normalize("คืนเงิน") == "คืนเงิน"


OTHER_RULES = """
themes:
  cancellation:
    label: Cancellation
    other:
      label: Other cancellation
      owner: product
      unless: [refund]
      mentions:
        - any:
            en: ["cancel*"]
            id: ["batal"]  # the Indonesian stemmer finds it in "dibatalkan", "pembatalan"
  refund:
    label: Refund
    other:
      label: Other refund
      owner: payments
      mentions:
        - any:
            en: ["refund*"]
    subthemes:
      slow:
        label: Refund slow
        owner: payments
        rules:
          any:
            en: ["refund * late"]
  delivery:
    label: Delivery
    other:
      label: Other delivery
      owner: logistics
      mentions:
        - any:
            en: ["deliver*"]
          none:
            en: ["no problem* with deliver*"]
        - any:
            en: ["arriv*"]
          none:
            en: ["refund*", "money"]
    subthemes:
      late:
        label: Late
        owner: logistics
        rules:
          any:
            en: ["delivery late"]
  seller:
    label: Seller
    other:
      label: Other seller
      owner: seller operations
      alone: true
      mentions:
        - any:
            en: ["seller*"]
    subthemes:
      oos:
        label: Out of stock
        owner: seller operations
        rules:
          any:
            en: ["out of stock"]
"""


@pytest.fixture
def other_taxonomy(tmp_path: Path):
    path = tmp_path / "tax.yaml"
    path.write_text(OTHER_RULES)
    return load_taxonomy(path)


@pytest.mark.parametrize(("text", "language", "expected"), [
    # a mention with no sub-theme: top/other; a sub-theme wins over other
    ("Can you help me cancelling my last order?", "en", ["cancellation/other"]),
    ("How do I cancel?", "en", ["cancellation/other"]),          # a question still counts
    ("the refund is late again", "en", ["refund/slow"]),
    # negation: "no problem with delivery" is not about delivery
    ("No problem with the delivery, the colour is wrong", "en", []),
    ("Delivery late, no problem with the seller", "en", ["delivery/late"]),
    # a weak cue guarded by context: a refund that has not arrived is not a delivery
    ("My refund hasn't arrived", "en", ["refund/other"]),
    ("My card hasn't arrived", "en", ["delivery/other"]),
    # unless: the cancelled order is context in a refund complaint
    ("Order cancelled and refund still missing", "en", ["refund/other"]),
    # alone: "seller" names the topic only when nothing else does
    ("The seller is rude", "en", ["seller/other"]),
    ("The seller cancelled it", "en", ["cancellation/other"]),
    # phrases apply in their language (and English everywhere): "batal" is Indonesian
    ("pesanan dibatalkan", "id", ["cancellation/other"]),
    ("pesanan dibatalkan", "en", []),
    ("pesanan dibatalkan", None, ["cancellation/other"]),        # unknown: every language
    ("mau cancel pesanan", "id", ["cancellation/other"]),        # English inside Indonesian
    ("pesanan dibatalkan", "ms", ["cancellation/other"]),        # id and ms are kin
])
def test_top_other_negation_and_language(other_taxonomy, text: str, language: str | None,
                                         expected: list[str]) -> None:
    assert [m.theme for m in other_taxonomy.tag(text, language)] == expected


def test_other_source_names_the_mention(other_taxonomy) -> None:
    (m,) = other_taxonomy.tag("cancelling please", "en")
    assert m.rule == "mention any[en] 'cancel*'"


def test_stems_and_typos(other_taxonomy, tmp_path: Path) -> None:
    path = tmp_path / "stem.yaml"
    path.write_text(OTHER_RULES.replace('en: ["delivery late"]',
                                        'en: ["delivery late"]\n            pt: ["reembolso"]'))
    tax = load_taxonomy(path)
    assert [m.theme for m in tax.tag("foi reembolsado", "pt")] == ["delivery/late"]  # stem
    # shopping is a word, not a typo of shipping
    assert normalize("Shopping") == "shopping"


@pytest.mark.parametrize(("body", "message"), [
    ("    other: {label: x, owner: product, mentions: []}\n", "expected a list of rule sets"),
    ("    other: {label: x, owner: product, unless: [weather], mentions: [{any: {en: [a]}}]}\n",
     "unless: expected a list of top-level themes"),
    ("    other: {label: x, owner: nobody, mentions: [{any: {en: [a]}}]}\n",
     "owner must be one of"),
])
def test_other_errors(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("themes:\n  app:\n    label: App\n" + body + "    subthemes:\n"
                    "      crash: {owner: product, rules: {any: {en: [crash]}}}\n")
    with pytest.raises(InputError, match=message):
        load_taxonomy(path)
