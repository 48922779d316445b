"""Interrupted runs, with real signals on a real `shopcx run` (a child process).

Ctrl-C in a terminal sends SIGINT to the whole process group; `kill -INT PID`
to the main process alone; a scheduler's timeout sends SIGTERM to the main
process. Each must stop the run, its workers and their kernels within
seconds, write the index of what finished, exit with 128 + the signal, and a
rerun of the same command must resume: finished readouts are reused.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import psutil
import pytest

from .conftest import tiny_tables, write_tables

PARAMS = ('market: str = "US"  # ISO market code\nstart: str = ""  # period start\n'
          'end: str = ""  # period end\nbaseline_start: str = ""  # baseline start\n'
          'baseline_end: str = ""  # baseline end\ndata: str = ""  # data source\n'
          'min_sample: int = 30  # smallest denominator shown')


def _notebook(folder: Path, name: str, body: str) -> None:
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {
        "display_name": "Python 3", "language": "python", "name": "python3"}})
    params = nbformat.v4.new_code_cell(PARAMS)
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(body)]
    nbformat.write(nb, folder / f"{name}.ipynb")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project folder: data, and notebooks of which two are slow while ``SLOW`` exists."""
    write_tables(tiny_tables(), tmp_path / "data", "parquet")
    folder = tmp_path / "notebooks"
    folder.mkdir()
    _notebook(folder, "a_quick", "print('quick')")
    slow = (f"import pathlib, time\nwhile pathlib.Path({str(tmp_path / 'SLOW')!r}).exists():\n"
            "    time.sleep(0.2)\nprint('done')")
    _notebook(folder, "b_slow", slow)
    _notebook(folder, "c_slow", slow)
    (tmp_path / "SLOW").touch()
    return tmp_path


def _command(project: Path) -> list[str]:
    return [sys.executable, "-c", "import sys; from shopcx.cli import main; sys.exit(main())",
            "run", "--data", str(project / "data"), "--markets", "US", "--start", "2026-10-01",
            "--end", "2026-11-01", "--out", str(project / "out"), "--workers", "2",
            "--no-progress"]


def _wait_for(predicate, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def _gone(p: psutil.Process) -> bool:
    try:
        return p.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@pytest.mark.parametrize(("target", "sig"), [("group", signal.SIGINT),
                                              ("main", signal.SIGINT),
                                              ("main", signal.SIGTERM)])
def test_a_signal_stops_everything_and_a_rerun_resumes(project: Path, target: str,
                                                       sig: signal.Signals) -> None:
    out = project / "out"
    proc = subprocess.Popen(_command(project), cwd=project, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # the quick readout finished, both slow ones are running on their kernels
        assert _wait_for(lambda: (out / "US" / ".a_quick.key").exists(), 120), "no readout"
        main = psutil.Process(proc.pid)
        assert _wait_for(lambda: sum("ipykernel" in " ".join(c.cmdline())
                                     for c in main.children(recursive=True)
                                     if not _gone(c)) >= 2, 60), "kernels not started"
        family = main.children(recursive=True)
        began = time.monotonic()
        if target == "group":
            os.killpg(proc.pid, sig)
        else:
            proc.send_signal(sig)
        stdout, stderr = proc.communicate(timeout=30)
        stopped_in = time.monotonic() - began
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert stopped_in < 10, f"took {stopped_in:.1f} s to stop"
    assert proc.returncode == 128 + sig
    assert _wait_for(lambda: all(_gone(p) for p in family), 5), [
        (p.pid, p.cmdline()) for p in family if not _gone(p)]
    assert "Traceback" not in stderr + stdout
    lines = [x for x in stderr.splitlines() if x.startswith("interrupted")]
    assert lines == [f"interrupted by {sig.name}: 1 of 3 readouts finished, 2 not run; index "
                     f"of the finished: {out / 'index.html'}; run the same command again to "
                     "resume"]
    record = json.loads((out / "run.json").read_text())
    assert record["status"] == "interrupted" and record["interrupted_by"] == sig.name
    assert record["not_run"] == ["US/b_slow", "US/c_slow"]
    index = (out / "index.html").read_text()
    assert "a_quick.html" in index and f"interrupted by {sig.name}" in index
    assert not list(out.glob("US/.*.tmp.ipynb"))  # nothing half-written left behind
    assert not (out / "US" / "b_slow.html").exists()

    (project / "SLOW").unlink()
    again = subprocess.run(_command(project), cwd=project, capture_output=True, text=True,
                           timeout=300)
    assert again.returncode == 0, again.stderr
    assert "3 of 3 readouts (1 reused)" in again.stdout
    assert (out / "US" / "b_slow.html").exists()
    assert json.loads((out / "run.json").read_text())["status"] == "ok"
