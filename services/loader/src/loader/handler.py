"""Turns a delivered command into one call on the target."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from casebridge.errors import PermanentError
from casebridge.messages import Envelope, UpsertCommand
from loader.target import Target


def apply_command(target: Target) -> Callable[[Envelope], Awaitable[None]]:
    """The loader's consumer handler: validate that the command is for this target, apply it.

    A coroutine function, not an object with an async `__call__`: the consumer picks its async
    path with `inspect.iscoroutinefunction`, which is false for such objects on Python 3.11.
    """

    async def handle(message: Envelope) -> None:
        if not isinstance(message, UpsertCommand):
            raise PermanentError(f"the loader takes upsert commands, not {message.message_type}")
        if message.target != target.name:
            raise PermanentError(
                f"command for target {message.target!r} reached the {target.name!r} loader"
            )
        await target.apply(message)

    return handle
