"""One Primero case as a raw record: the same identity for every flow's query."""

from __future__ import annotations

from typing import Any

from casebridge.messages import RawRecord, SourceRef
from fetcher_primero.watermark import parse_primero_time

PRODUCER = "fetcher-primero"


def case_record(
    case: dict[str, Any], *, flow: str, query: str, payload: dict[str, Any] | None = None
) -> RawRecord:
    """The raw record of `case` (or of `payload`, the case plus what a flow attaches to it).

    The version is the case's `last_updated_at`, so re-fetching an unchanged case gives the
    same message id and the control store's dedup drops it.
    """
    updated = case.get("last_updated_at")
    return RawRecord.of(
        flow=flow,
        source=SourceRef(
            system="primero",
            record_type="case",
            record_id=str(case["id"]),
            updated_at=parse_primero_time(updated) if updated else None,
        ),
        payload=case if payload is None else payload,
        producer=PRODUCER,
        query=query,
    )
