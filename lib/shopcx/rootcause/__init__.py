"""The root-cause wing: why a metric changed, and since when.

It owns the exact rate/mix decomposition of a change over segments, which
orders each dimension can describe and what its nulls mean
(:mod:`~shopcx.rootcause.dimensions`), the
ranking and pruning of drivers with intervals and false-discovery control
(:mod:`~shopcx.rootcause.drivers`, ``shopcx explain``), when a change started
-- the expected daily band, change points and contact-reason bursts
(:mod:`~shopcx.rootcause.anomalies`) -- and how each buyer segment fared and
its share of the change (:mod:`~shopcx.rootcause.profile`). A root-cause method
goes here; how its results are shown goes to :mod:`shopcx.readouts.story`. It
may import :mod:`shopcx.metrics`, :mod:`shopcx.data` and the shared modules; it
is independent of :mod:`shopcx.voc` (neither imports the other).
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    submodules=["anomalies", "dimensions", "drivers", "profile"],
    submod_attrs={
        # the function anomalies.anomalies is not handed on: it would hide its module
        "anomalies": ["change_points", "contact_bursts", "daily_series", "expected_band"],
        "dimensions": ["DIMENSIONS", "segment_window"],
        "drivers": ["EXPLAINABLE", "decompose", "explain", "explain_to_dict"],
        "profile": ["segment_profile"],
    },
)
