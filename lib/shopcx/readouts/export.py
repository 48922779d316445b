"""Executed notebooks as code-free HTML readouts, the files people share.

The template in ``templates/readout`` (nbconvert's lab template without code,
prompts or any external script, in the house typography, with a footer naming
the shopcx version, the time of rendering and that customer text is redacted)
lays out every readout the same way.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from shopcx.files import write_atomic

__all__ = ["TEMPLATES", "render_html"]

TEMPLATES = Path(__file__).parent / "templates"


def render_html(notebook_path: Path, html_path: Path) -> None:
    """Render an executed notebook to a code-free HTML readout (in this process).

    Inputs, prompts and stderr streams are left out; outputs (tables, charts as
    embedded PNG, errors of a failed cell) stay. No external scripts are loaded.
    """
    import nbformat
    from nbconvert import HTMLExporter

    from shopcx import __version__

    nb = nbformat.read(notebook_path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.get("outputs", [])
                            if not (o.get("output_type") == "stream" and o.get("name") == "stderr")]
    exporter = HTMLExporter(template_name="readout", extra_template_basedirs=[str(TEMPLATES)],
                            exclude_input=True, exclude_input_prompt=True,
                            exclude_output_prompt=True, embed_images=True)
    title = nb.metadata.get("shopcx", {}).get("title") or notebook_path.stem
    body, _ = exporter.from_notebook_node(nb, resources={
        "metadata": {"name": title},
        "shopcx_version": __version__,
        "generated_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")})
    write_atomic(html_path, body)
