"""The metrics wing: the metric dictionary and what is computed straight from it.

It owns the facts every metric is computed from -- periods, the order cohort
with its cancellation facts, buyer cancel requests, contacts and feedback of a
period (:mod:`~shopcx.metrics.facts`) -- the dictionary itself and its
computation per market and period, whole or per segment
(:mod:`~shopcx.metrics.kpis`), statistics (intervals, tests, false-discovery
control: :mod:`~shopcx.metrics.stats`), a period against its baseline with
significance (:mod:`~shopcx.metrics.compare`), the funnel and contact deep
dives (:mod:`~shopcx.metrics.funnel`, :mod:`~shopcx.metrics.contacts`), the paths to
escalations and the sellers behind them (:mod:`~shopcx.metrics.escalations`), buyer
segments from order history (:mod:`~shopcx.metrics.segments`) and the targets
that colour headline KPIs (:mod:`~shopcx.metrics.targets`). A new metric goes
here, once (docs/adding_a_metric.md). It may import :mod:`shopcx.data` and the
shared modules; it knows nothing of text analytics, root cause, readouts or
runs.
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    submodules=["compare", "contacts", "dictionary", "escalations", "facts", "funnel", "kpis",
                "maturity", "periods", "quick", "segments", "stats", "targets"],
    submod_attrs={
        "compare": ["compare_kpis", "compare_periods"],
        "escalations": ["escalation_paths", "seller_escalations"],
        "facts": ["Period", "enrich_orders", "order_facts", "parse_period", "period_contacts",
                  "period_feedback", "request_facts"],
        "maturity": ["Maturity", "load_maturity"],
        "dictionary": ["KPIS", "KPI_BY_NAME", "Kpi"],
        "kpis": ["BY_DIMENSIONS", "SEGMENT_DIMENSIONS", "compute_kpis", "compute_segment_kpis",
                 "kpis_to_dict"],
        "segments": ["BUYER_SEGMENTS", "buyer_segments", "with_buyer_segment"],
        "stats": ["benjamini_hochberg", "wilson_interval"],
        "targets": ["Targets", "load_targets"],
    },
)
