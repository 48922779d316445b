"""Labelled texts: the file format that ``shopcx evaluate`` and ``tag --train`` read.

A labelled file is a CSV with a text column and any of:

* ``themes``: the themes a reader gave the text, semicolon-separated, top-level
  (``delivery``) or sub-themes (``delivery/late``); empty means "none of the
  themes";
* ``sentiment``: ``negative`` / ``neutral`` / ``positive`` (or a number,
  negative below 0);
* ``rating``: 1-5 stars, used for sentiment when ``sentiment`` is empty
  (1-2 negative, 4-5 positive, 3 neutral);
* ``language``: the text's language (detected when missing).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from shopcx.data.csvfile import check_csv
from shopcx.errors import InputError

__all__ = ["POLARITY", "expected_sentiment", "read_labelled", "theme_sets"]

POLARITY = {"negative": -1, "neg": -1, "neutral": 0, "neu": 0, "positive": 1, "pos": 1}


def theme_sets(values: pd.Series) -> list[set[str]]:
    """The ``;``-separated theme ids of each cell (empty or missing: none)."""
    return [{t.strip() for t in str(v).split(";") if t.strip()} if isinstance(v, str) else set()
            for v in values]


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


def read_labelled(path: str | Path, text_column: str = "text") -> pd.DataFrame:
    """A labelled CSV, checked: it needs the text column and themes, sentiment or rating."""
    path = Path(path)
    check_csv(path, "labelled file")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    except pd.errors.ParserError as exc:
        raise InputError(f"{path}: not a readable CSV file ({exc})") from exc
    if text_column not in frame.columns:
        raise InputError(f"{path}: column {text_column!r} not found; "
                         f"columns: {', '.join(map(str, frame.columns))}")
    if not {"themes", "sentiment", "rating"} & set(frame.columns):
        raise InputError(f"{path}: nothing to evaluate against; a labelled file needs a "
                         "'themes', 'sentiment' or 'rating' column")
    return frame
