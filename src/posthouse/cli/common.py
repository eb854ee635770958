"""Shared CLI plumbing: error handling, exit codes, JSON output and Rich progress."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.filesize import decimal
from rich.progress import BarColumn, ProgressColumn, Task, TextColumn, TimeRemainingColumn
from rich.progress import Progress as RichProgressBar
from rich.text import Text

from posthouse.core.errors import PosthouseError
from posthouse.core.progress import Cancelled

__all__ = [
    "EXIT_OK",
    "EXIT_PARTIAL",
    "EXIT_USAGE",
    "RichProgress",
    "console",
    "err_console",
    "handle_errors",
    "print_json",
    "rich_progress",
]

EXIT_OK = 0
EXIT_PARTIAL = 1
EXIT_USAGE = 2

console = Console()
err_console = Console(stderr=True)

P = ParamSpec("P")
R = TypeVar("R")


def handle_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn PosthouseError into a one-line message naming file and place, and exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except PosthouseError as err:
            err_console.print(f"[bold red]error:[/] {err}", highlight=False, markup=True, soft_wrap=True)
            raise typer.Exit(err.exit_code) from None
        except Cancelled:
            err_console.print("[yellow]cancelled[/]")
            raise typer.Exit(130) from None
        except KeyboardInterrupt:
            err_console.print("[yellow]interrupted[/]")
            raise typer.Exit(130) from None

    return wrapper


def _default(obj: Any) -> Any:
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def print_json(data: Any) -> None:
    """Write ``data`` as JSON to stdout (no Rich markup, for scripts)."""
    sys.stdout.write(json.dumps(data, indent=2, default=_default, sort_keys=False) + "\n")
    sys.stdout.flush()


class _CountColumn(ProgressColumn):
    """``done/total``; byte counts (totals of ten million and more) shown as sizes, e.g. 253.0/265.3 MB."""

    def render(self, task: Task) -> Text:
        total = task.total
        if total is not None and total >= 10_000_000:
            return Text(f"{decimal(int(task.completed))}/{decimal(int(total))}", style="progress.download")
        done = int(task.completed)
        return Text(f"{done}/{int(total)}" if total is not None else str(done), style="progress.download")


class RichProgress:
    """A :class:`posthouse.core.progress.Progress` drawn with Rich on stderr."""

    def __init__(self, bar: RichProgressBar) -> None:
        self._bar = bar
        self._task: Any = None

    def start(self, label: str, total: int | None) -> None:
        self.finish()
        self._task = self._bar.add_task(label, total=total)

    def advance(self, n: int = 1) -> None:
        if self._task is not None:
            self._bar.advance(self._task, n)

    def finish(self) -> None:
        if self._task is not None:
            task = self._bar.tasks[-1]
            if task.total is not None:
                self._bar.update(self._task, completed=task.total)
            self._task = None


@contextmanager
def rich_progress(enabled: bool = True) -> Iterator[RichProgress]:
    """A Rich progress bar on stderr; invisible when ``enabled`` is false or stderr is not a terminal."""
    bar = RichProgressBar(
        TextColumn("{task.description}"),
        BarColumn(),
        _CountColumn(),
        TimeRemainingColumn(),
        console=err_console,
        disable=not enabled,
        transient=False,
    )
    with bar:
        yield RichProgress(bar)
