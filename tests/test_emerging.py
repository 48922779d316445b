"""Emerging themes recover a planted new complaint that no rule covers."""

from __future__ import annotations

import numpy as np
import pandas as pd

from shopcx.voc.emerging import emerging_themes

rng = np.random.default_rng(3)
OTHER = ["ok thanks", "fine I guess", "the colour is nice", "my mother liked it",
         "good value for the money", "box was a bit dented", "size runs small",
         "I will order again next month", "nice livestream host", "smells nice",
         "the strap is short", "gift for my sister", "arrived on monday", "works as expected"]
PLANTED = ["they added a hidden packaging surcharge at checkout",
           "hidden packaging surcharge again, not shown before paying",
           "why is there a packaging surcharge? it was hidden",
           "surcharge for packaging was hidden until the last step",
           "unexpected packaging surcharge added to my order"]


def _frame(texts: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"text": texts, "themes": [[] for _ in texts]})


def test_planted_complaint_is_recovered_and_flagged_growing() -> None:
    before = _frame(list(rng.choice(OTHER, 120)))
    now = _frame(list(rng.choice(OTHER, 120)) + list(rng.choice(PLANTED, 40)))
    now.loc[0, "themes"] = ["delivery/late"]          # tagged texts are left out
    clusters = emerging_themes(now, before)
    top = clusters.iloc[0]
    assert top["growing"]
    assert "surcharge" in top["top_terms"] and "packaging" in top["top_terms"]
    assert top["texts"] >= 36 and top["baseline_texts"] == 0
    assert all("surcharge" in e for e in top["examples"])
    assert not clusters.iloc[1:]["growing"].any()


def test_too_few_texts_give_no_clusters() -> None:
    assert emerging_themes(_frame(["a b c"] * 5), _frame(["d e f"] * 5)).empty
