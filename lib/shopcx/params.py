"""The project's settings files (``params/``): finding them, reading them, checking codes.

Every wing reads settings from YAML files: run configurations, targets, the
theme taxonomy, sentiment lexicons. This module finds a file (given, or the
project's ``params/<name>`` above the working folder or the installed
package), reads a YAML mapping from it and checks market codes, turning every
problem into an :class:`~shopcx.errors.InputError` (exit status 2) that names
the file. It imports nothing of shopcx but the errors.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from shopcx.errors import InputError

__all__ = ["find_project_file", "load_yaml", "market_code", "params_file"]


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping; a missing file or bad YAML is an InputError."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError as exc:
        raise InputError(f"{path}: file not found") from exc
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: not valid YAML ({exc})") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a mapping of names to values at the top level")
    return data


def find_project_file(relative: str, start: Path | None = None) -> Path | None:
    """``relative`` under the nearest folder that has it: from ``start`` (cwd) upwards,
    then from the package's own folder upwards (the project of an editable install)."""
    for origin in (start or Path.cwd(), Path(__file__).parent):
        here = origin.resolve()
        for folder in (here, *here.parents):
            candidate = folder / relative
            if candidate.exists():
                return candidate
    return None


def params_file(path: str | Path | None, name: str) -> Path:
    """``path`` if given, else the project's ``params/<name>`` (InputError when absent)."""
    if path not in (None, ""):
        return Path(path)
    found = find_project_file(f"params/{name}")
    if found is None:
        raise InputError(f"no file given and params/{name} not found above {Path.cwd()}")
    return found


def market_code(value: Any, where: str = "") -> str:
    """``value`` as an upper-case ISO alpha-2 market code; an InputError (naming
    ``where``, the file or option it came from) for anything else.

    >>> market_code("my")
    'MY'
    >>> market_code("Malaysia", "params/demo.yaml")
    Traceback (most recent call last):
    ...
    shopcx.errors.InputError: params/demo.yaml: market 'Malaysia' is not an ISO alpha-2 code such as US
    """
    if not isinstance(value, str) or len(value) != 2 or not value.isalpha():
        prefix = f"{where}: " if where else ""
        raise InputError(f"{prefix}market {value!r} is not an ISO alpha-2 code such as US")
    return value.upper()
