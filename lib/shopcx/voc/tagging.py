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
from shopcx.voc.model import TextModel
from shopcx.voc.sentiment import score_sentiments
from shopcx.voc.themes import Match, Taxonomy, load_taxonomy

__all__ = ["TaggedTexts", "combine", "tag_csv", "tag_frame", "tag_texts", "train_csv"]


@dataclass
class TaggedTexts:
    """Themes, language and sentiment of a list of texts (:func:`tag_texts`)."""

    matches: list[list[Match]]
    languages: list[str | None]
    sentiment: list[tuple[float, str]]
    languages_report: LanguageReport


def tag_texts(texts: Sequence[Any], languages: Sequence[Any] | None = None,
              ratings: Sequence[Any] | None = None, taxonomy: Taxonomy | None = None,
              model: TextModel | Sequence[TextModel] | None = None) -> TaggedTexts:
    """The one VOC pipeline: resolve each text's language, then themes and sentiment.

    ``tag``, the VOC readout's pain points and ``evaluate`` all go through it.
    ``model``: models from ``shopcx tag --train``. With a theme model, the rules'
    themes are decided by the model (:func:`combine`); a sentiment model reads
    the texts of its language instead of the shipped analyser.
    """
    taxonomy = taxonomy or load_taxonomy()
    models = [] if model is None else [model] if isinstance(model, TextModel) else list(model)
    langs, report = detect_languages(list(texts), languages)
    matches = [taxonomy.tag(t, lang) for t, lang in zip(texts, langs, strict=True)]
    for m in models:
        if m.kind == "themes":
            matches = combine(texts, matches, m, taxonomy)
    sentiment_models = {m.meta.get("language"): m for m in models if m.kind == "sentiment"}
    scores = score_sentiments(texts, langs, ratings, sentiment_models)
    return TaggedTexts(matches, langs, scores, report)


def _tops(ms: list[Match]) -> set[str]:
    return {m.theme.split("/")[0] for m in ms}


def combine(texts: Sequence[Any], matches: list[list[Match]], model: TextModel,
            taxonomy: Taxonomy) -> list[list[Match]]:
    """Rules and a trained theme model together; the model decides its own themes.

    The model sees the text and which top themes the rules found. For each theme
    it was trained on: when it says yes, the rules' tags of that theme stay (their
    source is the rule) and, if the rules had none, the text gets the theme with
    source ``model: term, term`` (a top-level theme becomes ``<top>/other``); when
    it says no, the rules' tags of that theme are dropped. Themes it was not
    trained on keep the rules' decision.
    """
    if model.kind != "themes":
        raise InputError(f"the model is a {model.kind} model, not a theme model")
    usable = [i for i, t in enumerate(texts) if isinstance(t, str) and t.strip()]
    if not usable:
        return matches
    probs = model.probabilities([texts[i] for i in usable],
                                [_tops(matches[i]) for i in usable])
    out = [list(ms) for ms in matches]
    for row, i in enumerate(usable):
        for k, head in enumerate(model.heads):
            def covers(theme: str, head: str = head) -> bool:
                return theme == head or theme.startswith(head + "/")

            ms = out[i]
            if probs[row, k] >= model.thresholds[k]:
                if not any(covers(m.theme) for m in ms):
                    theme = head if "/" in head else f"{head}/other"
                    terms = ", ".join(model.top_terms(texts[i], head)) or "text as a whole"
                    ms.append(Match(theme, f"model: {terms}", ""))
            else:
                out[i] = [m for m in ms if not covers(m.theme)]
    order = {t: n for n, t in enumerate(taxonomy.themes)}
    return [sorted(ms, key=lambda m: order.get(m.theme, len(order))) for ms in out]


def tag_frame(frame: pd.DataFrame, text_column: str = "text", language: str | None = None,
              language_column: str | None = None, rating_column: str | None = None,
              taxonomy: Taxonomy | None = None, explain: bool = False,
              model: TextModel | Sequence[TextModel] | None = None) -> pd.DataFrame:
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
    tagged = tag_texts(texts, given, ratings, taxonomy, model)
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


_WORKER: dict[str, Any] = {}


def _init_worker(taxonomy_path: str | None, model_paths: Sequence[str]) -> None:
    """A worker process loads the taxonomy and models once."""
    from shopcx.voc.model import load_model

    _WORKER["taxonomy"] = load_taxonomy(taxonomy_path)
    _WORKER["models"] = [load_model(p) for p in model_paths]


def _tag_chunk(chunk: pd.DataFrame, args: tuple[Any, ...]) -> pd.DataFrame:
    text_column, language, language_column, rating_column, explain = args
    tagged = tag_frame(chunk, text_column, language, language_column, rating_column,
                       _WORKER["taxonomy"], explain, _WORKER["models"])
    tagged.attrs = {"languages": tagged.attrs.get("languages", {})}
    return tagged


