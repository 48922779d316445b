"""The package metadata, the conda environment and the docs agree with the code."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

from shopcx.data.contract import TABLES
from shopcx.metrics.dictionary import KPIS

ROOT = Path(__file__).resolve().parents[1]


def _split(requirement: str) -> tuple[str, str]:
    """'ibis-framework[duckdb]>=10,<13' -> ('ibis-framework', '<13,>=10')."""
    m = re.match(r"^\s*([A-Za-z0-9_.\-]+)(\[[^\]]*\])?\s*(.*)$", requirement)
    assert m, requirement
    spec = ",".join(sorted(p.strip() for p in m.group(3).split(",") if p.strip()))
    return m.group(1).lower(), spec


def test_environment_yml_matches_pyproject() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = dict(_split(r) for r in project["dependencies"])
    wanted.update(_split(r) for r in project["optional-dependencies"]["dev"])
    wanted.update(_split(r) for r in project["optional-dependencies"]["spark"])
    wanted.update(_split(r) for r in project["optional-dependencies"]["bench"])
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    have = dict(_split(d.replace("=", "==", 1) if re.match(r"^[\w\-]+=[^=<>]", d) else d)
                for d in conda)
    assert have.pop("python") == "==3.11"
    assert have.pop("pip") == ""
    assert have.pop("openjdk") == "==17"  # the JVM Spark runs on
    assert have == wanted
    assert pip == ["-e .[dev,spark,bench]"]


def test_docs_name_every_kpi_and_column() -> None:
    metrics = (ROOT / "docs" / "metrics.md").read_text()
    missing = [k.name for k in KPIS if f"`{k.name}`" not in metrics]
    assert not missing, f"docs/metrics.md does not define {missing}"
    contract = (ROOT / "docs" / "data_contract.md").read_text()
    for spec in TABLES.values():
        for col in spec.columns:
            assert f"`{col.name}`" in contract, f"{spec.name}.{col.name}"
            for value in col.values or ():
                if col.name != "reason":
                    assert f"`{value}`" in contract, f"{spec.name}.{col.name}={value}"


def test_gitignore_keeps_lib_and_drops_outputs() -> None:
    text = (ROOT / ".gitignore").read_text().splitlines()
    assert "!/lib/" in text and "/outputs/*" in text


def test_every_shipped_model_has_its_provenance_in_the_docs() -> None:
    """Anything learned from text that ships names its sources and their licenses."""
    import json

    import numpy as np

    docs = (ROOT / "docs" / "voc.md").read_text()
    shipped = sorted((ROOT / "lib" / "shopcx" / "voc" / "models").glob("*.npz"))
    assert shipped, "the sentiment models should ship with the package"
    allowed = ("CC0", "CC BY", "Apache")
    for path in shipped:
        assert path.name in docs, f"{path.name} is not listed in docs/voc.md"
        row = next(line for line in docs.splitlines() if path.name in line and "|" in line)
        assert any(lic in row for lic in allowed), row
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(bytes(data["meta"]).decode())
        for source in meta["sources"]:  # repository@commit:path of every training text
            repo = source.split("@")[0]
            assert repo in docs, f"{path.name}: source {repo} not in docs/voc.md"
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "voc/models/*.npz" in pyproject["tool"]["setuptools"]["package-data"]["shopcx"]
