"""shopcx: an analysis workbook for the customer cancellation experience.

The library behind the notebooks and the ``shopcx`` command, in wings by
concern; imports run one way, from the top of this list to the bottom:

=====================  ==========================================================
:mod:`shopcx.cli`      the ``shopcx`` command
:mod:`shopcx.run`      batch runs of the readout notebooks per market
:mod:`shopcx.readouts` notebook sections, charts, narrative, the index page
:mod:`shopcx.voc`,     customer text: themes, sentiment, pain points (voc);
:mod:`shopcx.rootcause` why and since when a metric changed (rootcause)
:mod:`shopcx.metrics`  the metric dictionary, statistics, period comparison
:mod:`shopcx.data`     the data contract, sources, demo data
shared modules         :mod:`shopcx.params` (settings files),
                       :mod:`shopcx.cache` (results kept between readouts),
                       :mod:`shopcx.files` (atomic writes),
                       :mod:`shopcx.errors` (errors a user can fix)
=====================  ==========================================================

``voc`` and ``rootcause`` are independent of each other. The contract is
checked by ``lint-imports`` (``[tool.importlinter]`` in pyproject.toml) in
``make test``; docs/architecture.md explains it.
"""

from __future__ import annotations

import warnings

# Noise from the ibis/duckdb/pandas version mix, not actionable for an analyst.
warnings.filterwarnings("ignore", message=r"The 'future.infer_string' option is deprecated")
warnings.filterwarnings("ignore", message=r"fetch_arrow_table\(\) is deprecated")

__version__ = "0.1.0"
__all__ = ["__version__"]
