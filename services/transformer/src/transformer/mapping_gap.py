"""The errors a mapping raises: a record, or a part of one, that the mapping data cannot express."""

from __future__ import annotations

from collections.abc import Sequence

from casebridge.errors import PartlyFailed, PermanentError
from casebridge.messages import UpsertCommand


class MappingGap(PermanentError):
    """A source record that cannot be mapped; it is dead-lettered with this reason.

    The reason is read by admins in dead-letter listings and logs, so it names ids and codes
    only (case ids, global ids, service uuids, province codes), never child data.
    """


class PartlyMapped(MappingGap, PartlyFailed):
    """Some parts of a record mapped and others did not: the consumer publishes the mapped
    commands (`outputs`), then dead-letters the record with the gaps of the other parts."""

    def __init__(self, reason: str, *, commands: Sequence[UpsertCommand]) -> None:
        super().__init__(reason, outputs=commands)
        self.commands = tuple(commands)


def commands_or_gaps(commands: Sequence[UpsertCommand], gaps: Sequence[str]) -> list[UpsertCommand]:
    """The commands when nothing is missing; else the gaps, raised with the commands that can go.

    Only for commands that stand on their own: each part must be loadable without the others.
    """
    if not gaps:
        return list(commands)
    reason = "; ".join(gaps)
    if commands:
        raise PartlyMapped(reason, commands=commands)
    raise MappingGap(reason)
