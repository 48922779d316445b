"""Classifiers learned from labelled texts: themes (``shopcx tag --train``) and sentiment.

Features: the normalised text (:func:`shopcx.voc.themes.normalize`: case and
accents folded) as hashed word 1-2-grams and character 2-4-grams within words
(2^18 buckets each, binary, L2-normalised; nothing is stored per vocabulary,
so a model is small and reads any language), plus, for theme models, one
feature per top-level theme saying whether its rules fired. One logistic
regression per theme (one-vs-rest) or per sentiment (negative vs positive).

The decision threshold of each theme is the one that maximises F1 over
out-of-fold predictions of a 5-fold cross-validation, and the precision and
recall reported are those out-of-fold figures (the threshold is chosen on the
same predictions, so they are slightly optimistic; the benchmark's figures
come from folds the model never saw).

A model file is a NumPy ``.npz`` archive (read with ``allow_pickle=False``:
no code runs when a model is loaded) holding the non-zero weights per head
and a JSON description (kind, heads, thresholds, training figures).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from shopcx.errors import InputError
from shopcx.voc.themes import TOP_THEMES, normalize

__all__ = ["TextModel", "featurize", "load_model", "train_sentiment", "train_themes"]

BUCKETS = 2 ** 18
FORMAT = 1
FOLDS = 5


def _vectorizers() -> tuple[Any, Any]:
    from sklearn.feature_extraction.text import HashingVectorizer

    common = {"n_features": BUCKETS, "binary": True, "norm": "l2", "alternate_sign": False,
              "lowercase": False, "dtype": np.float32}
    return (HashingVectorizer(analyzer="word", ngram_range=(1, 2),
                              token_pattern=r"(?u)[^\W_]+", **common),
            HashingVectorizer(analyzer="char_wb", ngram_range=(2, 4), **common))


@lru_cache(maxsize=1)
def _word_analyzer() -> Any:
    return _vectorizers()[0].build_analyzer()


def featurize(texts: list[str], rule_tops: list[set[str]] | None = None) -> Any:
    """Sparse features of texts (and of the top themes their rules found)."""
    from scipy import sparse

    norm = [normalize(t) if isinstance(t, str) else "" for t in texts]
    words, chars = _vectorizers()
    blocks = [words.transform(norm), chars.transform(norm)]
    if rule_tops is not None:
        rules = np.array([[top in tops for top in TOP_THEMES] for tops in rule_tops],
                         dtype=np.float32).reshape(len(texts), len(TOP_THEMES))
        blocks.append(sparse.csr_matrix(rules))
    return sparse.hstack(blocks, format="csr")


def _word_index(term: str) -> int:
    from sklearn.utils import murmurhash3_32

    return abs(int(murmurhash3_32(term, seed=0))) % BUCKETS


@dataclass
class TextModel:
    """A trained model: per head, weights (sparse), intercept and threshold."""

    kind: str                        # "themes" or "sentiment"
    heads: list[str]                 # theme ids, or ["positive"]
    weights: list[tuple[np.ndarray, np.ndarray]]  # per head: (indices, values)
    intercepts: list[float]
    thresholds: list[float]
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def uses_rules(self) -> bool:
        return self.kind == "themes"

    def _matrix(self) -> np.ndarray:
        """The weights as a dense (features x heads) matrix, built once."""
        cached = self.__dict__.get("_dense")
        if cached is None:
            width = 2 * BUCKETS + (len(TOP_THEMES) if self.uses_rules else 0)
            cached = np.zeros((width, len(self.heads)), dtype=np.float32)
            for k, (idx, val) in enumerate(self.weights):
                cached[idx, k] = val
            self.__dict__["_dense"] = cached
        return cached

    def probabilities(self, texts: list[str], rule_tops: list[set[str]] | None = None
                      ) -> np.ndarray:
        """Probability per text (rows) and head (columns)."""
        x = featurize(texts, rule_tops if self.uses_rules else None)
        z = x @ self._matrix() + np.asarray(self.intercepts, dtype=np.float32)
        return 1.0 / (1.0 + np.exp(-np.asarray(z)))

    def top_terms(self, text: str, head: str, n: int = 3) -> list[str]:
        """The words of a text that pushed it most towards a head (for explanations)."""
        column = self._matrix()[:, self.heads.index(head)]  # word features come first
        terms = set(_word_analyzer()(normalize(text)))
        scored = sorted(((float(column[_word_index(t)]), t) for t in terms), reverse=True)
        return [t for w, t in scored[:n] if w > 0]

    def save(self, path: str | Path) -> Path:
        """Write the model (atomically) as a ``.npz`` archive."""
        import io

        from shopcx.files import write_atomic

        arrays: dict[str, np.ndarray] = {}
        for k, (idx, val) in enumerate(self.weights):
            arrays[f"idx{k}"] = idx.astype(np.int32)
            arrays[f"val{k}"] = val.astype(np.float32)
        meta = {"format": FORMAT, "kind": self.kind, "heads": self.heads,
                "intercepts": self.intercepts, "thresholds": self.thresholds,
                "buckets": BUCKETS, **self.meta}
        arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **arrays)
        path = Path(path)
        write_atomic(path, buffer.getvalue())
        return path


def load_model(path: str | Path) -> TextModel:
    """Read a model file written by :meth:`TextModel.save`."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"model file {path} not found")
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(bytes(data["meta"]).decode())
            heads = meta["heads"]
            weights = [(data[f"idx{k}"], data[f"val{k}"]) for k in range(len(heads))]
    except (OSError, ValueError, KeyError) as exc:
        raise InputError(f"{path}: not a shopcx model file ({exc})") from exc
    if meta.get("format") != FORMAT or meta.get("buckets") != BUCKETS:
        raise InputError(f"{path}: model format {meta.get('format')} is not the one this "
                         f"version reads ({FORMAT}); train it again with shopcx tag --train")
    extra = {k: v for k, v in meta.items()
             if k not in {"format", "kind", "heads", "intercepts", "thresholds", "buckets"}}
    return TextModel(meta["kind"], heads, weights, list(meta["intercepts"]),
                     list(meta["thresholds"]), extra)


