"""The runner's worker pool: tasks in parallel processes, stopped cleanly by signals.

:func:`execute` runs a list of tasks (notebooks to execute, KPI comparisons,
trends) in a pool of spawned worker processes and collects their values.
While it runs, SIGINT (Ctrl-C to the process group, or to this process
alone), SIGTERM (what a scheduler sends at a timeout) and SIGHUP only record
themselves; the loop then stops: every worker and every kernel the workers
started are terminated (killed after a grace of 3 seconds), and the outcome
says which signal stopped it. Workers ignore SIGINT, so Ctrl-C prints no
tracebacks from them.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

__all__ = ["STOP_SIGNALS", "Outcome", "Task", "execute"]

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
"""Signals that stop a run cleanly: Ctrl-C, a scheduler's timeout, a closed terminal."""


@dataclass(frozen=True)
class Task:
    """One call to run in a worker: ``fn(*args)``, known by ``key``, shown as ``label``."""

    key: tuple[Any, ...]
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    label: str = ""


@dataclass
class Outcome:
    """What :func:`execute` got: values and errors by task key, and the stopping signal."""

    values: dict[tuple[Any, ...], Any] = field(default_factory=dict)
    errors: dict[tuple[Any, ...], str] = field(default_factory=dict)
    caught: list[int] = field(default_factory=list)

    @property
    def interrupted(self) -> int | None:
        return self.caught[0] if self.caught else None

    @contextlib.contextmanager
    def signals_held(self) -> Iterator[None]:
        """While the caller writes its indexes, a further signal is recorded, not fatal."""
        with _signals_caught(self.caught):
            yield


def _worker_init() -> None:
    """In each worker: leave stopping to the main process, which stops every worker.

    Ctrl-C sends SIGINT to the whole process group; a worker that raised
    KeyboardInterrupt in the middle of a notebook would print a traceback and
    report the notebook failed."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _children() -> set[int]:
    import psutil

    return {p.pid for p in psutil.Process().children(recursive=True)}


def _stop_children(keep: set[int], grace: float = 3.0) -> None:
    """Terminate every process this one started since (workers, their kernels; not
    those in ``keep``), then kill what is still alive after ``grace`` seconds.

    The processes are never waited for here: multiprocessing reaps its workers
    itself and would take a worker reaped by someone else for one still running.
    Multiprocessing's resource tracker is left alone: it ignores SIGTERM by design
    and exits by itself when this process does.
    """
    import psutil

    def tracker(p: psutil.Process) -> bool:
        try:
            return "multiprocessing.resource_tracker" in " ".join(p.cmdline())
        except psutil.Error:
            return False

    procs = [p for p in psutil.Process().children(recursive=True)
             if p.pid not in keep and not tracker(p)]

    def gone(p: psutil.Process) -> bool:
        try:
            return p.status() == psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return True

    for p in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.terminate()
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and not all(gone(p) for p in procs):
        time.sleep(0.05)
    for p in procs:
        if not gone(p):
            with contextlib.suppress(psutil.NoSuchProcess):
                p.kill()


@contextlib.contextmanager
def _signals_caught(caught: list[int]) -> Iterator[list[int]]:
    """Within the block, the stop signals only append themselves to ``caught``;
    outside the main thread (where handlers cannot be set), nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield caught
        return

    def record(signum: int, frame: Any) -> None:
        caught.append(signum)

    previous = {sig: signal.signal(sig, record) for sig in STOP_SIGNALS}
    try:
        yield caught
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def execute(tasks: list[Task], workers: int, progress: bool = True, done: int = 0,
            cleanup: Callable[[], None] | None = None) -> Outcome:
    """Run ``tasks`` in a pool of ``workers`` spawned processes; return their outcome.

    A task that raises (or whose worker dies) gets its error text in
    ``errors``; the others go on. ``done`` counts work finished before (reused
    readouts) for the progress bar. On a stop signal every process started
    here is terminated, ``cleanup`` is called (remove half-written files), and
    the tasks not finished are in neither ``values`` nor ``errors``.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    outcome = Outcome()
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    before = _children()
    with _signals_caught(outcome.caught) as caught, \
            Progress(*columns, disable=not progress, transient=False) as bar:
        bar_task = bar.add_task("readouts", total=len(tasks) + done, completed=done)
        if not tasks:
            return outcome
        pool = ProcessPoolExecutor(max(1, min(workers, len(tasks))),
                                   mp_context=mp.get_context("spawn"), initializer=_worker_init)
        pending: dict[Future[Any], Task] = {}
        try:
            for t in tasks:
                pending[pool.submit(t.fn, *t.args)] = t
            while pending and not caught:
                finished, _ = wait(pending, timeout=0.25, return_when=FIRST_COMPLETED)
                for fut in finished:
                    t = pending.pop(fut)
                    try:
                        outcome.values[t.key] = fut.result()
                    except Exception as exc:  # a crashed worker: record it, keep going
                        if caught:  # killed because the run is stopping: not a failure
                            continue
                        outcome.errors[t.key] = _error_text(exc)
                    bar.update(bar_task, advance=1, description=f"readouts · {t.label}")
        finally:
            if caught or pending:  # stopping (or an error here): end every process now
                pool.shutdown(wait=False, cancel_futures=True)
                _stop_children(keep=before)
                if cleanup is not None:
                    cleanup()
            pool.shutdown(wait=True)
    return outcome
