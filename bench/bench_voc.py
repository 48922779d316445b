"""VOC quality on real, human-labelled text: ``make bench-voc``.

Runs the tagger on every file of ``../shared/corpora/`` (or ``--corpora DIR``),
maps each source's own labels to the workbook's themes and prints, per file,
coverage, per-theme precision / recall / F1 and sentiment AUC (negative vs
positive: the human label, else rating 1-2 vs 4-5), then the tagging speed on
100,000 texts. Writes ``outputs/bench/voc.json``.

Label mappings (the source's label -> expected theme):

* banking77 intents request_refund, Refund_not_showing_up -> refund;
  cancel_transfer -> cancellation; card_arrival, card_delivery_estimate ->
  delivery; declined_card_payment, pending_card_payment,
  transaction_charged_twice, card_payment_not_recognised,
  reverted_card_payment? -> payment; every other intent -> none of these;
* Thai call-centre utterances with action:cancel -> cancellation;
* airline tweets: the complaint reason "Cancelled Flight" -> cancellation,
  scored on the tweets that have a complaint reason (only negative tweets
  were given one, so a positive tweet about a rebooked cancellation has no
  label to be right or wrong against);
* ``tests/data/voc_labelled/<corpus>.labels.csv``: samples we labelled by
  reading the texts (docs/voc.md says how): corpus row numbers and themes.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from shopcx.voc.evaluate import sentiment_auc, theme_scores
from shopcx.voc.labels import theme_sets
from shopcx.voc.model import sentiment_labels, train_sentiment, train_themes
from shopcx.voc.tagging import combine, tag_frame, tag_texts
from shopcx.voc.themes import load_taxonomy

ROOT = Path(__file__).resolve().parents[1]
LABELLED = ROOT / "tests" / "data" / "voc_labelled"
sys.path.insert(0, str(ROOT / "bench"))
from train_models import SHIPPED  # noqa: E402  (the shipped models' training sources)

BANKING = {"request_refund": "refund", "Refund_not_showing_up": "refund",
           "cancel_transfer": "cancellation", "card_arrival": "delivery",
           "card_delivery_estimate": "delivery", "declined_card_payment": "payment",
           "pending_card_payment": "payment", "transaction_charged_twice": "payment",
           "card_payment_not_recognised": "payment", "reverted_card_payment?": "payment"}


def _labels(name: str, frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """The corpus with a ``themes`` column from its own labels, and the themes to score.

    Rows without a theme label (airline tweets without a complaint reason) get
    a missing ``themes`` value and are left out of the theme scores.
    """
    label = frame["label"].fillna("")
    if name.startswith("en_banking77"):
        return frame.assign(themes=label.map(BANKING).fillna("")), sorted(set(BANKING.values()))
    if name.startswith("th_truevoice"):
        cancel = label.str.contains(r"(?:^|\|)action:cancel(?:\||$)", regex=True)
        return frame.assign(themes=cancel.map({True: "cancellation", False: ""})), [
            "cancellation"]
    if name.startswith("en_airline"):
        themes = (label == "Cancelled Flight").map({True: "cancellation", False: ""})
        return frame.assign(themes=themes.where(label != "", None)), ["cancellation"]
    return frame, []


def read_own_labels(path: Path, folder: Path) -> pd.DataFrame:
    """A sample we labelled: rows of a corpus file (``<corpus>.labels.csv``) with themes.

    Sentiment and rating are dropped: the sample is for themes (its corpus row
    already counts for sentiment).
    """
    labels = pd.read_csv(path, comment="#", dtype={"row": int, "themes": str},
                         keep_default_na=False)
    corpus = pd.read_csv(folder / path.name.replace(".labels.csv", ".csv"), dtype=str,
                         keep_default_na=False, na_values=[""])
    sample = corpus.iloc[labels["row"].to_numpy()].reset_index(drop=True)
    return sample.drop(columns=["sentiment", "rating"]).assign(themes=labels["themes"].values)


def _fmt(v: float | None) -> str:
    return "  n/a" if v is None or v != v else f"{v:5.2f}"


def _scores(expected: list[set[str]], predicted: list[set[str]], themes: list[str]) -> list:
    return theme_scores(expected, predicted, themes).to_dict("records")


def rules_plus_model(texts: list, labels: list[set[str]], matches: list, themes: list[str],
                     taxonomy) -> list[dict]:
    """Theme scores of rules + a model trained on the other folds (5-fold, out of fold)."""
    from sklearn.model_selection import KFold

    predicted: list[set[str]] = [set() for _ in texts]
    tops = [{m.theme.split("/")[0] for m in ms} for ms in matches]
    for train, test in KFold(5, shuffle=True, random_state=0).split(texts):
        model = train_themes([texts[i] or "" for i in train], [labels[i] for i in train],
                             [tops[i] for i in train])
        combined = combine([texts[i] for i in test], [matches[i] for i in test], model,
                           taxonomy)
        for i, ms in zip(test, combined, strict=True):
            predicted[i] = {m.theme for m in ms}
    return _scores(labels, predicted, themes)


def sentiment_cv(texts: list, polarity: np.ndarray, extra: pd.DataFrame | None = None
                 ) -> float:
    """Out-of-fold AUC of the ``--train`` sentiment recipe on a file's own labels.

    ``extra``: texts always in the training folds (the other sources a shipped
    model is trained on), so the figure is the shipped recipe's, out of fold.
    """
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    keep = np.flatnonzero(np.isin(polarity, [-1, 1]))
    if len(keep) < 20:
        return float("nan")
    y = polarity[keep] > 0
    oof = np.zeros(len(keep))
    extra_texts = extra["text"].tolist() if extra is not None else []
    extra_y = sentiment_labels(extra) if extra is not None else np.array([])
    for train, test in StratifiedKFold(5, shuffle=True, random_state=0).split(keep, y):
        model = train_sentiment([texts[keep[i]] for i in train] + extra_texts,
                                np.concatenate([polarity[keep[train]], extra_y]))
        oof[test] = model.probabilities([texts[keep[i]] for i in test])[:, 0]
    return float(roc_auc_score(y, oof))


def evaluate_corpora(folder: Path, taxonomy_path: str | None = None,
                     train: bool = True) -> list[dict]:
    taxonomy = load_taxonomy(taxonomy_path)
    rows = []
    files = sorted(folder.glob("*.csv")) + sorted(LABELLED.glob("*.labels.csv"))
    for path in files:
        if path.name.endswith(".labels.csv"):  # our own labels for rows of a corpus file
            frame, themes = read_own_labels(path, folder), []
        else:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
            frame, themes = _labels(path.stem, frame)
        lang_col = "language" if "language" in frame.columns else None
        started = time.perf_counter()
        tagged = tag_frame(frame, "text", language_column=lang_col, taxonomy=taxonomy,
                           explain=True)
        seconds = time.perf_counter() - started
        row: dict = {"file": path.name, "texts": len(frame), "seconds": round(seconds, 2),
                     "coverage": float((tagged["themes"] != "").mean())}
        if "themes" in frame.columns:
            labelled = frame["themes"].notna().to_numpy()
            expected = theme_sets(frame["themes"][labelled])
            predicted = theme_sets(tagged["themes"][labelled])
            themes = themes or sorted({t for s in expected for t in s})
            row["themes"] = _scores(expected, predicted, themes)
            row["theme_texts"] = int(labelled.sum())
            if train and themes:
                texts = frame["text"][labelled].tolist()
                langs = tagged["language_used"][labelled].tolist()
                matches = tag_texts(texts, langs, None, taxonomy).matches
                row["themes_with_model"] = rules_plus_model(texts, expected, matches, themes,
                                                            taxonomy)
        polarity = sentiment_labels(frame)
        if np.isin(polarity, [-1, 1]).any():
            auc, n = sentiment_auc(pd.Series(polarity),
                                   pd.to_numeric(tagged["sentiment"], errors="coerce"))
            methods = tagged["sentiment_method"].value_counts()
            row.update(sentiment_auc=auc, sentiment_texts=n,
                       sentiment_method=str(methods.index[0]) if len(methods) else "")
            language = frame["language"].mode().iloc[0]
            # the shipped model learned from this file: only out-of-fold figures count
            row["sentiment_cv_is_shipped"] = path.name in SHIPPED.get(language, [])
            if train:
                shipped = [f for f in SHIPPED.get(language, []) if f != path.name]
                extra = (pd.concat([pd.read_csv(folder / f, dtype=str, keep_default_na=False,
                                                na_values=[""]) for f in shipped],
                                   ignore_index=True)
                         if path.name in SHIPPED.get(language, []) and shipped else None)
                cv = sentiment_cv(frame["text"].fillna("").tolist(), polarity, extra)
                row["sentiment_cv_auc"] = cv
        rows.append(row)
    return rows


def print_table(rows: list[dict]) -> None:
    print("Themes (top level), precision / recall / F1 (support); rules alone, and rules "
          "with a model trained on the other folds (5-fold, out of fold)")
    for r in rows:
        for k, t in enumerate(r.get("themes", [])):
            with_model = r.get("themes_with_model", [{}] * len(r["themes"]))[k]
            print(f"  {r['file']:<34} {t['theme']:<13} rules {_fmt(t['precision'])} /"
                  f"{_fmt(t['recall'])} /{_fmt(t['f1'])} ({t['support']:,})   "
                  f"+model {_fmt(with_model.get('precision'))} /"
                  f"{_fmt(with_model.get('recall'))} /{_fmt(with_model.get('f1'))}")
    print("\nSentiment AUC, negative vs positive (human label, else rating 1-2 vs 4-5); "
          "coverage = texts with any theme")
    print(f"  {'file':<34}{'texts':>7}{'cover':>7}  {'shipped':>8} {'method':<12}"
          f"{'--train CV':>11}")
    for r in rows:
        cv = r.get("sentiment_cv_auc")
        note = " (= shipped model, out of fold)" if r.get("sentiment_cv_is_shipped") else ""
        shipped = (_fmt(cv) if r.get("sentiment_cv_is_shipped")
                   else _fmt(r.get("sentiment_auc")))
        print(f"  {r['file']:<34}{r['texts']:>7,}{_fmt(r['coverage']):>7}  {shipped:>8} "
              f"{r.get('sentiment_method', ''):<12}{_fmt(cv):>11}{note}")


def tagging_speed(folder: Path, n: int = 100_000) -> dict:
    """Seconds to tag n real texts (every corpus, repeated as needed), languages given.

    ``shopcx tag`` as a whole process (start-up, reading and writing included;
    chunks tagged by worker processes on every core), and ``tag_frame`` in this
    process on one core.
    """
    import subprocess
    import tempfile

    texts = pd.concat([pd.read_csv(p, usecols=["text", "language"], dtype=str)
                       for p in sorted(folder.glob("*.csv"))], ignore_index=True)
    frame = pd.concat([texts] * (n // len(texts) + 1), ignore_index=True).iloc[:n]
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "texts.csv", Path(tmp) / "tagged.csv"
        frame.to_csv(src, index=False)
        started = time.perf_counter()
        subprocess.run([str(Path(sys.executable).with_name("shopcx")), "tag", "--input",
                        str(src), "--text-column", "text", "--language-column", "language",
                        "--out", str(out)], check=True, capture_output=True)
        command = time.perf_counter() - started
    taxonomy = load_taxonomy()
    started = time.perf_counter()
    tag_frame(frame, "text", language_column="language", taxonomy=taxonomy)
    one_core = time.perf_counter() - started
    return {"texts": n, "seconds": round(command, 1), "per_second": round(n / command),
            "one_core_seconds": round(one_core, 1)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpora", default=str(ROOT.parent / "shared" / "corpora"))
    ap.add_argument("--taxonomy")
    ap.add_argument("--speed", type=int, default=100_000,
                    help="texts for the speed check (0: skip)")
    ap.add_argument("--no-train", action="store_true",
                    help="skip the cross-validated training figures (fast)")
    args = ap.parse_args()
    folder = Path(args.corpora)
    if not folder.is_dir():
        print(f"no corpora at {folder}; pass --corpora DIR", file=sys.stderr)
        return 2
    rows = evaluate_corpora(folder, args.taxonomy, train=not args.no_train)
    print_table(rows)
    doc = {"files": rows}
    if args.speed:
        doc["speed"] = tagging_speed(folder, args.speed)
        s = doc["speed"]
        print(f"\ntagging speed: shopcx tag on {s['texts']:,} texts, whole process: "
              f"{s['seconds']} s ({s['per_second']:,} texts/s); in one process on one "
              f"core: {s['one_core_seconds']} s")
    out = ROOT / "outputs" / "bench" / "voc.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=2, allow_nan=False, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
