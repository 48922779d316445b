"""Offline sentiment of customer text, from -1 (negative) to +1 (positive).

* English: VADER (the ``vaderSentiment`` package ships its lexicon), its
  compound score;
* Indonesian, Malay (read with the Indonesian model), Thai: classifiers
  shipped in ``shopcx/voc/models/``
  (:mod:`shopcx.voc.model`, trained by ``make models`` on openly licensed
  human-labelled text; provenance in docs/voc.md), score ``2p - 1`` where p is
  the probability of positive;
* Vietnamese, Portuguese, Spanish (and the three above when their model file
  is missing): small lexicons kept
  in ``params/sentiment_lexicons.yaml`` (valences on VADER's -4..4 scale,
  negators within three words flip and soften a term, longer terms win over the
  shorter terms inside them), summed and squashed like VADER
  (``x / sqrt(x² + 15)``);
* no usable text or no sentiment word: the rating, ``(rating - 3) / 2``.

Every score says which method produced it: ``vader``, ``model:<lang>``,
``lexicon:<lang>``, ``rating`` or ``none``. A text whose language is not
given is detected first (:mod:`shopcx.voc.language`); a non-English text is
never read by VADER.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from shopcx.errors import InputError
from shopcx.params import load_yaml, params_file
from shopcx.voc.themes import THAI, normalize, tokenize

__all__ = ["Lexicon", "load_lexicons", "score_sentiment", "score_sentiments"]

MODELS = Path(__file__).with_name("models")

NEGATION = -0.74  # VADER's scalar for a negated term
ALPHA = 15.0


def squash(x: float) -> float:
    """VADER's normalisation of a summed valence into -1..1.

    >>> round(squash(2.0), 4), squash(0.0)
    (0.4588, 0.0)
    """
    return x / math.sqrt(x * x + ALPHA)


@dataclass(frozen=True)
class Lexicon:
    """Terms with valences and the negators of one language."""

    language: str
    terms: tuple[tuple[tuple[str, ...] | str, float], ...]  # words, or a Thai substring
    negators: frozenset[str]

    def score(self, text: str) -> tuple[float, int]:
        """Summed valence and the number of terms found."""
        norm = normalize(text)
        if self.language == "th" or THAI.search(norm):
            return self._score_thai(norm.replace(" ", ""))
        words = tokenize(norm)
        starts = self._starts()
        hits_at: list[tuple[int, int, float]] = []  # (-length, position, valence)
        for i, word in enumerate(words):
            for term, valence in starts.get(word, ()) + starts.get("*" + word[:3], ()):
                n = len(term)
                if i + n <= len(words) and all(
                        _word(p, w) for p, w in zip(term, words[i:i + n], strict=True)):
                    hits_at.append((-n, i, valence))
        used = [False] * len(words)
        total, hits = 0.0, 0
        for neg_n, i, valence in sorted(hits_at):  # longest first, like the term order
            n = -neg_n
            if any(used[i:i + n]):
                continue
            for k in range(i, i + n):
                used[k] = True
            negated = any(w in self.negators for w in words[max(0, i - 3):i])
            total += valence * (NEGATION if negated else 1.0)
            hits += 1
        return total, hits

    def _starts(self) -> dict[str, tuple[tuple[tuple[str, ...], float], ...]]:
        """Word terms by their first word (``*abc`` for a prefix term, by 3 letters)."""
        cached = self.__dict__.get("_starts_cache")
        if cached is None:
            index: dict[str, list[tuple[tuple[str, ...], float]]] = {}
            for term, valence in self.terms:
                if isinstance(term, str) or not term:
                    continue
                first = term[0]
                key = "*" + first[:3] if first.endswith("*") else first
                index.setdefault(key, []).append((term, valence))
            cached = {k: tuple(v) for k, v in index.items()}
            object.__setattr__(self, "_starts_cache", cached)
        return cached

    def _score_thai(self, compact: str) -> tuple[float, int]:
        total, hits = 0.0, 0
        for term, valence in self.terms:  # longest first; a found term is blanked out
            if not isinstance(term, str):
                continue
            start = compact.find(term)
            while start >= 0:
                negated = any(compact[max(0, start - len(n)):start] == n for n in self.negators)
                total += valence * (NEGATION if negated else 1.0)
                hits += 1
                compact = compact[:start] + " " * len(term) + compact[start + len(term):]
                start = compact.find(term)
        return total, hits


def _word(pattern: str, word: str) -> bool:
    return word.startswith(pattern[:-1]) if pattern.endswith("*") else word == pattern


@lru_cache(maxsize=8)
def load_lexicons(path: str | None = None) -> dict[str, Lexicon]:
    """The lexicons of ``params/sentiment_lexicons.yaml`` (or ``path``), checked."""
    path = str(params_file(path, "sentiment_lexicons.yaml"))
    data = load_yaml(path)
    out = {}
    for lang, spec in data.items():
        where = f"{path}: {lang}"
        if not isinstance(spec, dict) or not isinstance(spec.get("terms"), dict):
            raise InputError(f"{where}: needs 'terms' (term: valence) and 'negators'")
        terms: list[tuple[tuple[str, ...] | str, float]] = []
        for term, valence in spec["terms"].items():
            if not isinstance(valence, int | float) or not -4 <= valence <= 4:
                raise InputError(f"{where}: valence of {term!r} must be a number in -4..4")
            norm = normalize(str(term))
            key: tuple[str, ...] | str = (norm.replace(" ", "") if THAI.search(norm)
                                          else tuple(re.findall(r"[^\W_]+\*?", norm)))
            terms.append((key, float(valence)))
        terms.sort(key=lambda t: -len(t[0]) if isinstance(t[0], str) else -len(t[0]) * 100)
        negators = frozenset(normalize(str(n)) for n in spec.get("negators") or [])
        out[lang] = Lexicon(lang, tuple(terms), negators)
    return out


@lru_cache(maxsize=1)
def _vader() -> Any:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def score_sentiment(text: str | None, language: str | None = None, rating: Any = None,
                    lexicons: dict[str, Lexicon] | None = None) -> tuple[float, str]:
    """Sentiment in -1..1 and the method that produced it.

    >>> score_sentiment("Great seller, fast delivery, thank you!")[1]
    'vader'
    >>> score_sentiment(None, rating=1)
    (-1.0, 'rating')
    """
    has_rating = rating is not None and not (isinstance(rating, float) and math.isnan(rating))
    fallback = ((float(rating) - 3) / 2, "rating") if has_rating else (math.nan, "none")
    if not isinstance(text, str) or not text.strip():
        return fallback
    lang = (language or "").lower() or ("th" if THAI.search(text) else None)
    if lang is None:  # unknown language: detect it rather than guess English
        from shopcx.voc.language import detect_languages

        lang = detect_languages([text])[0][0]
    if lang == "en":
        return float(_vader().polarity_scores(text)["compound"]), "vader"
    if lexicons is None and (model := shipped_model(lang)) is not None:
        return (float(2 * model.probabilities([text])[0, 0] - 1),
                f"model:{MODEL_OF.get(lang, lang)}")
    lexicons = lexicons if lexicons is not None else load_lexicons()
    if lang not in lexicons:
        return fallback if has_rating else (math.nan, "none")
    total, hits = lexicons[lang].score(text)
    if hits:
        return squash(total), f"lexicon:{lang}"
    # never the English analyser on a non-English text ("chegou no prazo": "no" is not English)
    return fallback if has_rating else (0.0, f"lexicon:{lang}")


# languages read with another language's shipped model: Malay with the Indonesian one
# (no Malay source with a license that allows shipping what is learned from it)
MODEL_OF = {"ms": "id"}


def shipped_model(language: str) -> Any:
    """The shipped sentiment model for a language (``MODEL_OF`` applied), or None."""
    return _load_shipped(MODEL_OF.get(language, language))


@lru_cache(maxsize=8)
def _load_shipped(code: str) -> Any:
    path = MODELS / f"sentiment_{code}.npz"
    if not path.is_file():
        return None
    from shopcx.voc.model import load_model

    return load_model(path)


def _model_for(language: str | None, models: dict[str, Any] | None) -> tuple[Any, str]:
    """The model to read a language with (a user's first, else shipped) and its label."""
    if not language:
        return None, ""
    if models and language in models:
        return models[language], f"model:{language}:own"
    model = shipped_model(language)
    return model, f"model:{MODEL_OF.get(language, language)}"


def score_sentiments(texts: Sequence[Any], languages: Sequence[str | None],
                     ratings: Sequence[Any] | None = None,
                     models: dict[str, Any] | None = None) -> list[tuple[float, str]]:
    """:func:`score_sentiment` for many texts, with each language's model run in one batch.

    ``languages`` should be resolved already (:func:`shopcx.voc.language.detect_languages`).
    ``models``: sentiment models a user trained (``shopcx tag --train``), by language;
    they take the place of the shipped analyser of their language (method
    ``model:<lang>:own``).
    """
    ratings = list(ratings) if ratings is not None else [None] * len(texts)
    out: list[tuple[float, str] | None] = [None] * len(texts)
    readers = {lang: _model_for(lang, models) for lang in set(languages)}
    by_language: dict[str, list[int]] = {}
    for i, (text, lang) in enumerate(zip(texts, languages, strict=True)):
        if isinstance(text, str) and text.strip() and readers[lang][0] is not None:
            by_language.setdefault(lang, []).append(i)
    for lang, rows in by_language.items():
        model, label = readers[lang]
        p = model.probabilities([texts[i] for i in rows])[:, 0]
        for i, prob in zip(rows, p, strict=True):
            out[i] = (float(2 * prob - 1), label)
    return [o if o is not None else score_sentiment(t, lang, r)
            for o, t, lang, r in zip(out, texts, languages, ratings, strict=True)]
