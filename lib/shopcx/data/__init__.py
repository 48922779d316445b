"""The data wing: the tables the workbook reads, and the demo data.

It owns the data contract (the four tables, their columns, types and rules,
and validation: :mod:`~shopcx.data.contract`), reading a source -- a folder of
Parquet or CSV files, pandas DataFrames, an engine URL -- into Ibis tables on
one engine connection (:mod:`~shopcx.data.sources`) and the demo data
generator (:mod:`~shopcx.data.demo`, :mod:`~shopcx.data.demo_text`). It is the
only wing that knows paths and file formats of the data. It may import the
shared modules (:mod:`shopcx.errors`, :mod:`shopcx.files`, :mod:`shopcx.cache`,
:mod:`shopcx.params`) and nothing else of shopcx: every other wing builds on
it.
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    submodules=["contract", "csvfile", "demo", "demo_text", "layout", "report", "sources",
                "statements"],
    submod_attrs={
        "contract": ["CANCEL_CONTACT_REASONS", "TABLES", "validate_source"],
        "report": ["ValidationReport"],
        "csvfile": ["check_csv"],
        "demo": ["DEMO_MARKETS", "generate_demo_data"],
        "sources": ["Source", "key_range", "load_source"],
    },
)
