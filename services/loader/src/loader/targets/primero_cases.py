"""Finding the one Primero case a command means, by its business keys.

The rule for several matches: never pick one. Two cases with one `case_id` or one
`oscar_number` is a data problem in Primero (duplicates an admin must merge); updating either
silently would split the child's record further. It is a permanent error naming the case ids,
so the command waits in the dead-letter queue until the duplicates are resolved.
"""

from __future__ import annotations

from typing import Any

from casebridge.clients import PrimeroClient
from casebridge.errors import PermanentError
from loader.rate_limit import TokenBucket

Case = dict[str, Any]


def case_ids(cases: list[Case]) -> str:
    """`case_id` (record id) of each case, for an error message: ids only, never child data."""
    return ", ".join(f"{c.get('case_id') or '?'} (id {c.get('id') or '?'})" for c in cases)


class CaseFinder:
    """Exact-filter lookups on the cases index, one request budget each."""

    def __init__(self, client: PrimeroClient, limiter: TokenBucket) -> None:
        self._client = client
        self._limiter = limiter

    async def by(self, field: str, value: str) -> Case | None:
        """The single case whose `field` equals `value`, or None; several -> PermanentError."""
        await self._limiter.acquire()
        found = await self._client.find_cases(**{field: value})
        # The index filter is exact on identifier fields; re-check in case a server treats it
        # as a substring search.
        found = [c for c in found if str(c.get(field) or "") == value]
        if len(found) > 1:
            raise PermanentError(
                f"several Primero cases with {field} {value}: {case_ids(found)};"
                " merge the duplicates in Primero, then replay"
            )
        return found[0] if found else None

    async def full(self, case: Case) -> Case:
        """The whole record (the index may leave out subforms)."""
        await self._limiter.acquire()
        return await self._client.get_case(str(case["id"]))
