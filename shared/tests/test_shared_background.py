"""Background tasks are held until done, and a failing one is logged, not lost."""

from __future__ import annotations

import asyncio
import gc

from structlog.testing import capture_logs

from casebridge.background import BackgroundTasks


async def test_a_task_is_held_until_it_finishes() -> None:
    tasks = BackgroundTasks("t")
    release = asyncio.Event()
    done: list[bool] = []

    async def work() -> None:
        await release.wait()
        done.append(True)

    tasks.spawn(work(), name="work")
    gc.collect()  # nobody but `tasks` holds the task
    assert len(tasks) == 1
    release.set()
    await asyncio.sleep(0.01)
    assert done == [True]
    assert len(tasks) == 0


async def test_a_failing_task_is_logged_with_class_and_place_only() -> None:
    tasks = BackgroundTasks("t")

    async def fails() -> None:
        raise ValueError("Jane Doe, born 2015-01-01")

    with capture_logs() as logs:
        tasks.spawn(fails(), name="boom")
        await asyncio.sleep(0.01)
    [entry] = [e for e in logs if e["event"] == "background_task_failed"]
    assert entry["task"] == "t:boom"
    assert entry["error_class"] == "ValueError"
    assert "test_shared_background.py" in entry["where"]
    assert "Jane" not in repr(entry)
    assert len(tasks) == 0


async def test_cancel_all_ends_every_task_without_logging_a_failure() -> None:
    tasks = BackgroundTasks("t")
    spawned = [tasks.spawn(asyncio.sleep(60), name=f"s{i}") for i in range(3)]
    with capture_logs() as logs:
        await tasks.cancel_all()
    assert all(t.cancelled() for t in spawned)
    assert len(tasks) == 0
    assert not [e for e in logs if e["event"] == "background_task_failed"]
