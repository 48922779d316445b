"""Results shared between the notebooks of a run (and later sessions), on disk.

Several readouts of one market need the same intermediate results: the KPI
comparison (summary, funnel, contacts, root cause and the run index), the
period's tagged feedback (summary, voice, root cause, index) and the buyer
segment profile (summary, root cause). :func:`memoized` computes such a result
once and keeps it in the user's cache (``SHOPCX_CACHE_DIR``, default
``~/.cache/shopcx``) under

* the dataset's fingerprint (paths, sizes and modification times of its
  files: a changed file is a new dataset),
* the code's fingerprint (the library's files: a new version recomputes),
* the call's arguments,

so a notebook run alone, interactively, gives exactly what it would compute
itself. Sources without a fingerprint (DataFrames, engine URLs) are never
cached; ``SHOPCX_NO_RESULT_CACHE=1`` turns the cache off.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

from shopcx.files import write_atomic

__all__ = ["cache_dir", "code_fingerprint", "file_fingerprint", "kept_file", "memoized"]

T = TypeVar("T")


def cache_dir() -> Path:
    """The user's shopcx cache folder: ``SHOPCX_CACHE_DIR``, else ``~/.cache/shopcx``."""
    return Path(os.environ.get("SHOPCX_CACHE_DIR") or Path.home() / ".cache" / "shopcx")


def kept_file(kind: str, fingerprint: str) -> Path:
    """Where a result of ``kind`` about the files of ``fingerprint`` is kept (the
    validation report, the data's end): written by :mod:`shopcx.data.sources`, read
    back there and by the quick path of ``shopcx kpis``."""
    return cache_dir() / kind / f"{fingerprint}.json"


@cache
def code_fingerprint() -> str:
    """Identifies the library's code (its files' sizes and times): a new version differs."""
    h = hashlib.sha256()
    root = Path(__file__).parent
    for f in sorted(root.rglob("*.py")):
        st = f.stat()
        h.update(f"{f.relative_to(root)}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


def file_fingerprint(path: str | Path | None) -> str:
    """Identifies a settings file's current content (for cache keys); '' when absent."""
    if path is None:
        return ""
    p = Path(path)
    if not p.exists():
        return str(p)
    return hashlib.sha256(p.read_bytes()).hexdigest()[:16]


def memoized(source: Any, kind: str, parts: tuple[Any, ...], compute: Callable[[], T]) -> T:
    """``compute()``, or its result kept from an earlier call with the same key."""
    fingerprint = getattr(source, "fingerprint", None)
    if fingerprint is None or os.environ.get("SHOPCX_NO_RESULT_CACHE"):
        return compute()
    key = hashlib.sha256(repr((kind, parts, code_fingerprint())).encode()).hexdigest()[:24]
    path = cache_dir() / "results" / fingerprint / f"{kind}-{key}.pkl"
    try:
        return pickle.loads(path.read_bytes())
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
        pass
    value = compute()
    with contextlib.suppress(OSError):  # a read-only cache is no reason to fail
        write_atomic(path, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
    return value
