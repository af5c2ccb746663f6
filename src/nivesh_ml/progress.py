"""Progress display for long jobs: one rich bar of named stages, on stderr so stdout stays clean."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

__all__ = ["StageCallback", "stage_progress"]

StageCallback = Callable[[str], None]


@contextmanager
def stage_progress(title: str, stages: Sequence[str], console: Console | None = None) -> Iterator[StageCallback]:
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
