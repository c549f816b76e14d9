"""One exception tree for samplegen, evaluators and downstream.

Every message says what is wrong, where (column, row) and what to do next.
The CLI maps :class:`UsageError` (and subclasses) to exit code 2 and anything
else to exit code 1.
"""

from __future__ import annotations

__all__ = [
    "SamplegenError",
    "UsageError",
    "DataError",
    "SchemaError",
    "GeneratorError",
    "BackendError",
    "RunDirError",
    "LeakageError",
    "Problem",
]

from dataclasses import dataclass


class SamplegenError(Exception):
    """Base class of every error raised on purpose by samplegen."""


class UsageError(SamplegenError):
    """Bad input from the user: a wrong flag, a missing file, unusable data (CLI exit 2)."""


class DataError(UsageError):
    """A table cannot be read or does not fit its schema."""


@dataclass(frozen=True)
class Problem:
    """One problem found while validating data against a schema."""

    column: str | None
    message: str
    fix: str
    row: int | None = None

    def __str__(self) -> str:
        where = f"column {self.column!r}" if self.column is not None else "table"
        if self.row is not None:
            where += f", row {self.row}"
        return f"{where}: {self.message} Fix: {self.fix}"


class SchemaError(DataError):
    """The data breaks its schema; carries every problem found, not just the first."""

    def __init__(self, problems: list[Problem] | str):
        if isinstance(problems, str):
            problems = [Problem(None, problems, "check the schema file")]
        self.problems = list(problems)
        lines = [str(p) for p in self.problems]
        head = f"{len(lines)} schema problem(s): " if len(lines) > 1 else ""
        super().__init__(head + " | ".join(lines))


class GeneratorError(UsageError):
    """A generator cannot be configured, fitted or sampled as asked."""


class BackendError(UsageError):
    """An LLM backend or model cannot be reached or loaded."""


class RunDirError(UsageError):
    """A run directory is missing, belongs to another run, or is inconsistent."""


class LeakageError(UsageError):
    """An evaluation would be contaminated (split overlap, test leakage)."""
