"""Background tasks that are neither garbage-collected mid-flight nor silent when they fail.

The event loop keeps only a weak reference to a task, so a task nobody holds may vanish before it
finishes, and an exception nobody retrieves surfaces (if ever) as "Task exception was never
retrieved" at garbage collection. Every fire-and-forget task of the shared library goes here.
"""

from __future__ import annotations

import asyncio
import traceback
from collections.abc import Coroutine, Iterator
from typing import Any

import structlog

log = structlog.get_logger(__name__)


class BackgroundTasks:
    """Holds its tasks until they finish and logs the exception of any that fails."""

    def __init__(self, owner: str) -> None:
        self._owner = owner
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, work: Coroutine[Any, Any, Any], *, name: str) -> asyncio.Task[Any]:
        """Run `work` as a task kept here until done; `name` says what it is in the log."""
        task = asyncio.get_running_loop().create_task(work, name=f"{self._owner}:{name}")
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()  # retrieved here, so asyncio never reports it as lost
        if exc is not None:
            # The class and place only, as everywhere: an exception's text may quote child data.
            frame = traceback.extract_tb(exc.__traceback__)[-1:]
            log.error(
                "background_task_failed",
                task=task.get_name(),
                error_class=type(exc).__name__,
                where=f"{frame[0].filename}:{frame[0].lineno}" if frame else "?",
            )

    def __len__(self) -> int:
        return len(self._tasks)

    def __iter__(self) -> Iterator[asyncio.Task[Any]]:
        return iter(set(self._tasks))

    async def cancel_all(self) -> None:
        """Cancel every task still running and wait until they have ended."""
        tasks = self._tasks - {asyncio.current_task()}  # a task may close what owns it
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)
