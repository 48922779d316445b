"""Emerging themes: what customers say that no taxonomy rule covers yet.

Texts that no sub-theme describes (no theme, or only ``<top>/other``: a mere
mention of a topic), in the period and its baseline, are clustered with
scikit-learn: TF-IDF on character n-grams within words (robust to
inflections, typos and to Thai, which has no spaces) and non-negative matrix
factorisation. Each cluster is described by its most characteristic words and
its most typical texts, and flagged *growing* when its share of the period's
texts rose significantly against the baseline (two-proportion test,
Benjamini-Hochberg across clusters). Analysts turn the useful ones into new
taxonomy rules.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from sklearn.decomposition import NMF
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer

from shopcx.metrics.stats import benjamini_hochberg, two_proportion_test
from shopcx.voc.themes import TOKEN, normalize

__all__ = ["emerging_themes"]

COLUMNS = ["cluster", "top_terms", "texts", "baseline_texts", "share", "baseline_share",
           "p_adjusted", "growing", "examples"]


def _untagged(tagged: pd.DataFrame) -> pd.Series:
    """Texts no sub-theme describes: no theme at all, or only ``<top>/other``.

    A text that merely mentions a topic ("a packaging fee at checkout" names
    payment) is where a new issue shows first, so it stays in the pool.
    """
    specific = tagged["themes"].map(
        lambda ts: any(not t.endswith("/other") for t in ts) if isinstance(ts, list) else False)
    mask = tagged["text"].notna() & ~specific.astype(bool)
    return tagged.loc[mask, "text"].astype(str)


def emerging_themes(tagged: pd.DataFrame, baseline: pd.DataFrame, n_clusters: int | None = None,
                    min_texts: int = 20, examples: int = 3, seed: int = 0,
                    alpha: float = 0.05) -> pd.DataFrame:
    """Clusters of untagged texts with top terms, examples, shares and growth.

    ``tagged`` and ``baseline`` are :func:`shopcx.voc.painpoints.tag_feedback`
    tables (a ``text`` and a ``themes`` column). Returns one row per cluster,
    growing and larger clusters first; empty when there are fewer than
    ``min_texts`` untagged texts.
    """
    now, before = _untagged(tagged), _untagged(baseline)
    texts = pd.concat([now, before], ignore_index=True)
    if len(texts) < min_texts:
        return pd.DataFrame(columns=COLUMNS)
    is_now = np.r_[np.ones(len(now), bool), np.zeros(len(before), bool)]
    norm = [normalize(t) for t in texts]
    chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), min_df=2,
                            sublinear_tf=True)
    try:
        x = chars.fit_transform(norm)
    except ValueError:  # nothing repeats: no clusters to find
        return pd.DataFrame(columns=COLUMNS)
    k = n_clusters or int(min(12, max(2, round(math.sqrt(len(texts) / 3)))))
    k = min(k, x.shape[0] - 1, x.shape[1])
    if k < 1:
        return pd.DataFrame(columns=COLUMNS)
    w = NMF(n_components=k, init="nndsvda", random_state=seed, max_iter=500).fit_transform(x)
    label = w.argmax(axis=1)
    words = TfidfVectorizer(token_pattern=TOKEN.pattern, min_df=2, sublinear_tf=True,
                            stop_words=sorted(ENGLISH_STOP_WORDS))
    try:
        xw = words.fit_transform(norm)
        vocab = np.array(words.get_feature_names_out())
        overall = np.asarray(xw.mean(axis=0)).ravel()
    except ValueError:
        xw, vocab, overall = None, np.array([]), np.array([])
    total_now = int(tagged["text"].notna().sum())
    total_before = int(baseline["text"].notna().sum())
    rows = []
    for c in range(k):
        members = np.flatnonzero(label == c)
        if len(members) == 0:
            continue
        terms: list[str] = []
        if xw is not None and len(vocab):
            lift = np.asarray(xw[members].mean(axis=0)).ravel() - overall
            terms = [str(t) for t in vocab[np.argsort(-lift)[:6]] if lift[vocab == t][0] > 0]
        typical = members[np.argsort(-w[members, c])[:examples]]
        rows.append({
            "cluster": c, "top_terms": ", ".join(terms),
            "texts": int(is_now[members].sum()), "baseline_texts": int((~is_now[members]).sum()),
            "examples": [texts.iloc[i] for i in typical],
        })
    out = pd.DataFrame(rows)
    out["share"] = out["texts"] / total_now if total_now else np.nan
    out["baseline_share"] = out["baseline_texts"] / total_before if total_before else np.nan
    _, p = two_proportion_test(out["texts"].to_numpy(), total_now,
                               out["baseline_texts"].to_numpy(), total_before)
    _, out["p_adjusted"] = benjamini_hochberg(p, alpha)
    out["growing"] = (out["share"] > out["baseline_share"].fillna(0)) & (out["p_adjusted"] < alpha)
    out = out.sort_values(["growing", "texts"], ascending=[False, False], ignore_index=True)
    out["cluster"] = np.arange(1, len(out) + 1)
    return out[COLUMNS]
