"""``shopcx evaluate`` and ``shopcx tag --train``: measured against labels, by hand."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from shopcx.cli import main
from shopcx.errors import InputError
from shopcx.voc.evaluate import sentiment_auc, theme_scores
from shopcx.voc.labels import expected_sentiment
from shopcx.voc.model import best_threshold, load_model


@pytest.fixture
def labelled(tmp_path: Path) -> Path:
    """Six texts a reader labelled. What the shipped rules give (checked by hand):

    1 "I want to cancel my order"          -> cancellation/other   expected cancellation
    2 "where is my refund, still waiting"  -> refund/other         expected refund
    3 "please cancel it and refund me"     -> refund/other only (a refund text names the
                                              cancelled order as context)  expected cancellation;refund
    4 "the parcel never came"              -> delivery/other       expected delivery/late
    5 "great, thank you"                   -> (none)               expected (none)
    6 "cancel button is hidden"            -> cancellation/...     expected (none) on purpose

    cancellation: support 2 (1, 3), predicted 2 (1, 6), TP 1 -> P 0.5, R 0.5, F1 0.5
    refund:       support 2 (2, 3), predicted 2 (2, 3), TP 2 -> P 1, R 1, F1 1
    delivery/late: support 1, predicted 0 (4 gets delivery/other, not the sub-theme)
                   -> P n/a, R 0, F1 0
    coverage: 5 of 6 texts carry a theme.
    sentiment: negative 1, 2, 4 (rating 1, 2, 1); positive 5 (rating 5); 3 and 6 have none.
    """
    path = tmp_path / "labelled.csv"
    pd.DataFrame({
        "text": ["I want to cancel my order", "where is my refund, still waiting",
                 "please cancel it and refund me", "the parcel never came", "great, thank you",
                 "cancel button is hidden"],
        "language": ["en"] * 6,
        "themes": ["cancellation", "refund", "cancellation;refund", "delivery/late", "", ""],
        "rating": ["1", "2", "", "1", "5", ""],
    }).to_csv(path, index=False)
    return path


def test_evaluate_by_hand(labelled: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", str(labelled), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    rows = {r["theme"]: r for r in doc["themes"]}
    assert rows["cancellation"] | {} == {"theme": "cancellation", "support": 2, "predicted": 2,
                                         "true_positives": 1, "precision": 0.5, "recall": 0.5,
                                         "f1": 0.5}
    assert (rows["refund"]["precision"], rows["refund"]["recall"]) == (1.0, 1.0)
    assert rows["delivery/late"]["precision"] is None and rows["delivery/late"]["recall"] == 0
    assert doc["texts"] == 6 and doc["coverage"] == pytest.approx(5 / 6)
    assert doc["sentiment_texts"] == 4  # three negative, one positive


def test_evaluate_table_and_errors(labelled: Path, tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", str(labelled), "--themes", "refund"]) == 0
    out = capsys.readouterr().out
    assert "coverage" in out and "refund" in out and "cancellation" not in out
    bare = tmp_path / "bare.csv"
    pd.DataFrame({"text": ["a"]}).to_csv(bare, index=False)
    assert main(["evaluate", str(bare)]) == 2
    assert "needs a 'themes', 'sentiment' or 'rating' column" in capsys.readouterr().err
    assert main(["evaluate", str(labelled), "--themes", "weather"]) == 2
    assert "unknown theme(s) weather" in capsys.readouterr().err


def test_theme_scores_edge_cases() -> None:
    # nothing expected, nothing predicted: every figure undefined, not zero
    empty = theme_scores([set(), set()], [set(), set()], ["refund"]).iloc[0]
    assert empty["support"] == 0 and math.isnan(empty["precision"]) and math.isnan(empty["f1"])
    # a sub-theme expectation is not met by another sub-theme of the same top
    row = theme_scores([{"delivery/late"}], [{"delivery/fast"}]).iloc[0]
    assert (row["true_positives"], row["recall"]) == (0, 0.0)


def test_sentiment_labels_and_auc() -> None:
    frame = pd.DataFrame({"sentiment": ["negative", None, "neutral", None, "POSITIVE"],
                          "rating": [5, 4, None, 2, None]})
    assert expected_sentiment(frame).tolist() == [-1.0, 1.0, 0.0, -1.0, 1.0]
    # 2 negatives x 2 positives = 4 pairs; scores order 3 of them right
    auc, n = sentiment_auc(pd.Series([-1, 1, 0, -1, 1]),
                           pd.Series([-0.9, 0.5, 0.0, 0.6, 0.8]))
    assert (auc, n) == (0.75, 4)
    assert math.isnan(sentiment_auc(pd.Series([-1, -1]), pd.Series([0.1, 0.2]))[0])


def test_best_threshold_ties_and_union() -> None:
    y = np.array([True, True, False, False])
    # a rule already finds text 0: the model only needs to add text 1
    t, precision, recall = best_threshold(y, np.array([0.1, 0.7, 0.7, 0.2]),
                                          also=np.array([True, False, False, False]))
    assert (t, precision, recall) == (0.7, pytest.approx(2 / 3), 1.0)


def _training_file(tmp_path: Path) -> Path:
    """Twelve texts per theme, written for this test (a round trip, not a benchmark)."""
    refund = [f"my money for order {i} has not come back to my wallet" for i in range(12)]
    delivery = [f"courier lost box {i} somewhere on the road" for i in range(12)]
    other = [f"nice colour number {i}, fits well" for i in range(24)]
    path = tmp_path / "train.csv"
    pd.DataFrame({"text": refund + delivery + other,
                  "themes": ["refund"] * 12 + ["delivery"] * 12 + [""] * 24}).to_csv(
        path, index=False)
    return path


def test_training_round_trip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model_path = tmp_path / "themes.npz"
    assert main(["tag", "--train", str(_training_file(tmp_path)), "--model",
                 str(model_path)]) == 0
    out = capsys.readouterr().out
    assert "learned 2 theme(s) from 48 texts" in out and "precision 1.00, recall 1.00" in out
    model = load_model(model_path)
    assert model.heads == ["delivery", "refund"] and model.kind == "themes"
    survey = tmp_path / "survey.csv"
    pd.DataFrame({"text": ["my money for order 99 has not come back to my wallet",
                           "nice colour number 7, fits well"]}).to_csv(survey, index=False)
    out_path = tmp_path / "tagged.csv"
    assert main(["tag", "--input", str(survey), "--text-column", "text", "--language", "en",
                 "--model", str(model_path), "--explain", "--out", str(out_path)]) == 0
    tagged = pd.read_csv(out_path, keep_default_na=False)
    # the rules do not know "money ... not come back"; the model adds refund and says why
    assert tagged["themes"].tolist() == ["refund/other", ""]
    assert tagged.loc[0, "theme_rules"].startswith("refund/other=model: ")
    assert "money" in tagged.loc[0, "theme_rules"] or "wallet" in tagged.loc[0, "theme_rules"]


def test_training_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"text": ["x", "y"], "themes": ["weather", ""]}).to_csv(bad, index=False)
    assert main(["tag", "--train", str(bad), "--model", str(tmp_path / "m.npz")]) == 2
    err = capsys.readouterr().err
    assert "unknown theme(s) weather" in err and "row 2" in err
    assert main(["tag", "--train", str(bad)]) == 2
    assert "--train needs one --model" in capsys.readouterr().err
    few = tmp_path / "few.csv"
    pd.DataFrame({"text": ["a", "b", "c"], "themes": ["refund", "", ""]}).to_csv(few, index=False)
    assert main(["tag", "--train", str(few), "--model", str(tmp_path / "m.npz")]) == 2
    assert "enough labelled examples" in capsys.readouterr().err
    not_a_model = tmp_path / "x.npz"
    not_a_model.write_bytes(b"not a zip")
    with pytest.raises(InputError, match="not a shopcx model file"):
        load_model(not_a_model)


def test_sentiment_training_round_trip(tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    """A Vietnamese sentiment model from ratings replaces the lexicon for vi texts only."""
    good = [f"hàng tốt lắm, giao nhanh, shop số {i} dễ thương" for i in range(15)]
    bad = [f"hàng lỗi, giao chậm, shop số {i} không trả lời" for i in range(15)]
    labelled = tmp_path / "vi.csv"
    pd.DataFrame({"text": good + bad, "rating": ["5"] * 15 + ["1"] * 15,
                  "language": ["vi"] * 30}).to_csv(labelled, index=False)
    model_path = tmp_path / "vi.npz"
    assert main(["tag", "--train", str(labelled), "--model", str(model_path)]) == 0
    assert "learned vi sentiment from 30 negative or positive texts" in \
        capsys.readouterr().out
    assert load_model(model_path).kind == "sentiment"
    survey = tmp_path / "s.csv"
    pd.DataFrame({"text": ["hàng tốt lắm, giao nhanh", "hàng lỗi, giao chậm", "Great!"],
                  "lang": ["vi", "vi", "en"]}).to_csv(survey, index=False)
    out = tmp_path / "o.csv"
    assert main(["tag", "--input", str(survey), "--text-column", "text", "--language-column",
                 "lang", "--model", str(model_path), "--out", str(out)]) == 0
    t = pd.read_csv(out)
    assert t["sentiment_method"].tolist() == ["model:vi:own", "model:vi:own", "vader"]
    assert t["sentiment"][0] > 0 > t["sentiment"][1]
    # the evaluation reads the same models
    capsys.readouterr()
    assert main(["evaluate", str(labelled), "--model", str(model_path),
                 "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["sentiment_auc"] == 1.0
