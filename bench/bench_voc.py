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
* ``tests/data/voc_labelled/*.csv``: samples we labelled by reading the texts
  (docs/voc.md says how), in the ``shopcx evaluate`` format.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import pandas as pd

from shopcx.voc.evaluate import evaluate_frame
from shopcx.voc.tagging import tag_frame
from shopcx.voc.themes import load_taxonomy

ROOT = Path(__file__).resolve().parents[1]
BANKING = {"request_refund": "refund", "Refund_not_showing_up": "refund",
           "cancel_transfer": "cancellation", "card_arrival": "delivery",
           "card_delivery_estimate": "delivery", "declined_card_payment": "payment",
           "pending_card_payment": "payment", "transaction_charged_twice": "payment",
           "card_payment_not_recognised": "payment", "reverted_card_payment?": "payment"}


def _labels(name: str, frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """The corpus with a ``themes`` column from its own labels, and the themes to score."""
    label = frame["label"].fillna("")
    if name.startswith("en_banking77"):
        return frame.assign(themes=label.map(BANKING).fillna("")), sorted(set(BANKING.values()))
    if name.startswith("th_truevoice"):
        cancel = label.str.contains(r"(?:^|\|)action:cancel(?:\||$)", regex=True)
        return frame.assign(themes=cancel.map({True: "cancellation", False: ""})), [
            "cancellation"]
    if name.startswith("en_airline"):
        reasoned = frame[label != ""]
        themes = (reasoned["label"] == "Cancelled Flight").map(
            {True: "cancellation", False: ""})
        return reasoned.assign(themes=themes), ["cancellation"]
    return frame, []


def _fmt(v: float | None) -> str:
    return "  n/a" if v is None or v != v else f"{v:5.2f}"


def evaluate_corpora(folder: Path, taxonomy_path: str | None = None) -> list[dict]:
    taxonomy = load_taxonomy(taxonomy_path)
    rows = []
    files = sorted(folder.glob("*.csv")) + sorted(
        (ROOT / "tests" / "data" / "voc_labelled").glob("*.csv"))
    for path in files:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
        frame, themes = _labels(path.stem, frame)
        lang_col = "language" if "language" in frame.columns else None
        started = time.perf_counter()
        tagged = tag_frame(frame, "text", language_column=lang_col, taxonomy=taxonomy)
        seconds = time.perf_counter() - started
        has_sentiment = frame.get("sentiment", pd.Series(dtype=str)).notna().any() or \
            frame.get("rating", pd.Series(dtype=str)).notna().any()
        result = evaluate_frame(frame if has_sentiment else frame.drop(
            columns=[c for c in ("sentiment", "rating") if c in frame.columns]),
            tagged, themes or (None if "themes" in frame.columns else []))
        rows.append({"file": path.name, "seconds": round(seconds, 2), **result.to_dict()})
    return rows


def print_table(rows: list[dict]) -> None:
    print(f"{'file':<36}{'texts':>7}{'cover':>7}{'AUC':>7}  themes: P / R / F1 (support)")
    for r in rows:
        themes = "; ".join(f"{t['theme']} {_fmt(t['precision'])}/{_fmt(t['recall'])}/"
                           f"{_fmt(t['f1'])} ({t['support']})" for t in r["themes"])
        print(f"{r['file']:<36}{r['texts']:>7,}{_fmt(r['coverage']):>7}"
              f"{_fmt(r['sentiment_auc']):>7}  {themes}")


def tagging_speed(folder: Path, n: int = 100_000) -> dict:
    """Seconds to tag n real texts (every corpus, repeated as needed), languages given."""
    texts = pd.concat([pd.read_csv(p, usecols=["text", "language"], dtype=str)
                       for p in sorted(folder.glob("*.csv"))], ignore_index=True)
    frame = pd.concat([texts] * (n // len(texts) + 1), ignore_index=True).iloc[:n]
    taxonomy = load_taxonomy()
    started = time.perf_counter()
    tag_frame(frame, "text", language_column="language", taxonomy=taxonomy)
    seconds = time.perf_counter() - started
    return {"texts": n, "seconds": round(seconds, 1), "per_second": round(n / seconds)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpora", default=str(ROOT.parent / "shared" / "corpora"))
    ap.add_argument("--taxonomy")
    ap.add_argument("--speed", type=int, default=100_000,
                    help="texts for the speed check (0: skip)")
    args = ap.parse_args()
    folder = Path(args.corpora)
    if not folder.is_dir():
        print(f"no corpora at {folder}; pass --corpora DIR", file=sys.stderr)
        return 2
    rows = evaluate_corpora(folder, args.taxonomy)
    print_table(rows)
    doc = {"files": rows}
    if args.speed:
        doc["speed"] = tagging_speed(folder, args.speed)
        s = doc["speed"]
        print(f"\ntagging speed: {s['texts']:,} texts in {s['seconds']} s "
              f"({s['per_second']:,} texts/s)")
    out = ROOT / "outputs" / "bench" / "voc.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=2, allow_nan=False, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