def _fit(x: Any, y: np.ndarray) -> tuple[np.ndarray, float]:
    from sklearn.linear_model import LogisticRegression

    clf = LogisticRegression(C=4.0, solver="liblinear", class_weight="balanced",
                             max_iter=200)
    clf.fit(x, y)
    return clf.coef_.ravel().astype(np.float32), float(clf.intercept_[0])


def _sparse(coef: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    keep = np.flatnonzero(np.abs(coef) >= 1e-4)
    return keep.astype(np.int32), coef[keep].astype(np.float32)


def _out_of_fold(x: Any, y: np.ndarray, seed: int = 0) -> np.ndarray:
    """Out-of-fold probabilities (stratified 5-fold; fewer folds for tiny classes)."""
    from sklearn.model_selection import StratifiedKFold

    folds = min(FOLDS, int(y.sum()), int((~y).sum()))
    out = np.full(len(y), np.nan)
    if folds < 2:
        return out
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=seed).split(x, y):
        coef, b = _fit(x[train], y[train])
        out[test] = 1.0 / (1.0 + np.exp(-(x[test] @ coef + b)))
    return out


def best_threshold(y: np.ndarray, p: np.ndarray, also: np.ndarray | None = None
                   ) -> tuple[float, float, float]:
    """Threshold maximising F1 of ``p >= t`` (or'ed with ``also``); (t, precision, recall).

    >>> best_threshold(np.array([1, 1, 0, 0], bool), np.array([.9, .6, .7, .1]))
    (0.6, 0.6666666666666666, 1.0)
    """
    best = (0.5, math.nan, math.nan, -1.0)
    extra = also if also is not None else np.zeros(len(y), bool)
    for t in np.unique(np.round(p[~np.isnan(p)], 4)):
        pred = (p >= t) | extra
        tp = int((pred & y).sum())
        f1 = 2 * tp / (pred.sum() + y.sum()) if pred.sum() + y.sum() else 0.0
        if f1 > best[3]:
            best = (float(t), float(tp / pred.sum()) if pred.sum() else math.nan,
                    float(tp / y.sum()) if y.sum() else math.nan, f1)
    return best[:3]


def train_themes(texts: list[str], labels: list[set[str]], rule_tops: list[set[str]],
                 min_examples: int = 5) -> TextModel:
    """One classifier per theme named in the labels (a theme needs ``min_examples`` texts)."""
    x = featurize(texts, rule_tops)
    heads, weights, intercepts, thresholds, report = [], [], [], [], {}
    names = sorted({t for s in labels for t in s})
    for theme in names:
        y = np.array([any(t == theme or t.startswith(theme + "/") for t in s)
                      for s in labels], dtype=bool)
        if y.sum() < min_examples or (~y).sum() < min_examples:
            report[theme] = {"examples": int(y.sum()), "skipped": "too few examples"}
            continue
        oof = _out_of_fold(x, y)
        t, precision, recall = best_threshold(y, oof)
        coef, b = _fit(x, y)
        heads.append(theme)
        weights.append(_sparse(coef))
        intercepts.append(b)
        thresholds.append(t)
        report[theme] = {"examples": int(y.sum()), "cv_precision": precision,
                         "cv_recall": recall, "threshold": t}
    if not heads:
        raise InputError("no theme has enough labelled examples to learn from "
                         f"(at least {min_examples} texts with it and {min_examples} without)")
    return TextModel("themes", heads, weights, intercepts, thresholds,
                     {"texts": len(texts), "cv": report})


def sentiment_labels(frame: pd.DataFrame) -> np.ndarray:
    """-1 / 0 / +1 / NaN per text (the evaluation's reading of sentiment and rating)."""
    from shopcx.voc.labels import expected_sentiment

    return expected_sentiment(frame).to_numpy()


def train_sentiment(texts: list[str], polarity: np.ndarray, language: str | None = None,
                    sources: list[str] | None = None) -> TextModel:
    """Negative-vs-positive classifier; score = 2p - 1. Neutral and unlabelled texts left out."""
    keep = np.isin(polarity, [-1, 1])
    if keep.sum() < 20 or len(set(polarity[keep])) < 2:
        raise InputError("sentiment needs at least 20 negative or positive texts of both kinds")
    kept = [t for t, k in zip(texts, keep, strict=True) if k]
    y = polarity[keep] > 0
    x = featurize(kept)
    oof = _out_of_fold(x, y)
    from sklearn.metrics import roc_auc_score

    auc = float(roc_auc_score(y, oof)) if not np.isnan(oof).any() else math.nan
    coef, b = _fit(x, y)
    return TextModel("sentiment", ["positive"], [_sparse(coef)], [b], [0.5],
                     {"language": language, "texts": int(keep.sum()), "cv_auc": auc,
                      "sources": sources or []})
