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


#: Characters of a reason shown in the terminal; the whole reason is in the JSON log.
REASON_WIDTH = 160


def dead_letter_table(tally: Tally) -> Table | None:
    """Why each dead letter of the run was refused, grouped (None when there were none)."""
    rows = [
        (flow, stage, reason, count)
        for flow, c in tally.flows()
        for (stage, reason), count in c.reasons.most_common()
    ]
    if not rows:
        return None
    table = Table(title="dead letters by reason (casebridge dlq list shows them with RABBITMQ_URL)")
    table.add_column("flow", style="bold")
    table.add_column("stage")
    table.add_column("count", justify="right")
    table.add_column("reason", overflow="fold")
    for flow, stage, reason, count in rows:
        short = reason if len(reason) <= REASON_WIDTH else reason[: REASON_WIDTH - 1] + "…"
        table.add_row(flow.upper(), stage, str(count), short)
    return table
