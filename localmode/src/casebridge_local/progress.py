"""What the terminal shows: one progress bar per flow while it runs, a summary table after.

A flow's bar counts its messages that reached an end (mapped, loaded, superseded,
dead-lettered) against those that entered (raw records fetched plus commands produced); both
grow while the run goes, and they meet when the flow is drained. The summary shows both sides
and says so in its legend, so its numbers add up without reading the README.
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

COLUMNS = ("fetched", "commands", "mapped", "loaded", "superseded", "dead-lettered", "refused")
#: The headers as printed: the long ones on two lines, so the table fits 80 columns.
HEADERS = {"superseded": "super-\nseded", "dead-lettered": "dead-\nlettered"}

#: How the columns relate, printed under the summary: the numbers add up without the README.
LEGEND = (
    "in:  fetched (raw records published by a fetcher or the inbox)"
    " + commands (upsert commands the transformer made, and follow-ups a loader sent)\n"
    "out: mapped (raw records the transformer finished) + loaded + superseded + dead-lettered"
    " (at any stage)\n"
    "     in = out once a flow is drained (the progress bar counts out of in);"
    " mapped without commands = records skipped\n"
    "refused: webhooks the inbox answered with an error (never fetched; DTP keeps them);"
    " flow ?: no flow could be read from the message"
)


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
    """One row per flow with traffic: in (fetched, commands), out (mapped, loaded, superseded,
    dead-lettered) and refused; the caption is the legend."""
    table = Table(title=title, caption=LEGEND, caption_justify="left")
    table.add_column("flow", style="bold")
    for column in COLUMNS:
        table.add_column(HEADERS.get(column, column), justify="right")
    for flow, c in tally.flows():
        values = (c.fetched, c.commands, c.mapped, c.loaded, c.superseded, c.dead_lettered,
                  c.refused)  # fmt: skip
        table.add_row(flow.upper(), *(str(v) for v in values))
    return table


#: Characters of a reason shown in the terminal; the whole reason is in the dead-letter file.
REASON_WIDTH = 160
#: Reasons shown per flow; the rest are summed on one line (the file holds every one).
TOP_REASONS = 3


def dead_letter_table(tally: Tally, letters: str) -> Table | None:
    """Why the dead letters of the run were refused: each flow's most frequent reasons (by
    stage), the rest on one line (None when there were none). `letters`: where the file is."""
    table = Table(
        title=f"top dead-letter reasons per flow (all: casebridge dlq list --file {letters})"
    )
    table.add_column("flow", style="bold")
    table.add_column("stage")
    table.add_column("count", justify="right")
    table.add_column("reason", overflow="fold")
    for flow, c in tally.flows():
        ranked = c.reasons.most_common()
        for (stage, reason), count in ranked[:TOP_REASONS]:
            table.add_row(flow.upper(), stage, str(count), _short(reason))
        rest = ranked[TOP_REASONS:]
        if rest:
            others = sum(count for _, count in rest)
            table.add_row(
                flow.upper(),
                "",
                str(others),
                f"{len(rest)} other reasons (casebridge dlq list --file {letters} --flow {flow})",
            )
    return table if table.row_count else None


def refusal_table(tally: Tally) -> Table | None:
    """The inbox's answers to the webhooks it refused, per flow (None when it refused none)."""
    table = Table(title="inbox refusals per flow (webhooks DTP pushed that the inbox refused)")
    table.add_column("flow", style="bold")
    table.add_column("count", justify="right")
    table.add_column("inbox answer", overflow="fold")
    for flow, c in tally.flows():
        for reason, count in c.refusals.most_common():
            table.add_row(flow.upper(), str(count), _short(reason))
    return table if table.row_count else None


def _short(reason: str) -> str:
    return reason if len(reason) <= REASON_WIDTH else reason[: REASON_WIDTH - 1] + "…"
