"""Tag any table of free text with VOC themes and sentiment (``shopcx tag``).

Adds three columns to a table, keeping every other column as it is:
``themes`` (semicolon-separated ``top/sub`` theme ids, empty when none),
``sentiment`` (-1..1) and ``sentiment_method``; with ``explain`` also
``theme_rules``, the rule that fired for each theme, and ``language_used``,
the language the text was read in (given, or detected when missing or wrong:
:mod:`shopcx.voc.language`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from shopcx.errors import InputError
from shopcx.voc.language import LanguageReport, detect_languages
from shopcx.voc.sentiment import score_sentiments
from shopcx.voc.themes import Match, Taxonomy, load_taxonomy

__all__ = ["TaggedTexts", "tag_csv", "tag_frame", "tag_texts"]


@dataclass
class TaggedTexts:
    """Themes, language and sentiment of a list of texts (:func:`tag_texts`)."""

    matches: list[list[Match]]
    languages: list[str | None]
    sentiment: list[tuple[float, str]]
    languages_report: LanguageReport


def tag_texts(texts: Sequence[Any], languages: Sequence[Any] | None = None,
              ratings: Sequence[Any] | None = None,
              taxonomy: Taxonomy | None = None) -> TaggedTexts:
    """The one VOC pipeline: resolve each text's language, then themes and sentiment.

    ``tag``, the VOC readout's pain points and ``evaluate`` all go through it.
    """
    taxonomy = taxonomy or load_taxonomy()
    langs, report = detect_languages(list(texts), languages)
    matches = [taxonomy.tag(t, lang) for t, lang in zip(texts, langs, strict=True)]
    scores = score_sentiments(texts, langs, ratings)
    return TaggedTexts(matches, langs, scores, report)


def tag_frame(frame: pd.DataFrame, text_column: str = "text", language: str | None = None,
              language_column: str | None = None, rating_column: str | None = None,
              taxonomy: Taxonomy | None = None, explain: bool = False) -> pd.DataFrame:
    """The table with ``themes``, ``sentiment`` and ``sentiment_method`` added.

    >>> t = tag_frame(pd.DataFrame({"text": ["Refund belum masuk", None]}), language="id")
    >>> t["themes"].tolist(), t["sentiment_method"].tolist()
    (['refund/slow', ''], ['model:id', 'none'])
    """
    for col in (text_column, language_column, rating_column):
        if col is not None and col not in frame.columns:
            raise InputError(f"column {col!r} not found; columns: {', '.join(map(str, frame.columns))}")
    taxonomy = taxonomy or load_taxonomy()
    out = frame.copy()
    texts = out[text_column].where(out[text_column].notna(), None).tolist()
    given = (out[language_column].where(out[language_column].notna(), None).tolist()
             if language_column else [language] * len(out))
    ratings = (pd.to_numeric(out[rating_column], errors="coerce").tolist()
               if rating_column else [None] * len(out))
    tagged = tag_texts(texts, given, ratings, taxonomy)
    matches, langs, scores, report = (tagged.matches, tagged.languages, tagged.sentiment,
                                      tagged.languages_report)
    out["themes"] = [";".join(m.theme for m in ms) for ms in matches]
    if explain:
        out["theme_rules"] = [";".join(f"{m.theme}={m.rule}" for m in ms) for ms in matches]
    out["sentiment"] = [round(s, 4) for s, _ in scores]
    out["sentiment_method"] = [m for _, m in scores]
    if explain:
        out["language_used"] = langs
    out.attrs["languages"] = dict(report)
    return out


def tag_csv(input_path: str | Path, output_path: str | Path, text_column: str,
            language: str | None = None, language_column: str | None = None,
            rating_column: str | None = None, taxonomy_path: str | None = None,
            explain: bool = False, chunk_rows: int = 50_000) -> int:
    """Tag a CSV file chunk by chunk into ``output_path`` (written atomically); return rows."""
    from shopcx.files import write_atomic

    source = Path(input_path)
    if not source.is_file():
        raise InputError(f"input file {source} not found")
    taxonomy = load_taxonomy(taxonomy_path)
    target = Path(output_path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.partial")
    rows = 0
    try:
        reader = pd.read_csv(source, dtype=str, keep_default_na=False, na_values=[""],
                             chunksize=chunk_rows)
        with open(tmp, "w", encoding="utf-8", newline="") as handle:
            for i, chunk in enumerate(reader):
                tagged = tag_frame(chunk, text_column, language, language_column,
                                   rating_column, taxonomy, explain)
                tagged.to_csv(handle, index=False, header=i == 0)
                rows += len(tagged)
        if rows == 0:  # an empty file still gets the header with the added columns
            header = pd.read_csv(source, nrows=0)
            write_atomic(tmp, tag_frame(header, text_column, language, language_column,
                                        rating_column, taxonomy, explain).to_csv(index=False))
        tmp.replace(target)
    except pd.errors.ParserError as exc:
        raise InputError(f"{source}: not a readable CSV file ({exc})") from exc
    finally:
        tmp.unlink(missing_ok=True)
    return rows
