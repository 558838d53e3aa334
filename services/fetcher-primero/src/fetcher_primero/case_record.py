"""One Primero case as a raw record: the same identity for every flow's query."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

import orjson

from casebridge.ids import deterministic_id
from casebridge.messages import RawRecord, SourceRef
from casebridge.transport import Outgoing
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


class CaseRecordEncoder:
    """`case_record` straight to the wire, for the fetch loops that publish thousands a page.

    The body is byte for byte what `MessageRegistry.encode(case_record(...))` writes (a test
    pins it), built with orjson from the case dict the client just decoded: no pydantic model,
    so the payload is not copied and re-validated per record (it is validated where it is
    consumed, by the transformer's decode). Ids are the same deterministic ids `RawRecord.of`
    derives, so dedup and idempotency downstream are unchanged.
    """

    def __init__(self, *, flow: str, query: str, exchange: str, routing_key: str) -> None:
        self.flow = flow
        self.query = query
        self.exchange = exchange
        self.routing_key = routing_key

    def message_id(self, case: dict[str, Any], updated: datetime | None) -> str:
        """The id `encode` gives `case`, without encoding it (for dedup before the work)."""
        version: object = updated if updated is not None else _content_hash(case)
        return deterministic_id("raw", self.flow, "primero", "case", str(case["id"]), version)

    def encode(
        self, case: dict[str, Any], updated: datetime | None, produced_at: datetime
    ) -> Outgoing:
        """The raw record of `case` (its `last_updated_at` already parsed as `updated`)."""
        record_id = str(case["id"])
        message_id = self.message_id(case, updated)
        correlation_id = deterministic_id("record", "primero", "case", record_id)
        body = orjson.dumps(
            {
                "schema_version": RawRecord.current_version,
                "message_id": message_id,
                "correlation_id": correlation_id,
                "causation_id": None,
                "flow": self.flow,
                "source": {
                    "system": "primero",
                    "record_type": "case",
                    "record_id": record_id,
                    "updated_at": updated,
                },
                "produced_at": produced_at,
                "producer": PRODUCER,
                "type": RawRecord.message_type,
                "query": self.query,
                "payload": case,
            },
            option=orjson.OPT_UTC_Z,
        )
        return Outgoing(
            exchange=self.exchange,
            routing_key=self.routing_key,
            body=body,
            message_id=message_id,
            correlation_id=correlation_id,
            message_type=RawRecord.message_type,
        )


def _content_hash(payload: dict[str, Any]) -> str:
    # RawRecord.of's version for a record without `last_updated_at` (kept identical).
    return hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)).hexdigest()
