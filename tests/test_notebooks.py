"""The saved notebooks follow the house rules (STYLE.md)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat
import pytest

from shopcx.run.runner import COMMON_PARAMETERS, IMPACT_NOTEBOOK, SERIES_NOTEBOOKS

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
PARAM_LINE = re.compile(r'^(\w+): (str|int|float|bool) = ("[^"]*"|-?[\d.]+|True|False)  # \S.*$')


def test_the_readouts_exist() -> None:
    assert sorted(p.stem for p in NOTEBOOKS) == ["cpo", "escalations", "funnel", "impact",
                                                 "root_cause", "summary", "trends", "voc"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_saved_clean(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, "saved with outputs"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_shape(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    first = nb.cells[0]
    assert first.cell_type == "markdown" and first.source.startswith("# ")
    code = [c for c in nb.cells if c.cell_type == "code"]
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and tagged[0] is code[0], "one parameters cell, the first code cell"
    names = []
    for line in tagged[0].source.splitlines():
        m = PARAM_LINE.match(line)
        assert m, f"parameter line is not 'name: type = literal  # help': {line!r}"
        names.append(m.group(1))
    if path.stem in SERIES_NOTEBOOKS:  # run once per market over a series of periods
        assert {"market", "data", "min_sample", "every", "last", "as_of"} <= set(names)
    elif path.stem == IMPACT_NOTEBOOK:  # run once per change, whatever its markets
        assert {"change", "changes_file", "data", "as_of"} == set(names)
    else:
        assert set(COMMON_PARAMETERS) <= set(names)
    assert len(code) <= 30


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_holds_no_logic(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells[1:]:
        if cell.cell_type != "code" or "parameters" in cell.metadata.get("tags", []):
            continue
        tree = ast.parse(cell.source)
        for node in ast.walk(tree):
            assert not isinstance(node, ast.FunctionDef | ast.ClassDef | ast.Lambda |
                                  ast.For | ast.While), f"logic in a notebook: {cell.source}"
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id not in ("open", "exec", "eval"), cell.source
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                assert "/" not in node.value or node.value.endswith(".html"), \
                    f"literal path in a notebook: {node.value!r}"
