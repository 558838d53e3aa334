"""A publisher that records instead of publishing, for handler unit tests."""

from __future__ import annotations

from collections.abc import Iterable

from casebridge.errors import CasebridgeError
from casebridge.messages import Envelope


class RecordingPublisher:
    """Same interface as MessagePublisher; keeps messages in order; can be told to fail."""

    def __init__(self) -> None:
        self.messages: list[Envelope] = []
        self.fail_with: CasebridgeError | None = None

    async def publish(self, message: Envelope) -> None:
        """Record one message (or raise `fail_with`)."""
        if self.fail_with is not None:
            raise self.fail_with
        self.messages.append(message)

    async def publish_many(self, messages: Iterable[Envelope]) -> None:
        """Record several."""
        for message in messages:
            await self.publish(message)
