"""The wings' import contract holds, fails when it is broken, and the faces are sound.

The contract itself is ``[tool.importlinter]`` in pyproject.toml (see
docs/architecture.md); ``make lint`` runs it too. Here it is checked on the
code as it is, and on copies of the package with one bad import planted, to
show that each kind of breach is caught.
"""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import shopcx

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = Path(shopcx.__file__).parent
LINT = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which(
    "lint-imports")
WINGS = ("data", "metrics", "voc", "rootcause", "impact", "readouts", "run")

needs_linter = pytest.mark.skipif(LINT is None, reason="import-linter is not installed "
                                  "(pip install -e '.[dev]')")


def _lint(package_parent: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if package_parent is not None:  # this copy of shopcx comes first on the path
        env["PYTHONPATH"] = os.pathsep.join([str(package_parent), env.get("PYTHONPATH", "")])
    return subprocess.run([LINT, "--no-cache", "--config", str(ROOT / "pyproject.toml")],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def _copy_with(tmp_path: Path, module: str, code: str) -> Path:
    """A copy of the package in which ``module`` (a path below shopcx/) ends with ``code``."""
    shutil.copytree(PACKAGE, tmp_path / "shopcx", ignore=shutil.ignore_patterns("__pycache__"))
    target = tmp_path / "shopcx" / module
    previous = target.read_text() if target.exists() else ""
    target.write_text(previous + "\n\n" + code + "\n")
    return tmp_path


@needs_linter
def test_the_contract_holds() -> None:
    result = _lint()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout


@needs_linter
@pytest.mark.parametrize(("module", "code", "expected"), [
    # a lower wing reaching up, even inside a function (the old metrics -> segments import)
    ("metrics/stats.py", "def _style():\n    from shopcx.readouts.plots import set_style\n"
     "    return set_style", "shopcx.metrics is not allowed to import shopcx.readouts"),
    # the readouts using the runner's helpers (as readout, painpoints, scorecard once did)
    ("readouts/scorecard.py", "from shopcx.run.config import RUN_KEYS",
     "shopcx.readouts is not allowed to import shopcx.run"),
    # the data wing depending on a metric
    ("data/sources.py", "from shopcx.metrics.kpis import KPIS",
     "shopcx.data is not allowed to import shopcx.metrics"),
    # siblings stay independent
    ("rootcause/drivers.py", "from shopcx.voc.themes import normalize",
     "shopcx.rootcause is not allowed to import shopcx.voc"),
    # a circle within a wing (the old metrics <-> segments circle had this shape)
    ("metrics/facts.py", "def _kpis():\n    from shopcx.metrics.kpis import KPIS\n    return KPIS",
     "No cycles are allowed in shopcx.metrics"),
    # a new top-level module must be given its place in the contract
    ("helpers.py", "X = 1", "shopcx.helpers"),
])
def test_a_breach_is_caught(tmp_path: Path, module: str, code: str, expected: str) -> None:
    result = _lint(_copy_with(tmp_path, module, code))
    assert result.returncode != 0, result.stdout
    assert expected in " ".join(result.stdout.split()), result.stdout


@pytest.mark.parametrize("wing", WINGS)
def test_each_face_hands_on_what_its_modules_define(wing: str) -> None:
    face = importlib.import_module(f"shopcx.{wing}")
    assert face.__doc__ and "may import" in face.__doc__  # says what it owns and may import
    for name in face.__all__:
        value = getattr(face, name)
        if isinstance(value, type(face)):  # a module of the wing
            assert value.__name__ == f"shopcx.{wing}.{name}"
            continue
        homes = [m for m in face.__all__
                 if isinstance(getattr(face, m), type(face)) and name in getattr(
                     getattr(face, m), "__all__", ())]
        assert len(homes) == 1, f"shopcx.{wing}.{name} is defined in {homes}"
        assert value is getattr(getattr(face, homes[0]), name)


def test_every_module_of_a_wing_is_on_its_face() -> None:
    for wing in WINGS:
        face = importlib.import_module(f"shopcx.{wing}")
        files = {p.stem for p in (PACKAGE / wing).glob("*.py") if p.stem != "__init__"}
        assert files <= set(face.__all__), (wing, files - set(face.__all__))


def test_the_kpis_command_imports_no_presentation_or_text_analytics() -> None:
    """Faces hand on names lazily: the numbers' path loads no charts, notebooks or models."""
    heavy = ("matplotlib", "seaborn", "IPython", "nbconvert", "papermill", "sklearn",
             "ruptures", "vaderSentiment", "shopcx.readouts.plots", "shopcx.voc.themes",
             "shopcx.rootcause.drivers", "shopcx.run.runner")
    code = ("import sys, shopcx.cli\nfrom shopcx.metrics import compute_kpis, parse_period\n"
            "from shopcx.readouts import formatting\n"
            f"print(' '.join(m for m in {heavy!r} if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120, check=True)
    assert result.stdout.split() == []
