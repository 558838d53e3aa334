"""Raw records: a source payload exactly as received, published by fetchers and the inbox."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any, ClassVar, Literal

import orjson
from pydantic import Field

from casebridge.ids import deterministic_id
from casebridge.messages.envelope import Envelope, SourceRef


class RawRecord(Envelope):
    """One source record as the source returned it; the transformer, not the fetcher, reads it.

    Emitted by fetcher-primero, fetcher-oscar and the inbox, once per record version.
    """

    message_type: ClassVar[str] = "raw-record"

    type: Literal["raw-record"] = "raw-record"
    query: str | None = Field(
        default=None, description="The fetch query (cursor name) or webhook route that found it."
    )
    payload: dict[str, Any] = Field(description="The source record, untouched.")

    @classmethod
    def of(
        cls,
        *,
        flow: str,
        source: SourceRef,
        payload: dict[str, Any],
        producer: str,
        query: str | None = None,
    ) -> RawRecord:
        """Build a raw record whose ids are derived from the record and its version.

        Without a source `updated_at` (webhooks), the version is the payload's content hash, so a
        re-delivered webhook is a duplicate and a changed one is news.
        """
        version: datetime | str = source.updated_at or _content_hash(payload)
        return cls(
            schema_version=cls.current_version,
            message_id=deterministic_id(
                "raw", flow, source.system, source.record_type, source.record_id, version
            ),
            correlation_id=deterministic_id(
                "record", source.system, source.record_type, source.record_id
            ),
            flow=flow,
            source=source,
            producer=producer,
            query=query,
            payload=payload,
        )


def _content_hash(payload: dict[str, Any]) -> str:
    return hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)).hexdigest()