def tag_csv(input_path: str | Path, output_path: str | Path, text_column: str,
            language: str | None = None, language_column: str | None = None,
            rating_column: str | None = None, taxonomy_path: str | None = None,
            explain: bool = False, chunk_rows: int = 20_000,
            model_paths: Sequence[str | Path] = (),
            workers: int | None = None) -> tuple[int, LanguageReport]:
    """Tag a CSV file chunk by chunk into ``output_path`` (written atomically).

    Chunks are tagged by ``workers`` processes (default: the machine's cores, at
    most 4; 1 tags in this process) and written in their order. Returns the
    rows tagged and what was done about languages (given, detected, corrected).
    """
    import os
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    from shopcx.data.csvfile import check_csv
    from shopcx.files import write_atomic

    source = Path(input_path)
    check_csv(source)  # missing, empty, not UTF-8, a column named twice: a clear error
    from shopcx.voc.model import load_model

    taxonomy = load_taxonomy(taxonomy_path)  # checked here: a bad file fails before any work
    models = [str(p) for p in model_paths]
    # this process tags the first chunks itself when the file is small
    _WORKER.update(taxonomy=taxonomy, models=[load_model(p) for p in models])
    workers = workers or min(4, os.cpu_count() or 1)
    target = Path(output_path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.partial")
    rows = 0
    report = LanguageReport()
    args = (text_column, language, language_column, rating_column, explain)
    pool = None
    try:
        reader = pd.read_csv(source, dtype=str, keep_default_na=False, na_values=[""],
                             chunksize=chunk_rows)
        first = next(reader, None)
        with open(tmp, "w", encoding="utf-8", newline="") as handle:
            def write(tagged: pd.DataFrame) -> None:
                nonlocal rows
                tagged.to_csv(handle, index=False, header=rows == 0)
                rows += len(tagged)
                report.update(tagged.attrs.get("languages", {}))

            second = next(reader, None) if first is not None else None
            if second is None or workers == 1:  # one chunk: no process is started
                for chunk in (c for c in (first, second) if c is not None):
                    write(_tag_chunk(chunk, args))
                for chunk in reader:
                    write(_tag_chunk(chunk, args))
            else:
                pool = ProcessPoolExecutor(workers, mp_context=get_context("spawn"),
                                           initializer=_init_worker,
                                           initargs=(taxonomy_path, models))
                pending = [pool.submit(_tag_chunk, c, args) for c in (first, second)]
                for chunk in reader:
                    pending.append(pool.submit(_tag_chunk, chunk, args))
                    while len(pending) > 2 * workers:
                        write(pending.pop(0).result())
                for future in pending:
                    write(future.result())
        if rows == 0:  # an empty file still gets the header with the added columns
            header = pd.read_csv(source, nrows=0)
            write_atomic(tmp, tag_frame(header, text_column, language, language_column,
                                        rating_column, taxonomy, explain).to_csv(index=False))
        tmp.replace(target)
    except pd.errors.ParserError as exc:
        raise InputError(f"{source}: not a readable CSV file ({exc})") from exc
    finally:
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        tmp.unlink(missing_ok=True)
    return rows, report


def train_csv(labelled_path: str | Path, model_path: str | Path, text_column: str = "text",
              language: str | None = None, taxonomy_path: str | None = None,
              kind: str | None = None) -> TextModel:
    """Learn a model from a labelled CSV (``shopcx tag --train``) and save it.

    The labelled file is the ``shopcx evaluate`` format. ``kind``:

    * ``themes`` (the default when there is a ``themes`` column): one classifier
      per theme named in the labels (top-level or ``top/sub`` ids,
      ``;``-separated, empty for none), learning from the text and from what
      the rules found;
    * ``sentiment`` (the default otherwise): negative against positive from a
      ``sentiment`` column (negative / neutral / positive) or a 1-5 ``rating``,
      for one language (``language``, else the texts' most common language),
      used in place of that language's shipped analyser.
    """
    from shopcx.voc.labels import read_labelled, theme_sets
    from shopcx.voc.model import sentiment_labels, train_sentiment, train_themes

    frame = read_labelled(labelled_path, text_column)
    kind = kind or ("themes" if "themes" in frame.columns else "sentiment")
    texts = frame[text_column].where(frame[text_column].notna(), None).tolist()
    given = (frame["language"].where(frame["language"].notna(), None).tolist()
             if language is None and "language" in frame.columns else [language] * len(frame))
    if kind == "sentiment":
        if not {"sentiment", "rating"} & set(frame.columns):
            raise InputError(f"{labelled_path}: sentiment training needs a 'sentiment' or "
                             "'rating' column")
        langs, _ = detect_languages(texts, given)
        known = pd.Series([x for x in langs if x])
        if known.empty:
            raise InputError(f"{labelled_path}: no text with a known language to learn from")
        lang = language or str(known.mode().iloc[0])
        model = train_sentiment([t or "" for t in texts], sentiment_labels(frame), lang,
                                [Path(labelled_path).name])
    elif kind == "themes":
        if "themes" not in frame.columns:
            raise InputError(f"{labelled_path}: theme training needs a 'themes' column "
                             "(the themes a reader gave each text)")
        taxonomy = load_taxonomy(taxonomy_path)
        labels = theme_sets(frame["themes"])
        known_themes = set(taxonomy.themes) | {t.split("/")[0] for t in taxonomy.themes}
        unknown = sorted({t for s in labels for t in s} - known_themes)
        if unknown:
            row = next(i for i, s in enumerate(labels) if set(s) & set(unknown))
            raise InputError(f"{labelled_path}: column 'themes': unknown theme(s) "
                             f"{', '.join(unknown)} (row {row + 2}: "
                             f"{frame['themes'].iloc[row]!r}); themes are the taxonomy's "
                             "top-level or top/sub ids")
        langs, _ = detect_languages(texts, given)
        model = train_themes([t or "" for t in texts], labels,
                             [_tops(taxonomy.tag(t, lang))
                              for t, lang in zip(texts, langs, strict=True)])
    else:
        raise InputError(f"--kind must be themes or sentiment, not {kind!r}")
    model.meta["trained_on"] = Path(labelled_path).name
    model.save(model_path)
    return model
