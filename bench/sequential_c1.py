"""The sequential C1 baseline of bench-cambodia: one case at a time, as the old job's `each` did.

Per case, in index order: its referrals (`GET /api/v2/cases/:id/referrals`, for a case with
services, as the fetcher reads them), then its OSCaR writes (what `map_c1` makes of it: an
upsert per referral, its statuses, its links), each awaited before the next request; index
pages are read one after the other (`per=1000`, as the fetcher). No broker, no control store,
no feed check before a known child's upsert (the old job had none): only the requests, on
casebridge's own keep-alive clients, so the comparison is of the shape, not of the HTTP stack.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from pydantic import SecretStr

from casebridge.clients import HttpStatusError, OscarClient, PrimeroClient
from casebridge.errors import PermanentError
from casebridge.messages import RawRecord, SourceRef
from transformer.cambodia import load_tables, map_c1
from transformer.mapping_gap import PartlyMapped


@dataclass
class SequentialResult:
    cases: int = 0
    seconds: float = 0.0
    primero_requests: int = 0
    #: OSCaR writes by operation and answer, e.g. `client_upsert:200`.
    oscar_writes: Counter[str] = field(default_factory=Counter)

    def figures(self) -> dict[str, Any]:
        writes = sum(self.oscar_writes.values())
        return {
            "sequential_cases": self.cases,
            "sequential_seconds": round(self.seconds, 2),
            "sequential_records_per_s": round(self.cases / self.seconds, 1),
            "sequential_oscar_writes_per_s": round(writes / self.seconds, 1),
            "sequential_primero_requests": self.primero_requests,
            "sequential_oscar_writes": dict(sorted(self.oscar_writes.items())),
        }


async def run_sequential(
    primero_url: str,
    primero_auth: tuple[str, str],
    oscar_url: str,
    oscar_auth: tuple[str, str],
    *,
    limit: int,
) -> SequentialResult:
    """The first `limit` cases of the index, one at a time; timed from the first request."""
    tables = load_tables()
    primero = PrimeroClient(
        primero_url, user=primero_auth[0], password=SecretStr(primero_auth[1]), concurrency=1
    )
    oscar = OscarClient(
        oscar_url, user=oscar_auth[0], password=SecretStr(oscar_auth[1]), max_concurrent_requests=1
    )
    result = SequentialResult()
    params = {"order_by": "last_updated_at", "order": "asc"}
    started = time.perf_counter()
    try:
        async for page in primero.iter_case_pages(params, per=1000):
            result.primero_requests += 1
            for case in page.records:
                if result.cases >= limit:
                    break
                referrals: list[dict[str, Any]] = []
                if case.get("services_section"):
                    referrals = await primero.list_referrals(str(case["id"]))
                    result.primero_requests += 1
                for command in _commands({**case, "referrals": referrals}, tables):
                    result.oscar_writes[await _write(oscar, command)] += 1
                result.cases += 1
            if result.cases >= limit:
                break
        result.seconds = time.perf_counter() - started
    finally:
        await primero.close()
        await oscar.close()
    return result


def _commands(payload: dict[str, Any], tables: Any) -> list[Any]:
    source = SourceRef(system="primero", record_type="case", record_id=str(payload["id"]))
    raw = RawRecord.of(flow="c1", source=source, payload=payload, producer="bench-sequential")
    try:
        return list(map_c1(raw, tables))
    except PartlyMapped as gap:
        return list(gap.commands)
    except PermanentError:
        return []


async def _write(oscar: OscarClient, command: Any) -> str:
    """Send one command as the loader would (without its guards); the answer's status."""
    operation = command.operation
    try:
        if operation == "client_upsert":
            await oscar.upsert_client({"organization": command.payload["organization"]})
        elif operation == "update_statuses":
            await oscar.update_statuses({"data": command.payload["data"]})
        else:
            await oscar.update_links({"data": command.payload["data"]})
    except HttpStatusError as exc:
        return f"{operation}:{exc.status}"
    return f"{operation}:200"


def sequential(**kwargs: Any) -> SequentialResult:
    """`run_sequential` on its own event loop (the bench itself is synchronous)."""
    return asyncio.run(run_sequential(**kwargs))
