"""What the terminal shows: one progress bar per flow while it runs, a summary table after.

A flow's bar counts its messages that reached an end (mapped, loaded, superseded,
dead-lettered) against those that entered (raw records fetched plus commands produced); both
grow while the run goes, and they meet when the flow is drained.
"""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from casebridge_local.tally import Tally

COLUMNS = ("fetched", "commands", "loaded", "superseded", "dead-lettered")


class FlowBars:
    """The bars (a context manager); `refresh` reads the tally again."""

    def __init__(self, tally: Tally, console: Console, *, enabled: bool = True) -> None:
        self._tally = tally
        self._progress = Progress(
            TextColumn("[bold]{task.description:>4}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            disable=not enabled,
        )
        self._tasks: dict[str, TaskID] = {}

    def __enter__(self) -> FlowBars:
        self._progress.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.refresh()
        self._progress.stop()

    def refresh(self) -> None:
        for flow, counts in self._tally.flows():
            if not counts.total:
                continue
            task = self._tasks.get(flow)
            if task is None:
                task = self._tasks[flow] = self._progress.add_task(flow.upper(), total=None)
            self._progress.update(task, total=counts.total, completed=counts.done)


def summary_table(tally: Tally, title: str) -> Table:
    """One row per flow: fetched, commands, loaded, superseded, dead-lettered."""
    table = Table(title=title)
    table.add_column("flow", style="bold")
    for column in COLUMNS:
        table.add_column(column, justify="right")
    for flow, c in tally.flows():
        values = (c.fetched, c.commands, c.loaded, c.superseded, c.dead_lettered)
        table.add_row(flow.upper(), *(str(v) for v in values))
    return table
