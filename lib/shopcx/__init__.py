"""shopcx: an analysis workbook for the customer cancellation experience.

The library behind the notebooks and the ``shopcx`` command: the data
contract and validation (:mod:`shopcx.contract`), data sources
(:mod:`shopcx.sources`), the metric dictionary (:mod:`shopcx.metrics`),
statistics helpers (:mod:`shopcx.stats`) and the demo data generator
(:mod:`shopcx.demo`).
"""

from __future__ import annotations

import warnings

# Noise from the ibis/duckdb/pandas version mix, not actionable for an analyst.
warnings.filterwarnings("ignore", message=r"The 'future.infer_string' option is deprecated")
warnings.filterwarnings("ignore", message=r"fetch_arrow_table\(\) is deprecated")

__version__ = "0.1.0"
__all__ = ["__version__"]
