"""The readouts wing: what people read -- notebook sections, charts, pages.

It owns the helpers every readout notebook calls -- opening the data, KPI
tables with status, data quality, definitions, links
(:mod:`~shopcx.readouts.readout`) -- charts (:mod:`~shopcx.readouts.plots`),
sentences and suggested actions (:mod:`~shopcx.readouts.narrative`), number
formats and terminal tables (:mod:`~shopcx.readouts.formatting`), redaction and
escaping of customer text (:mod:`~shopcx.readouts.privacy`), the root-cause
readout's sections (:mod:`~shopcx.readouts.story`), the run's index page
(:mod:`~shopcx.readouts.scorecard`), trends over a series of periods and the
series index (:mod:`~shopcx.readouts.trends`), the impact readout of a change or an
experiment (:mod:`~shopcx.readouts.impact`), the escalations readout's paths, sellers
and owners (:mod:`~shopcx.readouts.escalations`) and the code-free HTML export with its
template (:mod:`~shopcx.readouts.export`, ``templates/``). A chart or a table
layout goes here; the numbers in it come from the wings below. It may import
:mod:`shopcx.rootcause`, :mod:`shopcx.voc`, :mod:`shopcx.impact`, :mod:`shopcx.metrics`,
:mod:`shopcx.data` and the shared modules; never :mod:`shopcx.run` or the
command line.
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    submodules=["escalations", "export", "formatting", "impact", "narrative", "plots",
                "privacy", "readout", "scorecard", "story", "trends"],
    submod_attrs={
        "export": ["render_html"],
        "formatting": ["format_value"],
        "privacy": ["redact", "safe_text"],
        "scorecard": ["render_index"],
        "trends": ["render_series_index"],
    },
)
