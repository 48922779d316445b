"""The voice-of-the-customer wing: what customers write, and what it costs them.

It owns the theme taxonomy and how phrases match it
(:mod:`~shopcx.voc.themes`, rules in ``params/voc_taxonomy.yaml``), sentiment
(:mod:`~shopcx.voc.sentiment`, lexicons in ``params/sentiment_lexicons.yaml``),
pain points ranked by volume, trend and harm (:mod:`~shopcx.voc.painpoints`),
emerging themes (:mod:`~shopcx.voc.emerging`), feedback volume, ratings and
verbatims by what happened to the order (:mod:`~shopcx.voc.feedback`),
each text's language (:mod:`~shopcx.voc.language`), classifiers learned from
labelled texts (:mod:`~shopcx.voc.model`, shipped sentiment models in
``voc/models/``), the labelled-file format (:mod:`~shopcx.voc.labels`), how
well it all does against labels (:mod:`~shopcx.voc.evaluate`, ``shopcx
evaluate``) and tagging any CSV of free text (:mod:`~shopcx.voc.tagging`,
``shopcx tag``, one pipeline for tag, evaluate and the readouts). A
theme rule or a sentiment method goes here. It may import
:mod:`shopcx.metrics`, :mod:`shopcx.data` and the shared modules; it is
independent of :mod:`shopcx.rootcause` (neither imports the other).
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    submodules=["emerging", "evaluate", "feedback", "labels", "language", "model",
                "painpoints", "sentiment", "tagging", "themes"],
    submod_attrs={
        "emerging": ["emerging_themes"],
        "evaluate": ["evaluate_file"],
        "language": ["detect_languages"],
        "model": ["load_model"],
        "painpoints": ["rank_pain_points", "tag_feedback"],
        "sentiment": ["score_sentiment"],
        "tagging": ["tag_csv", "tag_frame", "tag_texts", "train_csv"],
        "themes": ["Taxonomy", "load_taxonomy"],
    },
)
