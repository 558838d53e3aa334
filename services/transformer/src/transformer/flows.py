"""Which mapping applies to a raw record: one pure function per flow."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import partial

from casebridge.errors import PermanentError
from casebridge.messages import Envelope, RawRecord, UpsertCommand
from transformer.cambodia import CambodiaTables, map_c0, map_c1, map_c2
from transformer.ona import map_o1
from transformer.ona.tables import OnaTables, packaged_ona_tables
from transformer.progres import ProgresTables, load_progres_tables, map_p1, map_p2, map_p3, map_p4
from transformer.shapes import check_shape

#: A flow's mapping: one raw record -> the commands it implies, or `Skipped` and why there are none.
FlowMapper = Callable[[RawRecord], Sequence[UpsertCommand]]


class FlowRouter:
    """Dispatches raw records to their flow's mapper; a plain (sync) consumer handler.

    The payload's shape is checked first (`transformer.shapes`), so a mapper only ever reads
    fields of the types it assumes: a wrong type is a `MalformedRecord` naming the field.
    """

    def __init__(self, mappers: Mapping[str, FlowMapper]) -> None:
        self._mappers = dict(mappers)

    @property
    def flows(self) -> list[str]:
        """Flows this transformer can map."""
        return sorted(self._mappers)

    def __call__(self, message: Envelope) -> Sequence[UpsertCommand]:
        if not isinstance(message, RawRecord):
            raise PermanentError(f"the transformer takes raw records, not {message.message_type}")
        mapper = self._mappers.get(message.flow)
        if mapper is None:
            raise PermanentError(
                f"no mapping for flow {message.flow!r} in this transformer"
                f" (it maps: {', '.join(self.flows) or 'none yet'})"
            )
        check_shape(message)
        return mapper(message)


def packaged_mappers(
    cambodia: CambodiaTables, progres: ProgresTables | None = None, ona: OnaTables | None = None
) -> dict[str, FlowMapper]:
    """The mappings this version ships, bound to the tables loaded at start-up (the packaged
    proGres and ONA tables when none are given)."""
    progres = progres or load_progres_tables()
    ona = ona or packaged_ona_tables()
    return {
        "c0": partial(map_c0, tables=cambodia),
        "c1": partial(map_c1, tables=cambodia),
        "c2": partial(map_c2, tables=cambodia),
        "o1": partial(map_o1, tables=ona),
        "p1": partial(map_p1, tables=progres),
        "p2": partial(map_p2, tables=progres),
        "p3": partial(map_p3, tables=progres),
        "p4": partial(map_p4, tables=progres),
    }
