"""Exceptions that the command line turns into plain sentences and exit status 2."""

from __future__ import annotations

__all__ = ["ContractError", "InputError", "ShopcxError"]


class ShopcxError(Exception):
    """Base class for errors a user can fix (bad input, bad arguments)."""


class InputError(ShopcxError):
    """Bad arguments or parameters: nothing was computed."""


class ContractError(ShopcxError):
    """The data breaks the data contract; ``report`` holds every finding."""

    def __init__(self, report: object) -> None:
        self.report = report
        super().__init__(str(report))
