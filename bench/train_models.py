"""Train the sentiment models the product ships (``make models``).

Only sources whose license allows redistributing what is learned from them
(see docs/voc.md, "Shipped resources"):

* Indonesian: IndoNLU SmSA (Apache-2.0) and PRDECT-ID Tokopedia reviews (CC BY 4.0);
* Malay: read with the Indonesian model (the two languages share most of their
  vocabulary). The one human-labelled Malay set here (mesolitica's tweets) states
  no license at its current commit and "research purposes" in earlier ones, so
  nothing learned from it ships; it serves evaluation only;
* Thai: Wisesight sentiment (CC0-1.0).

Reads ``../shared/corpora/`` (the development half of each source) and writes
``lib/shopcx/voc/models/sentiment_<lang>.npz``. Prints each model's 5-fold
cross-validated AUC on its own training texts.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from shopcx.voc.model import sentiment_labels, train_sentiment

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = {
    "id": ["id_smsa.csv", "id_prdect_tokopedia.csv"],
    "th": ["th_wisesight.csv"],
}


def read(folder: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(folder / name, dtype=str, keep_default_na=False, na_values=[""])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpora", default=str(ROOT.parent / "shared" / "corpora"))
    ap.add_argument("--out", default=str(ROOT / "lib" / "shopcx" / "voc" / "models"))
    args = ap.parse_args()
    folder = Path(args.corpora)
    if not folder.is_dir():
        print(f"no corpora at {folder}", file=sys.stderr)
        return 2
    for language, files in SHIPPED.items():
        frame = pd.concat([read(folder, f) for f in files], ignore_index=True)
        sources = sorted(set(frame["source"].dropna()))
        model = train_sentiment(frame["text"].tolist(), sentiment_labels(frame), language,
                                sources)
        path = model.save(Path(args.out) / f"sentiment_{language}.npz")
        print(f"{language}: {model.meta['texts']:,} texts from {', '.join(files)}; "
              f"5-fold AUC {model.meta['cv_auc']:.3f}; {path.stat().st_size / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
