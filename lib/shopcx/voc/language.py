"""Which language each text is in, when the data does not say or says it wrong.

Detection runs offline with `Lingua <https://github.com/pemistahl/lingua-py>`_
(``lingua-language-detector``, Apache-2.0; its language models ship inside the
wheel), restricted to the seven languages the workbook serves. Policy, per text:

* text with Thai letters making up at least a third of its letters: ``th``
  (Thai script is unambiguous; English words inside Thai chat are common);
* a given language (the ``language`` column or ``--language``) is kept, unless
  the text has at least :data:`MIN_WORDS_TO_OVERRULE` words, the detector gives
  the given language a confidence under :data:`OVERRULE_BELOW` and another
  language at least :data:`OVERRULE_ABOVE`: then the detected language is used
  and the text counts as *corrected*. Indonesian and Malay are close kin that
  short texts cannot tell apart: one is never overruled by the other;
* a missing, empty or unknown language is detected; text without letters stays
  unknown (None).

Mixed-language texts (English inside Malay, Indonesian or Thai) get the language
of most of their words; theme rules still apply English phrases to every text
(:mod:`shopcx.voc.themes`), and sentiment never reads a non-English text with
the English analyser.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from shopcx.voc.themes import LANGUAGES, THAI, normalize, tokenize

__all__ = ["LanguageReport", "detect_languages"]

MIN_WORDS_TO_OVERRULE = 3
OVERRULE_BELOW = 0.05
OVERRULE_ABOVE = 0.70
KIN = {"id": "ms", "ms": "id"}
# the commonest function words of each language (accents removed, as themes.normalize
# does): a text with at least two of its given language's, and no more of another's,
# keeps its language without running the detector (a fast path for the usual case)
FUNCTION_WORDS = {
    "en": set(["the", "and", "is", "are", "to", "my", "i", "it", "you", "of", "for", "not", "was", "this", "that", "have", "with", "but", "so", "very", "in", "on", "be", "we", "they", "at", "your", "from", "can", "just"]),
    "id": set(["yang", "dan", "di", "tidak", "ini", "itu", "saya", "dengan", "untuk", "ada", "sudah", "belum", "ga", "gak", "aja", "yg", "dgn", "utk", "tp", "tapi", "juga", "bisa", "sangat", "karena", "krn", "buat", "banget", "bgt", "sih", "deh", "kok"]),
    "ms": set(["yang", "dan", "tak", "ini", "itu", "saya", "aku", "dengan", "untuk", "ada", "dah", "nak", "tu", "ni", "je", "la", "lah", "kat", "pun", "dia", "kau", "tapi"]),
    "vi": set(["khong", "la", "va", "co", "cua", "duoc", "nay", "cho", "rat", "minh", "thi", "nhung", "cung", "voi", "da", "nen", "khi", "ma", "hoi", "lam", "qua", "den", "ve"]),
    "pt": set(["que", "nao", "de", "o", "a", "e", "do", "da", "com", "para", "um", "uma", "muito", "mas", "foi", "no", "na", "os", "as"]),
    "es": set(["que", "no", "de", "el", "la", "y", "es", "en", "por", "con", "para", "un", "una", "muy", "pero", "fue", "lo", "los", "las"]),
}
SAMPLE_CHARS = 100  # detection reads a text's first 100 characters (speed; ample for it)
LETTER = re.compile(r"[^\W\d_]")


class LanguageReport(Counter):
    """Counts per text: ``given`` (kept), ``detected``, ``corrected``, ``unknown``."""


@lru_cache(maxsize=1)
def _detector() -> Any:
    from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

    languages = [Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper()))
                 for code in LANGUAGES]
    return LanguageDetectorBuilder.from_languages(*languages).build()


def _code(language: Any) -> str:
    return language.iso_code_639_1.name.lower()


def _thai_share(text: str) -> float:
    if not THAI.search(text):
        return 0.0
    letters = LETTER.findall(text)
    return sum(1 for ch in letters if THAI.match(ch)) / len(letters) if letters else 0.0


def _looks_like(text: str, language: str) -> bool:
    """Whether the text has 2+ function words of ``language`` and no more of another's."""
    own = FUNCTION_WORDS.get(language)
    if own is None:
        return False
    words = tokenize(normalize(text[:SAMPLE_CHARS * 2]))
    count = sum(w in own for w in words)
    return count >= 2 and all(sum(w in other for w in words) <= count
                              for code, other in FUNCTION_WORDS.items()
                              if code not in (language, KIN.get(language)))


def detect_languages(texts: Sequence[Any], given: Sequence[Any] | None = None
                     ) -> tuple[list[str | None], LanguageReport]:
    """Each text's language (ISO 639-1) under the policy above, and what was done.

    >>> langs, report = detect_languages(
    ...     ["chegou no prazo, recomendo", "ยกเลิก order ได้ไหม", "123", "hủy đơn giúp em"],
    ...     ["en", None, None, "vi"])
    >>> langs, dict(sorted(report.items()))
    (['pt', 'th', None, 'vi'], {'corrected': 1, 'detected': 1, 'given': 1, 'unknown': 1})
    """
    given = list(given) if given is not None else [None] * len(texts)
    out: list[str | None] = [None] * len(texts)
    report = LanguageReport()
    to_detect: list[int] = []
    to_check: list[int] = []
    for i, (text, lang) in enumerate(zip(texts, given, strict=True)):
        lang = lang.strip().lower() if isinstance(lang, str) else None
        if not isinstance(text, str) or not LETTER.search(text):
            out[i] = lang if lang in LANGUAGES else None
            report["given" if out[i] else "unknown"] += 1
        elif _thai_share(text) >= 1 / 3:
            out[i] = "th"
            report["given" if lang == "th" else "corrected" if lang in LANGUAGES
                   else "detected"] += 1
        elif lang in LANGUAGES:
            out[i] = lang
            if len(text.split()) >= MIN_WORDS_TO_OVERRULE and not _looks_like(text, lang):
                to_check.append(i)
            else:
                report["given"] += 1
        else:
            to_detect.append(i)
    detector = _detector() if to_detect or to_check else None
    if to_detect:
        unique = list(dict.fromkeys(texts[i][:SAMPLE_CHARS] for i in to_detect))
        found = dict(zip(unique, detector.detect_languages_in_parallel_of(unique), strict=True))
        for i in to_detect:
            language = found[texts[i][:SAMPLE_CHARS]]
            out[i] = _code(language) if language is not None else None
            report["detected" if out[i] else "unknown"] += 1
    if to_check:
        unique = list(dict.fromkeys(texts[i][:SAMPLE_CHARS] for i in to_check))
        values = dict(zip(unique, detector.compute_language_confidence_values_in_parallel(
            unique), strict=True))
        for i in to_check:
            confidences = values[texts[i][:SAMPLE_CHARS]]
            scores = {_code(c.language): c.value for c in confidences}
            best = max(scores, key=scores.__getitem__)
            lang = out[i]
            if (best != lang and best != KIN.get(lang) and scores.get(lang, 0) < OVERRULE_BELOW
                    and scores[best] >= OVERRULE_ABOVE):
                out[i] = best
                report["corrected"] += 1
            else:
                report["given"] += 1
    return out, report
