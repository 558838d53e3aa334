"""A batch's confirms settle it once, after the last one, with the first error."""

from __future__ import annotations

import asyncio

import pytest

from casebridge.confirms import all_confirmed, into_future


def test_the_batch_settles_only_after_its_last_confirm() -> None:
    outcomes: list[BaseException | None] = []
    one = all_confirmed(3, outcomes.append)
    one(None)
    one(None)
    assert outcomes == []
    one(None)
    assert outcomes == [None]


def test_the_first_error_wins_and_waits_for_the_rest() -> None:
    outcomes: list[BaseException | None] = []
    first, second = RuntimeError("nacked"), RuntimeError("returned")
    one = all_confirmed(3, outcomes.append)
    one(None)
    one(first)
    assert outcomes == []  # one is still in flight: the caller must not act yet
    one(second)
    assert outcomes == [first]


def test_an_empty_batch_is_settled_at_once() -> None:
    outcomes: list[BaseException | None] = []
    all_confirmed(0, outcomes.append)
    assert outcomes == [None]


async def test_into_future_settles_once() -> None:
    ok: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    into_future(ok)(None)
    into_future(ok)(RuntimeError("late"))  # a second outcome is ignored
    assert await ok is None
    failed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    into_future(failed)(RuntimeError("nacked"))
    with pytest.raises(RuntimeError, match="nacked"):
        await failed
