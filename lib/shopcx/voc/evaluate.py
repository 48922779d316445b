"""How well the tagger does against texts a person labelled (``shopcx evaluate``).

The labelled file's format is in :mod:`shopcx.voc.labels`. A top-level
expected theme is met by any sub-theme of that top.

Per theme it counts support (texts that should carry it), predicted, true
positives, and gives precision, recall and F1; coverage is the share of texts
that get any theme. Sentiment is scored by the area under the ROC curve of
negative against positive texts (neutral texts left out): 0.5 is chance, 1.0
separates them perfectly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from shopcx.errors import InputError
from shopcx.voc.labels import expected_sentiment, read_labelled, theme_sets

__all__ = ["Evaluation", "evaluate_file", "evaluate_frame", "sentiment_auc", "theme_scores"]


@dataclass
class Evaluation:
    """The result of one evaluation: a row per theme, and the file's summary."""

    themes: pd.DataFrame     # theme, support, predicted, true_positives, precision, recall, f1
    texts: int
    coverage: float          # share of texts with any theme
    sentiment_auc: float     # NaN without sentiment labels
    sentiment_texts: int     # negative + positive texts the AUC was computed on

    def to_dict(self) -> dict[str, Any]:
        def clean(v: Any) -> Any:
            return None if isinstance(v, float) and math.isnan(v) else v

        return {"texts": self.texts, "coverage": clean(self.coverage),
                "sentiment_auc": clean(self.sentiment_auc),
                "sentiment_texts": self.sentiment_texts,
                "themes": [{k: clean(v) for k, v in row.items()}
                           for row in self.themes.to_dict("records")]}

    def to_table(self) -> str:
        """The evaluation as plain text, a line per theme."""
        def pct(v: float) -> str:
            return "   n/a" if math.isnan(v) else f"{v:6.2f}"

        lines = [f"texts: {self.texts:,}   with any theme (coverage): "
                 f"{'n/a' if math.isnan(self.coverage) else f'{self.coverage:.1%}'}"]
        if self.sentiment_texts:
            lines.append(f"sentiment AUC, negative vs positive: {pct(self.sentiment_auc).strip()}"
                         f" on {self.sentiment_texts:,} texts")
        if len(self.themes):
            lines.append(f"{'theme':<28}{'support':>9}{'predicted':>10}{'P':>7}{'R':>7}{'F1':>7}")
            for r in self.themes.itertuples():
                lines.append(f"{r.theme:<28}{r.support:>9,}{r.predicted:>10,}"
                             f"{pct(r.precision):>7}{pct(r.recall):>7}{pct(r.f1):>7}")
        return "\n".join(lines)


def _carries(predicted: set[str], theme: str) -> bool:
    """Whether predicted themes meet an expected theme (a top is met by any of its subs)."""
    if "/" in theme:
        return theme in predicted
    return any(p == theme or p.startswith(theme + "/") for p in predicted)


def theme_scores(expected: list[set[str]], predicted: list[set[str]],
                 themes: list[str] | None = None) -> pd.DataFrame:
    """Precision, recall and F1 per theme.

    ``themes`` defaults to every theme that appears in ``expected``. Precision
    is NaN when the tagger never predicted the theme, recall when no text
    should carry it.

    >>> theme_scores([{"refund"}, set(), {"refund"}],
    ...              [{"refund/slow"}, {"refund/other"}, set()]).iloc[0].to_dict()
    ... # doctest: +NORMALIZE_WHITESPACE
    {'theme': 'refund', 'support': 2, 'predicted': 2, 'true_positives': 1,
     'precision': 0.5, 'recall': 0.5, 'f1': 0.5}
    """
    if len(expected) != len(predicted):
        raise ValueError("expected and predicted differ in length")
    if themes is None:
        themes = sorted({t for s in expected for t in s})
    rows = []
    for theme in themes:
        want = np.array([_carries(s, theme) for s in expected], dtype=bool)
        got = np.array([_carries(s, theme) for s in predicted], dtype=bool)
        tp = int((want & got).sum())
        support, npred = int(want.sum()), int(got.sum())
        precision = tp / npred if npred else math.nan
        recall = tp / support if support else math.nan
        f1 = (2 * tp / (support + npred)) if support + npred else math.nan
        rows.append({"theme": theme, "support": support, "predicted": npred,
                     "true_positives": tp, "precision": precision, "recall": recall, "f1": f1})
    return pd.DataFrame(rows, columns=["theme", "support", "predicted", "true_positives",
                                       "precision", "recall", "f1"])


def sentiment_auc(expected: pd.Series, scores: pd.Series) -> tuple[float, int]:
    """AUC of scores for negative (-1) against positive (+1) texts, and how many texts.

    >>> sentiment_auc(pd.Series([-1, 1, 1, 0]), pd.Series([-0.5, 0.2, -0.6, 0.9]))
    (0.5, 3)
    """
    from sklearn.metrics import roc_auc_score

    keep = expected.isin([-1, 1]) & scores.notna()
    y, s = expected[keep], scores[keep]
    if y.nunique() < 2:
        return math.nan, int(keep.sum())
    return float(roc_auc_score(y > 0, s)), int(keep.sum())


def evaluate_frame(frame: pd.DataFrame, tagged: pd.DataFrame,
                   themes: list[str] | None = None) -> Evaluation:
    """Compare a tagged copy of a labelled table with its labels."""
    predicted = theme_sets(tagged["themes"])
    scores = (theme_scores(theme_sets(frame["themes"]), predicted, themes)
              if "themes" in frame.columns or themes else
              theme_scores([set()] * len(frame), predicted, []))
    coverage = float(np.mean([bool(p) for p in predicted])) if predicted else math.nan
    if {"sentiment", "rating"} & set(frame.columns):
        auc, n = sentiment_auc(expected_sentiment(frame),
                               pd.to_numeric(tagged["sentiment"], errors="coerce"))
    else:
        auc, n = math.nan, 0
    return Evaluation(scores, len(frame), coverage, auc, n)


def evaluate_file(path: str | Path, text_column: str = "text", language: str | None = None,
                  themes: list[str] | None = None, taxonomy_path: str | None = None,
                  model_paths: list[str | Path] | tuple[()] = ()) -> Evaluation:
    """Tag a labelled CSV and compare the tags with its labels (``shopcx evaluate``)."""
    from shopcx.voc.model import load_model
    from shopcx.voc.tagging import tag_frame
    from shopcx.voc.themes import load_taxonomy

    frame = read_labelled(path, text_column)
    taxonomy = load_taxonomy(taxonomy_path)
    if themes:
        known = set(taxonomy.themes) | {t.split("/")[0] for t in taxonomy.themes}
        unknown = [t for t in themes if t not in known]
        if unknown:
            raise InputError(f"--themes: unknown theme(s) {', '.join(unknown)}")
    language_column = ("language" if language is None and "language" in frame.columns
                       else None)
    # the rating is a label here, never passed to the tagger as a sentiment fallback
    tagged = tag_frame(frame, text_column, language=language,
                       language_column=language_column,
                       taxonomy=taxonomy,
                       model=[load_model(p) for p in model_paths])
    return evaluate_frame(frame, tagged, themes)
