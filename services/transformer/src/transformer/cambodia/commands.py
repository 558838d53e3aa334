"""Commands stamped the same way for every Cambodia mapping: producer and mapping version."""

from __future__ import annotations

from typing import Any

from casebridge.messages import RawRecord, UpsertCommand
from transformer.cambodia.tables import CambodiaTables

PRODUCER = "transformer"


class CommandMaker:
    """Builds the commands one raw record implies, each caused by that record."""

    def __init__(self, raw: RawRecord, tables: CambodiaTables) -> None:
        self._raw = raw
        self._version = tables.version

    def __call__(
        self, target: str, operation: str, key: dict[str, str], payload: dict[str, Any]
    ) -> UpsertCommand:
        return UpsertCommand.caused_by(
            self._raw,
            target=target,
            operation=operation,
            key=key,
            payload=payload,
            producer=PRODUCER,
            mapping_version=self._version,
        )
