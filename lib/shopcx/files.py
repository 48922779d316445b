"""Writing files so that a reader never sees half of one.

Every file shopcx writes (readouts, the index, ``kpis.csv``, ``run.json``,
tagged CSV files, cached validation reports and results) is written under a
temporary name in the target's folder and renamed when complete: an
interrupted run leaves the previous file or none, never a truncated one. A
shared module: every wing may use it; it imports nothing of shopcx.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["write_atomic"]


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write a file under a temporary name in the same folder, then rename it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    if isinstance(data, bytes):
        tmp.write_bytes(data)
    else:
        tmp.write_text(data, encoding="utf-8")
    os.replace(tmp, path)
