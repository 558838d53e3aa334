"""Echo suppression: a case at exactly the version casebridge's own write left is not new work.

Primero re-saves a case on every transition save, so the loader's C2 and P4 referral decisions
move the case's `last_updated_at` and put it back into the C1/P2/P3 windows. The loader records
the version its own last write produced, but only after checking that nobody else changed the
case meanwhile (`loader.targets.primero_own_writes`); a fetcher that reads the case at exactly
that version skips it. Any later change, by a person or anyone else, gives the case a newer
`last_updated_at` and is published as usual.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from casebridge.control import ControlStore
from fetcher_primero.watermark import parse_primero_time

SYSTEM = "primero"


async def own_echoes(store: ControlStore, cases: Sequence[dict[str, Any]]) -> set[str]:
    """Ids of the cases whose current version is casebridge's own recorded write."""
    if not cases:
        return set()
    marks = await store.own_writes(SYSTEM, [str(c.get("id")) for c in cases])
    if not marks:
        return set()
    return {
        str(c.get("id"))
        for c in cases
        if _same(marks.get(str(c.get("id"))), c.get("last_updated_at"))
    }


def _same(mark: datetime | None, stamp: Any) -> bool:
    return mark is not None and isinstance(stamp, str) and parse_primero_time(stamp) == mark
