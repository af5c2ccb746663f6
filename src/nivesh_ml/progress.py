"""Progress display for long jobs: one rich bar of named stages, on stderr so stdout stays clean."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Protocol

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

__all__ = ["Advance", "StageCallback", "item_progress", "stage_progress"]

StageCallback = Callable[[str], None]


@contextmanager
def stage_progress(
    title: str, stages: Sequence[str], console: Console | None = None
) -> Iterator[StageCallback]:
    """Show ``title`` with a bar over ``stages``; the yielded callback marks a stage as done."""
    progress = Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console or Console(stderr=True),
        transient=False,
    )
    remaining = list(stages)
    with progress:
        task = progress.add_task(f"{title}: {remaining[0] if remaining else ''}", total=len(stages))

        def done(stage: str) -> None:
            if stage in remaining:
                remaining.remove(stage)
            upcoming = remaining[0] if remaining else "done"
            progress.update(task, advance=1, description=f"{title}: {upcoming}")

        yield done


class Advance(Protocol):
    """Moves a bar on by ``count`` items; ``total`` sets the bar's length once it is known."""

    def __call__(self, count: int, *, total: int | None = None) -> None: ...


@contextmanager
def item_progress(title: str, total: int | None, console: Console | None = None) -> Iterator[Advance]:
    """Show a bar of ``total`` items (a spinner until the total is known)."""
    progress = Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console or Console(stderr=True),
    )
    with progress:
        task = progress.add_task(title, total=total)

        def advance(count: int, *, total: int | None = None) -> None:
            if total is not None:
                progress.update(task, total=total)
            progress.advance(task, count)

        yield advance
