"""The run wing: batch readouts, every notebook for every market, in parallel.

It owns run configurations (:mod:`~shopcx.run.config`, the YAML files such as
``params/demo.yaml``), planning and executing a run -- parameters checked
first, one Papermill run per market and notebook in a pool of workers,
failures kept apart, every output written atomically, then the index
(:mod:`~shopcx.run.runner`) -- series of periods with their trends
(:mod:`~shopcx.run.series`), the worker pool that stops cleanly on signals
(:mod:`~shopcx.run.pool`) and the warm kernels the workers reuse
(:mod:`~shopcx.run.kernels`). It may import every wing below it
(:mod:`shopcx.readouts` down to :mod:`shopcx.data`) and the shared modules;
only the command line (:mod:`shopcx.cli`) imports it.
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    submodules=["config", "kernels", "pool", "runner", "series"],
    submod_attrs={
        "config": ["RunConfig", "load_run_config"],
        "runner": ["plan_run"],
        "series": ["plan_series"],
    },
)
