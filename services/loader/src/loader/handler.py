"""Turns a delivered command into one call on the target."""

from __future__ import annotations

from casebridge.errors import PermanentError
from casebridge.messages import Envelope, UpsertCommand
from loader.target import Target


class ApplyCommand:
    """The loader's consumer handler: validate that the command is for this target, apply it."""

    def __init__(self, target: Target) -> None:
        self._target = target

    async def __call__(self, message: Envelope) -> None:
        if not isinstance(message, UpsertCommand):
            raise PermanentError(f"the loader takes upsert commands, not {message.message_type}")
        if message.target != self._target.name:
            raise PermanentError(
                f"command for target {message.target!r} reached the {self._target.name!r} loader"
            )
        await self._target.apply(message)
