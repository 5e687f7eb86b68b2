"""The one progress display of every stage: a live line on stderr when it is a terminal.

A :class:`Progress` shows a description, a bar when the total is known, ``done/total`` and the
unit, the elapsed time and any named fields a stage keeps up to date (a rate, audio hours, the
file at hand). When stderr is not a terminal (a pipe, CI, ``--json``) it shows nothing, and
:meth:`Progress.log` prints plain lines instead, so logs stay readable.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any


class Progress:
    """``with Progress("import x.parquet", "rows") as p: p.advance(n)``; ``p.update(field=...)``."""

    def __init__(self, description: str, unit: str = "items", *, total: int | None = None,
                 fields: Sequence[str] = (), enabled: bool | None = None, echo: bool = True):
        self.description = description
        self.unit = unit
        self.total = total
        self.fields = tuple(fields)
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.echo = echo
        self.completed = 0
        self._bar: Any = None
        self._task: Any = None

    def __enter__(self) -> Progress:
        if self.enabled and self._bar is None:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
            from rich.progress import Progress as RichProgress

            columns = [TextColumn("[bold]{task.description}"), BarColumn(bar_width=24), MofNCompleteColumn(),
                       TextColumn(self.unit), TimeElapsedColumn(),
                       *(TextColumn(f"{{task.fields[{name}]}}") for name in self.fields)]
            self._bar = RichProgress(*columns, console=Console(stderr=True), transient=True)
            self._bar.start()
            self._task = self._bar.add_task(self.description, total=self.total, completed=self.completed,
                                            **{name: "" for name in self.fields})
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    def advance(self, n: int = 1) -> None:
        """``n`` more units done."""
        self.completed += n
        if self._bar is not None:
            self._bar.update(self._task, completed=self.completed)

    def update(self, *, completed: int | None = None, total: int | None = None, description: str | None = None,
               **fields: object) -> None:
        """Set what is done, the total, the description or any of the named fields."""
        if completed is not None:
            self.completed = completed
        if total is not None:
            self.total = total
        if description is not None:
            self.description = description
        if self._bar is not None:
            unknown = set(fields) - set(self.fields)
            if unknown:
                raise ValueError(f"progress fields {sorted(unknown)} were not declared")
            self._bar.update(self._task, completed=self.completed, total=self.total,
                             description=self.description, **{k: str(v) for k, v in fields.items()})

    def log(self, message: str) -> None:
        """A line of its own on stderr (above the live line on a terminal)."""
        if self._bar is not None:
            self._bar.console.print(message, markup=False, highlight=False, soft_wrap=True)
        elif self.echo:
            print(message, file=sys.stderr, flush=True)


def quiet() -> Progress:
    """A progress that shows nothing (library calls, tests)."""
    return Progress("", enabled=False, echo=False)
