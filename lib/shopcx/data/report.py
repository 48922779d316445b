"""Findings of the data contract's validation, and the report that holds them.

Kept apart from :mod:`shopcx.data.contract` (which needs the engine) so that a
stored report can be read without importing Ibis or pandas: the quick path of
``shopcx kpis`` (:mod:`shopcx.metrics.quick`) reads the report kept in the
user's cache and prints its warnings like every other command.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["CONTRACT_VERSION", "Finding", "ValidationReport"]

CONTRACT_VERSION = "1.1"
"""Bumped whenever a rule changes, so cached validation reports are not reused."""


@dataclass(frozen=True)
class Finding:
    """One broken rule: where, which rule, how many rows, and one example."""

    severity: Literal["error", "warning"]
    table: str
    column: str | None
    rule: str
    message: str
    rows: int
    example: str | None = None

    def __str__(self) -> str:
        where = f"{self.table}.{self.column}" if self.column else self.table
        text = f"{self.severity}: {where}: {self.message} [{self.rule}]"
        if self.rows:
            text += f": {self.rows:,} row{'s' if self.rows != 1 else ''}"
        if self.example:
            text += f", e.g. {self.example}"
        return text


@dataclass
class ValidationReport:
    """The result of :func:`shopcx.data.contract.validate_source`: row counts and findings."""

    rows: dict[str, int] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_frame(self, market: str | None = None) -> pd.DataFrame:
        """Findings as a table (severity, table, column, rule, message, rows, example)."""
        import pandas as pd

        cols = ["severity", "table", "column", "rule", "message", "rows", "example"]
        return pd.DataFrame([{c: getattr(f, c) for c in cols} for f in self.findings],
                            columns=cols)

    def to_json(self) -> str:
        return json.dumps({"rows": self.rows, "findings": [asdict(f) for f in self.findings]})

    @classmethod
    def from_json(cls, text: str) -> ValidationReport:
        data = json.loads(text)
        return cls({k: int(v) for k, v in data["rows"].items()},
                   [Finding(**f) for f in data["findings"]])

    def __str__(self) -> str:
        return "\n".join(str(f) for f in self.findings) or "no findings"
