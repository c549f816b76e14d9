"""One exception tree for samplegen, evaluators and downstream.

Every message says what is wrong, where (column, row) and what to do next.
The CLI maps :class:`UsageError` (and subclasses) to exit code 2,
:class:`IncompleteError` to 3, :class:`Interrupted` to 128 + the signal number
(130 SIGINT, 143 SIGTERM) and anything else to 1 (see ``samplegen.cli.main``).
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
    "IncompleteError",
    "Interrupted",
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


class IncompleteError(SamplegenError):
    """A short run (fewer rows than asked), or an empty/unfinished set given to be scored
    (CLI exit 3)."""


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM arrived; ``signum`` says which (CLI exit 128 + signum).

    A KeyboardInterrupt, so that code which cleans up on Ctrl-C does so on SIGTERM too.
    """

    def __init__(self, signum: int) -> None:
        import signal

        self.signum = int(signum)
        super().__init__(signal.Signals(self.signum).name)
