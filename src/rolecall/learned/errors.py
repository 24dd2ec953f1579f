"""Errors of the learned-routing lab: each names the file, the row or line, and the field."""

from __future__ import annotations

from rolecall.errors import RolecallError


class RecordError(RolecallError):
    """A performance-record file (canonical or a source format) has a bad value.

    ``location`` is ``("row", n)`` for CSV data rows, ``("line", n)`` for JSONL lines (1-based), or
    ``None`` when the problem is the file as a whole.
    """

    def __init__(
        self, file: str, location: tuple[str, int] | None, field: str, message: str
    ) -> None:
        self.file = file
        self.location = location
        self.field = field
        self.message = message
        where = f"{location[0]} {location[1]}: " if location else ""
        super().__init__(f"{file}: {where}{field}: {message}")


class LabError(RolecallError):
    """A lab operation cannot proceed (unknown router, too few prompts, bad artifact...)."""
