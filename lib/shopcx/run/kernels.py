"""Warm kernels for the runner: one Jupyter kernel per worker, reused from notebook to notebook.

Starting a kernel and importing the analysis stack (pandas, Ibis, DuckDB,
matplotlib, seaborn, SciPy) costs a few seconds, often as much as the
notebook's own work. A worker of ``shopcx run`` therefore keeps its kernel
between notebooks: before each notebook the kernel's namespace is cleared
(``%reset -f``), figures are closed, matplotlib's settings and the working
directory are restored, so a notebook sees the same fresh namespace as in a
new kernel, only with the libraries already imported. A kernel that failed a
notebook (an error, a timeout, a crash) is shut down and the next notebook gets
a new one. ``shopcx run --fresh-kernels`` starts a new kernel for every
notebook instead.

The notebooks themselves are unchanged: run alone, in JupyterLab or with
Papermill, they start their own kernel as usual.
"""

from __future__ import annotations

import atexit
import contextlib
from pathlib import Path
from typing import Any, ClassVar

__all__ = ["WarmKernel", "worker_kernel"]

ENGINE = "shopcx-warm"

# run in the kept kernel before each notebook (not part of any notebook)
_RESET = """\
get_ipython().run_line_magic("reset", "-f")
import gc as _gc, os as _os, sys as _sys
_os.chdir({cwd!r})
_sys.modules["matplotlib.pyplot"].close("all")
_sys.modules["matplotlib"].rcParams.update(_sys.modules["matplotlib"]._shopcx_rc)
del _gc.garbage[:]
_gc.collect()
del _gc, _os, _sys
"""

# run once in a new kernel: matplotlib's settings as a new kernel has them, to restore
_START = """import matplotlib as _mpl, matplotlib.pyplot as _plt
_mpl._shopcx_rc = _mpl.rcParams.copy()
del _mpl, _plt
"""


def _engine() -> Any:
    """A Papermill engine that runs on a given kernel and leaves it running."""
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine, papermill_engines
    from papermill.utils import merge_kwargs, remove_args

    class _Client(PapermillNotebookClient):
        def execute(self, **kwargs: Any) -> Any:
            try:
                return super().execute(**kwargs)
            finally:  # the kernel stays up; this notebook's connection to it closes
                if self.kc is not None:
                    self.kc.stop_channels()
                    self.kc = None

    class _Engine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(cls, nb_man: Any, kernel_name: str,
                                     log_output: bool = False, stdout_file: Any = None,
                                     stderr_file: Any = None, start_timeout: int = 60,
                                     execution_timeout: int | None = None,
                                     **kwargs: Any) -> Any:
            kwargs = remove_args(["input_path", "timeout", "startup_timeout"], **kwargs)
            final = merge_kwargs(kwargs, timeout=execution_timeout,
                                 startup_timeout=start_timeout, kernel_name=kernel_name,
                                 log=_logger(), log_output=log_output,
                                 stdout_file=stdout_file, stderr_file=stderr_file)
            return _Client(nb_man, **final).execute()

    papermill_engines.register(ENGINE, _Engine)
    return _Engine


def _logger() -> Any:
    from papermill.log import logger

    return logger


class WarmKernel:
    """A kernel kept by one worker process; see the module documentation."""

    _registered: ClassVar[bool] = False

    def __init__(self, log_path: Path, kernel_name: str = "python3") -> None:
        self.log_path = log_path
        self.kernel_name = kernel_name
        self.km: Any = None
        self.notebooks = 0  # notebooks run on the current kernel
        self._log: Any = None

    def prepare(self, cwd: str) -> Any:
        """The kernel manager to run the next notebook on, started or reset."""
        from jupyter_core.utils import run_sync

        if not WarmKernel._registered:
            _engine()
            WarmKernel._registered = True
        if self.km is not None and not run_sync(self.km.is_alive)():
            self.discard()
        if self.km is None:
            from jupyter_client.manager import AsyncKernelManager

            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = open(self.log_path, "ab")  # noqa: SIM115 - open while the kernel lives
            self.km = AsyncKernelManager(kernel_name=self.kernel_name)
            run_sync(self.km.start_kernel)(cwd=cwd, stderr=self._log, stdout=self._log)
            run_sync(self._run)(_START)
            self.notebooks = 0
        elif self.notebooks:
            run_sync(self._run)(_RESET.format(cwd=cwd))
        self.notebooks += 1
        return self.km

    async def _run(self, code: str) -> None:
        kc = self.km.client()
        kc.start_channels()
        try:
            await kc.wait_for_ready(timeout=60)
            reply = await kc.execute_interactive(code, timeout=60,
                                                 store_history=False,
                                                 output_hook=lambda msg: None)
        finally:
            kc.stop_channels()
        if reply["content"]["status"] != "ok":
            raise RuntimeError(f"kernel preparation failed: {reply['content'].get('evalue')}")

    def discard(self) -> None:
        """Shut the kernel down (after a failure, or when the worker ends)."""
        from jupyter_core.utils import run_sync

        if self.km is not None:
            with contextlib.suppress(Exception):  # already gone: nothing left to stop
                run_sync(self.km.shutdown_kernel)(now=True)
            self.km = None
        if self._log is not None:
            self._log.close()
            self._log = None


_KERNEL: WarmKernel | None = None


def worker_kernel(log_dir: Path) -> WarmKernel:
    """This worker process's kernel (created on first use, shut down at exit)."""
    global _KERNEL
    if _KERNEL is None:
        import os

        _KERNEL = WarmKernel(log_dir / f"kernel-{os.getpid()}.log")
        atexit.register(_KERNEL.discard)
    return _KERNEL
