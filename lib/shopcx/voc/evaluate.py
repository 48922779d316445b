"""How well the tagger does against texts a person labelled (``shopcx evaluate``).

A labelled file is a CSV with a text column and any of:

* ``themes``: the themes a reader gave the text, semicolon-separated, top-level
  (``delivery``) or sub-themes (``delivery/late``); empty means "none of the
  themes". A top-level expectation is met by any sub-theme of that top;
* ``sentiment``: ``negative`` / ``neutral`` / ``positive`` (or a number,
  negative below 0);
* ``rating``: 1-5 stars, used for sentiment when ``sentiment`` is empty
  (1-2 negative, 4-5 positive, 3 left out);
* ``language``: the text's language (detected when missing).

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

__all__ = ["Evaluation", "evaluate_file", "evaluate_frame", "expected_sentiment",
           "read_labelled", "theme_scores", "theme_sets"]

POLARITY = {"negative": -1, "neg": -1, "neutral": 0, "neu": 0, "positive": 1, "pos": 1}


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


def theme_sets(values: pd.Series) -> list[set[str]]:
    """The ``;``-separated theme ids of each cell (empty or missing: none)."""
    return [{t.strip() for t in str(v).split(";") if t.strip()} if isinstance(v, str) else set()
            for v in values]


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


def expected_sentiment(frame: pd.DataFrame) -> pd.Series:
    """-1 / 0 / +1 per text from ``sentiment``, else from ``rating``; NaN when neither.

    >>> expected_sentiment(pd.DataFrame({"sentiment": ["positive", None, None],
    ...                                  "rating": [1, 2, 3]})).tolist()
    [1.0, -1.0, 0.0]
    """
    out = pd.Series(np.nan, index=frame.index, dtype=float)
    if "rating" in frame.columns:
        rating = pd.to_numeric(frame["rating"], errors="coerce")
        out = out.mask(rating <= 2, -1.0).mask(rating == 3, 0.0).mask(rating >= 4, 1.0)
    if "sentiment" in frame.columns:
        raw = frame["sentiment"]
        word = raw.astype(str).str.strip().str.lower().map(POLARITY)
        number = np.sign(pd.to_numeric(raw, errors="coerce"))
        labelled = word.fillna(number)
        out = labelled.where(labelled.notna(), out).astype(float)
    return out


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


def read_labelled(path: str | Path, text_column: str = "text") -> pd.DataFrame:
    """A labelled CSV, checked: it needs the text column and themes, sentiment or rating."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"labelled file {path} not found")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not a readable CSV file ({exc})") from exc
    if text_column not in frame.columns:
        raise InputError(f"{path}: column {text_column!r} not found; "
                         f"columns: {', '.join(map(str, frame.columns))}")
    if not {"themes", "sentiment", "rating"} & set(frame.columns):
        raise InputError(f"{path}: nothing to evaluate against; a labelled file needs a "
                         "'themes', 'sentiment' or 'rating' column")
    return frame


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
