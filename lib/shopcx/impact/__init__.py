"""The impact wing: did a policy or product change work, and by how much?

It owns the estimates of a change's effect with intervals: a rollout in one
market against control markets by difference-in-differences, with intervals
from a bootstrap that resamples whole days (so a shock that hits every
market on one day is counted once, not as independent evidence), the weekly
gap before and after the change as an event study (the pre-trend check), and
placebo changes on fake dates in the pre-period
(:mod:`~shopcx.impact.did`), on daily panels of the metric dictionary's KPIs
computed in the engine (:mod:`~shopcx.impact.panel`), a rollout's (or a
staggered rollout's) effects on its target metrics and guardrails
(:mod:`~shopcx.impact.rollout`, ``shopcx impact``); A/B experiments of the
``assignments`` table with sample-ratio check, delta-method intervals over
units, CUPED and Benjamini-Hochberg (:mod:`~shopcx.impact.experiment`,
``shopcx experiment``); and the changes a run measures, from
``params/changes.yaml`` and the assignments (:mod:`~shopcx.impact.changes`).
It may import
:mod:`shopcx.metrics`, :mod:`shopcx.data` and the shared modules; it is
independent of :mod:`shopcx.voc` and :mod:`shopcx.rootcause`.
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    submodules=["changes", "did", "experiment", "panel", "rollout"],
    submod_attrs={
        "changes": ["Change", "analyse_change", "changes_in", "find_change", "load_changes"],
        "experiment": ["analyse_experiment", "list_experiments", "ratio_effect",
                       "sample_ratio"],
        "did": ["did_estimate", "event_study", "placebo_dates", "placebo_effects",
                "synthetic_control"],
        "panel": ["daily_panel"],
        "rollout": ["estimate_rollout", "estimate_staggered"],
    },
)
